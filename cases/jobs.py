"""Long jobs (``Job``) run by a Celery worker, with the progress a page shows while it waits.

- ``register(kind, handler)`` — an app registers what a kind of job does (``handler(job, progress)``
  returns the job's result, a JSON-able dict). Today: the imports (``cases.imports``).
- ``start(kind, actor=…, params=…, upload=…)`` — in the caller's transaction: the ``Job`` row and an
  outbox row (``cases.outbox``) owing ``cases.run_job``. A rolled-back request leaves neither; a
  committed one always gets its job run, whatever the broker's state when it committed.
- ``run(job_id)`` — the task. It claims the job with one conditional UPDATE (queued → running, or a
  running job whose worker has been silent for ``STALE_AFTER``), so a message delivered twice runs
  it once; then calls the handler and stores its result (done) or its error (failed).
- ``Progress`` — the handler reports ``progress(done, total)`` as it goes. The row is written at most
  every ``PROGRESS_EVERY`` seconds. Inside a transaction that is still open (an import written all or
  nothing), the page could not see a write through the job's own connection until the commit: on
  PostgreSQL progress then goes through a second, autocommit connection; on SQLite (one writer at a
  time, the embedded profile, where the job runs in the request anyway) it waits for the commit.

Jobs are idempotent by their claim; a job that failed is not retried by itself (its page says why and
the person starts it again).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q
from django.utils import timezone

from . import outbox
from .models import Job

logger = logging.getLogger(__name__)

Handler = Callable[[Job, "Progress"], dict[str, Any]]
_HANDLERS: dict[str, Handler] = {}

PROGRESS_EVERY = 0.5  # seconds between two progress writes
STALE_AFTER = dt.timedelta(minutes=15)  # a running job whose worker wrote nothing for this long


def register(kind: str, handler: Handler) -> None:
    if kind in _HANDLERS and _HANDLERS[kind] is not handler:
        raise ValueError(f"job kind {kind!r} registered twice")
    _HANDLERS[kind] = handler


def registered() -> frozenset[str]:
    return frozenset(_HANDLERS)


def start(
    kind: str,
    *,
    actor,
    params: dict[str, Any] | None = None,
    upload=None,
    upload_name: str = "",
    upload_sha256: str = "",
) -> Job:
    """Queue a job of ``kind`` for ``actor`` (in the caller's transaction)."""
    if kind not in _HANDLERS:
        raise ValueError(f"unknown job kind {kind!r}")
    job = Job(
        kind=kind, created_by=actor, params=params or {}, upload_name=upload_name, upload_sha256=upload_sha256
    )
    if upload is not None:
        job.upload.save(upload_name or "upload", upload, save=False)
    with transaction.atomic():
        job.save()
        outbox.post("cases.run_job", job=job.pk)
    return job


class Progress:
    """``progress(done, total)``: the job's progress, written at most every ``PROGRESS_EVERY`` s."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._written = 0.0
        self._side: BaseDatabaseWrapper | None = None
        # Run in-process inside a caller's transaction (the embedded profile: the outbox relay runs
        # the job in its own transaction), the claim's UPDATE holds the job's row until that commits:
        # a second connection would wait for this one. Progress then goes through this connection.
        self._row_held = connection.in_atomic_block

    def __call__(self, done: int, total: int, *, force: bool = False) -> None:
        self.job.progress_done, self.job.progress_total = done, total
        now = time.monotonic()
        if not force and now - self._written < PROGRESS_EVERY:
            return
        self._written = now
        self._write(done, total)

    def _write(self, done: int, total: int) -> None:
        table = connection.ops.quote_name(Job._meta.db_table)
        sql = f"UPDATE {table} SET progress_done = %s, progress_total = %s WHERE id = %s"  # noqa: S608
        params = [done, total, self.job.pk]
        if not connection.in_atomic_block or self._row_held:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
        elif connection.vendor == "postgresql":
            if self._side is None:
                self._side = connections.create_connection("default")
            with self._side.cursor() as cursor:  # autocommit: seen by the page at once
                cursor.execute(sql, params)
        # SQLite inside a transaction: the progress is written with the result.

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def _claim(job_id: int) -> Job | None:
    now = timezone.now()
    claimed = Job.objects.filter(
        Q(state=Job.State.QUEUED) | Q(state=Job.State.RUNNING, started_at__lt=now - STALE_AFTER), pk=job_id
    ).update(state=Job.State.RUNNING, started_at=now)
    if not claimed:
        return None
    return Job.objects.select_related("created_by").get(pk=job_id)


def run(job_id: int) -> str:
    """Run job ``job_id`` once; returns its final state (or ``"skipped"`` when not claimable)."""
    job = _claim(job_id)
    if job is None:
        return "skipped"
    handler = _HANDLERS.get(job.kind)
    progress = Progress(job)
    try:
        if handler is None:
            raise LookupError(f"unknown job kind {job.kind!r}")
        result = handler(job, progress)
    except Exception as exc:  # the job fails, with its reason; the worker goes on
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        Job.objects.filter(pk=job.pk).update(
            state=Job.State.FAILED, finished_at=timezone.now(), error=f"{type(exc).__name__}: {exc}"[:4000]
        )
        return Job.State.FAILED
    finally:
        progress.close()
    Job.objects.filter(pk=job.pk).update(
        state=Job.State.DONE,
        finished_at=timezone.now(),
        result=result,
        progress_done=job.progress_total or job.progress_done,
        progress_total=job.progress_total,
    )
    return Job.State.DONE


@shared_task(name="cases.run_job")
def run_job(job: int) -> str:
    return run(job)
