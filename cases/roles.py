"""The roles of PRODUCT.md §1, held as Django groups (one group per role, named by its code)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    EVALUATOR = "evaluator", _("Evaluator")
    LEGAL = "legal", _("Legal unit")
    FINANCE = "finance", _("Finance")
    DIRECTOR = "director", _("Director (MAE)")
    INTERNAL_CONTROL = "internal_control", _("Internal control")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = frozenset({Role.EVALUATOR, Role.LEGAL, Role.FINANCE, Role.DIRECTOR})


def roles_of(user) -> frozenset[str]:
    """The role codes a user holds (cached on the user object for the request)."""
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_expediente_roles", None)
    if cached is None:
        valid = set(Role.values)
        cached = frozenset(n for n in user.groups.values_list("name", flat=True) if n in valid)
        narrow_roles(user, cached)
    return cached


def narrow_roles(user, roles: frozenset[str]) -> None:
    """Cache ``roles`` on the user object: ``roles_of`` answers them from now on (also how a
    delegator's copy is narrowed to the delegated roles)."""
    user._expediente_roles = roles


# A page that reads the user's roles and department and program scopes at once (one query:
# ``approvals.selectors.remember_scopes``) leaves the scopes on the request's user instance under this
# name, as ``(department ids | None, program ids | None)``; ``registry.selectors.department_scope_ids``
# and ``budget.selectors.program_scope_ids`` answer from it. Django builds the user afresh for every
# request, so nothing outlives the request; nothing outside such a page sets it.
SCOPE_MEMO = "_expediente_scopes"


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


# Roles that see across units (all staff, read-only internal control and administrators).
ALL_STAFF_ROLES = frozenset(STAFF_ROLES | {Role.INTERNAL_CONTROL, Role.ADMIN})

# The named actor of periodic jobs, commands and data imports (created by migration / on demand).
SYSTEM_USERNAME = "system"


def is_system_user(user) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.get_username() == SYSTEM_USERNAME
        and not user.has_usable_password()
    )


def is_admin(user) -> bool:
    """Administrators: the ``admin`` role (or a Django superuser)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or has_role(user, Role.ADMIN))


def is_staff_member(user) -> bool:
    """Any staff role (sees across units, within its department/program scopes)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or roles_of(user) & ALL_STAFF_ROLES)
