"""Inbox pages cost a fixed number of SQL queries (≤ 10, the whole request: session, user, roles
included) and stay light (≤ 300 KB), whatever the number of tasks, of department/program scopes
and of other guardian object permissions the user holds. viewflow's stock queue runs about two
queries per object permission (docs/notes/performance-baselines.md §4); ours must not."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from approvals import services as approvals
from approvals.views import PAGE_SIZE
from budget import services as budget_services
from budget.selectors import program_scope_ids
from registry import services as registry_services
from registry.models import Department
from registry.selectors import department_scope_ids
from tests.factories import UserFactory
from tests.iniciativas.conftest import World, submitted
from workflows.models import CaseTask

pytestmark = pytest.mark.django_db

MAX_QUERIES = 10
MAX_BYTES = 300_000
PAGES = {
    "mine": reverse("task-inbox"),
    "available": reverse("task-available"),
    "done": reverse("task-done"),
    "escalated": reverse("task-escalated"),
}


def _many_object_permissions(user, group, count: int) -> None:
    """``count`` generic guardian object permissions for the user and as many for its group (what
    viewflow's ``user_queue`` loads one by one), on objects unrelated to the inbox."""
    unit_type = ContentType.objects.get(app_label="registry", model="unit")
    view_unit = Permission.objects.get(content_type=unit_type, codename="view_unit")
    UserObjectPermission.objects.bulk_create(
        UserObjectPermission(user=user, permission=view_unit, content_type=unit_type, object_pk=str(n))
        for n in range(1, count + 1)
    )
    GroupObjectPermission.objects.bulk_create(
        GroupObjectPermission(group=group, permission=view_unit, content_type=unit_type, object_pk=str(n))
        for n in range(1, count + 1)
    )


@pytest.fixture(scope="module")
def world(module_db) -> World:
    """The agency of ``tests.iniciativas.conftest``, built once for the module with ``busy`` (each
    test's own changes are rolled back, see ``module_db``)."""
    from tests.iniciativas.conftest import make_world

    with module_db():
        return make_world()


@pytest.fixture(scope="module")
def busy(module_db, world: World):
    with module_db():
        return make_busy(world)


def make_busy(world: World):
    """More open tasks than a page, two evaluators: ``plain`` (national, no object permission) and
    ``loaded`` (all nine departments and six programs through services, more department and program
    scopes through a group, and 600 other guardian object permissions)."""
    system = world.system
    cases = [submitted(world, title=f"Caso {n}") for n in range(PAGE_SIZE + 2)]
    plain = UserFactory(username="ev_plain", roles=["evaluator"])
    loaded = UserFactory(username="ev_loaded", roles=["evaluator"])
    for department in Department.objects.all():
        registry_services.grant_department_scope(loaded, department, actor=system)
    programs = [world.call.program] + [
        budget_services.create_program(actor=system, code=f"PRG{n}", name=f"Programa {n}") for n in range(5)
    ]
    for program in programs:
        budget_services.grant_program_scope(loaded, program, actor=system)
    group = Group.objects.create(name="Regional oriente")
    loaded.groups.add(group)
    for department in Department.objects.filter(code__in=["SCZ", "BEN", "PND"]):
        assign_perm("registry.work_in_department", group, department)
    for program in programs[:3]:
        assign_perm("budget.work_in_program", group, program)
    _many_object_permissions(loaded, group, 300)
    # Each evaluator holds more tasks than a page and decided one.
    tasks = list(CaseTask.objects.filter(step="admissibility", is_open=True).order_by("pk"))
    for user, mine in ((plain, tasks[: PAGE_SIZE + 1]), (loaded, [])):
        for task in mine:
            approvals.claim_task(task.pk, actor=user)
    approvals.complete_task(tasks[-1].pk, actor=loaded, decision="approve")
    return {"plain": plain, "loaded": loaded, "cases": cases}


def _get(client, user, url, **params):
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return response, len(queries)


def _rows(response) -> int:
    return len(re.findall(r'class="code">', response.content.decode()))


def test_scope_helpers_see_the_permissions(busy):
    """The fixture really gives ``loaded`` scopes and many other object permissions."""
    loaded = busy["loaded"]
    assert len(department_scope_ids(loaded)) == 9
    assert len(program_scope_ids(loaded)) == 6
    assert UserObjectPermission.objects.filter(user=loaded).count() == 300


@pytest.mark.parametrize("tab", ["mine", "available", "done", "escalated"])
def test_each_page_costs_at_most_ten_queries_whatever_the_object_permissions(
    client, busy, tab, django_assert_max_num_queries
):
    counts = {}
    for who in ("plain", "loaded"):
        client.force_login(busy[who])
        with django_assert_max_num_queries(MAX_QUERIES) as queries:
            response = client.get(PAGES[tab])
        assert response.status_code == 200
        counts[who] = len(queries)
        assert len(response.content) < MAX_BYTES
    assert counts["plain"] == counts["loaded"], counts


def test_full_pages_cost_the_same_as_short_ones(client, busy, world: World):
    """A full page with a next page costs what a one-row page costs: no COUNT(*), no per-row query."""
    plain, loaded = busy["plain"], busy["loaded"]
    response, full = _get(client, plain, PAGES["mine"])
    assert _rows(response) == PAGE_SIZE and 'rel="next"' in response.content.decode()
    response, short = _get(client, loaded, PAGES["done"])
    assert _rows(response) == 1
    assert full <= MAX_QUERIES and short <= MAX_QUERIES
    response, _count = _get(client, loaded, PAGES["available"])
    assert _rows(response) == 0 or _rows(response) <= PAGE_SIZE
    # The next page (keyset cursor) costs the same as the first.
    client.force_login(plain)
    first = client.get(PAGES["mine"])
    next_url = re.search(r'href="([^"]+)" rel="next"', first.content.decode()).group(1).replace("&amp;", "&")
    with CaptureQueriesContext(connection) as queries:
        second = client.get(next_url)
    assert second.status_code == 200
    assert _rows(second) == 1
    assert len(queries) <= full + 1  # + the top-up read of undated rows on the last page


def test_filters_do_not_add_queries(client, busy, world: World):
    loaded = busy["loaded"]
    _response, bare = _get(client, loaded, PAGES["available"])
    _response, filtered = _get(
        client,
        loaded,
        PAGES["available"],
        step="admissibility",
        program=world.call.program_id,
        department=busy["cases"][0].department_id,
        due_before="2099-12-31",
        overdue="on",
        case="INI",
    )
    assert filtered == bare


def test_applicant_pages_cost_the_same(client, busy, world: World):
    for url in PAGES.values():
        with CaptureQueriesContext(connection):
            _response, count = _get(client, world.applicant, url)
        assert count <= MAX_QUERIES


def test_a_delegation_adds_a_fixed_number_of_queries(client, busy, world: World):
    """Standing in for a colleague adds that colleague's roles and scopes (a fixed number of
    reads), never a query per task: every tab stays within the budget, because the view and the
    site header's delegation banner share one read of the delegation (the request memo)."""
    from django.utils import timezone

    today = timezone.localdate()
    approvals.delegate_inbox(
        actor=busy["plain"], delegate=busy["loaded"], role="evaluator", starts_on=today, ends_on=today
    )
    for tab, url in PAGES.items():
        response, count = _get(client, busy["loaded"], url)
        assert count <= MAX_QUERIES, (tab, count)
        assert "Usted atiende la bandeja de:" in response.content.decode(), tab  # the banner
        if tab == "mine":  # the colleague's tasks, marked as such
            assert _rows(response) == PAGE_SIZE
            assert "Por delegación de" in response.content.decode()
