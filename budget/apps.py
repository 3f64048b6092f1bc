from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_triggers(sender, using="default", plan=None, **kwargs):
    """After ``migrate``: put back any ledger-stamp trigger that is missing (SQLite drops a table's
    triggers when it rebuilds the table to alter it)."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from .db import ensure_triggers

    connection = connections[using]
    applied = MigrationRecorder(connection).applied_migrations()
    if ("budget", "0003_ledger_stamp") in applied:
        ensure_triggers(connection)


def _source_names(codes: set) -> dict:
    from .models import FundingSource

    return {
        code: f"{code} {name}"
        for code, name in FundingSource.objects.filter(code__in=[str(c) for c in codes]).values_list(
            "code", "name"
        )
    }


def _register_labels() -> None:
    """How the budget's codes read on pages that do not import it (the audit trail)."""
    from cases import labels

    from .models import BudgetMovement

    labels.register_values("kind", BudgetMovement.Kind.choices, scope="budget")
    labels.register_reference("source", _source_names)


class BudgetConfig(AppConfig):
    name = "budget"
    verbose_name = _("Budget")

    def ready(self):
        from . import (
            imports,  # noqa: F401  (registers its import, cases.imports)
            rules,  # noqa: F401  (registers the permission rules)
        )

        _register_labels()
        post_migrate.connect(_ensure_triggers, sender=self, dispatch_uid="budget_ensure_triggers")
