"""The flows' process lock (``lock_impl`` of every flow): viewflow's own ``SelectForUpdateLock`` —
``select_for_update`` on the process row — configured for a bounded wait.

viewflow's ready-made ``lock.select_for_update_lock`` asks with NOWAIT and retries five times with
growing sleeps: 6 to 10 s before it gives up on a held lock, past the 5 s within which a busy case
must be answered (issue 10). The same class with ``nowait=False, attempts=1`` waits for the row once,
queued behind the holder, for at most the connection's ``lock_timeout`` (``DB_LOCK_TIMEOUT_MS``,
1.5 s), then raises viewflow's ``FlowLockFailed``, which the services answer as a 409 ("someone else
is working on this case"). On SQLite ``select_for_update`` does nothing: the IMMEDIATE transaction
already serialises writers."""

from viewflow.workflow import lock

process_lock = lock.SelectForUpdateLock(nowait=False, attempts=1)
