"""The staff pages of the annual plan (POA): set goals, record progress with evidence; denials; the
public goals page shows each goal's attainment as the report writes it, with the drill-down."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEntry
from cases.clock import today as clock_today
from cases.roles import Role
from reports import services
from reports.models import Goal, ProgressEntry
from reports.selectors import current_fiscal_year
from tests.factories import ProgramFactory, UserFactory

D = Decimal
pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def client_for(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def admin_user():
    return UserFactory(roles=[Role.ADMIN])


@pytest.fixture
def cetip():
    return ProgramFactory(code="CETIP", name="Centros de Tecnología (CETIP)")


def goal_form(**fields) -> dict:
    return {
        "fiscal_year": "2020",
        "program": "CETIP",
        "indicator": "Servicios de desarrollo productivo del CETIP Textil El Alto",
        "unit": "servicios",
        "target": "345",
        "baseline": "",
        "computed_from": "",
        "description": "",
        **fields,
    }


def test_a_program_manager_sets_a_goal_and_records_progress_with_evidence(admin_user, cetip):
    manager = UserFactory(roles=[Role.EVALUATOR])
    services.assign_program_manager(actor=admin_user, user=manager, program=cetip)
    client = client_for(manager)
    page = client.get("/reports/poa/?fiscal_year=2020")
    assert page.status_code == 200 and "Fijar una meta" in page.content.decode()
    response = client.post("/reports/poa/nueva/", goal_form())
    goal = Goal.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/poa/{goal.pk}/"
    assert AuditEntry.objects.get(action=services.GOAL_SAVED).actor_id == manager.pk
    response = client.post(
        f"/reports/poa/{goal.pk}/avance/",
        {
            "value": "300",
            "date": "2020-12-31",
            "note": "Informe anual del CETIP",
            "file": SimpleUploadedFile("informe.pdf", PDF, content_type="application/pdf"),
        },
    )
    assert response.status_code == 302
    entry = ProgressEntry.objects.get()
    assert entry.value == D("300.00") and entry.evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    page = client.get(f"/reports/poa/{goal.pk}/").content.decode()
    assert "300 de 345 — 87,0 %" in page and "informe.pdf" in page and hashlib.sha256(PDF).hexdigest() in page
    download = client.get(f"/reports/poa/{goal.pk}/avance/{entry.pk}/respaldo/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert download["Content-Disposition"].startswith("attachment")
    # The public goals page (2020 is closed): the goal as the report writes it, no link for visitors.
    public = client_for().get("/reports/metas/?fiscal_year=2020").content.decode()
    assert "300 de 345 — 87,0 %" in public and f"/reports/poa/{goal.pk}/" not in public
    staff = client_for(UserFactory(roles=[Role.INTERNAL_CONTROL])).get("/reports/metas/?fiscal_year=2020")
    assert f"/reports/poa/{goal.pk}/" in staff.content.decode()


def test_bad_input_is_shown_in_spanish_and_changes_nothing(admin_user, cetip):
    client = client_for(admin_user)
    response = client.post("/reports/poa/nueva/", goal_form(target="0"))
    assert response.status_code == 400 and "La meta debe ser mayor que cero." in response.content.decode()
    goal = services.save_goal(
        actor=admin_user, fiscal_year=2020, program=cetip, indicator="Ferias", unit="ferias", target="3"
    )
    response = client.post(f"/reports/poa/{goal.pk}/avance/", {"value": "1", "date": "2021-01-05"})
    assert response.status_code == 400
    assert "La fecha debe estar dentro de la gestión 2020 de la meta." in response.content.decode()
    response = client.post(
        f"/reports/poa/{goal.pk}/avance/",
        {"value": "1", "date": "2020-05-05", "file": SimpleUploadedFile("x.pdf", b"not a document")},
    )
    assert response.status_code == 400 and not ProgressEntry.objects.exists()


def test_denials(admin_user, cetip):
    promype = ProgramFactory(code="PROMYPE")
    manager = UserFactory(roles=[Role.EVALUATOR])
    services.assign_program_manager(actor=admin_user, user=manager, program=promype)
    goal = services.save_goal(
        actor=admin_user, fiscal_year=2020, program=cetip, indicator="Ferias", unit="ferias", target="3"
    )
    computed = services.save_goal(
        actor=admin_user,
        fiscal_year=2020,
        program=cetip,
        indicator="Transferencias entregadas",
        unit="transferencias",
        target="3",
        computed_from="transfers_delivered",
    )
    progress = {"value": "1", "date": "2020-05-05"}
    # Anonymous: the login page; a user with no plan: 404; another program's manager: 403/404.
    assert client_for().get("/reports/poa/")["Location"].startswith("/login/")
    finance = client_for(UserFactory(roles=[Role.FINANCE]))
    assert finance.get("/reports/poa/").status_code == 404
    assert finance.post("/reports/poa/nueva/", goal_form()).status_code == 404
    assert finance.post(f"/reports/poa/{goal.pk}/avance/", progress).status_code == 403
    other = client_for(manager)
    assert other.post("/reports/poa/nueva/", goal_form()).status_code == 400  # CETIP is not offered
    assert other.get(f"/reports/poa/{goal.pk}/").status_code == 404
    assert other.post(f"/reports/poa/{goal.pk}/avance/", progress).status_code == 404
    applicant = client_for(UserFactory(roles=[Role.APPLICANT]))
    assert applicant.get(f"/reports/poa/{goal.pk}/").status_code == 404
    # A computed goal takes no progress by hand, not even from an administrator.
    admin = client_for(admin_user)
    assert admin.post(f"/reports/poa/{computed.pk}/avance/", progress).status_code == 403
    assert "Registrar avance" not in admin.get(f"/reports/poa/{computed.pk}/").content.decode()
    assert Goal.objects.count() == 2 and not ProgressEntry.objects.exists()


def test_the_year_in_progress_pages(admin_user, cetip):
    year = current_fiscal_year()
    client = client_for(admin_user)
    response = client.post("/reports/poa/nueva/", goal_form(fiscal_year=str(year), program="", target="1500"))
    assert response.status_code == 302
    goal = Goal.objects.get()
    assert goal.program is None
    day = clock_today()
    client.post(f"/reports/poa/{goal.pk}/avance/", {"value": "1327", "date": day.isoformat()})
    page = client.get(f"/reports/metas/?fiscal_year={year}").content.decode()
    assert "1.327 de 1.500 — 88,5 %" in page
