"""The task inbox's writes: claim, release, decide, reassign an escalated task; delegations; policy
versions.

``complete_task`` is the ONE way a human step is decided: it locks the process (viewflow's
``select_for_update`` lock) and the case, checks who may act (role, scope, four eyes, delegation),
validates the step's data, runs the step's domain effect (FSM transitions, budget moves), completes
the viewflow task (which routes the case to its next step), and writes the audit entry — all in one
transaction. A refused attempt changes nothing and is itself audited. Every write on a task is
guarded by a conditional UPDATE on the task's status and version (``advance_task_version``), which
holds without any lock, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.status import STATUS

import audit
from audit.actions import AuditAction
from audit.chain import to_jsonable
from cases import kinds, sqltemplate, tx
from cases.errors import Conflict
from cases.permissions import require, rule
from cases.roles import STAFF_ROLES, Role, has_role, is_admin, is_system_user, narrow_roles, roles_of
from workflows.models import CaseTask
from workflows.services import advance_task_version, created_tasks, deciding

from . import notifications, sod
from .models import ApprovalPolicy, Delegation, IncompatibleSteps, NonWorkingDay, PolicyStep, Step
from .steps import NO_CONFLICT_FIELD, Decision, StepContext, clean_data, spec_for


def case_model(case_type: str):
    """The case model of a task's or process's ``case_type`` (the registered kind's)."""
    return kinds.get(case_type).model_class


def case_of(task: CaseTask, *, lock: bool = False):
    """The task's case, with what its pages and its flow read of it (the kind's and the flow's
    ``select_related``) in the same query; ``lock``: its row only is locked."""
    kind = kinds.get(task.case_type)

    def build(pk: int):
        related = dict.fromkeys((*kind.related, *getattr(kind.flow_class, "case_related", ())))
        qs = kind.model_class.objects.select_related(*related)
        if lock:
            qs = qs.select_for_update(of=("self",))
        return qs.filter(pk=pk)

    # The SQL of this join is built once per kind (``cases.sqltemplate``): every decision reads it.
    return sqltemplate.instance(("approvals.case_of", task.case_type, lock), build, {"pk": task.case_id})


# --- who may work a task ---------------------------------------------------------------------------


REQUEST_MEMO = "_expediente_delegation_memo"


def active_delegations(user, *, on: dt.date | None = None, role: str | None = None) -> list[Delegation]:
    """Delegations ``user`` holds today (within their dates, not revoked), whose delegator and
    delegate are both active and both still hold the delegated role. ``role``: only that role's.

    Inside a web request (``approvals.middleware.DelegationMemoMiddleware`` gives the request's user
    a memo) today's answer is read once and shared by the view and the site header; outside a
    request (services, tasks, tests) every call reads the database."""
    if user is None or not getattr(user, "pk", None) or not user.is_active:
        return []
    memo = getattr(user, REQUEST_MEMO, None) if on is None else None
    if memo is not None and "today" in memo:
        found = memo["today"]
    else:
        today = on or timezone.localdate()
        rows = Delegation.objects.filter(
            delegate=user, starts_on__lte=today, ends_on__gte=today, revoked_at__isnull=True
        ).select_related("delegator")
        found = [
            d
            for d in rows.order_by("pk")
            if d.delegator.is_active and has_role(d.delegator, d.role) and has_role(user, d.role)
        ]
        if memo is not None:
            memo["today"] = found
    return [d for d in found if role is None or d.role == role]


def forget_delegations(*users) -> None:
    """Drop the request memo of these user instances (a delegation of theirs changed)."""
    for user in users:
        memo = getattr(user, REQUEST_MEMO, None)
        if memo is not None:
            memo.clear()


def active_delegators(user, *, on: dt.date | None = None, role: str | None = None) -> list:
    """Users whose inbox ``user`` holds today by a delegation (same role, within its dates).
    ``role``: only delegations of that role.

    A delegation covers the delegated role's tasks only: each returned user's role cache
    (``cases.roles.roles_of``) is narrowed to the roles delegated to ``user``, so every role check
    made on it — ``refusal_reason``, the inbox's SQL filter — sees exactly what the delegation covers.
    These are fresh copies, never the delegator's own session user nor the instances
    ``active_delegations`` returns (those keep their full roles, so a later call narrows afresh)."""
    from cases.roles import narrow_roles, roles_of

    delegated: dict[int, set[str]] = {}
    originals = []
    for d in active_delegations(user, on=on, role=role):
        if d.delegator_id not in delegated:
            delegated[d.delegator_id] = set()
            originals.append(d.delegator)
        delegated[d.delegator_id].add(d.role)
    users = []
    for original in originals:
        delegator = copy.copy(original)
        narrow_roles(delegator, frozenset(roles_of(original) & delegated[original.pk]))
        users.append(delegator)
    return users


class TaskHeldByOther(Conflict, PermissionDenied):
    """The task is held by someone else. A refusal, audited like every ``PermissionDenied`` (and
    caught as one), whose HTTP answer is 409 as API.md wants when the task's state does not allow
    the action: the API's handler and the pages test ``Conflict`` first."""


# The refusals written to the audit trail (``task.refused``), whoever calls the service.
AUDITED_REFUSALS = (PermissionDenied,)

APPLICANT_TASK_NOT_CLAIMED = gettext_lazy(
    "Steps of the applicant unit are not claimed or released: every member of the unit finds them in "
    "“My tasks” and any of them may answer."
)


def _refusal_code(user, task: CaseTask, pairs=None) -> str | None:
    """Why ``user`` may not work ``task`` itself, as a code (None: it may). Shared by the messages
    addressed to the user (``refusal_reason``) and about a colleague (``candidate_refusal``)."""
    code = scope_refusal_code(user, task)
    if code is not None:
        return code
    if task.role == Role.APPLICANT:
        return None
    if sod.acted_as_applicant(user, task.case_code):
        return "applicant_side"
    if sod.declared_conflict(user, task):
        return "declared_conflict"
    conflict = sod.conflict(user, task, pairs)
    return FOUR_EYES_CODES[conflict] if conflict is not None else None


def scope_refusal_code(user, task: CaseTask) -> str | None:
    """The part of ``_refusal_code`` that is about who ``user`` is, not what it did on the case:
    inactive, another unit's step, another role, its own unit's case, outside its department or
    program scope (None: the task is within its role and scope). A task outside them is one the
    user may not even learn exists: the API and the pages answer 404 to any method on it."""
    from budget.selectors import program_scope_ids
    from registry.selectors import department_scope_ids

    if not user.is_active:
        return "inactive"
    if task.role == Role.APPLICANT:
        if not has_role(user, Role.APPLICANT):
            return "unit"
        if task.unit_id is None:  # a case with no unit yet: the step is its applicant's, in person
            return None if task.owner_id == user.pk else "unit"
        return None if user.unit_id == task.unit_id else "unit"
    if not has_role(user, task.role):
        return "role"
    if user.unit_id and user.unit_id == task.unit_id:
        return "own_unit"
    if task.scope_department:
        depts = department_scope_ids(user)
        if depts is not None and task.department_id not in depts:
            return "department"
    if task.scope_program:
        programs = program_scope_ids(user)
        if programs is not None and task.program_id not in programs:
            return "program"
    return None


# ``sod.conflict`` -> the refusal code.
FOUR_EYES_CODES = {"decided": "four_eyes", "held": "four_eyes_held"}


def _own_four_eyes_reason(code: str, case_code: str) -> str:
    """Why four eyes or the applicant side stops the user, itself or as someone's delegate."""
    return {
        "applicant_side": _(
            "Segregation of duties: you acted for the applicant on case %(code)s, so you cannot act "
            "as staff on it."
        ),
        "four_eyes": _("Segregation of duties: you already decided an incompatible step of case %(code)s."),
        "four_eyes_held": _(
            "Segregation of duties: you already hold a step of case %(code)s that one person may not "
            "do as well as this one; this one is for a colleague."
        ),
        "declared_conflict": _(
            "You declared a conflict of interest with case %(code)s: its evaluations are for colleagues."
        ),
    }[code] % {"code": case_code}


def refusal_reason(user, task: CaseTask, *, pairs=None) -> str | None:
    """Why ``user`` itself may not work ``task`` (None: it may)."""
    code = _refusal_code(user, task, pairs)
    if code is None:
        return None
    if code in ("applicant_side", "declared_conflict", *FOUR_EYES_CODES.values()):
        return _own_four_eyes_reason(code, task.case_code)
    params = {"role": Role(task.role).label if task.role else ""}
    return {
        "inactive": _("Your account is inactive."),
        "unit": _("Only members of the applicant unit can do this step."),
        "role": _("This step is for the %(role)s role."),
        "own_unit": _("A member of the applicant unit cannot act as staff on its own case."),
        "department": _("This case is outside your departments."),
        "program": _("This case is outside your programs."),
    }[code] % params


def candidate_refusal(user, task: CaseTask, *, pairs=None) -> str | None:
    """Why ``task`` may not be given to ``user`` (a colleague, by reassignment); None: it may."""
    code = _refusal_code(user, task, pairs)
    if code is None:
        return None
    params = {
        "name": user.get_full_name() or user.get_username(),
        "code": task.case_code,
        "role": Role(task.role).label if task.role else "",
    }
    return {
        "inactive": _("%(name)s's account is inactive."),
        "unit": _("%(name)s is not a member of the applicant unit."),
        "role": _("%(name)s does not hold the %(role)s role this step needs."),
        "own_unit": _("%(name)s is a member of the applicant unit of case %(code)s."),
        "department": _("Case %(code)s is outside %(name)s's departments."),
        "program": _("Case %(code)s is outside %(name)s's programs."),
        "applicant_side": _(
            "Segregation of duties: %(name)s acted for the applicant on case %(code)s and cannot act "
            "as staff on it."
        ),
        "four_eyes": _(
            "Segregation of duties: %(name)s already decided an incompatible step of case %(code)s."
        ),
        "four_eyes_held": _(
            "Segregation of duties: %(name)s already holds a step of case %(code)s that one person may "
            "not do as well as this one."
        ),
        "declared_conflict": _("%(name)s declared a conflict of interest with case %(code)s."),
    }[code] % params


def acting_principal(actor, task: CaseTask):
    """The user on whose behalf ``actor`` works ``task``: itself, or a delegator whose inbox it
    holds. Raises ``PermissionDenied`` with the reason when neither may, ``TaskHeldByOther`` when
    the task is held by someone it does not stand in for. A task of the applicant unit belongs to
    every member of the unit, whoever its viewflow owner is.

    The usual case — the actor may work the task itself — is answered by ONE query
    (``selectors.eligible_users``: role, scopes, applicant side and four eyes, the pairs joined in
    the SQL); only when it may not are delegations and the reasons read, check by check."""
    from .selectors import may_work_itself

    if (task.role == Role.APPLICANT or task.owner_id in (None, actor.pk)) and actor.is_active:
        may, roles = may_work_itself(actor, task)
        if getattr(actor, "_expediente_roles", None) is None:
            narrow_roles(actor, roles)  # the transition's permission asks them next
        if may:
            return actor
    pairs = sod.incompatible_map()
    # Applicant steps are never delegated (delegations are between staff of one role).
    delegators = active_delegators(actor, role=task.role) if task.role != Role.APPLICANT else []
    if task.owner_id and task.role != Role.APPLICANT:
        candidates = [u for u in [actor, *delegators] if u.pk == task.owner_id]
        if not candidates:
            raise TaskHeldByOther(_("This task is assigned to someone else."))
    else:
        candidates = [actor, *delegators]
    first_reason = None
    for principal in candidates:
        reason = refusal_reason(principal, task, pairs=pairs)
        if reason is None and principal.pk != actor.pk:
            # Acting for someone else never lets a person decide two incompatible steps (nor take
            # one incompatible with a step it holds), nor act as staff on a case it acted on for
            # the applicant.
            if sod.acted_as_applicant(actor, task.case_code):
                reason = _own_four_eyes_reason("applicant_side", task.case_code)
            elif sod.declared_conflict(actor, task):
                reason = _own_four_eyes_reason("declared_conflict", task.case_code)
            elif (conflict := sod.conflict(actor, task, pairs)) is not None:
                reason = _own_four_eyes_reason(FOUR_EYES_CODES[conflict], task.case_code)
        if reason is None:
            return principal
        first_reason = first_reason or reason
    raise PermissionDenied(first_reason)


def _refused(actor, task_id: int, exc: Exception, action: str) -> None:
    """Record a refused attempt in its own transaction (the attempt itself rolled back)."""
    task = CaseTask.objects.filter(pk=task_id).first()
    with transaction.atomic():
        audit.record(
            AuditAction.TASK_REFUSED,
            actor=actor,
            subject=task,
            case=task.case_code if task else "",
            data={
                "task": task_id,
                "attempt": action,
                "refused_step": task.step if task else "",
                "reason": " ".join(getattr(exc, "messages", [str(exc)])),
            },
        )


def _task_and_flow(task_id: int) -> tuple[CaseTask, Any]:
    task = CaseTask.objects.select_related("process").get(pk=task_id)
    flow_class = task.process.flow_class
    return task, flow_class


def _process_and_flow(task_id: int) -> tuple[int, Any]:
    """What taking a task's flow lock needs (its process and the process's flow), in one narrow
    read: a decision reads the whole task once, under the lock (``_read_locked``)."""
    rows = sqltemplate.run(("approvals.process_and_flow",), _process_and_flow_of, {"pk": task_id})
    if not rows:
        raise CaseTask.DoesNotExist(f"task {task_id} does not exist")
    return rows[0]


def _process_and_flow_of(pk: int):
    return CaseTask.objects.filter(pk=pk).values_list("process_id", "process__flow_class")


def _read_locked(task_id: int) -> CaseTask:
    """The task read again once its flow's lock is held, with its process (what viewflow's
    activation reads): one query, where ``refresh_from_db`` and the process would be two."""
    return sqltemplate.instance(("approvals.read_locked",), _task_with_process, {"pk": task_id})


def _task_with_process(pk: int):
    return CaseTask.objects.select_related("process").filter(pk=pk)


# --- claim / release ---------------------------------------------------------------------------------

LOCKED = gettext_lazy("Someone else is working on this case right now; try again.")


def _audited(attempt: str, task_id: int, actor, work):
    """Run ``work()``; a refusal (``AUDITED_REFUSALS``) is recorded as ``task.refused`` in its own
    transaction once the attempt rolled back, then raised."""
    try:
        return work()
    except AUDITED_REFUSALS as exc:
        _refused(actor, task_id, exc, attempt)
        raise


def claim_task(task_id: int, *, actor) -> CaseTask:
    return _audited("claim", task_id, actor, lambda: _claim_task(task_id, actor=actor))


def _claim_task(task_id: int, *, actor) -> CaseTask:
    task, flow_class = _task_and_flow(task_id)
    if task.role == Role.APPLICANT:
        raise PermissionDenied(str(APPLICANT_TASK_NOT_CLAIMED))
    taken = _("This task has already been taken or decided.")
    try:
        with flow_class.lock(task.process_id), transaction.atomic():
            task.refresh_from_db()
            if task.status != STATUS.NEW:
                raise Conflict(taken)
            principal = acting_principal(actor, task)
            advance_task_version(task, conflict=taken, assign_to=principal)
            notifications.settle_new_task(task.pk, holder_id=principal.pk if principal else actor.pk)
            audit.record(
                AuditAction.TASK_CLAIMED,
                actor=actor,
                subject=task,
                case=task.case_code,
                data=_task_audit_data(task, actor, principal),
            )
    except FlowLockFailed as exc:
        raise Conflict(str(LOCKED)) from exc
    return task


def release_task(task_id: int, *, actor) -> CaseTask:
    """Give back a task the actor holds (for itself or a delegator). Releasing someone else's task
    is refused and audited like a forced claim or decision."""
    return _audited("release", task_id, actor, lambda: _release_task(task_id, actor=actor))


def _release_task(task_id: int, *, actor) -> CaseTask:
    task, flow_class = _task_and_flow(task_id)
    if task.role == Role.APPLICANT:
        raise PermissionDenied(str(APPLICANT_TASK_NOT_CLAIMED))
    not_held = _("Only a task you hold can be released.")
    try:
        with flow_class.lock(task.process_id), transaction.atomic():
            task.refresh_from_db()
            if task.status != STATUS.ASSIGNED:
                raise Conflict(not_held)
            if task.owner_id not in {actor.pk, *(u.pk for u in active_delegators(actor, role=task.role))}:
                raise TaskHeldByOther(_("This task is assigned to someone else."))
            principal = task.owner
            advance_task_version(task, conflict=not_held)
            activation = task.flow_task.activation_class(task)
            activation.unassign()
            audit.record(
                AuditAction.TASK_RELEASED,
                actor=actor,
                subject=task,
                case=task.case_code,
                data=_task_audit_data(task, actor, principal),
            )
    except FlowLockFailed as exc:
        raise Conflict(str(LOCKED)) from exc
    return task


def _task_audit_data(task, actor, principal) -> dict:
    data = {"task": task.pk, "step": task.step}
    if principal is not None and principal.pk != actor.pk:
        data["on_behalf_of"] = principal.pk
        data["on_behalf_of_label"] = principal.get_username()
    return data


# --- decide ------------------------------------------------------------------------------------------


def complete_task(task_id: int, *, actor, decision: str, comment: str = "", data: dict | None = None):
    """Decide a task. Returns the case after the decision (its new state)."""
    return _audited(
        "complete",
        task_id,
        actor,
        lambda: _complete_task(task_id, actor=actor, decision=decision, comment=comment, data=data),
    )


def _complete_task(task_id: int, *, actor, decision: str, comment: str, data: dict | None):
    process_id, flow_class = _process_and_flow(task_id)
    comment = (comment or "").strip()
    try:
        # viewflow's select_for_update lock already holds a transaction: no savepoint of our own
        # inside it (an error rolls the whole decision back anyway); with a lock that holds none,
        # this opens the transaction.
        with flow_class.lock(process_id), transaction.atomic(savepoint=False), tx.whole(), audit.batch():
            task = _read_locked(task_id)
            decided = _("This task has already been decided.")
            if task.status not in (STATUS.NEW, STATUS.ASSIGNED):
                raise Conflict(decided)
            system_expiry = decision == Decision.EXPIRE
            if system_expiry:
                if not is_system_user(actor):
                    raise PermissionDenied(_("Only the system can expire a task."))
                principal = actor
            else:
                principal = acting_principal(actor, task)
            spec = spec_for(task.case_type, task.step)
            if decision not in spec.decisions and not (system_expiry and Decision.EXPIRE in spec.decisions):
                raise ValidationError(
                    {"decision": [_("This step accepts: %(list)s.") % {"list": ", ".join(spec.decisions)}]}
                )
            if decision in (Decision.OBSERVE, Decision.REJECT) and not comment:
                raise ValidationError({"comment": [_("Give the reasons for this decision.")]})
            case = case_of(task, lock=True)
            cleaned = {} if system_expiry else clean_data(spec.fields(task, case), decision, data)
            if spec.asks_declaration and not system_expiry:
                _require_declaration(task, actor, principal, cleaned)
            from_state = getattr(case, "state", "")

            # The task as read is the task decided: a stale read (another session claimed, released
            # or decided it meanwhile) updates no row and nothing below runs.
            advance_task_version(
                task, conflict=decided, assign_to=principal if task.status == STATUS.NEW else None
            )
            activation = task.flow_task.activation_class(task)
            ctx = StepContext(
                task=task,
                case=case,
                actor=actor,
                on_behalf_of=principal if principal.pk != actor.pk else None,
                decision=decision,
                comment=comment,
                data=cleaned,
            )
            # One view of the case for the whole decision: the handler changes this instance, and
            # the flow's gateways and new tasks read it (``workflows.services.deciding``).
            with deciding(case):
                spec.handle(ctx)
                task.decided_by = actor
                task.data = {
                    **(task.data or {}),
                    "decision": decision,
                    "comment": comment,
                    "data": to_jsonable(ctx.data),
                }
                activation.start(None)
                activation.execute()  # completes the task and routes the case to its next step(s)
                new_tasks = created_tasks()

            audit.record(
                AuditAction.TASK_COMPLETED,
                actor=actor,
                subject=case,
                data={
                    **_task_audit_data(task, actor, principal),
                    "decision": decision,
                    "comment": comment,
                    "from_state": from_state,
                    "to_state": getattr(case, "state", ""),
                    "data": ctx.data,
                    **ctx.audit_data,
                },
            )
            # After commit: tell whoever must act next, and the applicant about a new state.
            notifications.after_decision(task, case, from_state=from_state, new_tasks=new_tasks)
    except FlowLockFailed as exc:
        raise Conflict(str(LOCKED)) from exc
    return case


def _require_declaration(task: CaseTask, actor, principal, cleaned: dict) -> None:
    """A step that asks for the declaration of conflict of interest is decided only by someone who
    declared none for this task: before (``declare_conflict``), or with the decision itself
    (``no_conflict: true``, recorded here first). Otherwise a field error: nothing is changed or
    recorded, and the page keeps what was typed."""
    from .selectors import declared_no_conflict

    if declared_no_conflict(actor, task):
        return
    if cleaned.get(NO_CONFLICT_FIELD) is True:
        _record_declaration(task, actor, principal, conflict=False)
        return
    raise ValidationError(
        {
            f"data.{NO_CONFLICT_FIELD}": [
                _(
                    "Declare first whether you have a conflict of interest with case %(code)s: tick "
                    "the declaration of no conflict, or declare your conflict to hand the task back."
                )
                % {"code": task.case_code}
            ]
        }
    )


def _record_declaration(
    task: CaseTask, actor, principal, *, conflict: bool, reason: str = "", released=False
):
    data = _task_audit_data(task, actor, principal)
    if conflict:
        data.update({"reason": reason, "released": released})
    audit.record(
        AuditAction.TASK_CONFLICT_DECLARED if conflict else AuditAction.TASK_NO_CONFLICT_DECLARED,
        actor=actor,
        subject=task,
        case=task.case_code,
        data=data,
    )


# --- the declaration of conflict of interest ---------------------------------------------------------

MAX_CONFLICT_REASON = 1000


def declare_conflict(task_id: int, *, actor, conflict: bool, reason: str = "") -> CaseTask:
    """The person about to work a task whose step asks for it declares whether they have a
    conflict of interest with the case, before its documents open to them.

    - No conflict: recorded (``task.no_conflict_declared``) and remembered for the task; the case's
      documents open and the decision may be sent. Declaring it again records nothing more.
    - A conflict, with its reason: recorded as ``task.conflict_declared``; a task they hold is
      released to the pool; they are never offered, nor may they claim or decide, a step of the case
      that asks for the declaration again (``sod.declared_conflict``).

    Under the flow lock, like claim and release; who may declare is who may work the task
    (``acting_principal``): a refusal is audited as ``task.refused``."""
    return _audited(
        "declare",
        task_id,
        actor,
        lambda: _declare_conflict(task_id, actor=actor, conflict=conflict, reason=reason),
    )


def _declare_conflict(task_id: int, *, actor, conflict: bool, reason: str) -> CaseTask:
    from .selectors import declared_no_conflict

    task, flow_class = _task_and_flow(task_id)
    reason = (reason or "").strip()
    closed = _("This task has already been decided.")
    try:
        with flow_class.lock(task.process_id), transaction.atomic():
            task.refresh_from_db()
            if task.status not in (STATUS.NEW, STATUS.ASSIGNED):
                raise Conflict(closed)
            if not task.step or not spec_for(task.case_type, task.step).asks_declaration:
                raise ValidationError(
                    {"conflict": [_("This step asks for no declaration of conflict of interest.")]}
                )
            principal = acting_principal(actor, task)
            if not conflict:
                if not declared_no_conflict(actor, task):
                    _record_declaration(task, actor, principal, conflict=False)
                return task
            if not reason:
                raise ValidationError({"reason": [_("Say briefly what your conflict of interest is.")]})
            if len(reason) > MAX_CONFLICT_REASON:
                raise ValidationError(
                    {"reason": [_("Keep the reason under %(n)s characters.") % {"n": MAX_CONFLICT_REASON}]}
                )
            held = task.status == STATUS.ASSIGNED
            if held:  # handed back to the pool, as a release
                advance_task_version(task, conflict=closed)
                task.flow_task.activation_class(task).unassign()
            _record_declaration(task, actor, principal, conflict=True, reason=reason, released=held)
    except FlowLockFailed as exc:
        raise Conflict(str(LOCKED)) from exc
    return task


# --- escalation: an overdue task reassigned ----------------------------------------------------------

# The audit code of a reassignment (its data carries ``reassigned_to``, the previous holder and the reason).
REASSIGNED = AuditAction.TASK_REASSIGNED


def reassign_refusal(actor, task: CaseTask) -> str | None:
    """Why ``actor`` may not reassign ``task`` (None: it may): only a holder of the task's escalation
    role whose department and program scopes cover the case (as ``notifications.escalation_audience``),
    not a member of the applicant unit, and who never acted for the applicant on the case."""
    from budget.selectors import program_scope_ids
    from registry.selectors import department_scope_ids

    if not actor.is_active:
        return _("Your account is inactive.")
    if not task.escalation_role or not has_role(actor, task.escalation_role):
        return _("Only the role this task escalates to can reassign it.")
    if actor.unit_id and actor.unit_id == task.unit_id:
        return _("A member of the applicant unit cannot act as staff on its own case.")
    depts = department_scope_ids(actor)
    if depts is not None and task.department_id not in depts:
        return _("This case is outside your departments.")
    programs = program_scope_ids(actor)
    if programs is not None and task.program_id not in programs:
        return _("This case is outside your programs.")
    if sod.acted_as_applicant(actor, task.case_code):
        return _(
            "Segregation of duties: you acted for the applicant on case %(code)s, so you cannot act "
            "as staff on it."
        ) % {"code": task.case_code}
    return None


def reassign_task(task_id: int, *, actor, to_user, reason: str) -> CaseTask:
    """An escalated (overdue) task is given, by a holder of its escalation role, to a named active
    colleague of the task's role who may work it (role, scope, four eyes, not of the applicant unit,
    never on its applicant side — ``candidate_refusal``). The colleague holds it at once; the
    reassignment is audited with its reason; the new holder, and the previous one, are told after
    commit. Refusals (who may reassign, to whom) are audited as ``task.refused``."""
    return _audited(
        "reassign",
        task_id,
        actor,
        lambda: _reassign_task(task_id, actor=actor, to_user=to_user, reason=reason),
    )


def _reassign_task(task_id: int, *, actor, to_user, reason: str) -> CaseTask:
    task, flow_class = _task_and_flow(task_id)
    reason = (reason or "").strip()
    decided = _("This task has already been decided.")
    try:
        with flow_class.lock(task.process_id), transaction.atomic():
            task.refresh_from_db()
            if not task.step or task.status not in (STATUS.NEW, STATUS.ASSIGNED):
                raise Conflict(decided)
            why = reassign_refusal(actor, task)
            if why:
                raise PermissionDenied(why)
            if task.escalated_at is None:
                raise Conflict(_("Only an escalated (overdue) task can be reassigned."))
            errors: dict[str, list[str]] = {}
            if to_user is None:
                errors["user"] = [_("Choose the colleague who will take the task.")]
            elif to_user.pk == task.owner_id:
                errors["user"] = [
                    _("%(name)s already holds this task.")
                    % {"name": to_user.get_full_name() or to_user.get_username()}
                ]
            if not reason:
                errors["reason"] = [_("Give the reason for the reassignment.")]
            elif len(reason) > 1000:
                errors["reason"] = [_("Keep the reason under 1000 characters.")]
            if errors:
                raise ValidationError(errors)
            why = candidate_refusal(to_user, task)
            if why:
                raise PermissionDenied(why)
            previous = task.owner if task.owner_id else None
            advance_task_version(task, conflict=decided)
            activation = task.flow_task.activation_class(task)
            if task.status == STATUS.NEW:
                activation.assign(to_user)
            else:
                activation.reassign(to_user)
            audit.record(
                REASSIGNED,
                actor=actor,
                subject=task,
                case=task.case_code,
                data={
                    "task": task.pk,
                    "step": task.step,
                    "role": task.role,
                    "escalation_role": task.escalation_role,
                    "due_at": task.due_at,
                    "reassigned_to": to_user.pk,
                    "reassigned_to_label": to_user.get_username(),
                    "previous_holder": previous.pk if previous else None,
                    "previous_holder_label": previous.get_username() if previous else "",
                    "reason": reason,
                },
            )
            notifications.after_reassignment(
                task.pk, previous_holder_id=previous.pk if previous else None, version=task.version
            )
    except FlowLockFailed as exc:
        raise Conflict(str(LOCKED)) from exc
    return task


# --- policies ----------------------------------------------------------------------------------------


def policy_for(case_type: str, program, amount: Decimal) -> ApprovalPolicy:
    """The active policy version for a case: the program's own band first, then any-program."""
    from cases import memo

    program_id = getattr(program, "pk", program)
    values = {"case_type": case_type} | ({"program": program_id} if program_id is not None else {})
    candidates = sqltemplate.instances(("approvals.policies", program_id is None), _active_policies, values)
    # The program's own bands first, then the any-program ones; each by amount (one query, and one
    # for the steps, which the decision then reads from its memo: ``policy_steps``; both built once,
    # ``cases.sqltemplate``).
    ordered = sorted(candidates, key=lambda p: (p.program_id is None, p.min_amount, p.pk))
    policy = next((p for p in ordered if p.covers(amount)), None)
    if policy is not None:
        steps = sqltemplate.instances(("approvals.policy_steps",), _steps_of, {"policy": policy.pk})
        memo.remember(("policy_steps", policy.pk), lambda: steps)
        return policy
    raise ValidationError(
        {"detail": _("No approval policy covers this case; an administrator must configure one.")}
    )


def _active_policies(case_type: str, program: int | None = None):
    anywhere = Q(program__isnull=True)
    return ApprovalPolicy.objects.filter(
        Q(case_type=case_type, active=True), (Q(program_id=program) | anywhere) if program else anywhere
    )


def _steps_of(policy: int):
    return PolicyStep.objects.filter(policy_id=policy).order_by("order")


def policy_steps(policy: ApprovalPolicy) -> list[PolicyStep]:
    """The steps of a policy version, in order; read once per decision (``cases.memo``: the flow's
    chain helpers and the step handler all ask). Versions are never edited in place."""
    from cases import memo

    return memo.remember(
        ("policy_steps", policy.pk),
        lambda: sqltemplate.instances(("approvals.policy_steps",), _steps_of, {"policy": policy.pk}),
    )


# Steps an approval chain may contain: each is decided once per case, in the policy's order.
CHAIN_STEPS = (Step.TECHNICAL_REPORT, Step.LEGAL_REPORT, Step.BUDGET_CERTIFICATION, Step.DIRECTOR_RESOLUTION)
POLICY_STEP_FIELDS = ("step", "role", "scope", "deadline_days", "escalation_role")


def clean_policy_steps(steps) -> tuple[list[dict], list[str]]:
    """Normalise the step dicts of a policy version; return them with the problems found."""
    errors: list[str] = []
    cleaned: list[dict] = []
    for n, raw in enumerate(steps or [], 1):
        unknown = set(raw) - {*POLICY_STEP_FIELDS, "order"}
        if unknown:
            errors.append(
                _("Step %(n)s: unknown fields %(fields)s.") % {"n": n, "fields": ", ".join(sorted(unknown))}
            )
            continue
        step = {k: raw[k] for k in POLICY_STEP_FIELDS if k in raw}
        step.setdefault("scope", PolicyStep.Scope.NONE)
        step.setdefault("escalation_role", "")
        candidate = PolicyStep(order=n, **step)
        try:
            candidate.full_clean(exclude=["policy"])
        except ValidationError as exc:
            for messages in exc.message_dict.values():
                errors.extend(_("Step %(n)s: %(msg)s") % {"n": n, "msg": m} for m in messages)
            continue
        if candidate.step not in CHAIN_STEPS:
            errors.append(
                _("Step %(n)s: %(step)s cannot be part of an approval chain.")
                % {"n": n, "step": candidate.get_step_display()}
            )
        if candidate.escalation_role == Role.APPLICANT:
            errors.append(_("Step %(n)s: overdue tasks escalate to agency staff only.") % {"n": n})
        cleaned.append(
            {
                "step": candidate.step,
                "role": candidate.role,
                "scope": candidate.scope,
                "deadline_days": candidate.deadline_days,
                "escalation_role": candidate.escalation_role,
            }
        )
    codes = [s["step"] for s in cleaned]
    if not steps:
        errors.append(_("A policy needs at least one step."))
    elif len(set(codes)) != len(codes):
        errors.append(_("Each step appears once in a chain."))
    if cleaned and Step.BUDGET_CERTIFICATION not in codes:
        errors.append(_("The chain must include the budget certification."))
    return cleaned, errors


def _same_version(policy: ApprovalPolicy, fields: dict, steps: list[dict]) -> bool:
    current = [{k: getattr(ps, k) for k in POLICY_STEP_FIELDS} for ps in policy_steps(policy)]
    return current == steps and all(getattr(policy, k) == v for k, v in fields.items())


def save_policy_version(
    family: str,
    *,
    actor,
    name: str,
    case_type: str,
    program,
    min_amount,
    max_amount,
    steps: list[dict],
    new_family: bool = False,
) -> ApprovalPolicy:
    """Save a new version of a policy family; running cases keep the version they started with
    (their ``policy`` FK), new cases get the new active version. Versions are never edited in place.
    Saving exactly what the active version already says creates nothing and returns it. With
    ``new_family`` the family must not exist yet (a page that starts a new policy)."""
    try:
        return _save_policy_version(
            family,
            actor=actor,
            name=name,
            case_type=case_type,
            program=program,
            min_amount=min_amount,
            max_amount=max_amount,
            steps=steps,
            new_family=new_family,
        )
    except IntegrityError as exc:  # another version of the family was saved at the same moment
        raise Conflict(_("Someone else saved this policy at the same time; reload and try again.")) from exc


@transaction.atomic
def _save_policy_version(
    family: str,
    *,
    actor,
    name: str,
    case_type: str,
    program,
    min_amount,
    max_amount,
    steps: list[dict],
    new_family: bool,
) -> ApprovalPolicy:
    from cases.money import clean_amount

    require(actor, "approvals.manage_policies")
    family = (family or "").strip()
    errors: dict[str, list[str]] = {}
    if not family:
        errors["family"] = [_("Give the policy family a short stable key.")]
    if not (name or "").strip():
        errors["name"] = [_("This field is required.")]
    if case_type not in dict(kinds.choices()):
        errors["case_type"] = [_("Select a valid choice.")]
    amounts: dict[str, Decimal | None] = {}
    for field, value in (("min_amount", min_amount), ("max_amount", max_amount)):
        if value in (None, "") and field == "max_amount":
            amounts[field] = None
            continue
        try:
            amounts[field] = clean_amount(value if value is not None else "0", field, allow_zero=True)
        except ValidationError as exc:
            errors.update(exc.message_dict if hasattr(exc, "error_dict") else {field: exc.messages})
    upper, lower = amounts.get("max_amount"), amounts.get("min_amount")
    if upper is not None and lower is not None and upper < lower:
        errors["max_amount"] = [_("The upper limit must not be below the lower limit.")]
    cleaned_steps, step_errors = clean_policy_steps(steps)
    if step_errors:
        errors["steps"] = step_errors
    previous = None
    if family:
        previous = (
            ApprovalPolicy.objects.select_for_update().filter(family=family).order_by("-version").first()
        )
        if previous is not None:
            # A program manager keeps to its programs: the family's program and the new one.
            require(actor, "approvals.manage_policy_of", previous.program)
        if previous is not None and new_family:
            errors["family"] = [_("A policy with this key exists already: open it to save a new version.")]
        elif previous is not None and previous.case_type != case_type:
            errors["case_type"] = [_("A policy family keeps its case type; create a new family instead.")]
    if errors:
        raise ValidationError(errors)
    require(
        actor,
        "approvals.manage_policy_of",
        program,
        message=_("You may configure only the policies of the programs you manage."),
    )
    fields = {
        "name": name.strip(),
        "case_type": case_type,
        "program": program,
        "min_amount": amounts["min_amount"],
        "max_amount": amounts["max_amount"],
    }
    if previous is not None and previous.active and _same_version(previous, fields, cleaned_steps):
        return previous
    ApprovalPolicy.objects.filter(family=family, active=True).update(active=False)
    policy = ApprovalPolicy.objects.create(
        family=family,
        version=(previous.version + 1) if previous else 1,
        created_by=actor,
        **fields,
    )
    PolicyStep.objects.bulk_create(
        [PolicyStep(policy=policy, order=order, **step) for order, step in enumerate(cleaned_steps, 1)]
    )
    audit.record(
        AuditAction.POLICY_VERSION_SAVED,
        actor=actor,
        subject=policy,
        data={
            "family": family,
            "version": policy.version,
            "previous_version": previous.version if previous else None,
            "name": policy.name,
            "case_type": case_type,
            "program": program.code if program is not None else None,
            "min_amount": policy.min_amount,
            "max_amount": policy.max_amount,
            "steps": cleaned_steps,
        },
    )
    return policy


@transaction.atomic
def activate_policy_version(family: str, version: int, *, actor) -> ApprovalPolicy:
    """Make an earlier version of a policy family the active one again (a step back after a
    mistaken version). New cases get it from now on; running cases keep the version they started
    with. Activating the active version changes nothing and records nothing."""
    require(actor, "approvals.manage_policies")
    versions = list(ApprovalPolicy.objects.select_for_update().filter(family=family).order_by("version"))
    chosen = next((p for p in versions if p.version == version), None)
    if chosen is None:
        raise ValidationError({"version": [_("That version of the policy does not exist.")]})
    require(actor, "approvals.manage_policy_of", chosen.program)
    if chosen.active:
        return chosen
    previous = next((p for p in versions if p.active), None)
    ApprovalPolicy.objects.filter(family=family, active=True).update(active=False)
    ApprovalPolicy.objects.filter(pk=chosen.pk).update(active=True)
    chosen.active = True
    audit.record(
        AuditAction.POLICY_VERSION_ACTIVATED,
        actor=actor,
        subject=chosen,
        data={
            "family": family,
            "version": chosen.version,
            "previous_version": previous.version if previous else None,
        },
    )
    return chosen


# --- delegation --------------------------------------------------------------------------------------

MAX_DELEGATION_DAYS = 90


@rule("approvals.delegate_inbox")
def can_delegate_inbox(user, delegator=None) -> bool:
    """Staff delegate their own inbox; administrators set one up for an absent colleague."""
    if delegator is None or delegator.pk == user.pk:
        return bool(roles_of(user) & STAFF_ROLES)
    return is_admin(user)


def delegation_errors(*, actor, delegator, delegate, role: str, starts_on, ends_on) -> dict[str, list[str]]:
    """What is wrong with a delegation (empty: nothing). Shared by ``delegate_inbox`` and the forms
    that want to show the problems next to their fields before saving."""
    errors: dict[str, list[str]] = {}
    if role not in STAFF_ROLES or not has_role(delegator, role):
        errors["role"] = [
            _("You can only delegate a staff role you hold.")
            if delegator.pk == actor.pk
            else _("The absent colleague does not hold that staff role.")
        ]
    if delegate is None:
        errors["delegate"] = [_("Choose a colleague.")]
    elif delegate.pk == delegator.pk:
        errors["delegate"] = [_("Choose a colleague other than yourself.")]
    elif not delegate.is_active or role not in STAFF_ROLES or not has_role(delegate, role):
        errors["delegate"] = [_("The colleague must hold the same role.")]
    if starts_on is None or ends_on is None:
        errors["ends_on"] = [_("Give both dates.")]
    elif ends_on < starts_on:
        errors["ends_on"] = [_("The end date must not be before the start date.")]
    elif ends_on < timezone.localdate():
        errors["ends_on"] = [_("The delegation would already be over.")]
    elif (ends_on - starts_on).days + 1 > MAX_DELEGATION_DAYS:
        errors["ends_on"] = [_("A delegation lasts %(n)s days at most.") % {"n": MAX_DELEGATION_DAYS}]
    return errors


@transaction.atomic
def delegate_inbox(
    *,
    actor,
    delegate,
    role: str,
    starts_on: dt.date,
    ends_on: dt.date,
    reason: str = "",
    delegator=None,
) -> Delegation:
    """``delegator`` (default: ``actor``) hands its inbox for ``role`` to ``delegate``, a colleague
    holding the same role, from ``starts_on`` to ``ends_on`` inclusive. The delegate then sees and
    decides the delegator's tasks of that role; every decision records both names."""
    delegator = delegator or actor
    require(actor, "approvals.delegate_inbox", delegator)
    reason = (reason or "").strip()[:200]
    errors = delegation_errors(
        actor=actor, delegator=delegator, delegate=delegate, role=role, starts_on=starts_on, ends_on=ends_on
    )
    if errors:
        raise ValidationError(errors)
    delegation = Delegation.objects.create(
        delegator=delegator, delegate=delegate, role=role, starts_on=starts_on, ends_on=ends_on, reason=reason
    )
    audit.record(
        AuditAction.DELEGATION_CREATED,
        actor=actor,
        subject=delegation,
        data={
            "delegator": delegator.pk,
            "delegator_label": delegator.get_username(),
            "delegate": delegate.pk,
            "delegate_label": delegate.get_username(),
            "role": role,
            "from": starts_on,
            "until": ends_on,
            "reason": reason,
        },
    )
    forget_delegations(actor, delegator, delegate)
    notifications.after_delegation(delegation)
    return delegation


@transaction.atomic
def revoke_delegation(delegation_id: int, *, actor) -> Delegation:
    """End a delegation now (who delegated, or an administrator). Tasks the delegate already
    claimed for the delegator stay assigned to the delegator."""
    delegation = Delegation.objects.select_for_update().get(pk=delegation_id)
    if not actor.is_active or (delegation.delegator_id != actor.pk and not is_admin(actor)):
        raise PermissionDenied(_("Only who delegated can revoke the delegation."))
    if delegation.revoked_at is not None:
        raise Conflict(_("This delegation was already revoked."))
    delegation.revoked_at = timezone.now()
    delegation.save(update_fields=["revoked_at"])
    forget_delegations(actor)
    audit.record(
        AuditAction.DELEGATION_REVOKED,
        actor=actor,
        subject=delegation,
        data={
            "delegator": delegation.delegator_id,
            "delegate": delegation.delegate_id,
            "role": delegation.role,
        },
    )
    return delegation


# --- configuration data: segregation-of-duties pairs and non-working days ---------------------------


@transaction.atomic
def add_incompatible_steps(*, actor, step_a: str, step_b: str, reason: str = "") -> IncompatibleSteps:
    """One person may no longer do both steps on one case (a step with itself: once per case)."""
    require(actor, "approvals.manage_calendar")
    errors = {}
    for field, value in (("step_a", step_a), ("step_b", step_b)):
        if value not in Step.values:
            errors[field] = [_("Select a valid choice.")]
    if errors:
        raise ValidationError(errors)
    same_pair = Q(step_a=step_a, step_b=step_b) | Q(step_a=step_b, step_b=step_a)
    if IncompatibleSteps.objects.filter(same_pair).exists():
        raise ValidationError({"step_b": [_("These steps are already incompatible.")]})
    pair = IncompatibleSteps.objects.create(step_a=step_a, step_b=step_b, reason=(reason or "").strip()[:200])
    audit.record(
        AuditAction.SOD_PAIR_ADDED,
        actor=actor,
        subject=pair,
        data={"step_a": step_a, "step_b": step_b, "reason": pair.reason},
    )
    return pair


@transaction.atomic
def remove_incompatible_steps(pair_id: int, *, actor) -> None:
    """Allow one person to do both steps again (weakens a control: audited with the pair)."""
    require(actor, "approvals.manage_calendar")
    pair = IncompatibleSteps.objects.select_for_update().get(pk=pair_id)
    data = {"step_a": pair.step_a, "step_b": pair.step_b, "reason": pair.reason}
    audit.record(AuditAction.SOD_PAIR_REMOVED, actor=actor, subject=pair, data=data)
    pair.delete()


def _non_working_department(department):
    """The ``Department`` of a departmental non-working day (None: national)."""
    from registry.services import department_from

    if department in (None, ""):
        return None
    try:
        return department_from(department)
    except ValidationError as exc:
        raise ValidationError({"department": exc.messages}) from None


@transaction.atomic
def add_non_working_day(*, actor, date: dt.date, name: str, department=None) -> NonWorkingDay:
    """A decreed non-working day, national (``department`` None) or departmental (counts only for the
    cases of that department). Open tasks whose deadline runs over it get one more business day
    (deadlines count business days): every open task for a national day, the department's for a
    departmental one. Deadlines are not shortened when a day is removed."""
    from .calendar import add_business_days, is_business_day

    require(actor, "approvals.manage_calendar")
    name = (name or "").strip()
    errors = {}
    if date is None:
        errors["date"] = [_("Give the date.")]
    if not name:
        errors["name"] = [_("This field is required.")]
    elif len(name) > 120:
        errors["name"] = [_("At most %(n)s characters.") % {"n": 120}]
    try:
        department = _non_working_department(department)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    national = NonWorkingDay.objects.filter(date=date, department__isnull=True)
    if NonWorkingDay.objects.filter(date=date, department=department).exists():
        raise ValidationError({"date": [_("That day is already a non-working day.")]})
    if department is not None and national.exists():
        raise ValidationError({"date": [_("That day is already a non-working day in the whole country.")]})
    dept_id = department.pk if department is not None else None
    was_business_day = date.weekday() < 5 and is_business_day(date, department_id=dept_id)
    try:
        with transaction.atomic():
            day = NonWorkingDay.objects.create(date=date, name=name, department=department)
    except IntegrityError:  # the same day added at the same moment
        raise ValidationError({"date": [_("That day is already a non-working day.")]}) from None
    extended = 0
    if was_business_day:
        # Tasks created before the day and due on or after it lose one business day: give it back
        # (for a national day, not to a department whose own holiday it already was).
        created_before = timezone.make_aware(dt.datetime.combine(date, dt.time.min))
        due_from = timezone.make_aware(dt.datetime.combine(date, dt.time.min))
        tasks = (
            CaseTask.objects.select_for_update()
            .filter(is_open=True, created__lt=created_before, due_at__gte=due_from)
            .exclude(step="")
        )
        if department is not None:
            tasks = tasks.filter(department_id=department.pk)
        else:
            already = NonWorkingDay.objects.filter(date=date, department__isnull=False)
            tasks = tasks.exclude(department_id__in=already.values("department_id"))
        for task in tasks:
            local_due = timezone.localtime(task.due_at)
            new_date = add_business_days(local_due.date(), 1, department_id=task.department_id)
            task.due_at = timezone.make_aware(dt.datetime.combine(new_date, local_due.time()))
            CaseTask.objects.filter(pk=task.pk).update(due_at=task.due_at)
            extended += 1
    audit.record(
        AuditAction.NON_WORKING_DAY_ADDED,
        actor=actor,
        subject=day,
        data={
            "date": date,
            "name": day.name,
            "department": department.code if department is not None else None,
            "tasks_extended": extended,
        },
    )
    return day


@transaction.atomic
def remove_non_working_day(day_id: int, *, actor) -> None:
    require(actor, "approvals.manage_calendar")
    day = (
        NonWorkingDay.objects.select_for_update(of=("self",))
        .select_related("department")
        .filter(pk=day_id)
        .first()
    )
    if day is None:
        raise ValidationError(_("That non-working day no longer exists."))
    audit.record(
        AuditAction.NON_WORKING_DAY_REMOVED,
        actor=actor,
        subject=day,
        data={
            "date": day.date,
            "name": day.name,
            "department": day.department.code if day.department is not None else None,
        },
    )
    day.delete()
