"""After ``seed_demo`` the 2020 report equals the tables of the seed report (section V of
``/work/shared/seed/rendicion-publica-de-cuentas-2020.txt``), computed from the ledger only."""

import io
import os
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command
from django.utils import translation

from budget.models import BudgetMovement
from budget.selectors import ledger_mismatches
from cases.templatetags.expediente_tags import money
from reports.selectors import budget_execution

from .conftest import api_client

pytestmark = pytest.mark.django_db

# "Descripción Fuente / Presupuesto Vigente / Ejecución Presupuestaria / Saldo Deveng." (to the cent)
SEED_BY_SOURCE = [
    ("10", "1.037.603,00", "987.934,29", "49.668,71"),
    ("11", "1.056.556,00", "706.536,17", "350.019,83"),
    ("42", "43.264.037,00", "27.944.338,86", "15.319.698,14"),
    ("44", "381.175,00", "381.175,00", "0,00"),
    ("80", "15.209.898,00", "2.057.390,38", "13.152.507,62"),
]
SEED_TOTAL = ("60.949.269,00", "32.077.374,70", "28.871.894,30")

# "POR PROGRAMA" (whole bolivianos; Promype/Jiwasa + Promype Fase 2 = PROMYPE, whose own rounding
# adds up to 1 boliviano more than the rounded sum)
SEED_BY_PROGRAM = {
    "PROBOLIVIA": (977603, 941163, 36440, 96),
    "CETIP": (792071, 487826, 304245, 62),
    "REGISTRO": (324485, 265481, 59004, 82),
    "PROLECHE": (43264037, 27944339, 15319698, 65),
    "PROMYPE": (1445501 + 14145572, 1445124 + 993442, 377 + 13152130, None),
}


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115


def whole(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_2020_report_equals_the_seed_tables(seeded):
    report = budget_execution(2020)
    assert report.ledger_reconciles and ledger_mismatches() == []
    with translation.override("es"):
        by_source = [
            (r.code, money(r.in_force), money(r.executed), money(r.balance)) for r in report.by_source
        ]
        total = (money(report.total.in_force), money(report.total.executed), money(report.total.balance))
    assert by_source == SEED_BY_SOURCE
    assert total == SEED_TOTAL
    assert report.total.percent == Decimal("52.6")  # "alcanzando una ejecución presupuestaria de 52,6%"

    programs = {r.code: r for r in report.by_program}
    assert set(programs) == set(SEED_BY_PROGRAM)
    for code, (in_force, executed, balance, pct) in SEED_BY_PROGRAM.items():
        row = programs[code]
        assert whole(row.in_force) == in_force, code
        assert abs(whole(row.executed) - executed) <= (1 if code == "PROMYPE" else 0), code
        assert abs(whole(row.balance) - balance) <= (1 if code == "PROMYPE" else 0), code
        if pct is not None:
            assert whole(row.percent) == pct, code
    assert whole(report.total.executed) == 32077375 and whole(report.total.percent) == 53  # "Total … 53"


def test_2020_through_the_public_api(seeded):
    body = api_client().get("/api/v1/reports/budget-execution/", {"fiscal_year": 2020}).json()
    assert body["total"] == {
        "in_force": "60949269.00",
        "executed": "32077374.70",
        "balance": "28871894.30",
        "percent": "52.6",
    }
    assert [s["source"] for s in body["by_source"]] == ["10", "11", "42", "44", "80"]


def test_the_2020_execution_is_seeded_once_through_the_ledger(seeded):
    expenditures = BudgetMovement.objects.filter(line__fiscal_year=2020, kind=BudgetMovement.Kind.EXPENDITURE)
    assert expenditures.count() == 7
    assert {m.date.isoformat() for m in expenditures} == {"2020-12-31"}
    assert {m.actor.username for m in expenditures} == {"system"}
    before = BudgetMovement.objects.count()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert BudgetMovement.objects.count() == before
    assert "nothing to do" in out.getvalue()
