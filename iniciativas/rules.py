"""Permission rules of initiatives (``require(actor, "iniciativas.<perm>", obj)``)."""

from cases.permissions import rule
from cases.roles import Role, has_role, is_admin
from registry.selectors import department_scope_ids

from .models import InitiativeState

S = InitiativeState


def _own_unit(user, initiative) -> bool:
    return has_role(user, Role.APPLICANT) and user.unit_id is not None and user.unit_id == initiative.unit_id


@rule("iniciativas.create")
def can_create(user, unit) -> bool:
    """An applicant creates drafts for its own unit only."""
    return has_role(user, Role.APPLICANT) and unit is not None and user.unit_id == unit.pk


@rule("iniciativas.edit")
def can_edit(user, initiative) -> bool:
    return _own_unit(user, initiative)


@rule("iniciativas.submit")
def can_submit(user, initiative) -> bool:
    return _own_unit(user, initiative)


@rule("iniciativas.withdraw")
def can_withdraw(user, initiative) -> bool:
    return _own_unit(user, initiative)


@rule("iniciativas.upload")
def can_upload(user, initiative) -> bool:
    """The applicant unit's members, and staff working the case (evaluators, legal, finance) — but
    never internal control (reads only) nor administrators (never decide cases)."""
    if _own_unit(user, initiative):
        return True
    if has_role(user, Role.EVALUATOR, Role.LEGAL, Role.FINANCE, Role.DIRECTOR):
        scope = department_scope_ids(user)
        return (scope is None or initiative.department_id in scope) and user.unit_id != initiative.unit_id
    return False


@rule("iniciativas.cancel")
def can_cancel(user, initiative) -> bool:
    """Only the agency's highest authority cancels a granted initiative."""
    return has_role(user, Role.DIRECTOR) and user.unit_id != initiative.unit_id


@rule("iniciativas.recover")
def can_recover(user, initiative) -> bool:
    return has_role(user, Role.FINANCE) and user.unit_id != initiative.unit_id


@rule("iniciativas.manage_calls")
def can_manage_calls(user, program=None) -> bool:
    """Administrators configure every program's calls; a program manager (``budget.manage_program``
    on the program, ``budget.selectors.managed_program_ids``) those of the programs it manages.
    Without a program: whether the user may configure the calls of some program."""
    from budget.selectors import managed_program_ids
    from cases.roles import is_system_user

    if is_admin(user) or is_system_user(user):
        return True
    if has_role(user, Role.APPLICANT):
        return False
    managed = managed_program_ids(user)
    return bool(managed) if program is None else program.pk in managed


@rule("approvals.manage_policies")
def can_manage_policies(user, obj=None) -> bool:
    """Opens the policy pages: administrators, and a program manager (its programs' policies)."""
    from budget.selectors import managed_program_ids

    if is_admin(user):
        return True
    return not has_role(user, Role.APPLICANT) and bool(managed_program_ids(user))


@rule("approvals.manage_calendar")
def can_manage_calendar(user, obj=None) -> bool:
    """The agency-wide configuration of approvals: non-working days, incompatible step pairs."""
    return is_admin(user)


@rule("approvals.manage_policy_of")
def can_manage_policy_of(user, program=None) -> bool:
    """Saves or puts back a version of a policy of ``program``: administrators every policy; a
    program manager only the policies of a program it manages — never one for every program
    (``program=None``), which is the agency's."""
    from budget.selectors import managed_program_ids

    if is_admin(user):
        return True
    if program is None or has_role(user, Role.APPLICANT):
        return False
    return program.pk in managed_program_ids(user)


@rule("iniciativas.correct_reach")
def can_correct_reach(user, initiative) -> bool:
    """Technical staff (evaluators, the director) of the case's department scope correct its
    beneficiaries and placement; never on their own unit's case."""
    if not has_role(user, Role.EVALUATOR, Role.DIRECTOR) or user.unit_id == initiative.unit_id:
        return False
    scope = department_scope_ids(user)
    return scope is None or initiative.department_id in scope
