"""The one writer of the audit trail.

``record`` must run inside the business transaction it documents, as its last step: if the change
rolls back, so does the entry, and if the entry cannot be written, the change fails. Appends are
serialised so the chain never forks and its order is commit order:

- PostgreSQL: a transaction-scoped advisory lock taken just before reading the head, held to COMMIT;
- SQLite: every write transaction already holds the database write lock from BEGIN
  (``transaction_mode="IMMEDIATE"``); ``select_for_update`` would silently do nothing there.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from . import actions, context
from .actions import AuditAction
from .models import AuditEntry
from .verifier import FORMAT_VERSION, GENESIS_HASH, MAX_SAFE_INT, canonical_json, entry_hash

# pg_advisory_xact_lock key of the single global chain ("EXPD").
CHAIN_LOCK_KEY = 0x45585044
_HEAD_SQL = "SELECT seq, hash FROM audit_auditentry ORDER BY seq DESC LIMIT 1"


def utc_text(value: dt.datetime) -> str:
    """An aware datetime as the trail writes it: UTC, microseconds, ``Z``
    (``2026-11-25T13:08:00.000123Z``)."""
    if timezone.is_naive(value):
        raise TypeError("naive datetimes are not allowed in the audit trail")
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _check_text(value: str) -> str:
    if "\x00" in value:
        # PostgreSQL cannot store NUL in text or jsonb; refuse it on every database alike.
        raise ValueError("NUL characters are not allowed in the audit trail")
    return value


def to_jsonable(value: Any) -> Any:
    """Convert ``value`` to the JSON subset the trail stores: no floats, money as decimal strings,
    integers within +/-(2**53 - 1) (larger ones must be strings), aware datetimes as UTC."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _check_text(str(value))
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise ValueError("integers beyond 2**53 must be recorded as strings")
        return int(value)
    if isinstance(value, float):
        raise TypeError("floats are not allowed in the audit trail; use Decimal")
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return utc_text(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return to_jsonable(value.pk)
    if isinstance(value, dict):
        return {_check_text(str(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [to_jsonable(v) for v in value]
        return sorted(items, key=canonical_json) if isinstance(value, (set, frozenset)) else items
    raise TypeError(f"cannot record a value of type {type(value).__name__} in the audit trail")


def actor_label(actor) -> str:
    if actor is None:
        return ""
    full = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    label = f"{actor.get_username()} ({full})" if full else actor.get_username()
    return _check_text(label[:200])


def subject_fields(subject) -> dict[str, str]:
    if subject is None:
        return {"subject_type": "", "subject_id": "", "subject_label": ""}
    meta = subject._meta
    return {
        "subject_type": f"{meta.app_label}.{meta.model_name}",
        "subject_id": _check_text(str(subject.pk))[:64],
        "subject_label": _check_text(str(subject))[:300],
    }


def entry_body(entry: AuditEntry) -> dict[str, Any]:
    """The hashed body of a stored entry (same shape as the export)."""
    return {
        "seq": entry.seq,
        "at": utc_text(entry.at),
        "actor": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "subject_label": entry.subject_label,
        "case": entry.case,
        "data": entry.data,
        "request_id": entry.request_id,
        "ip": entry.ip,
    }


def lock_apart() -> bool:
    """Whether the chain lock goes in a statement of its own (PostgreSQL with the driver binding
    parameters on the server, which takes one statement per call): one round trip more per write."""
    return connection.vendor == "postgresql" and bool(
        connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
    )


def _lock_and_read_head() -> tuple[int, str] | None:
    """Serialise appenders, then read the committed head ``(seq, hash)``.

    PostgreSQL: the transaction-scoped advisory lock is held until COMMIT, so chain order is commit
    order; the head is read by a *later* statement than the one that waited for the lock (in READ
    COMMITTED each statement sees what committed before it started). Both go in one round trip as a
    two-statement simple query. SQLite: the IMMEDIATE transaction already holds the write lock.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            if lock_apart():
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
                cursor.execute(_HEAD_SQL)
            else:
                cursor.execute(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY:d}); {_HEAD_SQL}")
                cursor.cursor.nextset()
        else:
            cursor.execute(_HEAD_SQL)
        return cursor.fetchone()


def record(
    action: AuditAction | str,
    *,
    actor,
    subject=None,
    data: dict | None = None,
    case: str | None = None,
    actor_label_override: str | None = None,
) -> AuditEntry:
    """Append one entry to the trail, in the caller's transaction (opened here if there is none).

    ``actor`` is required (a user, or ``None`` only for anonymous events such as a failed login).
    ``case`` defaults to the subject's ``case_code`` (``INI-2026-000123``) when the subject is a case.
    """
    action = str(action.value if isinstance(action, AuditAction) else action)
    if not actions.is_known(action):
        raise ValueError(f"{action!r} is not an audit action")
    payload = to_jsonable(data or {})
    if not isinstance(payload, dict):
        raise TypeError("audit data must be a mapping")
    if case is None:
        case = getattr(subject, "case_code", "") or ""
    if actor is not None and not getattr(actor, "pk", None):
        raise ValueError("the actor must be a saved user (or None for anonymous events)")
    entry = AuditEntry(
        version=FORMAT_VERSION,
        actor=actor,
        actor_label=_check_text((actor_label_override or actor_label(actor))[:200]),
        action=action,
        case=_check_text(str(case))[:32],
        data=payload,
        request_id=context.current().request_id,
        ip=context.current().ip,
        **subject_fields(subject),
    )
    data_json = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    # Everything above is prepared before taking the chain lock: while it is held (until COMMIT) only
    # the head is read, the hash computed and one prepared INSERT sent.
    pending = _BATCH.get()
    if pending is not None:
        _chain(entry, _batch_head(pending))
        pending.append((entry, data_json))
    else:
        with transaction.atomic(savepoint=False):
            _append(entry, data_json)
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry


# The head this connection last wrote, ``(seq, hash)``: where its next entry most likely goes.
_LAST_HEAD = "_expediente_audit_head"

# The entries recorded inside ``batch()``, not yet written: ``(entry, its data as JSON)``.
_BATCH: ContextVar[list[tuple[AuditEntry, str]] | None] = ContextVar("expediente_audit_batch", default=None)


# Entries per INSERT of a batch: 15 parameters each stays under SQLite's 32,766 and PostgreSQL's 65,535.
BATCH_ROWS = 1000


@contextmanager
def batch() -> Iterator[None]:
    """Write the entries recorded inside the block together, in ONE statement, when it ends.

    For a unit of work that any error rolls back whole (a task decision: ``cases.tx.whole``),
    which reads nothing back from the trail before it ends. Each entry is chained as it is
    recorded — its ``seq`` and hash are known at once — after the head this connection last wrote;
    the one INSERT checks that head is still the head (as ``_append`` does for one entry) and,
    when it is not, the entries are chained again after the head read under the chain lock. An
    error inside writes nothing. Nested blocks join the outer one."""
    if _BATCH.get() is not None:
        yield
        return
    pending: list[tuple[AuditEntry, str]] = []
    token = _BATCH.set(pending)
    try:
        yield
    finally:
        _BATCH.reset(token)
    if pending:
        with transaction.atomic(savepoint=False):
            _write_batch(pending)


def _batch_head(pending: list[tuple[AuditEntry, str]]) -> tuple[int, str] | None:
    """Where the next entry of a batch most likely goes: after the batch's last, else after the
    head this connection last wrote (none known: a first guess that ``_write_batch`` replaces). No
    lock is taken here: the chain's lock comes when the batch is written, after every other lock
    of the decision (lock order, docs/ARCHITECTURE.md)."""
    if pending:
        last = pending[-1][0]
        return last.seq, last.hash
    return getattr(connection, _LAST_HEAD, None)


def _write_batch(pending: list[tuple[AuditEntry, str]]) -> None:
    # One statement up to BATCH_ROWS entries (a decision's few); a long batch (an import written all
    # or nothing) in statements of BATCH_ROWS: the first is guarded (or takes the lock), and the
    # chain's lock, held to the end of the transaction, covers the rest.
    chunks = [pending[i : i + BATCH_ROWS] for i in range(0, len(pending), BATCH_ROWS)]
    first = pending[0][0]
    after = (first.seq - 1, first.prev_hash) if first.seq > 1 else None
    if after is None or not _insert_rows(chunks[0], after=after):
        head = _lock_and_read_head()
        for entry, _data in pending:
            _chain(entry, head)
            head = (entry.seq, entry.hash)
        chunks_left = chunks
    else:
        chunks_left = chunks[1:]
    for chunk in chunks_left:
        _insert_rows(chunk, after=None)
    last = pending[-1][0]
    setattr(connection, _LAST_HEAD, (last.seq, last.hash))


def _append(entry: AuditEntry, data_json: str) -> None:
    """Chain ``entry`` after the head and insert it, under the chain lock.

    The second and later entries of a decision (and, with no other writer between, the first of the
    next) cost one statement, not two: the entry is chained after the head this connection last
    wrote and inserted only if that is still the head — ``INSERT … SELECT … WHERE`` that entry exists
    with that hash and none follows it — with the chain lock taken first in the same round trip on
    PostgreSQL (re-entrant: free when this transaction holds it). The guard makes the guess safe
    whatever happened since (a rollback, another writer): it inserts nothing, and the entry is
    chained again after the head read under the lock."""
    last = getattr(connection, _LAST_HEAD, None)
    if last is not None:
        _chain(entry, last)
        if _insert(entry, data_json, after=last):
            setattr(connection, _LAST_HEAD, (entry.seq, entry.hash))
            return
    head = _lock_and_read_head()
    _chain(entry, head)
    _insert(entry, data_json)
    setattr(connection, _LAST_HEAD, (entry.seq, entry.hash))


def _chain(entry: AuditEntry, head: tuple[int, str] | None) -> None:
    entry.seq, entry.prev_hash = (head[0] + 1, head[1]) if head else (1, GENESIS_HASH)
    entry.at = timezone.now()
    entry.hash = entry_hash(entry.prev_hash, entry_body(entry))


STORED_COLUMNS = (
    "seq",
    "version",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "subject_type",
    "subject_id",
    "subject_label",
    "case",
    "data",
    "request_id",
    "ip",
    "prev_hash",
    "hash",
)
_insert_sql: dict[tuple[str, bool, int], str] = {}


def _insert_statement(guarded: bool, rows: int = 1) -> str:
    """The INSERT of ``rows`` rows (what ``Model.save(force_insert=True)`` would send, without its
    overhead); ``guarded``: only if the entry given last is the head (``_append``)."""
    key = (connection.vendor, guarded, rows)
    sql = _insert_sql.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        postgres = connection.vendor == "postgresql"
        fields = {f.column: f for f in AuditEntry._meta.concrete_fields}
        if guarded and postgres:
            # A VALUES list types its columns on its own (text, unless told): cast each to the
            # column's type, as the plain INSERT's target list would.
            marks = ", ".join(f"%s::{fields[c].db_type(connection)}" for c in STORED_COLUMNS)
        else:
            marks = ", ".join("%s::jsonb" if c == "data" and postgres else "%s" for c in STORED_COLUMNS)
        columns = ", ".join(quote(c) for c in STORED_COLUMNS)
        table = quote(AuditEntry._meta.db_table)
        values = ", ".join([f"({marks})"] * rows)
        # Built from constants only (table and column names of the model).
        if guarded:
            sql = (
                f"INSERT INTO {table} ({columns}) SELECT * FROM (VALUES {values}) AS v "  # noqa: S608
                f"WHERE EXISTS (SELECT 1 FROM {table} WHERE seq = %s AND hash = %s) "
                f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE seq > %s)"
            )
        else:
            sql = f"INSERT INTO {table} ({columns}) VALUES {values}"  # noqa: S608
        if len(_insert_sql) < 64:
            _insert_sql[key] = sql
    return sql


def _row(entry: AuditEntry, data_json: str) -> list:
    return [
        entry.seq,
        entry.version,
        connection.ops.adapt_datetimefield_value(entry.at),
        entry.actor_id,
        entry.actor_label,
        entry.action,
        entry.subject_type,
        entry.subject_id,
        entry.subject_label,
        entry.case,
        data_json,
        entry.request_id,
        entry.ip,
        entry.prev_hash,
        entry.hash,
    ]


def _insert(entry: AuditEntry, data_json: str, *, after: tuple[int, str] | None = None) -> bool:
    """Insert the row; with ``after`` (``(seq, hash)``), only if that entry is the head. Returns
    whether the row was inserted."""
    return _insert_rows([(entry, data_json)], after=after)


def _insert_rows(rows: list[tuple[AuditEntry, str]], *, after: tuple[int, str] | None) -> bool:
    """Insert the rows in one statement; with ``after`` (``(seq, hash)``), only if that entry is
    the head. Returns whether they were inserted."""
    sql = _insert_statement(after is not None, len(rows))
    params = [value for entry, data_json in rows for value in _row(entry, data_json)]
    if after is not None:
        params += [after[0], after[1], after[0]]
    with connection.cursor() as cursor:
        if after is not None and connection.vendor == "postgresql":
            # The chain lock first, in a statement of its own (the guard's reads must see what
            # committed while this transaction waited for it: READ COMMITTED takes a snapshot per
            # statement), in the same round trip unless the driver binds on the server.
            if lock_apart():
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
                cursor.execute(sql, params)
            else:
                cursor.execute(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK_KEY:d}); {sql}", params)
                cursor.cursor.nextset()
        else:
            cursor.execute(sql, params)
        return cursor.rowcount == len(rows)
