"""The flows' process lock (``lock_impl`` of every flow): viewflow's ``select_for_update`` on the
process row, with a bounded wait.

viewflow's own ``select_for_update_lock`` asks with NOWAIT and retries five times with growing
sleeps: 6 to 10 s before it gives up on a held lock. This one waits for the row once, queued behind
the holder, for at most the connection's ``lock_timeout`` (``DB_LOCK_TIMEOUT_MS``, 1.5 s), then
raises ``FlowLockFailed`` like viewflow's, which the services answer as a 409 ("someone else is
working on this case"). On SQLite ``select_for_update`` does nothing: the IMMEDIATE transaction
already serialises writers."""

from contextlib import contextmanager

from django.db import DatabaseError, transaction
from viewflow.workflow.exceptions import FlowLockFailed

from cases import contention


class BoundedSelectForUpdateLock:
    @contextmanager
    def __call__(self, flow_class, process_pk):
        with transaction.atomic():
            try:
                flow_class.process_class._default_manager.filter(pk=process_pk).select_for_update().exists()
            except DatabaseError as exc:
                if contention.classify(exc) != contention.CONTENTION:
                    raise
                raise FlowLockFailed(f"Lock failed for {flow_class}") from exc
            yield


process_lock = BoundedSelectForUpdateLock()
