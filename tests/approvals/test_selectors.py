"""The inbox reads (``approvals.selectors``) after their performance rework: the same rows as the
plain definitions (roles, department and program scopes, applicant unit, four eyes, delegation),
read in fewer queries; and the keyset pagination of the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from approvals import selectors, sod
from approvals import services as approvals
from approvals.models import Step
from approvals.selectors import TaskFilters
from approvals.views import page_by_due, page_by_newest
from budget import services as budget_services
from budget.selectors import program_scope_ids
from cases.roles import roles_of
from registry import services as registry_services
from registry.models import Department
from registry.selectors import department_scope_ids
from tests.factories import UserFactory
from tests.iniciativas.conftest import World, submitted
from workflows.models import CaseTask

pytestmark = pytest.mark.django_db

SCORES = {"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20}


def ids(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def open_task(initiative, step) -> CaseTask:
    return CaseTask.objects.filter(case_code=initiative.code, step=step, is_open=True).order_by("pk").first()


def fresh(user):
    """The user as a new request loads it (no cached roles)."""
    return type(user).objects.get(pk=user.pk)


# --- roles and scopes in one query ---------------------------------------------------------------


def test_roles_and_scopes_match_the_plain_definitions_in_one_query(world: World):
    system = world.system
    lpz, scz, ben = (Department.objects.get(code=c) for c in ("LPZ", "SCZ", "BEN"))
    other = budget_services.create_program(actor=system, code="PROMYPE", name="PROMYPE")
    national = UserFactory(username="nacional", roles=["evaluator"])
    direct = UserFactory(username="directo", roles=["evaluator", "legal"])
    registry_services.grant_department_scope(direct, lpz, actor=system)
    budget_services.grant_program_scope(direct, other, actor=system)
    grouped = UserFactory(username="en_grupo", roles=["finance"])
    team = Group.objects.create(name="Equipo oriente")
    grouped.groups.add(team)
    assign_perm("registry.work_in_department", team, scz)
    assign_perm("budget.work_in_program", team, world.call.program)
    mixed = UserFactory(username="mixto", roles=["evaluator"])
    mixed.groups.add(team)
    registry_services.grant_department_scope(mixed, ben, actor=system)

    for user in (national, direct, grouped, mixed, world.applicant, world.staff["control1"]):
        loaded = fresh(user)
        with CaptureQueriesContext(connection) as queries:
            got = selectors._roles_and_scopes(loaded)
        assert len(queries) == 1
        plain = fresh(user)
        assert got == (roles_of(plain), department_scope_ids(plain), program_scope_ids(plain)), user
    assert selectors._roles_and_scopes(fresh(mixed))[1] == {scz.pk, ben.pk}
    assert selectors._roles_and_scopes(fresh(national))[1:] == (None, None)  # national


def test_cached_roles_are_kept_not_reread(world: World):
    user = fresh(world.staff["legal1"])
    user._expediente_roles = frozenset({"legal"})  # e.g. a delegator's roles, narrowed
    roles, depts, programs = selectors._roles_and_scopes(user)
    assert roles == frozenset({"legal"}) and depts is None and programs is None
    anonymous = selectors._roles_and_scopes(None)
    assert anonymous == (frozenset(), set(), set())


def test_inbox_reference_is_one_query_with_the_filter_choices_and_the_pairs(world: World):
    with CaptureQueriesContext(connection) as queries:
        reference = selectors.inbox_reference()
    assert len(queries) == 1
    assert [label for _pk, label in reference.programs] == ["PROLECHE"]
    assert len(reference.departments) == 9
    assert ("La Paz" in [label for _pk, label in reference.departments]) is True
    assert reference.pairs == sod.incompatible_map()
    assert "legal_report" in reference.pairs["budget_certification"]


# --- four eyes: the exclusion list -----------------------------------------------------------------


def test_excluded_cases_come_from_own_decisions_and_those_made_on_ones_behalf(world: World):
    s = world.staff
    ini = submitted(world)
    approvals.complete_task(open_task(ini, "admissibility").pk, actor=s["evaluador1"], decision="approve")
    today = timezone.localdate()
    approvals.delegate_inbox(
        actor=s["evaluador2"], delegate=s["evaluador3"], role="evaluator", starts_on=today, ends_on=today
    )
    first = open_task(ini, "technical_evaluation")
    # evaluador3 evaluates on evaluador2's behalf: the entry's actor is evaluador3.
    approvals.claim_task(first.pk, actor=s["evaluador3"])
    CaseTask.objects.filter(pk=first.pk).update(owner=s["evaluador2"])
    approvals.complete_task(first.pk, actor=s["evaluador3"], decision="approve", data=SCORES)

    pairs = sod.incompatible_map()
    with CaptureQueriesContext(connection) as queries:
        for_two = sod.excluded_cases_by_step(s["evaluador2"], pairs)
    assert len(queries) == 1
    assert for_two["technical_evaluation"] == {ini.code}  # decided for it by its delegate
    assert ini.code in sod.excluded_cases_by_step(s["evaluador3"])["technical_evaluation"]
    assert sod.excluded_cases_by_step(s["evaluador1"]).get("technical_evaluation", set()) == set()
    assert sod.excluded_cases_by_step(s["evaluador4"]) == {}


# --- who is offered what -------------------------------------------------------------------------


def test_department_scope_limits_department_steps_only(world: World):
    system, s = world.system, world.staff
    ini = submitted(world)  # Santa Cruz
    admissibility = open_task(ini, "admissibility")
    la_paz = UserFactory(username="ev_lpz", roles=["evaluator"])
    registry_services.grant_department_scope(la_paz, Department.objects.get(code="LPZ"), actor=system)
    assert admissibility.pk not in ids(selectors.task_list_available(fresh(la_paz)))
    assert admissibility.pk in ids(selectors.task_list_available(fresh(s["evaluador1"])))
    registry_services.grant_department_scope(la_paz, Department.objects.get(code="SCZ"), actor=system)
    assert admissibility.pk in ids(selectors.task_list_available(fresh(la_paz)))


def test_program_scope_limits_program_steps_only(world: World):
    system, s = world.system, world.staff
    ini = submitted(world)
    other = budget_services.create_program(actor=system, code="CETIP", name="CETIP")
    elsewhere = UserFactory(username="ev_cetip", roles=["evaluator"])
    budget_services.grant_program_scope(elsewhere, other, actor=system)
    admissibility = open_task(ini, "admissibility")
    assert admissibility.pk in ids(selectors.task_list_available(fresh(elsewhere)))  # not program-scoped
    approvals.complete_task(admissibility.pk, actor=s["evaluador1"], decision="approve")
    evaluations = ids(CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True))
    assert len(evaluations) == 2
    assert not evaluations & ids(selectors.task_list_available(fresh(elsewhere)))
    budget_services.grant_program_scope(elsewhere, world.call.program, actor=system)
    assert evaluations <= ids(selectors.task_list_available(fresh(elsewhere)))


def test_applicant_tasks_are_in_my_tasks_of_every_member_of_the_unit_never_to_claim(world: World):
    ini = submitted(world)
    approvals.complete_task(
        open_task(ini, "admissibility").pk,
        actor=world.staff["evaluador1"],
        decision="observe",
        comment="Falta.",
    )
    task = open_task(ini, "answer_observation")
    colleague = UserFactory(username="socio2", roles=["applicant"], unit=world.unit)
    for member in (world.applicant, colleague):
        assert ids(selectors.task_list_assigned(fresh(member))) == {task.pk}
        assert ids(selectors.task_list_available(fresh(member))) == set()
        assert ids(selectors.task_list_open(fresh(member))) == {task.pk}
    for outsider in (world.other_applicant, world.staff["evaluador2"]):
        assert ids(selectors.task_list_open(fresh(outsider))) == set()
    # An unprivileged member of the unit (no applicant role) is not offered it either.
    assert task.pk not in ids(selectors.task_list_assigned(fresh(world.staff["admin1"])))


def test_delegate_is_offered_the_delegators_tasks_but_keeps_its_own_four_eyes(world: World):
    s = world.staff
    ini = submitted(world)
    approvals.complete_task(open_task(ini, "admissibility").pk, actor=s["evaluador1"], decision="approve")
    first, second = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(first.pk, actor=s["evaluador2"], decision="approve", data=SCORES)
    # evaluador2 may not take the second evaluation; evaluador3 may.
    assert second.pk not in ids(selectors.task_list_available(fresh(s["evaluador2"])))
    today = timezone.localdate()
    approvals.delegate_inbox(
        actor=s["evaluador3"], delegate=s["evaluador2"], role="evaluator", starts_on=today, ends_on=today
    )
    # Standing in for evaluador3 does not let evaluador2 evaluate the same case twice.
    assert second.pk not in ids(selectors.task_list_available(fresh(s["evaluador2"])))
    # A task evaluador3 holds shows in its delegate's "Mis tareas", unless four eyes forbid it.
    approvals.claim_task(second.pk, actor=s["evaluador3"])
    other = open_task(submitted(world, title="Otro caso"), "admissibility")
    approvals.claim_task(other.pk, actor=s["evaluador3"])
    assert ids(selectors.task_list_assigned(fresh(s["evaluador2"]))) == {other.pk}
    assert ids(selectors.task_list_assigned(fresh(s["evaluador4"]))) == set()


def test_task_for_action_accepts_the_role_and_unit_only(world: World):
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    assert selectors.task_for_action(fresh(s["evaluador4"]), task.pk) == task
    for user in (s["legal1"], s["control1"], s["admin1"], world.applicant):
        with pytest.raises(CaseTask.DoesNotExist):
            selectors.task_for_action(fresh(user), task.pk)
    gateway = CaseTask.objects.filter(case_code="", step="").first()
    if gateway is not None:  # the flow's own start/gateway rows are never actionable
        with pytest.raises(CaseTask.DoesNotExist):
            selectors.task_for_action(fresh(s["evaluador1"]), gateway.pk)
    with pytest.raises(CaseTask.DoesNotExist):
        selectors.task_for_action(fresh(s["evaluador1"]), 10**9)


def test_task_get_for_sees_offered_held_and_decided_tasks_only(world: World):
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    assert selectors.task_get_for(fresh(s["evaluador2"]), task.pk) == task  # offered
    approvals.claim_task(task.pk, actor=s["evaluador1"])
    assert selectors.task_get_for(fresh(s["evaluador1"]), task.pk) == task  # held
    with pytest.raises(CaseTask.DoesNotExist):
        selectors.task_get_for(fresh(s["evaluador2"]), task.pk)  # held by a colleague
    approvals.complete_task(task.pk, actor=s["evaluador1"], decision="approve")
    assert selectors.task_get_for(fresh(s["evaluador1"]), task.pk).pk == task.pk  # decided by it
    with pytest.raises(CaseTask.DoesNotExist):
        selectors.task_get_for(fresh(s["legal1"]), task.pk)


def test_due_before_is_a_la_paz_calendar_day(world: World):
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    day = dt.date(2030, 5, 10)
    late_evening = timezone.make_aware(dt.datetime(2030, 5, 10, 23, 59, 59))  # La Paz (UTC-4)
    CaseTask.objects.filter(pk=task.pk).update(due_at=late_evening)
    user = fresh(world.staff["evaluador1"])
    assert ids(selectors.task_list_available(user, TaskFilters(due_before=day))) == {task.pk}
    before = TaskFilters(due_before=day - dt.timedelta(days=1))
    assert ids(selectors.task_list_available(user, before)) == set()
    assert ids(selectors.task_list_available(user, TaskFilters(step=Step.ADMISSIBILITY))) == {task.pk}
    assert ids(selectors.task_list_available(user, TaskFilters(step=Step.AGREEMENT))) == set()


# --- keyset pages --------------------------------------------------------------------------------


def _walk(paginate, qs, size):
    """Every row once, in order, following "next" then walking back with "previous"."""
    forward, pages, cursor = [], [], ""
    while True:
        page = paginate(qs, after=cursor, size=size)
        pages.append(page)
        forward += [t.pk for t in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    backward, page = [], pages[-1]
    backward = [t.pk for t in page.rows]
    while page.prev_cursor:
        page = paginate(qs, before=page.prev_cursor, size=size)
        backward = [t.pk for t in page.rows] + backward
    return forward, backward


def test_keyset_pages_cover_every_row_once_in_order(world: World):
    for n in range(5):
        submitted(world, title=f"Caso {n}")
    tasks = list(CaseTask.objects.filter(step="admissibility").order_by("pk"))
    base = timezone.now()
    # Ties on the due date, and one task without a due date (sorted last).
    dues = [base + dt.timedelta(days=2), base, base + dt.timedelta(days=2), None, base + dt.timedelta(days=1)]
    for task, due in zip(tasks, dues, strict=True):
        CaseTask.objects.filter(pk=task.pk).update(due_at=due)
    qs = selectors.task_list_available(fresh(world.staff["evaluador1"]))
    expected = [tasks[1].pk, tasks[4].pk, tasks[0].pk, tasks[2].pk, tasks[3].pk]
    for size in (1, 2, 3, 5, 10):
        forward, backward = _walk(page_by_due, qs, size)
        assert forward == expected, size
        assert backward == expected, size
    first = page_by_due(qs, size=2)
    assert first.prev_cursor is None and first.next_cursor
    assert page_by_due(qs, after="garbage", size=2).rows == first.rows  # a bad cursor: page 1

    done_qs = CaseTask.objects.filter(step="admissibility")
    forward, backward = _walk(page_by_newest, done_qs, 2)
    newest = sorted((t.pk for t in tasks), reverse=True)
    assert forward == newest and backward == newest


def test_the_sql_exclusion_matches_the_exclusion_list(world: World):
    """``sod.excluded_tasks_q`` (what the queue query uses) excludes exactly the tasks that
    ``sod.excluded_cases_by_step`` lists, own decisions and decisions made on one's behalf."""
    s = world.staff
    first, second = submitted(world, title="Uno"), submitted(world, title="Dos")
    for ini in (first, second):
        approvals.complete_task(open_task(ini, "admissibility").pk, actor=s["evaluador1"], decision="approve")
    approvals.complete_task(
        open_task(first, "technical_evaluation").pk, actor=s["evaluador2"], decision="approve", data=SCORES
    )
    today = timezone.localdate()
    approvals.delegate_inbox(
        actor=s["evaluador4"], delegate=s["evaluador3"], role="evaluator", starts_on=today, ends_on=today
    )
    on_behalf = open_task(second, "technical_evaluation")
    approvals.claim_task(on_behalf.pk, actor=s["evaluador3"])
    CaseTask.objects.filter(pk=on_behalf.pk).update(owner=s["evaluador4"])
    approvals.complete_task(on_behalf.pk, actor=s["evaluador3"], decision="approve", data=SCORES)
    pairs = sod.incompatible_map()
    everything = CaseTask.objects.exclude(step="")
    for name in ("evaluador1", "evaluador2", "evaluador3", "evaluador4", "legal1"):
        user = s[name]
        listed = sod.excluded_cases_by_step(user, pairs)
        expected = {t.pk for t in everything if t.case_code in listed.get(t.step, set())}
        q = sod.excluded_tasks_q(user, pairs)
        got = ids(everything.filter(q)) if q is not None else set()
        assert got == expected, name
    assert ids(everything.filter(sod.excluded_tasks_q(s["evaluador4"], pairs))) >= {
        open_task(second, "technical_evaluation").pk
    }
