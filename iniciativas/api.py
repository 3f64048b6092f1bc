"""``/api/v1/initiatives/`` and ``/api/v1/calls/`` (API.md "Cases")."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from cases import params
from cases.api import CaseViewSet
from registry.models import Unit
from workflows.official import OfficialDocumentActions

from . import selectors, services
from .models import Call
from .serializers import (
    CallSerializer,
    CancelSerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    InitiativeCreateSerializer,
    InitiativeSerializer,
    RecoverySerializer,
)


@extend_schema(tags=["calls"])
class CallViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = CallSerializer

    def get_queryset(self):
        return selectors.call_list_open().order_by("closes_on")


@extend_schema(tags=["initiatives"])
class InitiativeViewSet(OfficialDocumentActions, CaseViewSet):
    serializer_class = InitiativeSerializer

    def get_queryset(self):
        return selectors.initiative_list_for(self.request.user).prefetch_related("documents", "tranches")

    @extend_schema(request=InitiativeCreateSerializer, responses={201: InitiativeSerializer})
    def create(self, request):
        payload = InitiativeCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        unit = Unit.objects.filter(pk=data["unit"]).first()
        if unit is None or unit.pk != request.user.unit_id:
            raise ValidationError({"unit": [_("You can only apply for your own productive unit.")]})
        ref = str(data["call"]).strip()
        call = (
            Call.objects.filter(pk=int(ref)).first()
            if params.is_number(ref)
            else Call.objects.filter(code=ref).first()
        )
        if call is None:
            raise ValidationError({"call": [_("Unknown call.")]})
        initiative = services.create_initiative(
            actor=request.user,
            unit=unit,
            call=call,
            title=data["title"],
            summary=data["summary"],
            department=data["department"],
            requested_amount=data["requested_amount"],
            counterpart_amount=data["counterpart_amount"],
        )
        return Response(self.get_serializer(initiative).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=InitiativeSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        initiative = services.submit_initiative(self.get_object(), actor=request.user)
        return Response(self.get_serializer(initiative).data)

    @extend_schema(request=None, responses=InitiativeSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        reason = str(request.data.get("reason", ""))[:2000]
        initiative = services.withdraw_initiative(self.get_object(), actor=request.user, reason=reason)
        return Response(self.get_serializer(initiative).data)

    @extend_schema(request=CancelSerializer, responses=InitiativeSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """The director cancels an approved or running initiative (``{"reason"}``): what is not
        disbursed goes back to the budget line, and recovery of what was paid begins."""
        services.cancel_initiative(
            self.get_object(), actor=request.user, reason=_text(request.data, "reason", 2000)
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=RecoverySerializer, responses=InitiativeSerializer)
    @action(detail=True, methods=["post"])
    def recover(self, request, pk=None):
        """Finance records one deposit recovered from a cancelled initiative (``{"amount",
        "reference"}``); the case ends ``recovered`` when everything paid is back."""
        services.record_recovery(  # the service refuses a JSON number or a loose string, with the rest
            self.get_object(),
            actor=request.user,
            amount=request.data.get("amount") if isinstance(request.data, dict) else None,
            reference=_text(request.data, "reference", 200),
        )
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request={"multipart/form-data": DocumentUploadSerializer}, responses={201: DocumentSerializer}
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def documents(self, request, pk=None):
        initiative = self.get_object()
        document = services.upload_document(
            initiative,
            actor=request.user,
            kind=str(request.data.get("kind", "")),
            uploaded_file=request.FILES.get("file"),
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


def _text(data, key: str, limit: int) -> str:
    value = data.get(key, "") if isinstance(data, dict) else ""
    return value[:limit] if isinstance(value, str) else ""
