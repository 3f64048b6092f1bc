"""Beneficiaries reached, by department, municipality, dairy basin and sector (issue 14, item 3): real
cases driven through the services and the task API with their beneficiaries and placement, then
grouped by each breakdown with exact numbers, served as JSON, CSV, XLSX and a Spanish page, with the
drill-down for staff and the goals' metrics.

The cases of ``reached`` (this fiscal year):

    PROLECHE  initiative A  carried out in Cochabamba (unit in Santa Cruz), Punata, 12 women + 8 men
                            producers → closed, three tranches paid (Bs 100.000)
              initiative W  submitted with 50 + 50: never paid, so never counted
              transfer T1   in kind, Warnes (SCZ), 5 women + 7 men families → delivered → closed
    PROMYPE   transfer T2   in money Bs 35.000,50, Montero (SCZ), processed food, 3 women + 1 man → paid
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from budget import services as budget_services
from budget.models import FundingSource
from cases import kinds
from cases.roles import Role
from iniciativas.models import Initiative
from reports.beneficiaries import beneficiaries, beneficiary_cases
from reports.selectors import attainment, current_fiscal_year
from tests.factories import UserFactory
from tests.iniciativas.conftest import submitted
from tests.iniciativas.test_api_journey import STAFF_ORDER, client_for
from tests.transfers.test_journeys import request_in_kind, work_inbox
from transfers.models import Transfer

from .conftest import api_client
from .test_attainment import work_initiative

D = Decimal
URL = "/api/v1/reports/beneficiaries/"
PAGE = "/reports/beneficiarios/"
pytestmark = pytest.mark.django_db


@dataclass
class Reached:
    year: int
    world: object
    paid: Initiative
    waiting: Initiative
    in_kind: Transfer
    money: Transfer


@pytest.fixture(scope="module")
def reached(module_db) -> Reached:
    from tests.iniciativas.conftest import make_world

    with module_db():
        return make_reached(make_world())


def make_reached(world) -> Reached:
    year = current_fiscal_year()
    system = world.system
    promype = budget_services.create_program(actor=system, code="PROMYPE", name="PROMYPE")
    budget_services.create_budget_line(
        actor=system,
        fiscal_year=year,
        program=promype,
        source=FundingSource.objects.get(code="42"),
        amount_in_force=D("500000.00"),
    )
    clients = {name: client_for(name) for name in STAFF_ORDER}
    clients["solicitante1"] = client_for("solicitante1")
    paid = submitted(
        world,
        department="CBB",
        reach={"municipality": "Punata", "beneficiaries_women": 12, "beneficiaries_men": 8},
    )
    work_initiative(paid.code, clients, until="closed")
    waiting = submitted(
        world, title="Queso fresco", reach={"beneficiaries_women": 50, "beneficiaries_men": 50}
    )
    created = request_in_kind(
        clients["solicitante1"],
        world,
        municipality="Warnes",
        beneficiaries_kind="families",
        beneficiaries_women=5,
        beneficiaries_men=7,
    )
    assert created.status_code == 201, created.content
    in_kind = created.json()["code"]
    work_inbox(in_kind, clients, until=lambda t: t.state == "closed")
    created = clients["evaluador1"].post(
        "/api/v1/transfers/",
        {
            "beneficiary": world.unit.pk,
            "modality": "money",
            "kind": "public_private",
            "program": "PROMYPE",
            "amount": "35000.50",
            "municipality": "Montero",
            "sector": "food",
            "beneficiaries_kind": "people",
            "beneficiaries_women": 3,
            "beneficiaries_men": 1,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    money = created.json()["code"]
    work_inbox(money, clients, until=lambda t: t.paid_amount > 0)
    return Reached(
        year=year,
        world=world,
        paid=Initiative.objects.get(pk=paid.pk),
        waiting=Initiative.objects.get(pk=waiting.pk),
        in_kind=Transfer.objects.get(code=in_kind),
        money=Transfer.objects.get(code=money),
    )


def table(report) -> list[tuple]:
    return [(g.key, g.cases, g.women, g.men, g.total, g.paid) for g in report.groups]


def test_the_cases_are_placed_as_given_and_by_default(reached):
    paid, in_kind, money = reached.paid, reached.in_kind, reached.money
    # Carried out in another department than its unit's: the basin follows the case's department.
    assert (paid.department.code, paid.municipality, paid.sector, paid.dairy_basin) == (
        "CBB",
        "Punata",
        "dairy",
        "cochabamba",
    )
    assert (in_kind.department.code, in_kind.municipality, in_kind.dairy_basin) == (
        "SCZ",
        "Warnes",
        "santa_cruz",
    )
    # PROMYPE and not dairy: no basin.
    assert (money.municipality, money.sector, money.dairy_basin) == ("Montero", "food", "")
    assert money.beneficiaries_total == 4 and in_kind.beneficiaries_kind == "families"


def test_by_each_breakdown_with_exact_numbers(reached):
    year = reached.year
    assert table(beneficiaries(year, by="department")) == [
        ("CBB", 1, 12, 8, 20, D("100000.00")),
        ("SCZ", 2, 8, 8, 16, D("35000.50")),
    ]
    assert table(beneficiaries(year, by="dairy_basin")) == [
        ("santa_cruz", 1, 5, 7, 12, D("0.00")),
        ("cochabamba", 1, 12, 8, 20, D("100000.00")),
        ("", 1, 3, 1, 4, D("35000.50")),
    ]
    assert table(beneficiaries(year, by="sector")) == [
        ("food", 1, 3, 1, 4, D("35000.50")),
        ("dairy", 2, 17, 15, 32, D("100000.00")),
    ]
    assert table(beneficiaries(year, by="municipality")) == [
        ("Montero", 1, 3, 1, 4, D("35000.50")),
        ("Punata", 1, 12, 8, 20, D("100000.00")),
        ("Warnes", 1, 5, 7, 12, D("0.00")),
    ]
    for by in ("department", "municipality", "dairy_basin", "sector"):
        total = beneficiaries(year, by=by).total
        assert (total.cases, total.women, total.men, total.total, total.paid) == (
            3,
            20,
            16,
            36,
            D("135000.50"),
        )
    promype = beneficiaries(year, by="department", program="PROMYPE")
    assert table(promype) == [("SCZ", 1, 3, 1, 4, D("35000.50"))]
    # Nothing was paid or delivered last year.
    assert beneficiaries(year - 1, by="department").groups == ()


def test_one_query_per_case_kind_whatever_the_number_of_cases(reached):
    # Initiatives, transfers and price-compensation agreements reach people (registrations do not);
    # the agreements' query is counted with many of them in tests/compensations/test_reach.py.
    reaching = sorted(kind.code for kind in kinds.all_kinds() if kind.reach is not None)
    assert reaching == ["compensation", "initiative", "transfer"]
    for year in (reached.year, reached.year - 1):  # three cases reached, then none
        with CaptureQueriesContext(connection) as queries:
            beneficiaries(year, by="sector")
        assert len(queries) == 3, [q["sql"] for q in queries]


def test_goals_metrics_count_the_people_reached(reached):
    report = attainment(reached.year)
    prol = next(g for g in report.by_program if g.code == "PROLECHE")
    promype = next(g for g in report.by_program if g.code == "PROMYPE")
    assert [prol.row(i).achieved for i in ("beneficiaries", "beneficiaries_women", "beneficiaries_men")] == [
        32,
        17,
        15,
    ]
    assert [
        promype.row(i).achieved for i in ("beneficiaries", "beneficiaries_women", "beneficiaries_men")
    ] == [4, 3, 1]
    assert report.total.row("beneficiaries").achieved == 36
    assert prol.row("amount_paid").achieved == D("100000.00")  # the amount paid reads the same query


def test_api_by_each_breakdown_and_bad_input_in_spanish(reached):
    finance = UserFactory(roles=[Role.FINANCE])
    client = api_client(finance)
    response = client.get(URL, {"fiscal_year": reached.year, "by": "dairy_basin", "program": "prolecHE"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["by"], body["program"], body["closed"]) == ("dairy_basin", "PROLECHE", False)
    assert body["groups"] == [
        {
            "key": "santa_cruz",
            "name": "Santa Cruz",
            "cases": 1,
            "women": 5,
            "men": 7,
            "total": 12,
            "amount_paid": "0.00",
        },
        {
            "key": "cochabamba",
            "name": "Cochabamba",
            "cases": 1,
            "women": 12,
            "men": 8,
            "total": 20,
            "amount_paid": "100000.00",
        },
    ]
    assert body["total"]["total"] == 32 and body["total"]["amount_paid"] == "100000.00"
    bad = client.get(
        URL, {"fiscal_year": reached.year, "by": "provincia", "program": "NADA", "format": "pdf"}
    )
    assert bad.status_code == 400
    errors = bad.json()
    assert errors["by"] == ["Desglose por uno de: department, municipality, dairy_basin, sector."]
    assert errors["program"] == ["Programa desconocido."]
    assert "format" in errors


def test_year_in_progress_is_for_staff_only(reached):
    assert api_client().get(URL, {"fiscal_year": reached.year}).status_code == 401
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    assert api_client(evaluator).get(URL, {"fiscal_year": reached.year}).status_code == 404
    # A closed year is public (empty here) and names no one.
    public = api_client().get(URL, {"fiscal_year": reached.year - 1})
    assert public.status_code == 200 and public.json()["groups"] == []


def test_csv_and_xlsx_exports(reached):
    client = api_client(UserFactory(roles=[Role.DIRECTOR]))
    response = client.get(URL, {"fiscal_year": reached.year, "by": "department", "format": "csv"})
    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="beneficiarios-{reached.year}-department.csv"'
    )
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert [
        (r["table"], r["key"], r["cases"], r["women"], r["men"], r["total"], r["amount_paid"]) for r in rows
    ] == [
        ("group", "CBB", "1", "12", "8", "20", "100000.00"),
        ("group", "SCZ", "2", "8", "8", "16", "35000.50"),
        ("total", "", "3", "20", "16", "36", "135000.50"),
    ]
    response = client.get(URL, {"fiscal_year": reached.year, "by": "sector", "format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = next(n for n, row in enumerate(sheet.iter_rows(values_only=True), 1) if row[0] == "Rubro")
    values = [
        list(row) for row in sheet.iter_rows(min_row=header + 1, values_only=True) if row[0] is not None
    ]
    assert values == [
        ["Alimentos procesados", 1, 3, 1, 4, 35000.5],
        ["Lácteos", 2, 17, 15, 32, 100000],
        ["Total", 3, 20, 16, 36, 135000.5],
    ]
    first = next(row for row in sheet.iter_rows() if row[0].value == "Alimentos procesados")
    assert first[5].number_format == "#,##0.00" and first[1].number_format == "#,##0"


def test_page_in_spanish_with_bolivian_formats(reached):
    client = Client()
    client.force_login(UserFactory(roles=[Role.FINANCE]))
    response = client.get(PAGE, {"fiscal_year": reached.year, "by": "department"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Beneficiarios por departamento" in html
    assert "Cochabamba" in html and "100.000,00" in html and "135.000,50" in html
    assert "Bs 135.000,50" in html  # the card
    assert "/reports/beneficiarios/casos/?fiscal_year=" in html  # staff drill down
    assert reached.world.unit.name not in html and reached.world.unit.tax_id not in html
    bad = client.get(PAGE, {"fiscal_year": reached.year, "by": "provincia"})
    assert bad.status_code == 400 and "Desglose por uno de" in bad.content.decode()


def test_page_access(reached):
    anonymous = Client().get(PAGE, {"fiscal_year": reached.year})
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    client = Client()
    client.force_login(UserFactory(roles=[Role.EVALUATOR]))
    assert client.get(PAGE, {"fiscal_year": reached.year}).status_code == 404
    closed = Client().get(PAGE, {"fiscal_year": reached.year - 1})
    assert closed.status_code == 200 and "casos/" not in closed.content.decode()


def test_drill_down_lists_the_cases_of_a_group_for_staff_only(reached):
    query = {"fiscal_year": reached.year, "by": "department", "key": "SCZ"}
    client = Client()
    client.force_login(UserFactory(roles=[Role.INTERNAL_CONTROL]))
    response = client.get(PAGE + "casos/", query)
    assert response.status_code == 200
    html = response.content.decode()
    assert reached.in_kind.code in html and reached.money.code in html and reached.paid.code not in html
    assert "Conciliado" in html
    for role in (Role.EVALUATOR, Role.APPLICANT):
        other = Client()
        other.force_login(UserFactory(roles=[role]))
        assert other.get(PAGE + "casos/", query).status_code == 404
    assert Client().get(PAGE + "casos/", query).status_code == 302
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    assert beneficiary_cases(evaluator, reached.year, by="department", key="SCZ") == []
    finance = UserFactory(roles=[Role.FINANCE])
    lines = beneficiary_cases(finance, reached.year, by="department", key=None)
    assert sorted(line.code for line in lines) == sorted(
        [reached.paid.code, reached.in_kind.code, reached.money.code]
    )
