"""Whom a new task is notified to (issue 12): who could claim it is ONE query over users
(``selectors.eligible_users``), and it is exactly who ``services.refusal_reason`` lets work it — role,
department and program scopes through the person or a group, not of the applicant unit, never on a
case it acted on for the applicant, four eyes (what it decided, itself or through a delegate, or
holds) — with the same cap, and their delegates in one more query; the escalation audience likewise.

A property test (Hypothesis, marked slow) draws random staffs and histories and compares the
set-based audience with the same people computed the slow way, one person at a time, with the code
this replaced. The fast tests pin each rule with one person each, and count the statements of
``notify_new_tasks`` for one new evaluation task with 4, 24, 100 and 200 evaluators: the same."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import audit
from approvals import notifications, selectors, sod
from approvals import services as approvals
from approvals.models import Delegation, Notification
from audit.actions import AuditAction
from budget import services as budget_services
from budget.models import ProgramUserObjectPermission
from budget.selectors import PROGRAM_PERMISSION, program_scope_ids
from cases.roles import Role, has_role
from registry import services as registry_services
from registry.models import Department, User
from registry.selectors import department_scope_ids
from tests.factories import UserFactory
from tests.iniciativas.conftest import World, submitted
from workflows.models import CaseTask

from .clock import decide, open_task, to_approval

pytestmark = pytest.mark.django_db


def fresh(user) -> User:
    """The user as a new request sees it (no role cached on the instance)."""
    return User.objects.get(pk=user.pk)


def pks(users) -> list[int]:
    return [u.pk for u in users]


# --- the slow way: one person at a time, as notifications did before -----------------------------------


def slow_eligible(task) -> list[int]:
    """``refusal_reason(u, task) is None`` for every user, by id."""
    pairs = sod.incompatible_map()
    return [
        u.pk for u in User.objects.order_by("pk") if approvals.refusal_reason(u, task, pairs=pairs) is None
    ]


def slow_delegates_of(user, role: str) -> list:
    on = timezone.localdate()
    rows = Delegation.objects.filter(
        delegator=user, role=role, starts_on__lte=on, ends_on__gte=on, revoked_at__isnull=True
    ).select_related("delegate")
    return [d.delegate for d in rows.order_by("pk") if d.delegate.is_active and has_role(d.delegate, role)]


def slow_claimers(task, cap: int) -> list[int]:
    eligible = [User.objects.get(pk=pk) for pk in slow_eligible(task)]
    if len(eligible) > cap:
        return []
    extra = [d for u in eligible for d in slow_delegates_of(u, task.role)]
    return pks(notifications._unique([*eligible, *extra]))


def slow_escalation(task, cap: int) -> list[int]:
    if not task.escalation_role:
        return []
    candidates = User.objects.filter(is_active=True, groups__name=task.escalation_role).order_by("pk")
    if task.unit_id:
        candidates = candidates.exclude(unit_id=task.unit_id)
    out = []
    for user in candidates:
        depts = department_scope_ids(user)
        if depts is not None and task.department_id not in depts:
            continue
        programs = program_scope_ids(user)
        if programs is not None and task.program_id not in programs:
            continue
        if sod.acted_as_applicant(user, task.case_code):  # as reassign_refusal
            continue
        out.append(user.pk)
    return [] if len(out) > cap else out


def inbox_offers(user, task) -> bool:
    """The inbox's own rule for ``user`` itself (``selectors._workable_by``) on ``task``."""
    q = selectors._workable_by(user, None)
    return q is not None and CaseTask.objects.filter(pk=task.pk).filter(q).exists()


def check_audience(task, cap: int) -> list[int]:
    """The set-based audience equals the slow one; returns who may work ``task``."""
    expected = slow_eligible(task)
    assert pks(selectors.eligible_users(task)) == expected
    # The same rule for one user, from its SQL built once per shape (``may_work_itself``).
    for user in User.objects.order_by("pk"):
        assert selectors.may_work_itself(user, task)[0] == (user.pk in expected), (user.username, task.step)
    if task.role != Role.APPLICANT and not task.owner_id:
        assert pks(notifications.claimers_of(task)) == slow_claimers(task, cap)
        for user in User.objects.filter(is_active=True):
            assert inbox_offers(fresh(user), task) == (user.pk in expected), (user.username, task.step)
    assert pks(notifications.escalation_audience(task)) == slow_escalation(task, cap)
    return expected


# --- the stage: open tasks of every kind, on cases with a history ----------------------------------------


@pytest.fixture
def stage(world: World) -> dict:
    """Open tasks: the second technical evaluation of a case (program scope, four eyes; the first
    one open too), the admissibility check of another (department scope), the legal report of a
    third (no scope; evaluador2 and evaluador3 evaluated it), and an applicant's answer to
    observations of a fourth."""
    evaluation = submitted(world, title="Tanque de frío")
    decide(evaluation, "admissibility", world.staff["evaluador1"])
    first, second = CaseTask.objects.filter(case_code=evaluation.code, step="technical_evaluation")
    admissibility = open_task(submitted(world, title="Ordeñadoras"), "admissibility")
    chain = submitted(world, title="Planta de queso")
    to_approval(world, chain)
    observed = submitted(world, title="Centro de acopio")
    decide(observed, "admissibility", world.staff["evaluador1"], "observe", comment="Falta la carta.")
    other = budget_services.create_program(actor=world.system, code="PROMYPE", name="PROMYPE")
    east, west = (
        Group.objects.create(name="Regional oriente"),
        Group.objects.create(name="Regional occidente"),
    )
    assign_perm("registry.work_in_department", east, Department.objects.get(code="SCZ"))
    assign_perm("budget.work_in_program", east, world.call.program)
    assign_perm("registry.work_in_department", west, Department.objects.get(code="LPZ"))
    assign_perm("budget.work_in_program", west, other)
    return {
        "tasks": [
            CaseTask.objects.get(pk=second.pk),
            admissibility,
            open_task(chain, "legal_report"),
            open_task(observed, "answer_observation"),
        ],
        "first_slot": first,
        "programs": [world.call.program, other],
        "groups": [east, west],
    }


# --- the property ------------------------------------------------------------------------------------------

ROLES = (Role.EVALUATOR, Role.LEGAL, Role.DIRECTOR, Role.APPLICANT)
TASK_ROLE = "task"  # the role of the task drawn (a staff role for a delegation)
STEPS = ("technical_evaluation", "admissibility", "legal_report", "budget_certification")


def often(common, *rare):
    """``common`` three times in four, else one of ``rare``."""
    return st.sampled_from([common] * 3 * len(rare) + list(rare))


person = st.fixed_dictionaries(
    {
        "roles": st.sets(often(TASK_ROLE, *ROLES), min_size=1, max_size=2),
        "active": often(True, False),
        "unit": often(None, "applicant", "other"),
        "departments": st.sets(st.sampled_from(["SCZ", "LPZ", "PTS"]), max_size=2),
        "programs": st.sets(st.sampled_from([0, 1]), max_size=2),
        "groups": st.sets(st.sampled_from([0, 1]), max_size=2),
        "upload": often(None, "before_staff", "as_staff"),
        "submitted": often(False, True),
        "decided": often(None, *STEPS),
        "holds": often(False, True),
    }
)
# The delegations: between the world's staff of the task's role (who may mostly take it) and the
# drawn people, either way.
WORLD_STAFF = ("evaluador1", "evaluador2", "evaluador3", "legal1", "legal2", "director1", "director2")
delegation = st.fixed_dictionaries(
    {
        "delegator": st.tuples(often("world", "drawn"), st.integers(0, 7)),
        "delegate": st.tuples(often("drawn", "world"), st.integers(0, 7)),
        "role": often(TASK_ROLE, Role.EVALUATOR, Role.LEGAL, Role.DIRECTOR),
        "when": often("now", "past", "future", "revoked"),
        "decided_for": often(None, *STEPS),
    }
)


def make_person(world: World, stage: dict, n: int, spec: dict, task) -> User:
    """A person as the services make one; what no service does (a staff member moved into a unit on
    the admin site, the history of a case) is written directly."""
    system, case = world.system, task.case_code
    roles = {task.role if r == TASK_ROLE else r for r in spec["roles"]}
    staff = sorted(r for r in roles if r != Role.APPLICANT)
    applicant = Role.APPLICANT in roles
    unit = {"applicant": world.unit, "other": world.other_unit}.get(spec["unit"])
    before = spec["upload"] == "before_staff"  # uploaded for the case, then hired
    user = UserFactory(
        username=f"persona{n}",
        roles=([Role.APPLICANT] if applicant else []) + ([] if before else staff),
        unit=unit if before or not staff else None,
    )
    if before:
        audit.record(AuditAction.DOCUMENT_UPLOADED, actor=user, case=case, data={"kind": "anexo"})
        if staff:
            User.objects.filter(pk=user.pk).update(unit=None)  # out of the unit, then the staff roles
            for role in staff:
                registry_services.grant_role(fresh(user), role, actor=system)
    if unit is not None and staff:
        User.objects.filter(pk=user.pk).update(unit=unit)  # the admin site allows it
    for code in sorted(spec["departments"]):
        registry_services.grant_department_scope(user, code, actor=system)
    for n_program in sorted(spec["programs"]):
        budget_services.grant_program_scope(user, stage["programs"][n_program], actor=system)
    for n_group in sorted(spec["groups"]):
        user.groups.add(stage["groups"][n_group])
    if spec["upload"] == "as_staff":
        audit.record(AuditAction.DOCUMENT_UPLOADED, actor=user, case=case, data={"kind": "anexo"})
    if spec["submitted"]:
        audit.record("initiative.submitted", actor=user, case=case)
    if spec["decided"]:
        audit.record(AuditAction.TASK_COMPLETED, actor=user, case=case, data={"step": spec["decided"]})
    if not spec["active"]:
        User.objects.filter(pk=user.pk).update(is_active=False)
    return fresh(user)


def hold(task, user) -> None:
    """``user`` holds another open task of ``task``'s case (claimed; the claim's checks are not the
    point here), when there is one."""
    other = CaseTask.objects.filter(case_code=task.case_code, is_open=True).exclude(pk=task.pk).first()
    if other is not None:
        CaseTask.objects.filter(pk=other.pk).update(owner=user, status="ASSIGNED")


def make_delegation(pools: dict, spec: dict, task) -> None:
    """A delegation between two people of ``pools`` (``"world"``: the world's staff holding the
    task's role; ``"drawn"``: the people drawn)."""
    case = task.case_code
    role = spec["role"] if spec["role"] != TASK_ROLE else task.role
    role = Role.EVALUATOR if role == Role.APPLICANT else role
    (giver, n), (taker, m) = spec["delegator"], spec["delegate"]
    delegator, delegate = pools[giver][n % len(pools[giver])], pools[taker][m % len(pools[taker])]
    if delegator.pk == delegate.pk:
        return
    today = timezone.localdate()
    starts, ends = {
        "past": (today - dt.timedelta(days=9), today - dt.timedelta(days=1)),
        "future": (today + dt.timedelta(days=1), today + dt.timedelta(days=9)),
    }.get(spec["when"], (today - dt.timedelta(days=1), today + dt.timedelta(days=1)))
    Delegation.objects.create(
        delegator=delegator,
        delegate=delegate,
        role=role,
        starts_on=starts,
        ends_on=ends,
        revoked_at=timezone.now() if spec["when"] == "revoked" else None,
    )
    if spec["decided_for"]:  # the delegate decided a step of the case on the delegator's behalf
        data = {"step": spec["decided_for"], "on_behalf_of": delegator.pk}
        audit.record(AuditAction.TASK_COMPLETED, actor=delegate, case=case, data=data)


@pytest.mark.slow
@hypothesis_settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    which=st.integers(0, 3),
    people=st.lists(person, min_size=2, max_size=8),
    delegations=st.lists(delegation, min_size=1, max_size=6),
    cap=often(20, 3),
    escalation=st.sampled_from(["", Role.DIRECTOR, Role.EVALUATOR, Role.LEGAL]),
)
def test_the_audience_is_who_refusal_reason_accepts(
    world, stage, settings, which, people, delegations, cap, escalation
):
    settings.NOTIFY_QUEUE_MAX_RECIPIENTS = cap
    task = stage["tasks"][which]
    with transaction.atomic():
        made = [make_person(world, stage, n, spec, task) for n, spec in enumerate(people)]
        for spec, user in zip(people, made, strict=True):
            if spec["holds"]:
                hold(task, user)
        staff = [fresh(world.staff[name]) for name in WORLD_STAFF]
        pools = {"drawn": made, "world": [u for u in staff if has_role(u, task.role)] or staff}
        for spec in delegations:
            make_delegation(pools, spec, task)
        task.escalation_role = escalation
        check_audience(task, cap)
        transaction.set_rollback(True)


# --- each rule, one person each --------------------------------------------------------------------------


def test_each_rule_leaves_out_its_person(world, stage, settings):
    """The second technical evaluation of a PROLECHE case in Santa Cruz: who may take it, and why not."""
    system, s = world.system, world.staff
    task, first = stage["tasks"][0], stage["first_slot"]
    east, west = stage["groups"]
    promype = stage["programs"][1]
    ev = {}
    for name in (
        "potosino", "programa", "grupo", "otro_programa", "otro_grupo", "inactivo", "de_la_unidad",
        "decidio", "por_delegado", "sostiene", "subio_despues", "solicito",
    ):  # fmt: skip
        ev[name] = UserFactory(username=name, roles=["evaluator"])
    UserFactory(username="legal_nacional", roles=["legal"])
    budget_services.grant_program_scope(ev["programa"], world.call.program, actor=system)
    budget_services.grant_program_scope(ev["otro_programa"], promype, actor=system)
    ev["grupo"].groups.add(east)
    ev["otro_grupo"].groups.add(west)
    registry_services.grant_department_scope(ev["potosino"], "PTS", actor=system)  # a program-scoped step
    User.objects.filter(pk=ev["inactivo"].pk).update(is_active=False)
    User.objects.filter(pk=ev["de_la_unidad"].pk).update(unit=world.unit)
    approvals.claim_task(first.pk, actor=ev["sostiene"])
    code = task.case_code
    audit.record(AuditAction.TASK_COMPLETED, actor=ev["decidio"], case=code, data={"step": "legal_report"})
    Delegation.objects.create(
        delegator=ev["por_delegado"],
        delegate=s["evaluador4"],
        role="evaluator",
        starts_on=timezone.localdate() - dt.timedelta(days=30),
        ends_on=timezone.localdate() - dt.timedelta(days=20),  # long over: its decisions still count
    )
    audit.record(
        AuditAction.TASK_COMPLETED,
        actor=s["evaluador4"],
        case=code,
        data={"step": "technical_evaluation", "on_behalf_of": ev["por_delegado"].pk},
    )
    audit.record(AuditAction.DOCUMENT_UPLOADED, actor=ev["subio_despues"], case=code, data={})
    audit.record("initiative.submitted", actor=ev["solicito"], case=code)
    hired = UserFactory(username="subio_antes", roles=["applicant"], unit=world.unit)
    audit.record(AuditAction.DOCUMENT_UPLOADED, actor=hired, case=code, data={})
    registry_services.revoke_role(hired, "applicant", actor=system)
    User.objects.filter(pk=hired.pk).update(unit=None)
    registry_services.grant_role(fresh(hired), "evaluator", actor=system)

    settings.NOTIFY_QUEUE_MAX_RECIPIENTS = 50
    eligible = check_audience(fresh_task(task), 50)
    names = sorted(User.objects.filter(pk__in=eligible).values_list("username", flat=True))
    # Left out: legal_nacional (role), otro_programa and otro_grupo (program, their own or their
    # group's), inactivo, de_la_unidad (a member of the applicant unit), decidio (an incompatible
    # step), por_delegado (decided through evaluador4 — whose own decision it is too), sostiene
    # (holds the first evaluation), solicito and subio_antes (the applicant side).
    assert names == [
        "evaluador1",  # decided the admissibility check: compatible
        "evaluador2",
        "evaluador3",
        "grupo",
        "potosino",
        "programa",
        "subio_despues",  # uploaded as staff: not the applicant side
    ]
    # The applicant's answer is its unit's, the admissibility check is department-scoped.
    assert [u.username for u in selectors.eligible_users(stage["tasks"][3])] == ["solicitante1"]
    check_audience(stage["tasks"][1], 50)
    check_audience(stage["tasks"][2], 50)


def fresh_task(task) -> CaseTask:
    return CaseTask.objects.get(pk=task.pk)


def test_the_delegates_of_whoever_is_told_in_one_query(world, stage):
    s = world.staff
    task = stage["tasks"][2]  # the legal report: legal1 and legal2
    today = timezone.localdate()
    day = dt.timedelta(days=1)
    colleague = UserFactory(username="legal3", roles=["legal"])
    gone = UserFactory(username="legal4", roles=["legal"])
    User.objects.filter(pk=gone.pk).update(is_active=False)
    evaluator = s["evaluador4"]
    for delegator, delegate, role, starts, ends, revoked in (
        (s["legal1"], colleague, "legal", today, today, None),  # told
        (s["legal2"], colleague, "legal", today - day, today + day, None),  # told once
        (s["legal1"], gone, "legal", today, today, None),  # inactive
        (s["legal1"], evaluator, "legal", today, today, None),  # does not hold the role
        (s["legal2"], s["legal1"], "legal", today + day, today + day, None),  # not yet
        (s["legal1"], s["legal2"], "legal", today, today, timezone.now()),  # revoked
    ):
        Delegation.objects.create(
            delegator=delegator,
            delegate=delegate,
            role=role,
            starts_on=starts,
            ends_on=ends,
            revoked_at=revoked,
        )
    with CaptureQueriesContext(connection) as queries:
        told = notifications.claimers_of(task)
    assert [u.username for u in told] == ["legal1", "legal2", "legal3"]
    assert len(queries) == 2  # who may claim it, and their delegates
    assert pks(told) == slow_claimers(task, 20)
    # The holder of an assigned task and its delegates: one query for the delegates.
    approvals.claim_task(task.pk, actor=s["legal1"])
    held = CaseTask.objects.select_related("owner").get(pk=task.pk)
    with CaptureQueriesContext(connection) as queries:
        holders = notifications.holders_of(held)
    assert [u.username for u in holders] == ["legal1", "legal3"]
    assert len(queries) == 1


def test_the_cap_counts_who_could_claim_it_not_who_holds_the_role(world, stage, settings):
    """Many more people hold the role than the cap (the old code gave up past five times the cap),
    but three could claim the task: they are told. One more who could: nobody personally."""
    settings.NOTIFY_QUEUE_MAX_RECIPIENTS = 3
    task = stage["tasks"][0]
    approvals.claim_task(stage["first_slot"].pk, actor=world.staff["evaluador4"])  # four eyes: not it
    bulk_evaluators(world, range(20), program=stage["programs"][1])
    assert [u.username for u in notifications.claimers_of(task)] == [f"evaluador{n}" for n in (1, 2, 3)]
    UserFactory(username="nacional", roles=["evaluator"])
    assert notifications.claimers_of(task) == []


# --- the statements do not grow with the staff -----------------------------------------------------------


def bulk_evaluators(world: World, numbers, *, program=None, group=None, active: bool = True) -> list[User]:
    """Evaluators ``ev<n>``, written in bulk (hundreds of people built through the services would
    take seconds): scoped to ``program`` by their own permission, members of ``group``."""
    new = User.objects.bulk_create(
        User(username=f"ev{n:03d}", is_active=active, password="!") for n in numbers
    )
    groups = [Group.objects.get(name=Role.EVALUATOR), *([group] if group else [])]
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=u.pk, group_id=g.pk) for u in new for g in groups
    )
    if program is not None:
        perm = Permission.objects.get(codename=PROGRAM_PERMISSION, content_type__app_label="budget")
        ProgramUserObjectPermission.objects.bulk_create(
            ProgramUserObjectPermission(user=u, permission=perm, content_object=program) for u in new
        )
    return new


def grow_evaluators(world: World, stage: dict, target: int) -> None:
    """Evaluators up to ``target``, none of whom may take the case's second evaluation (so the same
    four people are told whatever the size), in turn: scoped to another program by their own
    permission, members of the western group (another program), inactive, and national but having
    decided the case's first evaluation (recorded in the trail)."""
    have = User.objects.filter(groups__name=Role.EVALUATOR).count()
    numbers = range(have, target)
    promype, west = stage["programs"][1], stage["groups"][1]
    bulk_evaluators(world, [n for n in numbers if n % 4 == 0], program=promype)
    bulk_evaluators(world, [n for n in numbers if n % 4 == 1], group=west)
    bulk_evaluators(world, [n for n in numbers if n % 4 == 2], active=False)
    case = stage["tasks"][0].case_code
    for user in bulk_evaluators(world, [n for n in numbers if n % 4 == 3]):
        data = {"step": "technical_evaluation"}
        audit.record(AuditAction.TASK_COMPLETED, actor=user, case=case, data=data)


def test_notifying_a_new_task_costs_the_same_statements_whatever_the_staff(world, stage):
    """``pytest -s`` prints the counts (docs/BENCHMARKS.md, "Whom to notify")."""
    task = stage["tasks"][0]
    counts, told = {}, {}
    for size in (4, 24, 100, 200):
        grow_evaluators(world, stage, size)
        assert User.objects.filter(groups__name=Role.EVALUATOR).count() == size
        with CaptureQueriesContext(connection) as queries:
            notifications.notify_new_tasks([task.pk])
        counts[size] = len(queries)
        told[size] = sorted(
            Notification.objects.filter(event_key=f"task:{task.pk}:new").values_list(
                "user__username", flat=True
            )
        )
        Notification.objects.all().delete()
    print(f"\nnotify_new_tasks on {connection.vendor}, statements by number of evaluators: {counts}")
    assert told == {size: [f"evaluador{n}" for n in range(1, 5)] for size in counts}
    assert len(set(counts.values())) == 1, counts


def test_the_audience_of_a_large_queue_costs_one_query_whatever_the_staff(world, stage, settings):
    """Everyone could take it: nobody is told personally, at the price of one query however many."""
    settings.NOTIFY_QUEUE_MAX_RECIPIENTS = 20
    task = stage["tasks"][1]  # the admissibility check: the world's four and every new evaluator
    counts = {}
    for size in (24, 100, 200):
        bulk_evaluators(world, range(User.objects.filter(groups__name=Role.EVALUATOR).count(), size))
        with CaptureQueriesContext(connection) as queries:
            assert notifications.claimers_of(task) == []
        counts[size] = len(queries)
    assert counts == dict.fromkeys(counts, 1), counts
