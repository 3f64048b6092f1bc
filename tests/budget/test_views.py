"""The budget pages (``/budget/``): who sees them, what they show, and that every form goes through
the one service (money moved, movement and audit entry written) or changes nothing."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client

from audit.actions import AuditAction as A
from budget.models import BudgetLine, BudgetMovement
from cases.roles import Role
from registry.services import today
from tests.factories import BudgetLineFactory, ProgramFactory, UnitFactory, UserFactory
from tests.registry.conftest import actions

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(user)
    return client


@pytest.fixture
def line():
    return BudgetLineFactory(fiscal_year=today().year, amount_in_force=Decimal("10000.00"))


@pytest.fixture
def finance():
    return UserFactory(roles=[Role.FINANCE])


def test_applicant_and_anonymous_never_see_the_budget(line):
    applicant = UserFactory(roles=[Role.APPLICANT], unit=UnitFactory())
    assert browser(applicant).get("/budget/").status_code == 404
    assert browser(applicant).get(f"/budget/lines/{line.pk}/").status_code == 404
    assert Client().get("/budget/").status_code == 302  # to the login page


def test_overview_lists_the_year_with_figures_and_reconciliation(line, finance):
    other_year = BudgetLineFactory(fiscal_year=today().year - 1, amount_in_force=Decimal("777.00"))
    page = browser(finance).get("/budget/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/budget/lines/{line.pk}/" in html
    assert f"/budget/lines/{other_year.pk}/" not in html
    assert "10.000,00" in html
    assert "Todas las partidas cuadran" in html
    assert "Abrir una partida presupuestaria" in html  # finance may open lines
    past = browser(finance).get(f"/budget/?fiscal_year={today().year - 1}").content.decode()
    assert f"/budget/lines/{other_year.pk}/" in past and "777,00" in past


def test_a_line_that_does_not_match_its_movements_is_flagged(line, finance):
    # A figure changed behind the services' back (e.g. directly in the database).
    BudgetLine.objects.filter(pk=line.pk).update(reserved=Decimal("5.00"))
    assert "Algunas partidas no cuadran" in browser(finance).get("/budget/").content.decode()
    detail = browser(finance).get(f"/budget/lines/{line.pk}/").content.decode()
    assert "no coinciden con el libro de movimientos" in detail  # the figures (Cifras) do not


def test_director_reads_but_gets_no_forms(line):
    director = UserFactory(roles=[Role.DIRECTOR])
    html = browser(director).get(f"/budget/lines/{line.pk}/").content.decode()
    assert "Asignación" in html  # the opening movement
    assert "Registrar el gasto" not in html and "Guardar la modificación" not in html
    before = BudgetMovement.objects.count()
    post = browser(director).post(
        f"/budget/lines/{line.pk}/expenditures/",
        {"amount": "100", "date": today().isoformat(), "description": "x"},
    )
    assert post.status_code == 403
    assert BudgetMovement.objects.count() == before


def test_expenditure_moves_money_and_is_audited(line, finance, new_audit):
    client = browser(finance)  # (its login is audited too)
    new_audit()
    response = client.post(
        f"/budget/lines/{line.pk}/expenditures/",
        {"amount": "1.500,50", "date": today().isoformat(), "description": "Sueldos de noviembre"},
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert line.executed == Decimal("1500.50")
    assert line.available == Decimal("8499.50")
    assert actions(new_audit()) == [A.BUDGET_EXPENDITURE]
    movement = BudgetMovement.objects.filter(line=line, kind=BudgetMovement.Kind.EXPENDITURE).get()
    assert (movement.amount, movement.description, movement.actor) == (
        Decimal("1500.50"),
        "Sueldos de noviembre",
        finance,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "20.000,00"}, "disponible"),  # more than is available
        ({"amount": "abc"}, "Escriba el monto en bolivianos"),
        ({"date": (dt.date(today().year - 1, 6, 1)).isoformat()}, "gestión"),
        ({"description": ""}, "Este campo es requerido"),
    ],
)
def test_bad_expenditure_changes_nothing(line, finance, new_audit, data, message):
    client = browser(finance)
    new_audit()
    form = {"amount": "100", "date": today().isoformat(), "description": "Servicios", **data}
    response = client.post(f"/budget/lines/{line.pk}/expenditures/", form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert "no se guardó nada" in response.content.decode()
    line.refresh_from_db()
    assert (line.executed, line.available) == (Decimal("0.00"), Decimal("10000.00"))
    assert new_audit() == []


def test_modify_amount_in_force_never_below_what_is_used(line, finance, new_audit):
    client = browser(finance)
    new_audit()
    client.post(
        f"/budget/lines/{line.pk}/expenditures/",
        {"amount": "4000", "date": today().isoformat(), "description": "Sueldos"},
    )
    refused = client.post(
        f"/budget/lines/{line.pk}/modify/", {"amount_in_force": "3.999,99", "reason": "Recorte"}
    )
    assert refused.status_code == 400
    assert "no puede ser menor" in refused.content.decode()
    line.refresh_from_db()
    assert line.amount_in_force == Decimal("10000.00")
    done = client.post(
        f"/budget/lines/{line.pk}/modify/", {"amount_in_force": "4.000,00", "reason": "Resolución 12/2026"}
    )
    assert done.status_code == 302
    line.refresh_from_db()
    assert (line.amount_in_force, line.available) == (Decimal("4000.00"), Decimal("0.00"))
    assert actions(new_audit()) == [A.BUDGET_EXPENDITURE, A.BUDGET_LINE_MODIFIED]


def test_open_a_line_and_refuse_a_duplicate(finance, new_audit):
    program = ProgramFactory(code="PROLECHE")
    BudgetLineFactory(fiscal_year=2027, program=program, amount_in_force=Decimal("1.00"))
    source = BudgetLine.objects.get(fiscal_year=2027).source
    client = browser(finance)
    new_audit()
    form = {"fiscal_year": "2028", "program": "PROLECHE", "source": source.code, "amount_in_force": "250.000"}
    created = client.post("/budget/lines/new/", form)
    assert created.status_code == 302
    new_line = BudgetLine.objects.get(fiscal_year=2028)
    assert created["Location"] == f"/budget/lines/{new_line.pk}/"
    assert new_line.amount_in_force == Decimal("250000.00")
    assert actions(new_audit()) == [A.BUDGET_LINE_CREATED]
    duplicate = client.post("/budget/lines/new/", {**form, "fiscal_year": "2027"})
    assert duplicate.status_code == 400
    assert "ya existe" in duplicate.content.decode().lower()
    assert BudgetLine.objects.filter(fiscal_year=2027).count() == 1
    assert new_audit() == []


def test_program_scope_hides_other_programs_lines(line, finance):
    from budget import services

    scoped = UserFactory(roles=[Role.FINANCE])
    mine = BudgetLineFactory(fiscal_year=today().year)
    services.grant_program_scope(scoped, mine.program, actor=UserFactory(roles=[Role.ADMIN]))
    html = browser(scoped).get("/budget/").content.decode()
    assert f"/budget/lines/{mine.pk}/" in html
    assert f"/budget/lines/{line.pk}/" not in html
    assert browser(scoped).get(f"/budget/lines/{line.pk}/").status_code == 404


def test_the_pages_take_and_show_the_sigep_fields_and_the_c31(finance):
    from budget import services

    program = ProgramFactory(code="PROMYPE")
    jiwasa = services.create_subprogram(actor=finance, program=program, code="JIWASA", name="Promype/Jiwasa")
    source = BudgetLineFactory(fiscal_year=2027, program=program).source
    client = browser(finance)
    form = {
        "fiscal_year": str(today().year),
        "program": "PROMYPE",
        "source": source.code,
        "amount_in_force": "1.000",
        "subprogram": str(jiwasa.pk),
        "da_ue": "01-05",
        "activity": "001",
        "funder": "cosude",
        "object_of_expenditure": "40000",
    }
    created = client.post("/budget/lines/new/", form)
    assert created.status_code == 302, created.content.decode()
    line = BudgetLine.objects.get(fiscal_year=today().year)
    assert (line.subprogram, line.funder, line.object_of_expenditure) == (jiwasa, "COSUDE", "40000")
    overview = client.get("/budget/").content.decode()
    assert "PROMYPE / JIWASA" in overview and "40000" in overview and "COSUDE" in overview
    # A sub-program of another program: refused on the field, nothing opened.
    other = services.create_subprogram(
        actor=finance, program=ProgramFactory(code="CETIP"), code="TEXTIL", name="Textil"
    )
    refused = client.post("/budget/lines/new/", {**form, "subprogram": str(other.pk), "activity": "002"})
    assert refused.status_code == 400 and "CETIP" not in BudgetLine.objects.values_list(
        "program__code", flat=True
    )
    assert BudgetLine.objects.filter(fiscal_year=today().year).count() == 1

    spent = client.post(
        f"/budget/lines/{line.pk}/expenditures/",
        {"amount": "100", "date": today().isoformat(), "description": "Taller", "c31_reference": "0457"},
    )
    assert spent.status_code == 302
    assert BudgetMovement.objects.get(line=line, kind=BudgetMovement.Kind.EXPENDITURE).c31_reference == "0457"
    detail = client.get(f"/budget/lines/{line.pk}/").content.decode()
    assert "0457" in detail and "Promype/Jiwasa" in detail and "01-05" in detail


def test_overview_charts_the_stages_and_executed_against_in_force(line, finance):
    from budget import services as budget

    class Ref:
        case_code = "TRF-2026-000099"

    system = UserFactory(roles=[Role.FINANCE])
    budget.reserve(line, Decimal("5000.00"), actor=system, case=Ref())
    budget.commit(line, Decimal("4000.00"), actor=system, case=Ref())
    budget.execute(line, Decimal("3000.00"), actor=system, case=Ref())
    budget.pay(line, Decimal("2000.00"), actor=system, case=Ref())
    html = browser(finance).get("/budget/").content.decode()
    stages = html[
        html.index('class="chart chart-stages"') : html.index("</figure>", html.index("chart-stages"))
    ]
    # 10.000 in force: paid 2.000, executed not paid 1.000, committed 1.000 (4.000 less the 3.000
    # executed), reserved 1.000 (5.000 less the 4.000 committed), available 5.000.
    assert 'Pagado: <strong>Bs 2.000,00</strong> <span class="chart-pct">(20,0 %)</span>' in stages
    assert (
        'Ejecutado, aún no pagado: <strong>Bs 1.000,00</strong> <span class="chart-pct">(10,0 %)</span>'
        in stages
    )
    assert 'Comprometido: <strong>Bs 1.000,00</strong> <span class="chart-pct">(10,0 %)</span>' in stages
    assert (
        'Reservado (certificado): <strong>Bs 1.000,00</strong> <span class="chart-pct">(10,0 %)</span>'
        in stages
    )
    assert 'Disponible: <strong>Bs 5.000,00</strong> <span class="chart-pct">(50,0 %)</span>' in stages
    assert re.search(r'<rect x="50\.00" y="0" width="50\.00" height="10" class="stage-available"/>', stages)
    assert html.count('class="chart chart-compare"') == 2  # by program, by source
    assert "Bs 3.000,00 ejecutado de Bs 10.000,00 · <strong>30,0 %</strong>" in html
