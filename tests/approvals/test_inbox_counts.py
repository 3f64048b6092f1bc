"""The inbox (issue 11): each tab shows how many tasks it holds, and a "new task" notification
stops being «Nueva» for everyone else once a colleague takes the task."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from approvals import services as approvals
from approvals.models import Notification
from approvals.notifications import unread_count
from tests.iniciativas.conftest import submitted
from workflows.models import CaseTask

from .clock import give_emails

pytestmark = pytest.mark.django_db


def tab_counts(client, user) -> dict[str, str]:
    client.force_login(user)
    html = client.get(reverse("task-inbox"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    start = html.index('<nav class="tabs"')
    nav = html[start : html.index("</nav>", start)]
    return dict(re.findall(r'href="/tasks/[a-z/]*"[^>]*>([^<]+) <span class="tab-count">(\d+\+?)<', nav))


def test_each_tab_counts_its_tasks(client, agency, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = submitted(agency)
        submitted(agency, title="Segunda iniciativa")
    evaluator = agency.staff["evaluador1"]
    assert tab_counts(client, evaluator) == {
        "Mis tareas": "0",
        "Disponibles": "2",
        "Realizadas por mí": "0",
        "Escaladas": "0",
    }
    task = CaseTask.objects.get(case_code=first.code, step="admissibility", is_open=True)
    approvals.claim_task(task.pk, actor=evaluator)
    counts = tab_counts(client, evaluator)
    assert (counts["Mis tareas"], counts["Disponibles"]) == ("1", "1")
    approvals.complete_task(task.pk, actor=evaluator, decision="approve")
    assert tab_counts(client, evaluator)["Realizadas por mí"] == "1"


def test_a_claim_settles_the_new_task_notice_of_the_colleagues(
    client, agency, django_capture_on_commit_callbacks
):
    give_emails(agency)
    with django_capture_on_commit_callbacks(execute=True):
        ini = submitted(agency)
    task = CaseTask.objects.get(case_code=ini.code, step="admissibility", is_open=True)
    e1, e2 = agency.staff["evaluador1"], agency.staff["evaluador2"]
    assert unread_count(e2) == 1
    approvals.claim_task(task.pk, actor=e1)
    assert unread_count(e2) == 0  # a colleague took it: no longer news
    assert unread_count(e1) == 1  # the holder's own notice is left as it was
    assert Notification.objects.filter(event_key=f"task:{task.pk}:new", read_at__isnull=True).count() == 1
    client.force_login(e2)
    page = client.get(reverse("notification-list"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert '<span class="badge warn">Nueva</span>' not in page and "Nueva tarea" in page
