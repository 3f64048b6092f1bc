"""Permission rules of the budget (``require(actor, "budget.<perm>", obj)``)."""

from __future__ import annotations

from cases.permissions import rule
from cases.roles import Role, has_role, is_admin, is_system_user

from .models import BudgetLine, Program
from .selectors import in_program_scope


def _finance_or_admin(user) -> bool:
    return is_system_user(user) or is_admin(user) or has_role(user, Role.FINANCE)


@rule("budget.create_program")
def can_create_program(user, obj=None) -> bool:
    return _finance_or_admin(user)


@rule("budget.create_subprogram")
def can_create_subprogram(user, program: Program | None = None) -> bool:
    """Finance and administrators, within their program scopes."""
    return _finance_or_admin(user) and (program is None or in_program_scope(user, program))


@rule("budget.create_source")
def can_create_source(user, obj=None) -> bool:
    return _finance_or_admin(user)


@rule("budget.create_line")
def can_create_line(user, program: Program | None = None) -> bool:
    """Finance and administrators, within their program scopes (``program=None``: the role alone)."""
    if not _finance_or_admin(user):
        return False
    return program is None or in_program_scope(user, program)


@rule("budget.modify_line")
def can_modify_line(user, line: BudgetLine | None = None) -> bool:
    return _finance_or_admin(user) and in_program_scope(user, line.program if line else None)


@rule("budget.record_expenditure")
def can_record_expenditure(user, line: BudgetLine | None = None) -> bool:
    """Operating expenditure is a money move: finance only (within its program scopes)."""
    if not (is_system_user(user) or has_role(user, Role.FINANCE)):
        return False
    return in_program_scope(user, line.program if line else None)


@rule("budget.manage_scopes")
def can_manage_scopes(user, obj=None) -> bool:
    return is_admin(user) or is_system_user(user)
