"""Issuing official documents (``OfficialDocument``): the next number of the kind and year, taken
under the counter row's lock inside the caller's transaction (a rolled-back step gives its number
back: no gaps, no repeats), the PDF stored, its SHA-256 recorded. The caller — the step that gives
birth to the document — writes the SHA-256 into its own audit entry (``audit_data``)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from . import tx
from .models import OfficialCounter, OfficialDocument

# Short codes people can type: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


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
    return f"{reverse('official-document-verify')}?number={document.number}&sha256={document.sha256}"


@tx.atomic
def issue(
    *,
    kind: str,
    prefix: str,
    case_type: str,
    case,
    actor,
    template_version: str,
    render: Callable[[str, str, str], bytes],
) -> OfficialDocument:
    """Number and store a document of ``case``: ``render(number, verification code, verify URL)``
    returns the PDF bytes (the number and the code are printed on it)."""
    year = timezone.localdate().year
    sequence, number = next_number(kind, prefix, year)
    code = verification_code()
    while OfficialDocument.objects.filter(verification_code=code).exists():  # pragma: no cover
        code = verification_code()
    url = f"{reverse('official-document-verify')}?code={code}"
    content = render(number, code, url)
    document = OfficialDocument(
        kind=kind,
        number=number,
        year=year,
        sequence=sequence,
        case_type=case_type,
        case_id=case.pk,
        case_code=case.code,
        sha256=hashlib.sha256(content).hexdigest(),
        verification_code=code,
        template_version=template_version,
        issued_by=actor,
    )
    document.file.save(f"{number}.pdf", ContentFile(content), save=False)
    document.save()
    return document


def documents_of(case_type: str, case_id: int) -> list[OfficialDocument]:
    return list(
        OfficialDocument.objects.filter(case_type=case_type, case_id=case_id).order_by("issued_at", "pk")
    )


def document_of(case_type: str, case_id: int, number: str) -> OfficialDocument | None:
    """The official document ``number`` of that case, or ``None``."""
    return OfficialDocument.objects.filter(case_type=case_type, case_id=case_id, number=number).first()


def audit_data(document: OfficialDocument) -> dict:
    """What the audit entry of the step that issued ``document`` records of it."""
    return {"kind": document.kind, "number": document.number, "sha256": document.sha256}
