import re
import uuid

from cases import net

from . import context

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request) -> str:
    """The client's address as every part of the site reads it (``cases.net``: ``TRUSTED_PROXY_COUNT``)."""
    return net.client_ip(request)[:45]


class RequestContextMiddleware:
    """Gives every request an id (``X-Request-ID`` when the client sends a sane one) and records the
    client address, so audit entries written while serving it carry both."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        rid = request.headers.get("X-Request-ID", "")
        if not _REQUEST_ID_RE.match(rid):
            rid = uuid.uuid4().hex
        request.request_id = rid
        token = context.set_current(
            context.RequestContext(
                request_id=rid,
                ip=client_ip(request),
                user=getattr(request, "user", None),
            )
        )
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = rid
        return response
