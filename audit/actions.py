"""Stable action codes of the audit trail, grouped by subject.

The values are stored and hashed: never rename or reuse one; add new ones freely.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


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
    # Tasks and approvals
    TASK_CLAIMED = "task.claimed", _("Task claimed")
    TASK_RELEASED = "task.released", _("Task released")
    TASK_COMPLETED = "task.completed", _("Task decided")
    TASK_REFUSED = "task.refused", _("Task action refused")
    TASK_ESCALATED = "task.escalated", _("Task escalated")
    DELEGATION_CREATED = "delegation.created", _("Inbox delegated")
    DELEGATION_REVOKED = "delegation.revoked", _("Delegation revoked")
    POLICY_VERSION_SAVED = "policy.version_saved", _("Approval policy version saved")
    SOD_PAIR_ADDED = "sod.pair_added", _("Incompatible step pair added")
    SOD_PAIR_REMOVED = "sod.pair_removed", _("Incompatible step pair removed")
    NON_WORKING_DAY_ADDED = "calendar.day_added", _("Non-working day added")
    NON_WORKING_DAY_REMOVED = "calendar.day_removed", _("Non-working day removed")
    # Productive initiatives (one entry per FSM transition; values are stable)
    CALL_OPENED = "call.opened", _("Call for proposals opened")
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
