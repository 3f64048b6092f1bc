"""The transactional outbox: the jobs a write owes (notifications, e-mails) are rows written in the
write's own transaction, and a relay hands them to Celery afterwards.

- ``post(task, **kwargs)`` — one INSERT in the caller's transaction. A rolled-back decision leaves
  no row, a committed one always does, whatever the broker's state: the request never talks to the
  broker (publishing never happens in the request thread).
- ``relay()`` — takes the due rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several relays
  share the work), publishes each to the broker and marks it sent in the same transaction. A row that
  fails to publish (broker down or hung: the broker's timeouts bound the wait) is tried again later,
  with back-off. Delivery is at least once — a relay that dies between publishing and committing
  publishes that row again — and every job is idempotent (notifications are insert-or-skip on
  ``(user, event_key)``), so the effect is once.
- Who runs the relay: ``python manage.py relay_outbox`` (a loop; a production process beside the
  web and the Celery workers), backed up by the ``cases.relay_outbox`` beat task. In the embedded
  profile (no broker: Celery runs tasks in-process) the rows a transaction posted run right after
  its commit, in-process, as the tasks did before the outbox; a row whose job failed stays for the
  next ``relay()``.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import current_app
from django.db import connection, transaction
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

BATCH = 100
# Back-off of a row that failed: 2, 4, 8 … seconds, at most 5 minutes.
MAX_BACKOFF_SECONDS = 300
SENT_KEPT_DAYS = 7


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


def _hand_over(message: OutboxMessage) -> None:
    if _eager():
        _task(message.task).apply(kwargs=message.kwargs, throw=True)
    else:
        # The row's id is the message's id: a republished row is recognisable in the worker's log.
        task_id = f"outbox-{message.pk}-{message.attempts}"
        current_app.send_task(message.task, kwargs=message.kwargs, task_id=task_id, retry=False)


def _broker_unreachable(exc: Exception) -> bool:
    from kombu.exceptions import OperationalError

    return not _eager() and isinstance(exc, OperationalError | ConnectionError | TimeoutError | OSError)


def relay(*, limit: int = BATCH, ids: list[int] | None = None) -> int:
    """Publish up to ``limit`` due rows (or the rows ``ids``, if due); returns how many were sent."""
    now = timezone.now()
    with transaction.atomic():
        due = OutboxMessage.objects.filter(sent_at__isnull=True, available_at__lte=now)
        if ids is not None:
            due = due.filter(pk__in=ids)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        rows = list(due.order_by("available_at", "id")[:limit])
        sent: list[int] = []
        for message in rows:
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
            else:
                sent.append(message.pk)
        if sent:
            OutboxMessage.objects.filter(pk__in=sent).update(sent_at=timezone.now())
    return len(sent)


def pending() -> int:
    return OutboxMessage.objects.filter(sent_at__isnull=True).count()


def purge_sent(*, older_than_days: int = SENT_KEPT_DAYS) -> int:
    """Forget rows sent more than ``older_than_days`` ago."""
    cutoff = timezone.now() - dt.timedelta(days=older_than_days)
    deleted, _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return deleted
