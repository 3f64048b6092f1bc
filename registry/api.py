"""API of the registry: token auth and productive units (API.md §Conventions, §Registry)."""

from django.contrib.auth import authenticate, logout, user_logged_in
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from cases.serializers import ErrorSerializer

from . import services
from .selectors import unit_list_for
from .serializers import TokenRequestSerializer, TokenSerializer, UnitSerializer

BAD_REQUEST = OpenApiResponse(OpenApiTypes.OBJECT, description='{"field": ["message"]} or {"detail"}')
DENIED = OpenApiResponse(ErrorSerializer, description="Not allowed")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Not found (or not visible to you)")
UNAUTHENTICATED = OpenApiResponse(ErrorSerializer, description="No valid token (missing, revoked or expired)")
LOCKED_OUT = OpenApiResponse(
    ErrorSerializer, description="Too many failed logins for this account or address (Retry-After: seconds)"
)


class TokenView(APIView):
    """``POST /api/v1/auth/token/`` ``{"username","password"}`` → ``{"token"}``.

    Throttled (scope ``login``) and locked out after repeated failures (``registry.lockout``: 429
    with the reason, also for the right password while locked). The token expires after
    ``API_TOKEN_TTL`` (``registry.tokens``). Failed attempts go through ``authenticate`` so that Django's
    ``user_login_failed`` signal fires (the audit trail records them); success sends
    ``user_logged_in`` like a browser login.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, 400: BAD_REQUEST, 429: LOCKED_OUT},
        auth=[],
        tags=["auth"],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request=request._request,
            username=serializer.validated_data["username"],
            password=serializer.validated_data["password"],
        )
        if user is None:
            return Response(
                {"detail": _("Unable to log in with the username and password given.")},
                status=status.HTTP_400_BAD_REQUEST,
            )
        token = services.issue_api_token(user)
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response({"token": token.key})


class LogoutView(APIView):
    """``POST /api/v1/auth/logout/`` → 204: revokes the caller's API token (and ends a browser
    session used for the call). The token no longer authenticates anything afterwards."""

    @extend_schema(
        operation_id="auth_logout_create",
        summary="Log out: revoke your API token",
        request=None,
        responses={204: OpenApiResponse(description="Token revoked"), 401: UNAUTHENTICATED},
        tags=["auth"],
    )
    def post(self, request):
        user = request.user
        services.revoke_api_token(user, actor=user, reason="logout")
        if request._request.user.is_authenticated:  # a browser session: end it as the web logout does
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="Productive units you may see", tags=["registry"]),
    retrieve=extend_schema(
        summary="One productive unit", responses={200: UnitSerializer, 404: NOT_FOUND}, tags=["registry"]
    ),
    create=extend_schema(
        summary="Register a productive unit",
        request=UnitSerializer,
        responses={201: UnitSerializer, 400: BAD_REQUEST, 403: DENIED},
        tags=["registry"],
    ),
)
class UnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Applicants see only their own unit; staff see every unit of their departments."""

    serializer_class = UnitSerializer

    def get_queryset(self):
        return unit_list_for(self.request.user)

    def create(self, request):
        serializer = UnitSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        unit = services.register_unit(actor=request.user, **serializer.validated_data)
        return Response(UnitSerializer(unit).data, status=status.HTTP_201_CREATED)
