"""``CaseTask.version``: the optimistic guard of claim, release, decide and reassign (a conditional
UPDATE on status and version, see ``workflows.services.advance_task_version``); and the partial index
of the "Escaladas" inbox tab (open tasks escalated to a role, by due date)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("workflows", "0003_casetask_statistics")]

    operations = [
        migrations.AddField(
            model_name="casetask",
            name="version",
            field=models.PositiveIntegerField(db_default=0, default=0, editable=False, verbose_name="version"),
        ),
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(
                condition=models.Q(("escalated_at__isnull", False), ("is_open", True)),
                fields=["escalation_role", "due_at"],
                name="casetask_escalated_idx",
            ),
        ),
    ]
