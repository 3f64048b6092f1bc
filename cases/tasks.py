"""The kernel's periodic job: the outbox relay's back-up (``cases.outbox``). The relay process
(``manage.py relay_outbox``) does the work within a second; this beat job catches up if it is not
running. Safe beside it: rows are taken with ``SKIP LOCKED``."""

from celery import shared_task


@shared_task(name="cases.relay_outbox")
def relay_outbox() -> int:
    from . import outbox

    sent = outbox.relay(limit=1000)
    outbox.purge_done()
    return sent


# The long jobs' task (``cases.jobs``), registered with the worker beside the relay.
from .jobs import run_job  # noqa: E402, F401
