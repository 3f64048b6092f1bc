#!/usr/bin/env python
# ruff: noqa: E501, RUF001, RUF002  (report tables are long lines with typographic dashes)
"""Benchmark of one decision: our ``approvals.services.complete_task`` against bare viewflow 2.4
(docs/BENCHMARKS.md, section "Decisions: ours against bare viewflow"; issue 12, item 1).

    make bench                                      # = .venv/bin/python bench/decisions.py
    make bench BENCH_ARGS=--write-docs              # and rewrite the block in docs/BENCHMARKS.md
    make bench BENCH_ARGS=--quick                   # = make bench-quick: under 2 minutes, smaller

Two sides, timed in interleaved blocks in one process per database:

- bare: ``bench/bareflow`` (installed only by ``bench/settings.py``), a viewflow 2.4 flow of the same
  shape as a decision — StartHandle → human ``flow.View`` (permission-gated) → ``flow.If`` →
  ``flow.Function`` → ``flow.End`` — with ``lock.select_for_update_lock`` and viewflow's default
  ``Process``/``Task`` models. Its approve task is completed as viewflow's own task views do it (the
  assign and execute views, merged in one POST as our ``complete_task`` does): flow lock + transaction,
  the task fetched by pk, its flow checked, ``can_assign`` → ``activation.assign(user)``, ``can_execute``
  → ``activation.start(request)``, the process saved (the form's ``save()``), ``activation.execute()``.
- ours: ``approvals.services.complete_task(task_pk, actor=user, decision="approve", data=...)`` on
  initiatives built through the services the tests use, for four decisions: admissibility, the
  technical evaluation that closes the round (the second of the call's two), a budget certification
  and a payment confirmation (tranche 1).

Cases and bare processes are prepared before the timed rounds; only the completions are timed. In
every round each decision gets one ours block of N completions and one bare block of 3 N (a bare
completion takes about a third of the time), their order alternating, each completion by a fresh
instance of the deciding user (as a request loads it). Per round: the throughput ratio ours/bare
(wall clock), the CPU per completion ratio ours/bare (``time.process_time``: this process only, so on
PostgreSQL the server's own CPU is not in it) and the SQL statements per completion
(``connection.execute_wrapper``: every statement Django sends, SAVEPOINTs and SQLite's BEGIN
IMMEDIATE included; COMMIT, and BEGIN on PostgreSQL, are the driver's and not counted). Reported as
median (min–max) over the rounds, per staff size: 4, 24, 100 and 200 active users of the step's role,
all scoped to the case's department and program.

Notifications run as in production (``CELERY_TASK_ALWAYS_EAGER`` off): the decision writes its
notification job as a row of the transactional outbox (``cases.outbox``) in its own transaction; the
relay that would publish it runs in another process and is not running here, so nothing is resolved or
published on the decision's path; the bench checks that each decision wrote one row. A broker is
configured all the same (a private ``redis-server --port 6391 --save ''`` started and stopped by this
script, or kombu's in-process ``memory://`` with ``--broker memory``) so that Celery is not eager.

PostgreSQL: database ``exp_decisions_bench`` on 127.0.0.1:5432, created and dropped here. SQLite: a
temporary file with the project's OPTIONS (WAL, synchronous=NORMAL, IMMEDIATE). The machine is shared:
the load average before and after is printed with the results.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
PY = sys.executable
PG_HOST = "postgres://postgres@127.0.0.1:5432"
PG_DB = "exp_decisions_bench"
REDIS_PORT = 6391
DOCS = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- decisions-bench:start -->", "<!-- decisions-bench:end -->"
SETTINGS = "bench.settings"

DECISIONS = ("admissibility", "technical_evaluation", "budget_certification", "payment_confirmation")
# Jobs a decision owes (outbox rows): its notification, and for a payment confirmation the payment
# notice to the applicant (approvals.notifications.after_payment).
# Outbox rows a decision owes: its notifications (a payment confirmation also the applicant's
# payment notice), and the drawing of each official document it issues (the budget certification,
# as the world's policy's last step: the certificación presupuestaria and the resolution).
JOBS_PER_DECISION = {"payment_confirmation": 2, "budget_certification": 3}
LABELS = {
    "admissibility": "admissibility (admit)",
    "technical_evaluation": "technical evaluation (2nd of 2, closes the round)",
    "budget_certification": "budget certification",
    "payment_confirmation": "payment confirmation (tranche 1)",
}
# The state each decision leaves the case in, and the step of the task it opens.
EXPECTED = {
    "admissibility": ("in_evaluation", "technical_evaluation"),
    "technical_evaluation": ("in_approval", "legal_report"),
    "budget_certification": ("approved", "agreement"),
    "payment_confirmation": ("in_execution", "progress_report"),
}
# The role that decides each step (the staff whose number varies).
ROLE = {
    "admissibility": "evaluator",
    "technical_evaluation": "evaluator",
    "budget_certification": "finance",
    "payment_confirmation": "finance",
}
SIZES = (4, 24, 100, 200)
FULL = {"rounds": 5, "n": 10, "warmup": 2, "sizes": SIZES}
# A bare completion takes about a third of ours: its blocks are this many times longer in completions,
# so that both blocks of a round last about as long (short blocks are at the mercy of the scheduler).
BARE_FACTOR = 3
QUICK = {"rounds": 3, "n": 3, "warmup": 1, "sizes": (4,)}
GOOD_SCORES = {"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
REQUIRED = ["project_profile", "counterpart_letter"]


def log(*args) -> None:
    print(*args, flush=True)


# === The measuring process (Django set up with bench.settings on one database) ======================


class World:
    """A small agency, as ``tests/iniciativas/conftest.py`` builds it: one PROLECHE call, one budget
    line, one applicant unit (SCZ), staff; evaluators and finance users grow with the staff size."""

    def __init__(self) -> None:
        from django.utils import timezone

        from budget import services as budget
        from iniciativas import services as ini
        from registry import services as registry
        from registry.models import Unit

        self.system = registry.system_user()
        self.program = budget.create_program(actor=self.system, code="PROLECHE", name="Fondo PROLECHE")
        source = budget.create_source(
            actor=self.system, code="42", name="Transferencias de recursos específicos"
        )
        today = timezone.localdate()
        self.today = today
        self.line = budget.create_budget_line(
            actor=self.system,
            fiscal_year=today.year,
            program=self.program,
            source=source,
            amount_in_force="10000000000.00",
        )
        self.call = ini.create_call(
            actor=self.system,
            code=f"PROLECHE-{today.year}-1",
            title="Fondo PROLECHE",
            program=self.program,
            opens_on=today - dt.timedelta(days=10),
            closes_on=today + dt.timedelta(days=60),
            max_amount="150000.00",
            min_counterpart_share="0.50",
            required_documents=REQUIRED,
            rubric=[
                {"code": "relevance", "label": "Pertinencia", "max": 40},
                {"code": "feasibility", "label": "Factibilidad", "max": 30},
                {"code": "impact", "label": "Impacto", "max": 30},
            ],
            threshold="60",
            evaluators=2,
            disagreement_points="20",
            tranche_plan=[40, 40, 20],
        )
        self.unit = registry.register_unit(
            actor=self.system,
            tax_id="1000001",
            name="Asociación de Lecheros de Warnes",
            kind=Unit.Kind.ASSOCIATION,
            department="SCZ",
            municipality="Warnes",
            sector=Unit.Sector.DAIRY,
        )
        self.applicant = registry.create_user(
            actor=self.system, username="solicitante1", roles=["applicant"], unit=self.unit
        )
        self.legal = [
            registry.create_user(actor=self.system, username=f"legal{k}", roles=["legal"]) for k in (1, 2)
        ]
        self.staff: dict[str, list] = {"evaluator": [], "finance": []}
        self.references = 0

    def grow_staff(self, size: int) -> None:
        """``size`` active users of each deciding role, each scoped to SCZ and PROLECHE (the case's)."""
        from budget import services as budget
        from registry import services as registry

        for role, users in self.staff.items():
            while len(users) < size:
                user = registry.create_user(
                    actor=self.system, username=f"{role}{len(users) + 1:03d}", roles=[role]
                )
                registry.grant_department_scope(user, "SCZ", actor=self.system)
                budget.grant_program_scope(user, self.program, actor=self.system)
                users.append(user)

    # Who decides what (four eyes: the two evaluations of a case, and the payment order and its
    # confirmation, are done by different people). The timed deciders are the first of their role.
    def actor(self, decision: str):
        return {
            "admissibility": self.staff["evaluator"][0],
            "technical_evaluation": self.staff["evaluator"][1],
            "budget_certification": self.staff["finance"][0],
            "payment_confirmation": self.staff["finance"][1],
        }[decision]

    def data(self, decision: str) -> dict:
        if decision == "technical_evaluation":
            return dict(GOOD_SCORES)
        if decision == "budget_certification":
            return {"budget_line": self.line.pk}
        if decision == "payment_confirmation":
            self.references += 1
            return {
                "tranche": 1,
                "payment_reference": f"BENCH-{self.references:07d}",
                "paid_on": str(self.today),
            }
        return {}


def _open_task(code: str, step: str) -> int:
    from workflows.models import CaseTask

    return (
        CaseTask.objects.filter(case_code=code, step=step, is_open=True)
        .order_by("pk")
        .values_list("pk", flat=True)[0]
    )


def _decide(code: str, step: str, actor, **data) -> None:
    from approvals import services as approvals

    approvals.complete_task(_open_task(code, step), actor=actor, decision="approve", data=data)


def prepare_ours(world: World, decision: str, count: int) -> list[tuple[int, str]]:
    """``count`` initiatives, each with the open task of ``decision`` waiting: (task pk, case code)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from iniciativas import services as ini

    ev, fin, legal = world.staff["evaluator"], world.staff["finance"], world.legal
    out = []
    for _ in range(count):
        initiative = ini.create_initiative(
            actor=world.applicant,
            unit=world.unit,
            call=world.call,
            title="Tanque de enfriamiento para la asociación",
            summary="Compra e instalación de un tanque de enfriamiento de 2.000 litros.",
            department="SCZ",
            requested_amount="100000.00",
            counterpart_amount="100000.00",
        )
        for kind in REQUIRED:
            upload = SimpleUploadedFile("perfil.pdf", PDF, content_type="application/pdf")
            ini.upload_document(initiative, actor=world.applicant, kind=kind, uploaded_file=upload)
        ini.submit_initiative(initiative, actor=world.applicant)
        code = initiative.code
        if decision != "admissibility":
            _decide(code, "admissibility", ev[2])
            _decide(code, "technical_evaluation", ev[3], **GOOD_SCORES)
        if decision in ("budget_certification", "payment_confirmation"):
            _decide(code, "technical_evaluation", ev[2], **GOOD_SCORES)
            _decide(code, "legal_report", legal[0], opinion="Procedente")
        if decision == "payment_confirmation":
            _decide(code, "budget_certification", fin[2], budget_line=world.line.pk)
            _decide(code, "agreement", legal[1], agreement_number=f"C-{code}", signed_on=str(world.today))
            _decide(code, "payment_order", fin[3], tranche=1, amount="40000.00")
        out.append((_open_task(code, decision), code))
    return out


def prepare_bare(count: int) -> list[tuple[int, int]]:
    """``count`` bare processes, each with its approve task waiting: (task pk, process pk)."""
    from viewflow.workflow.models import Task

    from bench.bareflow.flows import BareFlow

    out = []
    for _ in range(count):
        process = BareFlow.start.run()
        task = Task.objects.get(process=process, flow_task=BareFlow.approve)
        out.append((task.pk, process.pk))
    return out


def complete_ours(world: World, decision: str, item: tuple[int, str], user) -> None:
    from approvals import services as approvals

    approvals.complete_task(item[0], actor=user, decision="approve", data=world.data(decision))


def complete_bare(item: tuple[int, int], user) -> None:
    """What viewflow's task views do for one human task (``viewflow/workflow/flow/utils.py``
    ``wrap_task_view`` + ``AssignTaskView``, ``wrap_view`` + ``UpdateProcessView``), in one POST."""
    from django.core.exceptions import PermissionDenied
    from django.db import transaction

    from bench.bareflow.flows import BareFlow

    task_pk, process_pk = item
    flow_task = BareFlow.approve
    with BareFlow.lock(process_pk), transaction.atomic():
        task = BareFlow.task_class._default_manager.get(pk=task_pk)
        if task.process.flow_class != BareFlow:
            raise LookupError("No task matches the given query.")
        activation = flow_task.activation_class(task)
        if not flow_task.can_assign(user, task):
            raise PermissionDenied
        activation.assign(user)
        if not flow_task.can_execute(user, task):
            raise PermissionDenied
        activation.start(None)
        process = activation.process
        process.data = {**(process.data or {}), "approved": True}
        process.save()
        activation.execute()


def check_ours(decision: str, items: list) -> dict:
    """After an ours block: every case is in the state the decision leads to, with the next step's
    task open (raises otherwise)."""
    from iniciativas.models import Initiative
    from workflows.models import CaseTask

    state, step = EXPECTED[decision]
    codes = [code for _, code in items]
    states = sorted(set(Initiative.objects.filter(code__in=codes).values_list("state", flat=True)))
    opened = (
        CaseTask.objects.filter(case_code__in=codes, step=step, is_open=True)
        .values("case_code")
        .distinct()
        .count()
    )
    if states != [state] or opened != len(codes):
        raise AssertionError(f"{decision}: cases in {states}, {opened}/{len(codes)} with an open {step} task")
    return {"cases": len(codes), "states": states, "next_step": step, "with_next_step_open": opened}


def check_bare(items: list) -> dict:
    """After a bare block: every approve task is DONE and its process finished (raises otherwise)."""
    from viewflow.workflow.models import Process, Task
    from viewflow.workflow.status import PROCESS, STATUS

    tasks = Task.objects.filter(pk__in=[t for t, _ in items], status=STATUS.DONE).count()
    processes = Process.objects.filter(pk__in=[p for _, p in items], status=PROCESS.DONE).count()
    if not tasks == processes == len(items):
        raise AssertionError(f"bare: {tasks} tasks DONE, {processes} processes DONE of {len(items)}")
    return {"tasks": len(items), "tasks_done": tasks, "processes_done": processes}


class _Counting:
    """``connection.execute_wrapper``: counts statements, and keeps their SQL when asked."""

    def __init__(self, keep: bool = False) -> None:
        self.count = 0
        self.keep = keep
        self.sql: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        if self.keep:
            self.sql.append(sql)
        return execute(sql, params, many, context)


def _fresh_users(pk: int, count: int) -> list:
    """One instance per completion, as each request loads its user (no permission caches carried)."""
    from registry.models import User

    return [User.objects.get(pk=pk) for _ in range(count)]


def run_block(side: str, world: World, decision: str, items: list, *, keep_sql: bool = False) -> dict:
    from django.db import connection

    users = _fresh_users(world.actor(decision).pk, len(items))
    counting = _Counting(keep_sql)
    latencies = []
    gc.collect()
    with connection.execute_wrapper(counting):
        c0, t0 = time.process_time(), time.perf_counter()
        for item, user in zip(items, users, strict=True):
            s = time.perf_counter()
            if side == "ours":
                complete_ours(world, decision, item, user)
            else:
                complete_bare(item, user)
            latencies.append(time.perf_counter() - s)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = len(items)
    return {
        "n": n,
        "wall": wall,
        "cpu": cpu,
        "ms": wall / n * 1000,
        "cpu_ms": cpu / n * 1000,
        "statements": counting.count / n,
        "latencies_ms": [x * 1000 for x in latencies],
        "sql": counting.sql,
    }


def queued_messages() -> int:
    """Jobs owed (the transactional outbox's unsent rows: notifications and the drawing of official
    documents; no relay runs here)."""
    from cases.models import OutboxMessage

    return OutboxMessage.objects.filter(sent_at__isnull=True).count()


def statement_kind(sql: str) -> str:
    """``SELECT registry_user`` / ``UPDATE viewflow_task`` / ``SAVEPOINT``…: the verb and main table."""
    text = " ".join(sql.split())
    verb = text.split(" ", 1)[0].upper()
    if verb in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN"):
        return verb
    if "seq, hash FROM audit_auditentry ORDER BY seq DESC" in text:
        return "SELECT audit_auditentry (chain head)"
    if text.startswith("SELECT pg_advisory_xact_lock(") and "; INSERT INTO " in text:
        verb, text = "INSERT", text.split("; ", 1)[1]  # the chain's lock and its entries, one round trip
    pattern = {
        "SELECT": r' FROM "?([\w.]+)"?',
        "INSERT": r'INSERT (?:OR \w+ )?INTO "?([\w.]+)"?',
        "UPDATE": r'UPDATE "?([\w.]+)"?',
        "DELETE": r'DELETE FROM "?([\w.]+)"?',
    }.get(verb)
    match = re.search(pattern, text) if pattern else None
    table = match.group(1) if match else "?"
    if verb == "SELECT" and " FOR UPDATE" in text:
        verb = "SELECT … FOR UPDATE"
    return f"{verb} {table}"


def _grant_bare_permission() -> None:
    """The bare approve step's permission, given to the deciding roles' groups (so the bare side
    decides with the same users, checked by viewflow's ``user.has_perm``)."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from viewflow.workflow.models import Process

    from bench.bareflow.flows import APPROVE_CODENAME
    from registry.services import role_group

    perm, _ = Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Process),
        codename=APPROVE_CODENAME,
        defaults={"name": "Can approve (bare flow)"},
    )
    for role in ("evaluator", "finance"):
        role_group(role).permissions.add(perm)


def _summary(values: list[float]) -> list[float]:
    return [statistics.median(values), min(values), max(values)]


def measure(rounds: int, n: int, sizes: tuple[int, ...], warmup: int) -> dict:
    """The measurement on the database Django is configured with (run in the child process)."""
    import django

    django.setup()
    from django.db import connection

    from expediente.celery import app

    assert not app.conf.task_always_eager, "notifications must be queued for a broker, not run eagerly"
    broker = app.conf.broker_url
    log(f"  {connection.vendor}: building the agency (broker {broker})")
    t_setup = time.perf_counter()
    world = World()
    _grant_bare_permission()
    out: dict = {
        "vendor": connection.vendor,
        "broker": broker,
        "sizes": {},
        "breakdown": {},
        "checks": {"ours": {}, "bare": {}},
    }
    prep_seconds = 0.0
    messages = {"expected": 0, "queued": 0}
    for size in sizes:
        t0 = time.perf_counter()
        world.grow_staff(size)
        grown = time.perf_counter() - t0
        t0 = time.perf_counter()
        per_block, n_bare = rounds * n + warmup, n * BARE_FACTOR
        ours = {d: prepare_ours(world, d, per_block) for d in DECISIONS}
        bare = {d: prepare_bare(rounds * n_bare + warmup) for d in DECISIONS}
        prepared = time.perf_counter() - t0
        prep_seconds += prepared
        log(
            f"  {connection.vendor}, {size} staff per role: staff in {grown:.1f} s, "
            f"{per_block * 4} cases and {(rounds * n_bare + warmup) * 4} bare processes prepared in {prepared:.1f} s"
        )
        rows: dict = {d: {"ours": [], "bare": [], "ratio": [], "cpu_ratio": []} for d in DECISIONS}
        # Warm-up, discarded (first statements, connection to the broker, caches); at the first size
        # the statements of the last warm-up completion of each side are kept to say where they go.
        for d in DECISIONS:
            for k in range(warmup):
                keep = size == sizes[0] and k == warmup - 1
                b = run_block("bare", world, d, bare[d][k : k + 1], keep_sql=keep)
                o = run_block("ours", world, d, ours[d][k : k + 1], keep_sql=keep)
                if keep:
                    out["breakdown"][d] = {
                        "ours": Counter(statement_kind(s) for s in o["sql"]).most_common(),
                        "bare": Counter(statement_kind(s) for s in b["sql"]).most_common(),
                        "ours_sql": [" ".join(s.split())[:400] for s in o["sql"]],
                        "bare_sql": [" ".join(s.split())[:400] for s in b["sql"]],
                    }
        for r in range(rounds):
            for i, d in enumerate(DECISIONS):
                lo, lo_bare = warmup + r * n, warmup + r * n_bare
                items = {"ours": ours[d][lo : lo + n], "bare": bare[d][lo_bare : lo_bare + n_bare]}
                order = ("bare", "ours") if (r + i) % 2 == 0 else ("ours", "bare")
                got = {}
                for side in order:
                    before = queued_messages() if side == "ours" else 0
                    if side == "bare":
                        got[side] = run_block(side, world, d, items[side])
                        out["checks"]["bare"][d] = check_bare(items[side])
                    else:
                        got[side] = run_block(side, world, d, items[side])
                        messages["queued"] += queued_messages() - before
                        messages["expected"] += n * JOBS_PER_DECISION.get(d, 1)
                        out["checks"]["ours"][d] = check_ours(d, items[side])
                    got[side].pop("sql")
                rows[d]["ours"].append(got["ours"])
                rows[d]["bare"].append(got["bare"])
                # Completions per second of ours / of bare; CPU per completion of ours / of bare.
                rows[d]["ratio"].append(got["bare"]["ms"] / got["ours"]["ms"])
                rows[d]["cpu_ratio"].append(got["ours"]["cpu_ms"] / got["bare"]["cpu_ms"])
            log(
                f"  {connection.vendor}, {size} staff, round {r + 1}/{rounds}: "
                + ", ".join(f"{d} {rows[d]['ratio'][-1]:.3f}" for d in DECISIONS)
            )
        out["sizes"][str(size)] = {
            d: {
                "ratio": _summary(rows[d]["ratio"]),
                "cpu_ratio": _summary(rows[d]["cpu_ratio"]),
                "cpu_ratios": rows[d]["cpu_ratio"],
                "ours_ms": _summary([b["ms"] for b in rows[d]["ours"]]),
                "bare_ms": _summary([b["ms"] for b in rows[d]["bare"]]),
                "ours_cpu_ms": _summary([b["cpu_ms"] for b in rows[d]["ours"]]),
                "bare_cpu_ms": _summary([b["cpu_ms"] for b in rows[d]["bare"]]),
                "ours_statements": _summary([b["statements"] for b in rows[d]["ours"]]),
                "bare_statements": _summary([b["statements"] for b in rows[d]["bare"]]),
                "ours_p95_ms": _pct([x for b in rows[d]["ours"] for x in b["latencies_ms"]], 0.95),
                "bare_p95_ms": _pct([x for b in rows[d]["bare"] for x in b["latencies_ms"]], 0.95),
                "ratios": rows[d]["ratio"],
            }
            for d in DECISIONS
        }
    out["messages"] = messages
    # Today each decision publishes one message after COMMIT. A decision that only writes an outbox
    # row (published later by a relay) queues none during the blocks: reported, not an error; a
    # notification run in-process is (asserted above: no eager tasks).
    if messages["queued"] not in (0, messages["expected"]):
        log(f"  note: {messages['queued']} messages queued by {messages['expected']} timed decisions")
    out["prep_seconds"] = prep_seconds
    out["seconds"] = time.perf_counter() - t_setup
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def child_main(args) -> int:
    result = measure(args.rounds, args.n, tuple(args.sizes), args.warmup)
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")
    return 0


# === Orchestration (no Django in this process) =======================================================


def _env(url: str, broker: str, var_dir: Path) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "CELERY_BROKER_URL": broker,
        "EXPEDIENTE_VAR_DIR": str(var_dir),
        "DEBUG": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("EXPEDIENTE_ENV", None)
    return env


def _pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_HOST}/postgres", autocommit=True) as conn:
        conn.execute(sql)


class Database:
    """A fresh database of ``vendor`` ("sqlite" or "postgresql") for one measurement: created (the
    PostgreSQL one, ``exp_decisions_bench``, dropped again by ``drop``), migrated with the bench
    settings, measured in a child process."""

    def __init__(self, vendor: str, folder: Path, broker: str) -> None:
        self.vendor, self.folder = vendor, Path(folder)
        var_dir = self.folder / f"var-{vendor}"
        var_dir.mkdir(parents=True, exist_ok=True)
        if vendor == "sqlite":
            self.url = f"sqlite:///{self.folder / 'decisions.sqlite3'}"
        else:
            self.url = f"{PG_HOST}/{PG_DB}"
            _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            _pg_admin(f"CREATE DATABASE {PG_DB}")
        self.env = _env(self.url, broker, var_dir)
        self.migration: subprocess.Popen | None = None

    def start_migrating(self) -> None:
        self.started = time.perf_counter()
        self.migration = subprocess.Popen(
            [PY, "manage.py", "migrate", "--noinput", "-v", "0", "--skip-checks"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait_migrated(self) -> None:
        if self.migration is None:
            self.start_migrating()
        assert self.migration is not None
        output, _ = self.migration.communicate()
        if self.migration.returncode:
            raise SystemExit(f"migrate failed on {self.url}:\n{output[-3000:]}")
        log(f"{self.vendor}: migrated ({time.perf_counter() - self.started:.1f} s after it started)")

    def measure(self, *, rounds: int, n: int, sizes: tuple[int, ...], warmup: int) -> dict:
        out = self.folder / f"result-{self.vendor}.json"
        command = [PY, str(Path(__file__).resolve()), "--child", "--out", str(out)]
        command += ["--rounds", str(rounds), "--n", str(n), "--warmup", str(warmup)]
        command += ["--sizes", *map(str, sizes)]
        done = subprocess.run(command, cwd=ROOT, env=self.env)
        if done.returncode:
            raise SystemExit(f"the {self.vendor} measurement failed (exit {done.returncode})")
        return json.loads(out.read_text(encoding="utf-8"))

    def drop(self) -> None:
        if self.migration is not None and self.migration.poll() is None:
            self.migration.kill()
            self.migration.wait()
        if self.vendor == "postgresql":
            _pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")


def run_database(
    vendor: str,
    folder: Path,
    *,
    rounds: int,
    n: int,
    sizes: tuple[int, ...],
    warmup: int,
    broker: str,
) -> dict:
    """Prepare a fresh database of ``vendor`` ("sqlite" or "postgresql"), migrate it with the bench
    settings, and measure in a child process; returns the child's results (see ``measure``)."""
    database = Database(vendor, folder, broker)
    try:
        database.wait_migrated()
        return database.measure(rounds=rounds, n=n, sizes=sizes, warmup=warmup)
    finally:
        database.drop()


class PrivateRedis:
    """``redis-server --port 6391 --save ''``, started here and stopped by its pid (never the shared one)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> str:
        if not shutil.which("redis-server"):
            raise SystemExit("redis-server is not installed: use --broker memory")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", REDIS_PORT)) == 0:
                raise SystemExit(f"port {REDIS_PORT} is taken: not our redis; stop it or use --broker memory")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", REDIS_PORT)) == 0:
                    return f"redis://127.0.0.1:{REDIS_PORT}/0"
            time.sleep(0.05)
        self.__exit__()
        raise SystemExit("the private redis-server did not start")

    def __exit__(self, *exc) -> bool:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return False


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": run("psql", f"{PG_HOST}/postgres", "-Atc", "SHOW server_version"),
        "redis": run("redis-server", "--version").split(" v=")[-1].split(" ")[0],
        "commit": run("git", "rev-parse", "--short", "HEAD"),
        "dirty": bool(run("git", "status", "--porcelain", "--untracked-files=no")),
    }


NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


def fmt(t: list[float], digits: int = 3) -> str:
    med, lo, hi = t
    return f"{med:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"


def fmt_statements(t: list[float]) -> str:
    med, lo, hi = t
    if lo == hi:
        return f"{med:g}"
    return f"{med:g} ({lo:g}–{hi:g})"


def headline(result: dict, decision: str) -> list[float]:
    """The ratio of a decision over every round at every staff size."""
    values = [r for size in result["sizes"].values() for r in size[decision]["ratios"]]
    return _summary(values)


def report(meta: dict, results: dict, command: str, loads: tuple, config: dict) -> str:
    out = [START, "## Decisions: ours against bare viewflow (issue 12, item 1)", ""]
    took = f"{meta['elapsed'] / 60:.0f} minutes" if meta["elapsed"] >= 120 else f"{meta['elapsed']:.0f} s"
    out.append(
        f"Reproduce: `{command}` (this run: {took}). The full run is `make bench` (add "
        "`BENCH_ARGS=--write-docs` to rewrite this block); `make bench-quick` (= `make bench BENCH_ARGS=--quick`: "
        f"staff size {QUICK['sizes'][0]} only, {QUICK['rounds']} rounds of N = {QUICK['n']}) takes under 2 minutes (86 s with the machine loaded at 8)."
    )
    out.append("")
    out.append(
        f"Machine: {meta['cpu']}, {meta['cores']} cores; {meta['os']}; Python {meta['python']}, PostgreSQL "
        f"{meta['postgresql']} (local, TCP 127.0.0.1), SQLite {meta['sqlite']} (the project's OPTIONS: WAL, "
        f"synchronous=NORMAL, IMMEDIATE). Commit `{meta['commit']}`{' plus working tree' if meta['dirty'] else ''}, "
        f"run {meta['when']}. Load average (1 min) before/after: {loads[0]:.2f} / {loads[1]:.2f} — the machine "
        "is shared with other work, so the milliseconds are indicative; the ratios come from interleaved "
        "blocks in the same run."
    )
    out.append("")
    out.append(
        f"Config: {config['rounds']} rounds × {len(DECISIONS)} decisions × {len(config['sizes'])} staff sizes "
        f"({', '.join(map(str, config['sizes']))}); in each round every decision gets an ours block of N = "
        f"{config['n']} completions and a bare block of {config['n'] * BARE_FACTOR} (a bare completion takes about "
        "a third of the time, so both blocks last about as long), their order alternating; "
        f"{config['warmup']} warm-up completion(s) per side, decision and size discarded. Each completion by "
        "a fresh instance of the deciding user, as a request loads it. "
        f"Notifications: {config['broker_label']}."
    )
    out.append("")
    out.extend(summary_lines(results))
    out.append("### Ours / bare, every staff size pooled")
    out.append("")
    out.append(
        "| database | decision | **throughput ours/bare** (wall) | CPU per completion ours/bare "
        "| statements per completion ours / bare | ms per completion ours / bare (median) |"
    )
    out.append("|---|---|---|---|---|---|")
    for vendor, res in results.items():
        for d in DECISIONS:
            cpu = [r for s in res["sizes"].values() for r in _cpu_ratios(s[d])]
            st_o = sorted({s[d]["ours_statements"][0] for s in res["sizes"].values()})
            st_b = sorted({s[d]["bare_statements"][0] for s in res["sizes"].values()})
            ms_o = statistics.median([s[d]["ours_ms"][0] for s in res["sizes"].values()])
            ms_b = statistics.median([s[d]["bare_ms"][0] for s in res["sizes"].values()])
            out.append(
                f"| {NAMES[vendor]} | {LABELS[d]} | **{fmt(headline(res, d))}** | {fmt(_summary(cpu), 2)} "
                f"| {'/'.join(f'{x:g}' for x in st_o)} / {'/'.join(f'{x:g}' for x in st_b)} "
                f"| {ms_o:.1f} / {ms_b:.1f} |"
            )
    out.append("")
    out.append("### By staff size (active users of the step's role, all scoped to the case)")
    out.append("")
    out.append(
        "| database | decision | staff | statements ours (bare) | ms ours: median of rounds (min–max) | p95 ms ours "
        "| ms bare | throughput ours/bare | CPU ours/bare |"
    )
    out.append("|---|---|---|---|---|---|---|---|---|")
    for vendor, res in results.items():
        for d in DECISIONS:
            for size, s in res["sizes"].items():
                row = s[d]
                out.append(
                    f"| {NAMES[vendor]} | {d} | {size} | {fmt_statements(row['ours_statements'])} "
                    f"({fmt_statements(row['bare_statements'])}) | {fmt(row['ours_ms'], 1)} | {row['ours_p95_ms']:.1f} "
                    f"| {row['bare_ms'][0]:.1f} | {fmt(row['ratio'])} | {fmt(row['cpu_ratio'], 2)} |"
                )
    out.append("")
    out.append(
        "Throughput ratio = (completions/s of ours) / (completions/s of bare) in the same round, so 0.25 means "
        "one of our decisions takes the time of four bare ones; CPU ratio = CPU seconds per completion of "
        "ours / of bare (this process only: Python, the driver and, on SQLite, the database engine; on "
        "PostgreSQL the server's CPU is not in it). Statements = what Django sends per completion "
        "(SAVEPOINT/RELEASE and SQLite's BEGIN IMMEDIATE included; COMMIT, and BEGIN on PostgreSQL, are the "
        "driver's and not counted). The bare side: viewflow 2.4's own task views' "
        "work (flow lock, task by pk, `can_assign`, assign, `can_execute`, start, process save, execute "
        "→ If → Function → End) in one transaction, as our `complete_task` does assign and decide in one; "
        "viewflow's UI posts assign and execute separately, which would add a second lock, transaction "
        "and task read to the bare side. Our tasks live in their own table (`workflows_task`), the bare "
        "flow's in viewflow's."
    )
    out.append("")
    out.extend(breakdown_lines(results))
    out.append(END)
    return "\n".join(out)


def summary_lines(results: dict) -> list[str]:
    """The ratios in one line per database, and whether the staff size changes anything."""
    lines = []
    for vendor, res in results.items():
        ratios = ", ".join(f"{d} {headline(res, d)[0]:.2f}" for d in DECISIONS)
        lines.append(f"- {NAMES[vendor]}: ours / bare throughput (median of every round) — {ratios}.")
        sizes = list(res["sizes"])
        if len(sizes) > 1:
            first, last = res["sizes"][sizes[0]], res["sizes"][sizes[-1]]
            same = all(len({res["sizes"][z][d]["ours_statements"][0] for z in sizes}) == 1 for d in DECISIONS)
            statements = (
                f"the same number of statements per decision at {', '.join(sizes)} staff"
                if same
                else "statements per decision change with the staff size: "
                + ", ".join(
                    f"{d} " + "/".join(f"{res['sizes'][z][d]['ours_statements'][0]:g}" for z in sizes)
                    for d in DECISIONS
                )
            )
            growth = ", ".join(
                f"{d} {last[d]['ours_ms'][0] / first[d]['ours_ms'][0]:.2f}× "
                f"(bare {last[d]['bare_ms'][0] / first[d]['bare_ms'][0]:.2f}×)"
                for d in DECISIONS
            )
            lines.append(
                f"  Staff size: {statements}; our ms per decision at {sizes[-1]} staff / at {sizes[0]}: {growth}."
            )
    lines.append("")
    return lines


def _cpu_ratios(row: dict) -> list[float]:
    return row.get("cpu_ratios", [row["cpu_ratio"][0]])


# What each statement is for, by its main table (the first match wins).
CATEGORIES = (
    ("transaction", ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN")),
    ("flow rows", ("viewflow_", "workflows_")),
    ("audit trail", ("(chain head)", "INSERT audit_")),
    (
        "who may act",
        (
            "auth_",
            "objectpermission",
            "approvals_delegation",
            "approvals_incompatiblesteps",
            "registry_user",
            "audit_",
        ),
    ),
    ("policy and calendar", ("approvals_",)),
    ("case and money", ("iniciativas_", "budget_", "transfers_", "registrations_", "registry_")),
)


def category(kind: str) -> str:
    for name, needles in CATEGORIES:
        if any(needle in kind for needle in needles):
            return name
    return "other"


def breakdown_lines(results: dict) -> list[str]:
    """Where the statements of one completion go (the first warm-up completion at the first size)."""
    names = [name for name, _ in CATEGORIES] + ["other"]
    lines = ["### Where the statements of one completion go", ""]
    lines.append(
        "| database | decision | statements | "
        + " | ".join(names)
        + " | bare (flow rows / transaction / who may act) |"
    )
    lines.append("|---|---|---|" + "---|" * len(names) + "---|")
    for vendor, res in results.items():
        for d in DECISIONS:
            b = res["breakdown"].get(d)
            if not b:
                continue
            ours, bare = Counter(), Counter()
            for kind, count in b["ours"]:
                ours[category(kind)] += count
            for kind, count in b["bare"]:
                bare[category(kind)] += count
            lines.append(
                f"| {NAMES[vendor]} | {d} | {sum(ours.values())} | "
                + " | ".join(str(ours[name]) for name in names)
                + f" | {sum(bare.values())} ({bare['flow rows']} / {bare['transaction']} / {bare['who may act']}) |"
            )
    lines.append("")
    lines.append(
        "Categories by the statement's main table: flow rows = viewflow's process and task tables and "
        "ours (`CaseTask`/`CaseProcess`, one table each), the task links "
        "and the flow lock; transaction = SAVEPOINT/RELEASE (and SQLite's BEGIN IMMEDIATE, which Django "
        "sends as a statement; PostgreSQL's BEGIN/COMMIT are the driver's, not counted); who may act = "
        "users, groups, permissions, department/program scopes, delegations, incompatible steps and the "
        "trail's four-eyes reads; audit trail = the chain's head and its entries; policy and calendar = "
        "approval policies and non-working days; case and money = the initiative, its call, tranches, "
        "budget lines and movements, and the bank-reference check across kinds. "
        "Per statement, by verb and table: `--json` (key `breakdown`)."
    )
    lines.append("")
    return lines


def write_docs(section: str) -> None:
    from bench.docs_block import write_block

    write_block(section, START, END, path=DOCS)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small run (under 2 minutes): staff size 4 only")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--n", type=int, help="completions per block")
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--sizes", type=int, nargs="+", help="staff sizes (default 4 24 100 200)")
    parser.add_argument("--broker", choices=("redis", "memory"), default="redis")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--write-docs", action="store_true", help="replace the block in docs/BENCHMARKS.md")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = dict(QUICK if args.quick else FULL)
    for key in ("rounds", "n", "warmup", "sizes"):
        if getattr(args, key) is not None:
            config[key] = tuple(getattr(args, key)) if key == "sizes" else getattr(args, key)
        elif args.child:
            raise SystemExit(f"--{key} is required with --child")
    if args.child:
        args.sizes = config["sizes"]
        return child_main(args)

    shown, skip = [], False
    for arg in sys.argv[1:]:  # the command that reproduces the block (without where the raw JSON went)
        if skip or arg == "--json" or arg.startswith("--json="):
            skip = arg == "--json"
            continue
        shown.append(arg)
    command = " ".join([".venv/bin/python bench/decisions.py", *shown])
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    meta = machine()
    meta["when"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    vendors = [
        v for v, skip in (("postgresql", args.skip_postgres), ("sqlite", args.skip_sqlite)) if not skip
    ]
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="decisions-bench-") as tmp:
        folder = Path(tmp)
        if args.broker == "redis":
            broker_cm = PrivateRedis(folder)
            config["broker_label"] = (
                f"written to the outbox; broker: a private `redis-server` {meta['redis']} (port {REDIS_PORT}, "
                "no persistence) started and stopped by the bench; no relay runs"
            )
        else:
            broker_cm = contextlib.nullcontext("memory://")
            config["broker_label"] = (
                "written to the outbox; broker: kombu's in-process `memory://`; no relay runs"
            )
        with broker_cm as broker:
            log(
                f"decisions bench: {config['rounds']} rounds, N={config['n']}, sizes {config['sizes']}, "
                f"notifications queued on {broker}"
            )
            databases = []
            try:
                # Both migrations at once (nothing is timed yet); then one measurement after the other.
                for vendor in vendors:
                    databases.append(Database(vendor, folder, broker))
                    databases[-1].start_migrating()
                for database in databases:
                    database.wait_migrated()
                for database in databases:
                    res = results[database.vendor] = database.measure(
                        rounds=config["rounds"],
                        n=config["n"],
                        sizes=tuple(config["sizes"]),
                        warmup=config["warmup"],
                    )
                    log(
                        f"{database.vendor}: {res['messages']['queued']} outbox rows written by "
                        f"{res['messages']['expected']} timed decisions; prepared in {res['prep_seconds']:.0f} s, "
                        f"measured in {res['seconds']:.0f} s"
                    )
            finally:
                for database in databases:
                    database.drop()
    meta["elapsed"] = time.perf_counter() - started
    loads = (load_before, os.getloadavg()[0])
    section = report(meta, results, command, loads, config)
    log(section)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"meta": meta, "config": config, "results": results}, default=list)
        )
    if args.write_docs:
        write_docs(section)
        log(f"written to {DOCS}")
    log(f"elapsed {meta['elapsed']:.0f} s; load average before/after {loads[0]:.2f} / {loads[1]:.2f}")
    if "sqlite" in results:
        log(f"ratio {headline(results['sqlite'], 'admissibility')[0]:.3f} (sqlite, admissibility)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
