"""Reads of the task inbox. One indexed query per list, whatever the number of tasks or object
permissions: the role, scope and four-eyes rules are turned into a SQL filter on ``CaseTask``'s
own columns (role, department, program, unit, case code, step), never checked row by row.

The filter is ``services.acting_principal`` in SQL, for «Disponibles» and «Mis tareas» alike: a task
is listed exactly when the user, itself or for a colleague whose inbox it holds, may claim it (open,
unassigned) or decide it (held) — so no page and no API answer offers a task that claim or
decision would refuse (``tests/approvals/test_inbox_offers.py`` checks it both ways)."""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass
from functools import reduce

from django.db.models import BigIntegerField, CharField, Exists, Q, QuerySet, Value
from django.utils import timezone
from viewflow.workflow.status import STATUS

from cases import sqltemplate
from cases.roles import SCOPE_MEMO, STAFF_ROLES, Role, roles_of
from workflows.models import CaseTask

from . import sod
from .services import active_delegators, scope_refusal_code


@dataclass(frozen=True)
class TaskFilters:
    case: str = ""
    step: str = ""
    program: int | None = None
    department: int | None = None
    due_before: dt.date | None = None
    overdue: bool = False


Facts = tuple[frozenset[str], set[int] | None, set[int] | None]


def _roles_and_scopes(user) -> Facts:
    """``(roles_of(user), department_scope_ids(user), program_scope_ids(user))`` in ONE query: the
    same group and guardian tables and filters as ``cases.roles``, ``registry.selectors`` and
    ``budget.selectors``, as a UNION ALL, so an inbox page costs the same number of queries
    whatever the number of object permissions. Roles already cached on the user object (the
    request's cache of ``roles_of``; a delegator's narrowed roles) are kept, not re-read."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset(), set(), set()
    return _roles_and_scopes_of([user])[user.pk]


def remember_scopes(user) -> Facts:
    """``_roles_and_scopes(user)`` (ONE query), left on the request's user instance: the roles in
    ``roles_of``'s cache and the scopes under ``cases.roles.SCOPE_MEMO``, so every scope selector
    the page calls (``registry.selectors.case_scope`` of each case kind) answers without a query.
    Only for a page's own request user (Django builds it afresh for every request)."""
    facts = _roles_and_scopes(user)
    if user is not None and getattr(user, "is_authenticated", False):
        setattr(user, SCOPE_MEMO, (facts[1], facts[2]))
    return facts


def _roles_and_scopes_of(users) -> dict[int, Facts]:
    """``_roles_and_scopes`` of several users — a user and the colleagues whose inbox it holds — in
    the same ONE query (each row carries its user's id), by user id."""
    from django.contrib.auth.models import Group

    from budget.models import ProgramGroupObjectPermission, ProgramUserObjectPermission
    from budget.selectors import PROGRAM_PERMISSION
    from registry.models import DepartmentGroupObjectPermission, DepartmentUserObjectPermission
    from registry.selectors import DEPARTMENT_PERMISSION

    users = [u for u in users if u is not None and getattr(u, "is_authenticated", False)]
    if not users:
        return {}
    pks = sorted({u.pk for u in users})
    text, number = CharField(), BigIntegerField()

    def scope_rows(model, kind, codename, app_label, who):
        return (
            model.objects.filter(
                **{f"{who}__in": pks},
                permission__codename=codename,
                permission__content_type__app_label=app_label,
            )
            .order_by()
            .values_list(
                Value(kind, output_field=text), Value("", output_field=text), "content_object_id", who
            )
        )

    dept, prog = (DEPARTMENT_PERMISSION, "registry"), (PROGRAM_PERMISSION, "budget")
    parts = [
        scope_rows(DepartmentUserObjectPermission, "d", *dept, "user"),
        scope_rows(DepartmentGroupObjectPermission, "d", *dept, "group__user"),
        scope_rows(ProgramUserObjectPermission, "p", *prog, "user"),
        scope_rows(ProgramGroupObjectPermission, "p", *prog, "group__user"),
    ]
    unknown = sorted({u.pk for u in users if getattr(u, "_expediente_roles", None) is None})
    if unknown:
        parts.append(
            Group.objects.filter(user__in=unknown)
            .order_by()
            .values_list(Value("r", output_field=text), "name", Value(0, output_field=number), "user")
        )
    found: dict[int, dict[str, set]] = {pk: {"d": set(), "p": set(), "r": set()} for pk in pks}
    for kind, name, pk, user_id in parts[0].union(*parts[1:], all=True).order_by():
        found[user_id][kind].add(name if kind == "r" else pk)
    facts: dict[int, Facts] = {}
    for user in users:
        rows = found[user.pk]
        roles = getattr(user, "_expediente_roles", None)
        if roles is None:
            roles = frozenset(name for name in rows["r"] if name in Role.values)  # as roles_of
            user._expediente_roles = roles
        facts[user.pk] = (roles, rows["d"] or None, rows["p"] or None)
    return facts


def _workable_by(user, pairs=None, facts: Facts | None = None) -> Q | None:
    """The tasks ``user`` itself may work, open or held, as one Q (None: none at all):
    ``services.refusal_reason`` in SQL — a staff role of the task's, within its department and
    program scopes, not of the applicant unit, four eyes (what it decided or holds on the case) and
    never on a case it acted on for the applicant. ``facts``: its ``_roles_and_scopes``, when read."""
    held, depts, programs = facts if facts is not None else _roles_and_scopes(user)
    staff_roles = sorted(held & STAFF_ROLES)
    if not staff_roles:
        # The applicant unit's own steps are never claimed: they are in every member's "Mis tareas"
        # (``_unit_tasks_q``).
        return None
    q = Q(role__in=staff_roles)
    if depts is not None:
        q &= Q(scope_department=False) | Q(department_id__in=depts)
    if programs is not None:
        q &= Q(scope_program=False) | Q(program_id__in=programs)
    if user.unit_id:
        q &= ~Q(unit_id=user.unit_id)
    return q & _actor_q(user, pairs)


def _actor_q(user, pairs=None) -> Q:
    """What ``user`` may work whoever it acts for (``services.acting_principal``'s check of the
    actor): nothing incompatible with what it decided or holds on the case, nothing on a case it
    acted on for the applicant, no evaluation of a case it declared a conflict of interest with."""
    q = ~sod.acted_as_applicant_q(user)
    conflict = sod.declared_conflict_q(user)
    if conflict is not None:
        q &= ~conflict
    excluded = sod.four_eyes_q(user, pairs)
    return q if excluded is None else ~excluded & q


def _unit_tasks_q(user) -> Q | None:
    """The open steps of the applicant unit ``user`` belongs to (answer observations, progress and
    final reports, delivery acceptance): the whole unit's, whoever viewflow lists as their owner."""
    if Role.APPLICANT not in roles_of(user):
        return None
    # A case with no unit yet (a new unit's registration) gives its applicant steps to the person.
    own = Q(role=Role.APPLICANT, unit__isnull=True, owner=user, status=STATUS.ASSIGNED)
    if not user.unit_id:
        return own
    return Q(role=Role.APPLICANT, unit_id=user.unit_id, status__in=(STATUS.NEW, STATUS.ASSIGNED)) | own


def _apply(qs: QuerySet, f: TaskFilters) -> QuerySet:
    if f.case:
        qs = qs.filter(case_code=f.case)
    if f.step:
        qs = qs.filter(step=f.step)
    if f.program:
        qs = qs.filter(program_id=f.program)
    if f.department:
        qs = qs.filter(department_id=f.department)
    if f.due_before:
        # ``due_at__date__lte`` (in the current time zone), written as a range the index can use.
        next_day = dt.datetime.combine(f.due_before + dt.timedelta(days=1), dt.time.min)
        qs = qs.filter(due_at__lt=timezone.make_aware(next_day))
    if f.overdue:
        qs = qs.filter(due_at__lt=timezone.now())
    return qs


def _base() -> QuerySet:
    return CaseTask.objects.select_related("owner", "department", "program")


def _principals_q(user, delegators, pairs, facts) -> list[tuple[int, Q]]:
    """``(principal id, what user may work for it)`` for itself and each colleague whose inbox it
    holds: ``services.acting_principal`` in SQL (the principal's rules; for a delegator, also the
    delegate's own four eyes and applicant side). ``facts``: ``_roles_and_scopes_of`` of them all,
    read here in ONE query when the caller has not."""
    facts = _roles_and_scopes_of([user, *delegators]) if facts is None else facts
    parts = []
    own = _workable_by(user, pairs, facts.get(user.pk))
    if own is not None:
        parts.append((user.pk, own))
    if delegators:
        # A delegator's tasks of the delegated role(s) only (``active_delegators`` narrows
        # ``roles_of``) that it may work, and that the delegate's own four eyes and applicant side
        # let the delegate work for it.
        actor = _actor_q(user, pairs)
        for delegator in delegators:
            theirs = _workable_by(delegator, pairs, facts.get(delegator.pk))
            if theirs is not None:
                parts.append((delegator.pk, theirs & actor))
    return parts


def task_list_assigned(
    user, filters: TaskFilters = TaskFilters(), *, delegators=None, pairs=None, facts=None
) -> QuerySet:
    """«Mis tareas»: open tasks held by ``user`` or by a colleague whose inbox it holds by
    delegation, that it may decide (the rules of claiming them: role, scope, four eyes, applicant
    side — a task it holds but may no longer decide is not offered), and the open steps of its own
    applicant unit (every member's, never claimed). ``delegators`` (``active_delegators(user)``),
    ``pairs`` (``sod.incompatible_map()``) and ``facts`` (``_roles_and_scopes_of``): when the
    caller already read them."""
    delegators = active_delegators(user) if delegators is None else delegators
    unit_tasks = _unit_tasks_q(user)
    if unit_tasks is not None and not delegators and not roles_of(user) & STAFF_ROLES:
        # A member of an applicant unit (never staff: the registry refuses both) can only ever hold
        # its own unit's steps, which the unit condition already lists: leaving out the owner branch
        # lets the database walk the (unit, is_open) index instead of an OR that defeats both
        # indexes (bench/inbox_bench.py, scenario "applicant": 241 ms → see docs/BENCHMARKS.md).
        return _apply(_base().filter(unit_tasks, is_open=True), filters).order_by("due_at", "pk")
    held = [Q(owner_id=pk) & q for pk, q in _principals_q(user, delegators, pairs, facts)]
    condition = reduce(operator.or_, held) & Q(status=STATUS.ASSIGNED) if held else None
    if unit_tasks is not None:
        condition = unit_tasks if condition is None else condition | unit_tasks
    if condition is None:
        return CaseTask.objects.none()
    qs = _base().filter(condition, is_open=True)
    return _apply(qs, filters).order_by("due_at", "pk")


def task_list_available(
    user, filters: TaskFilters = TaskFilters(), *, delegators=None, pairs=None, facts=None
) -> QuerySet:
    """Open, unassigned tasks ``user`` may claim (for itself or a delegator). ``delegators``,
    ``pairs`` (``sod.incompatible_map()``) and ``facts``: when the caller already read them."""
    pairs = sod.incompatible_map() if pairs is None else pairs
    delegators = active_delegators(user) if delegators is None else delegators
    parts = [q for _pk, q in _principals_q(user, delegators, pairs, facts)]
    if not parts:
        return CaseTask.objects.none()
    qs = _base().filter(reduce(operator.or_, parts), is_open=True, status=STATUS.NEW)
    return _apply(qs, filters).order_by("due_at", "pk")


def task_list_open(user, filters: TaskFilters = TaskFilters()) -> QuerySet:
    """Assigned to ``user`` or claimable by it (the API's ``GET /tasks/``)."""
    delegators, pairs = active_delegators(user), sod.incompatible_map()
    read = {"delegators": delegators, "pairs": pairs, "facts": _roles_and_scopes_of([user, *delegators])}
    assigned = task_list_assigned(user, filters, **read).values("pk")
    available = task_list_available(user, filters, **read).values("pk")
    return _base().filter(Q(pk__in=assigned) | Q(pk__in=available)).order_by("due_at", "pk")


def task_list_escalated(user, filters: TaskFilters = TaskFilters(), *, facts=None) -> QuerySet:
    """«Escaladas»: open tasks escalated (overdue) to a role ``user`` holds, on cases within its
    department and program scopes, that it may reassign (``services.reassign_task``). The same
    rules as ``services.reassign_refusal``, as one SQL filter (roles and scopes read in one query,
    or taken from ``facts``: ``_roles_and_scopes_of`` when the caller already read them)."""
    known = facts.get(user.pk) if facts is not None else None
    held, depts, programs = known if known is not None else _roles_and_scopes(user)
    roles = sorted(held & STAFF_ROLES)
    if not roles or not user.is_active:
        return CaseTask.objects.none()
    q = Q(escalation_role__in=roles, escalated_at__isnull=False, is_open=True)
    q &= Q(status__in=(STATUS.NEW, STATUS.ASSIGNED))
    if depts is not None:
        q &= Q(department_id__in=depts)
    if programs is not None:
        q &= Q(program_id__in=programs)
    if user.unit_id:
        q &= ~Q(unit_id=user.unit_id)
    q &= ~sod.acted_as_applicant_q(user)
    return _apply(_base().filter(q), filters).order_by("due_at", "pk")


def task_list_done(user, filters: TaskFilters = TaskFilters()) -> QuerySet:
    qs = _base().filter(decided_by=user)
    return _apply(qs, filters).order_by("-pk")


def task_get_for(user, pk: int) -> CaseTask:
    """A task the user may see: open and assigned to/claimable by it, decided by it, or escalated
    to a role it holds within its scope. Anything else is ``DoesNotExist`` (404, never 403)."""
    visible = task_list_open(user).filter(pk=pk)
    task = (
        visible.first()
        or task_list_done(user).filter(pk=pk).first()
        or task_list_escalated(user).filter(pk=pk).first()
    )
    if task is None:
        raise CaseTask.DoesNotExist
    return task


def task_in_scope(user, pk: int) -> CaseTask:
    """A task ``user`` may learn exists — the API's detail, and every action on a task, web or API:
    a human step within its role and scope (``services.scope_refusal_code``), itself or through a
    delegation, whatever the task's status or holder; for applicant steps, of its own unit; or one
    it decided, or that escalated to it (``task_get_for``). Anything else is ``DoesNotExist``: a
    404 to every method, exactly as for an id nobody has, so task ids cannot probe another
    department's, program's or unit's cases. On a task in scope, the service then checks four eyes,
    the holder and the state, answers 403 or 409 with the reason, and audits a refusal."""
    task = CaseTask.objects.filter(pk=pk).exclude(step="").first()
    if task is None:
        raise CaseTask.DoesNotExist
    principals = [user]
    if task.role != Role.APPLICANT:  # applicant steps are never delegated
        principals += active_delegators(user, role=task.role)
    if any(scope_refusal_code(p, task) is None for p in principals):
        return task
    if task.decided_by_id == user.pk or task_list_escalated(user).filter(pk=pk).exists():
        return task
    raise CaseTask.DoesNotExist


def task_for_action(user, pk: int) -> CaseTask:
    """A task ``user`` may ATTEMPT to claim, release or decide (used by the web pages and the API):
    one within its scope (``task_in_scope``). The service then checks four eyes, the holder, the
    state and delegation, and audits a refusal, so a crafted POST on a task in scope that the inbox
    does not offer is refused AND recorded. Anything else is ``DoesNotExist`` (404)."""
    return task_in_scope(user, pk)


def task_for_reassign(user, pk: int) -> CaseTask:
    """A task ``user`` may ATTEMPT to reassign (web page and API): one within its scope
    (``task_in_scope``) that escalates to a role it holds. The service then checks the escalation
    and the new holder, and audits a refusal. Anything else is ``DoesNotExist`` (404)."""
    task = task_in_scope(user, pk)
    if not task.escalation_role or task.escalation_role not in roles_of(user):
        raise CaseTask.DoesNotExist
    return task


def eligible_users(task: CaseTask, *, pairs=None) -> QuerySet:
    """The users who may work ``task`` themselves — exactly those for whom
    ``services.refusal_reason(user, task)`` is None — as ONE query over users, ordered by id: the
    inbox's rules (``_workable_by`` and ``_actor_q``) seen from the task. For a staff step: active,
    holding its role, not a member of its applicant unit, within its department and program scopes
    when the step is scoped (guardian permissions of their own or of a group; none at all:
    national), never on a case they acted on for the applicant, and four eyes (nothing incompatible
    with what they decided or hold on the case). For a step of the applicant unit: its active
    members (a case with no unit yet: its applicant in person). Correlated ``EXISTS`` on the guardian
    tables, the audit trail, the task table and the pairs table, so the number of queries does not
    grow with the staff. ``pairs`` (``sod.incompatible_map()``), when the caller already read them."""
    from django.contrib.auth import get_user_model

    from budget.selectors import users_in_program_scope
    from registry.selectors import users_in_department_scope

    users = get_user_model().objects.filter(is_active=True)
    if task.role not in Role.values:  # no role would ever hold it (``has_role``)
        return users.none()
    users = users.filter(groups__name=task.role)  # one group per role: no duplicate rows
    if task.role == Role.APPLICANT:
        if task.unit_id is None:  # a case with no unit yet: the step is its applicant's, in person
            return users.filter(pk=task.owner_id).order_by("pk")
        return users.filter(unit_id=task.unit_id).order_by("pk")
    if task.unit_id:
        users = users.exclude(unit_id=task.unit_id)
    if task.scope_department:
        users = users.filter(users_in_department_scope(task.department_id))
    if task.scope_program:
        users = users.filter(users_in_program_scope(task.program_id))
    applicant_side = sod.acted_as_applicant_users_q(task.case_code)
    if applicant_side is not None:
        users = users.exclude(applicant_side)
    four_eyes = sod.four_eyes_users_q(task, pairs)
    if four_eyes is not None:
        users = users.exclude(four_eyes)
    conflict = sod.declared_conflict_users_q(task)
    if conflict is not None:
        users = users.exclude(conflict)
    return users.order_by("pk")


def may_work_itself(user, task: CaseTask) -> tuple[bool, frozenset[str]]:
    """Whether ``user`` may work ``task`` itself (``eligible_users`` for that one user) and the
    roles it holds, in ONE statement. Its SQL, long to build, is built once per shape of task (role,
    step, scopes, which of its ids are set) and then run with the ids (``cases.sqltemplate``)."""
    from types import SimpleNamespace

    from django.contrib.auth.models import Group

    fields = {
        "user": user.pk,
        "task": task.pk,
        "unit": task.unit_id,
        "owner": task.owner_id,
        "department": task.department_id,
        "program": task.program_id,
        "case_code": task.case_code,
    }
    values = {name: value for name, value in fields.items() if value not in (None, "")}
    shape = ("may_work_itself", task.role, task.step, bool(task.scope_department), bool(task.scope_program))

    def build(**v):
        stand_in = SimpleNamespace(
            role=task.role,
            step=task.step,
            scope_department=task.scope_department,
            scope_program=task.scope_program,
            pk=v.get("task"),
            unit_id=v.get("unit"),
            owner_id=v.get("owner"),
            department_id=v.get("department"),
            program_id=v.get("program"),
            case_code=v.get("case_code", ""),
        )
        eligible = eligible_users(stand_in).filter(pk=v["user"])  # type: ignore[arg-type]
        roles = Group.objects.filter(user=v["user"], name__in=Role.values).order_by()
        return roles.values_list("name", Exists(eligible))

    rows = sqltemplate.run((*shape, tuple(sorted(values))), build, values)
    return any(ok for _name, ok in rows), frozenset(name for name, _ok in rows)


def reassign_candidates(task: CaseTask, *, limit: int = 200) -> list:
    """Who an escalated task may be given to: active users of the task's role who could work it
    themselves (role, scope, four eyes, not of the applicant unit, never on its applicant side),
    except whoever holds it now. At most ``limit`` (roles are small; the service checks anyway)."""
    if not task.role or task.role == Role.APPLICANT:
        return []
    # The same rule as ``services.candidate_refusal``, in one query (``eligible_users``).
    return list(eligible_users(task).exclude(pk=task.owner_id or 0).order_by("username")[:limit])


@dataclass(frozen=True)
class InboxReference:
    """What every inbox page needs besides its rows: the filter choices (the programs and
    departments that exist — a handful, never one per task) and the four-eyes pairs."""

    programs: list[tuple[int, str]]
    departments: list[tuple[int, str]]
    pairs: dict[str, set[str]]


def inbox_reference() -> InboxReference:
    """``InboxReference`` in ONE query (programs, departments and ``IncompatibleSteps`` rows)."""
    from budget.models import Program
    from registry.models import Department

    from .models import IncompatibleSteps

    text = CharField()

    def rows(qs, kind, pk, a, b):
        return qs.order_by().values_list(Value(kind, output_field=text), pk, a, b)

    query = rows(Program.objects.all(), "p", "pk", "code", "name").union(
        rows(Department.objects.all(), "d", "pk", "code", "name"),
        rows(IncompatibleSteps.objects.all(), "x", "pk", "step_a", "step_b"),
        all=True,
    )
    programs, departments, pairs = [], [], []
    for kind, pk, a, b in query.order_by():
        if kind == "p":
            programs.append((pk, a))
        elif kind == "d":
            departments.append((pk, b))
        else:
            pairs.append((a, b))
    return InboxReference(
        programs=sorted(programs, key=lambda row: row[1]),
        departments=sorted(departments, key=lambda row: row[1]),
        pairs=sod.pairs_map(pairs),
    )


# --- the declaration of conflict of interest ---------------------------------------------------------


def declared_no_conflict(user, task: CaseTask) -> bool:
    """Whether ``user`` declared no conflict of interest for ``task`` (``services.declare_conflict``,
    or with its decision): one indexed probe of the audit trail (actor, then case)."""
    from audit.actions import AuditAction
    from audit.models import AuditEntry

    return AuditEntry.objects.filter(
        actor=user.pk, case=task.case_code, action=AuditAction.TASK_NO_CONFLICT_DECLARED, data__task=task.pk
    ).exists()


def documents_refusal(user, case_code: str) -> str | None:
    """Why the case's documents are closed to ``user`` (None: they are not, as far as conflicts of
    interest go; who may see the case at all is the case app's rule). Closed to whoever declared a
    conflict of interest with the case (since their last declaration), and, while a step of the case
    that asks for the declaration is open for a role they hold, to whoever has not yet declared no
    conflict on the case. Two queries at most."""
    from django.utils.translation import gettext as _

    from audit.actions import AuditAction
    from audit.models import AuditEntry

    from .steps import declaration_steps

    steps = declaration_steps()
    if not steps or not case_code or not getattr(user, "is_authenticated", False):
        return None
    declared = (AuditAction.TASK_CONFLICT_DECLARED, AuditAction.TASK_NO_CONFLICT_DECLARED)
    last = (
        AuditEntry.objects.filter(actor=user.pk, case=case_code, action__in=declared)
        .order_by("-seq")
        .values_list("action", flat=True)
        .first()
    )
    if last == AuditAction.TASK_CONFLICT_DECLARED:
        return _(
            "You declared a conflict of interest with case %(code)s: its documents are closed to you."
        ) % {"code": case_code}
    if last == AuditAction.TASK_NO_CONFLICT_DECLARED:
        return None
    roles = sorted(roles_of(user) & STAFF_ROLES)
    pending = CaseTask.objects.filter(case_code=case_code, is_open=True, step__in=steps, role__in=roles)
    if roles and pending.exists():
        return _(
            "The documents of case %(code)s open once you declare, on its evaluation task, that you "
            "have no conflict of interest with it."
        ) % {"code": case_code}
    return None
