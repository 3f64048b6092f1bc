"""Database-level protection of the audit tables: triggers that refuse UPDATE, DELETE and TRUNCATE.

The triggers stop the application (and anyone connected as a role that is not the tables' owner or a
superuser). A database owner can still disable them; what such a person does is caught by the hash
chain and by the signed checkpoints kept outside the database (see docs/AUDIT.md). In production the
application also connects as a role granted only SELECT and INSERT on these tables.

Migration ``0003_append_only_triggers`` installs them; ``ensure_triggers`` (run after every
``migrate``) re-creates any that are missing, e.g. after SQLite rebuilt a table to alter it (a rebuild
drops the old table's triggers).
"""

from __future__ import annotations

from cases.triggers import enabled_triggers

PROTECTED_TABLES = ("audit_auditentry", "audit_checkpoint")
PG_FUNCTION = "audit_refuse_change"
MESSAGE = "the audit trail is append-only"

PG_CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
"""


def trigger_names(table: str, vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [f"{table}_no_update_delete", f"{table}_no_truncate"]
    return [f"{table}_no_update", f"{table}_no_delete"]


def create_sql(table: str, vendor: str) -> list[str]:
    """Statements that install the triggers of ``table`` (idempotent)."""
    if vendor == "postgresql":
        row, stmt = trigger_names(table, vendor)
        return [
            PG_CREATE_FUNCTION,
            f"CREATE OR REPLACE TRIGGER {row} BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}()",
            f"CREATE OR REPLACE TRIGGER {stmt} BEFORE TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()",
            # ALWAYS: they also fire under session_replication_role = replica.
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {row}",
            f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {stmt}",
        ]
    if vendor == "sqlite":
        upd, dele = trigger_names(table, vendor)
        return [
            f"CREATE TRIGGER IF NOT EXISTS {upd} BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
            f"CREATE TRIGGER IF NOT EXISTS {dele} BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        ]
    return []


def drop_sql(table: str, vendor: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {name} ON {table}"
        if vendor == "postgresql"
        else f"DROP TRIGGER IF EXISTS {name}"
        for name in trigger_names(table, vendor)
    ]


def missing_triggers(connection) -> list[str]:
    """Names of protection triggers that are absent or not enabled."""
    vendor = connection.vendor
    expected = {name: table for table in PROTECTED_TABLES for name in trigger_names(table, vendor)}
    if not expected or vendor not in {"postgresql", "sqlite"}:
        return []
    return sorted(set(expected) - enabled_triggers(connection, expected))


def ensure_triggers(connection) -> list[str]:
    """(Re)install missing triggers on the existing audit tables; returns the names installed."""
    missing = missing_triggers(connection)
    if not missing:
        return []
    existing = set(connection.introspection.table_names())
    installed = []
    with connection.cursor() as cursor:
        for table in PROTECTED_TABLES:
            names = [n for n in trigger_names(table, connection.vendor) if n in missing]
            if table in existing and names:
                for sql in create_sql(table, connection.vendor):
                    cursor.execute(sql)
                installed.extend(names)
    return installed
