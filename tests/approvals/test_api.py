"""``/api/v1/tasks/`` (API.md "Task inbox" and "Conventions"): the 409s (a task someone else holds,
a task already decided), the 400s (a missing reason, an unknown ``?status=``), a forced four-eyes
attempt (403, audited), the applicant unit's steps (listed for every member, never claimed), the
case-insensitive ``?case=`` filter, and a task list whose queries do not grow with its budget
certification tasks."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from approvals import services as approvals
from audit.models import AuditEntry
from iniciativas.models import Initiative
from tests.factories import UserFactory
from tests.iniciativas.conftest import World, submitted
from workflows.models import CaseTask

from .clock import SCORES, decide, open_task, to_approval

pytestmark = pytest.mark.django_db

TASKS = "/api/v1/tasks/"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def refusals(case: str) -> list[tuple[str, str]]:
    rows = AuditEntry.objects.filter(action="task.refused", case=case).order_by("seq")
    return [(r.actor.username, r.data["attempt"]) for r in rows]


def test_claiming_a_task_someone_holds_or_that_was_decided_is_409(world: World):
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    assert api(s["evaluador1"]).post(f"{TASKS}{task.pk}/claim/").status_code == 200
    response = api(s["evaluador2"]).post(f"{TASKS}{task.pk}/claim/")
    assert response.status_code == 409 and response.json()["detail"]
    approvals.complete_task(task.pk, actor=s["evaluador1"], decision="approve")
    assert api(s["evaluador2"]).post(f"{TASKS}{task.pk}/claim/").status_code == 409
    task.refresh_from_db()
    assert task.owner == s["evaluador1"] and task.decided_by == s["evaluador1"]
    assert refusals(ini.code) == []  # a state conflict, not a refusal


def test_completing_a_task_someone_else_holds_is_409_and_audited(world: World):
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    approvals.claim_task(task.pk, actor=s["evaluador1"])
    response = api(s["evaluador2"]).post(
        f"{TASKS}{task.pk}/complete/", {"decision": "reject", "comment": "No procede."}, format="json"
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "Esta tarea está asignada a otra persona."}
    release = api(s["evaluador2"]).post(f"{TASKS}{task.pk}/release/")
    assert release.status_code == 409
    assert refusals(ini.code) == [("evaluador2", "complete"), ("evaluador2", "release")]
    assert Initiative.objects.get(pk=ini.pk).state == "submitted"
    task.refresh_from_db()
    assert task.owner == s["evaluador1"] and task.is_open

    # Once decided, a second decision is a plain 409 (nothing to refuse: nothing left to do).
    approvals.complete_task(task.pk, actor=s["evaluador1"], decision="approve")
    again = api(s["evaluador1"]).post(f"{TASKS}{task.pk}/complete/", {"decision": "approve"}, format="json")
    assert again.status_code == 409
    assert len(refusals(ini.code)) == 2


def test_observe_or_reject_without_a_comment_is_400_and_changes_nothing(world: World):
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    before = AuditEntry.objects.count()
    for decision in ("observe", "reject"):
        response = api(world.staff["evaluador1"]).post(
            f"{TASKS}{task.pk}/complete/", {"decision": decision, "comment": "  "}, format="json"
        )
        assert response.status_code == 400
        assert response.json() == {"comment": ["Indique los motivos de esta decisión."]}
    assert AuditEntry.objects.count() == before
    task.refresh_from_db()
    assert task.is_open and task.owner_id is None and task.version == 0


def test_a_forced_four_eyes_attempt_is_403_and_audited(world: World):
    s = world.staff
    ini = submitted(world)
    decide(ini, "admissibility", s["evaluador1"])
    first, second = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(first.pk, actor=s["evaluador2"], decision="approve", data=SCORES)
    client = api(s["evaluador2"])
    assert second.pk not in [t["id"] for t in client.get(TASKS).json()["results"]]  # not offered
    for url, body in (
        (f"{TASKS}{second.pk}/claim/", {}),
        (f"{TASKS}{second.pk}/complete/", {"decision": "approve", "data": SCORES}),
    ):
        response = client.post(url, body, format="json")
        assert response.status_code == 403
        assert "Separación de funciones" in response.json()["detail"]
    assert refusals(ini.code) == [("evaluador2", "claim"), ("evaluador2", "complete")]
    second.refresh_from_db()
    assert second.is_open and second.owner_id is None
    assert ini.evaluations.count() == 1


def test_an_unknown_status_filter_is_400_and_the_case_filter_ignores_letter_case(world: World):
    ini = submitted(world)
    submitted(world, title="Otra")
    client = api(world.staff["evaluador1"])
    response = client.get(TASKS, {"status": "pendiente"})
    assert response.status_code == 400
    assert list(response.json()) == ["status"] and "pendiente" in response.json()["status"][0]
    for code in (ini.code, ini.code.lower(), f"  {ini.code.title()} "):
        rows = client.get(TASKS, {"case": code}).json()["results"]
        assert [r["case"]["code"] for r in rows] == [ini.code], code
    for status in ("available", "ASSIGNED", "done", "escalated", ""):
        assert client.get(TASKS, {"status": status}).status_code == 200, status


def test_the_applicant_units_steps_are_listed_for_every_member_and_never_claimed(world: World):
    ini = submitted(world)
    decide(ini, "admissibility", world.staff["evaluador1"], "observe", comment="Falta la carta.")
    task = open_task(ini, "answer_observation")
    colleague = UserFactory(username="socio2", roles=["applicant"], unit=world.unit)
    for member in (world.applicant, colleague):
        client = api(member)
        rows = client.get(TASKS).json()["results"]
        assert [(r["id"], r["status"], r["owner"]) for r in rows] == [(task.pk, "assigned", None)]
        assert [r["id"] for r in client.get(TASKS, {"status": "assigned"}).json()["results"]] == [task.pk]
        assert client.get(TASKS, {"status": "available"}).json()["results"] == []
        for action in ("claim", "release"):
            response = client.post(f"{TASKS}{task.pk}/{action}/")
            assert response.status_code == 403, action
            assert "miembro de la unidad" in response.json()["detail"] or response.json()["detail"]
    assert api(world.other_applicant).get(TASKS).json()["results"] == []
    assert [attempt for _who, attempt in refusals(ini.code)] == ["claim", "release"] * 2
    task.refresh_from_db()
    assert task.owner_id is None and task.status == "NEW"
    # Any member answers it, without claiming.
    response = api(colleague).post(
        f"{TASKS}{task.pk}/complete/", {"decision": "approve", "data": {"answer": "Adjunta."}}, format="json"
    )
    assert response.status_code == 200 and response.json()["state"] == "submitted"
    assert AuditEntry.objects.filter(action="task.completed", case=ini.code, actor=colleague).count() == 1


def test_listing_budget_certification_tasks_costs_the_same_whatever_their_number(world: World):
    """Each certification task describes the budget lines it may reserve on (``fields``): read once
    for the page, not once per task."""
    s = world.staff

    def certification_ready(title):
        ini = submitted(world, title=title)
        to_approval(world, ini)
        decide(ini, "legal_report", s["legal1"], opinion="Procedente")
        return open_task(ini, "budget_certification")

    def listed() -> tuple[int, list]:
        # A fresh user instance each time, as each real request has: the per-request role cache
        # must not make the second listing look cheaper than the first.
        client = api(type(s["finanzas1"]).objects.get(pk=s["finanzas1"].pk))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(TASKS)
        assert response.status_code == 200
        return len(queries), response.json()["results"]

    certification_ready("Uno")
    one, rows = listed()
    assert [r["step"] for r in rows] == ["budget_certification"]
    line = rows[0]["fields"][0]
    assert line["name"] == "budget_line" and line["default"] == world.line.pk
    assert line["choices"] == [
        [
            world.line.pk,
            f"{world.line.fiscal_year} · PROLECHE · Fuente 42 Transferencias de recursos específicos"
            " — disponible Bs 1.000.000,00",
        ]
    ]
    for title in ("Dos", "Tres", "Cuatro"):
        certification_ready(title)
    four, rows = listed()
    assert len(rows) == 4 and all(r["fields"][0]["choices"] == line["choices"] for r in rows)
    assert four == one, (one, four)
