"""The staff case list (``/cases/``) at 100,000 cases, on PostgreSQL and SQLite (issue 12, item 6).

    .venv/bin/python bench/caselist_bench.py --write-doc

One command measures both databases, each in a process of its own (Django is configured once per
process): PostgreSQL in the database named by ``--pg-url`` (default ``exp_caselist_bench`` on the
machine's server; created when missing, ``--rebuild`` drops and re-creates it) and SQLite in the file
``--sqlite`` (built when missing). Each data set is built once (``bench/caselist_fixture.py``) and
reused by later runs.

For each scenario it requests the real page through Django's test client (session, user,
middleware, the selector, the template; ``DEBUG=0``) ``--requests`` times after a warm-up, and right
after each request runs the page's own SQL (its count and row queries, as the page sent them) on the
same connection: the **bare** baseline of the same run. It reports p50/p95 latency, the page's size
and query count against the targets (p95 ≤ 100 ms, ≤ 300 KB, ≤ 10 queries), the page/bare ratio, and
on PostgreSQL the plan of the row query. The XLSX export of a filtered list is timed too.
``--write-doc`` replaces the "Staff case list" block of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from docs_block import write_block  # noqa: E402 - the bench folder is on sys.path

BEGIN, END = "<!-- caselist-bench:begin -->", "<!-- caselist-bench:end -->"
AFTER = "<!-- inbox-bench:end -->"
TARGET_P95_MS, TARGET_BYTES, TARGET_QUERIES = 100, 300_000, 10
PG_URL = "postgres://postgres@127.0.0.1:5432/exp_caselist_bench"
SQLITE = Path(tempfile.gettempdir()) / "expediente-caselist-bench.sqlite3"


# --- one database, in its own process ------------------------------------------------------------


def _recreate_pg(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _pg_exists(url: str) -> bool:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _has_data_set() -> bool:
    from django.db import connection
    from django.db.utils import OperationalError, ProgrammingError

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM iniciativas_initiative")
            return cursor.fetchone()[0] > 0
    except (ProgrammingError, OperationalError):
        return False


def prepare(cases: int) -> float:
    """Migrate and build the data set when the database has none; the seconds spent (0: reused)."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)  # also brings a reused data set up to the current schema
    if _has_data_set():
        return 0.0
    import caselist_fixture

    started = time.perf_counter()
    print(f"[{connection.vendor}] building the data set…", flush=True)
    caselist_fixture.build(cases=cases, log=lambda m: print(f"[{connection.vendor}] {m}", flush=True))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return time.perf_counter() - started


def scenarios() -> list[tuple[str, str, str, dict, str]]:
    """``(key, label, username, GET parameters, path)``."""
    import caselist_fixture as fx

    from budget.models import Program
    from iniciativas.models import Initiative
    from registry.models import Department, Unit

    prog = Program.objects.get(code="PROLECHE").pk
    scz = Department.objects.get(code="SCZ").pk
    unit = Unit.objects.order_by("pk")[120]
    total = Initiative.objects.count()
    code = Initiative.objects.order_by("pk").values_list("code", flat=True)[total // 2]
    cases = "/cases/"
    return [
        ("all-control", "internal control (national), no filter", fx.CONTROL, {}, cases),
        ("all-evaluator", "evaluator without scopes, no filter", fx.NATIONAL, {}, cases),
        ("regional", "evaluator scoped to SCZ + CBB and PROLECHE, no filter", fx.REGIONAL, {}, cases),
        (
            "open-initiatives",
            'the home counter\'s link: initiatives "in progress"',
            fx.CONTROL,
            {"kind": "initiative", "state": "open"},
            cases,
        ),
        (
            "search-word",
            "search a word of many units' names (1 unit in 5)",
            fx.NATIONAL,
            {"q": "Lechera"},
            cases,
        ),
        (
            "search-name",
            "search one unit's name",
            fx.NATIONAL,
            {"q": unit.name.split(" (")[0].lower()},
            cases,
        ),
        ("search-nit", "search one unit's NIT", fx.NATIONAL, {"q": unit.tax_id}, cases),
        ("search-code", "search one case code", fx.NATIONAL, {"q": code}, cases),
        (
            "filtered",
            "state + program + department + a year's date range",
            fx.NATIONAL,
            {
                "state": "in_execution",
                "program": prog,
                "department": scz,
                "since": "2025-01-01",
                "until": "2025-12-31",
            },
            cases,
        ),
        ("deep", "page 200 (the last one offered), no filter", fx.CONTROL, {"page": 200}, cases),
    ]


EXPORT = (
    "export",
    "XLSX export: transfers in follow-up (~3,000 rows)",
    "cl_control",
    {"kind": "transfer", "state": "in_followup"},
    "/cases/export.xlsx",
)


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _list_queries(captured) -> list[str]:
    """The page's own SQL: the count and the rows (the other queries are the session, the user, the
    roles and scopes, the filters' reference rows and the header's)."""
    # The export reads through a server-side cursor on PostgreSQL: its query, without the DECLARE.
    declare = re.compile(r'^DECLARE "[^"]+" NO SCROLL CURSOR (?:WITH(?:OUT)? HOLD )?FOR ')
    return [declare.sub("", q["sql"]) for q in captured if '"list_kind"' in q["sql"]]


def explain(sql: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        text = "\n".join(r[0] for r in cursor.fetchall())
    indexes = sorted(
        set(re.findall(r"(?:Index (?:Only )?Scan(?: Backward)? using|Bitmap Index Scan on) (\w+)", text))
    )
    seq = sorted(set(re.findall(r"Seq Scan on (\w+)", text)))
    execution = re.search(r"Execution Time: ([\d.]+) ms", text)
    return {
        "indexes": indexes,
        "seq_scans": seq,
        "execution_ms": float(execution.group(1)) if execution else None,
    }


def run_scenario(key, label, username, params, path, requests: int, warmup: int) -> dict:
    from urllib.parse import urlencode

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from registry.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    url = path + ("?" + urlencode(params) if params else "")

    def page():
        response = client.get(url)
        assert response.status_code == 200, (key, response.status_code)
        return response

    with CaptureQueriesContext(connection) as captured:
        response = page()
    # Copied now: the next request resets the connection's query log the context reads from.
    all_sql = list(captured.captured_queries)
    own_sql = _list_queries(all_sql)

    def bare():
        with connection.cursor() as cursor:
            for sql in own_sql:
                cursor.execute(sql)
                cursor.fetchall()

    for _ in range(warmup):
        page()
        bare()
    page_times, page_cpu, bare_times = [], [], []
    for _ in range(requests):
        c0, t0 = time.process_time(), time.perf_counter()
        response = page()
        t1, c1 = time.perf_counter(), time.process_time()
        bare()
        t2 = time.perf_counter()
        page_times.append(t1 - t0)
        page_cpu.append(c1 - c0)
        bare_times.append(t2 - t1)
    body = response.content
    text = body.decode("utf-8", "replace") if path == "/cases/" else ""
    result = {
        "key": key,
        "label": label,
        "url": url,
        "rows": len(re.findall(r'<th scope="row"><a href="', text)) if text else None,
        "count_text": (re.search(r'class="list-count"[^>]*>\s*(.*?)\s*<', text, re.S) or [None, ""])[
            1
        ].strip()
        if text
        else "",
        "bytes": len(body),
        "queries": len(all_sql),
        "list_queries": len(own_sql),
        "page_p50": _ms(percentile(page_times, 50)),
        "page_p95": _ms(percentile(page_times, 95)),
        "cpu_p50": _ms(percentile(page_cpu, 50)),
        "bare_p50": _ms(percentile(bare_times, 50)),
        "bare_p95": _ms(percentile(bare_times, 95)),
        "requests": requests,
    }
    result["ratio_p95"] = round(result["page_p95"] / result["bare_p95"], 1) if result["bare_p95"] else None
    if connection.vendor == "postgresql" and own_sql:
        result["plan"] = explain(own_sql[-1])
    return result


def measure(db: str, args) -> dict:
    """Runs in the child process of one database."""
    if db == "postgresql":
        if args.rebuild or not _pg_exists(args.pg_url):
            _recreate_pg(args.pg_url)
        os.environ["DATABASE_URL"] = args.pg_url
    else:
        if args.rebuild and args.sqlite.exists():
            args.sqlite.unlink()
        os.environ["DATABASE_URL"] = f"sqlite:///{args.sqlite}"
    build_s = prepare(args.cases)
    from django.db import connection

    from iniciativas.models import Initiative
    from registrations.models import Registration
    from transfers.models import Transfer

    counts = {
        "initiative": Initiative.objects.count(),
        "transfer": Transfer.objects.count(),
        "registration": Registration.objects.count(),
    }
    started = time.perf_counter()
    results = []
    for key, label, username, params, path in [*scenarios(), EXPORT]:
        if args.only and key not in args.only.split(","):
            continue
        requests = max(5, args.requests // 5) if key == "export" else args.requests
        print(f"[{connection.vendor}] {key}…", flush=True)
        results.append(run_scenario(key, label, username, params, path, requests, args.warmup))
    return {
        "db": connection.vendor,
        "version": ".".join(map(str, connection.Database.sqlite_version_info))
        if connection.vendor == "sqlite"
        else str(connection.pg_version),
        "counts": counts,
        "build_s": round(build_s, 1),
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }


# --- the report ----------------------------------------------------------------------------------


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def markdown(report: dict) -> str:
    lines = [
        BEGIN,
        "## Staff case list",
        "",
        "The staff case list (`/cases/`: every initiative, transfer and registration the user may open,",
        "searched and filtered, 25 rows a page, newest first; `cases.listing`) at "
        f"{report['cases']:,} cases, on PostgreSQL and SQLite. Targets (issue 12, item 6): p95 ≤ "
        f"{TARGET_P95_MS} ms, ≤ {TARGET_BYTES // 1000} KB and ≤ {TARGET_QUERIES} SQL queries per page.",
        "",
        f"**Result: {report['verdict']}** (run of {report['when']}, "
        f"{report['requests']} requests per scenario after {report['warmup']} warm-up requests; "
        f"load average {report['load_before']} before, "
        f"{report['load_after']} after).",
        "",
        "Reproduce (the first run builds both data sets; `--rebuild` starts over):",
        "",
        "```sh",
        ".venv/bin/python bench/caselist_bench.py --write-doc",
        "```",
        "",
        "- **Page**: the real view through Django's test client, in-process: session, user, middleware,",
        "  the roles and scopes (one query), the filters' programs and departments (one), the count and",
        "  the page's rows (one each: a `UNION ALL` of one `SELECT` per registered kind, each through the",
        "  kind's own scope selector), the template, `DEBUG=0`. Queries are every SQL statement of a",
        "  request (session, user and the site header's two included).",
        "- **Bare**: the page's own count and row queries, exactly as the page sent them, run on the same",
        "  connection right after each page request: the database's share. `page/bare` is the ratio of",
        "  the p95s (what Django, the selector and the template add).",
        "- **Data set** (`bench/caselist_fixture.py`, seeded): people, 600 units, programs, calls and",
        "  scopes through the services; the case rows by `bulk_create` (bench only) — 70 % initiatives,",
        "  20 % transfers, 10 % registrations (a third of them a new unit's, name and NIT in `unit_data`),",
        "  created over three years, states weighted as an agency's would be.",
        "",
    ]
    for run in report["runs"]:
        c = run["counts"]
        lines += [
            f"### {'PostgreSQL' if run['db'] == 'postgresql' else 'SQLite'} {run['version']}",
            "",
            f"{sum(c.values()):,} cases ({c['initiative']:,} initiatives, {c['transfer']:,} transfers, "
            f"{c['registration']:,} registrations); measured in {run['seconds']} s"
            + (f"; data set built in {run['build_s']} s." if run["build_s"] else " (data set reused)."),
            "",
            "| scenario | rows | count shown | page p50 | page p95 | size | queries | page CPU p50 "
            "| bare p50 | bare p95 | page/bare p95 |",
            "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for x in run["results"]:
            lines.append(
                f"| `{x['key']}`: {x['label']} | {x['rows'] if x['rows'] is not None else '—'} "
                f"| {x['count_text'] or '—'} | {x['page_p50']} ms | **{x['page_p95']} ms** "
                f"| {x['bytes'] / 1000:.1f} KB | **{x['queries']}** | {x['cpu_p50']} ms | {x['bare_p50']} ms "
                f"| {x['bare_p95']} ms | {x['ratio_p95']} |"
            )
        plans = [x for x in run["results"] if x.get("plan")]
        if plans:
            lines += [
                "",
                "Row query plans (`EXPLAIN (ANALYZE, BUFFERS)`):",
                "",
                "| scenario | indexes used | sequential scans | execution |",
                "|---|---|---|---:|",
            ]
            for x in plans:
                p = x["plan"]
                used = ", ".join(f"`{i}`" for i in p["indexes"]) or "none"
                seq = ", ".join(f"`{t}`" for t in p["seq_scans"]) or "none"
                lines.append(f"| `{x['key']}` | {used} | {seq} | {p['execution_ms']} ms |")
        lines.append("")
    lines += [
        "The export is not a page: it is bounded instead (at most 5,000 rows,",
        "`cases.listing.EXPORT_MAX_ROWS`; a longer list is refused with a message asking for filters), and",
        "its size is that of the workbook.",
        f"Machine: {report['machine']}.",
        END,
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rebuild", action="store_true", help="drop and re-create both data sets")
    parser.add_argument("--only", default="", help="comma-separated scenario keys")
    parser.add_argument("--db", choices=["both", "postgresql", "sqlite"], default="both")
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--sqlite", type=Path, default=SQLITE)
    parser.add_argument("--json", type=Path, default=None, help="also save the raw results here")
    parser.add_argument("--write-doc", action="store_true", help="write the block into docs/BENCHMARKS.md")
    parser.add_argument("--measure", choices=["postgresql", "sqlite"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expediente.settings")
    os.environ["DEBUG"] = "0"  # cached templates, as in production
    if args.measure:
        print("RESULT " + json.dumps(measure(args.measure, args), default=str), flush=True)
        return

    load_before = _load()
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z")
    runs = []
    for db in ["postgresql", "sqlite"] if args.db == "both" else [args.db]:
        child = [sys.executable, __file__, "--measure", db, *sys.argv[1:]]
        out = subprocess.run(child, check=False, capture_output=True, text=True)
        sys.stderr.write(out.stderr[-4000:])
        if out.returncode:
            sys.exit(f"the {db} run failed (exit {out.returncode})")
        for line in out.stdout.splitlines():
            if line.startswith("RESULT "):
                runs.append(json.loads(line[len("RESULT ") :]))
            else:
                print(line, flush=True)
    ok = all(
        x["page_p95"] <= TARGET_P95_MS and x["bytes"] <= TARGET_BYTES and x["queries"] <= TARGET_QUERIES
        for run in runs
        for x in run["results"]
        if x["key"] != "export"
    )
    report = {
        "cases": args.cases,
        "requests": args.requests,
        "warmup": args.warmup,
        "when": when,
        "verdict": "all targets met" if ok else "NOT all targets met, see the tables",
        "load_before": load_before,
        "load_after": _load(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "runs": runs,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    text = markdown(report)
    print(text)
    if args.write_doc:
        write_block(text, BEGIN, END, after=AFTER)


if __name__ == "__main__":
    main()
