"""A test-only Celery task for tests/test_broker_faults.py, imported by the worker those tests start
(``celery worker -I tests.broker_fault_jobs``); never by the application.

``tests.held_notify_decision`` is a decision's real notification job (``approvals.notify_decision``)
held at its start until the test lets it go: the test kills the worker while it is held, mid-task.
Each start appends a line to ``<hold_dir>/started``, so the test sees how often the job was begun.
"""

import os
import time
from pathlib import Path

from celery import shared_task


@shared_task(name="tests.held_notify_decision")  # acks_late: the settings' CELERY_TASK_ACKS_LATE
def held_notify_decision(hold_dir: str, **kwargs) -> int:
    from approvals.notifications import notify_decision

    folder = Path(hold_dir)
    with (folder / "started").open("a") as started:
        started.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + 120
    while not (folder / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return notify_decision(**kwargs)
