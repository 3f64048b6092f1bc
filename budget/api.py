"""API of the budget: programs, funding sources, budget lines and operating expenditures."""

from collections.abc import Callable
from typing import ClassVar

from django import forms
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cases.api import NotFoundUnlessVisible
from cases.serializers import ErrorSerializer

from . import services
from .models import BudgetLine, FundingSource, Program
from .selectors import line_list_for, movement_list, program_list, source_list
from .serializers import (
    BudgetLineCreateSerializer,
    BudgetLineSerializer,
    ExpenditureResultSerializer,
    ExpenditureSerializer,
    FundingSourceSerializer,
    MovementSerializer,
    ProgramSerializer,
    SubProgramSerializer,
)

BAD_REQUEST = OpenApiResponse(OpenApiTypes.OBJECT, description='{"field": ["message"]} or {"detail"}')
DENIED = OpenApiResponse(ErrorSerializer, description="Not allowed")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not found (or not visible to you)")


class IntegerFilter(filters.Filter):
    field_class = forms.IntegerField


class BudgetLineFilter(filters.FilterSet):
    fiscal_year = IntegerFilter(field_name="fiscal_year", help_text="Fiscal year (gestión), e.g. 2026")
    program = filters.CharFilter(field_name="program__code", help_text="Program code, e.g. PROLECHE")
    source = filters.CharFilter(field_name="source__code", help_text="Funding source code, e.g. 10")
    subprogram = filters.CharFilter(
        field_name="subprogram__code", help_text="Sub-program or project code, e.g. JIWASA"
    )
    object_of_expenditure = filters.CharFilter(
        field_name="object_of_expenditure", help_text="Objeto del gasto (partida), e.g. 25220"
    )

    class Meta:
        model = BudgetLine
        fields = ["fiscal_year", "program", "source", "subprogram", "object_of_expenditure"]


class _CodeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_-]+"
    create_service: ClassVar[Callable[..., Program | FundingSource]]  # set by each subclass

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        obj = type(self).create_service(actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Programs", tags=["budget"]),
    retrieve=extend_schema(
        summary="One program", responses={200: ProgramSerializer, 404: NOT_FOUND}, tags=["budget"]
    ),
    create=extend_schema(
        summary="Create a program (finance, admin)",
        responses={201: ProgramSerializer, 400: BAD_REQUEST, 403: DENIED},
        tags=["budget"],
    ),
)
class ProgramViewSet(_CodeViewSet):
    serializer_class = ProgramSerializer
    create_service = staticmethod(services.create_program)

    def get_queryset(self):
        return program_list().prefetch_related("subprograms__program")

    @extend_schema(
        summary="Add a sub-program or project to the program (finance, admin)",
        request=SubProgramSerializer,
        responses={201: SubProgramSerializer, 400: BAD_REQUEST, 403: DENIED, 404: NOT_FOUND},
        tags=["budget"],
    )
    @action(detail=True, methods=["post"], url_path="subprograms")
    def subprograms(self, request, code=None):
        program = self.get_object()
        serializer = SubProgramSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subprogram = services.create_subprogram(
            actor=request.user, program=program, **serializer.validated_data
        )
        return Response(SubProgramSerializer(subprogram).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(summary="Funding sources", tags=["budget"]),
    retrieve=extend_schema(
        summary="One funding source",
        responses={200: FundingSourceSerializer, 404: NOT_FOUND},
        tags=["budget"],
    ),
    create=extend_schema(
        summary="Create a funding source (finance, admin)",
        responses={201: FundingSourceSerializer, 400: BAD_REQUEST, 403: DENIED},
        tags=["budget"],
    ),
)
class FundingSourceViewSet(_CodeViewSet):
    serializer_class = FundingSourceSerializer
    create_service = staticmethod(services.create_source)

    def get_queryset(self):
        return source_list()


@extend_schema_view(
    list=extend_schema(summary="Budget lines you may see", tags=["budget"]),
    retrieve=extend_schema(
        summary="One budget line", responses={200: BudgetLineSerializer, 404: NOT_FOUND}, tags=["budget"]
    ),
)
class BudgetLineViewSet(
    NotFoundUnlessVisible, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Staff see the lines of their programs (applicants none); finance and administrators open lines."""

    serializer_class = BudgetLineSerializer
    # No resource-wide 403: the queryset is empty for applicants, so a line they may not see is a
    # 404 and their list is empty (API.md: "an object it may not see answers 404, not 403").
    filter_backends = [filters.DjangoFilterBackend]
    filterset_class = BudgetLineFilter

    def get_queryset(self):
        return line_list_for(self.request.user)

    @extend_schema(
        summary="Open a budget line (finance, admin)",
        request=BudgetLineCreateSerializer,
        responses={201: BudgetLineSerializer, 400: BAD_REQUEST, 403: DENIED},
        tags=["budget"],
    )
    def create(self, request):
        serializer = BudgetLineCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        line = services.create_budget_line(actor=request.user, **serializer.validated_data)
        return Response(BudgetLineSerializer(line).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Record an operating expenditure on the line (finance)",
        request=ExpenditureSerializer,
        responses={201: ExpenditureResultSerializer, 400: BAD_REQUEST, 403: DENIED, 404: NOT_FOUND},
        tags=["budget"],
    )
    @action(detail=True, methods=["post"], url_path="expenditures")
    def expenditures(self, request, pk=None):
        line = self.get_object()
        serializer = ExpenditureSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        movement = services.record_expenditure(line, actor=request.user, **serializer.validated_data)
        return Response(ExpenditureResultSerializer(movement).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The line's ledger: every movement, oldest first",
        responses={200: MovementSerializer(many=True), 404: NOT_FOUND},
        tags=["budget"],
    )
    @action(detail=True, methods=["get"], url_path="movements", filter_backends=[])
    def movements(self, request, pk=None):
        line = self.get_object()
        page = self.paginate_queryset(movement_list(line))
        return self.get_paginated_response(MovementSerializer(page, many=True).data)
