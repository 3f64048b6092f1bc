"""Stable action codes of the audit trail, grouped by subject.

The values are stored and hashed: never rename or reuse one; add new ones freely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class AuditAction(models.TextChoices):
    # Authentication and permissions
    LOGIN = "auth.login", _("Logged in")
    LOGIN_FAILED = "auth.login_failed", _("Failed login")
    LOGOUT = "auth.logout", _("Logged out")
    ROLE_GRANTED = "auth.role_granted", _("Role granted")
    ROLE_REVOKED = "auth.role_revoked", _("Role revoked")
    SCOPE_GRANTED = "auth.scope_granted", _("Scope granted")
    SCOPE_REVOKED = "auth.scope_revoked", _("Scope revoked")
    PERMISSION_DENIED = "auth.permission_denied", _("Permission denied")
    PERMISSION_GRANTED = "auth.permission_granted", _("Permission granted")
    PERMISSION_REVOKED = "auth.permission_revoked", _("Permission revoked")
    USER_CREATED = "auth.user_created", _("User created")
    # Registry
    UNIT_REGISTERED = "unit.registered", _("Productive unit registered")
    UNIT_UPDATED = "unit.updated", _("Productive unit updated")
    UNIT_REGISTRATION_RENEWED = "unit.registration_renewed", _("Unit registration renewed")
    UNIT_MEMBER_ADDED = "unit.member_added", _("Member added to productive unit")
    UNIT_REGISTRATION_LAPSED = "unit.registration_lapsed", _("Unit registration lapsed")
    # Budget
    PROGRAM_CREATED = "budget.program_created", _("Program created")
    SOURCE_CREATED = "budget.source_created", _("Funding source created")
    SUBPROGRAM_CREATED = "budget.subprogram_created", _("Sub-program or project created")
    BUDGET_LINE_CREATED = "budget.line_created", _("Budget line created")
    BUDGET_LINE_MODIFIED = "budget.line_modified", _("Budget line amount modified")
    BUDGET_RESERVED = "budget.reserved", _("Budget reserved (certification)")
    BUDGET_RESERVATION_RELEASED = "budget.reservation_released", _("Budget reservation released")
    BUDGET_COMMITTED = "budget.committed", _("Budget committed")
    BUDGET_COMMITMENT_RELEASED = "budget.commitment_released", _("Budget commitment released")
    BUDGET_EXECUTED = "budget.executed", _("Budget executed (accrued)")
    BUDGET_PAID = "budget.paid", _("Budget paid")
    BUDGET_REFUNDED = "budget.refunded", _("Balance refunded")
    BUDGET_EXPENDITURE = "budget.expenditure", _("Operating expenditure executed")
    # Audit trail itself
    CHECKPOINT_SIGNED = "audit.checkpoint_signed", _("Checkpoint signed")
    TRAIL_EXPORTED = "audit.exported", _("Audit trail exported")
    TRAIL_VERIFIED = "audit.verified", _("Audit trail verified")
    # Documents
    DOCUMENT_UPLOADED = "document.uploaded", _("Document uploaded")
    OFFICIAL_SCAN_UPLOADED = "official_document.scan_uploaded", _("Signed scan of official document uploaded")
    OFFICIAL_RENDERED = "official_document.rendered", _("Official document's PDF generated")
    # Tasks and approvals
    TASK_CLAIMED = "task.claimed", _("Task claimed")
    TASK_RELEASED = "task.released", _("Task released")
    TASK_COMPLETED = "task.completed", _("Task decided")
    TASK_REFUSED = "task.refused", _("Task action refused")
    TASK_ESCALATED = "task.escalated", _("Task escalated")
    TASK_REASSIGNED = "task.reassigned", _("Escalated task reassigned")
    TASK_NO_CONFLICT_DECLARED = "task.no_conflict_declared", _("No conflict of interest declared")
    TASK_CONFLICT_DECLARED = "task.conflict_declared", _("Conflict of interest declared")
    DELEGATION_CREATED = "delegation.created", _("Inbox delegated")
    DELEGATION_REVOKED = "delegation.revoked", _("Delegation revoked")
    POLICY_VERSION_SAVED = "policy.version_saved", _("Approval policy version saved")
    POLICY_VERSION_ACTIVATED = "policy.version_activated", _("Approval policy version activated")
    SOD_PAIR_ADDED = "sod.pair_added", _("Incompatible step pair added")
    SOD_PAIR_REMOVED = "sod.pair_removed", _("Incompatible step pair removed")
    NON_WORKING_DAY_ADDED = "calendar.day_added", _("Non-working day added")
    NON_WORKING_DAY_REMOVED = "calendar.day_removed", _("Non-working day removed")
    # Productive initiatives (one entry per FSM transition; values are stable)
    CALL_OPENED = "call.opened", _("Call for proposals opened")
    CALL_UPDATED = "call.updated", _("Call for proposals edited")
    CALL_VERSIONED = "call.version_created", _("New version of a call for proposals")
    INITIATIVE_CREATED = "initiative.created", _("Initiative created")
    INITIATIVE_UPDATED = "initiative.updated", _("Initiative draft updated")
    INITIATIVE_SUBMITTED = "initiative.submitted", _("Initiative submitted")
    INITIATIVE_OBSERVED = "initiative.observed", _("Initiative observed")
    INITIATIVE_ANSWERED = "initiative.answered", _("Observations answered")
    INITIATIVE_ADMITTED = "initiative.admitted", _("Initiative admitted")
    INITIATIVE_EVALUATED = "initiative.evaluation_passed", _("Technical evaluation passed")
    INITIATIVE_APPROVED = "initiative.approved", _("Initiative approved")
    INITIATIVE_AGREEMENT_SIGNED = "initiative.agreement_signed", _("Agreement signed")
    INITIATIVE_EXECUTION_STARTED = "initiative.execution_started", _("Execution started")
    INITIATIVE_CLOSEOUT_STARTED = "initiative.closeout_started", _("Close-out started")
    INITIATIVE_CLOSED = "initiative.closed", _("Initiative closed")
    INITIATIVE_REJECTED = "initiative.rejected", _("Initiative rejected")
    INITIATIVE_WITHDRAWN = "initiative.withdrawn", _("Initiative withdrawn")
    INITIATIVE_ABANDONED = "initiative.abandoned", _("Initiative abandoned")
    INITIATIVE_CANCELLED = "initiative.cancelled", _("Initiative cancelled")
    INITIATIVE_RECOVERY_STARTED = "initiative.recovery_started", _("Recovery started")
    INITIATIVE_RECOVERED = "initiative.recovered", _("Funds recovered")
    INITIATIVE_RECOVERY_RECORDED = "initiative.recovery_recorded", _("Partial recovery deposit recorded")
    # Transfers
    TRANSFER_REQUESTED = "transfer.requested", _("Transfer requested")
    TRANSFER_VERIFICATION_STARTED = "transfer.verification_started", _("Transfer verification started")
    TRANSFER_VERIFIED = "transfer.verified", _("Technical and legal reports favourable")
    TRANSFER_APPROVED = "transfer.approved", _("Transfer approved")
    TRANSFER_AGREEMENT_SIGNED = "transfer.agreement_signed", _("Transfer agreement signed")
    TRANSFER_DELIVERY_STARTED = "transfer.delivery_started", _("Transfer delivery started")
    TRANSFER_DELIVERED = "transfer.delivered", _("Transfer delivered")
    TRANSFER_FOLLOWUP_STARTED = "transfer.followup_started", _("Transfer follow-up started")
    TRANSFER_CLOSED = "transfer.closed", _("Transfer closed")
    TRANSFER_REJECTED = "transfer.rejected", _("Transfer rejected")
    TRANSFER_ANNULLED = "transfer.annulled", _("Transfer annulled")
    TRANSFER_REVERTED = "transfer.reverted", _("Transfer reverted")
    # Reports: goals (metas) of the annual plan
    GOAL_SAVED = "goal.saved", _("Goal saved")
    GOAL_DELETED = "goal.deleted", _("Goal deleted")


# Actions a case kind brings with it, registered by the case
# app in ``AppConfig.ready``: the trail knows them without naming the app. Same rule: stable values.
_REGISTERED: dict[str, StrOrPromise] = {}


def register(choices) -> None:
    """Register ``(value, label)`` pairs as audit actions (a value registered twice must keep its label)."""
    for value, label in choices:
        value = str(value)
        if value in AuditAction.values or _REGISTERED.get(value, label) != label:
            raise ValueError(f"audit action {value!r} registered twice")
        _REGISTERED[value] = label


def choices() -> list[tuple[str, StrOrPromise]]:
    """Every known action: the trail's own and the registered ones."""
    return [*AuditAction.choices, *_REGISTERED.items()]


def values() -> list[str]:
    return [value for value, _label in choices()]


def is_known(value: str) -> bool:
    return value in AuditAction.values or value in _REGISTERED


def label(value: str) -> str:
    try:
        return str(AuditAction(value).label)
    except ValueError:
        return str(_REGISTERED.get(value, value))
