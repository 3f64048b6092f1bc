"""What an import is (issue 13, item 6): an app registers an ``Importer`` — its columns and
``write(row, actor)``, which writes ONE row through the app's own service (permission, validation and
audit entry included) and raises ``ValidationError`` / ``PermissionDenied`` for a bad row — and this
module reads the rows of a CSV or XLSX file. The kernel knows nothing of the audit trail: checking and
writing rows, as jobs, is the site's (``expediente.importing``), which may use every app."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
MAX_REPORTED_ROWS = 500  # rows with errors kept in the report (the count is always exact)


@dataclass(frozen=True)
class Column:
    name: str
    label: Any  # lazy translation
    required: bool = True
    help: Any = ""
    example: str = ""


_SAME_ROW = gettext_lazy("The same row appears earlier in the file (row %(row)s).")


@dataclass(frozen=True)
class Importer:
    name: str
    label: Any
    columns: tuple[Column, ...]
    write: Callable[[dict[str, str], Any], object]
    permission: Callable[[Any], bool]  # may this person import at all (the page and the API)
    key: Callable[[dict[str, str]], Hashable | None] = lambda row: None
    key_error: Any = _SAME_ROW
    key_column: str = ""
    audit_entries_per_row: int = 1
    description: Any = ""
    extra: dict[str, Any] = field(default_factory=dict)


_IMPORTERS: dict[str, Importer] = {}


def register(importer: Importer) -> None:
    if importer.name in _IMPORTERS and _IMPORTERS[importer.name] is not importer:
        raise ValueError(f"importer {importer.name!r} registered twice")
    _IMPORTERS[importer.name] = importer


def importers() -> dict[str, Importer]:
    return dict(_IMPORTERS)


def get(name: str) -> Importer:
    try:
        return _IMPORTERS[name]
    except KeyError:
        raise ValidationError({"importer": [_("Unknown import.")]}) from None


# -- reading ---------------------------------------------------------------------------------------


def _normalise(header: object) -> str:
    return str(header or "").strip().lower().replace(" ", "_")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    return str(value).strip()


def read_rows(content: bytes, filename: str) -> list[dict[str, str]]:
    """The rows of a CSV (UTF-8, comma or semicolon) or XLSX file (its first sheet), keyed by the
    header row's names (lower case). Blank rows are skipped. Raises ``ValidationError`` for a file
    that cannot be read."""
    if len(content) > MAX_BYTES:
        raise ValidationError(_("The file is larger than 10 MB."), code="too_big")
    name = filename.lower()
    table: Iterator[Any]
    if name.endswith(".xlsx"):
        table = _xlsx_rows(content)
    elif name.endswith((".csv", ".txt")):
        table = _csv_rows(content)
    else:
        raise ValidationError(_("Upload a CSV or XLSX file."), code="type")
    try:
        header = next(table)
    except StopIteration:
        raise ValidationError(_("The file is empty."), code="empty") from None
    names = [_normalise(h) for h in header]
    rows = []
    for values in table:
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        rows.append({names[i]: cells[i] if i < len(cells) else "" for i in range(len(names)) if names[i]})
        if len(rows) > MAX_ROWS:
            raise ValidationError(
                _("The file has more than %(max)s rows: split it.")
                % {"max": f"{MAX_ROWS:,}".replace(",", ".")},
                code="too_many",
            )
    return rows


def _csv_rows(content: bytes) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(_("The CSV file must be saved as UTF-8."), code="encoding") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return iter(csv.reader(io.StringIO(text), delimiter=delimiter))


def _xlsx_rows(content: bytes) -> Iterator[tuple]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:
        raise ValidationError(_("The XLSX file cannot be read."), code="unreadable") from None
    sheet = book.worksheets[0]
    return sheet.iter_rows(values_only=True)
