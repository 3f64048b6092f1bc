"""Permission rules of registrations (``require(actor, "registrations.<perm>", obj)``)."""

from cases.permissions import rule
from cases.roles import Role, has_role
from registry.selectors import department_scope_ids

from .conditions import is_applicant_of


@rule("registrations.create_new")
def can_create_new(user, obj=None) -> bool:
    """An applicant who belongs to no unit yet applies to register one."""
    return has_role(user, Role.APPLICANT) and not user.unit_id


@rule("registrations.renew")
def can_renew(user, unit) -> bool:
    """An applicant renews its own unit's registration (before or after it lapses)."""
    return has_role(user, Role.APPLICANT) and unit is not None and user.unit_id == unit.pk


@rule("registrations.submit")
def can_submit(user, registration) -> bool:
    return is_applicant_of(registration, user)


@rule("registrations.withdraw")
def can_withdraw(user, registration) -> bool:
    return is_applicant_of(registration, user)


@rule("registrations.upload")
def can_upload(user, registration) -> bool:
    """The applicant, and registry officers of the department working it — never internal control
    (reads only) nor administrators (never decide cases)."""
    if is_applicant_of(registration, user):
        return True
    if has_role(user, Role.EVALUATOR) and registration.applicant_id != user.pk:
        scope = department_scope_ids(user)
        return scope is None or registration.department_id in scope
    return False
