from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_triggers(sender, using="default", plan=None, **kwargs):
    """After ``migrate``: put back any protection trigger that is missing (SQLite drops a table's
    triggers when it rebuilds the table to alter it)."""
    from django.db import connections
    from django.db.migrations.recorder import MigrationRecorder

    from .db import ensure_triggers

    connection = connections[using]
    applied = MigrationRecorder(connection).applied_migrations()
    if ("audit", "0003_append_only_triggers") in applied:
        ensure_triggers(connection)


def _require_signing_key_in_production() -> None:
    """Production refuses to start without a usable audit signing key (the checkpoints that make the
    trail verifiable by outsiders are signed with it); development generates one on first use."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    if not getattr(settings, "PRODUCTION", False):
        return
    from .keys import signing_key

    try:
        signing_key(generate=False)
    except (ImproperlyConfigured, OSError) as exc:
        raise ImproperlyConfigured(
            "EXPEDIENTE_ENV=production refuses to start without a usable audit signing key "
            f"(AUDIT_SIGNING_KEY or AUDIT_SIGNING_KEY_FILE): {exc}"
        ) from exc


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = _("Audit trail")

    def ready(self):
        from . import rules, signals  # noqa: F401  (rules registers the permission predicates)

        signals.connect()
        _require_signing_key_in_production()
        post_migrate.connect(_ensure_triggers, sender=self, dispatch_uid="audit_ensure_triggers")
