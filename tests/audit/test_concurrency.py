"""Four OS processes appending 500 entries each leave one gap-free chain that verifies, on PostgreSQL
(advisory lock) and on SQLite (IMMEDIATE transactions)."""

import os
import sqlite3
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest
from django.db import connection

from audit.models import AuditEntry
from audit.verification import verify_database

ROOT = Path(__file__).resolve().parents[2]
WRITERS, PER_WRITER = 4, 500


def run_writers(env: dict, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.audit.chain_writer", f"w{n}", str(PER_WRITER), str(go)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WRITERS)
    ]
    try:
        for proc in procs:
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        go.touch()
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            assert out.strip() == "done"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def writer_env(database_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "expediente.settings"}
    env.pop("CELERY_BROKER_URL", None)
    return env


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_four_processes_one_chain_on_postgresql(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    s = connection.settings_dict
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    before = AuditEntry.objects.count()
    run_writers(writer_env(url), tmp_path)
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, before + WRITERS * PER_WRITER + 1))
    for n in range(WRITERS):
        mine = list(
            AuditEntry.objects.filter(data__writer=f"w{n}").order_by("seq").values_list("data__i", flat=True)
        )
        assert mine == list(range(PER_WRITER))
    order = list(
        AuditEntry.objects.filter(seq__gt=before).order_by("seq").values_list("data__writer", flat=True)
    )
    switches = sum(1 for a, b in pairwise(order) if a != b)
    assert switches >= 2 * WRITERS, f"the writers hardly overlapped ({switches} switches)"
    result = verify_database(workers=2)
    assert result.valid, result.first_error
    assert result.entries == before + WRITERS * PER_WRITER


@pytest.mark.slow
def test_four_processes_one_chain_on_sqlite(tmp_path):
    """Runs on a file database (an in-memory one cannot be shared between processes), with the
    project's SQLite options (WAL, IMMEDIATE)."""
    db_file = tmp_path / "db.sqlite3"
    env = writer_env(f"sqlite:///{db_file}")
    env["EXPEDIENTE_VAR_DIR"] = str(tmp_path / "var")

    def manage(*args, check=True):
        done = subprocess.run(
            [sys.executable, "manage.py", *args, "--skip-checks"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        if check:
            assert done.returncode == 0, done.stderr
        return done

    manage("migrate", "audit", "-v", "0")
    run_writers(env, tmp_path)
    with sqlite3.connect(db_file) as db:
        assert db.execute("SELECT COUNT(*), MIN(seq), MAX(seq) FROM audit_auditentry").fetchone() == (
            2000,
            1,
            2000,
        )
        order = [
            row[0]
            for row in db.execute("SELECT json_extract(data, '$.writer') FROM audit_auditentry ORDER BY seq")
        ]
        switches = sum(1 for a, b in pairwise(order) if a != b)
        assert switches >= 2 * WRITERS, f"the writers hardly overlapped ({switches} switches)"
        for n in range(WRITERS):
            mine = [
                r[0]
                for r in db.execute(
                    "SELECT json_extract(data, '$.i') FROM audit_auditentry "
                    "WHERE json_extract(data, '$.writer') = ? ORDER BY seq",
                    [f"w{n}"],
                )
            ]
            assert mine == list(range(PER_WRITER))
    manage("audit_checkpoint")
    verified = manage("audit_verify")
    assert "OK: 2000 entries" in verified.stdout
    assert "1 signed checkpoint(s) verified" in verified.stdout
    # The real exit status of a failed verification, after an owner's edit with the trigger dropped.
    with sqlite3.connect(db_file) as db:
        db.execute("DROP TRIGGER audit_auditentry_no_update")
        db.execute("UPDATE audit_auditentry SET actor_label = 'x' WHERE seq = 1234")
    failed = manage("audit_verify", check=False)
    assert failed.returncode == 1
    assert "first bad entry seq 1234" in failed.stderr
