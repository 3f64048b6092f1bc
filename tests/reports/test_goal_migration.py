"""``reports.0003_poa_goals``: every goal of the fixed indicators becomes a goal computed from that
indicator, with the indicator's label (as the Spanish report printed it) as its text and a unit; the
attainment report's indicator rows keep their targets."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from reports.selectors import attainment

OLD = [("reports", "0002_ledger_snapshot")]
NEW = [("reports", "0003_poa_goals")]


@pytest.mark.django_db(transaction=True)
def test_old_goals_become_computed_goals():
    executor = MigrationExecutor(connection)
    leaf = executor.loader.graph.leaf_nodes("reports")
    try:
        executor.migrate(OLD)
        old = executor.loader.project_state(OLD).apps
        program = old.get_model("budget", "Program").objects.create(code="PROLECHE", name="Fondo PROLECHE")
        goal_model = old.get_model("reports", "Goal")
        goal_model.objects.create(
            fiscal_year=2020,
            program=program,
            indicator="initiatives_closed",
            target=93,
            description="93 cierres",
        )
        goal_model.objects.create(fiscal_year=2020, program=None, indicator="units_registered", target=1500)
        goal_model.objects.create(
            fiscal_year=2020, program=None, indicator="amount_paid", target=Decimal("10.50")
        )

        executor = MigrationExecutor(connection)
        executor.migrate(NEW)
        new = executor.loader.project_state(NEW).apps.get_model("reports", "Goal")
        migrated = {
            g.computed_from: (g.indicator, g.unit, g.target, g.baseline, g.description)
            for g in new.objects.all()
        }
        assert migrated == {
            "initiatives_closed": ("Iniciativas cerradas", "iniciativas", Decimal(93), None, "93 cierres"),
            "units_registered": (
                "Unidades productivas registradas", "unidades productivas", Decimal(1500), None, ""
            ),
            "amount_paid": ("Pagado a beneficiarios (Bs)", "Bs", Decimal("10.50"), None, ""),
        }  # fmt: skip
        executor = MigrationExecutor(connection)
        executor.migrate(leaf)
        report = attainment(2020)
        assert report.total.row("units_registered").target == Decimal("1500.00")
        assert report.by_program[0].row("initiatives_closed").target == Decimal("93.00")
        assert report.by_program[0].row("initiatives_closed").goal == "93 cierres"
        with translation.override("es"):
            texts = [(g.computed_from, g.text) for g in report.total.goals]
        assert texts == [("units_registered", "0 de 1.500 — 0,0 %"), ("amount_paid", "0,00 de 10,50 — 0,0 %")]
    finally:
        MigrationExecutor(connection).migrate(leaf)
