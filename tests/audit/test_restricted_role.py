# ruff: noqa: S608  (raw SQL as the restricted role by design; table and column names are constants)
"""The production set-up of docs/AUDIT.md: the application connects as a role granted only SELECT and
INSERT on the audit tables (migrations run as the owner). That role cannot UPDATE, DELETE or
TRUNCATE them, nor lift the triggers, nor switch them off with session_replication_role."""

import secrets

import psycopg
import pytest
from django.db import connection

from audit.models import AuditEntry, Checkpoint

from .helpers import fill, forged_entry_values

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The exact statements docs/AUDIT.md gives for production (role and database names substituted).
GRANTS = """
GRANT CONNECT ON DATABASE {db} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_auditentry, audit_checkpoint FROM {role};
"""


@pytest.fixture
def app_role():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    role = f"expediente_app_test_{secrets.token_hex(4)}"
    db = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")
        cursor.execute(GRANTS.format(db=db, role=role))
    s = connection.settings_dict
    conninfo = f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} dbname={db} user={role}"
    try:
        yield conninfo
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


def attempt(conninfo: str, statement: str, params=None) -> psycopg.Error | None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        try:
            conn.execute(statement, params)
        except psycopg.Error as exc:
            return exc
    return None


REFUSED = [
    "UPDATE audit_auditentry SET actor_label = 'x' WHERE seq = 1",
    "DELETE FROM audit_auditentry WHERE seq = 2",
    "DELETE FROM audit_auditentry",
    "TRUNCATE audit_auditentry",
    "TRUNCATE audit_checkpoint",
    "UPDATE audit_checkpoint SET head = 'x'",
    "DELETE FROM audit_checkpoint",
    "ALTER TABLE audit_auditentry DISABLE TRIGGER ALL",
    "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_no_update_delete",
    "DROP TRIGGER audit_auditentry_no_update_delete ON audit_auditentry",
    "SET session_replication_role = replica",
    "SELECT set_config('session_replication_role', 'replica', false)",
    "DROP TABLE audit_auditentry",
]


def test_app_role_is_refused(app_role):
    from audit import checkpoints

    fill(3)
    checkpoints.sign_checkpoint()
    outcomes = {statement: attempt(app_role, statement) for statement in REFUSED}
    allowed = {s: e for s, e in outcomes.items() if not isinstance(e, psycopg.errors.InsufficientPrivilege)}
    assert not allowed, allowed
    assert AuditEntry.objects.count() == 3
    assert Checkpoint.objects.count() == 1


def test_app_role_can_read_and_append(app_role):
    """What the application needs still works: SELECT, the advisory lock, INSERT of the next entry and
    of a checkpoint (identity column)."""
    import json

    fill(2)
    head = AuditEntry.objects.get(seq=2)
    values = forged_entry_values(3, head.hash)
    values["data"] = json.dumps(values["data"])
    columns = ", ".join(f'"{c}"' for c in values)
    placeholders = ", ".join(["%s"] * len(values))
    with psycopg.connect(app_role) as conn:
        assert conn.execute("SELECT COUNT(*) FROM audit_auditentry").fetchone() == (2,)
        conn.execute("SELECT pg_advisory_xact_lock(1163415620)")
        conn.execute(
            f"INSERT INTO audit_auditentry ({columns}) VALUES ({placeholders})", list(values.values())
        )
        conn.execute(
            "INSERT INTO audit_checkpoint (seq, head, signed_at, origin, key_id, public_key, signature) "
            "VALUES (3, %s, now(), 'o', 'k', 'p', 's')",
            [values["hash"]],
        )
    assert AuditEntry.objects.count() == 3
    assert Checkpoint.objects.count() == 1
