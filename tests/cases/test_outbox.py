"""The transactional outbox (cases.outbox): a decision's notification job is a row of its own
transaction; the broker is never touched by the decision; the relay publishes, marks sent, and
keeps a row it could not publish for later."""

import os
import time
from contextlib import contextmanager

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from approvals import services as approvals
from approvals.models import Notification
from cases import outbox
from cases.models import OutboxMessage
from expediente.celery import app
from workflows.models import CaseTask

from ..iniciativas.conftest import submitted

pytestmark = pytest.mark.django_db


@contextmanager
def broker(url: str):
    """Tasks go to the broker at ``url`` (not run in-process) for the block. Celery prefers the
    ``CELERY_BROKER_URL`` environment variable (set by .ci/run's PostgreSQL pass) to its setting."""
    saved = (app.conf.task_always_eager, app.conf.broker_url, os.environ.get("CELERY_BROKER_URL"))
    app.conf.task_always_eager = False
    app.conf.broker_url = url
    os.environ["CELERY_BROKER_URL"] = url
    forget_connections()
    try:
        yield
    finally:
        app.conf.task_always_eager, app.conf.broker_url, env = saved
        if env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = env
        forget_connections()


def forget_connections():
    """The pools hold connections to the previous broker."""
    app._pool = None
    app.amqp._producer_pool = None


def admissibility(initiative):
    return CaseTask.objects.get(case_code=initiative.code, step="admissibility", is_open=True)


def test_a_decision_owes_its_notifications_in_its_own_transaction(world, django_capture_on_commit_callbacks):
    initiative = submitted(world)
    before = OutboxMessage.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        approvals.complete_task(
            admissibility(initiative).pk, actor=world.staff["evaluador1"], decision="approve"
        )
    row = OutboxMessage.objects.latest("pk")
    assert OutboxMessage.objects.count() == before + 1
    assert row.task == "approvals.notify_decision"
    assert len(row.kwargs["new_task_ids"]) == 2  # the two technical evaluations
    # Embedded profile: run in-process right after the commit, and marked sent.
    assert row.sent_at is not None and row.attempts == 0
    assert Notification.objects.filter(event_key__contains=str(row.kwargs["new_task_ids"][0])).exists()


def test_a_refused_decision_owes_nothing(world):
    initiative = submitted(world)
    before = OutboxMessage.objects.count()
    with pytest.raises(ValidationError):
        approvals.complete_task(
            admissibility(initiative).pk, actor=world.staff["evaluador1"], decision="reject"
        )
    assert OutboxMessage.objects.count() == before


def test_broker_down_the_decision_commits_and_the_row_waits_then_goes_out(
    world, django_capture_on_commit_callbacks
):
    initiative = submitted(world)
    task = admissibility(initiative)
    OutboxMessage.objects.update(sent_at=timezone.now())  # the submission's row went out earlier
    with broker("redis://127.0.0.1:1/0"):  # nothing listens there
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            approvals.complete_task(task.pk, actor=world.staff["evaluador1"], decision="approve")
        assert callbacks == []  # nothing runs after the commit: the decision never talks to the broker
        row = OutboxMessage.objects.latest("pk")
        assert row.sent_at is None
        started = time.monotonic()
        assert outbox.relay() == 0
        waited = time.monotonic() - started
        row.refresh_from_db()
        assert row.sent_at is None and row.attempts == 1
        assert "Error" in row.last_error
        assert row.available_at > timezone.now()  # backed off
        assert waited < 10, f"a broker that is down held the relay {waited:.1f} s"
        assert outbox.relay() == 0  # not due yet: no second attempt
        row.refresh_from_db()
        assert row.attempts == 1
    # The broker is back (an in-memory one here): the row goes out once due.
    OutboxMessage.objects.filter(pk=row.pk).update(available_at=timezone.now())
    with broker("memory://"):
        assert outbox.relay() == 1
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1
    with broker("memory://"):
        assert outbox.relay() == 0  # sent once


def test_sent_rows_are_forgotten_after_a_week():
    old = outbox.post("approvals.notify_delegation", delegation_id=0)
    OutboxMessage.objects.filter(pk=old.pk).update(sent_at=timezone.now() - timezone.timedelta(days=8))
    recent = outbox.post("approvals.notify_delegation", delegation_id=0)
    OutboxMessage.objects.filter(pk=recent.pk).update(sent_at=timezone.now())
    unsent = outbox.post("approvals.notify_delegation", delegation_id=0)
    assert outbox.purge_sent() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) >= {recent.pk, unsent.pk}
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()
