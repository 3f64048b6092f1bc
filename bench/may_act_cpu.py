"""CPU of deciding whether one user may work one task (docs/BENCHMARKS.md, "One decision";
docs/ARCHITECTURE.md, ``cases.sqltemplate``): the same answer three ways, on the demo agency in a
temporary SQLite database.

- ``orm``: ``eligible_users`` for that user with its roles, built and compiled by the ORM each time
  (what ``approvals.services.acting_principal`` did before ``cases.sqltemplate``);
- ``template``: ``approvals.selectors.may_work_itself`` (the same SQL, built once per shape);
- ``checks``: ``approvals.services.refusal_reason``, the per-rule queries of the slow path.

Reproduce: ``.venv/bin/python bench/may_act_cpu.py`` (about a minute: it seeds the demo first).
Prints the CPU milliseconds per call (``time.process_time``, median of 5 rounds of 50 calls)."""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def per_call_ms(fn, calls: int = 50, rounds: int = 5) -> float:
    fn()
    samples = []
    for _ in range(rounds):
        started = time.process_time()
        for _ in range(calls):
            fn()
        samples.append((time.process_time() - started) / calls * 1000)
    return statistics.median(samples)


def main() -> None:
    folder = tempfile.mkdtemp(prefix="may-act-")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expediente.settings")
    import django

    django.setup()
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db.models import Exists

    from approvals import selectors, services
    from cases.roles import Role
    from registry.models import User
    from workflows.models import CaseTask

    quiet = {"verbosity": 0, "stdout": io.StringIO()}
    call_command("migrate", **quiet)
    call_command("seed_demo", **quiet)
    call_command("seed_demo_cases", **quiet)
    task = CaseTask.objects.filter(is_open=True, step="technical_evaluation").first()
    user = next(
        u for u in User.objects.filter(groups__name=task.role) if services.refusal_reason(u, task) is None
    )

    def orm():
        eligible = selectors.eligible_users(task).filter(pk=user.pk)
        roles = Group.objects.filter(user=user.pk, name__in=Role.values).order_by()
        return list(roles.values_list("name", Exists(eligible)))

    def template():
        return selectors.may_work_itself(user, task)

    def checks():
        return services.refusal_reason(User.objects.get(pk=user.pk), task)

    assert any(ok for _name, ok in orm()) and template()[0] and checks() is None
    print(f"task {task.case_code} {task.step}, user {user.username}: CPU ms per call")
    for name, fn in (("orm", orm), ("template", template), ("checks", checks)):
        print(f"  {name:9} {per_call_ms(fn):7.2f}")


if __name__ == "__main__":
    main()
