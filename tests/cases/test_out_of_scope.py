"""A task or case outside the caller's scope answers 404 to every method, exactly as an id nobody has
(issue 10, item 6): task and case ids are sequential, so any other answer (a 403 or a 409 with the
reason, a 405) would let a caller probe which cases exist in another department, program or unit.
Only an object the caller may see answers 403, 405 or 409."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from budget.models import Program
from registrations import services as registrations
from registry import services as registry
from tests.iniciativas.conftest import World, draft, submitted
from transfers import services as transfers
from workflows.models import CaseTask

pytestmark = pytest.mark.django_db

METHODS = ["get", "post", "patch", "put", "delete"]
TASK_ROUTES = ["", "claim/", "release/", "complete/", "reassign/"]
OFFICIAL = ["official/CNV-2026-000001/", "official/CNV-2026-000001/scan/"]
CASE_ROUTES = {
    "initiatives": ["", "submit/", "withdraw/", "cancel/", "recover/", "documents/", *OFFICIAL],
    "transfers": ["", "annul/", "documents/", *OFFICIAL],
    "registrations": ["", "submit/", "withdraw/", "documents/", "official/CERT-1/", *OFFICIAL],
}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def answers(client, base: str, routes) -> dict:
    """Every method on every route under ``base``: (status, JSON body)."""
    out = {}
    for route in routes:
        for method in METHODS:
            response = getattr(client, method)(f"{base}{route}", {}, format="json")
            out[(method, route)] = (response.status_code, response.json())
    return out


def test_a_task_outside_the_callers_scope_is_a_404_to_every_method_like_no_task(world: World):
    """For every role: the initiative's open admissibility step (evaluators), outside the caller's
    role, unit, or department scope, answers every method on every task route exactly as an id
    nobody has does — a 404 with the same body — and no refusal is written to the trail."""
    s = world.staff
    registry.grant_department_scope(s["evaluador1"], "LPZ", actor=world.system)  # the case is in SCZ
    ini = submitted(world)
    task = CaseTask.objects.get(case_code=ini.code, step="admissibility", is_open=True)
    missing = CaseTask.objects.order_by("-pk").first().pk + 1000
    outsiders = {
        "evaluator outside its department": s["evaluador1"],
        "legal": s["legal1"],
        "finance": s["finanzas1"],
        "director": s["director1"],
        "internal control": s["control1"],
        "admin": s["admin1"],
        "applicant of the case's unit (not its step)": world.applicant,
        "applicant of another unit": world.other_applicant,
    }
    refusals = AuditEntry.objects.filter(action="task.refused").count()
    for who, user in outsiders.items():
        client = api(user)
        hidden = answers(client, f"/api/v1/tasks/{task.pk}/", TASK_ROUTES)
        nothing = answers(client, f"/api/v1/tasks/{missing}/", TASK_ROUTES)
        assert hidden == nothing, who
        assert {status for status, _body in hidden.values()} == {404}, who
    task.refresh_from_db()
    assert (task.status, task.owner_id) == ("NEW", None)
    assert AuditEntry.objects.filter(action="task.refused").count() == refusals


def test_a_task_in_scope_answers_with_its_reason(world: World):
    """Within the caller's role and scope, the answer tells the truth: a task a colleague holds is a
    409 on claim and complete (and is shown), a method the route does not take is a 405."""
    s = world.staff
    ini = submitted(world)
    task = CaseTask.objects.get(case_code=ini.code, step="admissibility", is_open=True)
    assert api(s["evaluador1"]).post(f"/api/v1/tasks/{task.pk}/claim/").status_code == 200
    colleague = api(s["evaluador2"])
    assert colleague.get(f"/api/v1/tasks/{task.pk}/").json()["status"] == "assigned"
    assert colleague.post(f"/api/v1/tasks/{task.pk}/claim/").status_code == 409
    complete = colleague.post(
        f"/api/v1/tasks/{task.pk}/complete/", {"decision": "reject", "comment": "No."}, format="json"
    )
    assert complete.status_code == 409
    assert colleague.delete(f"/api/v1/tasks/{task.pk}/").status_code == 405
    assert colleague.get(f"/api/v1/tasks/{task.pk}/claim/").status_code == 405


def test_a_case_outside_the_callers_scope_is_a_404_to_every_method_like_no_case(world: World):
    """An initiative, a transfer and a registration of solicitante1's unit (Santa Cruz): to the
    applicant of another unit and to an evaluator scoped to La Paz, every method on every route of
    the case answers as an id nobody has, and the cases do not change."""
    s = world.staff
    registry.grant_department_scope(s["evaluador1"], "LPZ", actor=world.system)
    initiative = draft(world)
    transfer = transfers.create_transfer(
        actor=world.applicant,
        beneficiary=world.unit,
        modality="in_kind",
        kind="public_private",
        program=Program.objects.get(code="PROLECHE"),
        assets=[{"description": "Tanque", "quantity": 2, "unit_value": "1000.00"}],
    )
    registration = registrations.create_registration(actor=world.applicant, kind="renewal", unit=world.unit)
    states = (initiative.state, transfer.state, registration.state)
    cases = {"initiatives": initiative, "transfers": transfer, "registrations": registration}
    for who in (world.other_applicant, s["evaluador1"]):
        client = api(who)
        for path, case in cases.items():
            model = type(case)
            missing = model.objects.order_by("-pk").first().pk + 1000
            hidden = answers(client, f"/api/v1/{path}/{case.pk}/", CASE_ROUTES[path])
            nothing = answers(client, f"/api/v1/{path}/{missing}/", CASE_ROUTES[path])
            assert hidden == nothing, (who.username, path)
            assert {status for status, _body in hidden.values()} == {404}, (who.username, path)
    for case in cases.values():
        case.refresh_from_db()
    assert (initiative.state, transfer.state, registration.state) == states
    # The case's own applicant sees them: a method a route does not take is a 405 there.
    mine = api(world.applicant)
    assert mine.get(f"/api/v1/initiatives/{initiative.pk}/").status_code == 200
    assert mine.delete(f"/api/v1/initiatives/{initiative.pk}/").status_code == 405
