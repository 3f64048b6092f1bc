#!/usr/bin/env python
# ruff: noqa: E501, RUF001  (report tables are long lines with typographic dashes)
"""Benchmark of the public budget-execution report (docs/BENCHMARKS.md, section "Budget-execution report").

    .venv/bin/python bench/report_bench.py --write-docs

For each database -- PostgreSQL (database ``exp_report_bench``, created here and dropped at the end) and
SQLite (a temporary file with the project's WAL + IMMEDIATE options) -- builds the ledgers of two
fiscal years with ``bench/report_fixture.py`` (last year, closed, and this year, in progress) at 100,000
cases each (800,025 movements per year), measures, grows both years to 125,000 cases (1,000,050
movements per year) and measures again:

- **live**: ``reports.selectors.budget_execution(this year)``: the lines, then the ledger summed;
- **closed, cold**: the closed year with its kept sums deleted before each repetition: the lines, the
  ledger summed, the sums written (``reports.ledger``);
- **closed, kept**: the closed year with its sums kept: one query, no read of the ledger;
- the whole API request (``GET /api/v1/reports/budget-execution/?fiscal_year=…``, JSON, in-process
  through Django's test client): as finance for the live year, anonymous for the kept closed year;
- **before**: the ledger check as it was before issue 12 (the lines annotated with one filtered sum
  per kind of movement, joined to programs and sources by the lines' default ordering) with the index
  it had, ``(line, kind)``, put back for the block; on the same data, for comparison.

Live, cold and kept repetitions alternate in every round; the median (min-max) is reported, with the
number of queries and of ledger reads of one call. The machine is shared: the load average before and
after is printed with the results.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import json
import multiprocessing
import os
import platform
import re
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
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "exp_report_bench"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
START, END = "<!-- report-bench:start -->", "<!-- report-bench:end -->"
URL = "/api/v1/reports/budget-execution/"
TARGET_LIVE_MS = 400

# --- Worker process (spawned; Django set up from DATABASE_URL) ---------------------------------------


def _worker_init(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "expediente.settings"
    os.environ["DEBUG"] = "0"  # no query log, cached templates: as in production
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


def _years() -> tuple[int, int]:
    from reports.selectors import current_fiscal_year

    live = current_fiscal_year()
    return live - 1, live


def _load(first: int, count: int) -> dict:
    import report_fixture
    from django.utils import timezone

    closed, live = _years()
    return report_fixture.load([closed, live], first, count, timezone.now())


def _counts() -> dict:
    from django.db.models import Count

    from budget.models import BudgetMovement

    rows = BudgetMovement.objects.order_by().values("line__fiscal_year").annotate(n=Count("pk"))
    return {str(r["line__fiscal_year"]): r["n"] for r in rows}


def _timed(func) -> float:
    t0 = time.perf_counter()
    func()
    return (time.perf_counter() - t0) * 1000


def _queries(func) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        func()
    sql = [q["sql"] for q in captured.captured_queries]
    return {"queries": len(sql), "ledger_reads": sum("budget_budgetmovement" in s for s in sql)}


def _old_check(year: int) -> bool:
    """The report's two reads before issue 12: the lines of the year, then every line annotated with
    one filtered sum per kind over its movements, without ``order_by()``."""
    from budget.models import LINE_FIGURES, BudgetLine
    from budget.selectors import _figures_from_sums, _kind_sums

    lines = BudgetLine.objects.filter(fiscal_year=year)
    list(
        lines.order_by().values(
            "program__code", "program__name", "source__code", "source__name", *LINE_FIGURES
        )
    )
    rows = lines.annotate(**_kind_sums("movements__")).values("pk", *LINE_FIGURES, *_kind_sums())
    return all(row[f] == _figures_from_sums(row)[f] for row in rows for f in LINE_FIGURES)


def _measure(rounds: int, kept_reps: int, before_reps: int) -> dict:
    from django.db import connection
    from rest_framework.test import APIClient

    from budget.models import BudgetLine
    from registry.models import User
    from registry.services import create_user, system_user
    from reports.models import LedgerSnapshot
    from reports.selectors import budget_execution

    closed, live = _years()
    finance = User.objects.filter(username="bench_report_finance").first() or create_user(
        actor=system_user(), username="bench_report_finance", roles=["finance"]
    )
    staff, public = APIClient(), APIClient()
    staff.force_authenticate(finance)

    def drop_kept() -> None:
        LedgerSnapshot.objects.filter(line__fiscal_year=closed).delete()

    def cold() -> None:
        report = budget_execution(closed)
        assert report.closed and report.ledger_reconciles

    def api(client, year):
        def call():
            response = client.get(URL, {"fiscal_year": year})
            assert response.status_code == 200 and response.json()["ledger_reconciles"] is True

        return call

    # Correctness first: the kept report is the report computed afresh, and the ledger reconciles.
    drop_kept()
    fresh = budget_execution(closed)
    again = budget_execution(closed)
    assert fresh.ledger_reconciles and again.ledger_reconciles and fresh.total == again.total
    assert budget_execution(live).ledger_reconciles
    lines = BudgetLine.objects.filter(fiscal_year=live).count()

    calls = {
        "live": lambda: budget_execution(live),
        "api_live": api(staff, live),
        "cold": cold,
        "kept": lambda: budget_execution(closed),
        "api_kept": api(public, closed),
    }
    shape = {}
    for name, func in calls.items():  # warm-up (connections, caches) and one call's query count
        if name == "cold":
            drop_kept()
        shape[name] = _queries(func)
    times: dict[str, list[float]] = {name: [] for name in calls}
    for r in range(rounds):
        order = list(calls) if r % 2 == 0 else list(reversed(calls))
        for name in order:
            if name == "cold":
                drop_kept()
            reps = kept_reps if name in ("kept", "api_kept") else 1
            for _ in range(reps):
                times[name].append(_timed(calls[name]))
    # Before issue 12: the old query with the old index, on the same data.
    with connection.cursor() as cursor:
        cursor.execute("CREATE INDEX budget_mov_line_kind_idx ON budget_budgetmovement (line_id, kind)")
        cursor.execute("DROP INDEX budget_mov_ledger_idx")
        cursor.execute("ANALYZE budget_budgetmovement")
    try:
        assert _old_check(live) and _old_check(closed)
        shape["before"] = _queries(lambda: _old_check(live))
        times["before"] = [_timed(lambda: _old_check(live)) for _ in range(before_reps)]
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE INDEX budget_mov_ledger_idx ON budget_budgetmovement (line_id, kind, amount)"
            )
            cursor.execute("DROP INDEX budget_mov_line_kind_idx")
            cursor.execute("ANALYZE budget_budgetmovement")
    return {
        "vendor": connection.vendor,
        "movements": _counts(),
        "lines": lines,
        "shape": shape,
        "ms": {name: _stats(values) for name, values in times.items()},
        "plan": _plan(live),
    }


def _stats(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def _plan(year: int) -> list[str]:
    """PostgreSQL: EXPLAIN (ANALYZE, BUFFERS) of the live year's ledger sums (``line_ledgers``)."""
    from django.db import connection

    from budget.models import BudgetLine
    from budget.selectors import _ledger_sums

    if connection.vendor != "postgresql":
        return []
    from budget.models import LINE_FIGURES

    ids = list(BudgetLine.objects.filter(fiscal_year=year).values_list("pk", flat=True))
    qs = (
        BudgetLine.objects.filter(pk__in=ids)
        .order_by()
        .values("pk", *LINE_FIGURES, "ledger_stamp__version")
        .annotate(**_ledger_sums())
    )
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        plan = [row[0] for row in cursor.fetchall()]
    # The lines and the first of the ten sums (one per kind, all alike), then the totals.
    cut = next((i for i, line in enumerate(plan) if line.strip().startswith("SubPlan 2")), len(plan))
    tail = next((i for i, line in enumerate(plan) if line.startswith("Planning")), len(plan))
    skipped = sum(1 for line in plan[cut:tail] if line.strip().startswith("SubPlan"))
    return [
        *plan[:cut],
        f"  … {skipped} more subplans like SubPlan 1, one per kind of movement …",
        *plan[tail:],
    ]


# --- Orchestration -------------------------------------------------------------------------------------


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    run = lambda *a: subprocess.run(a, cwd=ROOT, capture_output=True, text=True).stdout.strip()  # noqa: E731
    try:
        commit = run("git", "rev-parse", "--short", "HEAD")
        dirty = bool(run("git", "status", "--porcelain", "--untracked-files=no"))
        pg = run("psql", PG_ADMIN, "-Atc", "SHOW server_version")
    except OSError:
        commit, dirty, pg = "", False, ""
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg,
        "commit": commit + (" plus working tree" if dirty else ""),
    }


def manage(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "expediente.settings"}
    env.pop("CELERY_BROKER_URL", None)
    done = subprocess.run(
        [PY, "manage.py", *args, "--skip-checks"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def _pg(statement: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(statement)


def prepare_postgres() -> str:
    _pg(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
    _pg(f"CREATE DATABASE {PG_DB}")
    url = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
    manage(url, "migrate", "-v", "0")
    return url


def prepare_sqlite(folder: Path) -> str:
    url = f"sqlite:///{folder / 'report-bench.sqlite3'}"
    manage(url, "migrate", "-v", "0")
    return url


def bench_database(url: str, sizes: list[int], args) -> list[dict]:
    """Load the fixture in steps (cases per year) and measure after each step, in one worker process."""
    ctx = multiprocessing.get_context("spawn")
    out = []
    loaded = 0
    with cf.ProcessPoolExecutor(
        max_workers=1, mp_context=ctx, initializer=_worker_init, initargs=(url,)
    ) as pool:
        for cases in sizes:
            print(f"  loading cases {loaded:,}..{cases - 1:,} of each year", flush=True)
            load = pool.submit(_load, loaded, cases - loaded).result()
            loaded = cases
            print(f"  loaded {load['rows']:,} movements in {load['seconds']:.0f} s; measuring", flush=True)
            result = pool.submit(_measure, args.rounds, args.kept_reps, args.before_reps).result()
            result.update(cases=cases, load=load)
            print("  " + json.dumps({k: v for k, v in result.items() if k != "plan"}), flush=True)
            out.append(result)
    return out


# --- Report --------------------------------------------------------------------------------------------


def fmt(s: dict) -> str:
    return f"{s['median']:,.1f} ({s['min']:,.1f}–{s['max']:,.1f})"


def report(meta: dict, results: dict, command: str, loads: tuple) -> str:
    out = [START, "## Budget-execution report (public accountability, issue 12 item 4)", ""]
    out.append(f"Reproduce: `{command}` (about {meta['elapsed'] / 60:.0f} minutes).")
    out.append("")
    out.append(
        f"Machine: {meta['cpu']}, {meta['cores']} cores, {meta['memory']}; {meta['os']}; Python {meta['python']}, "
        f"PostgreSQL {meta['postgresql']} (local, default settings), SQLite {meta['sqlite']} (WAL). "
        f"Commit `{meta['commit']}`, run {meta['when']}. Load average (1 min) before/after: "
        f"{loads[0]:.2f} / {loads[1]:.2f} — the machine is shared with other work, so absolute times are "
        "indicative."
    )
    out.append("")
    out.append("Targets in this run:")
    out.append("")
    for name, steps in results.items():
        for step in steps:
            live = step["ms"]["live"]["median"]
            api = step["ms"]["api_live"]["median"]
            met = "met" if max(live, api) < TARGET_LIVE_MS else "**NOT met**"
            year_moves = max(step["movements"].values())
            kept = step["shape"]["kept"]
            out.append(
                f"- {name}, {step['cases']:,} cases / {year_moves:,} movements per year: the live report "
                f"{live:,.0f} ms, its API request {api:,.0f} ms (< {TARGET_LIVE_MS} ms: {met}); a kept closed "
                f"year {step['ms']['kept']['median']:,.1f} ms in {kept['queries']} "
                f"quer{'y' if kept['queries'] == 1 else 'ies'} and {kept['ledger_reads']} ledger reads "
                f"(cold {step['ms']['cold']['median']:,.0f} ms; before issue 12: "
                f"{step['ms']['before']['median']:,.0f} ms)."
            )
    out.append("")
    out.append(
        "| database | cases per year | movements (closed year / live year) | **live report** | live API request (finance) "
        "| closed, cold (sums + write) | **closed, kept** | closed kept, public API request | before issue 12 (live year) |"
    )
    out.append("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for name, steps in results.items():
        for step in steps:
            moves = " / ".join(f"{n:,}" for _y, n in sorted(step["movements"].items()))

            def cell(key: str, bold: bool = False, step: dict = step) -> str:
                m, q = step["ms"][key], step["shape"][key]
                text = f"**{fmt(m)} ms**" if bold else f"{fmt(m)} ms"
                return f"{text}<br>{q['queries']} q, {q['ledger_reads']} ledger"

            out.append(
                f"| {name} | {step['cases']:,} | {moves} | {cell('live', True)} | {cell('api_live')} "
                f"| {cell('cold')} | {cell('kept', True)} | {cell('api_kept')} | {cell('before')} |"
            )
    out.append("")
    any_step = next(iter(results.values()))[0]
    out.append(
        f"Median (min–max) in milliseconds over {any_step['ms']['live']['n']} rounds (live, cold) and "
        f"{any_step['ms']['kept']['n']} calls (kept), the kinds alternating in every round; `q`: SQL "
        "queries of one call, `ledger`: those reading `budget_budgetmovement` (the staff API request adds "
        "the read of the user's roles; the cold call's 5 are the lines, the sums and the upsert in its "
        "own transaction). 25 budget lines per year (5 programs × 5 funding sources); each case "
        "writes 8 movements (reserve, commit, two executions and payments, the release of the rest of the "
        "commitment, a refund), so both years hold the same number of movements and the table twice that. "
        "Live = the year in progress, summed on every request; cold = a closed year whose kept sums were "
        "deleted (summed, and the sums of its 25 lines written in one upsert); kept = a closed year whose "
        "lines' ledger stamps still match their kept sums. Before issue 12 = the previous ledger check "
        "(ten filtered sums over a join of lines and movements, the default ordering's two joins to "
        "programs and sources, and the previous `(line, kind)` index), on the live year of the same data."
    )
    plans = {name: steps[-1]["plan"] for name, steps in results.items() if steps[-1]["plan"]}
    for name, plan in plans.items():
        cost = re.search(r"cost=[\d.]+\.\.([\d.]+)", plan[0])
        jit = any(line.startswith("JIT:") for line in plan)
        out.append("")
        out.append(
            f"{name}: the ledger sums are one index-only range per line and kind of movement (the plan below). "
            f"The planner prices the live year's at {float(cost.group(1)) if cost else float('nan'):,.0f}, "
            f"{'above' if jit else 'under'} `jit_above_cost` (100,000 by default): "
            + (
                "**the query was JIT-compiled** (see the plan's JIT line)."
                if jit
                else "no JIT. With the stamps table never analyzed the planner assumed 1,850 stamps, priced "
                "the query at 1.7 million and JIT-compiled it, which cost 350 ms of a 600 ms report at "
                "1,000,000 movements; migration `budget.0003` analyzes the table and autovacuum keeps it "
                "analyzed. At default settings, JIT would come back at about twice these movements per year "
                "(without its costly optimization until about ten times)."
            )
        )
        out.append("")
        out.append(
            f"<details><summary>{name}: plan of the live year's ledger sums at "
            f"{max(results[name][-1]['movements'].values()):,} movements</summary>"
        )
        out.append("")
        out.append("```")
        out.extend(plan)
        out.append("```")
        out.append("")
        out.append("</details>")
    out.append("")
    out.append(END)
    return "\n".join(out)


def write_docs(section: str) -> None:
    write_block(section, START, END, path=DOCS)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cases", default="100000,125000", help="cases per year at each step (default: %(default)s)"
    )
    parser.add_argument(
        "--rounds", type=int, default=7, help="rounds of live/cold/kept (default: %(default)s)"
    )
    parser.add_argument(
        "--kept-reps", type=int, default=5, help="kept calls per round (default: %(default)s)"
    )
    parser.add_argument(
        "--before-reps", type=int, default=5, help="calls of the old check (default: %(default)s)"
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep-database", action="store_true", help=f"leave {PG_DB} in place at the end")
    parser.add_argument("--write-docs", action="store_true", help="replace the section in docs/BENCHMARKS.md")
    args = parser.parse_args()
    sizes = sorted(int(n) for n in args.cases.split(","))
    command = ".venv/bin/python bench/report_bench.py " + " ".join(sys.argv[1:])
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    meta = machine()
    meta["when"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    results: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        if not args.skip_postgres:
            print(f"PostgreSQL: database {PG_DB}", flush=True)
            try:
                results["PostgreSQL"] = bench_database(prepare_postgres(), sizes, args)
            finally:
                if not args.keep_database:
                    _pg(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        if not args.skip_sqlite:
            print("SQLite: a temporary file", flush=True)
            results["SQLite"] = bench_database(prepare_sqlite(Path(tmp)), sizes, args)
    meta["elapsed"] = time.perf_counter() - started
    section = report(meta, results, command.strip(), (load_before, os.getloadavg()[0]))
    print(section)
    if args.write_docs:
        write_docs(section)
        print(f"written to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
