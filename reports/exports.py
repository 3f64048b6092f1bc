"""The budget-execution report as files: JSON, CSV (open data), XLSX and PDF.

One builder per format, all fed by the same ``BudgetExecution`` (``reports.selectors``), so the web
page, the API and ``manage.py budget_execution`` can never disagree. Texts follow the active language
(Spanish first); the JSON and CSV keep stable machine names and plain decimals (``"987934.29"``).
"""

from __future__ import annotations

import csv
import io
import json
import zoneinfo
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _

from .selectors import BudgetExecution, ExecutionRow
from .serializers import report_document

LA_PAZ = zoneinfo.ZoneInfo("America/La_Paz")
FORMATS = ("json", "csv", "xlsx", "pdf")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    content_type: str
    filename: str


def filename(report: BudgetExecution, fmt: str) -> str:
    return f"ejecucion-presupuestaria-{report.fiscal_year}.{fmt}"


def report_title(report: BudgetExecution) -> str:
    return _("Budget execution — fiscal year %(year)s") % {"year": report.fiscal_year}


def generated_at_text(report: BudgetExecution) -> str:
    from expediente.templatetags.expediente_tags import lpz_datetime

    return _("Generated on %(when)s (La Paz time)") % {"when": lpz_datetime(report.generated_at)}


def summary_text(report: BudgetExecution) -> str:
    from expediente.templatetags.expediente_tags import bs, percent

    total = report.total
    if report.closed:
        text = _(
            "At 31 December %(year)s the budget in force of PRO-BOLIVIA was %(in_force)s and the executed "
            "budget %(executed)s, an execution of %(percent)s with a balance of %(balance)s."
        )
    else:
        text = _(
            "So far in %(year)s the budget in force of PRO-BOLIVIA is %(in_force)s and the executed "
            "budget %(executed)s, an execution of %(percent)s with a balance of %(balance)s."
        )
    return text % {
        "year": report.fiscal_year,
        "in_force": bs(total.in_force),
        "executed": bs(total.executed),
        "percent": percent(total.percent),
        "balance": bs(total.balance),
    }


def _text_safe(value):
    """A text a spreadsheet would read as a formula (``= + - @``) is kept as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


# --- JSON -----------------------------------------------------------------------------------------------


def json_text(report: BudgetExecution) -> str:
    return json.dumps(report_document(report), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2) + "\n"


# --- CSV (open data) ------------------------------------------------------------------------------------

CSV_COLUMNS = ("fiscal_year", "table", "code", "name", "in_force", "executed", "balance", "percent")


def _csv_row(fiscal_year: int, table: str, row: ExecutionRow) -> list:
    return [
        fiscal_year,
        table,
        row.code,
        _text_safe(row.name),
        f"{row.in_force:.2f}",
        f"{row.executed:.2f}",
        f"{row.balance:.2f}",
        "" if row.percent is None else f"{row.percent:.1f}",
    ]


def csv_text(report: BudgetExecution) -> str:
    """One flat table: ``table`` is ``source``, ``program`` or ``total``; decimals with a dot, no
    grouping; UTF-8 with a BOM so spreadsheets read the accents right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    year = report.fiscal_year
    writer.writerows(_csv_row(year, "source", row) for row in report.by_source)
    writer.writerows(_csv_row(year, "program", row) for row in report.by_program)
    writer.writerow(_csv_row(year, "total", report.total))
    return "\ufeff" + out.getvalue()


# --- XLSX -----------------------------------------------------------------------------------------------

XLSX_MONEY = "#,##0.00"
XLSX_PERCENT = "0.0"


def column_headers(kind: str) -> list[str]:
    first = _("Source") if kind == "source" else _("Program")
    return [
        first,
        _("Description"),
        _("Budget in force"),
        _("Executed (accrued)"),
        _("Balance"),
        _("Percent executed"),
    ]


def xlsx_bytes(report: BudgetExecution) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Budget execution")[:31]
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="EEF0EC")
    top_rule = Border(top=Side(style="medium"))

    sheet.append([report_title(report)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["PRO-BOLIVIA · " + _("Ministry of Productive Development and Plural Economy")])
    sheet.append([generated_at_text(report) + ("" if report.closed else " · " + _("provisional figures"))])

    def table(title: str, kind: str, rows) -> None:
        sheet.append([])
        sheet.append([title])
        sheet.cell(sheet.max_row, 1).font = bold
        sheet.append([*column_headers(kind), _("Amounts in bolivianos (Bs)")])
        for cell in sheet[sheet.max_row][:6]:
            cell.font = bold
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.cell(sheet.max_row, 7).font = Font(italic=True, color="4F5B62")
        for row in (*rows, report.total):
            is_total = row is report.total
            sheet.append(
                [
                    _("TOTAL") if is_total else row.code,
                    "" if is_total else _text_safe(row.name),
                    row.in_force,
                    row.executed,
                    row.balance,
                    row.percent,
                ]
            )
            cells = sheet[sheet.max_row]
            for cell in cells[:2]:
                cell.data_type = "s"  # codes and names are text, never formulas
            for cell in cells[2:5]:
                cell.number_format = XLSX_MONEY
            cells[5].number_format = XLSX_PERCENT
            if is_total:
                for cell in cells[:6]:
                    cell.font = bold
                    cell.border = top_rule

    table(_("By funding source"), "source", report.by_source)
    table(_("By program"), "program", report.by_program)
    for column, width in zip("ABCDEF", (12, 52, 18, 18, 18, 11), strict=True):
        sheet.column_dimensions[column].width = width
    workbook.properties.title = report_title(report)
    workbook.properties.creator = "Expediente · PRO-BOLIVIA"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- All formats ----------------------------------------------------------------------------------------


def report_file(report: BudgetExecution, fmt: str) -> ReportFile:
    """The report in ``fmt`` (one of ``FORMATS``) as bytes, with its content type and file name."""
    if fmt == "json":
        return ReportFile(json_text(report).encode(), "application/json", filename(report, fmt))
    if fmt == "csv":
        return ReportFile(csv_text(report).encode(), "text/csv; charset=utf-8", filename(report, fmt))
    if fmt == "xlsx":
        return ReportFile(
            xlsx_bytes(report),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename(report, fmt),
        )
    if fmt == "pdf":
        from .pdf import pdf_bytes

        return ReportFile(pdf_bytes(report), "application/pdf", filename(report, fmt))
    raise ValueError(f"unknown format {fmt!r}")
