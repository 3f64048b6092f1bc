#!/usr/bin/env python
"""Where the CPU of our side of ``bench/decisions.py`` goes: ``approvals.services.complete_task`` for
each of its four decisions, under ``cProfile``, on a temporary SQLite database (bench settings, the
same agency and cases as the bench; notifications written to the outbox, no broker needed: kombu's
``memory://``).

    .venv/bin/python bench/profile_decisions.py                 # 20 completions per decision
    .venv/bin/python bench/profile_decisions.py --n 40 --top 40 --sort tottime
    .venv/bin/python bench/profile_decisions.py --only technical_evaluation --dump /tmp/te.prof

Prints, per decision, the CPU milliseconds per completion (``time.process_time``, unprofiled, median
of the completions), the statements per completion, and the profile's top functions (cumulative by
default). Issue 12; docs/BENCHMARKS.md, "Decisions: ours against bare viewflow"."""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _print_sql(run) -> None:
    """Run ``run`` once and print each statement it sends with the project's frames that sent it."""
    import traceback

    from django.db import connection

    sent: list[tuple[str, list[str]]] = []

    def wrapper(execute, sql, params, many, context):
        frames = [
            f"{Path(f.filename).relative_to(ROOT)}:{f.lineno} {f.name}"
            for f in traceback.extract_stack()
            if f.filename.startswith(str(ROOT))
            and "/.venv/" not in f.filename
            and "/bench/" not in f.filename
        ]
        sent.append((" ".join(sql.split())[:160], frames[-3:]))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        run()
    for k, (sql, frames) in enumerate(sent, 1):
        print(f"{k:3d} {sql}")
        for frame in frames:
            print(f"        {frame}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20, help="completions per decision (timed, then profiled)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative", choices=("cumulative", "tottime"))
    parser.add_argument("--only", nargs="+", help="decisions to profile (default: all four)")
    parser.add_argument("--dump", help="write the raw profile (pstats) here (with one decision)")
    parser.add_argument("--no-profile", action="store_true", help="only time (CPU) and count statements")
    parser.add_argument("--sql", action="store_true", help="print one completion's statements, who sent them")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="profile-decisions-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/decisions.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["EXPEDIENTE_VAR_DIR"] = folder
    os.environ["DEBUG"] = "0"
    os.environ.pop("EXPEDIENTE_ENV", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench import decisions as bench

    call_command("migrate", verbosity=0, stdout=io.StringIO(), skip_checks=True)
    world = bench.World()
    world.grow_staff(4)
    chosen = args.only or list(bench.DECISIONS)
    n = args.n
    # One warm-up, n timed without the profiler, n profiled, one for --sql.
    items = {d: bench.prepare_ours(world, d, 2 * n + 2) for d in chosen}
    for d in chosen:
        actor_pk = world.actor(d).pk
        users = bench._fresh_users(actor_pk, 2 * n + 2)
        bench.complete_ours(world, d, items[d][0], users[0])
        counting = bench._Counting()
        cpu = []
        with connection.execute_wrapper(counting):
            for item, user in zip(items[d][1 : n + 1], users[1 : n + 1], strict=True):
                c0 = time.process_time()
                bench.complete_ours(world, d, item, user)
                cpu.append((time.process_time() - c0) * 1000)
        bench.check_ours(d, items[d][: n + 1])
        print(
            f"\n=== {d}: {statistics.median(cpu):.2f} ms CPU per completion (median of {n}; "
            f"min {min(cpu):.2f}), {counting.count / n:.1f} statements"
        )
        if args.sql:
            item, user = items[d][-1], users[-1]
            _print_sql(lambda: bench.complete_ours(world, d, item, user))  # noqa: B023 (run at once)
        if args.no_profile:
            continue
        profile = cProfile.Profile()
        for item, user in zip(items[d][n + 1 : -1], users[n + 1 : -1], strict=True):
            profile.enable()
            bench.complete_ours(world, d, item, user)
            profile.disable()
        if args.dump:
            profile.dump_stats(args.dump)
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
