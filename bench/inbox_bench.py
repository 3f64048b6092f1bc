"""Task inbox and queue pages at 100,000 open tasks, on PostgreSQL (issue 4, item 9).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/exp_inbox_bench \\
        .venv/bin/python bench/inbox_bench.py --write-doc docs/BENCHMARKS.md

Builds the data set when the database has none (``--rebuild`` to start over: it DROPS and
re-creates the database named in ``DATABASE_URL``), then, for each scenario, requests the real page
through Django's test client (the whole request: session, user, middleware, template) ``--requests``
times after a warm-up, interleaved with the bare indexed SQL query for the same rows, and reports
p50/p95 latency, response size and SQL query count for both, the ratio, and EXPLAIN (ANALYZE) of
the page's row query. viewflow's stock ``queue``/``inbox`` querysets on the same data are timed
for contrast. ``--write-doc`` replaces the "Task inbox" section of the given Markdown file (between
its markers) and leaves the rest of the file alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from docs_block import write_block  # noqa: E402 - the bench folder is on sys.path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expediente.settings")
# Building the data set runs statements for minutes (a COPY of a million rows, VACUUM): no
# statement_timeout here (DB_STATEMENT_TIMEOUT_MS; the site keeps its 30 s).
os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "0")
os.environ.setdefault("DEBUG", "0")  # cached templates, no query log: as in production

BEGIN, END = "<!-- inbox-bench:begin -->", "<!-- inbox-bench:end -->"
PAGE_ROWS = 25
TARGET_P95_MS, TARGET_BYTES, TARGET_QUERIES = 100, 300_000, 10


# --- database ------------------------------------------------------------------------------------


def _recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _has_data_set() -> bool:
    from django.db import connection
    from django.db.utils import OperationalError, ProgrammingError

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM workflows_task WHERE is_open")
            return cursor.fetchone()[0] > 0
    except ProgrammingError:  # not migrated yet
        return False
    except OperationalError:  # no such database yet (a new machine): built from scratch
        return False


def prepare(url: str, *, rebuild: bool, tasks: int) -> float:
    """Returns the seconds spent building (0 when reused)."""
    import django

    if rebuild:
        _recreate_database(url)
    django.setup()
    if not rebuild and _has_data_set():
        return 0.0
    import inbox_fixture
    from django.core.management import call_command
    from django.db import connection

    if not rebuild:
        connection.close()
        _recreate_database(url)
    started = time.perf_counter()
    print("migrating…", flush=True)
    call_command("migrate", verbosity=0)
    print("building the data set…", flush=True)
    inbox_fixture.build(tasks=tasks)
    print("VACUUM ANALYZE…", flush=True)
    with connection.cursor() as cursor:  # autocommit: VACUUM runs outside a transaction
        cursor.execute("VACUUM ANALYZE")
        seconds = time.perf_counter() - started
        # Remembered with the data set, so a later run that reuses it can still say how long it took.
        name = connection.settings_dict["NAME"]
        cursor.execute(f"COMMENT ON DATABASE \"{name}\" IS 'inbox bench data set, built in {seconds:.0f} s'")
    return seconds


def built_seconds() -> float:
    """How long the data set in this database took to build (see ``prepare``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [connection.settings_dict["NAME"]],
        )
        comment = (cursor.fetchone() or [""])[0] or ""
    found = re.search(r"built in (\d+) s", comment)
    return float(found.group(1)) if found else 0.0


# --- scenarios -----------------------------------------------------------------------------------


def scenarios():
    import inbox_fixture as fx

    from registry.models import Department

    scz = Department.objects.get(code="SCZ").pk
    others = fx.USER_OBJECT_PERMISSIONS + fx.GROUP_OBJECT_PERMISSIONS
    soon = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()
    return [
        (
            "inbox-typical",
            f"Mis tareas: evaluator holding ~{fx.EV_INBOX_TASKS} tasks",
            fx.EV_INBOX,
            "mine",
            {},
        ),
        (
            "inbox-heavy",
            f"Mis tareas: evaluator holding {fx.EV_HEAVY_TASKS:,} tasks",
            fx.EV_HEAVY,
            "mine",
            {},
        ),
        (
            "queue-plain",
            "Disponibles: national evaluator, no object permission",
            fx.EV_PLAIN,
            "available",
            {},
        ),
        (
            "queue-perms",
            f"Disponibles: 9 departments + 5 programs + {others:,} other guardian object permissions"
            f" + {fx.SOD_DECISIONS} four-eyes exclusions",
            fx.EV_QUEUE,
            "available",
            {},
        ),
        (
            "queue-regional",
            "Disponibles: evaluator scoped to SCZ + CBB and PROLECHE",
            fx.EV_REGIONAL,
            "available",
            {},
        ),
        ("queue-finance", "Disponibles: finance (national)", fx.FIN_QUEUE, "available", {}),
        (
            "queue-filtered",
            "Disponibles (as queue-perms), filtered: step, department, due before",
            fx.EV_QUEUE,
            "available",
            {"step": "progress_review", "department": scz, "due_before": soon},
        ),
        (
            "queue-deep",
            "Disponibles (as queue-perms), the page after row 2,000 (keyset)",
            fx.EV_QUEUE,
            "available",
            "deep",
        ),
        ("done-heavy", f"Realizadas por mí: {fx.EV_HEAVY_DECIDED:,} decided tasks", fx.EV_HEAVY, "done", {}),
        ("applicant", "Mis tareas: applicant of a unit with ~120 open tasks", fx.APPLICANT, "mine", {}),
    ]


TAB_URL = {"mine": "/tasks/", "available": "/tasks/available/", "done": "/tasks/done/"}


def bare_query(user, tab: str, params: dict, after=None):
    """The minimal SQL for the same rows (same filters, same order, same LIMIT), built from the same
    facts the page reads (roles, scopes, four-eyes exclusions: read once, outside the timing)."""
    from approvals import selectors
    from cases.roles import STAFF_ROLES

    select = (
        "SELECT ct.id, ct.case_code, ct.beneficiary, ct.step, ct.amount, ct.due_at, ct.created "
        "FROM workflows_task ct"
    )
    where, args = [], []
    order = "ct.due_at, ct.id"
    if tab == "mine":
        # Held by the user, or an open step of its own applicant unit (every member's, never claimed).
        roles = selectors._roles_and_scopes(type(user).objects.get(pk=user.pk))[0]
        if user.unit_id and "applicant" in roles and not roles & STAFF_ROLES:
            # A unit member holds nothing but its unit's steps (the page's shortcut, same rows).
            where.append("ct.role = 'applicant' AND ct.unit_id = %s AND ct.status IN ('NEW', 'ASSIGNED')")
            args.append(user.unit_id)
        else:
            where.append("ct.owner_id = %s AND ct.status = 'ASSIGNED'")
            args.append(user.pk)
            # A held task the holder may no longer decide (four eyes, applicant side) is not offered.
            where.extend(_actor_conditions(user, args))
        where.append("ct.is_open")
    elif tab == "done":  # the page's shape: the ids from the index first, then their rows
        where.append(
            "ct.id IN (SELECT id FROM workflows_task WHERE decided_by_id = %s ORDER BY id DESC LIMIT %s)"
        )
        args += [user.pk, PAGE_ROWS + 1]
        order = "ct.id DESC"
    else:
        roles, depts, programs = selectors._roles_and_scopes(type(user).objects.get(pk=user.pk))
        staff = sorted(roles & STAFF_ROLES)
        parts = []
        if staff:
            part = ["ct.role = ANY(%s)"]
            args.append(staff)
            if depts is not None:
                part.append("(NOT ct.scope_department OR ct.department_id = ANY(%s))")
                args.append(sorted(depts))
            if programs is not None:
                part.append("(NOT ct.scope_program OR ct.program_id = ANY(%s))")
                args.append(sorted(programs))
            part.extend(_actor_conditions(user, args))
            parts.append(" AND ".join(part))
        # An applicant's unit steps are in its "Mis tareas", never in "Disponibles".
        if not parts:
            parts.append("FALSE")
        where += [f"({' OR '.join(parts)})", "ct.is_open", "ct.status = 'NEW'"]
    if params.get("step"):
        where.append("ct.step = %s")
        args.append(params["step"])
    if params.get("department"):
        where.append("ct.department_id = %s")
        args.append(params["department"])
    if params.get("due_before"):
        from django.utils import timezone

        day = dt.date.fromisoformat(params["due_before"]) + dt.timedelta(days=1)
        where.append("ct.due_at < %s")
        args.append(timezone.make_aware(dt.datetime.combine(day, dt.time.min)))
    if after is not None:
        due, pk = after
        where.append("ct.due_at >= %s AND (ct.due_at > %s OR ct.id > %s)")
        args += [due, due, pk]
    sql = f"{select} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT {PAGE_ROWS + 1}"
    return sql, args


def _actor_conditions(user, args: list) -> list[str]:
    """What ``user`` may work whoever holds the task (the page's ``selectors._actor_q``): nothing
    incompatible with a step it decided on the case (four eyes), and never staff on a case it acted
    on for the applicant (the page's correlated EXISTS on the audit trail; the date it first held an
    agency role read beforehand). Appends the parameters to ``args``."""
    from approvals import sod
    from audit.actions import AuditAction

    conditions = []
    for step, codes in sod.excluded_cases_by_step(user).items():
        conditions.append("NOT (ct.step = %s AND ct.case_code = ANY(%s))")
        args += [step, sorted(codes)]
    conditions.append(
        "NOT EXISTS (SELECT 1 FROM audit_auditentry a WHERE a.actor_id = %s "
        'AND a."case" = ct.case_code AND (a.action = ANY(%s) '
        "OR (a.action = %s AND a.data->>'step' = ANY(%s)) OR (a.action = ANY(%s) AND a.seq < %s)))"
    )
    args += [
        user.pk,
        sod.applicant_only_actions(),
        str(AuditAction.TASK_COMPLETED),
        [str(st) for st in sod.applicant_steps()],
        sod.either_side_actions(),
        _became_staff_seq(user),
    ]
    return conditions


def _became_staff_seq(user):
    """The seq of the entry that first gave ``user`` an agency role (None: the trail records none),
    as ``approvals.sod`` computes it in its subquery."""
    from approvals import sod

    return sod.AuditEntry.objects.filter(pk__in=sod._became_staff(user)).values_list("seq", flat=True).first()


def _deep_cursor(sql: str, args: list, row: int):
    """The (due_at, pk) of row ``row`` of the list and the page's cursor string for it."""
    from django.db import connection

    from approvals.views import _due_cursor

    deep_sql = sql.replace(f"LIMIT {PAGE_ROWS + 1}", f"LIMIT 1 OFFSET {row - 1}")
    with connection.cursor() as cursor:
        cursor.execute(deep_sql, args)
        pk, _code, _b, _s, _a, due, _c = cursor.fetchone()

    class _Row:
        pass

    marker = _Row()
    marker.pk, marker.due_at = pk, due
    return (due, pk), _due_cursor(marker)


def percentile(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def run_scenario(client_for, key, label, username, tab, params, requests: int, warmup: int) -> dict:
    from urllib.parse import urlencode

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from registry.models import User

    user = User.objects.get(username=username)
    client = client_for(user)
    after = None
    if params == "deep":
        sql, args = bare_query(user, tab, {})
        after, cursor_text = _deep_cursor(sql, args, 2000)
        params = {"after": cursor_text}
    sql, args = bare_query(user, tab, params, after=after)
    url = TAB_URL[tab] + ("?" + urlencode(params) if params else "")

    def page():
        response = client.get(url)
        assert response.status_code == 200, (key, response.status_code)
        return response

    def bare():
        with connection.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall()

    for _ in range(warmup):
        page()
        bare()
    page_times, page_cpu, bare_times = [], [], []
    for _ in range(requests):
        c0, t0 = time.process_time(), time.perf_counter()
        response = page()
        t1, c1 = time.perf_counter(), time.process_time()
        rows = bare()
        t2 = time.perf_counter()
        page_times.append(t1 - t0)
        page_cpu.append(c1 - c0)
        bare_times.append(t2 - t1)
    connection.queries_log.clear()  # a bounded deque (9,000): start empty so nothing is cut off
    with CaptureQueriesContext(connection) as queries:
        response = page()
    shown = [int(pk) for pk in re.findall(r'href="/tasks/(\d+)/" class="code"', response.content.decode())]
    row_queries = [
        q["sql"]
        for q in queries.captured_queries
        if 'FROM "workflows_task"' in q["sql"] and "LIMIT" in q["sql"]
    ]
    plan = explain(row_queries[-1]) if row_queries else None
    result = {
        "key": key,
        "label": label,
        "url": url,
        "rows": len(shown),
        "same_rows": shown == [r[0] for r in rows[:PAGE_ROWS]],
        "has_next": 'rel="next"' in response.content.decode(),
        "bytes": len(response.content),
        "queries": len(queries),
        "page_p50": _ms(percentile(page_times, 50)),
        "page_p95": _ms(percentile(page_times, 95)),
        "page_max": _ms(max(page_times)),
        "cpu_p50": _ms(percentile(page_cpu, 50)),
        "cpu_p95": _ms(percentile(page_cpu, 95)),
        "bare_p50": _ms(percentile(bare_times, 50)),
        "bare_p95": _ms(percentile(bare_times, 95)),
        "requests": requests,
        "plan": plan,
    }
    result["ratio_p95"] = round(result["page_p95"] / result["bare_p95"], 1) if result["bare_p95"] else None
    return result


def explain(sql: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        lines = [r[0] for r in cursor.fetchall()]
    text = "\n".join(lines)
    indexes = sorted(
        set(re.findall(r"(?:Index (?:Only )?Scan(?: Backward)? using|Bitmap Index Scan on) (\w+)", text))
    )
    seq = sorted(set(re.findall(r"Seq Scan on (\w+)", text)))
    execution = re.search(r"Execution Time: ([\d.]+) ms", text)
    return {
        "indexes": indexes,
        "seq_scans": seq,
        "execution_ms": float(execution.group(1)) if execution else None,
        "text": text,
    }


def viewflow_stock(username: str, kind: str, reps: int) -> dict:
    """viewflow's own querysets for the same person, as its list views run them: the user fetched
    fresh (cold permission caches, as in a request), ``Paginator(qs, 25).page(1)`` (COUNT + rows)."""
    from django.core.paginator import Paginator
    from django.db import connection
    from viewflow.workflow.status import STATUS

    from iniciativas.flow import InitiativeFlow
    from registry.models import User
    from workflows.models import CaseTask as Task  # viewflow's TaskQuerySet, on our one task table

    times, counts, total = [], [], None
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(1)  # a counter, not CaptureQueriesContext: its log keeps 9,000 queries at most
        return execute(sql, params, many, context)

    for _ in range(reps):
        executed.clear()
        with connection.execute_wrapper(count):
            t0 = time.perf_counter()
            user = User.objects.get(username=username)
            if kind == "queue":  # TaskQuerySet.queue() minus its flow-level view-permission filter
                qs = Task.objects.user_queue(user, flow_class=InitiativeFlow).filter(status=STATUS.NEW)
            else:  # TaskQuerySet.inbox(), likewise
                qs = Task.objects.coerce_for([InitiativeFlow]).filter(owner=user, status=STATUS.ASSIGNED)
            page = Paginator(qs.order_by("-created"), PAGE_ROWS).page(1)
            list(page.object_list)
            total = page.paginator.count
            times.append(time.perf_counter() - t0)
        counts.append(len(executed))
    return {
        "username": username,
        "kind": kind,
        "reps": reps,
        "p50": _ms(percentile(times, 50)),
        "max": _ms(max(times)),
        "queries": max(counts),
        "count": total,
    }


# --- machine and report --------------------------------------------------------------------------


def machine() -> dict:
    import django
    import viewflow
    from django.db import connection

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(ln for ln in Path("/proc/meminfo").read_text().splitlines() if ln.startswith("MemTotal"))
        mem_gib = round(int(mem.split()[1]) / 1024 / 1024, 1)
    except OSError:
        mem_gib = None
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        pg = cursor.fetchone()[0].split(" on ")[0]
        cursor.execute("SHOW shared_buffers")
        shared = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FILTER (WHERE is_open), count(*) FROM workflows_task")
        open_tasks, all_tasks = cursor.fetchone()
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gib": mem_gib,
        "os": platform.platform(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "viewflow": getattr(viewflow, "__version__", "2.4.0"),
        "postgres": pg,
        "shared_buffers": shared,
        "open_tasks": open_tasks,
        "task_rows": all_tasks,
        "db_size": size,
    }


def markdown(report: dict) -> str:
    m, r = report["machine"], report["results"]
    ok = all(
        x["page_p95"] <= TARGET_P95_MS and x["bytes"] <= TARGET_BYTES and x["queries"] <= TARGET_QUERIES
        for x in r
    )
    results_rows = [
        f"| `{x['key']}`: {x['label']} | {x['rows']}{'+' if x['has_next'] else ''} | {x['page_p50']} ms "
        f"| **{x['page_p95']} ms** | {x['bytes'] / 1000:.1f} KB | **{x['queries']}** "
        f"| {x['cpu_p50']} ms | {x['bare_p50']} ms | {x['bare_p95']} ms | {x['ratio_p95']} "
        f"| {'yes' if x['same_rows'] else 'NO'} |"
        for x in r
    ]
    plan_rows = []
    for x in r:
        p = x["plan"] or {}
        used = ", ".join(f"`{i}`" for i in p.get("indexes", [])) or "none"
        seq = ", ".join(f"`{t}`" for t in p.get("seq_scans", [])) or "none"
        plan_rows.append(f"| `{x['key']}` | {used} | {seq} | {p.get('execution_ms')} ms |")
    plans = [
        f"`{x['key']}`:\n\n```\n{x['plan']['text']}\n```\n"
        for x in r
        if x["key"] in ("queue-perms", "inbox-heavy") and x["plan"]
    ]
    viewflow_rows = [
        f"| {v['kind']} | `{v['username']}` | {v['reps']} | {v['p50']} ms | {v['max']} ms "
        f"| {v['queries']:,} | {v['count']:,} |"
        for v in report["viewflow"]
    ]
    template = (Path(__file__).parent / "inbox_report.md").read_text(encoding="utf-8")
    fields = {
        **m,
        "open_tasks": f"{m['open_tasks']:,}",
        "task_rows": f"{m['task_rows']:,}",
    }
    body = template.format_map(
        fields
        | {
            "target_ms": TARGET_P95_MS,
            "target_kb": TARGET_BYTES // 1000,
            "target_queries": TARGET_QUERIES,
            "verdict": "all targets met" if ok else "NOT all targets met, see the table",
            "when": report["when"],
            "requests": report["requests"],
            "warmup": report["warmup"],
            "total_s": report["total_s"],
            "build_s": f"{report['build_s']:.0f}",
            "results_rows": "\n".join(results_rows),
            "plan_rows": "\n".join(plan_rows),
            "plans": "\n".join(plans),
            "viewflow_rows": "\n".join(viewflow_rows) or "| (not run) | | | | | | |",
            "load_before": report["load_before"],
            "load_after": report["load_after"],
            "note": f"\n- {report['note']}" if report.get("note") else "",
        }
    )
    return f"{BEGIN}\n{body.rstrip()}\n{END}"


def write_doc(path: Path, section: str) -> None:
    write_block(section, BEGIN, END, path=path)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="drop and re-create the database first")
    parser.add_argument("--only", default="", help="comma-separated scenario keys")
    parser.add_argument("--no-viewflow", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--write-doc", type=Path, default=None)
    parser.add_argument("--note", default="", help="a sentence for the doc's machine notes (e.g. other runs)")
    parser.add_argument("--from-json", type=Path, default=None, help="re-render a saved run, measure nothing")
    args = parser.parse_args()
    if args.from_json:
        report = json.loads(args.from_json.read_text(encoding="utf-8"))
        report["note"] = args.note or report.get("note", "")
        section = markdown(report)
        if args.write_doc:
            write_doc(args.write_doc, section)
        print(section)
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/inbox_bench.py measures PostgreSQL: set DATABASE_URL=postgres://…/exp_inbox_bench")

    started = time.perf_counter()
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    build_s = prepare(url, rebuild=args.rebuild, tasks=args.tasks)

    from django.test import Client

    def client_for(user):
        client = Client()
        client.force_login(user)
        return client

    import inbox_fixture as fx

    results = []
    for key, label, username, tab, params in scenarios():
        if args.only and key not in args.only.split(","):
            continue
        print(f"{key}…", flush=True)
        results.append(
            run_scenario(client_for, key, label, username, tab, params, args.requests, args.warmup)
        )
        x = results[-1]
        print(
            f"  p50 {x['page_p50']} ms, p95 {x['page_p95']} ms, {x['bytes']} B, {x['queries']} queries; "
            f"bare p95 {x['bare_p95']} ms; same rows {x['same_rows']}",
            flush=True,
        )
    stock = []
    if not args.no_viewflow:
        print("viewflow stock querysets…", flush=True)
        for username, kind, reps in (
            (fx.EV_QUEUE, "queue", 3),
            (fx.EV_PLAIN, "queue", 5),
            (fx.EV_HEAVY, "inbox", 5),
        ):
            stock.append(viewflow_stock(username, kind, reps))
            print(f"  {stock[-1]}", flush=True)
    report = {
        "when": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "requests": args.requests,
        "warmup": args.warmup,
        "build_s": build_s or 0.0,
        "machine": machine(),
        "results": results,
        "viewflow": stock,
        "load_before": load_before,
        "load_after": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        "total_s": round(time.perf_counter() - started, 1),
        "note": args.note,
    }
    if not build_s:
        report["build_s"] = built_seconds()
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    section = markdown(report)
    print(section)
    if args.write_doc:
        write_doc(args.write_doc, section)
        print(f"wrote the Task inbox section of {args.write_doc}")
    print(f"total {report['total_s']} s")


if __name__ == "__main__":
    main()
