"""``observe`` in a transfer's approval chain (PRODUCT.md §3), as initiatives do: the step sends the
case back to the beneficiary unit with the reasons and a deadline in business days (the case stays
``in_approval``, ``observation`` set), the unit answers (an applicant task) and the same chain step
is taken again; an observation not answered in time is expired by the system and the transfer ends
``annulled`` (``lapse``), its reservation released by the kind's exit hook."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import services as approvals
from approvals.calendar import add_business_days
from approvals.deadlines import expire_observations
from audit.models import AuditEntry
from budget.models import BudgetLine, BudgetMovement
from budget.selectors import ledger_mismatches, line_reconciles
from cases.users import system_user
from tests.iniciativas.test_api_journey import client_for
from transfers.models import Transfer
from workflows.models import CaseTask

from .test_journeys import request_in_kind, work_inbox
from .walk import decide, drive, fill, new_transfer, open_task, worker

pytestmark = pytest.mark.django_db

LATER = dt.timedelta(days=400)  # "every deadline has passed"


def actions(code: str) -> list[str]:
    return list(AuditEntry.objects.filter(case=code).order_by("seq").values_list("action", flat=True))


def observed_at(world, step: str, *, days: int | None = None) -> Transfer:
    """A transfer whose chain step ``step`` observed (``days``: the deadline given)."""
    transfer = new_transfer(world)
    drive(world, transfer.code, step)
    extra = {"deadline_days": days} if days is not None else {}
    decide(world, transfer.code, step, "observe", "Adjunte la cotización actualizada del proveedor.", **extra)
    return Transfer.objects.get(pk=transfer.pk)


def test_observe_sends_the_case_to_the_unit_and_the_same_step_follows_the_answer(world):
    transfer = observed_at(world, "budget_certification", days=3)
    assert transfer.state == "in_approval"  # §2.2 has no "observed": the case stays in approval
    assert transfer.observation.startswith("Adjunte") and transfer.observation_days == 3
    assert transfer.budget_line_id is None and not BudgetMovement.objects.filter(case_code=transfer.code)
    answer = open_task(transfer.code, "answer_observation")
    assert answer.role == "applicant" and answer.unit_id == world.unit.pk
    assert timezone.localdate(answer.due_at) == add_business_days(timezone.localdate(), 3)
    assert CaseTask.objects.filter(case_code=transfer.code, is_open=True).count() == 1
    observed = AuditEntry.objects.filter(case=transfer.code, action="task.completed").order_by("-seq")[0]
    assert (observed.data["step"], observed.data["decision"]) == ("budget_certification", "observe")
    assert observed.data["observation_days"] == 3 and observed.data["to_state"] == "in_approval"

    # Another unit's member may not answer; the unit's own member does.
    with pytest.raises(PermissionDenied):
        approvals.complete_task(
            answer.pk, actor=world.other_applicant, decision="approve", data={"answer": "Nosotros no"}
        )
    with pytest.raises(ValidationError):  # an answer is required
        approvals.complete_task(answer.pk, actor=world.applicant, decision="approve", data={"answer": " "})
    approvals.complete_task(
        answer.pk, actor=world.applicant, decision="approve", data={"answer": "Adjuntamos la cotización."}
    )
    transfer.refresh_from_db()
    assert (
        transfer.state == "in_approval" and transfer.observation == "" and transfer.observation_days is None
    )
    answered = AuditEntry.objects.filter(case=transfer.code, action="task.completed").order_by("-seq")[0]
    assert answered.data["step"] == "answer_observation"
    assert answered.data["observation"].startswith("Adjunte")
    assert answered.data["data"]["answer"] == "Adjuntamos la cotización."
    # Back to the chain step that observed, then the chain goes on to the approval.
    assert open_task(transfer.code, "budget_certification").is_open
    drive(world, transfer.code, "agreement")
    transfer.refresh_from_db()
    assert transfer.state == "approved" and transfer.budget_line_id == world.line.pk
    assert ledger_mismatches() == []


def test_observe_needs_reasons_and_a_sensible_deadline(world):
    transfer = new_transfer(world)
    task = drive(world, transfer.code, "director_resolution")
    director = worker(world, task)
    before = Transfer.objects.values().get(pk=transfer.pk)
    with pytest.raises(ValidationError) as no_reason:
        approvals.complete_task(task.pk, actor=director, decision="observe", comment="  ", data={})
    assert "comment" in no_reason.value.message_dict
    with pytest.raises(ValidationError) as bad_days:
        approvals.complete_task(
            task.pk, actor=director, decision="observe", comment="Aclare", data={"deadline_days": 0}
        )
    assert "data.deadline_days" in bad_days.value.message_dict
    assert Transfer.objects.values().get(pk=transfer.pk) == before
    assert CaseTask.objects.get(pk=task.pk).is_open
    # Without a deadline the default applies (10 business days).
    approvals.complete_task(task.pk, actor=director, decision="observe", comment="Aclare el destino.")
    assert Transfer.objects.get(pk=transfer.pk).observation_days == 10


def test_an_unanswered_observation_expires_and_the_transfer_ends_annulled(world):
    transfer = observed_at(world, "director_resolution")  # after the certification: money reserved
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.reserved == transfer.amount
    answer = open_task(transfer.code, "answer_observation")
    # Only the system expires it; nobody else, not even the unit's own member.
    for who in (world.applicant, world.staff["director1"], world.staff["admin1"]):
        with pytest.raises(PermissionDenied):
            approvals.complete_task(answer.pk, actor=who, decision="expire")
    assert expire_observations(actor=world.system) == []  # not due yet
    assert expire_observations(actor=world.system, now=timezone.now() + LATER) == [transfer.code]

    transfer.refresh_from_db()
    assert transfer.state == "annulled"
    assert transfer.annulment_reason  # "the observations were not answered in time"
    line.refresh_from_db()
    assert line.reserved == Decimal("0.00") and line.available == line.amount_in_force
    assert line_reconciles(line)
    kinds = list(
        BudgetMovement.objects.filter(case_code=transfer.code).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds == ["reserve", "release_reservation"]
    entry = AuditEntry.objects.get(case=transfer.code, action="transfer.annulled")
    assert (entry.data["from"], entry.data["to"], entry.data["lapsed"]) == ("in_approval", "annulled", True)
    assert entry.actor == system_user() and entry.data["observation"].startswith("Adjunte")
    # The release comes before the transition's entry (lock order), the decision's entry last.
    assert actions(transfer.code)[-3:] == [
        "budget.reservation_released",
        "transfer.annulled",
        "task.completed",
    ]
    assert not CaseTask.objects.filter(case_code=transfer.code, is_open=True).exists()
    assert expire_observations(actor=world.system, now=timezone.now() + LATER) == []  # once


def test_the_director_may_annul_while_an_observation_waits(world):
    from transfers import services

    transfer = observed_at(world, "director_resolution")
    services.annul_transfer(transfer, actor=world.staff["director1"], reason="El beneficiario desistió.")
    transfer.refresh_from_db()
    assert transfer.state == "annulled"
    assert not CaseTask.objects.filter(case_code=transfer.code, is_open=True).exists()  # answer cancelled
    assert BudgetLine.objects.get(pk=world.line.pk).reserved == Decimal("0.00")


def test_observe_and_answer_through_the_api_and_the_pages(world):
    applicant = client_for("solicitante1")
    code = request_in_kind(applicant, world).json()["code"]
    clients = {
        name: client_for(name)
        for name in ("evaluador1", "legal1", "finanzas1", "finanzas2", "director1", "director2", "legal2")
    }
    clients["solicitante1"] = applicant
    work_inbox(code, clients, until=lambda t: t.state == "in_approval" and t.budget_line_id is not None)
    director = next(
        n
        for n in ("director1", "director2")
        if clients[n].get("/api/v1/tasks/", {"case": code}).json()["count"]
    )
    task = clients[director].get("/api/v1/tasks/", {"case": code}).json()["results"][0]
    assert task["step"] == "director_resolution"
    days = next(f for f in task["fields"] if f["name"] == "deadline_days")
    assert (days["default"], days["for_decisions"]) == (10, ["observe"])
    clients[director].post(f"/api/v1/tasks/{task['id']}/claim/")
    observed = clients[director].post(
        f"/api/v1/tasks/{task['id']}/complete/",
        {
            "decision": "observe",
            "comment": "Precise el destino de los equipos.",
            "data": {"deadline_days": 5},
        },
        format="json",
    )
    assert observed.status_code == 200 and observed.json()["state"] == "in_approval"

    # The unit finds the answer among its own tasks, never claimed; its case page shows the reasons.
    mine = applicant.get("/api/v1/tasks/", {"case": code}).json()["results"]
    assert [(t["step"], t["status"]) for t in mine] == [("answer_observation", "assigned")]
    pk = Transfer.objects.get(code=code).pk
    detail = applicant.get(f"/api/v1/transfers/{pk}/").json()
    assert detail["observation"] == "Precise el destino de los equipos."
    page = Client()
    page.force_login(world.applicant)
    html = page.get(reverse("transfer-detail", args=[pk])).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Precise el destino de los equipos." in text and "5 días hábiles" in text
    assert reverse("task-detail", args=[mine[0]["id"]]) in html  # "go to the task"

    answered = applicant.post(
        f"/api/v1/tasks/{mine[0]['id']}/complete/",
        {"decision": "approve", "data": {"answer": "Los equipos irán al centro de acopio de Warnes."}},
        format="json",
    )
    assert answered.status_code == 200, answered.content
    work_inbox(code, clients, until=lambda t: t.state == "approved")
    transfer = Transfer.objects.get(code=code)
    assert transfer.resolution_number and transfer.observation == ""
    steps = [
        e.data["step"] for e in AuditEntry.objects.filter(case=code, action="task.completed").order_by("seq")
    ]
    assert steps[-3:] == ["director_resolution", "answer_observation", "director_resolution"]


def test_the_answer_step_asks_for_the_answer_only(world):
    """What the task API serves for the unit's answer (any client builds the form from it)."""
    transfer = observed_at(world, "budget_certification")
    task = open_task(transfer.code, "answer_observation")
    assert set(fill(task)) == {"answer"}
