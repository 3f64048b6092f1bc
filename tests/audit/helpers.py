# ruff: noqa: S608  (raw SQL is what a database owner would run; table and column names are constants)
"""Helpers of the audit tests: fill a trail, tamper with it in raw SQL (triggers lifted the way a
database owner would), export it."""

from __future__ import annotations

from contextlib import contextmanager

from django.db import connection, transaction

import audit
from audit import db
from audit.actions import AuditAction
from audit.chain import entry_body
from audit.models import AuditEntry
from audit.verifier import entry_hash


def fill(n: int, *, actor=None, case: str = "INI-2026-000001") -> list[AuditEntry]:
    """Append ``n`` entries (each in its own transaction); returns them."""
    entries = []
    for i in range(n):
        with transaction.atomic():
            entries.append(
                audit.record(
                    AuditAction.BUDGET_RESERVED,
                    actor=actor,
                    case=case,
                    data={"amount": f"{1500 + i}.00", "line": i, "comment": f"Certificación {i}"},
                )
            )
    return entries


def sql(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        try:
            return cursor.fetchall()
        except Exception:
            return None


@contextmanager
def triggers_lifted(*tables: str):
    """What a database owner can do: lift the protection triggers, then put them back."""
    tables = tables or db.PROTECTED_TABLES
    vendor = connection.vendor
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # Run the deferred FK checks of the test's open transaction now (ALTER TABLE refuses
            # to run while trigger events are pending).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for table in tables:
            if vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            else:
                for statement in db.drop_sql(table, vendor):
                    cursor.execute(statement)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in tables:
                if vendor == "postgresql":
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")
                for statement in db.create_sql(table, vendor):
                    cursor.execute(statement)


def renumber_after(seq: int, delta: int) -> None:
    """Shift every entry after ``seq`` by ``delta`` (two steps, so the primary key never collides)."""
    sql("UPDATE audit_auditentry SET seq = -seq WHERE seq > %s", [seq])
    sql("UPDATE audit_auditentry SET seq = -seq + %s WHERE seq < 0", [delta])


def forged_entry_values(seq: int, prev_hash: str, *, actor_id=None, data=None) -> dict:
    """Column values of a forged entry whose own hash is computed correctly."""
    from django.utils import timezone

    entry = AuditEntry(
        seq=seq,
        version=1,
        at=timezone.now(),
        actor_id=actor_id,
        actor_label="intruso",
        action=AuditAction.BUDGET_PAID.value,
        subject_type="",
        subject_id="",
        subject_label="",
        case="INI-2026-000001",
        data=data or {"amount": "99999.00"},
        request_id="",
        ip="",
        prev_hash=prev_hash,
    )
    entry.hash = entry_hash(prev_hash, entry_body(entry))
    return {
        "seq": entry.seq,
        "version": 1,
        "at": entry.at,
        "actor_id": actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "subject_type": "",
        "subject_id": "",
        "subject_label": "",
        "case": entry.case,
        "data": entry.data,
        "request_id": "",
        "ip": "",
        "prev_hash": prev_hash,
        "hash": entry.hash,
    }


def insert_raw(values: dict) -> None:
    """INSERT a row directly (no ``audit.record``): what a database owner could do."""
    import json

    columns = list(values)
    params = [json.dumps(v) if k == "data" else v for k, v in values.items()]
    quoted = ", ".join(f'"{c}"' for c in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    sql(f"INSERT INTO audit_auditentry ({quoted}) VALUES ({placeholders})", params)


def export_lines() -> list[bytes]:
    import io

    from audit.verification import verify_database

    buffer = io.BytesIO()
    verify_database(export=buffer)
    return buffer.getvalue().splitlines(keepends=True)
