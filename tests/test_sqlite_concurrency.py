"""The embedded SQLite database takes concurrent writers (two web or worker processes) without
"database is locked": WAL journal + ``transaction_mode="IMMEDIATE"`` + a busy timeout.

Runs real OS processes against a temporary database file configured exactly like the project (the
project's settings module with ``DATABASE_URL=sqlite:///…``), whatever database the suite itself uses.
"""

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WRITES_PER_PROCESS = 200

WORKER = r"""
import json, os, sys, time
import django
django.setup()
from django.db import OperationalError, connection, transaction

mode, go_file = sys.argv[1], sys.argv[2]

if mode == "hold":
    # Enter a transaction that writes nothing and keep it open until told to stop.
    with transaction.atomic():
        print("holding", flush=True)
        while not os.path.exists(go_file):
            time.sleep(0.01)
    sys.exit(0)

if mode == "verify":
    from audit.chain import entry_body
    from audit.models import AuditEntry
    from audit.verifier import GENESIS_HASH, entry_hash
    from registry.models import Unit

    prev, expected_seq, broken = GENESIS_HASH, 1, None
    for entry in AuditEntry.objects.order_by("seq").iterator():
        good_hash = entry.hash == entry_hash(prev, entry_body(entry))
        if entry.seq != expected_seq or entry.prev_hash != prev or not good_hash:
            broken = entry.seq
            break
        prev, expected_seq = entry.hash, expected_seq + 1
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
    print(json.dumps({
        "units": Unit.objects.count(),
        "registered": AuditEntry.objects.filter(action="unit.registered").count(),
        "entries": expected_seq - 1,
        "broken_at": broken,
        "journal_mode": journal_mode,
        "transaction_mode": connection.transaction_mode,
    }))
    sys.exit(0)

# mode == "write": WRITES_PER_PROCESS short transactions through a service, each with its audit entry.
from registry.services import register_unit, system_user

prefix, count = sys.argv[3], int(sys.argv[4])
actor = system_user()
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal_mode = cursor.fetchone()[0]
print("ready", flush=True)
while not os.path.exists(go_file):
    time.sleep(0.005)
started, errors = time.monotonic(), []
for i in range(count):
    try:
        register_unit(actor=actor, tax_id=f"{prefix}{i:05d}", name=f"Unidad {prefix}-{i}", kind="mype",
                      department="LPZ", municipality="El Alto", sector="wood")
    except OperationalError as exc:
        errors.append(str(exc))
print(json.dumps({"errors": errors, "journal_mode": journal_mode, "started": started,
                  "finished": time.monotonic(), "transaction_mode": connection.transaction_mode}))
"""


def _env(db_path: Path, var_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EXPEDIENTE_", "CELERY_", "DJANGO_")) and k not in {"DATABASE_URL", "SECRET_KEY"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{db_path}",
        DJANGO_SETTINGS_MODULE="expediente.settings",
        EXPEDIENTE_VAR_DIR=str(var_dir),
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory):
    base = tmp_path_factory.mktemp("sqlite-concurrency")
    db_path = base / "db.sqlite3"
    env = _env(db_path, base / "var")
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return db_path, env


def _spawn(env, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.slow
def test_two_processes_write_concurrently_without_database_is_locked(sqlite_file, tmp_path):
    _db_path, env = sqlite_file
    go = tmp_path / "go"
    writers = [_spawn(env, "write", str(go), prefix, str(WRITES_PER_PROCESS)) for prefix in ("71", "72")]
    try:
        for proc in writers:  # both have loaded Django and connected before either starts writing
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        go.touch()
        results = []
        for proc in writers:
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err
            assert "database is locked" not in err
            results.append(_last_json(out))
    finally:
        for proc in writers:
            if proc.poll() is None:
                proc.kill()
    assert [r["errors"] for r in results] == [[], []]
    assert {r["journal_mode"] for r in results} == {"wal"}
    assert {r["transaction_mode"] for r in results} == {"IMMEDIATE"}
    # the two processes really overlapped
    assert max(r["started"] for r in results) < min(r["finished"] for r in results)

    verify = subprocess.run(
        [sys.executable, "-c", WORKER, "verify", str(go)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    state = _last_json(verify.stdout)
    assert state["units"] == 2 * WRITES_PER_PROCESS
    assert state["registered"] == 2 * WRITES_PER_PROCESS
    assert state["broken_at"] is None, "the audit chain forked or broke under concurrent writers"
    assert state["journal_mode"] == "wal"


@pytest.mark.slow
def test_a_django_transaction_takes_the_write_lock_at_begin(sqlite_file, tmp_path):
    """IMMEDIATE, not DEFERRED: an open ``atomic()`` block holds the write lock before its first
    write, so a second writer waits (busy timeout) instead of failing halfway with "locked"."""
    db_path, env = sqlite_file
    release = tmp_path / "release"
    holder = _spawn(env, "hold", str(release))
    try:
        assert holder.stdout.readline().strip() == "holding", holder.stderr.read()
        other = sqlite3.connect(db_path, timeout=0.2, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            # WAL: readers go on while the writer holds the lock
            assert other.execute("SELECT count(*) FROM django_migrations").fetchone()[0] > 0
        finally:
            other.close()
        release.touch()
        holder.communicate(timeout=30)
        assert holder.returncode == 0
        started = time.monotonic()
        other = sqlite3.connect(db_path, timeout=5, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        other.close()
        assert time.monotonic() - started < 5
    finally:
        if holder.poll() is None:
            holder.kill()
