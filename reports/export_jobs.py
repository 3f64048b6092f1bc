"""The reports' files, built in the request when they are quick and by a job (``cases.jobs``) when not.

One description of a file (``ExportSpec``: which report, year, format and, for a drill-down, which
figure), one builder (``build``) for the request, the job and ``manage.py report_export``, so the
three can never disagree:

- ``budget`` and ``attainment``, the public reports (``reports.exports``, ``reports.pdf``): JSON, CSV,
  XLSX and PDF. A closed year's ledger sums are kept (``reports.ledger``), so its files take a few
  milliseconds: always in the request, also for anonymous readers. The year in progress is summed
  afresh at every request; past ``INLINE_MAX_MOVEMENTS`` ledger movements in the year (counted up to
  that bound) its XLSX, CSV and PDF are made by a job.
- ``movements``, the staff drill-down behind one executed figure (program, sub-program or source):
  CSV and XLSX of the ledger movements, within the reader's program scopes. Up to
  ``INLINE_MAX_ROWS`` rows in the request, past that by a job (up to ``JOB_MAX_ROWS``).

Who: ``may_export`` is the report's own visibility (closed years public, the rest and every drill-down
for finance, the director, internal control and administrators). A job is started by a signed-in
person who may see the report (anonymous readers only read closed years, which are never a job); the
job checks again when it runs (the starter may have lost the role meanwhile) and runs the drill-down
within the starter's scopes; its file is given only to its starter (or an administrator) while they
may still see the report (``expediente/jobpages.py``).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from budget.models import BudgetMovement

from .exports import FORMATS, ReportFile, _text_safe, report_file
from .selectors import (
    EXECUTED_SIGN,
    attainment,
    budget_execution,
    can_drill_down,
    can_view_execution,
    clean_fiscal_year,
    execution_movements,
    is_closed,
)

JOB_KIND = "export.report"
REPORTS = ("budget", "attainment", "movements")
MOVEMENT_FORMATS = ("csv", "xlsx")
DIMENSIONS = ("program", "source")

# Measured (docs/REPORTS.md, "Files made by a job"): see there for the figures behind these bounds.
INLINE_MAX_MOVEMENTS = 200_000  # the year in progress: ledger movements summed in the request
INLINE_MAX_ROWS = 1_000  # a drill-down's rows written in the request
JOB_MAX_ROWS = 1_000_000  # a drill-down's rows written by a job

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class ExportSpec:
    """A report file: ``report`` (``REPORTS``), ``fiscal_year``, ``fmt``; a drill-down also names its
    ``dimension`` (program or source), ``code`` and, under a program, the ``subprogram``."""

    report: str
    fiscal_year: int
    fmt: str
    dimension: str = ""
    code: str = ""
    subprogram: str = ""

    def params(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_params(cls, data: dict[str, Any]) -> ExportSpec:
        """A spec from a form, a job's params or a command's options; ``ValidationError`` naming the
        field when one is wrong."""
        report = str(data.get("report") or "")
        if report not in REPORTS:
            raise ValidationError(
                {"report": [_("Choose one of: %(names)s.") % {"names": ", ".join(REPORTS)}]}
            )
        fiscal_year = clean_fiscal_year(data.get("fiscal_year"))
        fmt = str(data.get("fmt") or data.get("format") or "")
        formats = MOVEMENT_FORMATS if report == "movements" else FORMATS
        if fmt not in formats:
            raise ValidationError(
                {"format": [_("Choose one of: %(names)s.") % {"names": ", ".join(formats)}]}
            )
        dimension = code = subprogram = ""
        if report == "movements":
            dimension = str(data.get("dimension") or "")
            if dimension not in DIMENSIONS:
                raise ValidationError({"dimension": [_("Choose program or source.")]})
            code = str(data.get("code") or "").strip()
            if not code:
                raise ValidationError({"code": [_("Give the code of the program or funding source.")]})
            subprogram = str(data.get("subprogram") or "").strip() if dimension == "program" else ""
        return cls(report, fiscal_year, fmt, dimension, code, subprogram)


def may_export(user, spec: ExportSpec) -> bool:
    """The report's own visibility: closed years of the public reports for anyone, the rest and the
    drill-downs for the report staff (the drill-down's rows are cut to the reader's scopes)."""
    if spec.report == "movements":
        return can_drill_down(user)
    return can_view_execution(user, spec.fiscal_year)


def _movements(spec: ExportSpec, user):
    return execution_movements(
        user,
        spec.fiscal_year,
        subprogram=spec.subprogram or None,
        **{spec.dimension: spec.code},
    )


def needs_job(spec: ExportSpec, user) -> bool:
    """Whether this file is made by a job rather than in the request (one bounded count)."""
    if spec.report == "movements":
        return _movements(spec, user)[: INLINE_MAX_ROWS + 1].count() > INLINE_MAX_ROWS
    if is_closed(spec.fiscal_year) or spec.fmt == "json":
        return False
    year_movements = BudgetMovement.objects.filter(line__fiscal_year=spec.fiscal_year).order_by()
    return year_movements[: INLINE_MAX_MOVEMENTS + 1].count() > INLINE_MAX_MOVEMENTS


# --- Building a file -------------------------------------------------------------------------------------


def movements_filename(spec: ExportSpec) -> str:
    what = spec.code + (f"-{spec.subprogram}" if spec.subprogram else "")
    dimension = "programa" if spec.dimension == "program" else "fuente"
    return f"movimientos-{spec.fiscal_year}-{dimension}-{what}.{spec.fmt}"


def movement_headers() -> list[str]:
    return [
        _("Date"),
        _("Kind"),
        _("Program"),
        _("Sub-program or project"),
        _("Source"),
        _("Object of expenditure"),
        _("Case"),
        _("Description"),
        _("C-31"),
        _("Amount (Bs)"),
    ]


MOVEMENT_FIELDS = (
    "date",
    "at",
    "kind",
    "line__program__code",
    "line__subprogram__code",
    "line__source__code",
    "line__object_of_expenditure",
    "case_code",
    "description",
    "c31_reference",
    "amount",
)


def _movement_rows(rows, limit: int):
    """The drill-down's rows as plain values (no model instances: a million rows in a job), in the
    order of the page: day (La Paz), kind, program, sub-program, source, partida, case, description,
    C-31, signed amount."""
    from django.utils import timezone

    from cases.templatetags.expediente_tags import LA_PAZ

    labels = {kind.value: str(kind.label) for kind in BudgetMovement.Kind}
    for day, at, kind, program, sub, source, partida, case, text, c31, amount in rows.values_list(
        *MOVEMENT_FIELDS
    )[:limit].iterator(chunk_size=5_000):
        yield [
            day or timezone.localtime(at, LA_PAZ).date(),
            labels[kind],
            program,
            sub or "",
            source,
            partida,
            case,
            _text_safe(text),
            c31,
            EXECUTED_SIGN[kind] * amount,
        ]


def _movements_file(spec: ExportSpec, user, progress, limit: int) -> ReportFile:
    rows = _movements(spec, user)
    total = min(rows.count(), limit)
    if progress is not None:
        progress(0, total, force=True)
    iterator = _movement_rows(rows, limit)
    if spec.fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(movement_headers())
        for index, row in enumerate(iterator, start=1):
            row[0] = row[0].isoformat()
            row[-1] = f"{row[-1]:.2f}"
            writer.writerow(row)
            if progress is not None:
                progress(index, total)
        content = ("\ufeff" + out.getvalue()).encode()
        return ReportFile(content, "text/csv; charset=utf-8", movements_filename(spec))
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Movements")[:31])
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHIJ", (12, 26, 12, 12, 8, 10, 18, 40, 12, 16), strict=True):
        sheet.column_dimensions[column].width = width
    bold = Font(bold=True)
    header = []
    for text in movement_headers():
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for index, values in enumerate(iterator, start=1):
        cells = [WriteOnlyCell(sheet, value=v) for v in values]
        for cell in cells[1:9]:
            cell.data_type = "s"  # codes and texts, never formulas
        cells[0].number_format = "DD/MM/YYYY"
        cells[-1].number_format = "#,##0.00"
        sheet.append(cells)
        if progress is not None:
            progress(index, total)
    buffer = io.BytesIO()
    book.save(buffer)
    return ReportFile(buffer.getvalue(), XLSX, movements_filename(spec))


def build(spec: ExportSpec, *, user=None, progress=None, limit: int = JOB_MAX_ROWS) -> ReportFile:
    """The file of ``spec`` (no access check: callers check ``may_export``; the drill-down's rows are
    those ``user`` may see). ``progress(done, total)``: the public reports count three steps (the
    figures, the file, saved by the caller), a drill-down its rows."""
    if spec.report == "movements":
        return _movements_file(spec, user, progress, limit)
    if progress is not None:
        progress(0, 3, force=True)
    report = budget_execution(spec.fiscal_year) if spec.report == "budget" else attainment(spec.fiscal_year)
    if progress is not None:
        progress(1, 3, force=True)
    file = report_file(report, spec.fmt)
    if progress is not None:
        progress(2, 3, force=True)
    return file


# --- The job ---------------------------------------------------------------------------------------------


def start(spec: ExportSpec, *, actor):
    """Queue the file of ``spec`` for ``actor`` (in the caller's transaction); ``PermissionDenied``
    when they may not see the report."""
    from cases import jobs

    if not getattr(actor, "is_authenticated", False) or not may_export(actor, spec):
        raise PermissionDenied(_("You may not see this report."))
    return jobs.start(JOB_KIND, actor=actor, params={**spec.params(), "language": translation.get_language()})


def spec_of(job) -> ExportSpec:
    return ExportSpec.from_params(job.params)


def _run(job, progress) -> dict:
    from django.core.files.base import ContentFile

    spec = spec_of(job)
    user = job.created_by
    if not may_export(user, spec):  # lost the role since the job was queued
        raise PermissionDenied("may not see this report")
    with translation.override(job.params.get("language") or "es"):
        file = build(spec, user=user, progress=progress)
    job.output.save(file.filename, ContentFile(file.content), save=False)
    type(job).objects.filter(pk=job.pk).update(output=job.output.name, output_name=file.filename)
    if spec.report != "movements":
        progress(3, 3, force=True)
    return {
        "report": spec.report,
        "format": spec.fmt,
        "bytes": len(file.content),
        "rows": job.progress_total if spec.report == "movements" else None,
    }


def register() -> None:
    from cases import jobs

    jobs.register(JOB_KIND, _run)
