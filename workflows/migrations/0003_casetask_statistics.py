"""Extended planner statistics on the inbox columns (PostgreSQL only; nothing on SQLite).

A task's step decides its role and its scope flags, so the planner must not multiply their
selectivities as if independent: with these dependency statistics the filtered queues ("Disponibles"
filtered by step and department) walk ``casetask_step_due_idx`` in due order and stop after a
page, instead of sorting thousands of rows (bench/inbox_bench.py, queue-filtered: 853 instead of
13,553 buffers). Takes effect at the next ANALYZE of the table (autovacuum does it).
"""

from django.db import migrations

CREATE = (
    "CREATE STATISTICS IF NOT EXISTS casetask_step_stats (dependencies, ndistinct) "
    "ON step, role, scope_department, scope_program, department_id FROM workflows_casetask"
)
DROP = "DROP STATISTICS IF EXISTS casetask_step_stats"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("workflows", "0002_inbox_indexes")]

    operations = [migrations.RunPython(create, drop)]
