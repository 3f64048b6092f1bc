"""Goals and results (PRODUCT.md §5): real cases driven through the services and the task API, then
counted per program and in total, and served as JSON, CSV, XLSX, PDF and a web page without personal
data.

The cases of ``cases`` (this fiscal year, each person working only its own inbox):

    PROLECHE  initiative A  submitted → … → closed, three tranches paid (40.000 + 40.000 + 20.000)
              initiative B  submitted → rejected at admissibility
              initiative C  submitted (still waiting)
              transfer T1   in kind, 3 asset units (Bs 70.000) → delivered (accepted) → closed
    PROMYPE   transfer T2   in money, Bs 35.000,50 → paid → closed
    registry  2 units registered (the world's), 1 registration renewed

Goals (set in the tests): PROLECHE initiatives approved 16 (1/16 = 6,25 % → 6,3 half-up), PROLECHE
initiatives closed 4 (25,0 %), agency amount paid Bs 200.000 (67,5 %), agency units registered 3 (66,7 %).
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
from budget.models import FundingSource, Program
from cases.roles import Role
from iniciativas.models import Initiative
from registry import services as registry_services
from reports import selectors
from reports.models import Goal, Indicator
from reports.selectors import attainment, attainment_cases, current_fiscal_year
from tests.factories import UserFactory
from tests.iniciativas.conftest import submitted, world  # noqa: F401  (staff, units, PROLECHE line)
from tests.iniciativas.test_api_journey import STAFF_ORDER, client_for, step_data
from tests.transfers.test_journeys import request_in_kind, work_inbox
from transfers.models import Transfer

from .conftest import api_client
from .test_api import pdf_text

D = Decimal
URL = "/api/v1/reports/attainment/"
PAGE = "/reports/metas/"
pytestmark = pytest.mark.django_db


@dataclass
class Cases:
    year: int
    world: object
    closed: Initiative
    rejected: Initiative
    waiting: Initiative
    in_kind: Transfer
    money: Transfer

    @property
    def personal_data(self) -> list[str]:
        units = (self.world.unit, self.world.other_unit)
        return [u.name for u in units] + [u.tax_id for u in units] + ["solicitante1", "evaluador1"]


def work_initiative(code: str, clients: dict, *, until: str, decide=None, limit: int = 40) -> None:
    """Each round the first person (fixed order) whose inbox holds a task of the case decides it."""
    for _ in range(limit):
        if Initiative.objects.get(code=code).state == until:
            return
        for client in clients.values():
            tasks = client.get("/api/v1/tasks/", {"case": code}).json()["results"]
            if not tasks:
                continue
            task = tasks[0]
            if task["status"] == "available":  # a staff queue task; the unit's own steps are never claimed
                assert client.post(f"/api/v1/tasks/{task['id']}/claim/").status_code == 200
            decision, comment = (decide(task["step"]) if decide else None) or ("approve", "")
            result = client.post(
                f"/api/v1/tasks/{task['id']}/complete/",
                {"decision": decision, "comment": comment, "data": step_data(task, code)},
                format="json",
            )
            assert result.status_code == 200, (task["step"], result.content)
            break
        else:
            raise AssertionError(f"nobody finds a task for {code}")
    raise AssertionError(f"{code} did not reach {until}")


@pytest.fixture(scope="module")
def cases(module_db) -> Cases:
    """Built once for the module (each test's own changes are rolled back, see ``module_db``)."""
    from tests.iniciativas.conftest import make_world

    with module_db():
        return make_cases(make_world())


def make_cases(world) -> Cases:  # noqa: F811
    year = current_fiscal_year()
    system = world.system
    promype = budget_services.create_program(
        actor=system, code="PROMYPE", name="Apoyo a micro y pequeñas empresas (PROMYPE)"
    )
    budget_services.create_budget_line(
        actor=system,
        fiscal_year=year,
        program=promype,
        source=FundingSource.objects.get(code="42"),
        amount_in_force=D("500000.00"),
    )
    clients = {name: client_for(name) for name in STAFF_ORDER}
    clients["solicitante1"] = client_for("solicitante1")

    closed = submitted(world)
    work_initiative(closed.code, clients, until="closed")
    rejected = submitted(world, title="Planta de yogur")
    work_initiative(
        rejected.code,
        clients,
        until="rejected",
        decide=lambda step: (
            ("reject", "La unidad no cumple los requisitos.") if step == "admissibility" else None
        ),
    )
    waiting = submitted(world, title="Queso fresco")

    created = request_in_kind(clients["solicitante1"], world)
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
            "purpose": "Capital de operaciones para la asociación.",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    money = created.json()["code"]
    work_inbox(money, clients, until=lambda t: t.state == "closed")
    registry_services.renew_registration(world.other_unit, actor=system)
    return Cases(
        year=year,
        world=world,
        closed=Initiative.objects.get(pk=closed.pk),
        rejected=Initiative.objects.get(pk=rejected.pk),
        waiting=Initiative.objects.get(pk=waiting.pk),
        in_kind=Transfer.objects.get(code=in_kind),
        money=Transfer.objects.get(code=money),
    )


def set_goals(year: int) -> None:
    """Goals of the annual plan (report input, not case data; the admin writes them through
    ``reports.services.save_goal``, tested in test_goals.py)."""
    prol = Program.objects.get(code="PROLECHE")

    def goal(indicator, target, **fields):
        Goal.objects.create(
            computed_from=indicator, indicator=Indicator(indicator).label, unit="u", target=target, **fields
        )

    goal(Indicator.INITIATIVES_APPROVED, 16, fiscal_year=year, program=prol)
    goal(
        Indicator.INITIATIVES_CLOSED,
        4,
        fiscal_year=year,
        program=prol,
        description="4 cierres de iniciativas productivas",
    )
    goal(Indicator.AMOUNT_PAID, D("200000.00"), fiscal_year=year)
    goal(
        Indicator.UNITS_REGISTERED,
        3,
        fiscal_year=year,
        description="3 nuevas unidades productivas registradas",
    )
    goal(Indicator.UNITS_REGISTERED, 99, fiscal_year=year - 1)  # other year


def figures(group) -> dict:
    return {row.indicator: row.achieved for row in group.rows}


EXPECTED_PROLECHE = {
    "initiatives_submitted": 3,
    "initiatives_approved": 1,
    "initiatives_closed": 1,
    "initiatives_rejected": 1,
    "transfers_requested": 1,
    "transfers_delivered": 1,
    "transfers_closed": 1,
    "assets_delivered": 3,
    "amount_paid": D("100000.00"),
    # The cases of this fixture record no beneficiaries (tests/reports/test_beneficiaries.py does).
    "beneficiaries": 0,
    "beneficiaries_women": 0,
    "beneficiaries_men": 0,
}
EXPECTED_PROMYPE = {
    **dict.fromkeys(EXPECTED_PROLECHE, 0),
    "transfers_requested": 1,
    "transfers_delivered": 1,
    "transfers_closed": 1,
    "amount_paid": D("35000.50"),
}
EXPECTED_TOTAL = {
    "initiatives_submitted": 3,
    "initiatives_approved": 1,
    "initiatives_closed": 1,
    "initiatives_rejected": 1,
    "transfers_requested": 2,
    "transfers_delivered": 2,
    "transfers_closed": 2,
    "assets_delivered": 3,
    "amount_paid": D("135000.50"),
    "beneficiaries": 0,
    "beneficiaries_women": 0,
    "beneficiaries_men": 0,
    "units_registered": 2,
    "units_renewed": 1,
    "units_valid": 2,
}


# --- The numbers -----------------------------------------------------------------------------------------


def test_counts_and_amounts_per_program_and_total(cases, django_assert_max_num_queries):
    set_goals(cases.year)
    assert cases.closed.state == "closed" and cases.rejected.state == "rejected"
    assert cases.waiting.state == "submitted"
    assert cases.in_kind.state == cases.money.state == "closed"

    with django_assert_max_num_queries(10):
        report = attainment(cases.year)
    assert [g.code for g in report.by_program] == ["PROLECHE", "PROMYPE"]
    prol, promype = report.by_program
    assert figures(prol) == EXPECTED_PROLECHE
    assert figures(promype) == EXPECTED_PROMYPE
    assert figures(report.total) == EXPECTED_TOTAL
    assert all(
        isinstance(v, Decimal)
        for v in (prol.row("amount_paid").achieved, report.total.row("amount_paid").achieved)
    )

    # Attainment: achieved / goal x 100, half-up to one decimal, Decimal; no goal → None.
    assert prol.row("initiatives_approved").percent == D("6.3")  # 6.25: half-even would say 6.2
    assert prol.row("initiatives_closed").percent == D("25.0")
    assert prol.row("initiatives_closed").goal == "4 cierres de iniciativas productivas"
    assert report.total.row("amount_paid").percent == D("67.5")
    assert report.total.row("units_registered").percent == D("66.7")
    assert (
        prol.row("initiatives_submitted").target is None and prol.row("initiatives_submitted").percent is None
    )
    assert promype.row("initiatives_closed").percent is None  # the PROLECHE goal is not PROMYPE's
    assert report.total.row("initiatives_closed").target is None  # nor the agency's
    assert report.goals_count == 4
    assert report.closed is False

    # Another year: nothing happened then.
    last_year = attainment(cases.year - 1)
    assert last_year.by_program == () and last_year.closed is True
    assert figures(last_year.total)["initiatives_submitted"] == 0
    assert last_year.total.row("units_registered").target == D("99")


def test_the_number_of_queries_does_not_grow_with_programs(cases):
    with CaptureQueriesContext(connection) as before:
        attainment(cases.year)
    for n in range(6):
        budget_services.create_program(actor=cases.world.system, code=f"EXTRA{n}", name=f"Programa {n}")
    with CaptureQueriesContext(connection) as after:
        report = attainment(cases.year)
    assert len(after) == len(before) <= 10
    assert [g.code for g in report.by_program] == ["PROLECHE", "PROMYPE"]  # programs with nothing: left out


def test_a_case_counts_in_the_year_its_trail_says(cases):
    """Closed in the year per its audit entry, whatever the case row says about creation."""
    Initiative.objects.filter(pk=cases.closed.pk).update(created_at="2019-05-05T12:00:00Z")
    report = attainment(cases.year)
    assert report.total.row("initiatives_closed").achieved == 1
    assert attainment(2019).total.row("initiatives_closed").achieved == 0


def test_drill_down_lists_the_cases_behind_each_figure(cases):
    finance = cases.world.staff["finanzas1"]
    closed = attainment_cases(finance, cases.year, Indicator.INITIATIVES_CLOSED, "PROLECHE")
    assert [(line.kind, line.code) for line in closed] == [("initiative", cases.closed.code)]
    submitted_ = attainment_cases(finance, cases.year, Indicator.INITIATIVES_SUBMITTED)
    assert sorted(line.code for line in submitted_) == sorted(
        [cases.closed.code, cases.rejected.code, cases.waiting.code]
    )
    paid = attainment_cases(finance, cases.year, Indicator.AMOUNT_PAID)
    assert sum(line.amount for line in paid) == D("135000.50")
    assert [line.code for line in paid].count(cases.closed.code) == 3  # three tranches
    assets = attainment_cases(finance, cases.year, Indicator.ASSETS_DELIVERED)
    assert [(line.code, line.count) for line in assets] == [(cases.in_kind.code, 3)]
    # Not for the public, the applicant or evaluators; units are not cases.
    applicant = cases.world.applicant
    assert attainment_cases(applicant, cases.year, Indicator.INITIATIVES_CLOSED) == []
    assert attainment_cases(cases.world.staff["evaluador1"], cases.year, Indicator.INITIATIVES_CLOSED) == []
    assert attainment_cases(finance, cases.year, Indicator.UNITS_REGISTERED) == []


# --- API -------------------------------------------------------------------------------------------------


def indicator_map(group: dict) -> dict:
    return {i["indicator"]: i for i in group["indicators"]}


def test_api_json_for_staff_in_the_year_in_progress(cases):
    set_goals(cases.year)
    response = api_client(cases.world.staff["finanzas1"]).get(URL, {"fiscal_year": cases.year})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["fiscal_year"] == cases.year and body["closed"] is False
    assert [p["program"] for p in body["by_program"]] == ["PROLECHE", "PROMYPE"]
    prol = indicator_map(body["by_program"][0])
    assert prol["initiatives_closed"] == {
        "indicator": "initiatives_closed",
        "name": "Iniciativas cerradas",
        "unit": "count",
        "achieved": "1",
        "target": "4",
        "percent": "25.0",
        "goal": "4 cierres de iniciativas productivas",
    }
    assert (
        prol["initiatives_submitted"]["target"] is None and prol["initiatives_submitted"]["percent"] is None
    )
    assert prol["amount_paid"]["unit"] == "bs" and prol["amount_paid"]["achieved"] == "100000.00"
    total = indicator_map(body["total"])
    assert total["amount_paid"] == {
        "indicator": "amount_paid",
        "name": "Pagado a beneficiarios (Bs)",
        "unit": "bs",
        "achieved": "135000.50",
        "target": "200000.00",
        "percent": "67.5",
        "goal": "",
    }
    assert total["units_registered"]["achieved"] == "2" and total["units_registered"]["percent"] == "66.7"
    assert {k: v["achieved"] for k, v in total.items()} == {
        k: (f"{v:.2f}" if isinstance(v, Decimal) else str(v)) for k, v in EXPECTED_TOTAL.items()
    }


@pytest.mark.parametrize("role", [Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL, Role.ADMIN])
def test_year_in_progress_for_the_four_staff_roles(db, role):
    user = UserFactory(roles=[role])
    assert api_client(user).get(URL, {"fiscal_year": current_fiscal_year()}).status_code == 200


@pytest.mark.parametrize("role", [Role.EVALUATOR, Role.LEGAL, Role.APPLICANT])
def test_year_in_progress_is_hidden_from_others(db, role):
    from .conftest import user_with

    year = current_fiscal_year()
    assert api_client().get(URL, {"fiscal_year": year}).status_code == 401
    assert api_client(user_with(role)).get(URL, {"fiscal_year": year}).status_code == 404
    assert api_client().get(URL, {"fiscal_year": year - 1}).status_code == 200  # closed: public
    assert api_client().get(URL, {"fiscal_year": year - 1, "format": "csv"}).status_code == 200


def test_bad_input_is_400_in_the_callers_language(db):
    response = api_client().get(URL, {"fiscal_year": "dos mil", "format": "docx"})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"fiscal_year", "format"}
    assert "gestión" in body["fiscal_year"][0] or "2000" in body["fiscal_year"][0]
    english = api_client(language="en").get(URL).json()
    assert english["fiscal_year"] == ["Give the fiscal year, e.g. 2020."]


@pytest.fixture
def public(cases, monkeypatch) -> Cases:
    """The same cases, seen once their fiscal year is over (public)."""
    monkeypatch.setattr(selectors, "current_fiscal_year", lambda: cases.year + 1)
    set_goals(cases.year)
    return cases


def assert_no_personal_data(text: str, cases: Cases) -> None:
    for secret in cases.personal_data:
        assert secret not in text, secret


def test_public_files_round_trip_without_personal_data(public):
    year = public.year
    anonymous = api_client()
    body = anonymous.get(URL, {"fiscal_year": year})
    assert body.status_code == 200 and body.json()["closed"] is True
    assert_no_personal_data(body.content.decode(), public)

    # CSV: open data, one row per program and indicator, then the total.
    response = anonymous.get(URL, {"fiscal_year": year, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="metas-y-resultados-{year}.csv"'
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert list(rows[0]) == [
        "fiscal_year", "table", "program", "program_name", "indicator", "indicator_name", "unit", "achieved",
        "target", "percent",
    ]  # fmt: skip
    assert len(rows) == 12 + 12 + 15  # 12 program indicators per program, and the 3 agency ones in the total
    by_key = {(r["table"], r["program"], r["indicator"]): r for r in rows}
    assert by_key["program", "PROLECHE", "initiatives_closed"] | {} == {
        "fiscal_year": str(year), "table": "program", "program": "PROLECHE", "program_name": "Fondo PROLECHE",
        "indicator": "initiatives_closed", "indicator_name": "Iniciativas cerradas", "unit": "count",
        "achieved": "1", "target": "4", "percent": "25.0",
    }  # fmt: skip
    assert by_key["program", "PROMYPE", "amount_paid"]["achieved"] == "35000.50"
    assert by_key["total", "", "amount_paid"]["achieved"] == "135000.50"
    assert by_key["total", "", "amount_paid"]["percent"] == "67.5"
    assert by_key["total", "", "units_renewed"]["achieved"] == "1"
    assert by_key["total", "", "initiatives_closed"]["target"] == ""
    assert_no_personal_data(text, public)

    # XLSX: the same figures, numbers as numbers.
    response = anonymous.get(URL, {"fiscal_year": year, "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="metas-y-resultados-{year}.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == f"Metas y resultados — gestión {year}"
    labelled = {}
    program = None
    for row in values[5:]:
        program = row[0] or program
        labelled[program, row[1]] = row[2:]
    assert labelled["PROLECHE", "Iniciativas cerradas"] == [4, 1, 25.0]
    assert labelled["PROLECHE", "Iniciativas aprobadas"] == [16, 1, 6.3]
    assert labelled["TOTAL", "Pagado a beneficiarios (Bs)"] == [200000, 135000.5, 67.5]
    assert labelled["TOTAL", "Unidades productivas registradas"] == [3, 2, 66.7]
    assert labelled["PROMYPE", "Transferencias entregadas"] == [None, 1, None]
    flat = "\n".join(str(v) for row in values for v in row if v is not None)
    assert_no_personal_data(flat, public)

    # PDF
    response = anonymous.get(URL, {"fiscal_year": year, "format": "pdf"})
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = pdf_text(response.content)
    for expected in (
        "Metas y resultados",
        "PROLECHE",
        "Iniciativas cerradas",
        "135.000,50",
        "67,5 %",
        "gina 1 de 2",
    ):
        assert expected in text, expected
    assert_no_personal_data(text, public)


# --- Web -------------------------------------------------------------------------------------------------


def web(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_public_page_without_links_to_cases_or_personal_data(public):
    response = web().get(PAGE, {"fiscal_year": public.year})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Metas y resultados — gestión {public.year}" in html
    for text in ("Fondo PROLECHE", "Iniciativas cerradas", "25,0 %", "6,3 %", "Bs 135.000,50", "66,7 %"):
        assert text in html, text
    assert "Meta: 4 cierres de iniciativas productivas" in html
    for href in (
        f"/reports/{public.year}/metas-y-resultados.xlsx",
        f"/reports/{public.year}/metas-y-resultados.pdf",
        f"/reports/{public.year}/metas-y-resultados.csv",
        f"/api/v1/reports/attainment/?fiscal_year={public.year}",
    ):
        assert f'href="{href}"' in html, href
    assert f"/reports/{public.year}/metas/" not in html  # no drill-down for the public
    assert public.closed.code not in html
    assert_no_personal_data(html, public)
    # The files of the page, for the public
    csv_file = web().get(f"/reports/{public.year}/metas-y-resultados.csv")
    assert csv_file.status_code == 200 and b"initiatives_closed" in csv_file.content
    # The budget page links here (and back).
    budget = web().get("/reports/", {"fiscal_year": public.year}).content.decode()
    assert f'href="/reports/metas/?fiscal_year={public.year}"' in budget


def test_year_in_progress_page_is_for_staff(cases):
    year = cases.year
    anonymous = web().get(PAGE, {"fiscal_year": year})
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert web(cases.world.applicant).get(PAGE, {"fiscal_year": year}).status_code == 404
    assert web(cases.world.applicant).get(f"/reports/{year}/metas-y-resultados.pdf").status_code == 404
    assert web().get(PAGE, {"fiscal_year": "1999"}).status_code == 400


def test_staff_follow_each_count_to_its_cases(cases):
    control = cases.world.staff["control1"]
    html = web(control).get(PAGE, {"fiscal_year": cases.year}).content.decode()
    link = f"/reports/{cases.year}/metas/PROLECHE/initiatives_closed/"
    assert f'href="{link}"' in html
    assert f'href="/reports/{cases.year}/metas/total/amount_paid/"' in html
    assert "/metas/total/units_registered/" not in html  # units are not cases

    page = web(control).get(link)
    assert page.status_code == 200
    body = page.content.decode()
    assert f'href="/initiatives/{cases.closed.pk}/"' in body and cases.closed.code in body
    assert f'href="/audit/case/{cases.closed.code}/"' in body  # internal control: the trail too
    assert "Conciliado" in body

    paid = web(cases.world.staff["finanzas1"]).get(f"/reports/{cases.year}/metas/total/amount_paid/")
    body = paid.content.decode()
    assert f'href="/transfers/{cases.money.pk}/"' in body and "135.000,50" in body
    assert "/audit/case/" not in body  # finance reads the cases, not the trail
    assets = web(control).get(f"/reports/{cases.year}/metas/PROLECHE/assets_delivered/").content.decode()
    assert f'href="/transfers/{cases.in_kind.pk}/"' in assets

    assert web(cases.world.applicant).get(link).status_code == 404
    assert web(cases.world.staff["evaluador1"]).get(link).status_code == 404
    assert web().get(link).status_code == 302
    assert web(control).get(f"/reports/{cases.year}/metas/NOPE/initiatives_closed/").status_code == 404
    assert web(control).get(f"/reports/{cases.year}/metas/total/units_registered/").status_code == 404
