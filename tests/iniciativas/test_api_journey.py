"""The core journey through the public API only: a unit applies to a PROLECHE call and every staff
member works only what its own inbox (``GET /api/v1/tasks/``) offers, until the case is closed with
the budget and the audit trail consistent — once with the demo data of ``manage.py seed_demo`` (its
users, call and budget, exactly as an operator starts the product), once with this folder's small
agency (``world``)."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from audit.chain import entry_body
from audit.models import AuditEntry
from audit.verifier import entry_hash
from budget.models import BudgetLine, BudgetMovement
from budget.selectors import case_figures, ledger_mismatches
from tests.factories import DEMO_PASSWORD

from .conftest import PDF

pytestmark = pytest.mark.django_db

STAFF_ORDER = [
    "evaluador1",
    "evaluador2",
    "evaluador3",
    "evaluador4",
    "legal1",
    "legal2",
    "finanzas1",
    "finanzas2",
    "finanzas3",
    "director1",
    "director2",
]


def client_for(username: str, password: str = DEMO_PASSWORD) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def step_data(task: dict, code: str) -> dict:
    """Fill the form the way a person would: defaults as offered, the rest typed in."""
    data = {f["name"]: f["default"] for f in task["fields"] if f.get("default") is not None}
    typed = {
        "opinion": "Procedente conforme a normativa.",
        "no_conflict": True,
        "relevance": 34,
        "feasibility": 24,
        "impact": 22,
        "agreement_number": "CONV-PB-001/2026",
        "payment_reference": f"SIGEP-{task['id']}",
        "summary": "Se instaló el tanque y se capacitó a los socios.",
        "physical_progress": 50,
        "amount_spent": "0.00",
        "counterpart_spent": "50000.00",
        "counterpart_verified": True,
        "closeout_record": f"ACTA-CIERRE-{code}",
    }
    for f in task["fields"]:
        if f["name"] not in data and f["name"] in typed:
            data[f["name"]] = typed[f["name"]]
    if task["step"] == "final_report":
        data["physical_progress"] = 100
        data["amount_spent"] = "97500.00"
    return data


def test_full_journey_through_the_api(world):
    applicant = client_for("solicitante1")
    calls = applicant.get("/api/v1/calls/").json()["results"]
    assert [c["code"] for c in calls] == [world.call.code]
    assert calls[0]["min_counterpart_share"] == "0.50"

    created = applicant.post(
        "/api/v1/initiatives/",
        {
            "unit": world.unit.pk,
            "call": calls[0]["id"],
            "title": "Tanque de enfriamiento comunal",
            "summary": "Tanque de 2.000 litros para la asociación.",
            "department": "SCZ",
            "requested_amount": "100000.00",
            "counterpart_amount": "100000.00",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    initiative = created.json()
    assert initiative["state"] == "draft" and initiative["code"].startswith("INI-")
    code, pk = initiative["code"], initiative["id"]

    refused = applicant.post(f"/api/v1/initiatives/{pk}/submit/")
    assert refused.status_code == 400 and "documents" in refused.json()
    for kind in calls[0]["required_documents"]:
        upload = applicant.post(
            f"/api/v1/initiatives/{pk}/documents/",
            {"kind": kind, "file": _pdf_file(f"{kind}.pdf")},
            format="multipart",
        )
        assert upload.status_code == 201, upload.content
        assert len(upload.json()["sha256"]) == 64
    submitted = applicant.post(f"/api/v1/initiatives/{pk}/submit/")
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted"

    clients = {name: client_for(name) for name in STAFF_ORDER}
    clients["solicitante1"] = applicant
    steps_done = []
    for _ in range(40):
        state = applicant.get(f"/api/v1/initiatives/{pk}/").json()["state"]
        if state == "closed":
            break
        acted = False
        for name, client in clients.items():
            tasks = client.get("/api/v1/tasks/", {"case": code}).json()["results"]
            if not tasks:
                continue
            task = tasks[0]
            assert task["case"] == {"type": "initiative", "id": pk, "code": code}
            if not name.startswith("solicitante"):  # the unit's steps belong to every member: no claim
                claim = client.post(f"/api/v1/tasks/{task['id']}/claim/")
                assert claim.status_code == 200, (name, claim.content)
            result = client.post(
                f"/api/v1/tasks/{task['id']}/complete/",
                {"decision": "approve", "comment": "", "data": step_data(task, code)},
                format="json",
            )
            assert result.status_code == 200, (name, task["step"], result.content)
            steps_done.append((task["step"], name))
            acted = True
            break
        assert acted, f"nobody finds a task for {code} in state {state}"
    final = applicant.get(f"/api/v1/initiatives/{pk}/").json()
    assert final["state"] == "closed"
    assert final["paid_amount"] == "100000.00"
    assert final["refunded_amount"] == "2500.00"

    # Four eyes held: nobody decided two approval-chain steps, order and confirmation by different people.
    by_step: dict[str, set] = {}
    for step, name in steps_done:
        by_step.setdefault(step, set()).add(name)
    assert len(by_step["technical_evaluation"]) == 2
    chain = ["technical_evaluation", "legal_report", "budget_certification"]
    chain_people = [name for step, name in steps_done if step in chain]
    assert len(chain_people) == len(set(chain_people))
    assert not (by_step["payment_order"] & by_step["payment_confirmation"])

    # Budget: what was granted was reserved, committed, executed and paid; the refund came back.
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert (line.reserved, line.committed) == (Decimal("0.00"), Decimal("0.00"))
    assert line.executed == line.paid == Decimal("97500.00")
    assert line.available == Decimal("1000000.00") - Decimal("97500.00")
    assert ledger_mismatches() == []
    movements = BudgetMovement.objects.filter(case_code=code)
    totals = {
        kind: sum((m.amount for m in movements if m.kind == kind), Decimal(0))
        for kind in BudgetMovement.Kind.values
    }
    assert totals["reserve"] == totals["commit"] == Decimal("100000.00")  # granted
    assert totals["execute"] == totals["pay"] == Decimal("100000.00")  # paid in three tranches
    assert totals["refund"] == Decimal("2500.00")  # returned at close-out
    assert case_figures(line, code) == {
        "amount_in_force": Decimal(0),
        "reserved": Decimal(0),
        "committed": Decimal(0),
        "executed": Decimal("97500.00"),
        "paid": Decimal("97500.00"),
    }

    # History: served with the case, oldest first, and the whole trail re-hashes.
    history = final["history"]
    assert history[0]["action"] == "initiative.created" and history[-1]["action"] == "task.completed"
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    for e in entries:
        assert entry_hash(e.prev_hash, entry_body(e)) == e.hash
    verified = client_for("control1").get("/api/v1/audit/verify/").json()
    assert verified["valid"] is True and verified["first_error"] is None, verified
    assert verified["entries"] == AuditEntry.objects.count() - 1  # the verification records itself

    # Official documents, each born at its step, its SHA-256 in that step's task.completed entry.
    _check_official_documents(final, applicant, code)


BORN_AT = {
    "budget_certification": "budget_certification",
    "approval_resolution": "budget_certification",  # world's policy: certification is the last step
    "agreement": "agreement",
    "closeout_record": "closeout",
}


def _check_official_documents(final: dict, client, code: str) -> None:
    from django.utils import timezone

    from tests.official_checks import check_official

    year = timezone.localdate().year
    documents = {d["kind"]: d for d in final["official_documents"]}
    assert sorted(documents) == sorted(BORN_AT)
    prefixes = {"budget_certification": "CPP", "approval_resolution": "RAP", "agreement": "CNV"}
    prefixes["closeout_record"] = "ACI"
    for kind, document in documents.items():
        assert document["number"] == f"{prefixes[kind]}-{year}-000001"
        [entry] = [
            e
            for e in AuditEntry.objects.filter(case=code, action="task.completed")
            if e.data.get("step") == BORN_AT[kind]
            and any(d["number"] == document["number"] for d in e.data.get("official_documents", []))
        ]
        [recorded] = [d for d in entry.data["official_documents"] if d["number"] == document["number"]]
        check_official(client, document, recorded)
        assert document["signed_scan"] is None
        assert "/documents/verify/?" in document["verify_url"]


def _pdf_file(name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def test_other_unit_sees_nothing(world):
    other = client_for("solicitante2")
    mine = client_for("solicitante1")
    created = mine.post(
        "/api/v1/initiatives/",
        {
            "unit": world.unit.pk,
            "call": world.call.code,
            "title": "T",
            "summary": "S",
            "department": "SCZ",
            "requested_amount": "1000.00",
            "counterpart_amount": "1000.00",
        },
        format="json",
    ).json()
    assert other.get(f"/api/v1/initiatives/{created['id']}/").status_code == 404
    assert other.post(f"/api/v1/initiatives/{created['id']}/submit/").status_code == 404
    assert other.get("/api/v1/initiatives/").json()["count"] == 0


def test_bad_input_is_refused_in_spanish_and_changes_nothing(world):
    mine = client_for("solicitante1")
    response = mine.post(
        "/api/v1/initiatives/",
        {
            "unit": world.unit.pk,
            "call": world.call.code,
            "title": "T",
            "summary": "S",
            "department": "XXX",
            "requested_amount": "12.345",
            "counterpart_amount": "-5",
        },
        format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert response.status_code == 400
    body = response.json()
    assert {"department", "requested_amount", "counterpart_amount"} <= set(body)
    assert mine.get("/api/v1/initiatives/").json()["count"] == 0


# --- the same journey with the demo data of ``manage.py seed_demo`` ----------------------------------

SEED_PASSWORD = "demo"  # API.md: the demo users' password
# Everyone of seed_demo who works cases, in the order they look at their inbox.
DEMO_PEOPLE = [
    "solicitante1",
    *(f"evaluador{n}" for n in range(1, 6)),
    "legal1",
    "legal2",
    "finanzas1",
    "finanzas2",
    "finanzas3",
    "director1",
    "director2",
]


def demo_step_data(task: dict, call: dict) -> dict:
    """What a person types into the form the task describes: the offered defaults, 80 % of each
    rubric criterion, and plain answers for the rest."""
    data = {f["name"]: f["default"] for f in task["fields"] if f.get("default") is not None}
    rubric = {c["code"]: int(c["max"]) * 4 // 5 for c in call["rubric"]}
    typed = {
        **rubric,
        "no_conflict": True,
        "opinion": "Procedente: la asociación cumple los requisitos legales.",
        "resolution_number": "RA-PB-045/2026",
        "agreement_number": "CONV-PB-045/2026",
        "payment_reference": f"SIGEP-{task['id']}",
        "summary": "Tanque instalado y socios capacitados.",
        "physical_progress": 40,
        "amount_spent": "0.00",
        "counterpart_spent": "60000.00",
        "counterpart_verified": True,
        "closeout_record": "ACTA-CIERRE-045/2026",
    }
    for f in task["fields"]:
        if f["name"] not in data and f["name"] in typed:
            data[f["name"]] = typed[f["name"]]
    if task["step"] == "final_report":
        data.update(physical_progress=100, amount_spent="245000.00", counterpart_spent="260000.00")
    return data


def test_full_journey_of_the_demo_users_through_the_api():
    """``seed_demo``'s solicitante1 applies to the open PROLECHE call for Bs 250.000 (above the
    director's threshold); then each demo user only works what ``GET /api/v1/tasks/`` offers it."""
    call_command("seed_demo", force=True, stdout=io.StringIO())
    applicant = client_for("solicitante1", SEED_PASSWORD)
    me = applicant.get("/api/v1/units/").json()["results"]
    assert len(me) == 1
    call = next(c for c in applicant.get("/api/v1/calls/").json()["results"] if c["program"] == "PROLECHE")
    created = applicant.post(
        "/api/v1/initiatives/",
        {
            "unit": me[0]["id"],
            "call": call["code"],
            "title": "Centro de acopio y tanque de frío de APLEWA",
            "summary": "Tanque de 5.000 litros y equipamiento del centro de acopio en Warnes.",
            "department": "SCZ",
            "requested_amount": "250000.00",
            "counterpart_amount": "260000.00",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    pk, code = created.json()["id"], created.json()["code"]
    for kind in call["required_documents"]:
        upload = applicant.post(
            f"/api/v1/initiatives/{pk}/documents/",
            {"kind": kind, "file": _pdf_file(f"{kind}.pdf")},
            format="multipart",
        )
        assert upload.status_code == 201, upload.content
    submitted = applicant.post(f"/api/v1/initiatives/{pk}/submit/")
    assert submitted.status_code == 200 and submitted.json()["state"] == "submitted", submitted.content

    clients = {name: client_for(name, SEED_PASSWORD) for name in DEMO_PEOPLE if name != "solicitante1"}
    clients = {"solicitante1": applicant, **clients}
    steps_done: list[tuple[str, str]] = []
    for _ in range(40):
        if applicant.get(f"/api/v1/initiatives/{pk}/").json()["state"] == "closed":
            break
        for name, client in clients.items():
            tasks = client.get("/api/v1/tasks/", {"case": code}).json()["results"]
            if not tasks:
                continue
            task = tasks[0]
            if name != "solicitante1":
                claim = client.post(f"/api/v1/tasks/{task['id']}/claim/")
                assert claim.status_code == 200, (name, claim.content)
            result = client.post(
                f"/api/v1/tasks/{task['id']}/complete/",
                {"decision": "approve", "comment": "", "data": demo_step_data(task, call)},
                format="json",
            )
            assert result.status_code == 200, (name, task["step"], result.content)
            steps_done.append((task["step"], name))
            break
        else:
            pytest.fail(f"nobody of seed_demo finds a task of {code}; steps so far {steps_done}")

    final = applicant.get(f"/api/v1/initiatives/{pk}/").json()
    assert final["state"] == "closed", steps_done
    assert (final["granted_amount"], final["paid_amount"], final["refunded_amount"]) == (
        "250000.00",
        "250000.00",
        "5000.00",
    )
    steps = [step for step, _name in steps_done]
    assert "director_resolution" in steps and steps.count("payment_confirmation") == 3
    assert steps[-1] == "closeout"
    people = {name for _step, name in steps_done}
    assert "solicitante1" in people and people <= set(DEMO_PEOPLE)

    # Budget: the case's movements add up to what it was granted, paid and refunded; every line
    # reconciles with its movements.
    line = BudgetLine.objects.get(pk=final["budget_line"])
    assert ledger_mismatches() == []
    moves = BudgetMovement.objects.filter(case_code=code)
    totals = {
        k: sum((m.amount for m in moves if m.kind == k), Decimal(0)) for k in BudgetMovement.Kind.values
    }
    assert totals["reserve"] == totals["commit"] == Decimal("250000.00")
    assert totals["execute"] == totals["pay"] == Decimal("250000.00")
    assert totals["refund"] == Decimal("5000.00")
    assert case_figures(line, code) == {
        "amount_in_force": Decimal(0),
        "reserved": Decimal(0),
        "committed": Decimal(0),
        "executed": Decimal("245000.00"),
        "paid": Decimal("245000.00"),
    }

    # Audit: the case's history is served oldest first, and internal control verifies the chain.
    history = final["history"]
    assert history[0]["action"] == "initiative.created" and history[-1]["action"] == "task.completed"
    assert all(h["prev_hash"] and h["hash"] for h in history)
    verified = client_for("control1", SEED_PASSWORD).get("/api/v1/audit/verify/").json()
    assert verified["valid"] is True and verified["first_error"] is None, verified
    assert verified["entries"] == AuditEntry.objects.count() - 1  # the verification records itself
