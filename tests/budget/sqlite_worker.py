"""Helper process for the SQLite concurrency test (not a test module).

Run as ``python tests/budget/sqlite_worker.py <mode> ...`` with ``DATABASE_URL`` pointing at a file
SQLite database already migrated. Modes:

- ``seed <amount_in_force>`` → ``{"line": id, "finance": id}``
- ``reserve <line> <amount> <n> <sync_dir>``: set up Django, announce readiness (``ready-<n>``), wait
  for ``go`` in ``sync_dir``, then reserve → ``{"ok": true}`` or ``{"ok": false, "error": "..."}``
- ``check <line>`` → the line's figures, whether it reconciles, and the audit entries per action.
"""

import json
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expediente.settings")


def main(mode: str, *args: str) -> dict:
    import django

    django.setup()
    from django.core.exceptions import ValidationError
    from django.utils import translation

    from budget import services
    from budget.models import BudgetLine
    from budget.selectors import line_reconciles
    from registry.services import create_user, system_user

    translation.activate("es")
    if mode == "seed":
        system = system_user()
        finance = create_user(actor=system, username="finanzas-sqlite", roles=["finance"])
        program = services.create_program(actor=system, code="PROLECHE", name="Fondo PROLECHE")
        source = services.create_source(actor=system, code="10", name="TGN")
        line = services.create_budget_line(
            actor=finance, fiscal_year=2026, program=program, source=source, amount_in_force=args[0]
        )
        return {"line": line.pk, "finance": finance.pk}
    if mode == "reserve":
        from types import SimpleNamespace

        from registry.models import User

        line_id, amount, n, sync_dir = args
        finance = User.objects.get(username="finanzas-sqlite")
        line = BudgetLine(pk=int(line_id))
        sync = Path(sync_dir)
        (sync / f"ready-{n}").touch()
        deadline = time.monotonic() + 60
        while not (sync / "go").exists():
            if time.monotonic() > deadline:
                return {"ok": False, "error": "no go signal"}
            time.sleep(0.005)
        try:
            services.reserve(
                line, amount, actor=finance, case=SimpleNamespace(case_code=f"INI-2026-{int(n):06d}")
            )
        except ValidationError as exc:
            return {"ok": False, "error": " ".join(exc.messages)}
        return {"ok": True}
    if mode == "check":
        from django.db.models import Count

        from audit.chain import entry_body
        from audit.models import AuditEntry
        from audit.verifier import GENESIS_HASH, entry_hash

        prev, chain_ok = GENESIS_HASH, True
        for entry in AuditEntry.objects.order_by("seq"):
            chain_ok &= entry.prev_hash == prev and entry_hash(prev, entry_body(entry)) == entry.hash
            prev = entry.hash
        line = BudgetLine.objects.get(pk=int(args[0]))
        per_action = dict(AuditEntry.objects.values_list("action").annotate(n=Count("seq")))
        return {
            "reserved": str(line.reserved),
            "available": str(line.available),
            "reconciles": line_reconciles(line),
            "movements": line.movements.filter(kind="reserve").count(),
            "audit": per_action,
            "chain_ok": chain_ok,
        }
    raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:])))
