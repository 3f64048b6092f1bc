"""The inbox's planner statistics on the one task table, and the index of a heavy "Mis tareas".

- ``casetask_step_stats`` (migration 0003) lived on ``workflows_casetask`` and went with that table
  when the tasks moved to ``workflows_task`` (0006/0007): re-created here on the new table, so the
  filtered queues walk ``casetask_step_due_idx`` again (bench/inbox_bench.py, queue-filtered).
- ``casetask_owner_stats``: a task's owner, status, role and openness are not independent (whoever
  holds a task holds it ASSIGNED, open, in its role); without them the planner estimated 201 rows
  for an evaluator holding 30,000 tasks and sorted them all (258 ms); with them and
  ``casetask_owner_due_idx`` it walks the owner's open tasks in due order and stops after a page
  (0.4 ms; bench/inbox_bench.py, inbox-heavy).

Statistics are PostgreSQL only (nothing on SQLite) and take effect at the next ANALYZE of the table
(autovacuum does it).
"""

from django.db import migrations, models

STATISTICS = {
    "casetask_step_stats": (
        "(dependencies, ndistinct) ON step, role, scope_department, scope_program, department_id"
    ),
    "casetask_owner_stats": "(dependencies, mcv) ON owner_id, status, role, is_open",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, spec in STATISTICS.items():
            schema_editor.execute(f"CREATE STATISTICS IF NOT EXISTS {name} {spec} FROM workflows_task")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in STATISTICS:
            schema_editor.execute(f"DROP STATISTICS IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("workflows", "0007_drop_old_task_tables")]

    operations = [
        migrations.AddIndex(
            model_name="casetask",
            index=models.Index(fields=["owner", "is_open", "due_at"], name="casetask_owner_due_idx"),
        ),
        migrations.RunPython(create, drop),
    ]
