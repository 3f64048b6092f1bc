"""Database triggers the apps install themselves (audit's protection, budget's ledger stamps): which
of them are in place and enabled."""

from __future__ import annotations

from collections.abc import Iterable


def enabled_triggers(connection, names: Iterable[str]) -> set[str]:
    """Those of ``names`` that exist (on PostgreSQL: and fire ALWAYS, also in replica mode)."""
    names = list(names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger "
                "WHERE NOT tgisinternal AND tgenabled = 'A' AND tgname = ANY(%s)",
                [names],
            )
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in cursor.fetchall()} & set(names)
