"""``/api/v1/audit/``: entries (internal control, admin; ``?format=csv|xlsx`` downloads them, as the
pages do), verify (same), checkpoints and public keys (public, no authentication: they are what
outsiders keep to check the trail later)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import BasePagination
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param
from rest_framework.views import APIView

from cases import params

from . import exports, selectors, services
from . import keys as audit_keys
from .checkpoints import checkpoint_document
from .forms import TrailFilterForm
from .serializers import (
    AuditEntrySerializer,
    CheckpointSerializer,
    PublicKeySerializer,
    VerificationSerializer,
)


class CanReadTrail(BasePermission):
    message = "Only internal control and administrators may read the whole audit trail."

    def has_permission(self, request, view):
        if not selectors.can_view_trail(request.user):
            raise PermissionDenied(
                _("Only internal control and administrators may read the whole audit trail.")
            )
        return True


def _int(request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    if not value:
        return None
    parsed = params.number(value)
    if parsed is None:
        raise ValidationError({name: [_("Enter a whole number.")]})
    return parsed


class SeqKeysetPagination(BasePagination):
    """``{"count","next","previous","results"}`` with keyset links (``?after=<seq>`` / ``?before=<seq>``),
    oldest first. ``count`` is the number of entries that match the filters; without filters it is
    the head's seq (gap-free by construction), so no page counts a million rows."""

    page_size = 100
    max_page_size = 1000

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = _int(request, "page_size") or self.page_size
        page = selectors.keyset_page(
            queryset,
            before=_int(request, "before"),
            after=_int(request, "after"),
            size=min(size, self.max_page_size),
            newest_first=False,
        )
        self.page = page
        filtered = getattr(view, "filters_active", True)
        self.count = queryset.count() if filtered else selectors.trail_head_seq()
        return page.entries

    def get_paginated_response(self, data):
        url = self.request.build_absolute_uri()
        next_url = prev_url = None
        if self.page.newer is not None:
            next_url = replace_query_param(remove_query_param(url, "before"), "after", self.page.newer)
        if self.page.older is not None:
            prev_url = replace_query_param(remove_query_param(url, "after"), "before", self.page.older)
        return Response({"count": self.count, "next": next_url, "previous": prev_url, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "next": {"type": "string", "nullable": True},
                "previous": {"type": "string", "nullable": True},
                "results": schema,
            },
        }


class ExportNegotiation(DefaultContentNegotiation):
    """JSON whatever ``?format=`` says: ``format`` names the file type of an export (csv, xlsx), which
    the view answers itself, not one of DRF's renderers (an unknown one is a 400, not a bare 404)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _export_format(request) -> str:
    value = request.query_params.get("format", "")
    fmt = (value or "json").strip().lower()
    if fmt != "json" and fmt not in exports.FORMATS:
        raise ValidationError(
            {
                "format": [
                    _("Unknown format %(format)s: use one of %(formats)s.")
                    % {"format": value, "formats": ", ".join(("json", *exports.FORMATS))}
                ]
            }
        )
    return fmt


FILTER_PARAMETERS = [
    OpenApiParameter("case", str, description="Case code, e.g. INI-2026-000123"),
    OpenApiParameter("actor", str, description="Username (or user id) of the actor"),
    OpenApiParameter("action", str, description="Action code (e.g. initiative.approved) or group (budget)"),
    OpenApiParameter("since", str, description="From this day (La Paz) or ISO 8601 moment, inclusive"),
    OpenApiParameter("until", str, description="Up to this day (inclusive) or ISO 8601 moment (exclusive)"),
    OpenApiParameter("after", int, description="Keyset: entries with a larger seq"),
    OpenApiParameter("before", int, description="Keyset: entries with a smaller seq"),
    OpenApiParameter("page_size", int, description="Entries per page (max 1000)"),
    OpenApiParameter(
        "format",
        str,
        enum=["json", *exports.FORMATS],
        description="json (default: one page); csv or xlsx: every entry that matches the filters as a "
        "file (attachment; keyset parameters ignored; xlsx up to 100,000 rows). The export is recorded "
        "in the trail (audit.exported).",
    ),
]


@extend_schema(tags=["audit"])
class AuditEntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The trail, oldest first, filtered (internal control and administrators only)."""

    serializer_class = AuditEntrySerializer
    permission_classes = [IsAuthenticated, CanReadTrail]
    pagination_class = SeqKeysetPagination
    renderer_classes = [JSONRenderer]
    content_negotiation_class = ExportNegotiation
    lookup_field = "seq"
    lookup_value_regex = r"\d+"
    filters_active = False
    filters: selectors.TrailFilters | None = None

    def get_queryset(self):
        if self.action != "list":
            return selectors.entry_list(user=self.request.user)
        form = TrailFilterForm(self.request.query_params)
        if not form.is_valid():
            raise ValidationError({field: [str(e) for e in errors] for field, errors in form.errors.items()})
        self.filters = form.filters()
        self.filters_active = self.filters.active
        return selectors.entry_list(user=self.request.user, filters=self.filters)

    @extend_schema(
        parameters=FILTER_PARAMETERS,
        summary="Audit entries (filtered, oldest first), or their CSV/XLSX export",
        responses={
            (200, "application/json"): AuditEntrySerializer(many=True),
            (200, exports.CONTENT_TYPES["csv"].split(";")[0]): OpenApiTypes.STR,
            (200, exports.CONTENT_TYPES["xlsx"]): OpenApiTypes.BINARY,
            (400, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT,
                description='{"field": ["message"]} for a bad filter or format; {"detail": ...} when an '
                "xlsx export would exceed 100,000 rows",
            ),
        },
    )
    def list(self, request, *args, **kwargs):
        fmt = _export_format(request)
        if fmt == "json":
            return super().list(request, *args, **kwargs)
        queryset = self.get_queryset()
        try:
            response = exports.file_response(queryset, fmt)
        except exports.TooManyRows as exc:
            raise ValidationError(exports.too_many_rows_message()) from exc
        services.record_export(actor=request.user, fmt=fmt, filters=self.filters)
        return response


@extend_schema(tags=["audit"])
class VerifyView(APIView):
    """Recompute the chain and check every signed checkpoint now."""

    permission_classes = [IsAuthenticated, CanReadTrail]

    @extend_schema(
        responses=VerificationSerializer,
        summary="Verify the audit trail",
        description="Recomputes the chain and checks every checkpoint, stored and published, now. Like "
        'the "verify now" button, it records who verified and the outcome (an `audit.verified` entry).',
    )
    def get(self, request):
        return Response(services.verify_trail(actor=request.user))


def _page_of(name: str, serializer_class):
    """The paginated envelope of API.md (``{"count","next","previous","results"}``), for the views
    that build it by hand."""
    return inline_serializer(
        name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


@extend_schema(tags=["audit"])
class CheckpointListView(APIView):
    """Signed checkpoints, newest first; public (outsiders keep copies to detect later tampering).
    ``?since_seq=N`` lists only checkpoints covering more than N entries."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=_page_of("PaginatedCheckpointList", CheckpointSerializer),
        parameters=[
            OpenApiParameter("since_seq", int),
            OpenApiParameter("before_seq", int, description="The next page: checkpoints before this seq"),
            OpenApiParameter("page_size", int),
        ],
        auth=[],
        summary="Signed checkpoints (public)",
    )
    def get(self, request):
        queryset = selectors.checkpoint_list()
        since = _int(request, "since_seq")
        if since is not None:
            queryset = queryset.filter(seq__gt=since)
        size = min(_int(request, "page_size") or 100, 1000)
        before = _int(request, "before_seq")
        total = queryset.count()
        if before is not None:
            queryset = queryset.filter(seq__lt=before)
        rows = list(queryset[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        next_url = None
        if more:
            next_url = replace_query_param(request.build_absolute_uri(), "before_seq", rows[-1].seq)
        results = [checkpoint_document(cp) for cp in rows]
        return Response({"count": total, "next": next_url, "previous": None, "results": results})


@extend_schema(tags=["audit"])
class PublicKeyListView(APIView):
    """The Ed25519 public keys that sign checkpoints (also obtainable from the agency directly)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=_page_of("PaginatedPublicKeyList", PublicKeySerializer),
        auth=[],
        summary="Checkpoint public keys",
    )
    def get(self, request):
        keys = [audit_keys.describe(k) for k in audit_keys.trusted_public_keys().values()]
        return Response({"count": len(keys), "next": None, "previous": None, "results": keys})
