"""``POST /api/v1/calls/`` and ``PATCH /api/v1/calls/{code}/`` (API.md, issue 13 item 1): the same
services and rules as the configuration pages — who may, the validation, the audit entries, and a
new version once a submission exists."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from budget import services as budget_services
from iniciativas.models import Call
from tests.factories import UserFactory

from .conftest import submitted

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def payload(**overrides) -> dict:
    today = timezone.localdate()
    body = {
        "code": "PROLECHE-2026-05",
        "program": "PROLECHE",
        "title": "Fondo PROLECHE: centros de acopio",
        "opens": today.isoformat(),
        "closes": (today + dt.timedelta(days=60)).isoformat(),
        "max_amount": "300000.00",
        "min_counterpart_share": "0.50",
        "required_documents": ["project_profile", "counterpart_letter"],
        "evaluators": 2,
        "rubric": [
            {"criterion": "Pertinencia", "text": "¿Resuelve un problema de la cuenca?", "max_points": 40},
            {"criterion": "Factibilidad", "text": "", "max_points": 30},
            {"criterion": "Impacto", "max_points": 30, "code": "impact"},
        ],
        "pass_threshold": "60.00",
        "tranche_plan": [
            {"percent": "40", "unlocked_by": "agreement_signed"},
            {"percent": "40", "unlocked_by": "progress_report_approved"},
            {"percent": "20", "unlocked_by": "agreement_signed"},
        ],
        "observation_days": 10,
    }
    body.update(overrides)
    return body


def test_admin_opens_a_call(world):
    response = api(world.staff["admin1"]).post("/api/v1/calls/", payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "PROLECHE-2026-05" and body["version"] == 1 and body["status"] == "open"
    assert body["max_amount"] == "300000.00" and body["pass_threshold"] == "60.00"
    assert [c["criterion"] for c in body["rubric"]] == ["Pertinencia", "Factibilidad", "Impacto"]
    assert [c["code"] for c in body["rubric"]] == ["pertinencia", "factibilidad", "impact"]
    assert body["tranche_plan"][2] == {"percent": "20.00", "unlocked_by": "agreement_signed"}
    call = Call.objects.get(code="PROLECHE-2026-05")
    assert call.tranche_unlocks == ["agreement_signed", "progress_report_approved", "agreement_signed"]
    assert call.rubric[0]["text"] == "¿Resuelve un problema de la cuenca?"
    entry = AuditEntry.objects.get(action="call.opened", data__code="PROLECHE-2026-05")
    assert entry.actor == world.staff["admin1"]
    # it is one of the open calls every applicant sees
    listed = api(world.applicant).get("/api/v1/calls/").json()["results"]
    assert "PROLECHE-2026-05" in [c["code"] for c in listed]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tranche_plan": [{"percent": "50"}, {"percent": "40"}]}, "tranche_plan"),
        ({"pass_threshold": "120.00"}, "pass_threshold"),
        ({"closes": "2020-01-01"}, "closes"),
        ({"max_amount": 300000}, "max_amount"),
        ({"program": "NOPE"}, "program"),
    ],
)
def test_bad_payloads_are_400_on_the_field_and_write_nothing(world, overrides, field):
    before = (Call.objects.count(), AuditEntry.objects.count())
    response = api(world.staff["admin1"]).post("/api/v1/calls/", payload(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert (Call.objects.count(), AuditEntry.objects.count()) == before


def test_who_may(world):
    promype = budget_services.create_program(actor=world.system, code="PROMYPE", name="Fondo PROMYPE")
    manager = UserFactory(username="gestor1")
    budget_services.grant_program_management(manager, world.call.program, actor=world.system)
    elsewhere = UserFactory(username="gestor2")
    budget_services.grant_program_management(elsewhere, promype, actor=world.system)
    # the program's manager may
    assert api(manager).post("/api/v1/calls/", payload(), format="json").status_code == 201
    # a manager of another program: 403 to open one there, 404 for a call it does not configure
    response = api(elsewhere).post("/api/v1/calls/", payload(code="PROLECHE-2026-06"), format="json")
    assert response.status_code == 403
    url = f"/api/v1/calls/{world.call.code}/"
    assert api(elsewhere).patch(url, {"title": "x"}, format="json").status_code == 404
    # an evaluator, an applicant: 403
    for user in (world.staff["evaluador1"], world.applicant):
        assert (
            api(user).post("/api/v1/calls/", payload(code="PROLECHE-2026-07"), format="json").status_code
            == 403
        )
        assert api(user).patch(url, {"title": "x"}, format="json").status_code == 403
    assert APIClient().post("/api/v1/calls/", payload(), format="json").status_code == 401
    assert set(Call.objects.values_list("code", flat=True)) == {world.call.code, "PROLECHE-2026-05"}
    assert Call.objects.get(pk=world.call.pk).title == "Fondo PROLECHE"


def test_patch_in_place_then_a_new_version(world):
    admin = api(world.staff["admin1"])
    url = f"/api/v1/calls/{world.call.code}/"
    response = admin.patch(url, {"title": "Fondo PROLECHE (bases corregidas)"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 1
    assert AuditEntry.objects.filter(action="call.updated", data__code=world.call.code).count() == 1
    running = submitted(world)
    response = admin.patch(url, {"max_amount": "120000.00", "pass_threshold": "70.00"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 2 and body["max_amount"] == "120000.00" and body["pass_threshold"] == "70.00"
    entry = AuditEntry.objects.get(action="call.version_created", data__code=world.call.code)
    assert entry.data["changed"] == ["max_amount", "threshold"]
    running.refresh_from_db()
    assert running.call.version == 1 and running.call.max_amount == Decimal("150000.00")
    assert running.call.threshold == Decimal("60.00")
    # the code never changes; a bad edit is refused whole
    assert admin.patch(url, {"code": "OTRO-1"}, format="json").status_code == 400
    before = AuditEntry.objects.count()
    response = admin.patch(url, {"opens": "2030-01-01", "title": "Nuevo"}, format="json")
    assert response.status_code == 400 and "closes" in response.json()
    assert AuditEntry.objects.count() == before
    assert (
        Call.objects.get(code=world.call.code, is_current=True).title == "Fondo PROLECHE (bases corregidas)"
    )
    # GET of one call: its current version
    assert admin.get(url).json()["version"] == 2
