"""``GET /api/v1/reports/budget-execution/?fiscal_year=2020[&format=json|xlsx|pdf|csv]`` (API.md §Reports)
and ``GET /api/v1/reports/attainment/?fiscal_year=2026[&format=…]`` (goals and results, same rules).

Public (no sign-in) for closed fiscal years; the year in progress and later ones only for finance, the
director, internal control and administrators: anonymous callers get 401, other users 404 (a report
they may not see does not exist for them). ``?format=`` names the file type of this report, not one of
DRF's renderers: the view reads it itself (see ``ReportNegotiation``), so an unknown format is a 400
with a message, not DRF's bare 404.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.serializers import ErrorSerializer

from .exports import FORMATS, report_file
from .selectors import attainment, budget_execution, can_view_execution, clean_fiscal_year
from .serializers import (
    AttainmentSerializer,
    BeneficiariesSerializer,
    BudgetExecutionSerializer,
    attainment_document,
    report_document,
)

BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT, description='{"fiscal_year": ["message"]} or {"format": [...]}'
)
NOT_AUTHENTICATED = OpenApiResponse(ErrorSerializer, description="Year in progress: sign in as staff")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Year in progress: not visible to you")

MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "csv": "text/csv",
}


class ReportNegotiation(DefaultContentNegotiation):
    """JSON whatever ``?format=`` says: the view answers the other formats with files itself."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def clean_format(value) -> str:
    fmt = (value or "json").strip().lower()
    if fmt not in FORMATS:
        raise ValidationError(
            {
                "format": [
                    ValidationError(
                        _("Unknown format %(format)s: use one of %(formats)s.")
                        % {"format": value, "formats": ", ".join(FORMATS)},
                        code="invalid",
                    )
                ]
            }
        )
    return fmt


def report_schema(operation_id: str, summary: str, what: str, serializer, *, example_year: int):
    """The OpenAPI description every yearly report shares: its query, its formats, its access."""
    return extend_schema(
        operation_id=operation_id,
        summary=summary,
        description=what
        + "Closed fiscal years are public; the year in progress and later ones are for finance, the "
        "director, internal control and administrators (401 anonymous, 404 others). "
        "`?format=xlsx|pdf|csv` returns the same report as a file (attachment).",
        parameters=[
            OpenApiParameter(
                "fiscal_year", int, required=True, description=f"Fiscal year (gestión), e.g. {example_year}"
            ),
            OpenApiParameter(
                "format", str, enum=list(FORMATS), description="json (default), xlsx, pdf or csv (open data)"
            ),
        ],
        responses={
            (200, "application/json"): serializer,
            (200, MEDIA_TYPES["xlsx"]): OpenApiTypes.BINARY,
            (200, MEDIA_TYPES["pdf"]): OpenApiTypes.BINARY,
            (200, MEDIA_TYPES["csv"]): OpenApiTypes.STR,
            (400, "application/json"): BAD_REQUEST,
            (401, "application/json"): NOT_AUTHENTICATED,
            (404, "application/json"): NOT_FOUND,
        },
        tags=["reports"],
    )


class BudgetExecutionView(APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = ReportNegotiation

    @report_schema(
        "reports_budget_execution",
        "Budget execution by funding source and program (public for closed years)",
        "Budget in force, executed (devengado), balance and % executed of a fiscal year, by funding "
        "source and by program, with the total; computed from the budget lines and their ledger. ",
        BudgetExecutionSerializer,
        example_year=2020,
    )
    def get(self, request):
        fiscal_year, fmt = report_query(request)
        return report_response(budget_execution(fiscal_year), fmt, report_document)


def report_query(request) -> tuple[int, str]:
    """``fiscal_year`` and ``format`` of a report request, checked, and the access rule applied:
    400 on bad input, 401 anonymous / 404 others for a year the caller may not see."""
    errors = {}
    fiscal_year = fmt = None
    try:
        fiscal_year = clean_fiscal_year(request.query_params.get("fiscal_year"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        fmt = clean_format(request.query_params.get("format"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors or fiscal_year is None or fmt is None:  # both are set whenever nothing was wrong
        raise ValidationError(errors)
    if not can_view_execution(request.user, fiscal_year):
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        raise NotFound()
    return fiscal_year, fmt


def report_response(report, fmt: str, document):
    """The report as JSON (``document(report)``) or as a file attachment in ``fmt``."""
    if fmt == "json":
        return Response(document(report))
    file = report_file(report, fmt)
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = content_disposition_header(True, file.filename)
    return response


class AttainmentView(APIView):
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = ReportNegotiation

    @report_schema(
        "reports_attainment",
        "Goals and results per program (public for closed years)",
        "What the cases achieved in a fiscal year, per program and in total: initiatives submitted, "
        "approved, closed and rejected; transfers requested, delivered and closed; asset units "
        "delivered; money paid to beneficiaries; productive units registered, renewed and valid at "
        "year end — with the goal of the annual plan and the attainment (achieved / goal x 100) where "
        "a goal was set; and each program's goals of the annual operating plan (POA) with their "
        "target, result and percent (computed from the cases or entered with evidence). Counts and "
        "amounts only, no personal data. ",
        AttainmentSerializer,
        example_year=2026,
    )
    def get(self, request):
        fiscal_year, fmt = report_query(request)
        return report_response(attainment(fiscal_year), fmt, attainment_document)


class BeneficiariesView(APIView):
    """``GET /api/v1/reports/beneficiaries/?fiscal_year=&by=department|municipality|dairy_basin|sector
    &program=[&format=json|csv|xlsx]`` (``reports.beneficiaries``): same access as the other reports."""

    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = ReportNegotiation

    @extend_schema(
        operation_id="reports_beneficiaries",
        summary="Beneficiaries reached by department, municipality, dairy basin or sector",
        description="The people (women and men) reached in a fiscal year by the cases whose money or "
        "assets got to them in it (a tranche paid, a payment, a delivery), grouped by place, with the "
        "cases counted and the money paid. Closed fiscal years are public; the year in progress and "
        "later ones are for finance, the director, internal control and administrators (401 "
        "anonymous, 404 others). `?format=csv|xlsx` returns the same report as a file.",
        parameters=[
            OpenApiParameter("fiscal_year", int, required=True, description="Fiscal year, e.g. 2026"),
            OpenApiParameter("by", str, enum=["department", "municipality", "dairy_basin", "sector"]),
            OpenApiParameter("program", str, description="Program code (e.g. PROLECHE); empty: all"),
            OpenApiParameter("format", str, enum=["json", "csv", "xlsx"]),
        ],
        responses={
            (200, "application/json"): BeneficiariesSerializer,
            (200, MEDIA_TYPES["xlsx"]): OpenApiTypes.BINARY,
            (200, MEDIA_TYPES["csv"]): OpenApiTypes.STR,
            (400, "application/json"): BAD_REQUEST,
            (401, "application/json"): NOT_AUTHENTICATED,
            (404, "application/json"): NOT_FOUND,
        },
        tags=["reports"],
    )
    def get(self, request):
        from .beneficiaries import beneficiaries, clean_breakdown, clean_program
        from .exports import BENEFICIARIES_FORMATS, beneficiaries_document, beneficiaries_file

        errors: dict = {}
        values: dict = {}
        raw_format = request.query_params.get("format")
        for name, clean in (
            ("fiscal_year", clean_fiscal_year),
            ("by", clean_breakdown),
            ("program", clean_program),
        ):
            try:
                values[name] = clean(request.query_params.get(name))
            except ValidationError as exc:
                errors.update(exc.message_dict)
        fmt = (raw_format or "json").strip().lower()
        if fmt not in BENEFICIARIES_FORMATS:
            errors["format"] = [
                _("Unknown format %(format)s: use one of %(formats)s.")
                % {"format": raw_format, "formats": ", ".join(BENEFICIARIES_FORMATS)}
            ]
        if errors:
            raise ValidationError(errors)
        if not can_view_execution(request.user, values["fiscal_year"]):
            if not request.user.is_authenticated:
                raise NotAuthenticated()
            raise NotFound()
        report = beneficiaries(values["fiscal_year"], by=values["by"], program=values["program"])
        if fmt == "json":
            return Response(beneficiaries_document(report))
        file = beneficiaries_file(report, fmt)
        response = HttpResponse(file.content, content_type=file.content_type)
        response["Content-Disposition"] = content_disposition_header(True, file.filename)
        return response
