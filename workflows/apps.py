from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


def _sync_open_flag(sender, instance, **kwargs):
    """viewflow sometimes saves a task through the base ``Task`` model (``Flow.cancel`` iterates
    ``process.task_set``); keep ``CaseTask.is_open`` equal to what the status says."""
    from .models import CLOSED_STATUSES, CaseTask

    if isinstance(instance, CaseTask):
        return  # CaseTask.save already derived it
    CaseTask.objects.filter(task_ptr_id=instance.pk).update(is_open=instance.status not in CLOSED_STATUSES)


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = _("Workflows")

    def ready(self):
        from viewflow.workflow.models import Task

        post_save.connect(_sync_open_flag, sender=Task, dispatch_uid="workflows_sync_open_flag")
