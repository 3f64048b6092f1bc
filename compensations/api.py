"""``/api/v1/compensation-agreements/`` and ``/api/v1/compensation-settlements/`` (price compensation,
issue 14 item 4). Staff also work both kinds' steps in the task inbox; ``verify`` and ``pay`` here
decide the same tasks (``services.verify_settlement`` / ``pay_settlement``)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from cases.api import CaseViewSet
from cases.serializers import ReachCorrectionSerializer, reach_input
from registry.models import Unit
from workflows.official import OfficialDocumentActions

from . import selectors, services
from .serializers import (
    AgreementCreateSerializer,
    AgreementSerializer,
    CloseSerializer,
    SettlementDeclareSerializer,
    SettlementPaySerializer,
    SettlementSerializer,
    SettlementVerifySerializer,
)


def _valid(serializer_class, request):
    payload = serializer_class(data=request.data)
    payload.is_valid(raise_exception=True)
    return payload.validated_data


@extend_schema(tags=["compensations"])
class AgreementViewSet(OfficialDocumentActions, CaseViewSet):
    serializer_class = AgreementSerializer

    def get_queryset(self):
        return selectors.agreement_list_for(self.request.user)

    @extend_schema(request=AgreementCreateSerializer, responses={201: AgreementSerializer})
    def create(self, request):
        data = _valid(AgreementCreateSerializer, request)
        unit = Unit.objects.filter(pk=data["unit"]).first()
        if unit is None:
            raise ValidationError({"unit": [_("Choose a registered productive unit.")]})
        agreement = services.create_agreement(
            actor=request.user,
            unit=unit,
            budget_line=data["budget_line"],
            rate=data["rate"],
            first_month=data["first_month"],
            last_month=data["last_month"],
            ceiling=data["ceiling"],
            reach=reach_input(data),
        )
        return Response(self.get_serializer(agreement).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReachCorrectionSerializer, responses=AgreementSerializer)
    @action(detail=True, methods=["post"])
    def reach(self, request, pk=None):
        """PROLECHE technical staff correct the beneficiaries or the placement of an agreement
        (``{"reason", ...the fields to change}``), audited (``compensation.reach_corrected``)."""
        agreement = self.get_object()  # first: a case the caller may not see is a 404
        data = _valid(ReachCorrectionSerializer, request)
        services.correct_reach(agreement, actor=request.user, reason=data["reason"], **reach_input(data))
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=CloseSerializer, responses=AgreementSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        data = _valid(CloseSerializer, request)
        agreement = services.close_agreement(
            self.get_object(), actor=request.user, reason=data.get("reason", "")
        )
        return Response(self.get_serializer(agreement).data)

    @extend_schema(
        methods=["GET"],
        request=None,
        responses=SettlementSerializer(many=True),
        operation_id="agreement_settlements",
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": SettlementDeclareSerializer},
        responses={201: SettlementSerializer},
        operation_id="agreement_declare_settlement",
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser])
    def settlements(self, request, pk=None):
        agreement = self.get_object()
        if request.method == "GET":
            rows = agreement.settlements.select_related("agreement").prefetch_related("documents")
            context = {**self.get_serializer_context(), "with_history": False}
            return Response(
                SettlementSerializer(rows.order_by("month", "pk"), many=True, context=context).data
            )
        settlement = services.declare_settlement(
            agreement,
            actor=request.user,
            month=str(request.data.get("month", "")),
            litres=request.data.get("litres"),
            evidence=request.FILES.get("evidence"),
        )
        return Response(
            SettlementSerializer(settlement, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema(tags=["compensations"])
class SettlementViewSet(CaseViewSet):
    serializer_class = SettlementSerializer

    def get_queryset(self):
        return selectors.settlement_list_for(self.request.user).prefetch_related("documents")

    @extend_schema(request=SettlementVerifySerializer, responses=SettlementSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        data = _valid(SettlementVerifySerializer, request)
        settlement = services.verify_settlement(
            self.get_object(),
            actor=request.user,
            approve=data["approve"],
            litres=data.get("litres"),
            correction_reason=data.get("correction_reason", ""),
            reason=data.get("reason", ""),
        )
        return Response(self.get_serializer(settlement).data)

    @extend_schema(request=SettlementPaySerializer, responses=SettlementSerializer)
    @action(detail=True, methods=["post"])
    def pay(self, request, pk=None):
        data = _valid(SettlementPaySerializer, request)
        settlement = services.pay_settlement(
            self.get_object(),
            actor=request.user,
            payment_reference=data["payment_reference"],
            paid_on=data.get("paid_on"),
            c31_reference=data.get("c31_reference", ""),
        )
        return Response(self.get_serializer(settlement).data)
