"""What every case type's API shares: ``CaseViewSet`` (list and detail of the cases the user may
see, anything else 404), and ``GET /api/v1/official-documents/verify/`` (public, no personal data)."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from . import official


class NotFoundUnlessVisible:
    """For a viewset whose objects are scoped to the caller: a method a detail route does not take
    (PATCH, PUT, DELETE, a GET on a POST action…) answers 404 when the object is one the caller may
    not see — exactly as for an id nobody has — and 405 only on an object it sees, so no method
    tells an object outside the caller's scope from one that does not exist (issue 10)."""

    def http_method_not_allowed(self, request, *args, **kwargs):
        if kwargs.get(getattr(self, "lookup_url_kwarg", None) or getattr(self, "lookup_field", "pk")):
            self.get_object()  # type: ignore[attr-defined]  # 404 when not visible
        return super().http_method_not_allowed(request, *args, **kwargs)  # type: ignore[misc]


class CaseViewSet(
    NotFoundUnlessVisible, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """A case type's ``/api/v1/<cases>/``: ``get_queryset`` is the user's visible cases (its selector);
    a case outside it, or a malformed id, is 404 (API.md). The detail carries the case's history, the
    list does not (``with_history`` in the serializer context)."""

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["with_history"] = self.action != "list"
        return context

    def get_object(self):
        try:
            return self.get_queryset().get(pk=int(self.kwargs["pk"]))
        except (ObjectDoesNotExist, ValueError) as exc:
            raise Http404 from exc


class OfficialDocumentVerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    kind = serializers.CharField(allow_null=True)
    case = serializers.CharField(allow_null=True)
    issued_at = serializers.DateTimeField(allow_null=True)


class OfficialDocumentVerifyView(APIView):
    """Is this an official document the agency issued? By ``number`` and ``sha256`` (the hash of the
    file in hand), or by the short ``code`` printed on it. Answers the kind, the case code and the
    date of issue — never who it concerns."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        tags=["official documents"],
        parameters=[
            OpenApiParameter("number", str, description="The document's number"),
            OpenApiParameter("sha256", str, description="SHA-256 of the file (64 hex digits)"),
            OpenApiParameter("code", str, description="Or the verification code printed on it"),
        ],
        responses=OfficialDocumentVerificationSerializer,
    )
    def get(self, request):
        _asked, document, _searched = official.lookup(request.query_params)
        if document is None:
            return Response({"valid": False, "kind": None, "case": None, "issued_at": None})
        return Response(
            OfficialDocumentVerificationSerializer(
                {
                    "valid": True,
                    "kind": document.kind,
                    "case": document.case_code,
                    "issued_at": document.issued_at,
                }
            ).data
        )
