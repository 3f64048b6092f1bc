"""Permission rules of the reports (``require(actor, "reports.<perm>", program)``)."""

from __future__ import annotations

from cases.permissions import rule
from cases.roles import is_admin, is_system_user


def manages_program(user, program) -> bool:
    """``user`` is a program manager of ``program`` (a ``budget.Program`` or its id): it holds the
    program's management (``budget.manage_program``, ``budget.selectors.managed_program_ids``), the
    same grant with which it configures the program's calls."""
    from budget.selectors import managed_program_ids

    if program is None:
        return False
    return getattr(program, "pk", program) in managed_program_ids(user)


@rule("reports.manage_goals")
def can_manage_goals(user, program=None) -> bool:
    """The goals of the annual plan (POA) of a program, and their progress: administrators, and the
    program's managers (and the system user, for data imports such as ``seed_demo``). A goal of the
    whole agency (no program): administrators only."""
    return is_admin(user) or is_system_user(user) or manages_program(user, program)
