"""Permission rules of the audit trail (``require(actor, "audit.<perm>")``)."""

from cases.permissions import rule

from .selectors import can_view_trail


@rule("audit.view_trail")
def can_read_trail(user, obj=None) -> bool:
    """Read, verify and export the whole trail: internal control and administrators."""
    return can_view_trail(user)
