"""Test support: let the test runner's ``flush`` empty the audit tables.

Transactional tests (``django_db(transaction=True)``) end with ``manage.py flush``, which TRUNCATEs
(PostgreSQL) or DELETEs (SQLite) every table -- exactly what the audit triggers refuse. Inside
``flushable_audit_tables()`` the flush of a *test* database lifts the triggers of the audit tables for
its own transaction and puts them back before committing. Nothing else is changed; production code
never imports this module.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.db.backends.base.operations import BaseDatabaseOperations

from . import db


def _wrap(sql_list: list[str], connection) -> list[str]:
    if not any(table in sql for sql in sql_list for table in db.PROTECTED_TABLES):
        return sql_list
    name = str(connection.settings_dict.get("NAME") or "")
    test_name = str((connection.settings_dict.get("TEST") or {}).get("NAME") or "")
    if not (name.startswith("test_") or "memory" in name or (test_name and name == test_name)):
        return sql_list  # never for a real database
    vendor = connection.vendor
    before: list[str] = []
    after: list[str] = []
    for table in db.PROTECTED_TABLES:
        if vendor == "postgresql":
            before.append(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            after.extend(
                f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}"
                for name in db.trigger_names(table, vendor)
            )
        else:
            before.extend(db.drop_sql(table, vendor))
            after.extend(db.create_sql(table, vendor))
    return before + list(sql_list) + after


@contextmanager
def flushable_audit_tables():
    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        return original(self, _wrap(list(sql_list), self.connection))

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush
    try:
        yield
    finally:
        BaseDatabaseOperations.execute_sql_flush = original
