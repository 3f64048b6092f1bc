"""Request context (request id, client IP, user) for the audit trail, carried in a context variable.

``user`` is the request's (lazy) user as the session middleware knows it; it names the actor of
changes recorded by signal receivers (e.g. a group granted in the Django admin).
"""

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip: str = ""
    user: Any = None


_EMPTY = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("expediente_request_context", default=None)


def current() -> RequestContext:
    return _current.get() or _EMPTY


def set_current(ctx: RequestContext):
    return _current.set(ctx)


def reset(token) -> None:
    _current.reset(token)
