# ruff: noqa: S608  (SQL built from the constant table and function names below)
"""Database triggers that keep each budget line's ledger stamp (``budget.models.LedgerStamp``).

The stamp of a line counts the writes to its ledger. The database bumps it in the same transaction as
every INSERT, UPDATE or DELETE of one of the line's movements (and, on PostgreSQL, every stamp on a
TRUNCATE of the movements), whoever writes: the services, a data migration, ``bulk_create`` or raw
SQL. A new line gets its stamp (version 0) from a trigger on the lines. Nothing else writes the stamps.

Anything computed from a line's movements and stored with the version it was computed at stays true
while the line's version is unchanged: ``reports`` caches the ledger sums of closed fiscal years this
way (``reports.selectors.budget_execution``). The triggers fire ``ALWAYS`` on PostgreSQL (also under
``session_replication_role = replica``); only the tables' owner can disable them.

Migration ``0003_ledger_stamp`` installs them; ``ensure_triggers`` (run after every ``migrate``)
re-creates any that are missing (SQLite drops a table's triggers when a migration rebuilds the table)
and then bumps every stamp, since movements written while a trigger was missing left no mark.
"""

from __future__ import annotations

from cases.triggers import enabled_triggers

STAMPS = "budget_ledgerstamp"
MOVEMENTS = "budget_budgetmovement"
LINES = "budget_budgetline"

PG_BUMP = "budget_ledger_stamp_bump"
PG_BUMP_ALL = "budget_ledger_stamp_bump_all"
PG_NEW_LINE = "budget_ledger_stamp_new_line"

PG_FUNCTIONS = [
    f"""
CREATE OR REPLACE FUNCTION {PG_BUMP}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE {STAMPS} SET version = version + 1 WHERE line_id = OLD.line_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.line_id IS DISTINCT FROM OLD.line_id) THEN
        UPDATE {STAMPS} SET version = version + 1 WHERE line_id = NEW.line_id;
    END IF;
    RETURN NULL;
END;
$$;
""",
    f"""
CREATE OR REPLACE FUNCTION {PG_BUMP_ALL}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {STAMPS} SET version = version + 1;
    RETURN NULL;
END;
$$;
""",
    f"""
CREATE OR REPLACE FUNCTION {PG_NEW_LINE}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {STAMPS} (line_id, version) VALUES (NEW.id, 0) ON CONFLICT (line_id) DO NOTHING;
    RETURN NULL;
END;
$$;
""",
]

# name -> (table, SQL that creates it)
PG_TRIGGERS = {
    f"{MOVEMENTS}_stamp": (
        MOVEMENTS,
        f"CREATE OR REPLACE TRIGGER {MOVEMENTS}_stamp AFTER INSERT OR UPDATE OR DELETE ON {MOVEMENTS} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_BUMP}()",
    ),
    f"{MOVEMENTS}_stamp_truncate": (
        MOVEMENTS,
        f"CREATE OR REPLACE TRIGGER {MOVEMENTS}_stamp_truncate AFTER TRUNCATE ON {MOVEMENTS} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_BUMP_ALL}()",
    ),
    f"{LINES}_stamp": (
        LINES,
        f"CREATE OR REPLACE TRIGGER {LINES}_stamp AFTER INSERT ON {LINES} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_NEW_LINE}()",
    ),
}

SQLITE_TRIGGERS = {
    f"{MOVEMENTS}_stamp_insert": (
        MOVEMENTS,
        f"CREATE TRIGGER IF NOT EXISTS {MOVEMENTS}_stamp_insert AFTER INSERT ON {MOVEMENTS} BEGIN "
        f"UPDATE {STAMPS} SET version = version + 1 WHERE line_id = NEW.line_id; END",
    ),
    f"{MOVEMENTS}_stamp_update": (
        MOVEMENTS,
        f"CREATE TRIGGER IF NOT EXISTS {MOVEMENTS}_stamp_update AFTER UPDATE ON {MOVEMENTS} BEGIN "
        f"UPDATE {STAMPS} SET version = version + 1 WHERE line_id IN (OLD.line_id, NEW.line_id); END",
    ),
    f"{MOVEMENTS}_stamp_delete": (
        MOVEMENTS,
        f"CREATE TRIGGER IF NOT EXISTS {MOVEMENTS}_stamp_delete AFTER DELETE ON {MOVEMENTS} BEGIN "
        f"UPDATE {STAMPS} SET version = version + 1 WHERE line_id = OLD.line_id; END",
    ),
    f"{LINES}_stamp": (
        LINES,
        f"CREATE TRIGGER IF NOT EXISTS {LINES}_stamp AFTER INSERT ON {LINES} BEGIN "
        f"INSERT OR IGNORE INTO {STAMPS} (line_id, version) VALUES (NEW.id, 0); END",
    ),
}


def triggers(vendor: str) -> dict[str, tuple[str, str]]:
    """``{trigger name: (table, CREATE statement)}`` of ``vendor`` (empty for other databases)."""
    return {"postgresql": PG_TRIGGERS, "sqlite": SQLITE_TRIGGERS}.get(vendor, {})


def create_sql(vendor: str, names=None) -> list[str]:
    """Statements that install the triggers (all, or ``names``); idempotent."""
    chosen = {name: spec for name, spec in triggers(vendor).items() if names is None or name in names}
    if vendor == "postgresql":
        return [
            *PG_FUNCTIONS,
            *(sql for _table, sql in chosen.values()),
            # ALWAYS: they also fire under session_replication_role = replica.
            *(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}" for name, (table, _sql) in chosen.items()),
        ]
    return [sql for _table, sql in chosen.values()]


def drop_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            *(f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, (table, _sql) in PG_TRIGGERS.items()),
            *(f"DROP FUNCTION IF EXISTS {name}()" for name in (PG_BUMP, PG_BUMP_ALL, PG_NEW_LINE)),
        ]
    return [f"DROP TRIGGER IF EXISTS {name}" for name in triggers(vendor)]


def missing_triggers(connection) -> list[str]:
    """Names of stamp triggers that are absent (or, on PostgreSQL, not enabled ALWAYS)."""
    expected = triggers(connection.vendor)
    if not expected:
        return []
    return sorted(set(expected) - enabled_triggers(connection, expected))


def ensure_triggers(connection) -> list[str]:
    """(Re)install missing stamp triggers and, if any was missing, bump every stamp (the movements
    written meanwhile left no mark); returns the names installed."""
    missing = missing_triggers(connection)
    if not missing:
        return []
    existing = set(connection.introspection.table_names())
    if not {STAMPS, MOVEMENTS, LINES} <= existing:
        return []
    with connection.cursor() as cursor:
        for sql in create_sql(connection.vendor, missing):
            cursor.execute(sql)
        cursor.execute(f"UPDATE {STAMPS} SET version = version + 1")
    return missing
