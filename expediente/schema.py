"""The OpenAPI schema's error answers, for every operation at once (issue 10, item 6: the schema
matches the responses). drf-spectacular documents the success answers a view declares; the errors
come from code every view shares, so they are added here from what the view is:

- 400 ``{"field": ["message"]}`` or ``{"detail"}``: it reads a body or query parameters;
- 401: it has authenticators (a missing, wrong or expired token on a view that needs one, or a
  wrong token anywhere they run);
- 403: it writes as an authenticated user (the services' permission checks), or a permission class
  beyond "authenticated" guards it;
- 404: it takes a path parameter (an id nobody has, or an object outside the caller's scope), or
  it is a paginated list (a page past the end);
- 409: it writes (as an authenticated user: a case or task not in a state that allows the action,
  a concurrent change; any write: a lock not granted in time, ``cases.contention``);
- 413: it reads a body (past ``DATA_UPLOAD_MAX_MEMORY_SIZE``);
- 429: it is throttled;
- 503: any operation (the database gave up: a statement timeout or a lost connection,
  ``cases.contention``).

An answer a view declares itself (``@extend_schema(responses=...)``) is kept as it is."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny, IsAuthenticated

from cases.serializers import ErrorSerializer

WRITES = {"POST", "PUT", "PATCH", "DELETE"}
BAD_REQUEST = OpenApiResponse(OpenApiTypes.OBJECT, description='{"field": ["message"]} or {"detail"}')


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorSerializer, description=description)


class AutoSchema(SpectacularAutoSchema):
    def _error_codes(self) -> dict[str, OpenApiResponse]:
        view, method = self.view, self.method
        authenticates = bool(view.get_authenticators())
        guarded = any(not isinstance(p, (AllowAny, IsAuthenticated)) for p in view.get_permissions())
        open_to_all = all(isinstance(p, AllowAny) for p in view.get_permissions())
        has_body = method in WRITES and self.get_request_serializer() is not None
        params = self._get_parameters()
        in_path = any(p["in"] == "path" for p in params)
        in_query = any(p["in"] == "query" for p in params)
        writes_as_user = method in WRITES and authenticates and not open_to_all
        codes: dict[str, OpenApiResponse] = {}
        if has_body or in_query or method in WRITES:
            codes["400"] = BAD_REQUEST
        if authenticates:
            codes["401"] = _error("Not authenticated, or a wrong token")
        if writes_as_user or guarded:
            codes["403"] = _error("Not allowed")
        if in_path or (method == "GET" and self._is_list_view() and self._get_paginator() is not None):
            codes["404"] = _error("Not found (or not visible to you)")
        if method in WRITES:
            codes["409"] = _error("Not in a state that allows this action, or changed at the same time")
        if has_body:
            codes["413"] = _error("The body is too large")
        if view.get_throttles():
            codes["429"] = _error("Too many requests; try again later")
        codes["503"] = _error("The database gave up (a statement timeout or a lost connection); try again")
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, response in self._error_codes().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    response, code, ["application/json"], direction=direction
                )
        return responses
