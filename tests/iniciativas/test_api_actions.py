"""``POST /api/v1/initiatives/{id}/cancel/`` (director) and ``/recover/`` (finance), and the history
entries of a case as API.md lists them. Same services as the pages: 400/403/404/409 per API.md."""

from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from approvals import services as approvals
from audit.models import AuditEntry
from budget.models import BudgetLine
from iniciativas.models import Initiative
from workflows.models import CaseTask

from .conftest import submitted

pytestmark = pytest.mark.django_db

SCORES = {"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def decide(initiative, step, user, **data):
    task = CaseTask.objects.get(case_code=initiative.code, step=step, is_open=True)
    return approvals.complete_task(task.pk, actor=user, decision="approve", data=data)


def running_with_one_tranche_paid(world):
    s = world.staff
    i = submitted(world)
    decide(i, "admissibility", s["evaluador1"])
    t1, t2 = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(t1.pk, actor=s["evaluador2"], decision="approve", data=SCORES)
    approvals.complete_task(t2.pk, actor=s["evaluador3"], decision="approve", data=SCORES)
    decide(i, "legal_report", s["legal1"], opinion="Procedente")
    decide(i, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    today = str(timezone.localdate())
    decide(i, "agreement", s["legal2"], agreement_number="C-9", signed_on=today)
    decide(i, "payment_order", s["finanzas1"], tranche=1, amount="40000.00")
    decide(i, "payment_confirmation", s["finanzas2"], tranche=1, payment_reference="B-1", paid_on=today)
    return Initiative.objects.get(pk=i.pk)


def test_cancel_and_recover_through_the_api(world):
    s = world.staff
    i = running_with_one_tranche_paid(world)
    url = f"/api/v1/initiatives/{i.pk}"

    assert (
        api(world.other_applicant).post(f"{url}/cancel/", {"reason": "x"}, format="json").status_code == 404
    )
    refused = api(s["finanzas1"]).post(f"{url}/cancel/", {"reason": "x"}, format="json")
    assert refused.status_code == 403 and "detail" in refused.json()
    assert api(world.applicant).post(f"{url}/cancel/", {"reason": "x"}, format="json").status_code == 403
    empty = api(s["director1"]).post(f"{url}/cancel/", {"reason": ""}, format="json")
    assert empty.status_code == 400 and "reason" in empty.json()
    assert Initiative.objects.get(pk=i.pk).state == "in_execution"

    done = api(s["director1"]).post(f"{url}/cancel/", {"reason": "Desvío comprobado"}, format="json")
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["state"] == "in_recovery" and body["cancellation_reason"] == "Desvío comprobado"
    assert body["amount_to_recover"] == "40000.00" and body["recovered_amount"] == "0.00"
    again = api(s["director1"]).post(f"{url}/cancel/", {"reason": "otra vez"}, format="json")
    assert again.status_code == 409 and "detail" in again.json()

    finance = api(s["finanzas3"])
    assert (
        api(s["director1"])
        .post(f"{url}/recover/", {"amount": "1.00", "reference": "D"}, format="json")
        .status_code
        == 403
    )
    bad = finance.post(f"{url}/recover/", {"amount": 1000.5, "reference": ""}, format="json")
    assert bad.status_code == 400 and {"amount", "reference"} <= set(bad.json())
    too_much = finance.post(f"{url}/recover/", {"amount": "40000.01", "reference": "DEP-1"}, format="json")
    assert too_much.status_code == 400 and "amount" in too_much.json()

    part = finance.post(f"{url}/recover/", {"amount": "10000.00", "reference": "DEP-1"}, format="json")
    assert part.status_code == 200, part.content
    assert part.json()["state"] == "in_recovery" and part.json()["recovered_amount"] == "10000.00"
    deposit = AuditEntry.objects.get(action="initiative.recovery_recorded", case=i.code)
    assert deposit.data["reference"] == "DEP-1" and deposit.data["outstanding"] == "30000.00"
    rest = finance.post(f"{url}/recover/", {"amount": "30000.00", "reference": "DEP-2"}, format="json")
    assert rest.status_code == 200 and rest.json()["state"] == "recovered"
    assert rest.json()["recovered_amount"] == "40000.00"
    late = finance.post(f"{url}/recover/", {"amount": "1.00", "reference": "DEP-3"}, format="json")
    assert late.status_code == 409
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.executed == line.paid == Decimal("0.00") and line.available == line.amount_in_force


def test_recover_before_cancellation_is_a_conflict(world):
    i = running_with_one_tranche_paid(world)
    response = api(world.staff["finanzas3"]).post(
        f"/api/v1/initiatives/{i.pk}/recover/", {"amount": "1.00", "reference": "D"}, format="json"
    )
    assert response.status_code == 409


def test_history_entries_carry_subject_and_chain_links(world):
    i = submitted(world)
    history = api(world.applicant).get(f"/api/v1/initiatives/{i.pk}/").json()["history"]
    entries = {e.seq: e for e in AuditEntry.objects.filter(case=i.code)}
    assert history and [h["seq"] for h in history] == sorted(entries)
    for item in history:
        entry = entries[item["seq"]]
        assert {"seq", "at", "actor", "action", "subject", "data", "prev_hash", "hash"} <= set(item)
        assert (item["prev_hash"], item["hash"]) == (entry.prev_hash, entry.hash)
        assert item["subject"] == {
            "type": entry.subject_type,
            "id": entry.subject_id,
            "label": entry.subject_label,
        }
    submitted_entry = next(h for h in history if h["action"] == "initiative.submitted")
    assert submitted_entry["subject"]["label"]
