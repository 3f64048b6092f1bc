from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Audit actions of the annual plan (POA) beyond ``goal.saved`` / ``goal.deleted`` (audit/actions.py).
GOAL_ACTIONS = (("goal.progress_recorded", _("Goal progress recorded")),)


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = _("Reports")

    def ready(self):
        from audit import actions

        from . import checks, export_jobs, rules  # noqa: F401  (registers the system check and the permission rules)

        actions.register(GOAL_ACTIONS)
        # The reports' files made by a job (cases.jobs), in the web and in the worker.
        export_jobs.register()
