"""The goals of the annual operating plan (POA), API.md §Goals:

- ``POST /api/v1/goals/`` (administrators; a program's managers for that program) → 201;
- ``GET /api/v1/goals/?fiscal_year=2020``: the goals of the year with their result and attainment;
- ``POST /api/v1/goals/{id}/progress/`` ``{"value", "date", "note"}`` (+ optional ``evidence`` file,
  multipart) for goals entered by hand; a goal computed from the case data answers 400.

Who sees the goals of a year: as the attainment report (closed years public; the year in progress for
finance, the director, internal control and administrators), and program managers their programs'.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated, NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from budget.models import Program
from budget.selectors import managed_program_ids
from cases import documents
from cases.permissions import allowed
from cases.serializers import ErrorSerializer

from . import services
from .models import Goal, ProgressEntry
from .selectors import GoalRow, attainment, can_view_execution, clean_fiscal_year, metric_choices
from .serializers import GoalResultSerializer, goal_figure

BAD_REQUEST = OpenApiResponse(OpenApiTypes.OBJECT, description='{"field": ["message"]}')
DENIED = OpenApiResponse(ErrorSerializer, description="Not an administrator or a manager of the program")
NOT_AUTHENTICATED = OpenApiResponse(ErrorSerializer, description="Sign in")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not found (or not visible to you)")


class EvidenceSerializer(serializers.Serializer):
    name = serializers.CharField(source="original_name", read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    sha256 = serializers.CharField(read_only=True)


class ProgressEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    value = serializers.SerializerMethodField()
    date = serializers.DateField(read_only=True)
    note = serializers.CharField(read_only=True)
    recorded_at = serializers.DateTimeField(read_only=True)
    evidence = serializers.SerializerMethodField()

    def get_value(self, entry) -> str:
        return goal_figure(entry.value) or "0"

    @extend_schema_field(EvidenceSerializer(allow_null=True))
    def get_evidence(self, entry) -> dict | None:
        evidence = getattr(entry, "evidence", None)
        return None if evidence is None else dict(EvidenceSerializer(evidence).data)


class GoalSerializer(GoalResultSerializer):
    fiscal_year = serializers.SerializerMethodField()
    program = serializers.SerializerMethodField(help_text="Program code; null: the whole agency")
    description = serializers.CharField(read_only=True)
    progress = serializers.SerializerMethodField()

    def get_fiscal_year(self, row) -> int:
        return self.context["fiscal_year"]

    def get_program(self, row) -> str | None:
        return row.program or None

    @extend_schema_field(ProgressEntrySerializer(many=True))
    def get_progress(self, row) -> list[dict]:
        entries = self.context.get("entries", {}).get(row.id, [])
        return [dict(ProgressEntrySerializer(entry).data) for entry in entries]


class GoalCreateSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField()
    program = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Program.objects.all(),
        allow_null=True,
        help_text="Program code; null: the agency",
    )
    indicator = serializers.CharField(max_length=300, help_text="The goal as the annual plan words it")
    unit = serializers.CharField(
        max_length=60, help_text="unidades productivas, servicios, %, Bs, beneficiarios…"
    )
    target = serializers.DecimalField(max_digits=16, decimal_places=2)
    baseline = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True, required=False)
    computed_from = serializers.ChoiceField(
        choices=(),
        allow_null=True,
        required=False,
        help_text="A figure of the case data; null: entered by hand",
    )
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["computed_from"].choices = metric_choices()


class ProgressCreateSerializer(serializers.Serializer):
    value = serializers.DecimalField(max_digits=16, decimal_places=2)
    date = serializers.DateField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True)
    evidence = serializers.FileField(required=False, help_text="PDF, JPEG or PNG (multipart)")


def goal_document(user, fiscal_year: int, program_ids: set[int] | None = None) -> list[dict]:
    """The goals of ``fiscal_year`` with their results and progress entries (of ``program_ids`` only
    when given)."""
    report = attainment(fiscal_year)
    rows: list[GoalRow] = [g for group in (*report.by_program, report.total) for g in group.goals]
    if program_ids is not None:
        codes = set(Program.objects.filter(pk__in=program_ids).values_list("code", flat=True))
        rows = [g for g in rows if g.program in codes]
    entries: dict[int, list[ProgressEntry]] = {}
    for entry in (
        ProgressEntry.objects.filter(goal_id__in=[g.id for g in rows if not g.is_computed])
        .select_related("evidence")
        .order_by("date", "pk")
    ):
        entries.setdefault(entry.goal_id, []).append(entry)
    context = {"fiscal_year": fiscal_year, "entries": entries}
    return [dict(GoalSerializer(row, context=context).data) for row in rows]


class GoalListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="goals_list",
        summary="The goals of the annual plan (POA) of a fiscal year, with their attainment",
        description="Closed fiscal years are public; the year in progress for finance, the director, "
        "internal control and administrators, and for program managers their programs' goals "
        "(401 anonymous, 404 others).",
        parameters=[
            OpenApiParameter("fiscal_year", int, required=True, description="Fiscal year, e.g. 2020")
        ],
        responses={200: GoalSerializer(many=True), 400: BAD_REQUEST, 401: NOT_AUTHENTICATED, 404: NOT_FOUND},
        tags=["goals"],
    )
    def get(self, request):
        fiscal_year = clean_fiscal_year(request.query_params.get("fiscal_year"))
        if can_view_execution(request.user, fiscal_year):
            return Response(goal_document(request.user, fiscal_year))
        managed = managed_program_ids(request.user)
        if managed:
            return Response(goal_document(request.user, fiscal_year, managed))
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        raise NotFound()

    @extend_schema(
        operation_id="goals_create",
        summary="Set a goal of the annual plan (administrators; managers of the program)",
        request=GoalCreateSerializer,
        responses={201: GoalSerializer, 400: BAD_REQUEST, 401: NOT_AUTHENTICATED, 403: DENIED},
        tags=["goals"],
    )
    def post(self, request):
        if not request.user.is_authenticated:
            raise NotAuthenticated()
        serializer = GoalCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        goal = services.save_goal(
            actor=request.user,
            fiscal_year=data["fiscal_year"],
            program=data["program"],
            indicator=data["indicator"],
            unit=data["unit"],
            target=data["target"],
            baseline=data.get("baseline"),
            computed_from=data.get("computed_from") or "",
            description=data.get("description", ""),
        )
        return Response(_one(request.user, goal), status=status.HTTP_201_CREATED)


def _one(user, goal: Goal) -> dict:
    document = goal_document(user, goal.fiscal_year)
    return next(item for item in document if item["id"] == goal.pk)


def visible_goal(user, goal_id) -> Goal:
    """The goal, if ``user`` may see it (its year's report, or a manager of its program); else 404."""
    goal = get_object_or_404(Goal.objects.select_related("program"), pk=goal_id)
    if can_view_execution(user, goal.fiscal_year) or allowed(user, "reports.manage_goals", goal.program):
        return goal
    raise NotFound()


class GoalProgressView(APIView):
    """Default parsers: JSON, form and multipart (the evidence file)."""

    @extend_schema(
        operation_id="goals_progress_create",
        summary="Record progress of a goal entered by hand, with its evidence (administrators; managers)",
        description="JSON, or multipart with an `evidence` file (PDF, JPEG or PNG; its SHA-256 is kept). "
        "A goal computed from the case data answers 400.",
        request={
            "application/json": ProgressCreateSerializer,
            "multipart/form-data": ProgressCreateSerializer,
        },
        responses={
            201: GoalSerializer,
            400: BAD_REQUEST,
            401: NOT_AUTHENTICATED,
            403: DENIED,
            404: NOT_FOUND,
        },
        tags=["goals"],
    )
    def post(self, request, pk: int):
        goal = visible_goal(request.user, pk)
        serializer = ProgressCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = documents.read_upload(data["evidence"]) if data.get("evidence") is not None else None
        services.record_progress(
            goal.pk,
            actor=request.user,
            value=data["value"],
            date=data["date"],
            note=data.get("note", ""),
            evidence=upload,
        )
        return Response(_one(request.user, goal), status=status.HTTP_201_CREATED)
