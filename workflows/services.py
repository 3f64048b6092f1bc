"""Writes of the workflows layer that are not decisions: case codes, and ``transition``, the one way
a case's state changes (permission, FSM, exit hooks, audit entry, flow in step, in the caller's
transaction)."""

from contextlib import contextmanager, nullcontext
from contextvars import ContextVar

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import TransitionNotAllowed
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.status import STATUS

import audit
from cases import kinds, memo
from cases.errors import Conflict

from .models import CaseCounter

# True while a task decision runs (``approvals.services.complete_task``): the flow then routes the
# case itself (viewflow completes the task), so a transition must not cancel the process under it.
_DECIDING: ContextVar[bool] = ContextVar("expediente_deciding", default=False)


@contextmanager
def deciding(case=None):
    """Mark the block as a task decision (see ``transition``) and share ``case`` — the row the
    decision locked and changes — with everything that runs inside it: the flow's gateways and each
    new task read that one instance (``CaseFlowMixin.get_case``), never the row again."""
    seed: dict = {CREATED_TASKS: []}
    if case is not None:
        seed[case_key(case)] = case
    token = _DECIDING.set(True)
    try:
        with memo.scope(seed) as shared:
            yield
            if shared.pop(UNSAVED, False):
                case.save()  # the transitions of the decision, in one write (``transition``)
    finally:
        _DECIDING.reset(token)


# Set in the memo when a transition inside a decision left the decision's case to be saved once,
# at the end of ``deciding``.
UNSAVED = ("case_unsaved",)


# The memo key under which a decision collects the human tasks its flow created (``HumanStep``).
CREATED_TASKS = ("created_tasks",)


def task_created(task) -> None:
    """A human task was just written (``HumanStep``): the decision running, if any, notes it."""
    memo.remember(CREATED_TASKS, list).append(task)


def created_tasks() -> list:
    """The human tasks created so far inside the running decision (``deciding``), oldest first."""
    return list(memo.remember(CREATED_TASKS, list))


CASE_BUSY = gettext_lazy("Someone else is working on this case right now; try again.")


def case_key(case) -> tuple:
    return ("case", kinds.for_model(case).code, case.pk)


def transition(case, name: str, *, actor, data: dict | None = None) -> None:
    """THE one way a case's state changes, for every caller: a task decision's step handler, a
    direct action (withdraw, cancel, annul, recover), the admin, a periodic job. On a case row the
    caller has locked, inside the caller's transaction:

    1. the transition's permission (its ``permission=`` in the FSM) for ``actor`` → ``PermissionDenied``;
    2. django-fsm fires it, checking its source state and conditions → ``Conflict`` (HTTP 409);
    3. the row is saved (inside a task decision, the decision's case once, when ``deciding`` ends);
    4. the kind's exit hooks for the new state run (``CaseKind.on_enter``: e.g. releasing the money
       the case holds on its budget line — row locks on budget lines come here, before the audit
       chain's lock);
    5. the audit entry (the kind's action for ``name``, with ``from``/``to`` and ``data``) is written:
       the chain lock is taken last (lock order: flow, case, budget lines, audit chain);
    6. the flow is brought into step: a direct action that ends the case's routing
       (``CaseKind.flow_stops``) cancels its open tasks; inside a task decision viewflow routes on.
    """
    kind = kinds.for_model(case)
    method = getattr(case, name)
    meta = method._django_fsm
    source = case.state
    if meta.has_transition(source) and not meta.has_transition_perm(case, source, actor):
        raise PermissionDenied(
            (kind.not_yours or _("You may not do this on case %(code)s.")) % {"code": case.code}
        )
    try:
        method()
    except TransitionNotAllowed as exc:
        message = kind.not_now or _("Case %(code)s is %(state)s: that action is not possible now.")
        raise Conflict(message % {"code": case.code, "state": case.get_state_display()}) from exc
    if _DECIDING.get() and memo.peek(case_key(case)) is case:
        # The decision's own case: everything in the decision reads this instance, and ``deciding``
        # writes it once at its end (a chain of transitions is one UPDATE, not one each).
        memo.remember(UNSAVED, lambda: True)
    else:
        case.save()
    for hook in kind.on_enter.get(case.state, ()):
        hook(case, actor=actor)
    audit.record(
        kind.actions[name], actor=actor, subject=case, data={"from": source, "to": case.state, **(data or {})}
    )
    if case.state in kind.flow_stops and not _DECIDING.get():
        cancel_open_tasks(kind.flow_class, kind.code, case.pk)


def may(case, name: str, user) -> bool:
    """Whether the case's state has transition ``name`` and ``user`` may fire it (its conditions are
    not checked: the action refuses with the reason when one fails). For pages deciding which
    actions to offer."""
    meta = getattr(case, name)._django_fsm
    state = case.state
    return meta.has_transition(state) and meta.has_transition_perm(case, state, user)


@contextmanager
def case_action(case_type: str, case_id: int):
    """A direct action on a case: take the case's flow lock (BEFORE the transaction, as viewflow
    requires), open the transaction and lock the case row, in the documented order; yields the
    locked case. ``transition`` then takes budget lines and the audit chain, in that order."""
    kind = kinds.get(case_type)
    try:
        with flow_locked(kind.flow_class, case_type, case_id), transaction.atomic():
            model = kind.model_class
            yield model.objects.select_for_update(of=("self",)).select_related(*kind.related).get(pk=case_id)
    except FlowLockFailed as exc:  # a decision on the case held its flow lock past lock_timeout
        raise Conflict(str(CASE_BUSY)) from exc


def advance_task_version(task, *, conflict: str, assign_to=None) -> None:
    """Claim the right to write ``task`` (a ``CaseTask``) as read: ``UPDATE … SET version = version
    + 1 WHERE pk = … AND status = <read status> AND version = <read version>``, in the caller's
    transaction. No row updated means someone changed the task since it was read (claimed,
    released, decided, reassigned): ``Conflict(conflict)`` (HTTP 409), and the caller's transaction
    rolls back. It relies on no lock — ``select_for_update`` does nothing on SQLite — the same way
    django-fsm-2's ``ConcurrentTransitionMixin`` guards a state field. On PostgreSQL the UPDATE
    also row-locks the task until commit, so a concurrent writer waits, re-reads and finds 0 rows.

    The instance is kept in step: viewflow's later full ``task.save()`` writes the new version
    back, never the stale one.

    ``assign_to`` (a user, for a NEW task): the same UPDATE also assigns the task to it — what
    viewflow's ``assign`` transition does (``status`` ASSIGNED, ``owner``), without its second,
    full-row write. The caller then skips ``activation.assign``."""
    from .models import CaseTask

    changes: dict = {"version": F("version") + 1}
    if assign_to is not None:
        if task.status != STATUS.NEW:
            raise ValueError("only a NEW task is assigned")
        changes.update(status=STATUS.ASSIGNED, owner_id=assign_to.pk)
    won = CaseTask.objects.filter(pk=task.pk, status=task.status, version=task.version).update(**changes)
    if not won:
        raise Conflict(conflict)
    task.version += 1
    if assign_to is not None:
        task.status = STATUS.ASSIGNED
        task.owner = assign_to
    # The row holds these values now: the task's next save need not write them again.
    task._remember_columns({"version", "status", "owner"} if assign_to is not None else {"version"})


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
    """The case's flow lock, to take BEFORE opening the transaction (it opens it: its lock wait must
    begin the transaction, whose lock order starts with it), so a concurrent decision waits — at
    most ``lock_timeout`` (``workflows.locks``)."""
    process = main_process(case_type, case_id)
    return flow_class.lock(process.pk) if process is not None else nullcontext()


def cancel_open_tasks(flow_class, case_type: str, case_id: int) -> None:
    """Cancel the case's running flow (its open tasks leave every inbox), inside the caller's
    transaction and flow lock."""
    process = main_process(case_type, case_id)
    if process is not None and process.status == "NEW":
        flow_class.instance.cancel(process)
