"""Issuing official documents (``OfficialDocument``): the next number of the kind and year, taken
under the counter row's lock inside the caller's transaction (a rolled-back step gives its number
back: no gaps, no repeats), what the document prints stored with it and the SHA-256 of that
description recorded. The caller — the step that gives birth to the document — writes it into its
own audit entry (``audit_data``).

The PDF is drawn after the commit by ``cases.official_pdf`` from the stored description
(``store_pdf``, called by the engine's ``workflows.official.render``: the outbox's
``workflows.render_official`` job or the first download), once; its SHA-256 is recorded with the
row and in its own audit entry. Its QR code and
``verify_path`` lead to the public verification page (``/documents/verify/``); the API's
``/api/v1/official-documents/verify/`` answers the same question in JSON. The signed paper, scanned,
is stored beside the PDF by ``store_signed_scan`` (the engine's ``workflows.official`` checks who
may and writes the audit entry)."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from . import official_pdf, outbox, tx
from .models import OfficialCounter, OfficialDocument

# Short codes people can type: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10

HEX64 = re.compile(r"^[0-9a-f]{64}$")
CODE = re.compile(r"^[A-Z0-9]{1,16}$")


def lookup(params) -> tuple[dict, OfficialDocument | None, bool]:
    """``(what was asked, the document or None, whether anything was asked)`` from query params."""
    number = str(params.get("number", "")).strip()[:40]
    digest = str(params.get("sha256", "")).strip().lower()[:64]
    code = re.sub(r"[\s-]+", "", str(params.get("code", ""))).upper()[:16]
    asked = {"number": number, "sha256": digest, "code": code}
    if number and HEX64.match(digest):
        return asked, find(number=number, sha256=digest), True
    if code and CODE.match(code):
        return asked, find(code=code), True
    return asked, None, bool(number or digest or code)


def next_number(kind: str, prefix: str, year: int) -> tuple[int, str]:
    """``(sequence, "PREFIX-YEAR-NNNNNN")`` for ``kind`` in ``year``; call inside a transaction."""
    table = connection.ops.quote_name(OfficialCounter._meta.db_table)
    with connection.cursor() as cursor:
        # One statement: the year's first number creates its counter row, a later one increments
        # it; either way the row stays locked until the transaction ends (PostgreSQL: ON CONFLICT
        # DO UPDATE locks it; SQLite: the write lock), so numbers never repeat, and a rollback
        # takes the number back with everything else, so they never skip.
        cursor.execute(
            f"INSERT INTO {table} (kind, year, last) VALUES (%s, %s, 1) "  # noqa: S608 (constant table)
            f"ON CONFLICT (kind, year) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [kind, year],
        )
        (last,) = cursor.fetchone()
    return last, f"{prefix}-{year}-{last:06d}"


def verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def verify_path(document: OfficialDocument) -> str:
    """The public page that says whether this document is genuine (its number and the PDF's hash;
    its short code while the PDF is not drawn yet)."""
    if not document.sha256:
        return f"{reverse('official-document-page')}?code={document.verification_code}"
    return f"{reverse('official-document-page')}?number={document.number}&sha256={document.sha256}"


@tx.atomic
def issue(
    *,
    kind: str,
    prefix: str,
    case_type: str,
    case,
    actor,
    template_version: str,
    describe: Callable[[str, str, str], official_pdf.OfficialPdf],
    step: str = "",
    role: str = "",
) -> OfficialDocument:
    """Number and record a document of ``case``: ``describe(number, verification code, verify URL)``
    returns what it prints (the number and the code are printed on it). What it prints is stored
    with the row, and its canonical SHA-256 (``content_sha256``) goes into the step's audit entry;
    the PDF is drawn from it after the commit (``workflows.official.render``: the
    ``workflows.render_official`` job the outbox owes, or the first download, whichever comes
    first). ``step`` and ``role``: the step that gives birth to it and the role that decides that
    step (who may upload the signed scan)."""
    year = timezone.localdate().year
    sequence, number = next_number(kind, prefix, year)
    # 31^10 (about 8·10^14) codes: no read to look for a taken one (a decision's statements are
    # counted); the unique key would refuse the once-in-a-lifetime repeat, and the step with it.
    code = verification_code()
    url = f"{reverse('official-document-page')}?code={code}"
    content = official_pdf.to_content(describe(number, code, url))
    document = OfficialDocument.objects.create(
        kind=kind,
        number=number,
        year=year,
        sequence=sequence,
        case_type=case_type,
        case_id=case.pk,
        case_code=case.code,
        content=content,
        content_sha256=hashlib.sha256(official_pdf.canonical(content)).hexdigest(),
        verification_code=code,
        template_version=template_version,
        issued_by=actor,
        step=step,
        role=role,
    )
    # Drawing the PDF (reportlab's layout and the QR code: most of a budget certification's CPU)
    # is kept off the decision: a worker does it right after the commit (in-process when embedded).
    outbox.post("workflows.render_official", document=document.pk)
    return document


def store_pdf(document: OfficialDocument) -> int:
    """Draw the PDF of ``document`` (locked by the caller, not drawn yet) from its description and
    store it with its SHA-256; returns its size in bytes. The engine's ``workflows.official.render``
    calls it and records the audit entry."""
    if document.content is None:  # issued before 2026.3: drawn in its step, never again
        raise ValueError(f"{document.number} has no stored description to draw")
    content = official_pdf.render(official_pdf.from_content(document.content))
    document.sha256 = hashlib.sha256(content).hexdigest()
    document.rendered_at = timezone.now()
    document.file.save(f"{document.number}.pdf", ContentFile(content), save=False)
    document.save(update_fields=["file", "sha256", "rendered_at"])
    return len(content)


def documents_of(case_type: str, case_id: int) -> list[OfficialDocument]:
    return list(
        OfficialDocument.objects.filter(case_type=case_type, case_id=case_id).order_by("issued_at", "pk")
    )


def document_of(case_type: str, case_id: int, number: str) -> OfficialDocument | None:
    """The official document ``number`` of that case, or ``None``."""
    return OfficialDocument.objects.filter(case_type=case_type, case_id=case_id, number=number).first()


def audit_data(document: OfficialDocument) -> dict:
    """What the audit entry of the step that issued ``document`` records of it."""
    return {"kind": document.kind, "number": document.number, "content_sha256": document.content_sha256}


def find(*, number: str = "", sha256: str = "", code: str = "") -> OfficialDocument | None:
    """The document with this number and hash (the file in hand), or with this verification code."""
    if number and sha256:
        return OfficialDocument.objects.filter(number=number, sha256=sha256).first()
    if code:
        return OfficialDocument.objects.filter(verification_code=code).first()
    return None


def store_signed_scan(document: OfficialDocument, upload, *, actor) -> OfficialDocument:
    """Keep the signed scan (a ``cases.documents.Upload``, checked by content) beside the generated
    PDF; call inside the service's transaction, with the document row locked."""
    document.signed_scan.save(
        f"{document.number}-firmado{upload.extension}", ContentFile(upload.content), save=False
    )
    document.signed_scan_sha256 = upload.sha256
    document.signed_scan_content_type = upload.content_type
    document.signed_scan_uploaded_at = timezone.now()
    document.signed_scan_uploaded_by = actor
    document.save(
        update_fields=[
            "signed_scan",
            "signed_scan_sha256",
            "signed_scan_content_type",
            "signed_scan_uploaded_at",
            "signed_scan_uploaded_by",
        ]
    )
    return document
