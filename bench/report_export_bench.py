#!/usr/bin/env python
"""How long the reports' files take in the request, to set the bounds of ``reports.export_jobs``
(docs/REPORTS.md, "Files made by a job").

    .venv/bin/python bench/report_export_bench.py [--cases 25000] [--database-url URL]

Builds the ledger of the year in progress with ``bench/report_fixture.py`` (8 movements per case) in
a fresh SQLite file (or the PostgreSQL database given, which must be empty and migrated by this
script), then times, median of 3, ``reports.export_jobs.build`` for: the budget-execution report in
CSV, XLSX and PDF (the live year: ledger summed every time), the goals report in XLSX and PDF, and a
program's drill-down (its ledger movements) in CSV and XLSX at 5,000 rows and in full. Prints one
line per measure (ms, and µs per row for the drill-downs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=25_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="report-export-bench-")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "expediente.settings"
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "0")
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    import report_fixture
    from django.core.management import call_command
    from django.utils import timezone

    from reports import export_jobs
    from reports.export_jobs import ExportSpec
    from reports.selectors import current_fiscal_year

    call_command("migrate", verbosity=0)
    year = current_fiscal_year()
    loaded = report_fixture.load([year], 0, args.cases, timezone.now())
    vendor = django.db.connection.vendor
    print(f"database {vendor}: {loaded['rows']:,} movements in {year} ({loaded['seconds']:.0f} s)")
    from registry.models import User

    reader = User.objects.create(username="bench_reader", is_superuser=False)
    from django.contrib.auth.models import Group

    from cases.roles import Role

    reader.groups.add(Group.objects.get_or_create(name=Role.FINANCE)[0])

    def timed(spec: ExportSpec, limit: int = export_jobs.JOB_MAX_ROWS) -> tuple[float, int]:
        runs = []
        size = 0
        for _ in range(3):
            t0 = time.perf_counter()
            file = export_jobs.build(spec, user=reader, limit=limit)
            runs.append((time.perf_counter() - t0) * 1000)
            size = len(file.content)
        return statistics.median(runs), size

    for report, formats in (("budget", ("csv", "xlsx", "pdf")), ("attainment", ("xlsx", "pdf"))):
        for fmt in formats:
            ms, size = timed(ExportSpec(report, year, fmt))
            print(f"{report} {fmt}: {ms:.0f} ms ({size:,} bytes)")
    program = "PROLECHE"
    rows = export_jobs._movements(ExportSpec("movements", year, "csv", "program", program), reader).count()
    for fmt in ("csv", "xlsx"):
        spec = ExportSpec("movements", year, fmt, "program", program)
        ms, size = timed(spec, export_jobs.INLINE_MAX_ROWS)
        print(f"movements {fmt} 5,000 rows: {ms:.0f} ms ({ms * 1000 / 5000:.0f} µs/row, {size:,} bytes)")
        ms, size = timed(spec)
        print(f"movements {fmt} {rows:,} rows: {ms:.0f} ms ({ms * 1000 / rows:.0f} µs/row, {size:,} bytes)")


if __name__ == "__main__":
    main()
