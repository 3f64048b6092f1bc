from django.apps import AppConfig


class BareflowConfig(AppConfig):
    """A bare viewflow 2.4 flow for ``bench/decisions.py`` (installed only by ``bench.settings``). It
    has no models of its own: its processes and tasks are viewflow's default ``Process``/``Task``."""

    name = "bench.bareflow"
    label = "bareflow"
    default_auto_field = "django.db.models.BigAutoField"
