"""The public transparency pages: ``/reports/``, budget execution by funding source and by program,
and ``/reports/metas/``, goals and results per program, each with its downloads (XLSX, PDF, CSV, JSON)
and, for staff, what is behind every figure (ledger movements; cases). Spanish first. No personal
data on the public pages: codes, names of programs and sources, counts and amounts only.

Access: closed fiscal years are public. The year in progress (and later ones) and the drill-down are
for finance, the director, internal control and administrators; anonymous visitors are sent to the
login page, any other user gets 404 (as the rest of the site does for what it may not see).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from audit.selectors import can_view_trail
from cases import charts, kinds

from . import export_jobs
from .export_jobs import ExportSpec
from .exports import (
    FORMATS,
    attainment_method_text,
    attainment_summary,
    attainment_title,
    generated_at_text,
    report_title,
    summary_text,
)
from .goals_views import may_plan
from .models import Indicator
from .selectors import (
    EXECUTED_SIGN,
    ProgramAttainment,
    attainment,
    attainment_cases,
    attainment_data_years,
    attainment_years_for,
    budget_execution,
    can_drill_down,
    can_view_execution,
    clean_fiscal_year,
    current_fiscal_year,
    default_year_for,
    executed_total,
    execution_movements,
    is_drillable,
    report_years_for,
)

MOVEMENTS_PER_PAGE = 100

# Figures whose case lines each count several (``CaseLine.count``), and what they count.
COUNTED_LINES: dict[str, Any] = {
    Indicator.ASSETS_DELIVERED: gettext_lazy("Units"),
    Indicator.BENEFICIARIES: gettext_lazy("People"),
    Indicator.BENEFICIARIES_WOMEN: gettext_lazy("Women"),
    Indicator.BENEFICIARIES_MEN: gettext_lazy("Men"),
}

# The web page of each kind of case, by content type (app label, model); a kind without a page yet
# (or whose URL does not resolve) is shown without a link.


class _LoginRequired(Exception):
    pass


def _require_visible(request, fiscal_year: int) -> None:
    if not can_view_execution(request.user, fiscal_year):
        if not request.user.is_authenticated:
            raise _LoginRequired
        raise Http404


@require_safe
def budget_execution_page(request):
    years = report_years_for(request.user)
    raw = request.GET.get("fiscal_year", "").strip()
    try:
        fiscal_year = clean_fiscal_year(raw) if raw else default_year_for(request.user, years)
    except ValidationError as exc:
        context = {
            "years": years,
            "fiscal_year": None,
            "current_year": current_fiscal_year(),
            "error": exc.message_dict["fiscal_year"][0],
        }
        return render(request, "reports/budget_execution.html", context, status=400)
    try:
        _require_visible(request, fiscal_year)
    except _LoginRequired:
        return redirect_to_login(request.get_full_path())
    if fiscal_year not in years:
        years = sorted([*years, fiscal_year], reverse=True)
    report = budget_execution(fiscal_year)
    context = {
        "years": years,
        "fiscal_year": fiscal_year,
        "report": report,
        "charts": {
            key: charts.compare((r.code, r.name, r.in_force, r.executed) for r in getattr(report, key))
            for key in ("by_source", "by_program")
        },
        "title": report_title(report),
        "summary": summary_text(report),
        "generated_at": generated_at_text(report),
        "current_year": current_fiscal_year(),
        "can_drill_down": can_drill_down(request.user),
        "tab": "execution",
        "downloads": _downloads(request.user, "budget", fiscal_year),
    }
    context["downloads_in_background"] = any(d["params"] for d in context["downloads"])
    return render(request, "reports/budget_execution.html", context)


FILE_URLS = {"budget": "reports:budget-execution-file", "attainment": "reports:attainment-file"}
PAGE_URLS = {"budget": "reports:budget-execution", "attainment": "reports:attainment"}
JSON_URLS = {"budget": "api-budget-execution", "attainment": "api-attainment"}


def _download(label: str, url: str, spec: ExportSpec | None = None) -> dict:
    """One download of a report page: a link, or (``spec``: a file made by a job) a form that starts
    the job (``report_export_job``), its fields in ``params``."""
    return {"label": label, "url": url, "params": spec.params() if spec is not None else None}


def _downloads(user, report: str, fiscal_year: int) -> list[dict]:
    """XLSX, PDF, CSV (each a link, or a job past the bound) and JSON (the API, always a link)."""
    out = []
    for fmt in ("xlsx", "pdf", "csv"):
        spec = ExportSpec(report, fiscal_year, fmt)
        if export_jobs.needs_job(spec, user):
            out.append(_download(fmt.upper(), reverse("reports:export-job"), spec))
        else:
            out.append(_download(fmt.upper(), reverse(FILE_URLS[report], args=[fiscal_year, fmt])))
    return [*out, _download("JSON", reverse(JSON_URLS[report]) + f"?fiscal_year={fiscal_year}")]


def _file_response(file) -> HttpResponse:
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = content_disposition_header(True, file.filename)
    return response


def _too_large(request, back: str) -> HttpResponseRedirect:
    messages.error(request, _("This file is large: it is made in the background. Use the button below."))
    return HttpResponseRedirect(back)


def _report_file(request, report: str, fiscal_year: str, fmt: str):
    """A public report's file in the request; past the bound (``export_jobs.needs_job``), back to the
    report's page, which offers to make it in the background."""
    if fmt not in FORMATS:
        raise Http404
    year = int(fiscal_year)
    try:
        clean_fiscal_year(year)
        _require_visible(request, year)
    except ValidationError as exc:
        raise Http404 from exc
    except _LoginRequired:
        return redirect_to_login(request.get_full_path())
    spec = ExportSpec(report, year, fmt)
    if export_jobs.needs_job(spec, request.user):
        return _too_large(request, reverse(PAGE_URLS[report]) + f"?fiscal_year={year}")
    return _file_response(export_jobs.build(spec))


@require_safe
def budget_execution_file(request, fiscal_year: str, fmt: str):
    return _report_file(request, "budget", fiscal_year, fmt)


@require_POST
def report_export_job(request):
    """Start a report's file as a job (``reports.export_jobs``); its page (``/jobs/<id>/``) shows the
    progress and gives the file. The fields name the file (``report``, ``fiscal_year``, ``fmt`` and,
    for a drill-down, ``dimension``, ``code``, ``subprogram``). Signed-in people who may see the report
    only (anonymous: the login page; others: 404, as the report itself)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.META.get("HTTP_REFERER") or reverse("reports:budget-execution"))
    try:
        spec = ExportSpec.from_params(request.POST.dict())
    except ValidationError as exc:  # not from our forms: say what was wrong, start nothing
        for field, errors in exc.message_dict.items():
            messages.error(request, f"{field}: {' '.join(errors)}")
        return redirect("reports:budget-execution")
    try:
        job = export_jobs.start(spec, actor=request.user)
    except PermissionDenied as exc:
        raise Http404 from exc
    return redirect("job-detail", pk=job.pk)


def _movement_spec(dimension: str, year: int, code: str, subprogram: str | None, fmt: str) -> ExportSpec:
    return ExportSpec("movements", year, fmt, dimension, code, subprogram or "")


@require_safe
def execution_movements_file(request, fiscal_year: str, fmt: str):
    """The movements of a drill-down (``?dimension=program|source&code=…[&subprogram=…]``) as CSV or
    XLSX, within the reader's scopes; past ``export_jobs.INLINE_MAX_ROWS`` rows, back to the page,
    which offers a job."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_drill_down(request.user):
        raise Http404
    try:
        spec = ExportSpec.from_params(
            {**request.GET.dict(), "report": "movements", "fiscal_year": fiscal_year, "fmt": fmt}
        )
    except ValidationError as exc:
        raise Http404 from exc
    if export_jobs.needs_job(spec, request.user):
        return _too_large(request, _movements_page_url(spec))
    return _file_response(export_jobs.build(spec, user=request.user, limit=export_jobs.INLINE_MAX_ROWS))


def _movements_page_url(spec: ExportSpec) -> str:
    if spec.subprogram:
        return reverse(
            "reports:execution-movements-subprogram", args=[spec.fiscal_year, spec.code, spec.subprogram]
        )
    return reverse("reports:execution-movements", args=[spec.fiscal_year, spec.dimension, spec.code])


def _movement_downloads(user, spec_of_page: ExportSpec, count: int) -> list[dict]:
    out = []
    for fmt in export_jobs.MOVEMENT_FORMATS:
        spec = _movement_spec(
            spec_of_page.dimension, spec_of_page.fiscal_year, spec_of_page.code, spec_of_page.subprogram, fmt
        )
        if count > export_jobs.INLINE_MAX_ROWS:
            out.append(_download(fmt.upper(), reverse("reports:export-job"), spec))
        else:
            query = urlencode({"dimension": spec.dimension, "code": spec.code, "subprogram": spec.subprogram})
            out.append(
                _download(
                    fmt.upper(), reverse("reports:movements-file", args=[spec.fiscal_year, fmt]) + "?" + query
                )
            )
    return out


def case_url(movement) -> str | None:
    if movement.case_type_id is None or movement.case_id is None:
        return None
    kind = kinds.for_label(f"{movement.case_type.app_label}.{movement.case_type.model}")
    return kind.detail_url(movement.case_id) if kind is not None else None


def trail_url(movement) -> str | None:
    if not movement.case_code:
        return None
    try:
        return reverse("audit:case", args=[movement.case_code])
    except NoReverseMatch:
        return None


@require_safe
def execution_movements_page(
    request, fiscal_year: str, dimension: str, code: str, subprogram: str | None = None
):
    """The ledger movements behind the executed figure of one program (or one of its sub-programs)
    or funding source."""
    year = int(fiscal_year)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_drill_down(request.user):
        raise Http404
    report = budget_execution(year, check_ledger=False)  # the rows only: this page shows no verdict
    rows = report.by_program if dimension == "program" else report.by_source
    row = next((r for r in rows if r.code == code), None)
    program_row = None
    if row is not None and subprogram is not None:
        program_row = row
        row = next((r for r in row.subprograms if r.code and r.code == subprogram), None)
    if row is None:
        raise Http404
    movements = execution_movements(request.user, year, subprogram=subprogram, **{dimension: code})
    page = Paginator(movements, MOVEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    show_trail = can_view_trail(request.user)
    downloads = _movement_downloads(
        request.user, _movement_spec(dimension, year, code, subprogram, "csv"), page.paginator.count
    )
    lines = [
        {
            "movement": m,
            "signed_amount": EXECUTED_SIGN[m.kind] * m.amount,
            "case_url": case_url(m),
            "trail_url": trail_url(m) if show_trail else None,
        }
        for m in page.object_list
    ]
    return render(
        request,
        "reports/execution_movements.html",
        {
            "report": report,
            "title": report_title(report),
            "fiscal_year": year,
            "dimension": dimension,
            "row": row,
            "program_row": program_row,
            "page": page,
            "lines": lines,
            "movements_total": executed_total(movements),
            "downloads": downloads,
            "downloads_in_background": any(d["params"] for d in downloads),
        },
    )


# --- Goals and results (metas y resultados) ---------------------------------------------------------------


@require_safe
def attainment_page(request):
    """Goals and results of a fiscal year: per program and in total, with the goals where set."""
    years = attainment_years_for(request.user)
    raw = request.GET.get("fiscal_year", "").strip()
    context = {"years": years, "current_year": current_fiscal_year(), "tab": "attainment"}
    try:
        fiscal_year = (
            clean_fiscal_year(raw) if raw else default_year_for(request.user, years, attainment_data_years())
        )
    except ValidationError as exc:
        context.update(fiscal_year=None, error=exc.message_dict["fiscal_year"][0])
        return render(request, "reports/attainment.html", context, status=400)
    try:
        _require_visible(request, fiscal_year)
    except _LoginRequired:
        return redirect_to_login(request.get_full_path())
    if fiscal_year not in years:
        context["years"] = sorted([*years, fiscal_year], reverse=True)
    report = attainment(fiscal_year)
    context.update(
        fiscal_year=fiscal_year,
        report=report,
        title=attainment_title(report),
        summary=attainment_summary(report),
        method=attainment_method_text(),
        generated_at=generated_at_text(report),
        can_drill_down=can_drill_down(request.user),
        can_plan=request.user.is_authenticated and may_plan(request.user),
        downloads=_downloads(request.user, "attainment", fiscal_year),
        cards=[
            report.total.row(indicator)
            for indicator in (
                Indicator.INITIATIVES_CLOSED,
                Indicator.TRANSFERS_DELIVERED,
                Indicator.UNITS_REGISTERED,
                Indicator.AMOUNT_PAID,
            )
        ],
    )
    context["downloads_in_background"] = any(d["params"] for d in context["downloads"])
    return render(request, "reports/attainment.html", context)


@require_safe
def attainment_file(request, fiscal_year: str, fmt: str):
    return _report_file(request, "attainment", fiscal_year, fmt)


@require_safe
def attainment_cases_page(request, fiscal_year: str, scope: str, indicator: str):
    """Staff: the cases behind one figure of the goals report (``scope`` = program code or ``total``),
    each linking to its page and, for internal control and administrators, to its audit trail."""
    year = int(fiscal_year)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_drill_down(request.user) or not is_drillable(indicator):
        raise Http404
    report = attainment(year)
    group: ProgramAttainment | None
    if scope == "total":
        group, program = report.total, None
    else:
        group = next((g for g in report.by_program if g.code == scope), None)
        if group is None:
            raise Http404
        program = scope
    row = group.row(indicator)
    lines = attainment_cases(request.user, year, indicator, program)
    page = Paginator(lines, MOVEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    show_trail = can_view_trail(request.user)
    rows = []
    for line in page.object_list:
        url = kinds.get(line.kind).detail_url(line.case_id)
        trail = None
        if show_trail:
            try:
                trail = reverse("audit:case", args=[line.code])
            except NoReverseMatch:
                trail = None
        rows.append({"line": line, "case_url": url, "trail_url": trail})
    lines_total: Decimal | int
    if row.is_money:
        lines_total = sum((line.amount for line in lines), Decimal("0.00"))
    elif indicator in COUNTED_LINES:
        lines_total = sum(line.count for line in lines)
    else:
        lines_total = len(lines)
    return render(
        request,
        "reports/attainment_cases.html",
        {
            "report": report,
            "title": attainment_title(report),
            "fiscal_year": year,
            "group": group,
            "row": row,
            "page": page,
            "rows": rows,
            "lines_total": lines_total,
            "is_assets": indicator in COUNTED_LINES,
            "count_label": COUNTED_LINES.get(indicator, ""),
        },
    )


# --- Beneficiaries reached, by place (``reports.beneficiaries``) -------------------------------------------


def _beneficiaries_query(request) -> tuple[dict, dict]:
    """``fiscal_year``, ``by`` and ``program`` of the page's query, checked: (values, errors)."""
    from .beneficiaries import clean_breakdown, clean_program

    values: dict = {}
    errors: dict = {}
    raw = request.GET.get("fiscal_year", "").strip()
    checks = (
        ("fiscal_year", lambda v: clean_fiscal_year(v) if v else None),
        ("by", clean_breakdown),
        ("program", clean_program),
    )
    for name, clean in checks:
        try:
            values[name] = clean(raw if name == "fiscal_year" else request.GET.get(name))
        except ValidationError as exc:
            errors[name] = exc.message_dict[name][0]
    return values, errors


@require_safe
def beneficiaries_page(request):
    """The people reached in a fiscal year by department, municipality, dairy basin or sector, with
    the cases and the money paid; staff follow each group to its cases."""
    from budget.models import Program

    from .beneficiaries import BREAKDOWNS, beneficiaries, breakdown_label
    from .exports import beneficiaries_title

    years = attainment_years_for(request.user)
    values, errors = _beneficiaries_query(request)
    context = {
        "years": years,
        "current_year": current_fiscal_year(),
        "tab": "beneficiaries",
        "breakdowns": [(b, breakdown_label(b)) for b in BREAKDOWNS],
        "programs": list(Program.objects.order_by("code").values_list("code", "name")),
        "by": values.get("by") or "department",
        "program": values.get("program"),
    }
    if errors:
        context.update(fiscal_year=None, error=next(iter(errors.values())))
        return render(request, "reports/beneficiaries.html", context, status=400)
    fiscal_year = values["fiscal_year"] or default_year_for(request.user, years, attainment_data_years())
    try:
        _require_visible(request, fiscal_year)
    except _LoginRequired:
        return redirect_to_login(request.get_full_path())
    if fiscal_year not in years:
        context["years"] = sorted([*years, fiscal_year], reverse=True)
    report = beneficiaries(fiscal_year, by=context["by"], program=context["program"])
    query = f"?fiscal_year={fiscal_year}&by={report.by}" + (
        f"&program={report.program}" if report.program else ""
    )
    context.update(
        fiscal_year=fiscal_year,
        report=report,
        title=beneficiaries_title(report),
        generated_at=generated_at_text(report),
        can_drill_down=can_drill_down(request.user),
        cases_url=reverse("reports:beneficiary-cases") + query,
        downloads=[
            (fmt.upper(), reverse("api-beneficiaries") + query + f"&format={fmt}") for fmt in ("xlsx", "csv")
        ]
        + [("JSON", reverse("api-beneficiaries") + query)],
    )
    return render(request, "reports/beneficiaries.html", context)


@require_safe
def beneficiary_cases_page(request):
    """Staff (finance, the director, internal control, administrators): the cases behind one group
    of the beneficiaries report (``?key=``; absent: every group), within their program scopes."""
    from .beneficiaries import beneficiaries, beneficiary_cases
    from .exports import beneficiaries_title

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not can_drill_down(request.user):
        raise Http404
    values, errors = _beneficiaries_query(request)
    if errors or values["fiscal_year"] is None:
        raise Http404
    year = values["fiscal_year"]
    key = request.GET.get("key")
    report = beneficiaries(year, by=values["by"], program=values["program"])
    group = report.total if key is None else next((g for g in report.groups if g.key == key), None)
    if group is None:
        raise Http404
    lines = beneficiary_cases(request.user, year, by=report.by, key=key, program=report.program)
    page = Paginator(lines, MOVEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    show_trail = can_view_trail(request.user)
    rows = []
    for line in page.object_list:
        trail = None
        if show_trail:
            try:
                trail = reverse("audit:case", args=[line.code])
            except NoReverseMatch:
                trail = None
        rows.append(
            {"line": line, "case_url": kinds.get(line.kind).detail_url(line.case_id), "trail_url": trail}
        )
    sums = (len(lines), sum(r.women for r in lines), sum(r.men for r in lines))
    return render(
        request,
        "reports/beneficiary_cases.html",
        {
            "report": report,
            "title": beneficiaries_title(report),
            "fiscal_year": year,
            "group": group,
            "page": page,
            "rows": rows,
            "reconciled": sums == (group.cases, group.women, group.men),
            "back": reverse("reports:beneficiaries")
            + f"?fiscal_year={year}&by={report.by}"
            + (f"&program={report.program}" if report.program else ""),
        },
    )


# --- the audit trail's signed checkpoints (public) -----------------------------------------------------

CHECKPOINTS_SHOWN = 50


def _checkpoint_keys() -> dict[str, str]:
    """``{key_id: public key PEM}``: the keys the agency trusts (``AUDIT_PUBLIC_KEYS`` and the signing
    key's public half) and those the published checkpoints carry."""
    from audit import keys as audit_keys
    from audit.models import Checkpoint
    from audit.verifier import load_public_key, public_key_pem

    found = {key_id: public_key_pem(key) for key_id, key in audit_keys.trusted_public_keys().items()}
    for key_id, raw in Checkpoint.objects.order_by("key_id").values_list("key_id", "public_key").distinct():
        if key_id not in found:
            try:
                found[key_id] = public_key_pem(load_public_key(raw.encode("ascii")))
            except ValueError:
                continue
    return found


def _signed_json(document: dict) -> str:
    """The canonical JSON an Ed25519 checkpoint signature covers (after its one-line preamble)."""
    from audit.verifier import CHECKPOINT_PREAMBLE, checkpoint_message

    return checkpoint_message(document)[len(CHECKPOINT_PREAMBLE) :].decode("utf-8")


@require_safe
def checkpoints_page(request):
    """The signed checkpoints of the audit trail, the public keys, how to verify a signature with
    ``openssl`` and the stand-alone verifier: anyone may keep copies and check them later."""
    from audit.checkpoints import checkpoint_document
    from audit.selectors import checkpoint_list
    from audit.verifier import CHECKPOINT_PREAMBLE

    rows = list(checkpoint_list()[:CHECKPOINTS_SHOWN])
    checkpoints = [{**checkpoint_document(cp), "signed_json": ""} for cp in rows]
    for document in checkpoints:
        document["signed_json"] = _signed_json(document)
        # Inside single quotes in a shell command: a quote closes, is escaped and reopens.
        document["shell_json"] = document["signed_json"].replace("'", "'\\''")
    context = {
        "tab": "checkpoints",
        "checkpoints": checkpoints,
        "total": checkpoint_list().count(),
        "shown": CHECKPOINTS_SHOWN,
        "newest": checkpoints[0] if checkpoints else None,
        "keys": sorted(_checkpoint_keys().items()),
        "preamble": CHECKPOINT_PREAMBLE.decode("ascii").rstrip("\n"),
        "api_url": request.build_absolute_uri(reverse("audit-checkpoints")),
        "site_url": request.build_absolute_uri("/").rstrip("/"),
    }
    return render(request, "reports/checkpoints.html", context)


@require_safe
def checkpoint_key(request, key_id: str):
    """One public key, as a PEM file to download."""
    pem = _checkpoint_keys().get(key_id)
    if pem is None:
        raise Http404
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = content_disposition_header(True, f"expediente-audit-{key_id}.pem")
    return response


@require_safe
def verifier_file(request):
    """The stand-alone verifier (``audit/verifier.py``: one file, the standard library plus
    ``cryptography``), as served by this very installation."""
    from pathlib import Path

    import audit.verifier

    source = Path(audit.verifier.__file__).read_bytes()
    response = HttpResponse(source, content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, "verifier.py")
    return response
