"""The agency's whole seed year, fixture-free: fiscal year 2020 built through the services only
(``year_2020.build``: no fixtures, no factories, no ``seed_demo``), then every figure of the seed
report's two budget tables (section V: by funding source to the centavo, by program six rows in whole
bolivianos and percentages) and of its goals table (section IV) read back through the selectors, the
public API and ``manage.py budget_execution`` — the published figures read from the report's text
(the parsers of ``test_seed_2020.py``), not retyped.

Where the 2020 execution comes from (each line's execution is the seed's split of the printed figures,
``seed_demo.LINES_2020``; the cases are designed to add up to it, the rest is operating expenditure
recorded with ``budget.services.record_expenditure`` on 31/12/2020):

=====================  =========================================================  ==================
line                   cases (paid through their flows)                           operating (rest)
=====================  =========================================================  ==================
PROLECHE 42            ``INITIATIVES_CLOSED`` initiatives x Bs 150.000 (3 tranches  the rest: the
27.944.338,86          paid, closed) + 5 transfers in kind (3 cooling tanks, Bs     Fund's administra-
                       115.501,50 each) + the "precio justo" compensation: 6        tion and promotion
                       agreements with dairy companies (Bs 0,40/l, July-October,
                       ceiling Bs 1.500.000), 24 monthly settlements of 937.500 l
                       declared, verified and paid (``year_2020.compensation``)
PROMYPE/JIWASA 44      5 transfers in money to MYPEs x Bs 76.235,00 = 381.175,00   none
PROMYPE/JIWASA 80      8 transfers in kind (machines, Bs 120.000 each)             103.948,69
PROMYPE/FASE2 80       4 transfers in money to MYPEs x Bs 150.000                  393.441,69
CETIP 10 and 11        none: the report says the CETIPs delivered no service       all of it
                       (section IV 4.3, every goal 0 %)
REGISTRO 11            none (registration is a service, not a payment)             all of it
PROBOLIVIA 10          none (the agency's administration)                          all of it
=====================  =========================================================  ==================

Goals (section IV): the 20 goals with a figure are progress entered by hand with their evidence (a
PDF quoting the report's line), as the report's year predates the system — including the two registry
goals (1.327 new units, 1.458 renewals): one registration through the flow costs ~0,3-0,5 s on SQLite,
so 2.785 of them would take 15-20 minutes. What the cases of the build do give is checked as computed
figures of the same report (initiatives closed, transfers closed, assets delivered, amount paid, units
registered and renewed): they equal the cases built. The report's "93 cierres de iniciativas" (4.1 e)
is not built at full size either: an initiative through its 19 tasks costs 1,4-4 s on SQLite (93: 2-6
minutes); ``INITIATIVES_CLOSED`` of them are. Timings: docs/REPORTS.md.

Slow (about 2-3 minutes on SQLite): ``pytest -m slow tests/reports/test_year_proof.py``.
"""

from __future__ import annotations

import io
import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import translation

from budget.models import BudgetMovement
from budget.selectors import ledger_mismatches
from cases.templatetags.expediente_tags import money
from iniciativas.models import Tranche
from reports.selectors import attainment, budget_execution

from . import year_2020 as Y
from .conftest import api_client
from .test_seed_2020 import (
    PRINTED_PROGRAMS,
    SEED,
    SourceRow,
    published_by_program,
    published_by_source,
    published_summary,
)
from .test_seed_poa_2020 import SEED_GOALS

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
D = Decimal


@pytest.fixture(scope="module")
def year(module_db) -> Y.Year:
    """The year, built once for the module through the services (see ``module_db``)."""
    with module_db():
        built = Y.build()
    print("\nyear 2020 built in", {k: round(v, 1) for k, v in built.timings.items()})
    return built


@pytest.fixture(scope="module")
def text() -> str:
    return SEED.read_text(encoding="utf-8")


def whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- budget: the two tables of section V ---------------------------------------------------------------


def test_by_source_equals_the_published_table_to_the_centavo(year, text):
    report = budget_execution(2020)
    assert report.ledger_reconciles and ledger_mismatches() == []
    published, published_total = published_by_source(text)
    with translation.override("es"):
        ours = [
            SourceRow(r.name.replace(" ", ""), money(r.in_force), money(r.executed), money(r.balance))
            for r in report.by_source
        ]
        total = SourceRow(
            "TOTAL", money(report.total.in_force), money(report.total.executed), money(report.total.balance)
        )
        assert ours == published
        assert total == published_total
        in_force, executed, pct, balance = published_summary(text)
        assert (total.in_force, total.executed, total.balance) == (in_force, executed, balance)
    assert f"{report.total.percent}".replace(".", ",") == pct


def test_by_program_equals_the_published_table_six_rows(year, text):
    report = budget_execution(2020)
    published, published_total = published_by_program(text)
    ours = {(p.code, s.code if s else None): s or p for p, s in report.published_rows}
    assert set(ours) == set(PRINTED_PROGRAMS.values())
    for row in published:
        mine = ours[PRINTED_PROGRAMS[row.name]]
        assert (whole(mine.in_force), whole(mine.executed), whole(mine.balance), whole(mine.percent)) == (
            row.in_force,
            row.executed,
            row.balance,
            row.percent,
        ), row.name
    t = report.total
    assert (whole(t.in_force), whole(t.executed), whole(t.balance), whole(t.percent)) == (
        published_total.in_force,
        published_total.executed,
        published_total.balance,
        published_total.percent,
    )
    promype = next(r for r in report.by_program if r.code == "PROMYPE")  # the sub-programs roll up
    assert [s.code for s in promype.subprograms] == ["FASE2", "JIWASA"]
    assert sum(s.executed for s in promype.subprograms) == promype.executed
    assert sum(s.in_force for s in promype.subprograms) == promype.in_force


def test_the_public_api_and_the_command_read_the_same_figures(year, text):
    _rows, published_total = published_by_source(text)
    body = api_client().get("/api/v1/reports/budget-execution/", {"fiscal_year": 2020}).json()
    out = io.StringIO()
    call_command("budget_execution", "--fiscal-year", "2020", "--format", "json", stdout=out)
    command = json.loads(out.getvalue())
    for figures in (body["total"], command["total"]):
        with translation.override("es"):
            assert money(D(figures["executed"])) == published_total.executed
            assert money(D(figures["in_force"])) == published_total.in_force
    assert command["by_source"] == body["by_source"] and command["by_program"] == body["by_program"]
    # The public page (a closed year: no sign-in) shows every published row's figures.
    page = Client(HTTP_ACCEPT_LANGUAGE="es").get("/reports/", {"fiscal_year": 2020})
    assert page.status_code == 200
    html = page.content.decode()
    for row in [*_rows, published_total]:
        assert row.in_force in html and row.executed in html and row.balance in html, row


def case_and_operating(line) -> tuple[Decimal, Decimal, set[str]]:
    """What a line executed through cases (execution movements naming a case) and as operating
    expenditure, and the case codes."""
    moves = list(BudgetMovement.objects.filter(line=line))
    cases = sum((m.amount for m in moves if m.kind == BudgetMovement.Kind.EXECUTE), D("0.00"))
    refunds = sum((m.amount for m in moves if m.kind == BudgetMovement.Kind.REFUND), D("0.00"))
    spent = sum((m.amount for m in moves if m.kind == BudgetMovement.Kind.EXPENDITURE), D("0.00"))
    codes = {m.case_code for m in moves if m.kind == BudgetMovement.Kind.EXECUTE}
    assert "" not in codes, "an execution without its case"
    return cases - refunds, spent, codes


def test_each_line_executes_its_cases_and_the_rest_is_operating(year):
    for key, line in year.lines.items():
        line.refresh_from_db()
        cases, spent, _codes = case_and_operating(line)
        assert cases + spent == line.executed, key
        assert spent == year.operating[key], key
    jiwasa_44 = case_and_operating(year.lines[("PROMYPE", "JIWASA", "44")])
    assert jiwasa_44[1] == 0 and jiwasa_44[0] == sum(Y.JIWASA_44_MONEY)  # every centavo paid to MYPEs
    assert jiwasa_44[2] == {t.code for t in year.transfers["jiwasa_money"]}
    for key in (
        ("CETIP", None, "10"),
        ("CETIP", None, "11"),
        ("REGISTRO", None, "11"),
        ("PROBOLIVIA", None, "10"),
    ):
        assert case_and_operating(year.lines[key])[0] == 0, key  # no case pays these programs


def test_proleche_pays_its_cases(year):
    line = year.lines[("PROLECHE", None, "42")]
    cases, _spent, codes = case_and_operating(line)
    tranches = Tranche.objects.filter(initiative__in=year.initiatives, state="paid")
    assert tranches.count() == 3 * Y.INITIATIVES_CLOSED
    paid_tranches = sum((t.amount for t in tranches), D("0.00"))
    assert paid_tranches == Y.INITIATIVES_CLOSED * Y.INITIATIVE_AMOUNT
    in_kind = sum((t.grant_amount for t in year.transfers["proleche_in_kind"]), D("0.00"))
    assert in_kind == Y.PROLECHE_IN_KIND * 3 * D(Y.TANK["unit_value"])
    # The "precio justo" price compensation: six agreements, each paid whole in four monthly settlements.
    settlements = [type(s).objects.get(pk=s.pk) for s in year.settlements]
    assert len(settlements) == len(Y.PRECIO_JUSTO) * len(Y.COMPENSATION_MONTHS)
    assert {(s.state, s.amount) for s in settlements} == {("paid", Y.LITRES_A_MONTH * Y.COMPENSATION_RATE)}
    compensation = sum((s.amount for s in settlements), D("0.00"))
    assert compensation == sum(Y.PRECIO_JUSTO)
    assert {a.unit.kind for a in year.agreements} == {"dairy_company"}
    assert cases == paid_tranches + in_kind + compensation
    # Every execution names its case: a tranche its initiative, a delivery its transfer, a settlement's
    # payment the agreement whose committed ceiling it executes.
    cases_codes = (
        {i.code for i in year.initiatives}
        | {t.code for t in year.transfers["proleche_in_kind"]}
        | {a.code for a in year.agreements}
    )
    assert codes == cases_codes


def test_promype_pays_its_cases_by_sub_program(year):
    jiwasa_80, _spent, codes = case_and_operating(year.lines[("PROMYPE", "JIWASA", "80")])
    assert codes == {t.code for t in year.transfers["jiwasa_in_kind"]}
    assert jiwasa_80 == sum((t.grant_amount for t in year.transfers["jiwasa_in_kind"]), D("0.00"))
    fase2, _spent, codes = case_and_operating(year.lines[("PROMYPE", "FASE2", "80")])
    assert codes == {t.code for t in year.transfers["fase2_money"]}
    assert fase2 == sum(Y.FASE2_MONEY)


# --- goals: section IV, and what the cases give --------------------------------------------------------


def test_the_goals_table_reproduces_section_iv(year, text):
    with translation.override("es"):
        report = attainment(2020)
        table = {g.code: [(x.indicator, x.text) for x in g.goals] for g in report.by_program if g.goals}
    assert table == SEED_GOALS
    page = Client(HTTP_ACCEPT_LANGUAGE="es").get("/reports/metas/", {"fiscal_year": 2020}).content.decode()
    for goals in SEED_GOALS.values():
        for indicator, attained in goals:
            assert indicator in page and attained in page
    flat = " ".join(text.split())
    registro = next(g for g in report.by_program if g.code == "REGISTRO")
    new, renewed = registro.goals
    # 4.4 a / b as printed: "1.500 Mypes nuevas registradas" … "1327 nuevos registros"
    assert f"{new.target:,.0f}".replace(",", ".") + " Mypes nuevas registradas" in flat
    assert f"{new.result:.0f} nuevos registros" in flat
    assert f"{renewed.target:.0f} unidades Productivas renovadas" in flat
    assert f"{renewed.result:.0f} unidades productivas renovadas" in flat


def test_the_case_figures_of_the_year_are_the_cases_built(year):
    report = attainment(2020)
    by = {g.code: {r.indicator: r.achieved for r in g.rows} for g in report.by_program}
    total = {r.indicator: r.achieved for r in report.total.rows}
    assert by["PROLECHE"]["initiatives_closed"] == Y.INITIATIVES_CLOSED == len(year.initiatives)
    assert by["PROLECHE"]["assets_delivered"] == Y.PROLECHE_IN_KIND * 3
    assert by["PROMYPE"]["assets_delivered"] == Y.JIWASA_80_IN_KIND * 6
    transfers = sum(len(v) for v in year.transfers.values())
    assert total["transfers_closed"] == total["transfers_delivered"] == transfers
    money_paid = (
        Y.INITIATIVES_CLOSED * Y.INITIATIVE_AMOUNT
        + sum(Y.PRECIO_JUSTO)
        + sum(Y.JIWASA_44_MONEY)
        + sum(Y.FASE2_MONEY)
    )
    assert total["amount_paid"] == money_paid  # in kind is not money paid
    assert total["units_registered"] == Y.NEW_REGISTRATIONS
    assert total["units_renewed"] == len(Y.OLD_UNITS)
