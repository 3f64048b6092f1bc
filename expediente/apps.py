from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_cache_table(sender, using="default", **kwargs):
    """After ``migrate``: the database cache's table (``CACHE_URL=dbcache://…``, the default), so that
    no deployment step can forget it. Does nothing for other cache backends or when it exists."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class ExpedienteConfig(AppConfig):
    name = "expediente"
    verbose_name = "Expediente"

    def ready(self):
        post_migrate.connect(_ensure_cache_table, sender=self, dispatch_uid="expediente_cache_table")
        from django.utils.translation import gettext_lazy as _

        from audit import actions

        from . import caselist, importing

        # The site's jobs (cases.jobs), in the web and in the worker: the case list's export, imports.
        caselist.register_jobs()
        importing.register_jobs()
        actions.register([("import.completed", _("Rows imported from a file"))])
