"""Concurrent money moves on one budget line: the ones that fit succeed, the rest are refused with a
clear message, and the line never goes below zero available.

- PostgreSQL: real threads, each on its own connection (``select_for_update`` locks the line).
- SQLite: real OS processes on a temporary file database (the IMMEDIATE transaction serialises
  writers; ``select_for_update`` does nothing there).
"""

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.utils import translation

from audit.actions import AuditAction as A
from audit.chain import entry_body
from audit.models import AuditEntry
from audit.verifier import GENESIS_HASH, entry_hash
from budget import services
from budget.models import BudgetMovement
from budget.selectors import ledger_mismatches, line_reconciles
from cases.roles import Role
from registry.services import today
from tests.factories import BudgetLineFactory, UserFactory

D = Decimal
WORKER = Path(__file__).with_name("sqlite_worker.py")


def _chain_is_intact() -> bool:
    prev = GENESIS_HASH
    for entry in AuditEntry.objects.order_by("seq"):
        if entry.prev_hash != prev or entry_hash(prev, entry_body(entry)) != entry.hash:
            return False
        prev = entry.hash
    return True


def _run_threads(count: int, target) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        try:
            with translation.override("es"):
                barrier.wait(timeout=20)
                results[i] = ("ok", target(i))
        except ValidationError as exc:
            results[i] = ("refused", " ".join(exc.messages))
        except Exception as exc:
            results[i] = ("error", repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_reservations_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (DATABASE_URL); SQLite is covered by the process test")
    finance = UserFactory(roles=[Role.FINANCE])
    line = BudgetLineFactory(amount_in_force=D("1000.00"))
    before = AuditEntry.objects.count()

    started = time.monotonic()
    results = _run_threads(
        8,
        lambda i: services.reserve(
            line, "300.00", actor=finance, case=SimpleNamespace(case_code=f"INI-2026-{i:06d}")
        ),
    )
    elapsed = time.monotonic() - started

    outcomes = [r[0] for r in results]
    assert outcomes.count("ok") == 3, results
    assert outcomes.count("refused") == 5, results
    for _, message in (r for r in results if r[0] == "refused"):
        assert message.startswith(f"Presupuesto insuficiente en la partida {line}: disponible Bs 100,00")
    line.refresh_from_db()
    assert (line.reserved, line.available) == (D("900.00"), D("100.00"))
    assert line_reconciles(line)
    assert BudgetMovement.objects.filter(line=line, kind="reserve").count() == 3
    new = AuditEntry.objects.filter(seq__gt=before)
    assert [e.action for e in new] == [A.BUDGET_RESERVED] * 3
    assert _chain_is_intact()
    assert elapsed < 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_mixed_ledger_operations_postgres():
    """Threads hammer one line with random reserve/commit/execute/pay/release/expenditure moves:
    the invariant holds at every commit, the ledger reconciles, one audit entry per movement."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (DATABASE_URL)")
    finance = UserFactory(roles=[Role.FINANCE])
    line = BudgetLineFactory(fiscal_year=today().year, amount_in_force=D("500.00"))
    before = AuditEntry.objects.count()
    movements_before = BudgetMovement.objects.count()
    operations = [
        services.reserve,
        services.release_reservation,
        services.commit,
        services.release_commitment,
        services.execute,
        services.pay,
        services.refund,
    ]

    def worker(i: int) -> int:
        rng = random.Random(i)
        case = SimpleNamespace(case_code=f"TRF-2026-{i % 3:06d}")
        done = 0
        for _ in range(12):
            amount = D(rng.randint(1, 15000)) / 100
            try:
                if rng.random() < 0.15:
                    services.record_expenditure(
                        line, actor=finance, amount=amount, date=today(), description="Gasto operativo"
                    )
                else:
                    rng.choice(operations)(line, amount, actor=finance, case=case)
                done += 1
            except ValidationError:
                pass
        return done

    results = _run_threads(6, worker)
    assert all(r[0] == "ok" for r in results), results
    line.refresh_from_db()
    assert line.available >= 0 and line.paid <= line.executed
    assert min(line.reserved, line.committed, line.executed, line.paid) >= 0
    assert ledger_mismatches() == []
    moved = BudgetMovement.objects.count() - movements_before
    assert moved == sum(r[1] for r in results) > 0
    assert AuditEntry.objects.filter(seq__gt=before).count() == moved
    assert _chain_is_intact()


def _worker(env: dict, *args: str, timeout: float = 120) -> dict:
    done = subprocess.run(
        [sys.executable, str(WORKER), *args],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_concurrent_reservations_sqlite_processes():
    """Separate OS processes on one SQLite file: 8 reservations of 300.00 on a line of 1,000.00."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite run only (this test builds its own SQLite file database)")
    with tempfile.TemporaryDirectory(prefix="exp-budget-") as tmp:
        tmp_path = Path(tmp)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "EXPEDIENTE_CELERY_WORKER"}
        }
        env.update(
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            EXPEDIENTE_VAR_DIR=str(tmp_path / "var"),
            DJANGO_SETTINGS_MODULE="expediente.settings",
            PYTHONDONTWRITEBYTECODE="1",
        )
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            env=env,
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        seeded = _worker(env, "seed", "1000.00")
        sync = tmp_path / "sync"
        sync.mkdir()
        procs = [
            subprocess.Popen(
                [sys.executable, str(WORKER), "reserve", str(seeded["line"]), "300.00", str(n), str(sync)],
                env=env,
                cwd=settings.BASE_DIR,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in range(8)
        ]
        deadline = time.monotonic() + 90
        while len(list(sync.glob("ready-*"))) < len(procs):
            assert time.monotonic() < deadline, "writer processes did not start"
            assert all(p.poll() is None for p in procs), [
                p.communicate() for p in procs if p.poll() is not None
            ]
            time.sleep(0.02)
        (sync / "go").touch()  # all eight are set up and waiting: release them together
        # Timed from the release: the racing writes, not the start-up of nine Django processes (which a
        # busy 2-core machine stretches: 90 s in one CI run).
        started = time.monotonic()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=90)
            assert p.returncode == 0, err[-3000:]
            results.append(json.loads(out.strip().splitlines()[-1]))
        elapsed = time.monotonic() - started
        check = _worker(env, "check", str(seeded["line"]))

    assert sum(r["ok"] for r in results) == 3, results
    refused = [r["error"] for r in results if not r["ok"]]
    assert len(refused) == 5
    assert all(
        m.startswith("Presupuesto insuficiente en la partida 2026/PROLECHE/10: disponible Bs 100,00")
        for m in refused
    ), refused
    assert check["reserved"] == "900.00" and check["available"] == "100.00"
    assert check["reconciles"] is True and check["chain_ok"] is True
    assert check["movements"] == 3
    assert check["audit"][A.BUDGET_RESERVED] == 3
    assert elapsed < 60, f"took {elapsed:.1f}s"
