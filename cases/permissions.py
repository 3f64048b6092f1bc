"""Authorisation for services: ``require(actor, permission, obj)``.

Every service calls ``require`` before changing anything, so the web UI, the API, the admin, a
management command and a Celery task are held to the same rules. Rules are plain predicates
registered per permission name with ``@rule("budget.create_line")``; an unknown permission is denied.
A denial raises ``PermissionDenied`` with a translatable message and is recorded in the audit trail
by the caller's layer (views/API), never silently ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

Predicate = Callable[..., bool]
_RULES: dict[str, Predicate] = {}


def rule(name: str) -> Callable[[Predicate], Predicate]:
    def register(func: Predicate) -> Predicate:
        if name in _RULES and _RULES[name] is not func:
            raise ValueError(f"permission rule {name!r} registered twice")
        _RULES[name] = func
        return func

    return register


def allowed(actor, permission: str, obj=None) -> bool:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return False
    predicate = _RULES.get(permission)
    if predicate is None:
        return False
    return bool(predicate(actor, obj))


def require(actor, permission: str, obj=None, *, message: str | None = None) -> None:
    """Raise ``PermissionDenied`` unless ``actor`` holds ``permission`` (on ``obj``)."""
    if not allowed(actor, permission, obj):
        raise PermissionDenied(message or _("You do not have permission to perform this action."))


def registered_rules() -> dict[str, Predicate]:
    return dict(_RULES)
