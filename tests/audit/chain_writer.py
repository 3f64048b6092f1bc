"""A writer process for the concurrency tests: ``python -m tests.audit.chain_writer LABEL COUNT GO_FILE``.

Sets Django up from the environment (``DATABASE_URL``), says "ready", waits for ``GO_FILE`` to exist
(so all writers start together), then appends COUNT entries, each in its own transaction, with a
millisecond between them as requests have: SQLite's lock is not fair (a waiting writer sleeps in its
busy handler while a writer that commits and at once begins again keeps the lock), so back-to-back
writers could run one after another and the test would not exercise concurrent appends at all."""

import os
import sys
import time


def main() -> int:
    label, count, go_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expediente.settings")
    import django

    django.setup()
    from django.db import transaction

    import audit
    from audit.actions import AuditAction

    print("ready", flush=True)
    deadline = time.monotonic() + 60
    while not os.path.exists(go_file):
        if time.monotonic() > deadline:
            return 3
        time.sleep(0.005)
    for i in range(count):
        with transaction.atomic():
            audit.record(AuditAction.BUDGET_PAID, actor=None, data={"writer": label, "i": i})
        time.sleep(0.001)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
