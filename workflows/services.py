"""Writes of the workflows layer that are not decisions: case codes, and the one way a case's FSM
moves (transition + save + audit entry, in the caller's transaction)."""

from contextlib import nullcontext

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_fsm import TransitionNotAllowed

import audit
from cases.errors import Conflict

from .models import CaseCounter


def run_transition(case, name: str, *, actor, action: str, refused: str, data: dict | None = None) -> None:
    """Run FSM transition ``name`` on a locked case row, save it, and write its audit entry
    ``action`` with ``from``/``to`` (and ``data``). ``refused``: the message of the 409 when the
    state does not allow it, with ``%(code)s`` and ``%(state)s``."""
    source = case.state
    try:
        getattr(case, name)()
    except TransitionNotAllowed as exc:
        raise Conflict(refused % {"code": case.code, "state": case.get_state_display()}) from exc
    case.save()
    audit.record(action, actor=actor, subject=case, data={"from": source, "to": case.state, **(data or {})})


def advance_task_version(task, *, conflict: str) -> None:
    """Claim the right to write ``task`` (a ``CaseTask``) as read: ``UPDATE … SET version = version
    + 1 WHERE pk = … AND status = <read status> AND version = <read version>``, in the caller's
    transaction. No row updated means someone changed the task since it was read (claimed,
    released, decided, reassigned): ``Conflict(conflict)`` (HTTP 409), and the caller's transaction
    rolls back. It relies on no lock — ``select_for_update`` does nothing on SQLite — the same way
    django-fsm-2's ``ConcurrentTransitionMixin`` guards a state field. On PostgreSQL the UPDATE
    also row-locks the task until commit, so a concurrent writer waits, re-reads and finds 0 rows.

    The instance is kept in step: viewflow's later full ``task.save()`` writes the new version
    back, never the stale one."""
    from .models import CaseTask

    won = CaseTask.objects.filter(pk=task.pk, status=task.status, version=task.version).update(
        version=F("version") + 1
    )
    if not won:
        raise Conflict(conflict)
    task.version += 1


@transaction.atomic
def next_case_code(prefix: str) -> str:
    """``PREFIX-YYYY-NNNNNN``, gapless per prefix and year (the counter row is locked)."""
    year = timezone.localdate().year
    CaseCounter.objects.get_or_create(prefix=prefix, year=year)
    counter = CaseCounter.objects.select_for_update().get(prefix=prefix, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{prefix}-{year}-{counter.last:06d}"


def main_process(case_type: str, case_id: int):
    """The case's main flow process (``CaseProcess``), or None before the case entered a flow."""
    from .models import CaseProcess

    return CaseProcess.objects.filter(case_type=case_type, case_id=case_id, purpose="main").first()


def flow_locked(flow_class, case_type: str, case_id: int):
    """The case's flow lock, to take BEFORE opening the transaction (viewflow's lock retries with
    ``nowait``, which only works as the outermost block), so a concurrent decision waits."""
    process = main_process(case_type, case_id)
    return flow_class.lock(process.pk) if process is not None else nullcontext()


def cancel_open_tasks(flow_class, case_type: str, case_id: int) -> None:
    """Cancel the case's running flow (its open tasks leave every inbox), inside the caller's
    transaction and flow lock."""
    process = main_process(case_type, case_id)
    if process is not None and process.status == "NEW":
        flow_class.instance.cancel(process)
