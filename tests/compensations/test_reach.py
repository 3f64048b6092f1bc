"""Beneficiaries and placement of price-compensation agreements (issue 14, item 3): given at the
agreement's creation (service, API, page) or taken from the dairy company's unit, corrected by staff
through one audited service, shown on the agreement's page with its official documents, and counted
by the beneficiaries report in each year a settlement of the agreement was paid."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from cases import kinds
from cases.metrics import FiscalYear, Scope
from cases.models import OfficialDocument
from cases.roles import Role
from compensations import services
from compensations.models import CompensationAgreement
from registry.models import Department
from registry.services import grant_department_scope
from reports.beneficiaries import beneficiaries, beneficiary_cases
from tests.factories import UnitFactory, UserFactory

from .conftest import active_agreement, decide, new_agreement, pdf, verified

D = Decimal
pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_ACCEPT_LANGUAGE="es")
    return client


def payload(dairy, **extra) -> dict:
    return {
        "unit": dairy.unit.pk,
        "budget_line": dairy.line.pk,
        "rate": "0.40",
        "first_month": f"{dairy.past(6):%Y-%m}",
        "last_month": f"{dairy.past(-6):%Y-%m}",
        "ceiling": "10000.00",
        **extra,
    }


# --- creation ----------------------------------------------------------------------------------------


def test_an_agreement_without_the_new_fields_is_placed_where_its_company_is(dairy):
    agreement = new_agreement(dairy)
    assert (
        agreement.department.code,
        agreement.municipality,
        agreement.sector,
        agreement.dairy_basin,
        agreement.beneficiaries_kind,
        agreement.beneficiaries_total,
    ) == ("LPZ", "La Paz", "dairy", "altiplano", "producers", 0)
    created = AuditEntry.objects.get(case=agreement.code, action="compensation.agreement_created")
    assert created.data["dairy_basin"] == "altiplano" and created.data["beneficiaries_women"] == 0


def test_api_creates_with_the_beneficiaries_and_answers_them(dairy):
    response = api(dairy.staff["tecnico1"]).post(
        "/api/v1/compensation-agreements/",
        payload(
            dairy,
            municipality="Achacachi",
            beneficiaries_kind="producers",
            beneficiaries_women=140,
            beneficiaries_men=210,
        ),
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {k: body[k] for k in ("municipality", "sector", "dairy_basin", "beneficiaries_total")} == {
        "municipality": "Achacachi",
        "sector": "dairy",
        "dairy_basin": "altiplano",
        "beneficiaries_total": 350,
    }
    agreement = CompensationAgreement.objects.get(code=body["code"])
    assert (agreement.beneficiaries_women, agreement.beneficiaries_men) == (140, 210)
    # An existing call without the new fields still works (defaults from the unit).
    plain = api(dairy.staff["tecnico1"]).post(
        "/api/v1/compensation-agreements/",
        payload(dairy, first_month=f"{dairy.past(-7):%Y-%m}", last_month=f"{dairy.past(-9):%Y-%m}"),
        format="json",
    )
    assert plain.status_code == 201, plain.content
    assert (plain.json()["municipality"], plain.json()["dairy_basin"]) == ("La Paz", "altiplano")


def test_bad_reach_is_refused_in_spanish_and_writes_nothing(dairy):
    response = api(dairy.staff["tecnico1"]).post(
        "/api/v1/compensation-agreements/",
        payload(dairy, dairy_basin="pampa", beneficiaries_women=-3, beneficiaries_kind="vacas"),
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()
    # A PROLECHE agreement is placed in a basin of the list.
    assert errors["dairy_basin"] == ["Elija de la lista la cuenca lechera del caso."]
    assert errors["beneficiaries_women"] == ["Ingrese un número entero de personas entre 0 y 1.000.000."]
    assert "beneficiaries_kind" in errors
    assert not CompensationAgreement.objects.exists()
    assert not AuditEntry.objects.filter(action="compensation.agreement_created").exists()
    # The reach is checked with the other fields: every error at once.
    with pytest.raises(ValidationError) as refused:
        services.create_agreement(
            actor=dairy.staff["tecnico1"],
            unit=dairy.unit,
            budget_line=dairy.line,
            rate="0.12345",
            first_month=dairy.past(1),
            last_month=dairy.past(0),
            ceiling="100.00",
            reach={"beneficiaries_men": "muchos"},
        )
    assert {"rate", "beneficiaries_men"} <= set(refused.value.message_dict)
    with pytest.raises(ValidationError) as refused:  # a wrong unit does not hide a wrong period
        services.create_agreement(
            actor=dairy.staff["tecnico1"],
            unit=UnitFactory(sector="food"),
            budget_line=dairy.line,
            rate="0.40",
            first_month=dairy.past(0),
            last_month=dairy.past(1),
            ceiling="100.00",
        )
    assert {"unit", "last_month"} <= set(refused.value.message_dict)


def test_a_proleche_agreement_of_another_sector_keeps_its_basin(dairy):
    """PROLECHE places the agreement in a basin whatever the sector said."""
    agreement = services.create_agreement(
        actor=dairy.staff["tecnico1"],
        unit=dairy.unit,
        budget_line=dairy.line,
        rate="0.40",
        first_month=dairy.past(1),
        last_month=dairy.past(0),
        ceiling="100.00",
        reach={"sector": "agroindustry", "dairy_basin": ""},
    )
    assert (agreement.sector, agreement.dairy_basin) == ("agroindustry", "altiplano")


def test_new_agreement_page_takes_the_beneficiaries(dairy):
    client = Client()
    client.force_login(dairy.staff["tecnico1"])
    url = reverse("compensation-create")
    form = client.get(url).content.decode()
    assert 'name="beneficiaries_women"' in form and "Cuenca lechera" in form
    data = {
        "unit": dairy.unit.pk,
        "budget_line": dairy.line.pk,
        "rate": "0,40",
        "first_month": f"{dairy.past(6):%Y-%m}",
        "last_month": f"{dairy.past(-6):%Y-%m}",
        "ceiling": "10.000,00",
        "municipality": "Achacachi",
        "dairy_basin": "",
        "beneficiaries_kind": "producers",
        "beneficiaries_women": "40",
        "beneficiaries_men": "-1",
    }
    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "Ingrese un número entero de personas entre 0 y 1.000.000." in refused.content.decode()
    assert not CompensationAgreement.objects.exists()
    response = client.post(url, {**data, "beneficiaries_men": "60"})
    assert response.status_code == 302
    agreement = CompensationAgreement.objects.get()
    assert (agreement.municipality, agreement.dairy_basin, agreement.beneficiaries_total) == (
        "Achacachi",
        "altiplano",
        100,
    )


# --- correction --------------------------------------------------------------------------------------


def test_staff_correction_is_audited_and_denied_to_other_roles(dairy):
    agreement = active_agreement(dairy)
    url = f"/api/v1/compensation-agreements/{agreement.pk}/reach/"
    body = {"reason": "Padrón de proveedores 2026.", "beneficiaries_women": 18, "beneficiaries_men": 22}
    for who in (dairy.member, dairy.staff["finanzas1"]):  # the company, finance: never
        assert api(who).post(url, body, format="json").status_code == 403
    with pytest.raises(PermissionDenied):
        services.correct_reach(agreement, actor=dairy.staff["finanzas1"], reason="x", beneficiaries_men=1)
    # An evaluator of another department does not see it; the director corrects it.
    elsewhere = UserFactory(roles=[Role.EVALUATOR])
    grant_department_scope(elsewhere, Department.objects.get(code="CBB"), actor=dairy.system)
    assert api(elsewhere).post(url, body, format="json").status_code == 404
    with pytest.raises(PermissionDenied):
        services.correct_reach(agreement, actor=elsewhere, reason="x", beneficiaries_men=1)
    assert not AuditEntry.objects.filter(action="compensation.reach_corrected").exists()
    no_reason = api(dairy.staff["tecnico2"]).post(url, {**body, "reason": " "}, format="json")
    assert no_reason.status_code == 400
    assert no_reason.json()["reason"] == ["Indique por qué se corrigen los beneficiarios o la ubicación."]

    response = api(dairy.staff["tecnico2"]).post(url, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["beneficiaries_total"] == 40
    entry = AuditEntry.objects.get(action="compensation.reach_corrected")
    assert entry.case == agreement.code
    assert entry.data == {
        "before": {"beneficiaries_women": 0, "beneficiaries_men": 0},
        "after": {"beneficiaries_women": 18, "beneficiaries_men": 22},
        "reason": "Padrón de proveedores 2026.",
    }
    # The same values again change nothing and write nothing.
    api(dairy.staff["tecnico2"]).post(url, body, format="json")
    assert AuditEntry.objects.filter(action="compensation.reach_corrected").count() == 1


# --- the agreement's page ----------------------------------------------------------------------------


def test_the_page_shows_the_beneficiaries_and_links_the_official_documents(dairy):
    agreement = active_agreement(dairy)
    services.correct_reach(
        agreement,
        actor=dairy.staff["director1"],
        reason="Padrón",
        municipality="Achacachi",
        beneficiaries_women=1200,
        beneficiaries_men=1345,
    )
    client = Client()
    client.force_login(dairy.staff["tecnico1"])
    html = client.get(reverse("compensation-detail", args=[agreement.pk])).content.decode()
    assert "Achacachi" in html and "Altiplano (La Paz, Oruro, Potosí)" in html
    assert "2.545 productores: 1.200 mujeres, 1.345 hombres" in html
    papers = list(OfficialDocument.objects.filter(case_code=agreement.code).order_by("pk"))
    assert len(papers) == 2  # the certificación presupuestaria, the resolution
    for paper in papers:
        link = reverse("compensation-official", args=[agreement.pk, paper.number])
        assert f'href="{link}"' in html
        download = client.get(link)
        assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    # Whoever may not see the agreement gets nothing.
    outsider = Client()
    outsider.force_login(dairy.outsider)
    link = reverse("compensation-official", args=[agreement.pk, papers[0].number])
    assert outsider.get(link).status_code == 404


# --- the beneficiaries report ------------------------------------------------------------------------


def pay(dairy, agreement, months_ago: int, litres: str, paid_on: dt.date, reference: str):
    settlement = verified(dairy, agreement, months_ago, litres=litres)
    return services.pay_settlement(
        settlement, actor=dairy.staff["finanzas2"], payment_reference=reference, paid_on=paid_on
    )


def test_the_report_counts_an_agreement_in_each_year_a_settlement_was_paid(dairy):
    """Two settlements paid this year and one last year: the agreement counts once in each year, its
    women and men once, what was paid in each; an agreement with nothing paid counts nowhere."""
    today = timezone.localdate()
    year = today.year
    last_dec = dt.date(year - 1, 12, 31)
    counted = active_agreement(dairy, ceiling="100000.00", months_back=11)
    services.correct_reach(
        counted,
        actor=dairy.staff["director1"],
        reason="Padrón",
        municipality="Achacachi",
        beneficiaries_women=120,
        beneficiaries_men=80,
    )
    pay(dairy, counted, 3, "1000.00", today, "BUN-1")
    pay(dairy, counted, 2, "500.00", today, "BUN-2")
    pay(dairy, counted, 4, "250.00", last_dec, "BUN-0")
    other_unit = UnitFactory(department="CBB", name="Lácteos del Valle", municipality="Punata")
    waiting = services.create_agreement(
        actor=dairy.staff["tecnico1"],
        unit=other_unit,
        budget_line=dairy.line,
        rate="0.40",
        first_month=dairy.past(3),
        last_month=dairy.past(0),
        ceiling="1000.00",
        reach={"beneficiaries_women": 500, "beneficiaries_men": 500},
    )
    assert waiting.dairy_basin == "cochabamba"

    def table(fiscal_year, by):
        report = beneficiaries(fiscal_year, by=by)
        return [(g.key, g.cases, g.women, g.men, g.total, g.paid) for g in report.groups], report.total

    groups, total = table(year, "department")
    assert groups == [("LPZ", 1, 120, 80, 200, D("600.00"))]
    assert (total.cases, total.women, total.men, total.paid) == (1, 120, 80, D("600.00"))
    assert table(year, "dairy_basin")[0] == [("altiplano", 1, 120, 80, 200, D("600.00"))]
    assert table(year, "municipality")[0] == [("Achacachi", 1, 120, 80, 200, D("600.00"))]
    assert table(year - 1, "department")[0] == [("LPZ", 1, 120, 80, 200, D("100.00"))]
    assert table(year - 2, "department")[0] == []
    # The drill-down names the agreement with its first payment of the year.
    finance = UserFactory(roles=[Role.FINANCE])
    [row] = beneficiary_cases(finance, year, by="dairy_basin", key="altiplano")
    assert (row.kind, row.code, row.paid) == ("compensation", counted.code, D("600.00"))
    [row] = beneficiary_cases(finance, year - 1, by="department", key=None)
    assert row.when == last_dec
    page = Client()
    page.force_login(finance)
    html = page.get(
        "/reports/beneficiarios/casos/", {"fiscal_year": year, "by": "department", "key": "LPZ"}
    ).content.decode()
    assert counted.code in html and reverse("compensation-detail", args=[counted.pk]) in html
    assert waiting.code not in html
    # The goals report's beneficiaries and amount paid read the same rows.
    (metric,) = kinds.get("settlement").metrics
    figures = metric.figures(FiscalYear(year))
    assert figures["amount_paid"] == {"PROLECHE": D("600.00")}
    assert (figures["beneficiaries"], figures["beneficiaries_women"]) == (
        {"PROLECHE": 200},
        {"PROLECHE": 120},
    )


def test_one_query_whatever_the_number_of_agreements_and_settlements(dairy):
    year = FiscalYear(timezone.localdate().year)
    reach = kinds.get("compensation").reach
    with CaptureQueriesContext(connection) as none:
        assert reach(year, Scope()) == []
    with CaptureQueriesContext(connection) as report_before:
        beneficiaries(year.year, by="department")
    first = active_agreement(dairy, ceiling="100000.00", months_back=11)
    second = services.create_agreement(
        actor=dairy.staff["tecnico1"],
        unit=UnitFactory(department="SCZ", name="Lácteos del Oriente"),
        budget_line=dairy.line,
        rate="0.50",
        first_month=dairy.past(11),
        last_month=dairy.past(0),
        ceiling="100000.00",
    )
    decide(second, "budget_certification", dairy.staff["finanzas1"])
    decide(second, "director_resolution", dairy.staff["director1"], resolution_number="RA-02/2026")
    second.refresh_from_db()
    for n in (1, 2, 3):
        pay(dairy, first, n, "100.00", timezone.localdate(), f"BUN-{n}")
    second_member = UserFactory(roles=[Role.APPLICANT], unit=second.unit)
    for n in (1, 2):
        settlement = services.declare_settlement(
            second, actor=second_member, month=dairy.past(n), litres="100.00", evidence=pdf()
        )
        decide(settlement, "settlement_verification", dairy.staff["tecnico2"])
        services.pay_settlement(settlement, actor=dairy.staff["finanzas2"], payment_reference=f"BUN-S{n}")
    with CaptureQueriesContext(connection) as some:
        rows = reach(year, Scope())
    assert sorted((r.code, r.paid, r.dairy_basin) for r in rows) == [
        (first.code, D("120.00"), "altiplano"),
        (second.code, D("100.00"), "santa_cruz"),
    ]
    with CaptureQueriesContext(connection) as report_after:
        report = beneficiaries(year.year, by="dairy_basin")
    assert [(g.key, g.cases, g.paid) for g in report.groups] == [
        ("santa_cruz", 1, D("100.00")),
        ("altiplano", 1, D("120.00")),
    ]
    assert len(none) == len(some) == 1
    assert len(report_before) == len(report_after) == 3  # one per kind that reaches people


# --- the migration -----------------------------------------------------------------------------------


def test_the_migration_places_existing_agreements_where_their_company_is(dairy):
    agreement = new_agreement(dairy)
    CompensationAgreement.objects.filter(pk=agreement.pk).update(municipality="", sector="", dairy_basin="")
    migration = importlib.import_module("compensations.migrations.0003_placement_from_unit")
    migration.place(apps, None)
    agreement.refresh_from_db()
    assert (agreement.municipality, agreement.sector, agreement.dairy_basin) == (
        "La Paz",
        "dairy",
        "altiplano",
    )
