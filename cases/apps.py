from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = _("Case kernel")

    def ready(self) -> None:
        # The worker marks an outbox row done when its job succeeds (Celery's task_success signal).
        from . import outbox  # noqa: F401
