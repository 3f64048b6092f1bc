"""The transactional outbox: the jobs a write owes (notifications, e-mails) are rows written in the
write's own transaction, and a relay hands them to Celery afterwards.

- ``post(task, **kwargs)`` — one INSERT in the caller's transaction. A rolled-back decision leaves
  no row, a committed one always does, whatever the broker's state: the request never talks to the
  broker (publishing never happens in the request thread).
- ``relay()`` — takes the due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several relays
  share the work), publishes each to the broker and records the publish (``sent_at``) in the same
  transaction. A row that fails to publish (broker down or hung: the broker's timeouts bound the
  wait) is tried again later, with back-off.
- Done is the job's word, not the publisher's: a published message can still be lost (a broker
  restarted without persistence, a queue purged). The worker marks the row done when the job has
  run (``mark_done``, on Celery's ``task_success`` signal, from the message id ``outbox-<row>-<n>``).
  A row published but not done within ``OUTBOX_LEASE_SECONDS`` (default 5 minutes) is published
  again, up to ``OUTBOX_MAX_PUBLISHES`` times (then it waits for an operator; the error is logged).
- Delivery is therefore at least once — a lease that runs out while the job is still queued or
  running, or a relay that dies between publishing and committing, publishes a row twice — and every
  job is idempotent (notifications are insert-or-skip on ``(user, event_key)``), so the effect is once.
  Keep the lease longer than a job normally waits in the queue: a shorter one only adds duplicates.
- Who runs the relay: ``python manage.py relay_outbox`` (a loop; a production process beside the
  web and the Celery workers), backed up by the ``cases.relay_outbox`` beat task. In the embedded
  profile (no broker: Celery runs tasks in-process) the rows a transaction posted run right after
  its commit, in-process, as the tasks did before the outbox, and are done when they return; a row
  whose job failed stays for the next ``relay()`` (the embedded scheduler, ``cases.embedded``, runs
  it every 10 seconds).
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from celery import current_app
from celery.signals import task_success
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

BATCH = 100
# Back-off of a row that failed to publish: 2, 4, 8 … seconds, at most 5 minutes.
MAX_BACKOFF_SECONDS = 300
DONE_KEPT_DAYS = 7
TASK_ID = re.compile(r"^outbox-(\d+)-\d+$")


def lease() -> dt.timedelta:
    """How long a published row may stay not done before it is published again."""
    return dt.timedelta(seconds=float(getattr(settings, "OUTBOX_LEASE_SECONDS", 300)))


def max_publishes() -> int:
    return int(getattr(settings, "OUTBOX_MAX_PUBLISHES", 20))


def _eager() -> bool:
    return bool(current_app.conf.task_always_eager)


def post(task: str, **kwargs) -> OutboxMessage:
    """Owe Celery task ``task`` with ``kwargs`` (JSON-able), in the caller's transaction."""
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs, available_at=timezone.now())
    if _eager():
        transaction.on_commit(lambda: _run_posted(message.pk), robust=True)
    return message


def _run_posted(pk: int) -> None:
    """Embedded profile: run a committed row's job in-process now (as ``relay`` would)."""
    relay(ids=[pk])


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(2**attempts, MAX_BACKOFF_SECONDS))


def _task(name: str):
    """The registered Celery task ``name``; the apps' ``tasks`` modules are imported on first need
    (Celery discovers them lazily; a web process may not have imported them yet)."""
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def task_id(message: OutboxMessage) -> str:
    """The Celery message id of the row's next publish: ``outbox-<row>-<publish>``. The worker finds
    the row by it (``mark_done``), and a republished row is recognisable in the worker's log."""
    return f"outbox-{message.pk}-{message.published + 1}"


def _hand_over(message: OutboxMessage) -> None:
    if _eager():
        _task(message.task).apply(kwargs=message.kwargs, task_id=task_id(message), throw=True)
    else:
        current_app.send_task(message.task, kwargs=message.kwargs, task_id=task_id(message), retry=False)


def _broker_unreachable(exc: Exception) -> bool:
    from kombu.exceptions import OperationalError

    return not _eager() and isinstance(exc, OperationalError | ConnectionError | TimeoutError | OSError)


def relay(*, limit: int = BATCH, ids: list[int] | None = None) -> int:
    """Publish up to ``limit`` due rows (or the rows ``ids``, if due): rows never published, rows
    whose publish failed and whose back-off is over, and rows published but not done within the
    lease. Returns how many were published (in the embedded profile: run)."""
    now = timezone.now()
    with transaction.atomic():
        due = OutboxMessage.objects.filter(
            done_at__isnull=True, available_at__lte=now, published__lt=max_publishes()
        )
        if ids is not None:
            due = due.filter(pk__in=ids)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due.order_by("available_at", "id")[:limit])
        sent = 0
        for message in rows:
            if message.published:
                logger.warning(
                    "outbox %s (%s): not done %s after its publish #%s: publishing it again",
                    message.pk,
                    message.task,
                    lease(),
                    message.published,
                )
            try:
                _hand_over(message)
            except Exception as exc:
                logger.warning("outbox %s (%s): not sent: %s", message.pk, message.task, exc)
                message.attempts += 1
                message.available_at = timezone.now() + _backoff(message.attempts)
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                message.save(update_fields=["attempts", "available_at", "last_error"])
                if _broker_unreachable(exc):
                    break  # the next rows would wait for the same broker: the next pass tries again
                continue
            sent += 1
            published_at = timezone.now()
            message.published += 1
            message.sent_at = published_at
            message.available_at = published_at + lease()
            fields = ["published", "sent_at", "available_at"]
            if _eager():  # it ran, here and now
                message.done_at = published_at
                fields.append("done_at")
            elif message.published >= max_publishes():
                logger.error(
                    "outbox %s (%s): published %s times and never done; not published again",
                    message.pk,
                    message.task,
                    message.published,
                )
            message.save(update_fields=fields)
    return sent


def mark_done(celery_task_id: str | None) -> bool:
    """The job of message ``celery_task_id`` has run: its row is done (a message that is not an
    outbox row's: nothing). Called in the worker when the job returns; a worker that dies before
    this leaves the row to be published again after its lease, which the idempotent job absorbs."""
    match = TASK_ID.match(celery_task_id or "")
    if not match:
        return False
    return bool(
        OutboxMessage.objects.filter(pk=int(match[1]), done_at__isnull=True).update(done_at=timezone.now())
    )


@task_success.connect(dispatch_uid="cases.outbox.mark_done")
def _on_task_success(sender=None, **_kwargs) -> None:
    request = getattr(sender, "request", None)
    try:
        mark_done(getattr(request, "id", None))
    except Exception:  # the job ran; a row left not done is only published again after its lease
        logger.exception("outbox: could not mark %s done", getattr(request, "id", None))


def pending() -> int:
    """Rows whose job has not run yet (never published, or published and not done)."""
    return OutboxMessage.objects.filter(done_at__isnull=True).count()


def purge_done(*, older_than_days: int = DONE_KEPT_DAYS) -> int:
    """Forget rows done more than ``older_than_days`` ago."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    deleted, _ = OutboxMessage.objects.filter(done_at__lt=cutoff).delete()
    return deleted
