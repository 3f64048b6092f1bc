"""Celery tasks of the approvals app: notifications (sent after commit) and the periodic deadline
jobs (scheduled by ``CELERY_BEAT_SCHEDULE``; also ``python manage.py run_deadlines``).

Notification tasks are retried with exponential back-off and acknowledged late (a worker that dies
mid-task leaves the message to be redelivered); they are idempotent by the unique
``(user, event_key)`` of ``Notification``, so a redelivery or a retry never notifies twice (see
``approvals.notifications`` for the one e-mail crash window). Without a broker (the embedded set-up)
they run in-process right after the commit.

The periodic jobs are not auto-retried: the next scheduled run is the retry, and every job is
idempotent and safe to run concurrently.
"""

from __future__ import annotations

from celery import shared_task

RETRIED = {
    "autoretry_for": (Exception,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
}


# --- notifications -------------------------------------------------------------------------------------


@shared_task(name="approvals.notify_new_tasks", **RETRIED)
def notify_new_tasks(task_ids: list[int]) -> int:
    from .notifications import notify_new_tasks as run

    return run(task_ids)


@shared_task(name="approvals.notify_decision", **RETRIED)
def notify_decision(
    decided_task_id: int, new_task_ids: list[int], from_state: str = "", to_state: str = ""
) -> int:
    from .notifications import notify_decision as run

    return run(decided_task_id, new_task_ids, from_state, to_state)


@shared_task(name="approvals.notify_reminder", **RETRIED)
def notify_reminder(task_id: int) -> int:
    from .notifications import notify_reminder as run

    return run(task_id)


@shared_task(name="approvals.notify_escalation", **RETRIED)
def notify_escalation(task_id: int) -> int:
    from .notifications import notify_escalation as run

    return run(task_id)


@shared_task(name="approvals.notify_reassignment", **RETRIED)
def notify_reassignment(task_id: int, previous_holder_id: int | None = None, version: int = 0) -> int:
    from .notifications import notify_reassignment as run

    return run(task_id, previous_holder_id, version)


@shared_task(name="approvals.notify_delegation", **RETRIED)
def notify_delegation(delegation_id: int) -> int:
    from .notifications import notify_delegation as run

    return run(delegation_id)


@shared_task(name="approvals.notify_payment", **RETRIED)
def notify_payment(
    case_type: str, case_id: int, case_code: str, unit_id: int, number: int, amount: str, reference: str = ""
) -> int:
    from .notifications import notify_payment as run

    return run(case_type, case_id, case_code, unit_id, number, amount, reference)


@shared_task(name="approvals.send_task_digests", acks_late=True)
def send_task_digests() -> int:
    """Periodic: one e-mail per person summarising their new tasks since the last one."""
    from .notifications import send_digests

    return send_digests()


@shared_task(name="approvals.send_pending_emails", acks_late=True)
def send_pending_emails() -> int:
    """Sweep: e-mails still owed after the notification tasks' retries (every few minutes)."""
    from .notifications import send_pending_emails as run

    return run()


# --- periodic deadline jobs (act as the system user) ---------------------------------------------------


def _system():
    from cases.users import system_user

    return system_user()


@shared_task(name="approvals.fire_due_timers", acks_late=True)
def fire_due_timers() -> int:
    """viewflow's ``fire_due_timers()`` (flow.Timer nodes)."""
    from .deadlines import fire_timers

    return fire_timers()


@shared_task(name="approvals.send_reminders", acks_late=True)
def send_reminders() -> int:
    from .deadlines import remind_due_tasks

    return len(remind_due_tasks(actor=_system()))


@shared_task(name="approvals.escalate_overdue", acks_late=True)
def escalate_overdue() -> int:
    from .deadlines import escalate_overdue as run

    return len(run(actor=_system()))


@shared_task(name="approvals.expire_observations", acks_late=True)
def expire_observations() -> int:
    from .deadlines import expire_observations as run

    return len(run(actor=_system()))


@shared_task(name="approvals.run_deadlines", acks_late=True)
def run_deadlines() -> dict[str, int]:
    """All deadline jobs once (what ``manage.py run_deadlines`` does)."""
    from .deadlines import run_deadlines as run

    return run(actor=_system())
