"""The old process and task tables (multi-table children of viewflow's) go, now empty (0006 copied
their rows into ``workflows_process`` and ``workflows_task``)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("workflows", "0006_tasks_in_one_table")]

    operations = [
        migrations.DeleteModel(name="LegacyCaseTask"),
        migrations.DeleteModel(name="LegacyCaseProcess"),
    ]
