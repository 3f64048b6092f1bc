"""CSV and XLSX exports of a filtered trail (for reading; the verifiable export is the JSON Lines of
``manage.py audit_verify --export``).

CSV is streamed row by row, so it has no size limit. XLSX is built with openpyxl's write-only mode and
is limited to ``XLSX_MAX_ROWS`` rows (a spreadsheet holds about a million at most); beyond that the
user is asked to narrow the filters or take the CSV. Cells that a spreadsheet would read as a formula
(``= + - @``) are written as text.
"""

from __future__ import annotations

import csv
import io
import zoneinfo
from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from .verifier import canonical_json_fast

XLSX_MAX_ROWS = 100_000
FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
LA_PAZ = zoneinfo.ZoneInfo("America/La_Paz")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def headers() -> list[str]:
    return [
        _("Seq"),
        _("Date and time (La Paz)"),
        _("User"),
        _("Action code"),
        _("Action"),
        _("Subject type"),
        _("Subject id"),
        _("Subject"),
        _("Case"),
        _("Data (JSON)"),
        _("Request id"),
        _("IP address"),
        _("Previous hash"),
        _("Hash"),
    ]


def row_values(entry) -> list:
    return [
        entry.seq,
        entry.at.astimezone(LA_PAZ).strftime("%Y-%m-%d %H:%M:%S"),
        entry.actor_label,
        entry.action,
        entry.action_label,
        entry.subject_type,
        entry.subject_id,
        entry.subject_label,
        entry.case,
        canonical_json_fast(entry.data).decode("utf-8"),
        entry.request_id,
        entry.ip,
        entry.prev_hash,
        entry.hash,
    ]


def _text_safe(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _Echo:
    def write(self, value):
        return value


def csv_rows(queryset: QuerySet) -> Iterator[str]:
    """The CSV text, one row at a time (UTF-8 with BOM so spreadsheets read accents right)."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(headers())
    for entry in queryset.order_by("seq").iterator(chunk_size=2000):
        yield writer.writerow([_text_safe(v) for v in row_values(entry)])


class TooManyRows(Exception):
    pass


def xlsx_bytes(queryset: QuerySet) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    if queryset.order_by()[XLSX_MAX_ROWS : XLSX_MAX_ROWS + 1].exists():
        raise TooManyRows
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Audit trail"))
    sheet.append(headers())
    for entry in queryset.order_by("seq").iterator(chunk_size=2000):
        cells = []
        for value in row_values(entry):
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # never a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def too_many_rows_message() -> str:
    return _(
        "The selection has more than %(limit)s entries, too many for a spreadsheet. Narrow the "
        "filters or download the CSV."
    ) % {"limit": f"{XLSX_MAX_ROWS:,}".replace(",", ".")}


def file_response(queryset: QuerySet, fmt: str) -> HttpResponse | StreamingHttpResponse:
    """The filtered trail as a download (the pages and the API alike): CSV streamed, XLSX built whole
    (raises ``TooManyRows`` beyond ``XLSX_MAX_ROWS``). Recording the export is the caller's job
    (``audit.services.record_export``), once the file can be produced."""
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            csv_rows(queryset), content_type=CONTENT_TYPES["csv"]
        )
    elif fmt == "xlsx":
        response = HttpResponse(xlsx_bytes(queryset), content_type=CONTENT_TYPES["xlsx"])
    else:
        raise ValueError(f"unknown export format {fmt!r}")
    response["Content-Disposition"] = f'attachment; filename="bitacora-{stamp}.{fmt}"'
    return response
