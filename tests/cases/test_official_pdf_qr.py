"""The verification QR code of an official PDF: encoded once per document and drawn as one form
XObject that every page shows (it was encoded and drawn again on every page)."""

import base64
import contextlib
import datetime as dt
import itertools
import re
import zlib

from reportlab.graphics.barcode import qrencoder

from cases import official_pdf


def _doc(rows: int) -> official_pdf.OfficialPdf:
    return official_pdf.OfficialPdf(
        title="Certificado de registro",
        number="CRT-2026-000123",
        code="ABCD-EFGH",
        verify_url="/documents/verify/?code=ABCD-EFGH",
        case_code="REG-2026-000001",
        template_version="1",
        rows=[(f"Dato {i}", "valor " * 12) for i in range(rows)],
        issued_on=dt.date(2026, 12, 7),
    )


def _streams(pdf: bytes) -> list[bytes]:
    """Every stream of the PDF inflated (reportlab wraps Flate in ASCII85)."""
    out = []
    for raw in re.findall(rb"stream\r?\n(.*?)\s*endstream", pdf, re.S):
        data = raw
        if raw.rstrip().endswith(b"~>"):
            data = base64.a85decode(raw.strip()[:-2].replace(b"\n", b""))
        with contextlib.suppress(zlib.error):
            data = zlib.decompress(data)
        out.append(data)
    return out


def test_the_modules_are_those_of_the_verification_address():
    url = official_pdf.absolute_verify_url("/documents/verify/?code=ABCD-EFGH")
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.L)
    code.addData(url)
    code.make()
    rows = official_pdf.qr_modules(url)
    assert rows == [[bool(m) for m in row] for row in code.modules]
    assert len(rows) == len(rows[0]) >= 21  # a square of at least version 1's 21 modules
    # The three finder patterns: a dark 7x7 ring at three corners.
    for top, left in ((0, 0), (0, len(rows) - 7), (len(rows) - 7, 0)):
        assert all(rows[top][left + c] for c in range(7)) and all(rows[top + r][left] for r in range(7))


def test_every_page_shows_the_one_qr_form():
    pdf = official_pdf.render(_doc(rows=80))
    pages = len(re.findall(rb"/Type /Page\b", pdf))
    assert pages >= 3
    forms = re.findall(rb"/Subtype /Form", pdf)
    assert len(forms) == 1
    shown = [s for s in _streams(pdf) if re.search(rb"/FormXob\S* Do", s)]
    assert len(shown) == pages  # each page's content draws it once
    # The form draws every run of dark modules: as many rectangles as runs in the matrix.
    url = official_pdf.absolute_verify_url("/documents/verify/?code=ABCD-EFGH")
    runs = sum(1 for row in official_pdf.qr_modules(url) for dark, _ in itertools.groupby(row) if dark)
    assert max(s.count(b" re") for s in _streams(pdf)) == runs


def test_the_mask_is_chosen_as_reportlab_chooses_it():
    """``qr_modules`` scores the eight masks itself (``_mask_penalty``, faster): the same score as
    reportlab's ``QRUtil.getLostPoint`` for every mask, so the same mask and the same modules as its
    ``make()``, over addresses of many lengths (QR versions 2 to 10)."""
    import random
    import string

    rng = random.Random(12)
    for length in [*range(1, 40, 3), *range(40, 240, 17)]:
        code_text = "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(length))
        url = official_pdf.absolute_verify_url(f"/documents/verify/?code={code_text}")
        code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.L)
        code.addData(url)
        code.version = code.calculate_version()
        for mask in range(8):
            code.makeImpl(True, mask)
            assert official_pdf._mask_penalty(code.modules) == qrencoder.QRUtil.getLostPoint(code)
        reference = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.L)
        reference.addData(url)
        reference.make()
        assert official_pdf.qr_modules(url) == [[bool(m) for m in row] for row in reference.modules]
