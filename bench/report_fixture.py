"""The data set of ``bench/report_bench.py``: budget ledgers of two fiscal years, fast.

Programs, funding sources, the actor and the budget lines are ORM rows. The ledger movements are NOT
written through ``budget.services`` (800,000 locked, audited moves would take hours): this BENCHMARK
FIXTURE (and nothing outside ``bench/``) appends them with ``COPY`` on PostgreSQL and ``executemany`` on
SQLite, with the ledger-stamp triggers lifted for the load (on PostgreSQL a per-row trigger updating
the same 25 stamp rows 800,000 times in one transaction walks ever longer row-version chains), then
bumps every stamp once, as the triggers would have, and sets each line's figures to the sums of its
movements, so the ledger reconciles.

Shape (seeded, reproducible): 5 programs x 5 funding sources = 25 lines per year, cases spread over the
lines by program and source weights; each case writes 8 movements: reserve R, commit R, execute 40 %,
pay it, execute 40 %, pay it, release the 20 % left of the commitment, refund 1-5 % of what was paid.
Each load adds one allocation per line covering what its new cases executed, with a margin. The fixture
holds the ledger only: the report reads no case rows (cases are known to the ledger by their code).
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections import defaultdict

SEED = 20261207
MOVES_PER_CASE = 8
PROGRAMS = {
    "PROLECHE": ("Fondo PROLECHE", 45),
    "PROMYPE": ("Apoyo a micro y pequeñas empresas (PROMYPE)", 30),
    "CETIP": ("Centros de Tecnología para la Innovación Productiva (CETIP)", 15),
    "REGISTRO": ("Registro y Acreditación de Unidades Productivas", 5),
    "PROBOLIVIA": ("PRO-BOLIVIA (administración)", 5),
}
SOURCES = {
    "10": ("Tesoro General de la Nación", 50),
    "11": ("TGN otros ingresos", 10),
    "41": ("Transferencias TGN", 10),
    "42": ("Transferencias de recursos específicos", 10),
    "80": ("Donación externa", 20),
}
TRIGGER = "budget_budgetmovement_stamp"  # PostgreSQL's (budget.db)
COLUMNS = ("line_id", "kind", "amount", "case_code", "actor_id", "at", "description")


def _cents(value: int) -> str:
    return f"{value // 100}.{value % 100:02d}"


def setup_reference() -> dict:
    """Programs, sources, the actor (idempotent); returns their ids."""
    from budget.models import FundingSource, Program
    from registry.models import User

    actor, _ = User.objects.get_or_create(
        username="bench_finance", defaults={"first_name": "Banco", "last_name": "Finanzas"}
    )
    programs = {
        code: Program.objects.get_or_create(code=code, defaults={"name": name})[0].pk
        for code, (name, _w) in PROGRAMS.items()
    }
    sources = {
        code: FundingSource.objects.get_or_create(code=code, defaults={"name": name})[0].pk
        for code, (name, _w) in SOURCES.items()
    }
    return {"actor": actor.pk, "programs": programs, "sources": sources}


def lines_of(year: int, ref: dict) -> list[tuple[int, int]]:
    """The 25 lines of ``year`` as ``(line id, weight)``, created empty if missing."""
    from budget.models import BudgetLine

    out = []
    for pcode, (_n, pw) in PROGRAMS.items():
        for scode, (_m, sw) in SOURCES.items():
            line, _ = BudgetLine.objects.get_or_create(
                fiscal_year=year, program_id=ref["programs"][pcode], source_id=ref["sources"][scode]
            )
            out.append((line.pk, pw * sw))
    return out


def movements(year: int, lines: list[tuple[int, int]], first: int, count: int, actor: int, rng, until):
    """The movement rows (``COLUMNS``) of cases ``first`` .. ``first + count - 1`` of ``year`` and one
    allocation per line, with what they add to each line's figures (``{line: {figure: cents}}``)."""
    ids = [pk for pk, _w in lines]
    weights = [w for _pk, w in lines]
    start = dt.datetime(year, 1, 2, 12, tzinfo=dt.UTC)
    span = max(1, int((min(until, dt.datetime(year, 12, 20, tzinfo=dt.UTC)) - start).total_seconds()))
    deltas: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    chosen = rng.choices(ids, weights=weights, k=count)
    rows = []
    for n, line in enumerate(chosen):
        i = first + n
        code = f"INI-{year}-{i:06d}"
        reserve = rng.randrange(20_000_00, 500_000_00)
        e1 = e2 = reserve * 2 // 5
        release = reserve - e1 - e2
        refund = max(1, (e1 + e2) * rng.randint(1, 5) // 100)
        t0 = start + dt.timedelta(seconds=rng.randrange(span))
        day = dt.timedelta(hours=6)
        for k, (kind, amount) in enumerate(
            (
                ("reserve", reserve),
                ("commit", reserve),
                ("execute", e1),
                ("pay", e1),
                ("execute", e2),
                ("pay", e2),
                ("release_commitment", release),
                ("refund", refund),
            )
        ):
            rows.append((line, kind, _cents(amount), code, actor, (t0 + k * day).isoformat(), ""))
        d = deltas[line]
        d["executed"] += e1 + e2 - refund
        d["paid"] += e1 + e2 - refund
    for line in ids:  # what the new cases executed, with a margin: the line stays within its budget
        allocate = deltas[line]["executed"] * 5 // 4 + 1_000_000_00
        deltas[line]["amount_in_force"] += allocate
        rows.append((line, "allocate", _cents(allocate), "", actor, start.isoformat(), "Presupuesto"))
    return rows, deltas


def _apply_figures(cursor, deltas: dict) -> None:
    for line, d in deltas.items():
        cursor.execute(
            "UPDATE budget_budgetline SET amount_in_force = amount_in_force + %s, "
            "executed = executed + %s, paid = paid + %s WHERE id = %s",
            [_cents(d["amount_in_force"]), _cents(d["executed"]), _cents(d["paid"]), line],
        )


def load(years: list[int], first: int, count: int, until: dt.datetime) -> dict:
    """Add cases ``first`` .. ``first + count - 1`` to each of ``years`` (8 movements each), bypassing
    the services (see the module docstring). Returns the rows written and the seconds taken."""
    import time

    from django.db import connection, transaction

    from budget import db

    t0 = time.perf_counter()
    ref = setup_reference()
    rng = random.Random(SEED + first)
    written = 0
    vendor = connection.vendor
    with transaction.atomic():
        for year in years:
            lines = lines_of(year, ref)
            rows, deltas = movements(year, lines, first, count, ref["actor"], rng, until)
            written += len(rows)
            with connection.cursor() as cursor:
                if vendor == "postgresql":
                    # Foreign keys checked at the end of the COPY, not queued to COMMIT: a table with
                    # pending trigger events cannot have its triggers enabled again.
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    cursor.execute(f"ALTER TABLE budget_budgetmovement DISABLE TRIGGER {TRIGGER}")
                    _copy(cursor, rows)
                    cursor.execute(f"ALTER TABLE budget_budgetmovement ENABLE ALWAYS TRIGGER {TRIGGER}")
                else:
                    cursor.execute("DROP TRIGGER IF EXISTS budget_budgetmovement_stamp_insert")
                    raw = connection.connection
                    sql = (
                        f"INSERT INTO budget_budgetmovement ({', '.join(COLUMNS)}) "  # noqa: S608 (constants)
                        f"VALUES ({', '.join('?' * len(COLUMNS))})"
                    )
                    for chunk in range(0, len(rows), 50_000):
                        raw.executemany(sql, [_sqlite_row(r) for r in rows[chunk : chunk + 50_000]])
                    for statement in db.create_sql("sqlite"):
                        cursor.execute(statement)
                _apply_figures(cursor, deltas)
                cursor.execute(
                    "UPDATE budget_ledgerstamp SET version = version + 1 WHERE line_id IN "
                    "(SELECT id FROM budget_budgetline WHERE fiscal_year = %s)",
                    [year],
                )
    with connection.cursor() as cursor:
        if vendor == "postgresql":
            # What autovacuum would have done after this many writes (visibility map for index-only
            # scans, statistics of every table, the stamps' too).
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
    return {"rows": written, "seconds": time.perf_counter() - t0}


def _sqlite_row(row: tuple) -> tuple:
    line, kind, amount, code, actor, at, description = row
    # Django keeps aware datetimes in SQLite as naive UTC text.
    return (line, kind, amount, code, actor, at.replace("T", " ").removesuffix("+00:00"), description)


def _copy(cursor, rows: list[tuple]) -> None:
    """PostgreSQL: the rows through one COPY, in text format."""
    raw = cursor.cursor  # psycopg's own cursor under Django's wrapper
    with raw.copy(f"COPY budget_budgetmovement ({', '.join(COLUMNS)}) FROM STDIN") as copy:
        for chunk in range(0, len(rows), 100_000):
            buf = io.StringIO()
            for row in rows[chunk : chunk + 100_000]:
                buf.write("\t".join(map(str, row)))
                buf.write("\n")
            copy.write(buf.getvalue())
