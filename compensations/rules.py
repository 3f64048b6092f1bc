"""Permission rules of price compensations (``require(actor, "compensations.<perm>", obj)``)."""

from cases.permissions import rule
from cases.roles import Role, has_role
from registry.selectors import department_scope_ids

from .conditions import is_member_of


@rule("compensations.create_agreement")
def can_create_agreement(user, obj=None) -> bool:
    """PROLECHE technical staff (evaluators) and the director draw up agreements."""
    return has_role(user, Role.EVALUATOR, Role.DIRECTOR) and not getattr(user, "unit_id", None)


@rule("compensations.declare")
def can_declare(user, agreement) -> bool:
    """An applicant member of the agreement's dairy company."""
    return agreement is not None and is_member_of(agreement.unit_id, user)


@rule("compensations.correct_reach")
def can_correct_reach(user, agreement) -> bool:
    """Technical staff (evaluators, the director) of the agreement's department scope correct its
    beneficiaries and placement; never a member of the dairy company."""
    if agreement is None or not has_role(user, Role.EVALUATOR, Role.DIRECTOR):
        return False
    if getattr(user, "unit_id", None) == agreement.unit_id:
        return False
    scope = department_scope_ids(user)
    return scope is None or agreement.department_id in scope
