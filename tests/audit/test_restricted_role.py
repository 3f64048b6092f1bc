# ruff: noqa: S608  (raw SQL as the restricted role by design; table and column names are constants)
"""The production set-up of docs/AUDIT.md: the application connects as a role granted only SELECT and
INSERT on the audit tables (migrations run as the owner). That role cannot UPDATE, DELETE or
TRUNCATE them, nor lift the triggers, nor switch them off with session_replication_role."""

import secrets
from contextlib import contextmanager

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, ProgrammingError, connection, connections, transaction

import audit
from audit.actions import AuditAction
from audit.models import AuditEntry, Checkpoint
from audit.verification import verify_database

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
def app_role_name():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    role = f"expediente_app_test_{secrets.token_hex(4)}"
    db = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS")
        cursor.execute(GRANTS.format(db=db, role=role))
    try:
        yield role
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


@pytest.fixture
def app_role(app_role_name):
    s = connection.settings_dict
    return f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} dbname={s['NAME']} user={app_role_name}"


@contextmanager
def django_connected_as(role: str):
    """The application's own default connection, opened as ``role`` (as web servers, workers and beat
    connect in production), for the code under test; the owner's connection is put back after."""
    owner = connections[DEFAULT_DB_ALIAS]
    restricted = type(owner)({**owner.settings_dict, "USER": role, "PASSWORD": ""}, DEFAULT_DB_ALIAS)
    connections[DEFAULT_DB_ALIAS] = restricted
    try:
        yield restricted
    finally:
        restricted.close()
        connections[DEFAULT_DB_ALIAS] = owner


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


def test_the_application_appends_through_audit_record_as_the_app_role(app_role_name):
    """The real path, not hand-written SQL: Django connected as the SELECT+INSERT role writes entries
    with ``audit.record`` inside business transactions and signs a checkpoint, while the same
    connection is refused UPDATE, DELETE, TRUNCATE and switching the triggers off."""
    from audit import checkpoints
    from registry.models import User

    fill(2)
    user = User.objects.create(username="ana", first_name="Ana", last_name="Pérez")  # as the owner
    with django_connected_as(app_role_name) as app:
        with app.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone() == (app_role_name,)
        with transaction.atomic():
            first = audit.record(AuditAction.LOGIN, actor=user, subject=user, data={"username": "ana"})
            second = audit.record(AuditAction.BUDGET_PAID, actor=user, data={"amount": "10.00"})
        third = audit.record(AuditAction.LOGOUT, actor=user, subject=user)  # its own transaction
        assert (first.seq, second.seq, third.seq) == (3, 4, 5)
        assert second.prev_hash == first.hash and third.prev_hash == second.hash
        signed = checkpoints.sign_checkpoint()
        assert (signed.seq, signed.head) == (5, third.hash)
        for statement in (
            "UPDATE audit_auditentry SET actor_label = 'x' WHERE seq = 3",
            "DELETE FROM audit_auditentry WHERE seq = 5",
            "TRUNCATE audit_auditentry",
            "UPDATE audit_checkpoint SET head = 'x'",
            "DELETE FROM audit_checkpoint",
            "ALTER TABLE audit_auditentry DISABLE TRIGGER ALL",
            "SET session_replication_role = replica",
        ):
            with pytest.raises(ProgrammingError) as exc, app.cursor() as cursor:
                cursor.execute(statement)
            assert isinstance(exc.value.__cause__, psycopg.errors.InsufficientPrivilege), statement
        assert AuditEntry.objects.count() == 5  # read through the app role's connection
    assert (
        list(AuditEntry.objects.filter(seq__gte=3).values_list("actor_label", flat=True))
        == ["ana (Ana Pérez)"] * 3
    )
    assert Checkpoint.objects.get().seq == 5
    assert verify_database().valid
