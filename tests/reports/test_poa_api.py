"""API.md §Goals (POA): create and list goals, record progress (with its evidence) on goals entered by
hand; the attainment report gives each goal with its target, result and percent."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEntry
from cases.clock import today as clock_today
from cases.roles import Role
from reports import services
from reports.models import Goal, GoalEvidence, ProgressEntry
from reports.selectors import current_fiscal_year
from tests.factories import ProgramFactory, UserFactory

from .conftest import api_client, user_with

D = Decimal
pytestmark = pytest.mark.django_db
URL = "/api/v1/goals/"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def admin_user():
    return UserFactory(roles=[Role.ADMIN])


@pytest.fixture
def registro():
    return ProgramFactory(code="REGISTRO", name="Registro y Acreditación")


def body(**fields) -> dict:
    return {
        "fiscal_year": 2020,
        "program": "REGISTRO",
        "indicator": "Mypes nuevas registradas",
        "unit": "unidades productivas",
        "target": "1500",
        "baseline": "0",
        "computed_from": None,
        **fields,
    }


def test_an_administrator_creates_a_goal_records_progress_and_lists_it(admin_user, registro):
    client = api_client(admin_user)
    created = client.post(URL, body(), format="json")
    assert created.status_code == 201, created.content
    goal = created.json()
    assert goal["program"] == "REGISTRO" and goal["computed_from"] is None and goal["result"] is None
    assert (goal["target"], goal["baseline"], goal["percent"]) == ("1500", "0", None)
    progress = client.post(
        f"{URL}{goal['id']}/progress/",
        {
            "value": "1327",
            "date": "2020-12-31",
            "note": "Nuevos registros de la gestión",
            "evidence": SimpleUploadedFile("informe.pdf", PDF, content_type="application/pdf"),
        },
        format="multipart",
    )
    assert progress.status_code == 201, progress.content
    after = progress.json()
    assert (after["result"], after["percent"], after["text"]) == ("1327", "88.5", "1.327 de 1.500 — 88,5 %")
    [entry] = after["progress"]
    assert entry["value"] == "1327" and entry["date"] == "2020-12-31"
    assert entry["evidence"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert GoalEvidence.objects.get().sha256 == hashlib.sha256(PDF).hexdigest()
    audit_entry = AuditEntry.objects.get(action=services.PROGRESS_RECORDED)
    assert audit_entry.actor_id == admin_user.pk and audit_entry.data["evidence"]["name"] == "informe.pdf"

    listed = api_client().get(URL, {"fiscal_year": 2020})  # a closed year: public
    assert listed.status_code == 200
    assert [(g["indicator"], g["result"], g["text"]) for g in listed.json()] == [
        ("Mypes nuevas registradas", "1327", "1.327 de 1.500 — 88,5 %")
    ]
    report = api_client().get("/api/v1/reports/attainment/", {"fiscal_year": 2020}).json()
    [group] = report["by_program"]
    assert group["program"] == "REGISTRO"
    assert [(g["target"], g["result"], g["percent"]) for g in group["goals"]] == [("1500", "1327", "88.5")]
    assert group["indicators"][0]["indicator"] == "initiatives_submitted"  # the fixed rows stay


def test_progress_on_a_computed_goal_is_a_400_in_spanish(admin_user):
    client = api_client(admin_user)
    goal = client.post(
        URL,
        body(program=None, indicator="Unidades registradas", computed_from="units_registered"),
        format="json",
    ).json()
    assert goal["computed_from"] == "units_registered" and goal["result"] == "0"
    response = client.post(
        f"{URL}{goal['id']}/progress/", {"value": "5", "date": "2020-06-01"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "value": ["Esta meta se calcula con los datos de los casos: su resultado no se registra a mano."]
    }
    assert not ProgressEntry.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"target": "0"}, "target"), ({"computed_from": "nope"}, "computed_from"), ({"unit": ""}, "unit")],
)
def test_bad_goals_are_400_and_change_nothing(admin_user, registro, fields, field):
    response = api_client(admin_user).post(URL, body(**fields), format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Goal.objects.exists()


def test_an_evidence_that_is_not_a_document_is_refused(admin_user, registro):
    client = api_client(admin_user)
    goal = client.post(URL, body(), format="json").json()
    response = client.post(
        f"{URL}{goal['id']}/progress/",
        {
            "value": "1",
            "date": "2020-06-01",
            "evidence": SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf"),
        },
        format="multipart",
    )
    assert response.status_code == 400 and "file" in response.json()
    assert not ProgressEntry.objects.exists()


@pytest.mark.parametrize(
    "role", [Role.APPLICANT, Role.EVALUATOR, Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL]
)
def test_denials(role, admin_user, registro):
    user = user_with(role)
    assert api_client(user).post(URL, body(), format="json").status_code == 403
    assert api_client().post(URL, body(), format="json").status_code == 401
    goal = api_client(admin_user).post(URL, body(), format="json").json()
    progress = {"value": "1", "date": "2020-06-01"}
    assert api_client(user).post(f"{URL}{goal['id']}/progress/", progress, format="json").status_code == 403
    assert api_client().post(f"{URL}{goal['id']}/progress/", progress, format="json").status_code in (
        401,
        403,
    )
    assert Goal.objects.count() == 1 and not ProgressEntry.objects.exists()


def test_a_program_manager_works_on_the_goals_of_the_program_only(admin_user, registro):
    cetip = ProgramFactory(code="CETIP")
    manager = UserFactory(roles=[Role.EVALUATOR])
    services.assign_program_manager(actor=admin_user, user=manager, program=cetip)
    client = api_client(manager)
    year = current_fiscal_year()
    assert client.post(URL, body(fiscal_year=year), format="json").status_code == 403  # REGISTRO's
    assert client.post(URL, body(fiscal_year=year, program=None), format="json").status_code == 403
    created = client.post(
        URL, body(fiscal_year=year, program="CETIP", indicator="Servicios", unit="servicios"), format="json"
    )
    assert created.status_code == 201
    api_client(admin_user).post(URL, body(fiscal_year=year), format="json")
    # The year in progress: the manager lists the program's goals only; others see nothing of it.
    assert [g["program"] for g in client.get(URL, {"fiscal_year": year}).json()] == ["CETIP"]
    assert api_client(user_with(Role.EVALUATOR)).get(URL, {"fiscal_year": year}).status_code == 404
    assert api_client().get(URL, {"fiscal_year": year}).status_code == 401
    assert len(api_client(admin_user).get(URL, {"fiscal_year": year}).json()) == 2
    today = clock_today()
    response = client.post(
        f"{URL}{created.json()['id']}/progress/", {"value": "4", "date": today.isoformat()}, format="json"
    )
    assert response.status_code == 201 and response.json()["result"] == "4"


def test_list_needs_a_fiscal_year():
    response = api_client().get(URL)
    assert response.status_code == 400 and "fiscal_year" in response.json()
