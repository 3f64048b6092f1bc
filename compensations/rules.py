"""Permission rules of price compensations (``require(actor, "compensations.<perm>", obj)``)."""

from cases.permissions import rule
from cases.roles import Role, has_role

from .conditions import is_member_of


@rule("compensations.create_agreement")
def can_create_agreement(user, obj=None) -> bool:
    """PROLECHE technical staff (evaluators) and the director draw up agreements."""
    return has_role(user, Role.EVALUATOR, Role.DIRECTOR) and not getattr(user, "unit_id", None)


@rule("compensations.declare")
def can_declare(user, agreement) -> bool:
    """An applicant member of the agreement's dairy company."""
    return agreement is not None and is_member_of(agreement.unit_id, user)
