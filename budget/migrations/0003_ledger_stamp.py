"""Ledger stamps: a counter per budget line that the database bumps on every write to the line's
movements (triggers), so a reader can keep sums of a ledger and know when they stop being true.

The SQL is written out here (not imported) so this migration keeps doing what it did when it was
written; ``budget.db`` holds the same statements for the post-migrate safety net.
"""

import django.db.models.deletion
from django.db import migrations, models

PG = [
    """
CREATE OR REPLACE FUNCTION budget_ledger_stamp_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE budget_ledgerstamp SET version = version + 1 WHERE line_id = OLD.line_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.line_id IS DISTINCT FROM OLD.line_id) THEN
        UPDATE budget_ledgerstamp SET version = version + 1 WHERE line_id = NEW.line_id;
    END IF;
    RETURN NULL;
END;
$$;
""",
    """
CREATE OR REPLACE FUNCTION budget_ledger_stamp_bump_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE budget_ledgerstamp SET version = version + 1;
    RETURN NULL;
END;
$$;
""",
    """
CREATE OR REPLACE FUNCTION budget_ledger_stamp_new_line() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO budget_ledgerstamp (line_id, version) VALUES (NEW.id, 0) ON CONFLICT (line_id) DO NOTHING;
    RETURN NULL;
END;
$$;
""",
    "CREATE OR REPLACE TRIGGER budget_budgetmovement_stamp AFTER INSERT OR UPDATE OR DELETE "
    "ON budget_budgetmovement FOR EACH ROW EXECUTE FUNCTION budget_ledger_stamp_bump()",
    "CREATE OR REPLACE TRIGGER budget_budgetmovement_stamp_truncate AFTER TRUNCATE "
    "ON budget_budgetmovement FOR EACH STATEMENT EXECUTE FUNCTION budget_ledger_stamp_bump_all()",
    "CREATE OR REPLACE TRIGGER budget_budgetline_stamp AFTER INSERT "
    "ON budget_budgetline FOR EACH ROW EXECUTE FUNCTION budget_ledger_stamp_new_line()",
    # ALWAYS: they also fire under session_replication_role = replica.
    "ALTER TABLE budget_budgetmovement ENABLE ALWAYS TRIGGER budget_budgetmovement_stamp",
    "ALTER TABLE budget_budgetmovement ENABLE ALWAYS TRIGGER budget_budgetmovement_stamp_truncate",
    "ALTER TABLE budget_budgetline ENABLE ALWAYS TRIGGER budget_budgetline_stamp",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS budget_budgetmovement_stamp ON budget_budgetmovement",
    "DROP TRIGGER IF EXISTS budget_budgetmovement_stamp_truncate ON budget_budgetmovement",
    "DROP TRIGGER IF EXISTS budget_budgetline_stamp ON budget_budgetline",
    "DROP FUNCTION IF EXISTS budget_ledger_stamp_bump()",
    "DROP FUNCTION IF EXISTS budget_ledger_stamp_bump_all()",
    "DROP FUNCTION IF EXISTS budget_ledger_stamp_new_line()",
]
SQLITE = [
    "CREATE TRIGGER IF NOT EXISTS budget_budgetmovement_stamp_insert AFTER INSERT ON budget_budgetmovement "
    "BEGIN UPDATE budget_ledgerstamp SET version = version + 1 WHERE line_id = NEW.line_id; END",
    "CREATE TRIGGER IF NOT EXISTS budget_budgetmovement_stamp_update AFTER UPDATE ON budget_budgetmovement "
    "BEGIN UPDATE budget_ledgerstamp SET version = version + 1 WHERE line_id IN (OLD.line_id, NEW.line_id); END",
    "CREATE TRIGGER IF NOT EXISTS budget_budgetmovement_stamp_delete AFTER DELETE ON budget_budgetmovement "
    "BEGIN UPDATE budget_ledgerstamp SET version = version + 1 WHERE line_id = OLD.line_id; END",
    "CREATE TRIGGER IF NOT EXISTS budget_budgetline_stamp AFTER INSERT ON budget_budgetline "
    "BEGIN INSERT OR IGNORE INTO budget_ledgerstamp (line_id, version) VALUES (NEW.id, 0); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS budget_budgetmovement_stamp_insert",
    "DROP TRIGGER IF EXISTS budget_budgetmovement_stamp_update",
    "DROP TRIGGER IF EXISTS budget_budgetmovement_stamp_delete",
    "DROP TRIGGER IF EXISTS budget_budgetline_stamp",
]


def forwards(apps, schema_editor):
    # Every existing line gets its stamp; nothing has been computed from the ledgers yet.
    schema_editor.execute(
        "INSERT INTO budget_ledgerstamp (line_id, version) SELECT id, 0 FROM budget_budgetline", None
    )
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": PG, "sqlite": SQLITE}.get(vendor, []):
        schema_editor.execute(sql, None)  # None: no placeholder parsing
    if vendor == "postgresql":
        # Statistics from the start: with none, the planner takes the small table for 1,850 rows, prices
        # the report's ledger sums (one subquery per line and kind) far too high and JIT-compiles them,
        # which cost 350 ms of the 600 ms of a live report at 1,000,000 movements (bench/report_bench.py).
        # Autovacuum keeps them up to date afterwards (the stamps change with every movement).
        schema_editor.execute("ANALYZE budget_ledgerstamp", None)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"postgresql": PG_DROP, "sqlite": SQLITE_DROP}.get(vendor, []):
        schema_editor.execute(sql, None)


class Migration(migrations.Migration):

    dependencies = [
        ('budget', '0002_line_total_rounded_to_the_cent'),
    ]

    operations = [
        migrations.CreateModel(
            name='LedgerStamp',
            fields=[
                ('line', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='ledger_stamp', serialize=False, to='budget.budgetline', verbose_name='budget line')),
                ('version', models.PositiveBigIntegerField(default=0, verbose_name='version')),
            ],
            options={
                'verbose_name': 'ledger stamp',
                'verbose_name_plural': 'ledger stamps',
            },
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
