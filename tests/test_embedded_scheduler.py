"""The embedded start's periodic jobs (expediente/embedded.py): the beat schedule run in-process on a
fake clock — every job once at start-up, then each on its own interval or crontab; a failing job is
logged and does not stop the others; and the real jobs, run by one tick, sign a checkpoint, escalate
an overdue task and relay what the outbox still owes."""

import datetime as dt
import logging
import zoneinfo

import pytest
from django.utils import timezone

from approvals.models import Notification
from audit.keys import trusted_public_keys
from audit.models import Checkpoint
from audit.verification import checkpoint_dict
from audit.verifier import check_checkpoints
from cases import outbox
from cases.models import OutboxMessage
from expediente import embedded
from workflows.models import CaseTask

from .iniciativas.conftest import make_world, submitted

LPZ = zoneinfo.ZoneInfo("America/La_Paz")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LPZ)


class Recorder:
    def __init__(self, failing=()):
        self.calls: list[str] = []
        self.failing = set(failing)

    def __call__(self, task: str):
        self.calls.append(task)
        if task in self.failing:
            raise RuntimeError(f"{task} broke")
        return "ok"


def test_every_job_of_the_beat_schedule_runs_at_start_up_then_on_its_own_schedule(settings):
    run = Recorder()
    scheduler = embedded.Scheduler(settings.CELERY_BEAT_SCHEDULE, run=run)
    start = at(2026, 12, 7, 10, 0, 0)  # a Monday, 10:00 La Paz
    assert sorted(scheduler.tick(start)) == sorted(settings.CELERY_BEAT_SCHEDULE)
    assert {
        "cases.relay_outbox",
        "audit.tasks.sign_checkpoint",
        "approvals.escalate_overdue",
        "approvals.send_reminders",
        "approvals.fire_due_timers",
    } <= set(run.calls)

    assert scheduler.tick(start + dt.timedelta(seconds=5)) == []
    assert scheduler.tick(start + dt.timedelta(seconds=10)) == ["cases.relay_outbox"]  # every 10 s
    assert scheduler.tick(start + dt.timedelta(seconds=15)) == []
    assert "approvals.fire_due_timers" in scheduler.tick(start + dt.timedelta(minutes=5))  # every 300 s
    minutes = settings.AUDIT_CHECKPOINT_MINUTES
    assert "audit.sign_checkpoint" in scheduler.tick(start + dt.timedelta(minutes=minutes))
    assert "approvals.escalate_overdue" in scheduler.tick(at(2026, 12, 7, 10, 45))  # crontab(minute=45)
    assert "approvals.escalate_overdue" not in scheduler.tick(at(2026, 12, 7, 10, 50))
    assert "approvals.send_reminders" not in scheduler.tick(at(2026, 12, 7, 23, 59))
    assert "approvals.send_reminders" in scheduler.tick(at(2026, 12, 8, 8, 0))  # Tuesday 08:00
    assert "approvals.send_reminders" in scheduler.tick(at(2026, 12, 11, 8, 0))  # Friday 08:00
    assert "approvals.send_reminders" not in scheduler.tick(at(2026, 12, 12, 8, 0))  # Saturday
    assert "registry.expire_registrations" in scheduler.tick(at(2026, 12, 13, 0, 15))


def test_a_failing_job_is_logged_and_the_others_still_run(settings, caplog):
    run = Recorder(failing={"audit.tasks.sign_checkpoint"})
    scheduler = embedded.Scheduler(settings.CELERY_BEAT_SCHEDULE, run=run)
    with caplog.at_level(logging.ERROR, logger="expediente.embedded"):
        ran = scheduler.tick(at(2026, 12, 7, 10, 0))
    assert len(ran) == len(settings.CELERY_BEAT_SCHEDULE) == len(run.calls)
    assert any("audit.sign_checkpoint" in r.getMessage() and r.exc_info for r in caplog.records)
    # It is due again on its own schedule, not at every tick.
    assert "audit.sign_checkpoint" not in scheduler.tick(at(2026, 12, 7, 10, 0, 30))


@pytest.fixture
def agency(db):
    return make_world()


def test_one_tick_of_the_real_jobs_signs_a_checkpoint_escalates_and_relays(
    agency, settings, django_capture_on_commit_callbacks
):
    initiative = submitted(agency)
    task = CaseTask.objects.get(case_code=initiative.code, step="admissibility", is_open=True)
    assert task.escalation_role
    CaseTask.objects.filter(pk=task.pk).update(due_at=timezone.now() - dt.timedelta(days=1))
    # A job the outbox still owes (its first in-process run failed, say).
    owed = outbox.post("approvals.notify_new_tasks", task_ids=[task.pk])
    Notification.objects.filter(event_key=f"task:{task.pk}:new").delete()
    assert Checkpoint.objects.count() == 0

    scheduler = embedded.Scheduler(settings.CELERY_BEAT_SCHEDULE)
    with django_capture_on_commit_callbacks(execute=True):  # the jobs' own commits (eager outbox)
        scheduler.tick()

    checkpoint = Checkpoint.objects.get()
    errors, good = check_checkpoints([checkpoint_dict(checkpoint)], trusted_public_keys())
    assert not errors and len(good) == 1  # signed, with the trusted key
    assert checkpoint.seq >= 1
    task.refresh_from_db()
    assert task.escalated_at is not None
    told = OutboxMessage.objects.get(task="approvals.notify_escalation", kwargs__task_id=task.pk)
    assert told.done_at is not None  # the escalation's notification job ran, in-process
    assert OutboxMessage.objects.get(pk=owed.pk).done_at is not None
    assert Notification.objects.filter(event_key=f"task:{task.pk}:new").exists()


def test_not_started_when_a_broker_is_configured():
    from expediente.celery import app

    app.conf.task_always_eager = False  # restored by tests/conftest.py's _celery_tasks_in_process
    assert embedded.start() is None
    assert embedded._thread is None
