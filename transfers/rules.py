"""Permission rules of transfers (``require(actor, "transfers.<perm>", obj)``)."""

from cases.permissions import rule
from cases.roles import Role, has_role
from registry.selectors import department_scope_ids


def _staff_covering(user, department_id, *roles) -> bool:
    if not has_role(user, *roles):
        return False
    scope = department_scope_ids(user)
    return scope is None or department_id in scope


@rule("transfers.create")
def can_create(user, unit) -> bool:
    """A member of the beneficiary unit requests it, or the agency's technical staff (evaluators)
    or the director start it for a unit of their department scope (e.g. direct transfers to dairy
    companies). Never for one's own unit as staff; never internal control or administrators."""
    if unit is None:
        return False
    if has_role(user, Role.APPLICANT) and user.unit_id == unit.pk:
        return True
    return user.unit_id != unit.pk and _staff_covering(
        user, unit.department_id, Role.EVALUATOR, Role.DIRECTOR
    )


@rule("transfers.annul")
def can_annul(user, transfer) -> bool:
    """Only the agency's highest authority annuls a transfer."""
    return has_role(user, Role.DIRECTOR) and user.unit_id != transfer.beneficiary_id


@rule("transfers.upload")
def can_upload(user, transfer) -> bool:
    """Members of the beneficiary unit, and the staff who work transfers (evaluators, legal, finance,
    the director) within their department scope — never internal control (reads only) nor
    administrators (never decide cases), never as staff on their own unit's transfer."""
    if (
        has_role(user, Role.APPLICANT)
        and user.unit_id is not None
        and user.unit_id == transfer.beneficiary_id
    ):
        return True
    return user.unit_id != transfer.beneficiary_id and _staff_covering(
        user, transfer.department_id, Role.EVALUATOR, Role.LEGAL, Role.FINANCE, Role.DIRECTOR
    )


@rule("transfers.correct_reach")
def can_correct_reach(user, transfer) -> bool:
    """Technical staff (evaluators, the director) of the case's department scope correct its
    beneficiaries and placement; never on their own unit's transfer."""
    return user.unit_id != transfer.beneficiary_id and _staff_covering(
        user, transfer.department_id, Role.EVALUATOR, Role.DIRECTOR
    )
