from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IniciativasConfig(AppConfig):
    name = "iniciativas"
    verbose_name = _("Productive initiatives")

    def ready(self):
        from . import rules, steps  # noqa: F401  (register permission rules and step handlers)
