#!/usr/bin/env python
"""Whom to notify about a new task (docs/BENCHMARKS.md, section "Whom to notify"; issue 12).

    .venv/bin/python bench/audience_bench.py --before-ref 95b98b8 --write-docs

For 4, 24, 100 and 200 evaluators: the SQL statements and the wall time of
``approvals.notifications.notify_new_tasks`` for one new technical-evaluation task (one of the two an
admissibility decision creates), on SQLite (a temporary file with the project's options) and on
PostgreSQL (database ``exp_audience_wt``, DROPPED and re-created by each run; nothing else is
touched). The agency is the tests' small one (``tests.iniciativas.conftest.make_world``: four national
evaluators) grown to N evaluators through the services, a quarter each: national; scoped to a
department by their own permission; members of a regional group scoped to a department; scoped to a
program (PROLECHE, the case's, or another) by their own permission. Nobody has an e-mail address
(in-app rows only), so the figures are the audience plus one bulk insert.

Each size: one run with the statements captured, then ``--repeat`` timed runs; the median is
reported. Each run's notification rows are deleted after it (the next run inserts them again), so
every run does the same work, outside any transaction of the benchmark's, as a Celery worker would.
Tables are analysed once the staff is in place.

``--before-ref REF`` also runs the same measurement on the code of commit ``REF`` (its tree exported
with ``git archive`` to a temporary folder, this script copied into it) and reports both side by
side. ``--save FILE`` keeps the raw results as JSON. The machine is shared: the load average before
and after is printed with the results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from docs_block import write_block  # noqa: E402 - the bench folder is on sys.path

# Building the data set runs statements for minutes (a COPY of a million rows, VACUUM): no
# statement_timeout here (DB_STATEMENT_TIMEOUT_MS; the site keeps its 30 s).
os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "0")

PY = sys.executable
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
PG_DB = "exp_audience_wt"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- audience-bench:start -->", "<!-- audience-bench:end -->"
SIZES = (4, 24, 100, 200)

# --- the worker: one database, one version of the code -----------------------------------------------


def _recreate_postgres() -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DB}"')
        conn.execute(f'CREATE DATABASE "{PG_DB}"')
    return f"{PG_SERVER}/{PG_DB}"


def _grow_staff(world, target: int, state: dict) -> None:
    """Evaluators up to ``target`` (the world has four national ones), a quarter of each kind."""
    from django.contrib.auth.models import Group
    from guardian.shortcuts import assign_perm

    from budget import services as budget_services
    from registry import services as registry_services
    from registry.models import Department, User

    system = world.system
    departments = list(Department.objects.order_by("code"))
    if "regional" not in state:
        state["regional"] = []
        for department in departments:
            group = Group.objects.create(name=f"Regional {department.code}")
            assign_perm("registry.work_in_department", group, department)
            state["regional"].append(group)
        state["programs"] = [
            world.call.program,
            budget_services.create_program(actor=system, code="PROMYPE", name="PROMYPE"),
        ]
    n = User.objects.filter(groups__name="evaluator").count()
    while n < target:
        user = registry_services.create_user(actor=system, username=f"ev{n:03d}", roles=["evaluator"])
        kind = n % 4
        if kind == 1:
            registry_services.grant_department_scope(user, departments[n % len(departments)], actor=system)
        elif kind == 2:
            user.groups.add(state["regional"][n % len(departments)])
        elif kind == 3:
            budget_services.grant_program_scope(user, state["programs"][n // 4 % 2], actor=system)
        n += 1


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _measure(task_id: int, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from approvals import notifications
    from approvals.models import Notification

    key = f"task:{task_id}:new"

    def once(capture: bool) -> tuple[float, int, int]:
        t0 = time.perf_counter()
        if capture:
            with CaptureQueriesContext(connection) as ctx:
                notifications.notify_new_tasks([task_id])
            statements = len(ctx.captured_queries)
        else:
            notifications.notify_new_tasks([task_id])
            statements = 0
        elapsed = (time.perf_counter() - t0) * 1000
        told = Notification.objects.filter(event_key=key).count()
        Notification.objects.filter(event_key=key).delete()
        return elapsed, statements, told

    _ms, statements, told = once(capture=True)
    runs = [once(capture=False)[0] for _ in range(repeat)]
    return {"statements": statements, "told": told, "ms": statistics.median(runs), "runs": runs}


def worker(url: str, sizes: list[int], repeat: int) -> dict:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "expediente.settings"
    os.environ["DEBUG"] = "0"
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from approvals import services as approvals
    from approvals.models import Notification
    from tests.iniciativas.conftest import make_world, submitted
    from workflows.models import CaseTask

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    world = make_world()
    case = submitted(world)
    admissibility = CaseTask.objects.get(case_code=case.code, step="admissibility", is_open=True)
    approvals.complete_task(admissibility.pk, actor=world.staff["evaluador1"], decision="approve")
    task = CaseTask.objects.filter(case_code=case.code, step="technical_evaluation", is_open=True).first()
    assert task is not None and not task.owner_id
    Notification.objects.all().delete()  # those the decision sent (tasks run in-process here)
    built = time.perf_counter() - t0
    state: dict = {}
    out = {"vendor": connection.vendor, "built_seconds": built, "sizes": {}}
    for size in sizes:
        _grow_staff(world, size, state)
        _analyze()
        out["sizes"][str(size)] = _measure(task.pk, repeat)
        print(
            f"  {connection.vendor} {size:>4} evaluators: {json.dumps(out['sizes'][str(size)])}", flush=True
        )
    out["query"] = _query_costs(task.pk, repeat)
    return out


def _query_costs(task_id: int, repeat: int) -> dict | None:
    """Where the time of the one query over users goes, at the largest size: building the queryset
    and compiling its SQL in Python, and (PostgreSQL) the server's planning and execution, from
    ``EXPLAIN (ANALYZE)``. Medians. None on code without ``selectors.eligible_users``."""
    from django.db import connection

    from approvals import selectors
    from workflows.models import CaseTask

    if not hasattr(selectors, "eligible_users"):
        return None
    task = CaseTask.objects.get(pk=task_id)
    build, plan, execute = [], [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        sql, params = selectors.eligible_users(task)[:21].query.sql_with_params()
        build.append((time.perf_counter() - t0) * 1000)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
                found = cursor.fetchone()[0]
            found = json.loads(found) if isinstance(found, str) else found
            plan.append(found[0]["Planning Time"])
            execute.append(found[0]["Execution Time"])
    median = statistics.median
    return {
        "build_ms": median(build),
        "planning_ms": median(plan) if plan else None,
        "execution_ms": median(execute) if execute else None,
    }


# --- orchestration -------------------------------------------------------------------------------------


def _export(ref: str, folder: Path) -> Path:
    """The tree of commit ``ref`` in ``folder``, with this script and the compiled messages."""
    folder.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "bench").mkdir(exist_ok=True)
    shutil.copy(Path(__file__), folder / "bench" / "audience_bench.py")
    for mo in ROOT.glob("locale/*/LC_MESSAGES/*.mo"):
        target = folder / mo.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(mo, target)
    return folder


def _run_worker(root: Path, url: str, sizes: list[int], repeat: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    args = [PY, str(root / "bench" / "audience_bench.py"), "--worker", url]
    args += ["--sizes", ",".join(map(str, sizes)), "--repeat", str(repeat)]
    done = subprocess.run(args, cwd=root, env=env, capture_output=True, text=True)
    sys.stdout.write(done.stdout.rpartition("RESULT ")[0])
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"worker failed on {url}")
    return json.loads(done.stdout.rpartition("RESULT ")[2])


def _databases(folder: Path, skip_postgres: bool, skip_sqlite: bool) -> dict:
    urls = {}
    if not skip_sqlite:
        urls["SQLite"] = lambda tag: f"sqlite:///{folder / f'audience-{tag}.sqlite3'}"
    if not skip_postgres:
        urls["PostgreSQL"] = lambda tag: _recreate_postgres()
    return urls


def machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    pg = subprocess.run(
        ["psql", f"{PG_SERVER}/postgres", "-Atc", "SHOW server_version"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg.split(" ")[0],
        "commit": commit,
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def report(results: dict, meta: dict, command: str, loads: tuple, repeat: int) -> str:
    before_ref = meta.get("before_ref")
    out = [START, "## Whom to notify", ""]
    out.append(f"Reproduce: `{command}` (about {meta['elapsed'] / 60:.0f} minutes).")
    out.append("")
    out.append(
        "`approvals.notifications.notify_new_tasks` for one new technical-evaluation task (program scope, "
        "four-eyes pairs) as the agency grows to N evaluators: a quarter national, a quarter scoped to a "
        "department by their own permission, a quarter through a regional group's department "
        "permission, a quarter scoped to a program (the case's or another). Statements of one run; "
        f"milliseconds: median of {repeat} runs, each inserting its in-app rows again (nobody has an "
        "e-mail address). *Told*: how many people got the notification (more people who could claim it "
        f"than `NOTIFY_QUEUE_MAX_RECIPIENTS` = 20: nobody personally, the task waits in the queue)."
    )
    out.append("")
    head = "| database | evaluators |"
    rule = "|---|---|"
    if before_ref:
        head += f" before (`{before_ref}`): told | statements | ms |"
        rule += "---|---|---|"
    head += " **after**: told | **statements** | **ms** |"
    rule += "---|---|---|"
    out += [head, rule]
    for name, after in results["after"].items():
        before = results.get("before", {}).get(name)
        for size, a in after["sizes"].items():
            row = f"| {name} | {size} |"
            if before_ref and before:
                b = before["sizes"][size]
                row += f" {b['told']} | {b['statements']} | {b['ms']:.1f} |"
            row += f" {a['told']} | **{a['statements']}** | **{a['ms']:.1f}** |"
            out.append(row)
    out.append("")
    out.append(
        "Before, `claimers_of` called `refusal_reason` for each person holding the role (about 6.5 "
        "statements each here: groups, the two guardian tables of the program scope, the trail for the "
        "applicant side, the delegates and the trail for four eyes, the held tasks), up to five times the "
        "cap of them: with more than "
        "100 evaluators it gave up after one count and told nobody — whether or not more than 20 could "
        "claim the task (the 200 row: cheap, and wrong when few could). After, who could claim it is one "
        "query over users (`approvals.selectors.eligible_users`), counted up to the cap + 1, and the "
        "delegates of those told one more: 2 statements when nobody is told personally (the task, who "
        "could claim it), 7 when four are (also their delegates, the in-app rows' insert with its BEGIN "
        "and COMMIT, the read of who still owes an e-mail), whatever the staff. "
        "`tests/approvals/test_audience.py` asserts the same count with 4, 24, 100 and 200 evaluators "
        "(`pytest -s` prints it) and, in a property test, the same people as the slow way."
    )
    out.append("")
    costs = [(name, r.get("query")) for name, r in results["after"].items() if r.get("query")]
    if costs:
        parts = []
        for name, c in costs:
            part = f"{name}: building and compiling the queryset {c['build_ms']:.1f} ms"
            if c.get("planning_ms") is not None:
                part += f", planning {c['planning_ms']:.1f} ms, execution {c['execution_ms']:.1f} ms"
            parts.append(part)
        largest = max(int(size) for size in results["after"][costs[0][0]]["sizes"])
        out.append(
            f"Where the one query's time goes at {largest} evaluators (medians; `EXPLAIN (ANALYZE)` on "
            "PostgreSQL): "
            + "; ".join(parts)
            + ". The query's size (correlated `EXISTS` on the guardian tables, the trail, the task table and "
            "the pairs table), not the staff, is the cost; more people only add index probes."
        )
        out.append("")
    out.append(
        f"Machine: {meta['cpu']}, {meta['cores']} cores; Python {meta['python']}, PostgreSQL "
        f"{meta['postgresql']} (local), SQLite {meta['sqlite']} (WAL, synchronous=NORMAL). Commit "
        f"`{meta['commit']}` plus working tree, run {meta['when']}. Load average (1 min) before/after: "
        f"{loads[0]:.2f} / {loads[1]:.2f} — the machine is shared, so milliseconds are indicative; "
        "statements are exact."
    )
    out.append("")
    out.append(END)
    return "\n".join(out)


def write_docs(section: str) -> None:
    write_block(section, START, END, path=DOCS)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--before-ref", help="also measure the code of this commit")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--save", help="write the raw results to this JSON file")
    parser.add_argument("--write-docs", action="store_true", help="replace the section in docs/BENCHMARKS.md")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.worker:
        result = worker(args.worker, sizes, args.repeat)
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    command = ".venv/bin/python bench/audience_bench.py " + " ".join(sys.argv[1:])
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    meta = machine()
    meta["before_ref"] = args.before_ref
    results: dict = {}
    with tempfile.TemporaryDirectory(prefix="audience-bench-") as tmp:
        folder = Path(tmp)
        versions = {"after": ROOT}
        if args.before_ref:
            versions = {"before": _export(args.before_ref, folder / "before"), **versions}
        for version, root in versions.items():
            results[version] = {}
            for name, url in _databases(folder, args.skip_postgres, args.skip_sqlite).items():
                print(f"{version} on {name}", flush=True)
                results[version][name] = _run_worker(root, url(version), sizes, args.repeat)
    meta["elapsed"] = time.perf_counter() - started
    loads = (load_before, os.getloadavg()[0])
    if args.save:
        Path(args.save).write_text(json.dumps({"meta": meta, "results": results}, indent=2), encoding="utf-8")
    section = report(results, meta, command, loads, args.repeat)
    print(section)
    if args.write_docs:
        write_docs(section)
        print(f"written to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
