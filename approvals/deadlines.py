"""Services of the periodic deadline jobs: reminders, escalation of overdue tasks, expiry of
unanswered observations, and viewflow's own timers.

Run by Celery beat (``approvals.tasks``) and by ``python manage.py run_deadlines``, acting as the
system user (``cases.users.system_user()``); administrators may run them by hand.

Every job is idempotent and safe to run concurrently with itself and with people deciding tasks:
each task is re-checked under its process's flow lock (the lock ``complete_task`` takes), the mark
(``reminded_at``, ``escalated_at``) is a conditional ``UPDATE … WHERE … IS NULL`` whose row count says
whether this run won, and a process locked by someone else is skipped until the next run. A second
run finds nothing to do. Notifications are sent by Celery after commit (``approvals.notifications``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.utils import timezone
from viewflow.workflow.exceptions import FlowLockFailed

import audit
from audit.actions import AuditAction
from cases import contention
from cases.errors import Conflict
from cases.permissions import require, rule
from cases.roles import is_admin, is_system_user
from workflows.models import CaseTask

from . import notifications
from .calendar import add_business_days, is_business_day
from .models import NonWorkingDay, Step
from .steps import Decision

logger = logging.getLogger(__name__)

PERMISSION = "approvals.run_deadlines"


@rule(PERMISSION)
def can_run_deadlines(user, obj=None) -> bool:
    """The periodic jobs (system user) and administrators running them by hand."""
    return is_system_user(user) or is_admin(user)


def _open_human_tasks():
    return CaseTask.objects.filter(
        is_open=True, status__in=notifications.OPEN_STATUSES, due_at__isnull=False
    ).exclude(step="")


def _end_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59, 999999)))


def _under_flow_lock(task_id: int, work: Callable[[CaseTask], bool]) -> bool:
    """Run ``work(task)`` in one transaction holding the task's process lock (viewflow's
    ``select_for_update`` lock, as ``complete_task`` takes it), with the task row re-read under the
    lock. A process locked by someone else past the lock's retries is skipped (False): next run."""
    task = CaseTask.objects.select_related("process").filter(pk=task_id).first()
    if task is None:
        return False
    try:
        # The flow lock opens the transaction itself. Never nest it in an outer ``atomic``: a lock
        # not granted would then abort the outer transaction (PostgreSQL "current transaction is
        # aborted") along with the job's other work.
        with task.process.flow_class.lock(task.process_id):
            task.refresh_from_db()
            return bool(work(task))
    except FlowLockFailed:
        logger.info("task %s: its case is locked by someone else; left for the next run", task_id)
        return False
    except DatabaseError as exc:  # a row of the case held past lock_timeout, a deadlock: next run
        if contention.classify(exc) != contention.CONTENTION:
            raise
        logger.info("task %s: %s; left for the next run", task_id, exc)
        return False


def _reminder_windows(today: dt.date, departments: set[int | None]) -> dict[int | None, dt.datetime | None]:
    """For each department of the candidate tasks (``None``: a case with none), the end of its
    reminder window, or ``None`` when today is a non-working day there (a department's own
    non-working days count for its cases, as they do for their deadlines)."""
    days = int(settings.DEADLINE_REMINDER_BUSINESS_DAYS)
    return {
        department: (
            _end_of(add_business_days(today, days, department_id=department))
            if is_business_day(today, department_id=department)
            else None
        )
        for department in departments
    }


def remind_due_tasks(*, actor, now: dt.datetime | None = None) -> list[int]:
    """Open tasks due within ``DEADLINE_REMINDER_BUSINESS_DAYS`` business days (and not overdue),
    not reminded yet: mark ``reminded_at`` and remind whoever must act, once. Business days are those
    of the task's case: the national calendar and its department's own non-working days. Nothing is
    sent on a day that is not a business day for the case (the previous business day's run already
    covered the window). Returns the ids."""
    require(actor, PERMISSION)
    now = now or timezone.now()
    today = timezone.localdate(now)
    if not is_business_day(today):
        return []
    # A department's own non-working days only push its window later: read the tasks up to the
    # widest window (the departments with such days ahead, one query), then each against its own.
    days = int(settings.DEADLINE_REMINDER_BUSINESS_DAYS)
    local = set(
        NonWorkingDay.objects.filter(
            department__isnull=False, date__range=(today, today + dt.timedelta(days=days * 2 + 30))
        )
        .values_list("department_id", flat=True)
        .distinct()
    )
    widest = max(
        (w for w in _reminder_windows(today, {None, *local}).values() if w is not None),
        default=None,
    )
    if widest is None:
        return []
    candidates = list(
        _open_human_tasks()
        .filter(reminded_at__isnull=True, due_at__gt=now, due_at__lte=widest)
        .order_by("due_at", "pk")
        .values_list("pk", "department_id", "due_at")
    )
    windows = _reminder_windows(today, {department for _pk, department, _due in candidates})

    def horizon_of(department: int | None) -> dt.datetime | None:
        return windows.get(department)

    def remind(task: CaseTask) -> bool:
        horizon = horizon_of(task.department_id)
        if (
            horizon is None
            or not task.is_open
            or task.reminded_at is not None
            or task.due_at is None
            or not (now < task.due_at <= horizon)
        ):
            return False
        won = CaseTask.objects.filter(pk=task.pk, reminded_at__isnull=True).update(reminded_at=now)
        if won:
            notifications.after_reminder(task.pk)
        return bool(won)

    due = [
        pk
        for pk, department, due_at in candidates
        if (horizon := horizon_of(department)) is not None and due_at <= horizon
    ]
    return [pk for pk in due if _under_flow_lock(pk, remind)]


def escalate_overdue(*, actor, now: dt.datetime | None = None) -> list[int]:
    """Open tasks past their deadline that have an escalation role and were not escalated yet:
    mark ``escalated_at``, write ``task.escalated`` and tell the escalation role (once). Returns ids."""
    require(actor, PERMISSION)
    now = now or timezone.now()
    overdue = (
        _open_human_tasks().filter(escalated_at__isnull=True, due_at__lt=now).exclude(escalation_role="")
    )

    def escalate(task: CaseTask) -> bool:
        if (
            not task.is_open
            or task.escalated_at is not None
            or not task.escalation_role
            or task.due_at is None
            or task.due_at >= now
        ):
            return False
        won = CaseTask.objects.filter(pk=task.pk, escalated_at__isnull=True).update(escalated_at=now)
        if not won:
            return False
        audit.record(
            AuditAction.TASK_ESCALATED,
            actor=actor,
            subject=task,
            case=task.case_code,
            data={
                "task": task.pk,
                "step": task.step,
                "role": task.role,
                "escalation_role": task.escalation_role,
                "due_at": task.due_at,
                "holder": task.owner_id,
                "holder_label": task.owner.get_username() if task.owner is not None else "",
            },
        )
        notifications.after_escalation(task.pk)
        return True

    ids = list(overdue.order_by("due_at", "pk").values_list("pk", flat=True))
    return [pk for pk in ids if _under_flow_lock(pk, escalate)]


def expire_observations(*, actor, now: dt.datetime | None = None) -> list[str]:
    """The applicant's ``answer_observation`` tasks past their deadline are decided ``expire`` by
    the system through ``complete_task`` (the one path of every decision): the initiative ends
    ``abandoned`` (or ``rejected`` for an observation of the approval chain). Returns case codes."""
    from .services import complete_task

    require(actor, PERMISSION)
    now = now or timezone.now()
    expired = _open_human_tasks().filter(step=Step.ANSWER_OBSERVATION, due_at__lt=now)
    codes = []
    for pk, code in expired.order_by("due_at", "pk").values_list("pk", "case_code"):
        try:
            complete_task(pk, actor=actor, decision=Decision.EXPIRE)
        except Conflict:
            continue  # answered (or expired by another run) meanwhile, or the case is locked: next run
        except DatabaseError as exc:
            if contention.classify(exc) != contention.CONTENTION:
                raise
            continue  # a row of the case held past lock_timeout, a deadlock: next run
        except (PermissionDenied, ValidationError):
            logger.exception("task %s of %s could not be expired", pk, code)
            continue
        codes.append(code)
    return codes


def fire_timers() -> int:
    """viewflow's database timers (``flow.Timer`` nodes); none of our flows uses one yet."""
    from viewflow.workflow.timers import fire_due_timers

    return fire_due_timers()


def run_deadlines(*, actor, now: dt.datetime | None = None) -> dict[str, int]:
    """Every deadline job once, in a safe order (expiry before escalation), then the sweep of
    e-mails still owed. Returns counts."""
    require(actor, PERMISSION)
    now = now or timezone.now()
    counts = {"timers": fire_timers()}
    counts["expired"] = len(expire_observations(actor=actor, now=now))
    counts["escalated"] = len(escalate_overdue(actor=actor, now=now))
    counts["reminded"] = len(remind_due_tasks(actor=actor, now=now))
    counts["emails"] = notifications.send_pending_emails()
    return counts
