"""Permission rules of the reports (``require(actor, "reports.<perm>")``)."""

from __future__ import annotations

from cases.permissions import rule
from cases.roles import is_admin


@rule("reports.manage_goals")
def can_manage_goals(user, obj=None) -> bool:
    """The goals of the annual plan are set by administrators only (in the Django admin)."""
    return is_admin(user)
