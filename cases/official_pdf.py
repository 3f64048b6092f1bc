"""The one renderer of the agency's official documents (certificates, resolutions, convenios,
certificaciones presupuestarias, actas): A4, in Spanish whatever the officer's language, with the
agency's header and the document's number on every page, its title, the case's data as labelled rows,
amounts in figures (``Bs 120.000,00``) and in words as Bolivian documents write them
(``CIENTO VEINTE MIL 00/100 BOLIVIANOS``), an optional table (the serial numbers of an acta de
entrega), the signature lines, and a QR code with the short verification code.

Each case app describes its own documents (``OfficialPdf``) and issues them with ``cases.official``;
this module knows no case type. ``KINDS`` is the agency's vocabulary of documents: the numbering
kind, its prefix and its title (one sequence per kind and year, whichever case type issues it)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

AGENCY = "PRO-BOLIVIA"
MINISTRY = "Ministerio de Desarrollo Productivo y Economía Plural"
CITY = "La Paz"


@dataclass(frozen=True)
class DocumentKind:
    kind: str  # stored (``OfficialDocument.kind``) and numbered on: never rename
    prefix: str  # of its numbers: PREFIX-YEAR-NNNNNN
    title: str  # printed, in Spanish
    label: object  # on the pages, in the reader's language


REGISTRATION_CERTIFICATE = DocumentKind(
    "registration_certificate",
    "CRU",
    "CERTIFICADO DE REGISTRO DE UNIDAD PRODUCTIVA",
    _("Registration certificate"),
)
RESOLUTION = DocumentKind(
    "approval_resolution", "RAP", "RESOLUCIÓN ADMINISTRATIVA DE APROBACIÓN", _("Approval resolution")
)
AGREEMENT = DocumentKind("agreement", "CNV", "CONVENIO DE FINANCIAMIENTO", _("Agreement (convenio)"))
BUDGET_CERTIFICATION = DocumentKind(
    "budget_certification", "CPP", "CERTIFICACIÓN PRESUPUESTARIA", _("Budget certification")
)
DELIVERY_RECORD = DocumentKind(
    "delivery_record", "AEN", "ACTA DE ENTREGA", _("Delivery record (acta de entrega)")
)
CLOSEOUT_RECORD = DocumentKind(
    "closeout_record", "ACI", "ACTA DE CIERRE", _("Close-out record (acta de cierre)")
)

KINDS = {
    k.kind: k
    for k in (
        REGISTRATION_CERTIFICATE,
        RESOLUTION,
        AGREEMENT,
        BUDGET_CERTIFICATION,
        DELIVERY_RECORD,
        CLOSEOUT_RECORD,
    )
}


# --- amounts ----------------------------------------------------------------------------------------

CENT = Decimal("0.01")
MAX_IN_WORDS = Decimal("999999999.99")

_UNITS = [
    "CERO", "UN", "DOS", "TRES", "CUATRO", "CINCO", "SEIS", "SIETE", "OCHO", "NUEVE",
    "DIEZ", "ONCE", "DOCE", "TRECE", "CATORCE", "QUINCE", "DIECISÉIS", "DIECISIETE", "DIECIOCHO",
    "DIECINUEVE", "VEINTE", "VEINTIÚN", "VEINTIDÓS", "VEINTITRÉS", "VEINTICUATRO", "VEINTICINCO",
    "VEINTISÉIS", "VEINTISIETE", "VEINTIOCHO", "VEINTINUEVE",
]  # fmt: skip
_TENS = ["", "", "", "TREINTA", "CUARENTA", "CINCUENTA", "SESENTA", "SETENTA", "OCHENTA", "NOVENTA"]
_HUNDREDS = [
    "", "CIENTO", "DOSCIENTOS", "TRESCIENTOS", "CUATROCIENTOS", "QUINIENTOS", "SEISCIENTOS",
    "SETECIENTOS", "OCHOCIENTOS", "NOVECIENTOS",
]  # fmt: skip


def _below_thousand(n: int) -> str:
    """1-999 as said before a masculine noun ("UN", "VEINTIÚN", "CIENTO UN", "CIEN")."""
    if n == 100:
        return "CIEN"
    hundreds, rest = divmod(n, 100)
    words = [_HUNDREDS[hundreds]] if hundreds else []
    if rest >= 30:
        tens, unit = divmod(rest, 10)
        words.append(_TENS[tens] + (f" Y {_UNITS[unit]}" if unit else ""))
    elif rest:
        words.append(_UNITS[rest])
    return " ".join(words)


def integer_in_words(n: int) -> str:
    """0-999.999.999 in words, in capitals, with the forms used before "BOLIVIANOS"."""
    if not 0 <= n <= 999_999_999:
        raise ValueError("out of range")
    if n == 0:
        return "CERO"
    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    words = []
    if millions:
        words.append("UN MILLÓN" if millions == 1 else f"{_below_thousand(millions)} MILLONES")
    if thousands:
        words.append("MIL" if thousands == 1 else f"{_below_thousand(thousands)} MIL")
    if units:
        words.append(_below_thousand(units))
    return " ".join(words)


def _cents(amount) -> Decimal:
    value = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    if value < 0 or value > MAX_IN_WORDS:
        raise ValueError(f"{amount} is outside 0 to 999.999.999,99")
    return value


def amount_in_words(amount) -> str:
    """``Decimal("120000")`` → ``"CIENTO VEINTE MIL 00/100 BOLIVIANOS"`` (0 to 999.999.999,99)."""
    value = _cents(amount)
    whole = int(value)
    cents = int((value - whole) * 100)
    return f"{integer_in_words(whole)} {cents:02d}/100 BOLIVIANOS"


def amount_in_figures(amount) -> str:
    """``Decimal("120000")`` → ``"Bs 120.000,00"`` (the Bolivian format, whatever the language)."""
    value = Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)
    whole, cents = f"{abs(value):.2f}".split(".")
    groups = f"{int(whole):,}".replace(",", ".")
    return f"Bs {'-' if value < 0 else ''}{groups},{cents}"


_MONTHS = [
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre",
]  # fmt: skip


def long_date(day: dt.date) -> str:
    """``7 de diciembre de 2026``."""
    return f"{day.day} de {_MONTHS[day.month - 1]} de {day.year}"


def short_date(day: dt.date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else "—"


# --- rows every kind prints ------------------------------------------------------------------------


def unit_rows(unit, department, *, label: str = "Unidad productiva") -> list[tuple[str, str]]:
    """The productive unit a document is about: its name (under ``label``: "Beneficiario", "Empresa
    láctea"…), its NIT, the case's department and the unit's municipality."""
    return [
        (label, unit.name),
        ("NIT", unit.tax_id),
        ("Departamento / municipio", f"{department.name} / {unit.municipality}"),
    ]


def budget_line(line) -> str:
    """The budget line a case is charged to, in full (``—`` when it has none yet)."""
    if line is None:
        return "—"
    program, source = line.program, line.source
    return f"Gestión {line.fiscal_year} · {program.code} {program.name} · {source.code} {source.name}"


# --- the document -----------------------------------------------------------------------------------


@dataclass
class OfficialPdf:
    """What one document prints. ``rows``: labelled data; ``amounts``: labelled amounts (each printed
    in figures and in words); ``table``: a header row and body rows (e.g. the serial numbers);
    ``signatures``: one signature line per label."""

    title: str
    number: str
    code: str
    verify_url: str
    case_code: str
    template_version: str
    intro: str = ""
    rows: Sequence[tuple[str, str]] = ()
    amounts: Sequence[tuple[str, Decimal]] = ()
    table_title: str = ""
    table: Sequence[Sequence[str]] = ()
    table_widths: Sequence[float] = ()  # fractions of the text width, one per column
    clauses: Sequence[str] = ()
    signatures: Sequence[str] = ()
    issued_on: dt.date | None = None


# --- what a document prints, as stored data ---------------------------------------------------------
#
# A document is described in its step's transaction and drawn after the commit (``cases.official``):
# the description is stored as ``OfficialDocument.content`` and hashed in canonical form into the
# step's audit entry. ``render(from_content(to_content(doc)))`` draws the same PDF as ``render(doc)``.

_SEQUENCES = ("rows", "amounts", "table", "table_widths", "clauses", "signatures")


def to_content(doc: OfficialPdf) -> dict:
    """``doc`` as JSON-able data: amounts as decimal strings, the date in ISO form, pairs as lists."""
    content = {
        field: getattr(doc, field)
        for field in ("title", "number", "code", "verify_url", "case_code", "template_version", "intro")
    }
    content |= {
        "rows": [[str(k), str(v or "")] for k, v in doc.rows],
        "amounts": [[str(k), str(Decimal(v).quantize(CENT, rounding=ROUND_HALF_UP))] for k, v in doc.amounts],
        "table_title": doc.table_title,
        "table": [[str(c) for c in row] for row in doc.table],
        "table_widths": [float(f) for f in doc.table_widths],
        "clauses": [str(c) for c in doc.clauses],
        "signatures": [str(s) for s in doc.signatures],
        "issued_on": (doc.issued_on or timezone.localdate()).isoformat(),
    }
    return content


def from_content(content: dict) -> OfficialPdf:
    """The description stored by ``to_content``."""
    values = dict(content)
    for field in _SEQUENCES:
        values[field] = [tuple(item) if isinstance(item, list) else item for item in values.get(field, [])]
    values["amounts"] = [(label, Decimal(amount)) for label, amount in values["amounts"]]
    values["issued_on"] = dt.date.fromisoformat(values["issued_on"])
    return OfficialPdf(**values)


def canonical(content: dict) -> bytes:
    """The stored description in one canonical byte form (sorted keys, no spaces, UTF-8): what its
    ``content_sha256`` is the SHA-256 of."""
    return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


NAVY = "#1f3a5f"


def absolute_verify_url(verify_url: str) -> str:
    origin = str(getattr(settings, "SITE_URL", "")).rstrip("/")
    return f"{origin}{verify_url}"


QR_BORDER = 4  # the quiet zone, in modules (the QR standard's)


def qr_modules(text: str) -> list[list[bool]]:
    """The dark (True) and light modules of the QR code of ``text``, row by row from the top
    (error correction level L, the smallest version that holds it)."""
    from reportlab.graphics.barcode import qrencoder

    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.L)
    code.addData(text)
    # reportlab's ``make()``, with its mask choice scored by ``_mask_penalty`` (the same scores as
    # its ``QRUtil.getLostPoint``, in about a fifth of the CPU: the eight masks' scores were most
    # of a document's QR code, about 6 of 8 ms).
    if code.version is None:
        code.version = code.calculate_version()
    best, best_mask = 0, 0
    for mask in range(8):
        code.makeImpl(True, mask)
        penalty = _mask_penalty(code.modules)
        if mask == 0 or penalty < best:
            best, best_mask = penalty, mask
    code.makeImpl(False, best_mask)
    return [[bool(module) for module in row] for row in code.modules]


_RUN_OF_FIVE = re.compile("0{5,}|1{5,}")
# reportlab's rule 3 looks for this one pattern only, in rows only, left to right without overlaps,
# and not at the last position of a row; kept as it is, so that the mask chosen is reportlab's.
_FINDER_LIKE = "10111010000"


def _mask_penalty(modules) -> int:
    """reportlab's ``QRUtil.getLostPoint(code)`` for a code's ``modules`` (every module set): runs of
    five or more of a colour in a line (rule 1), 2x2 blocks of a colour (rule 2), the finder-like
    pattern in a row (rule 3), the balance of dark and light (rule 4)."""
    rows = ["".join("1" if m else "0" for m in row) for row in modules]
    columns = ["".join(column) for column in zip(*rows, strict=True)]
    n = len(rows)
    score = 0
    for line in itertools.chain(rows, columns):
        for run in _RUN_OF_FIVE.finditer(line):
            score += run.end() - run.start() - 2
    for line in rows:  # rows only: reportlab's columns are tuples, never equal to its list pattern
        end, start = len(line) - 1, 0
        while (found := line.find(_FINDER_LIKE, start, end)) >= 0:
            score += 40
            start = found + len(_FINDER_LIKE)
    mask = (1 << (n - 1)) - 1
    previous = int(rows[0], 2)
    for row in rows[1:]:
        current = int(row, 2)
        same = ~(current ^ previous)
        blocks = same & (same >> 1) & ~(current ^ (current >> 1)) & mask
        score += 3 * blocks.bit_count()
        previous = current
    dark = sum(row.count("1") for row in rows)
    return score + 10 * (abs(100 * dark // (n * n) - 50) // 5)


def _qr_form(canvas, rows: list[list[bool]], size: float) -> str:
    """Define the QR code as a PDF form XObject of ``size`` points square (its quiet zone included)
    and return its name: encoded and drawn once per document, each page only shows it (drawing it
    again on every page cost about 46 ms of CPU a page). Each run of dark modules in a row is one
    rectangle of one filled path."""
    name = "verification-qr"
    box = size / (len(rows) + 2 * QR_BORDER)
    canvas.beginForm(name, 0, 0, size, size)
    canvas.setFillColorRGB(0, 0, 0)
    path = canvas.beginPath()
    for r, row in enumerate(rows):
        c = 0
        for dark, run in itertools.groupby(row):
            count = len(list(run))
            if dark:
                path.rect((c + QR_BORDER) * box, size - (r + QR_BORDER + 1) * box, count * box, box)
            c += count
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.endForm()
    return name


def render(doc: OfficialPdf) -> bytes:
    """The PDF bytes of ``doc`` (A4; text wraps, long tables continue on the next page)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import cm
    from reportlab.platypus import (
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    navy = colors.HexColor(NAVY)
    grey = colors.HexColor("#555555")
    base = ParagraphStyle("base", fontName="Helvetica", fontSize=10.5, leading=14)
    body = ParagraphStyle("body", parent=base, alignment=TA_JUSTIFY, spaceAfter=6)
    title = ParagraphStyle(
        "title", parent=base, fontName="Helvetica-Bold", fontSize=14, leading=18, alignment=TA_CENTER
    )
    subtitle = ParagraphStyle("subtitle", parent=base, alignment=TA_CENTER, textColor=grey)
    label = ParagraphStyle("label", parent=base, fontName="Helvetica-Bold")
    small = ParagraphStyle("small", parent=base, fontSize=8.5, leading=11)
    words = ParagraphStyle("words", parent=base, fontSize=9.5, leading=12, textColor=grey)
    heading = ParagraphStyle("heading", parent=label, spaceBefore=8, spaceAfter=4)
    cell = ParagraphStyle("cell", parent=base, fontSize=9.5, leading=12)

    def p(text: str, style=base) -> Paragraph:
        return Paragraph(escape(str(text)), style)

    width, height = A4
    margin = 2 * cm
    label_width = 5.6 * cm
    issued_on = doc.issued_on or timezone.localdate()
    full_title = f"{doc.title} {doc.number}"

    qr_size = 2.4 * cm
    verify_page = absolute_verify_url(doc.verify_url.split("?")[0])
    qr_rows = qr_modules(absolute_verify_url(doc.verify_url))
    drawn_qr: list[str] = []

    def page(canvas, _template) -> None:
        canvas.saveState()
        canvas.setFillColor(navy)
        canvas.rect(0, height - 3 * cm, width, 3 * cm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica-Bold", 18)
        canvas.drawString(margin, height - 1.6 * cm, AGENCY)
        canvas.setFont("Helvetica", 10)
        canvas.drawString(margin, height - 2.3 * cm, MINISTRY)
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawRightString(width - margin, height - 1.6 * cm, f"N.º {doc.number}")
        canvas.setFont("Helvetica", 9)
        canvas.drawRightString(width - margin, height - 2.3 * cm, f"Trámite {doc.case_code}")
        # Every page carries the verification: the QR code (the public page's address with this
        # document's code) and the short code to type.
        canvas.setStrokeColor(colors.HexColor("#999999"))
        canvas.line(margin, 3.9 * cm, width - margin, 3.9 * cm)
        if not drawn_qr:  # one form for the whole document, shown on every page
            drawn_qr.append(_qr_form(canvas, qr_rows, qr_size))
        canvas.saveState()
        canvas.translate(width - margin - qr_size, 1.2 * cm)
        canvas.doForm(drawn_qr[0])
        canvas.restoreState()
        canvas.setFillColor(colors.black)
        canvas.setFont("Helvetica-Bold", 11)
        canvas.drawString(margin, 3.2 * cm, f"Código de verificación: {doc.code}")
        canvas.setFont("Helvetica", 8.5)
        canvas.drawString(
            margin, 2.65 * cm, "Verifique la autenticidad de este documento leyendo el código QR o"
        )
        canvas.drawString(margin, 2.25 * cm, f"escribiendo el código en {verify_page}")
        canvas.setFillColor(grey)
        canvas.setFont("Helvetica", 7.5)
        canvas.drawString(
            margin, 1.3 * cm, f"Documento generado por Expediente (plantilla {doc.template_version})."
        )
        canvas.drawString(margin, 0.9 * cm, f"Página {canvas.getPageNumber()}")
        canvas.restoreState()

    story: list = [p(doc.title, title), p(f"N.º {doc.number}", subtitle), Spacer(1, 0.5 * cm)]
    if doc.intro:
        story.append(p(doc.intro, body))
    if doc.rows:
        data = [[p(f"{k}:", label), p(v or "—")] for k, v in doc.rows]
        table = Table(data, colWidths=[label_width, width - 2 * margin - label_width])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        story += [table, Spacer(1, 0.3 * cm)]
    if doc.amounts:
        data = [
            [
                p(f"{amount_label}:", label),
                [p(amount_in_figures(value), label), p(f"Son: {amount_in_words(value)}", words)],
            ]
            for amount_label, value in doc.amounts
        ]
        block = Table(data, colWidths=[label_width, width - 2 * margin - label_width])
        block.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("BOX", (0, 0), (-1, -1), 0.5, navy),
                    ("LINEBELOW", (0, 0), (-1, -2), 0.25, colors.HexColor("#c5d0de")),
                    ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f2f5f9")),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        story += [block, Spacer(1, 0.3 * cm)]
    if doc.table:
        if doc.table_title:
            story.append(p(doc.table_title, heading))
        header, *rows = doc.table
        columns = len(header)
        data = [[p(h, label) for h in header]] + [[p(c, cell) for c in row] for row in rows]
        available = width - 2 * margin
        fractions = list(doc.table_widths) or [0.1] + [0.9 / max(columns - 1, 1)] * (columns - 1)
        grid = Table(data, colWidths=[available * f for f in fractions], repeatRows=1)
        grid.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#999999")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3e9f1")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [grid, Spacer(1, 0.3 * cm)]
    for clause in doc.clauses:
        story.append(p(clause, body))
    story += [Spacer(1, 0.2 * cm), p(f"{CITY}, {long_date(issued_on)}.", base)]
    if doc.signatures:
        columns = min(len(doc.signatures), 2)
        col = (width - 2 * margin) / columns
        centred = ParagraphStyle("sig", parent=small, alignment=TA_CENTER)
        cells: list = [Paragraph(f"{'_' * 34}<br/>{escape(s)}", centred) for s in doc.signatures]
        rows_of = [cells[i : i + columns] for i in range(0, len(cells), columns)]
        for r in rows_of:
            r += [""] * (columns - len(r))
        sig = Table(rows_of, colWidths=[col] * columns)
        # The lines on one level, whatever the length of the names under them; room to sign above.
        sig.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("TOPPADDING", (0, 0), (-1, -1), 36)]))
        story += [Spacer(1, 0.4 * cm), KeepTogether(sig)]

    out = io.BytesIO()
    template = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=3.8 * cm,
        bottomMargin=4.3 * cm,
        title=full_title,
        author=AGENCY,
        invariant=1,
        pageCompression=1,
    )
    template.build(story, onFirstPage=page, onLaterPages=page)
    return out.getvalue()
