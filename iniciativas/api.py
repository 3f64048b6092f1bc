"""``/api/v1/initiatives/`` and ``/api/v1/calls/`` (API.md "Cases")."""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from cases import params
from cases.api import CaseViewSet
from cases.permissions import require
from cases.serializers import ReachCorrectionSerializer, reach_input
from registry.models import Unit
from workflows.official import OfficialDocumentActions

from . import selectors, services
from .models import Call
from .serializers import (
    CallSerializer,
    CallWriteSerializer,
    CancelSerializer,
    DocumentSerializer,
    DocumentUploadSerializer,
    InitiativeCreateSerializer,
    InitiativeSerializer,
    RecoverySerializer,
)

# API field -> the service's name (and back, for the error keys).
CALL_FIELD_NAMES = {"opens": "opens_on", "closes": "closes_on", "pass_threshold": "threshold"}
ERROR_KEYS = {service: api for api, service in CALL_FIELD_NAMES.items()} | {"tranche_unlocks": "tranche_plan"}


def _criterion_code(item: dict) -> str:
    """The key of a criterion's score: given, or made from its name (``Pertinencia`` -> ``pertinencia``)."""
    from django.utils.text import slugify

    code = str(item.get("code") or "").strip()
    if code:
        return code
    code = slugify(item["criterion"]).replace("-", "_")[:40]
    return code if code[:1].isalpha() else f"c_{code}"[:40]


def _service_values(data: dict) -> dict:
    """The validated API payload under the service's names."""
    values = {CALL_FIELD_NAMES.get(k, k): v for k, v in data.items() if k != "code"}
    if "rubric" in data:
        values["rubric"] = [
            {
                "code": _criterion_code(c),
                "label": c["criterion"],
                "max": c["max_points"],
                "text": c.get("text", ""),
            }
            for c in data["rubric"]
        ]
    if "tranche_plan" in data:
        plan = data["tranche_plan"]
        values["tranche_plan"] = [t["percent"] for t in plan]
        values["tranche_unlocks"] = (
            [t.get("unlocked_by", "") for t in plan] if any("unlocked_by" in t for t in plan) else []
        )
    return values


def _api_errors(exc: ValidationError) -> ValidationError:
    """The service's error keys under the API's field names."""
    if not hasattr(exc, "error_dict"):
        return exc
    return ValidationError({ERROR_KEYS.get(k, k): v for k, v in exc.message_dict.items()})


@extend_schema(tags=["calls"])
class CallViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Calls for proposals. ``GET``: the open calls (anyone signed in) and, to administrators and
    program managers, every call they configure. ``POST``/``PATCH``: through the same services as
    the configuration pages (``iniciativas.call_services``)."""

    serializer_class = CallSerializer
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_-]+"

    def get_queryset(self):
        if self.action == "list":
            return selectors.call_list_open().order_by("closes_on")
        if self.action == "partial_update":
            return selectors.call_list_for(self.request.user)
        # one call: an open one, or one the user configures
        return selectors.call_list_open() | selectors.call_list_for(self.request.user)

    def get_object(self):
        code = str(self.kwargs.get("code", "")).upper()
        call = self.get_queryset().filter(code=code).first()
        if call is None:
            raise Http404
        return call

    @extend_schema(request=CallWriteSerializer, responses={201: CallSerializer})
    def create(self, request):
        """Open a call (an administrator, or the manager of its program)."""
        require(request.user, "iniciativas.manage_calls")
        payload = CallWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            call = services.create_call(
                actor=request.user,
                code=payload.validated_data["code"],
                **_service_values(payload.validated_data),
            )
        except ValidationError as exc:
            raise _api_errors(exc) from exc
        return Response(CallSerializer(call).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CallWriteSerializer(partial=True), responses=CallSerializer)
    def partial_update(self, request, code=None):
        """Change a call: in place while nobody has submitted to its current version, else a new
        version (``version`` + 1) that new submissions take; the running cases keep theirs."""
        require(request.user, "iniciativas.manage_calls")
        call = self.get_object()
        payload = CallWriteSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        if "code" in payload.validated_data and payload.validated_data["code"].upper() != call.code:
            raise ValidationError({"code": [_("The code of a call cannot change.")]})
        try:
            saved = services.update_call(call, actor=request.user, **_service_values(payload.validated_data))
        except ValidationError as exc:
            raise _api_errors(exc) from exc
        return Response(CallSerializer(saved).data)


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
            else Call.objects.filter(code=ref, is_current=True).first()
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
            reach=reach_input(data),
        )
        return Response(self.get_serializer(initiative).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReachCorrectionSerializer, responses=InitiativeSerializer)
    @action(detail=True, methods=["post"])
    def reach(self, request, pk=None):
        """Technical staff correct the beneficiaries or the placement of a submitted initiative
        (``{"reason", ...the fields to change}``), audited (``initiative.reach_corrected``)."""
        initiative = self.get_object()  # first: a case the caller may not see is a 404
        payload = ReachCorrectionSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.correct_reach(
            initiative,
            actor=request.user,
            reason=payload.validated_data["reason"],
            **reach_input(payload.validated_data),
        )
        return Response(self.get_serializer(self.get_object()).data)

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
