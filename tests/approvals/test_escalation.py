"""Escalation is actionable (issue item 6): an overdue task escalated to its escalation role shows in
that role's "Escaladas" tab (within its department and program scopes), and one of them reassigns
it — ``reassign_task``, on the task page or ``POST /api/v1/tasks/{id}/reassign/`` — to a named
colleague of the task's role who passes the same checks as anyone working it; the new holder is
told and decides. Refusals are clear and audited. Frozen clock: Monday 3 Aug 2026, 09:00 La Paz."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from approvals import deadlines, selectors
from approvals import services as approvals
from approvals.models import Notification
from audit.models import AuditEntry
from cases.errors import Conflict
from iniciativas.models import Initiative
from registry import services as registry_services
from tests.factories import UserFactory
from tests.iniciativas.conftest import submitted
from workflows.models import CaseTask

from .clock import SCORES, decide, give_emails, lpz, open_task

pytestmark = pytest.mark.django_db

ESCALATED = reverse("task-escalated")
OVERDUE = lpz(2026, 8, 12, 0, 45)  # the admissibility check (5 business days) was due on 11 August


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def listed(client, user, url=ESCALATED) -> list[int]:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'href="/tasks/(\d+)/" class="code"', response.content.decode())]


def escalate(agency, clock, django_capture_on_commit_callbacks) -> list[int]:
    clock.set(OVERDUE)
    with django_capture_on_commit_callbacks(execute=True):
        return deadlines.escalate_overdue(actor=agency.system)


def refusals(code: str) -> list[tuple[str, str]]:
    rows = AuditEntry.objects.filter(action="task.refused", case=code).order_by("seq")
    return [(r.actor.username, r.data["attempt"]) for r in rows]


def test_overdue_then_escalated_then_reassigned_then_decided_by_the_new_holder(
    clock, agency, client, mailoutbox, django_capture_on_commit_callbacks
):
    s = agency.staff
    give_emails(agency)
    director3 = UserFactory(username="director3", roles=["director"])  # scoped to Potosí: not this case
    registry_services.grant_department_scope(director3, "PTS", actor=agency.system)
    ini = submitted(agency)
    task = open_task(ini, "admissibility")
    approvals.claim_task(task.pk, actor=s["evaluador1"])  # evaluador1 takes it, then falls ill

    # Not overdue yet: nothing escalated, nothing to reassign.
    assert listed(client, s["director1"]) == []
    with pytest.raises(Conflict, match="escalada"):
        approvals.reassign_task(task.pk, actor=s["director1"], to_user=s["evaluador2"], reason="Enfermedad.")
    assert escalate(agency, clock, django_capture_on_commit_callbacks) == [task.pk]

    # The escalation role, within its scope, sees it; nobody else does.
    assert listed(client, s["director1"]) == listed(client, s["director2"]) == [task.pk]
    assert listed(client, director3) == []
    assert listed(client, s["evaluador2"]) == [] and listed(client, s["legal1"]) == []
    client.force_login(s["director1"])
    page = client.get(reverse("task-detail", args=[task.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Reasignar esta tarea vencida" in html and "La tiene evaluador1." in html
    offered = re.findall(
        r'<option value="(\d+)"', re.search(r'<select name="user".*?</select>', html, re.S)[0]
    )
    assert sorted(int(pk) for pk in offered) == sorted(
        s[n].pk for n in ("evaluador2", "evaluador3", "evaluador4")
    )
    assert 'name="decision"' not in html  # the director reassigns; it does not decide an evaluator's step
    client.force_login(s["evaluador2"])
    assert client.get(reverse("task-detail", args=[task.pk])).status_code == 404

    # Reassigned through the API, with the reason; audited; both holders told after commit.
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = api(s["director1"]).post(
            f"/api/v1/tasks/{task.pk}/reassign/",
            {"user": "evaluador2", "reason": "evaluador1 está con baja médica."},
            format="json",
        )
    assert response.status_code == 200, response.content
    assert (response.json()["owner"], response.json()["status"]) == ("evaluador2", "assigned")
    task.refresh_from_db()
    assert task.owner == s["evaluador2"] and task.status == "ASSIGNED" and task.version == 2
    entry = AuditEntry.objects.filter(action="task.reassigned", actor=s["director1"]).get()
    assert entry.case == ini.code
    assert (entry.data["reassigned_to_label"], entry.data["previous_holder_label"]) == (
        "evaluador2",
        "evaluador1",
    )
    assert entry.data["reason"] == "evaluador1 está con baja médica."
    told = Notification.objects.filter(event_key=f"task:{task.pk}:reassigned:2").order_by("user__username")
    assert [(n.user.username, n.kind) for n in told] == [
        ("evaluador1", "escalation"),
        ("evaluador2", "task_new"),
    ]
    assert sorted(m.to[0] for m in mailoutbox) == [
        "evaluador1@probolivia.gob.bo",
        "evaluador2@probolivia.gob.bo",
    ]

    # The new holder finds it in "Mis tareas" and decides; the old holder no longer can (409).
    assert listed(client, s["evaluador2"], reverse("task-inbox")) == [task.pk]
    assert listed(client, s["evaluador1"], reverse("task-inbox")) == []
    late = api(s["evaluador1"]).post(
        f"/api/v1/tasks/{task.pk}/complete/", {"decision": "approve"}, format="json"
    )
    assert late.status_code == 409
    clock.set(lpz(2026, 8, 12, 10))
    client.force_login(s["evaluador2"])
    response = client.post(
        reverse("task-detail", args=[task.pk]), {"decision": "approve", "comment": "Completo."}
    )
    assert response.status_code == 302
    assert Initiative.objects.get(pk=ini.pk).state == "in_evaluation"
    task.refresh_from_db()
    assert task.decided_by == s["evaluador2"] and not task.is_open
    assert listed(client, s["director1"]) == []  # decided: no longer escalated work
    completed = AuditEntry.objects.get(action="task.completed", case=ini.code)
    assert completed.actor == s["evaluador2"] and completed.at == lpz(2026, 8, 12, 10)


def test_the_task_page_reassigns_an_unclaimed_task_and_refuses_a_crafted_target(
    clock, agency, client, django_capture_on_commit_callbacks
):
    s = agency.staff
    ini = submitted(agency)
    task = open_task(ini, "admissibility")
    escalate(agency, clock, django_capture_on_commit_callbacks)
    client.force_login(s["director2"])
    url = reverse("task-reassign", args=[task.pk])

    response = client.post(url, {"user": s["evaluador3"].pk, "reason": ""})
    assert response.status_code == 400
    assert "Indique el motivo de la reasignación." in response.content.decode()
    response = client.post(url, {"user": s["legal1"].pk, "reason": "Urgente."})  # not an offered choice
    assert response.status_code == 403
    assert "legal1 no tiene el rol Evaluador que requiere este paso." in response.content.decode()
    assert refusals(ini.code) == [("director2", "reassign")]
    task.refresh_from_db()
    assert task.owner_id is None and task.status == "NEW"

    response = client.post(url, {"user": s["evaluador3"].pk, "reason": "Urgente."})
    assert response.status_code == 302 and response["Location"] == ESCALATED
    task.refresh_from_db()
    assert task.owner == s["evaluador3"] and task.status == "ASSIGNED"
    assert listed(client, s["director2"]) == [task.pk]  # still overdue: it stays in "Escaladas"
    assert "La tiene evaluador3" in client.get(ESCALATED).content.decode()


def test_who_may_reassign_and_to_whom_refusals_are_clear_and_audited(
    clock, agency, django_capture_on_commit_callbacks
):
    s = agency.staff
    director3 = UserFactory(username="director3", roles=["director"])
    registry_services.grant_department_scope(director3, "PTS", actor=agency.system)
    ini = submitted(agency)
    decide(ini, "admissibility", s["evaluador1"])
    first, second = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(first.pk, actor=s["evaluador2"], decision="approve", data=SCORES)
    clock.set(lpz(2026, 8, 31, 9))  # the evaluations (10 business days) were due on 18 August
    with django_capture_on_commit_callbacks(execute=True):
        assert deadlines.escalate_overdue(actor=agency.system) == [second.pk]
    director = s["director1"]

    def reassign(actor, to_user, reason="Plazo vencido."):
        return approvals.reassign_task(second.pk, actor=actor, to_user=to_user, reason=reason)

    cases = [
        (s["evaluador3"], s["evaluador4"], "Solo el rol al que se escala esta tarea puede reasignarla."),
        (director3, s["evaluador4"], "Este caso está fuera de sus departamentos."),
        (director, s["legal1"], "legal1 no tiene el rol Evaluador que requiere este paso."),
        (
            director,
            s["evaluador2"],  # four eyes: evaluated the same case already
            f"Separación de funciones: evaluador2 ya decidió un paso incompatible del caso {ini.code}.",
        ),
        (director, agency.applicant, "solicitante1 no tiene el rol Evaluador que requiere este paso."),
    ]
    for actor, to_user, message in cases:
        with pytest.raises(PermissionDenied) as excinfo:
            reassign(actor, to_user)
        assert str(excinfo.value) == message
    assert refusals(ini.code) == [(actor.username, "reassign") for actor, _to, _m in cases]
    assert [r.data["reason"] for r in AuditEntry.objects.filter(action="task.refused").order_by("seq")] == [
        m for _a, _t, m in cases
    ]
    assert s["evaluador2"] not in selectors.reassign_candidates(second)

    # Bad input is a 400 (not a refusal): no reason, nobody named, an unknown user.
    with pytest.raises(ValidationError) as excinfo:
        reassign(director, s["evaluador4"], reason="  ")
    assert excinfo.value.message_dict == {"reason": ["Indique el motivo de la reasignación."]}
    client = api(director)
    unknown = client.post(
        f"/api/v1/tasks/{second.pk}/reassign/", {"user": "nadie", "reason": "x"}, format="json"
    )
    assert unknown.status_code == 400 and list(unknown.json()) == ["user"]
    # The API answers 403 with the reason to the escalation role, 404 to anyone else.
    wrong = client.post(
        f"/api/v1/tasks/{second.pk}/reassign/", {"user": "evaluador2", "reason": "x"}, format="json"
    )
    assert wrong.status_code == 403 and "evaluador2 ya decidió" in wrong.json()["detail"]
    other = api(s["evaluador3"]).post(
        f"/api/v1/tasks/{second.pk}/reassign/", {"user": "evaluador4", "reason": "x"}, format="json"
    )
    assert other.status_code == 404
    second.refresh_from_db()
    assert second.owner_id is None and second.status == "NEW"

    # Reassigned to evaluador4 (allowed), then it decides; a decided task is a 409.
    reassign(director, s["evaluador4"])
    approvals.complete_task(second.pk, actor=s["evaluador4"], decision="approve", data=SCORES)
    with pytest.raises(Conflict):
        reassign(director, s["evaluador3"])
    assert Initiative.objects.get(pk=ini.pk).state == "in_approval"
    assert len(refusals(ini.code)) == len(cases) + 1  # + the API's four-eyes attempt
