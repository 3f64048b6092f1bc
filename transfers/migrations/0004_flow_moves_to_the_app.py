"""The transfer flow moved from ``workflows/transfer_flow.py`` to ``transfers/flow.py`` (a case type
keeps its flow in its own app: docs/ARCHITECTURE.md). viewflow stores the flow's path in every process
row and every task row's node reference: rewrite them, both ways."""

from django.db import migrations
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

OLD = "workflows/transfer_flow.TransferFlow"
NEW = "transfers/flow.TransferFlow"


def rename(old: str, new: str):
    def run(apps, schema_editor):
        Process = apps.get_model("viewflow", "Process")
        Task = apps.get_model("viewflow", "Task")
        Process.objects.filter(flow_class=old).update(flow_class=new)
        Task.objects.filter(flow_task__startswith=f"{old}.").update(
            flow_task=Concat(Value(new), Substr(F("flow_task"), len(old) + 1))
        )

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("transfers", "0003_document"),
        ("workflows", "0005_step_and_kind_choices_from_registry"),
        ("viewflow", "0015_task_scheduled"),
    ]
    operations = [migrations.RunPython(rename(OLD, NEW), rename(NEW, OLD))]
