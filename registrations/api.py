"""``/api/v1/registrations/`` (API.md "Cases": Registrations). Staff work them in the task inbox."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from cases.api import CaseViewSet
from registry.models import Unit
from workflows.official import OfficialDocumentActions

from . import selectors, services
from .serializers import (
    RegistrationCreateSerializer,
    RegistrationDocumentSerializer,
    RegistrationDocumentUploadSerializer,
    RegistrationSerializer,
)


@extend_schema(tags=["registrations"])
class RegistrationViewSet(OfficialDocumentActions, CaseViewSet):
    serializer_class = RegistrationSerializer

    def get_queryset(self):
        return selectors.registration_list_for(self.request.user).prefetch_related("documents")

    @extend_schema(request=RegistrationCreateSerializer, responses={201: RegistrationSerializer})
    def create(self, request):
        payload = RegistrationCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        unit = None
        if data["kind"] == "renewal":
            unit = Unit.objects.filter(pk=data.get("unit") or 0).first()
            if unit is None or unit.pk != request.user.unit_id:
                raise ValidationError({"unit": [_("You can only renew your own productive unit.")]})
        registration = services.create_registration(
            actor=request.user, kind=data["kind"], unit=unit, unit_data=data.get("unit_data")
        )
        return Response(self.get_serializer(registration).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=RegistrationSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        registration = services.submit_registration(self.get_object(), actor=request.user)
        return Response(self.get_serializer(registration).data)

    @extend_schema(request=None, responses=RegistrationSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        reason = request.data.get("reason", "") if isinstance(request.data, dict) else ""
        registration = services.withdraw_registration(
            self.get_object(),
            actor=request.user,
            reason=str(reason)[:2000] if isinstance(reason, str) else "",
        )
        return Response(self.get_serializer(registration).data)

    @extend_schema(
        request={"multipart/form-data": RegistrationDocumentUploadSerializer},
        responses={201: RegistrationDocumentSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def documents(self, request, pk=None):
        document = services.upload_document(
            self.get_object(),
            actor=request.user,
            kind=str(request.data.get("kind", "")),
            uploaded_file=request.FILES.get("file"),
        )
        return Response(RegistrationDocumentSerializer(document).data, status=status.HTTP_201_CREATED)
