"""The goals report reaches the cases only through the case-kind registry (``cases.kinds``,
``cases.metrics``): figures of several kinds for one indicator add up, their drill-down lines merge,
and the engine apps never import a case app."""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from cases import kinds
from cases.metrics import CaseLine, FiscalYear, Metric, Scope
from cases.roles import Role
from reports.checks import check_kind_metrics
from reports.selectors import attainment, attainment_cases, is_drillable
from tests.factories import ProgramFactory, UserFactory

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
ENGINE_APPS = ("cases", "audit", "approvals", "workflows", "budget", "reports")
CASE_APPS = {"iniciativas", "transfers", "registrations"}


def fake_kind(*metrics: Metric) -> kinds.CaseKind:
    return kinds.CaseKind(
        code="zz_fake", label="Fake", model="reports.Goal", code_prefix="ZZ", metrics=metrics
    )


def test_every_registered_metric_gives_a_program_indicator():
    assert check_kind_metrics() == []
    given = {i for kind in kinds.all_kinds() for m in kind.metrics for i in m.indicators}
    assert given == {
        "initiatives_submitted", "initiatives_approved", "initiatives_closed", "initiatives_rejected",
        "transfers_requested", "transfers_delivered", "transfers_closed", "assets_delivered", "amount_paid",
        "beneficiaries", "beneficiaries_women", "beneficiaries_men",
    }  # fmt: skip
    assert not is_drillable("units_registered") and not is_drillable("nope")


def test_a_misspelt_indicator_is_a_system_error(monkeypatch):
    metric = Metric(indicators=("amount_payed",), figures=lambda year: {}, lines=lambda *args: [])
    monkeypatch.setitem(kinds._KINDS, "zz_fake", fake_kind(metric))
    [error] = check_kind_metrics()
    assert error.id == "reports.E001" and "amount_payed" in error.msg


@pytest.mark.django_db
def test_the_figures_of_several_kinds_add_up_and_their_lines_merge(monkeypatch):
    year = 2020
    ProgramFactory(code="PROLECHE", name="Fondo PROLECHE")
    seen: list[tuple[str, FiscalYear, Scope]] = []

    def lines(indicator: str, fiscal_year: FiscalYear, scope: Scope) -> list[CaseLine]:
        seen.append((indicator, fiscal_year, scope))
        return [
            CaseLine("zz_fake", 1, "ZZ-2020-000001", dt.date(2020, 1, 2), "-", "PROLECHE", "LPZ", D("0.50"))
        ]

    metric = Metric(
        indicators=("amount_paid", "initiatives_closed"),
        figures=lambda fiscal_year: {
            "amount_paid": {"PROLECHE": D("1.25")},
            "initiatives_closed": {"PROLECHE": 2},
        },
        lines=lines,
    )
    before = attainment(year).total
    monkeypatch.setitem(kinds._KINDS, "zz_fake", fake_kind(metric))
    report = attainment(year)
    [prol] = report.by_program
    assert prol.row("amount_paid").achieved == D("1.25") and prol.row("initiatives_closed").achieved == 2
    assert report.total.row("amount_paid").achieved == before.row("amount_paid").achieved + D("1.25")
    assert report.total.row("initiatives_closed").achieved == before.row("initiatives_closed").achieved + 2

    finance = UserFactory(roles=[Role.FINANCE])
    found = attainment_cases(finance, year, "amount_paid", "PROLECHE")
    assert [line.code for line in found] == ["ZZ-2020-000001"]
    [(indicator, fiscal_year, scope)] = seen
    assert indicator == "amount_paid" and fiscal_year == FiscalYear(2020)
    assert scope == Scope(program_ids=None, program="PROLECHE")
    assert fiscal_year.start.isoformat() == "2020-01-01T00:00:00-04:00"


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("app", ENGINE_APPS)
def test_engine_apps_never_import_a_case_app(app):
    offending = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / app).rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in CASE_APPS
    }
    assert not offending
