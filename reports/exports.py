"""The accountability reports as files: JSON, CSV (open data), XLSX and PDF.

One builder per format, all fed by the same ``BudgetExecution`` or ``Attainment``
(``reports.selectors``), so the web pages, the API and ``manage.py budget_execution`` can never
disagree. Texts follow the active language (Spanish first); the JSON and CSV keep stable machine
names and plain decimals (``"987934.29"``).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import zoneinfo
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Indicator
from .selectors import Attainment, BudgetExecution, ExecutionRow, IndicatorRow, ProgramAttainment
from .serializers import attainment_document, figure_text, report_document

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


def generated_at_text(report: BudgetExecution | Attainment) -> str:
    from cases.templatetags.expediente_tags import lpz_datetime

    return _("Generated on %(when)s (La Paz time)") % {"when": lpz_datetime(report.generated_at)}


def summary_text(report: BudgetExecution) -> str:
    from cases.templatetags.expediente_tags import bs, percent

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
    """One flat table: ``table`` is ``source``, ``program``, ``subprogram`` (after its program, code
    ``PROGRAM/SUBPROGRAM``, ``PROGRAM/`` for the program's lines that name none) or ``total``;
    decimals with a dot, no grouping; UTF-8 with a BOM so spreadsheets read the accents right."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    year = report.fiscal_year
    writer.writerows(_csv_row(year, "source", row) for row in report.by_source)
    for program in report.by_program:
        writer.writerow(_csv_row(year, "program", program))
        writer.writerows(
            _csv_row(year, "subprogram", dataclasses.replace(sub, code=f"{program.code}/{sub.code}"))
            for sub in program.subprograms
        )
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


def subprogram_code(row: ExecutionRow) -> str:
    """How a sub-program row is labelled in the files: its code, "—" for the program's own lines."""
    return row.code or "—"


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
        flat = [(row, False) for row in rows]
        if kind == "program":  # each program, then its sub-programs (indented, italic)
            flat = [
                (r, is_sub)
                for row in rows
                for r, is_sub in [(row, False), *((s, True) for s in row.subprograms)]
            ]
        for row, is_sub in (*flat, (report.total, False)):
            is_total = row is report.total
            sheet.append(
                [
                    _("TOTAL") if is_total else subprogram_code(row) if is_sub else row.code,
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
            if is_sub:
                for cell in cells[:6]:
                    cell.font = Font(italic=True, color="4F5B62")
                cells[0].alignment = cells[1].alignment = Alignment(indent=1)
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


def report_file(report: BudgetExecution | Attainment, fmt: str) -> ReportFile:
    """The report in ``fmt`` (one of ``FORMATS``) as bytes, with its content type and file name."""
    if isinstance(report, Attainment):
        return attainment_file(report, fmt)
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


# === Goals and their attainment (metas y resultados) ======================================================


def attainment_filename(report: Attainment, fmt: str) -> str:
    return f"metas-y-resultados-{report.fiscal_year}.{fmt}"


def attainment_title(report: Attainment) -> str:
    return _("Goals and results — fiscal year %(year)s") % {"year": report.fiscal_year}


def _count(row: IndicatorRow) -> int:
    """The figure of a count indicator: an ``int`` (only the money indicators are ``Decimal``)."""
    if not isinstance(row.achieved, int):
        raise TypeError(f"indicator {row.indicator} is not a count")
    return row.achieved


def attainment_summary(report: Attainment) -> str:
    from cases.templatetags.expediente_tags import bs

    total = report.total
    closed = _count(total.row(Indicator.INITIATIVES_CLOSED))
    delivered = _count(total.row(Indicator.TRANSFERS_DELIVERED))
    registered = _count(total.row(Indicator.UNITS_REGISTERED))
    figures = {
        "year": report.fiscal_year,
        "initiatives": ngettext("%(n)s productive initiative", "%(n)s productive initiatives", closed)
        % {"n": closed},
        "transfers": ngettext("%(n)s transfer", "%(n)s transfers", delivered) % {"n": delivered},
        "units": ngettext("%(n)s productive unit", "%(n)s productive units", registered) % {"n": registered},
        "paid": bs(total.row(Indicator.AMOUNT_PAID).achieved),
    }
    if report.closed:
        text = _(
            "In %(year)s PRO-BOLIVIA closed %(initiatives)s, delivered %(transfers)s, registered "
            "%(units)s and paid %(paid)s to beneficiaries."
        )
    else:
        text = _(
            "So far in %(year)s PRO-BOLIVIA has closed %(initiatives)s, delivered %(transfers)s, "
            "registered %(units)s and paid %(paid)s to beneficiaries."
        )
    return text % figures


def attainment_json_text(report: Attainment) -> str:
    return json.dumps(attainment_document(report), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2) + "\n"


ATTAINMENT_CSV_COLUMNS = (
    "fiscal_year",
    "table",
    "program",
    "program_name",
    "indicator",
    "indicator_name",
    "unit",
    "achieved",
    "target",
    "percent",
)


def _attainment_csv_rows(report: Attainment, table: str, group: ProgramAttainment):
    for row in group.rows:
        yield [
            report.fiscal_year,
            table,
            group.code,
            _text_safe(group.name),
            row.indicator,
            _text_safe(row.label),
            "bs" if row.is_money else "count",
            figure_text(row.achieved, row.is_money),
            figure_text(row.target, row.is_money) or "",
            "" if row.percent is None else f"{row.percent:.1f}",
        ]


def attainment_csv_text(report: Attainment) -> str:
    """One flat table, one row per program and indicator, then the total (``table`` = ``total``,
    ``program`` empty); counts as whole numbers, amounts with a dot; UTF-8 with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ATTAINMENT_CSV_COLUMNS)
    for group in report.by_program:
        writer.writerows(_attainment_csv_rows(report, "program", group))
    writer.writerows(_attainment_csv_rows(report, "total", report.total))
    return "\ufeff" + out.getvalue()


XLSX_COUNT = "#,##0"


def attainment_headers() -> list[str]:
    return [_("Program"), _("Indicator"), _("Goal"), _("Achieved"), _("Attainment (%)")]


def attainment_xlsx_bytes(report: Attainment) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Goals and results")[:31]
    bold = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="EEF0EC")
    top_rule = Border(top=Side(style="medium"))

    sheet.append([attainment_title(report)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(["PRO-BOLIVIA · " + _("Ministry of Productive Development and Plural Economy")])
    sheet.append([generated_at_text(report) + ("" if report.closed else " · " + _("provisional figures"))])
    sheet.append([])
    sheet.append(attainment_headers())
    for cell in sheet[sheet.max_row]:
        cell.font = bold
        cell.fill = header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = sheet.cell(sheet.max_row + 1, 1)
    for group in (*report.by_program, report.total):
        is_total = group is report.total
        for n, row in enumerate(group.rows):
            sheet.append(
                [
                    (_("TOTAL") if is_total else group.code) if n == 0 else "",
                    _text_safe(row.label),
                    row.target,
                    row.achieved,
                    row.percent,
                ]
            )
            cells = sheet[sheet.max_row]
            cells[0].data_type = cells[1].data_type = "s"  # texts, never formulas
            number = XLSX_MONEY if row.is_money else XLSX_COUNT
            cells[2].number_format = cells[3].number_format = number
            cells[4].number_format = XLSX_PERCENT
            if n == 0:
                for cell in cells:
                    cell.border = top_rule
            if is_total:
                for cell in cells:
                    cell.font = bold
    for column, width in zip("ABCDE", (14, 46, 16, 16, 14), strict=True):
        sheet.column_dimensions[column].width = width
    if report.plan_count:
        plan_sheet(workbook, report)
    workbook.properties.title = attainment_title(report)
    workbook.properties.creator = "Expediente · PRO-BOLIVIA"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def plan_headers() -> list[str]:
    return [
        _("Program"),
        _("Goal"),
        _("Unit"),
        _("Baseline"),
        _("Target"),
        _("Result"),
        _("Attainment (%)"),
        _("Attainment"),
        _("Result from"),
    ]


def plan_groups(report: Attainment) -> list[ProgramAttainment]:
    """The programs with goals in the plan, then the agency's own goals."""
    return [g for g in (*report.by_program, report.total) if g.goals]


def result_source(goal) -> str:
    from .selectors import metric_label

    if goal.is_computed:
        return _("Computed: %(figure)s") % {"figure": metric_label(goal.computed_from)}
    return _("Entered with evidence")


def plan_sheet(workbook, report: Attainment) -> None:
    """The goals of the annual plan (POA): one row per goal, the attainment as the report writes it."""
    from openpyxl.styles import Alignment, Font, PatternFill

    sheet = workbook.create_sheet(_("Annual plan (POA)")[:31])
    sheet.append([_("Goals of the annual operating plan (POA)") + f" — {report.fiscal_year}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    sheet.append(plan_headers())
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="EEF0EC")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = sheet.cell(sheet.max_row + 1, 1)
    for group in plan_groups(report):
        for goal in group.goals:
            sheet.append(
                [
                    group.code or "PRO-BOLIVIA",
                    _text_safe(goal.indicator),
                    _text_safe(goal.unit),
                    goal.baseline,
                    goal.target,
                    goal.result,
                    goal.percent,
                    _text_safe(goal.text),
                    result_source(goal),
                ]
            )
            cells = sheet[sheet.max_row]
            for index in (0, 1, 2, 7, 8):
                cells[index].data_type = "s"  # texts, never formulas
            money = goal.unit.strip().lower() in {"bs", "bs."}
            for cell in cells[3:6]:
                cell.number_format = XLSX_MONEY if money else "#,##0.##"
            cells[6].number_format = XLSX_PERCENT
    for column, width in zip("ABCDEFGHI", (14, 52, 18, 12, 12, 12, 12, 26, 30), strict=True):
        sheet.column_dimensions[column].width = width


def attainment_file(report: Attainment, fmt: str) -> ReportFile:
    name = attainment_filename(report, fmt)
    if fmt == "json":
        return ReportFile(attainment_json_text(report).encode(), "application/json", name)
    if fmt == "csv":
        return ReportFile(attainment_csv_text(report).encode(), "text/csv; charset=utf-8", name)
    if fmt == "xlsx":
        return ReportFile(
            attainment_xlsx_bytes(report),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            name,
        )
    if fmt == "pdf":
        from .pdf import attainment_pdf_bytes

        return ReportFile(attainment_pdf_bytes(report), "application/pdf", name)
    raise ValueError(f"unknown format {fmt!r}")


def attainment_method_text() -> str:
    return _(
        "Source: Expediente, from the case data only. A case counts in the year it reached the state "
        "(submitted, approved, closed, rejected, requested, delivered), as dated by its audit trail. Asset "
        "units: units accepted by the beneficiary, by delivery date. Paid: confirmed tranches of "
        "initiatives and confirmed payments of transfers in money. Units registered: by date of "
        "registration; valid at year end: registration valid until 31 December or later. Attainment: "
        "achieved / goal x 100, rounded half-up to one decimal; no goal, no percentage. Counts and "
        "amounts only: no personal data."
    )


# --- Beneficiaries reached, by place (``reports.beneficiaries``) -------------------------------------------

BENEFICIARIES_FORMATS = ("json", "csv", "xlsx")
BENEFICIARIES_CSV_COLUMNS = (
    "fiscal_year",
    "by",
    "program",
    "table",
    "key",
    "name",
    "cases",
    "women",
    "men",
    "total",
    "amount_paid",
)


def beneficiaries_title(report) -> str:
    return _("Beneficiaries reached by %(by)s — fiscal year %(year)s") % {
        "by": report.by_label.lower(),
        "year": report.fiscal_year,
    }


def beneficiaries_filename(report, fmt: str) -> str:
    program = f"-{report.program.lower()}" if report.program else ""
    return f"beneficiarios-{report.fiscal_year}-{report.by}{program}.{fmt}"


def beneficiaries_document(report) -> dict:
    """The JSON of the report (API and download): counts as numbers, money as decimal strings."""

    def group(g) -> dict:
        return {
            "key": g.key,
            "name": g.name,
            "cases": g.cases,
            "women": g.women,
            "men": g.men,
            "total": g.total,
            "amount_paid": f"{g.paid:.2f}",
        }

    return {
        "fiscal_year": report.fiscal_year,
        "closed": report.closed,
        "generated_at": report.generated_at.isoformat(),
        "by": report.by,
        "program": report.program,
        "groups": [group(g) for g in report.groups],
        "total": group(report.total),
    }


def beneficiaries_csv_text(report) -> str:
    """Open data: one row per group, then the total (``table`` = ``total``, ``key`` empty); UTF-8 with
    a BOM, amounts with a dot."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BENEFICIARIES_CSV_COLUMNS)
    for table, g in [*(("group", g) for g in report.groups), ("total", report.total)]:
        writer.writerow(
            [
                report.fiscal_year,
                report.by,
                report.program or "",
                table,
                _text_safe(g.key),
                _text_safe(g.name),
                g.cases,
                g.women,
                g.men,
                g.total,
                f"{g.paid:.2f}",
            ]
        )
    return "\ufeff" + out.getvalue()


def beneficiaries_headers(report) -> list[str]:
    return [report.by_label, _("Cases"), _("Women"), _("Men"), _("Total"), _("Paid (Bs)")]


def beneficiaries_xlsx_bytes(report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Beneficiaries")[:31]
    bold = Font(bold=True)
    sheet.append([beneficiaries_title(report)])
    sheet["A1"].font = Font(bold=True, size=14)
    program = report.program or _("All programs")
    sheet.append(["PRO-BOLIVIA · " + _("Program") + ": " + program])
    sheet.append([generated_at_text(report) + ("" if report.closed else " · " + _("provisional figures"))])
    sheet.append([])
    sheet.append(beneficiaries_headers(report))
    for cell in sheet[sheet.max_row]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="EEF0EC")
    sheet.freeze_panes = sheet.cell(sheet.max_row + 1, 1)
    for g in (*report.groups, report.total):
        sheet.append([_text_safe(g.name), g.cases, g.women, g.men, g.total, g.paid])
        cells = sheet[sheet.max_row]
        cells[0].data_type = "s"
        for cell in cells[1:5]:
            cell.number_format = XLSX_COUNT
        cells[5].number_format = XLSX_MONEY
        if g is report.total:
            for cell in cells:
                cell.font = bold
    for column, width in zip("ABCDEF", (34, 10, 12, 12, 12, 18), strict=True):
        sheet.column_dimensions[column].width = width
    workbook.properties.title = beneficiaries_title(report)
    workbook.properties.creator = "Expediente · PRO-BOLIVIA"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def beneficiaries_file(report, fmt: str) -> ReportFile:
    name = beneficiaries_filename(report, fmt)
    if fmt == "csv":
        return ReportFile(beneficiaries_csv_text(report).encode("utf-8"), "text/csv; charset=utf-8", name)
    if fmt == "xlsx":
        return ReportFile(
            beneficiaries_xlsx_bytes(report),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            name,
        )
    text = json.dumps(beneficiaries_document(report), ensure_ascii=False, indent=2)
    return ReportFile(text.encode("utf-8"), "application/json", name)
