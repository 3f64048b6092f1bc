"""``/api/v1/transfers/`` (API.md "Cases")."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from budget.models import Program
from cases.api import CaseViewSet
from cases.serializers import ReachCorrectionSerializer, reach_input
from registry.models import Unit
from workflows.official import OfficialDocumentActions

from . import selectors, services
from .models import Asset, AssetItem, Document
from .serializers import (
    AnnulSerializer,
    TransferCreateSerializer,
    TransferDocumentSerializer,
    TransferDocumentUploadSerializer,
    TransferSerializer,
)


@extend_schema(tags=["transfers"])
class TransferViewSet(OfficialDocumentActions, CaseViewSet):
    serializer_class = TransferSerializer

    def get_queryset(self):
        items = AssetItem.objects.order_by("number")
        assets = Asset.objects.order_by("position").prefetch_related(Prefetch("items", queryset=items))
        return selectors.transfer_list_for(self.request.user).prefetch_related(
            Prefetch("assets", queryset=assets),
            Prefetch("documents", queryset=Document.objects.order_by("uploaded_at", "pk")),
        )

    @extend_schema(request=TransferCreateSerializer, responses={201: TransferSerializer})
    def create(self, request):
        payload = TransferCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        unit = Unit.objects.filter(pk=data["beneficiary"]).first()
        program = Program.objects.filter(code=str(data["program"]).strip().upper()).first()
        errors = {}
        if unit is None:
            errors["beneficiary"] = [_("Unknown productive unit.")]
        if program is None:
            errors["program"] = [_("Unknown program.")]
        if errors:
            raise ValidationError(errors)
        transfer = services.create_transfer(
            actor=request.user,
            beneficiary=unit,
            modality=data["modality"],
            kind=data["kind"],
            program=program,
            amount=data.get("amount"),
            assets=data.get("assets"),
            purpose=data.get("purpose", ""),
            reach=reach_input(data),
        )
        return Response(
            self.get_serializer(self.get_queryset().get(pk=transfer.pk)).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=ReachCorrectionSerializer, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    def reach(self, request, pk=None):
        """Technical staff correct the beneficiaries or the placement of a transfer (``{"reason",
        ...the fields to change}``), audited (``transfer.reach_corrected``)."""
        transfer = self.get_object()  # first: a case the caller may not see is a 404
        payload = ReachCorrectionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.correct_reach(
            transfer,
            actor=request.user,
            reason=payload.validated_data["reason"],
            **reach_input(payload.validated_data),
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=AnnulSerializer, responses=TransferSerializer)
    @action(detail=True, methods=["post"])
    def annul(self, request, pk=None):
        transfer = self.get_object()  # first: a case the caller may not see is a 404, whatever the body
        payload = AnnulSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.annul_transfer(transfer, actor=request.user, reason=payload.validated_data["reason"])
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request={"multipart/form-data": TransferDocumentUploadSerializer},
        responses={201: TransferDocumentSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def documents(self, request, pk=None):
        """Attach a document (multipart ``kind``, ``file``): the beneficiary unit's members and the
        staff working the case, while it is open."""
        document = services.upload_document(
            self.get_object(),
            actor=request.user,
            kind=str(request.data.get("kind", "")),
            uploaded_file=request.FILES.get("file"),
        )
        return Response(TransferDocumentSerializer(document).data, status=status.HTTP_201_CREATED)
