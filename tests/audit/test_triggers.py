# ruff: noqa: S608  (raw SQL against the protected tables by design; table and column names are constants)
"""The database itself refuses UPDATE, DELETE and (PostgreSQL) TRUNCATE on the audit tables."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from audit import checkpoints, db
from audit.models import AuditEntry

from .helpers import fill, sql, triggers_lifted

pytestmark = pytest.mark.django_db


def _refused(statement: str) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql(statement)


@pytest.mark.parametrize("table", db.PROTECTED_TABLES)
def test_raw_update_and_delete_are_refused(table):
    fill(3)
    checkpoints.sign_checkpoint()
    key = "seq" if table == "audit_auditentry" else "id"
    _refused(f"UPDATE {table} SET seq = seq + 100")
    _refused(
        f"UPDATE {table} SET head = 'x' WHERE {key} > 0"
        if table == "audit_checkpoint"
        else f"UPDATE {table} SET actor_label = 'x' WHERE seq = 2"
    )
    _refused(f"DELETE FROM {table} WHERE {key} > 0")
    _refused(f"DELETE FROM {table}")
    assert sql(f"SELECT COUNT(*) FROM {table}")[0][0] == (3 if table == "audit_auditentry" else 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # committed rows: TRUNCATE meets the trigger itself
@pytest.mark.parametrize("table", db.PROTECTED_TABLES)
def test_truncate_is_refused_on_postgresql(table):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    fill(2)
    checkpoints.sign_checkpoint()
    _refused(f"TRUNCATE {table}")
    _refused(f"TRUNCATE {table} CASCADE")
    _refused("TRUNCATE audit_auditentry, audit_checkpoint")
    assert AuditEntry.objects.count() == 2


@pytest.mark.postgres
def test_replica_mode_does_not_silence_the_triggers():
    """The triggers are ENABLE ALWAYS: even a superuser's session_replication_role = replica (the
    usual way to skip triggers) still meets them. Only ALTER TABLE ... DISABLE TRIGGER (owner) does."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    fill(2)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("SET LOCAL session_replication_role = replica")
        sql("UPDATE audit_auditentry SET actor_label = 'x' WHERE seq = 1")


def test_tampering_by_an_owner_who_lifted_the_triggers_is_still_caught():
    fill(5)
    checkpoints.sign_checkpoint()
    call_command("audit_verify")  # intact: no error
    with triggers_lifted("audit_auditentry"):
        sql("""UPDATE audit_auditentry SET data = '{"amount": "1.00"}' WHERE seq = 3""")
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert exc.value.returncode == 1
    assert "first bad entry seq 3" in str(exc.value)


def test_missing_triggers_are_reported_and_restored():
    fill(1)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in db.drop_sql("audit_auditentry", connection.vendor):
            cursor.execute(statement)
    assert set(db.missing_triggers(connection)) == set(
        db.trigger_names("audit_auditentry", connection.vendor)
    )
    from audit.verification import verify_and_describe

    assert any("trigger" in w for w in verify_and_describe()["warnings"])
    db.ensure_triggers(connection)
    assert db.missing_triggers(connection) == []
    _refused("DELETE FROM audit_auditentry")
