"""Permission rules of the registry (``require(actor, "registry.<perm>", obj)``)."""

from __future__ import annotations

from cases.permissions import rule
from cases.roles import Role, has_role, is_admin, is_system_user

from .models import Department, Unit
from .selectors import department_scope_ids


def _in_department_scope(user, department: Department | None) -> bool:
    scope = department_scope_ids(user)
    return scope is None or (department is not None and department.pk in scope)


@rule("registry.manage_users")
def can_manage_users(user, obj=None) -> bool:
    """Create users, grant and revoke roles and scopes: administrators and the system user."""
    return is_admin(user) or is_system_user(user)


@rule("registry.register_unit")
def can_register_unit(user, department: Department | None = None) -> bool:
    """Administrators and evaluators (within their departments), the system user, and an applicant
    who has no unit yet (it registers its own and becomes its member)."""
    if is_system_user(user) or is_admin(user):
        return True
    if has_role(user, Role.EVALUATOR):
        return _in_department_scope(user, department)
    return has_role(user, Role.APPLICANT) and not user.unit_id


@rule("registry.update_unit")
def can_update_unit(user, unit: Unit | None = None) -> bool:
    """Administrators and evaluators (within their departments) and the system user."""
    if is_system_user(user) or is_admin(user):
        return True
    if has_role(user, Role.EVALUATOR):
        return _in_department_scope(user, unit.department if unit is not None else None)
    return False


@rule("registry.renew_registration")
def can_renew_registration(user, unit: Unit | None = None) -> bool:
    return can_update_unit(user, unit)
