from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_defaults(sender, using="default", **kwargs):
    """Put the default policies back in a database emptied by ``flush`` (transactional tests)."""
    from django.apps import apps
    from django.db import DEFAULT_DB_ALIAS, connections

    if using != DEFAULT_DB_ALIAS:
        return
    from .models import ApprovalPolicy

    if ApprovalPolicy._meta.db_table not in connections[using].introspection.table_names():
        return
    from .defaults import load

    load(apps)


# A decision as the trail and the case history read it (what was decided, not the button).
DECISIONS = {
    "approve": _("approved"),
    "observe": _("observed"),
    "reject": _("rejected"),
    "expire": _("deadline expired"),
}


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = _("Approvals")

    def ready(self):
        from cases import labels

        from .models import step_choices

        labels.register_values("step", step_choices)
        labels.register_values("decision", DECISIONS)
        post_migrate.connect(_ensure_defaults, sender=self, dispatch_uid="approvals_defaults")
