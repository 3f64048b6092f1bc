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
    # Embedded profile: run in-process right after the commit, and done.
    assert row.sent_at is not None and row.done_at is not None and row.attempts == 0 and row.published == 1
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
    OutboxMessage.objects.update(done_at=timezone.now())  # the submission's row went out earlier
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
    assert row.sent_at is not None and row.attempts == 1 and row.published == 1
    assert row.done_at is None  # published is not done: the worker says when the job ran
    with broker("memory://"):
        assert outbox.relay() == 0  # sent once, within its lease


def test_done_rows_are_forgotten_after_a_week():
    old = outbox.post("approvals.notify_delegation", delegation_id=0)
    OutboxMessage.objects.filter(pk=old.pk).update(done_at=timezone.now() - timezone.timedelta(days=8))
    recent = outbox.post("approvals.notify_delegation", delegation_id=0)
    OutboxMessage.objects.filter(pk=recent.pk).update(done_at=timezone.now())
    # Published long ago, never done (the broker lost it): kept, it is still owed.
    lost = outbox.post("approvals.notify_delegation", delegation_id=0)
    OutboxMessage.objects.filter(pk=lost.pk).update(
        sent_at=timezone.now() - timezone.timedelta(days=8), published=1
    )
    assert outbox.purge_done() == 1
    assert set(OutboxMessage.objects.values_list("pk", flat=True)) >= {recent.pk, lost.pk}
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()


def test_a_published_row_not_done_within_its_lease_is_published_again(world, settings):
    """The broker took the message and lost it (restarted without persistence): the row is not done,
    so once its lease is over the relay publishes it again, under a new message id; when the job
    runs (the worker's task_success) the row is done and never published again."""
    settings.OUTBOX_LEASE_SECONDS = 60
    OutboxMessage.objects.update(done_at=timezone.now())
    row = outbox.post("approvals.notify_delegation", delegation_id=0)
    with broker("memory://"):
        assert outbox.relay() == 1
        row.refresh_from_db()
        first_id = outbox.task_id(row)
        assert row.published == 1 and row.done_at is None
        assert row.available_at >= row.sent_at + timezone.timedelta(seconds=59)
        assert outbox.relay() == 0  # within the lease
        OutboxMessage.objects.filter(pk=row.pk).update(available_at=timezone.now())  # the lease is over
        assert outbox.relay() == 1
        row.refresh_from_db()
        assert row.published == 2 and outbox.task_id(row) != first_id
        # The job ran on a worker (its message id names the row): done.
        assert outbox.mark_done(f"outbox-{row.pk}-2") is True
        assert outbox.mark_done(f"outbox-{row.pk}-1") is False  # a late duplicate: already done
        assert outbox.mark_done("0b8e2f7a-not-an-outbox-message") is False
        OutboxMessage.objects.filter(pk=row.pk).update(available_at=timezone.now())
        assert outbox.relay() == 0  # done rows are never published again
    assert outbox.pending() == 0


def test_a_row_never_done_stops_after_the_most_publishes(world, settings):
    settings.OUTBOX_MAX_PUBLISHES = 2
    OutboxMessage.objects.update(done_at=timezone.now())
    row = outbox.post("approvals.notify_delegation", delegation_id=0)
    with broker("memory://"):
        for _ in range(3):
            OutboxMessage.objects.filter(pk=row.pk).update(available_at=timezone.now())
            outbox.relay()
    row.refresh_from_db()
    assert row.published == 2 and row.done_at is None
    assert outbox.pending() == 1  # still owed: an operator sees it (admin, relay_outbox --once)


def test_the_task_success_signal_marks_the_row_done(world):
    """What the worker does when a job returns: Celery's task_success with the message's id."""
    from celery.signals import task_success

    from approvals.tasks import notify_delegation

    OutboxMessage.objects.update(done_at=timezone.now())
    with broker("memory://"):
        row = outbox.post("approvals.notify_delegation", delegation_id=0)
        outbox.relay()
    row.refresh_from_db()
    assert row.done_at is None
    notify_delegation.push_request(id=f"outbox-{row.pk}-1")
    try:
        task_success.send(sender=notify_delegation, result=0)
    finally:
        notify_delegation.pop_request()
    row.refresh_from_db()
    assert row.done_at is not None


def test_a_job_run_twice_notifies_once(world, django_capture_on_commit_callbacks, mailoutbox):
    """At least once is once: the decision's notification job delivered a second time (a lease that ran
    out, a redelivered message) adds no notification and sends no e-mail."""
    from approvals.tasks import notify_decision

    initiative = submitted(world)
    with django_capture_on_commit_callbacks(execute=True):
        approvals.complete_task(
            admissibility(initiative).pk, actor=world.staff["evaluador1"], decision="approve"
        )
    row = OutboxMessage.objects.latest("pk")
    assert row.done_at is not None
    keys = [f"task:{pk}:new" for pk in row.kwargs["new_task_ids"]]
    told = sorted(Notification.objects.filter(event_key__in=keys).values_list("user", "event_key"))
    mails = len(mailoutbox)
    assert told
    notify_decision.apply(kwargs=row.kwargs, task_id=f"outbox-{row.pk}-2", throw=True)
    assert sorted(Notification.objects.filter(event_key__in=keys).values_list("user", "event_key")) == told
    assert len(mailoutbox) == mails
