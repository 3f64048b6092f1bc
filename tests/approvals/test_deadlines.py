"""The periodic deadline jobs with a frozen clock (Monday 3 Aug 2026, 09:00 La Paz; 6 August is a
holiday): reminders before the deadline (once), escalation of overdue tasks to the escalation role
(once, audited, scoped), expiry of unanswered observations (the initiative ends ``abandoned`` through
``complete_task``), the management command, the Celery beat schedule, and two concurrent runs."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from approvals import deadlines
from approvals import services as approvals
from approvals.models import Notification
from audit.models import AuditEntry
from iniciativas.models import Initiative
from registry import services as registry_services
from tests.factories import UserFactory
from tests.iniciativas.conftest import submitted
from workflows.models import CaseTask

from .clock import decide, give_emails, lpz, open_task

pytestmark = pytest.mark.django_db


def run(job, *, capture, system):
    """One job run as the system user, with the notifications it enqueues sent (after commit)."""
    with capture(execute=True):
        return job(actor=system)


def mails_to(outbox, username) -> list:
    return [m for m in outbox if m.to == [f"{username}@probolivia.gob.bo"]]


# --- reminders ---------------------------------------------------------------------------------------


def test_a_reminder_goes_once_to_whoever_holds_the_task(
    clock, agency, mailoutbox, django_capture_on_commit_callbacks
):
    give_emails(agency)
    system, ev1 = agency.system, agency.staff["evaluador1"]
    ini = submitted(agency)
    task = open_task(ini, "admissibility")  # due Tuesday 11 August (5 business days, 6 Aug off)
    approvals.claim_task(task.pk, actor=ev1)
    remind = deadlines.remind_due_tasks

    clock.set(lpz(2026, 8, 5, 8))  # 3 business days before (7, 10, 11): not yet
    assert run(remind, capture=django_capture_on_commit_callbacks, system=system) == []
    clock.set(lpz(2026, 8, 6, 8))  # a holiday: the job sends nothing
    assert run(remind, capture=django_capture_on_commit_callbacks, system=system) == []
    clock.set(lpz(2026, 8, 7, 8))  # 2 business days before (10, 11)
    assert run(remind, capture=django_capture_on_commit_callbacks, system=system) == [task.pk]
    assert run(remind, capture=django_capture_on_commit_callbacks, system=system) == []
    clock.set(lpz(2026, 8, 10, 8))
    assert run(remind, capture=django_capture_on_commit_callbacks, system=system) == []

    task.refresh_from_db()
    assert task.reminded_at == lpz(2026, 8, 7, 8)
    rows = Notification.objects.filter(kind="reminder")
    assert [(n.user.username, n.event_key, n.case_code) for n in rows] == [
        ("evaluador1", f"task:{task.pk}:reminder", ini.code)
    ]
    assert "11/08/2026" in rows.get().message
    reminders = [m for m in mailoutbox if "Recordatorio" in m.subject or "reminder" in m.subject.lower()]
    assert len(reminders) == 1 and reminders[0].to == ["evaluador1@probolivia.gob.bo"]


def test_a_lost_mark_or_a_redelivered_message_still_notifies_once(
    clock, agency, mailoutbox, django_capture_on_commit_callbacks
):
    """ "Never twice for the same event": the unique (user, event) row is the guarantee, whatever
    happens to ``reminded_at`` or to the Celery message."""
    from approvals import tasks

    give_emails(agency)
    ini = submitted(agency)
    task = open_task(ini, "admissibility")
    approvals.claim_task(task.pk, actor=agency.staff["evaluador1"])
    clock.set(lpz(2026, 8, 7, 8))
    run(deadlines.remind_due_tasks, capture=django_capture_on_commit_callbacks, system=agency.system)
    sent = len(mailoutbox)

    CaseTask.objects.filter(pk=task.pk).update(reminded_at=None)  # e.g. overwritten by a stale save
    assert run(
        deadlines.remind_due_tasks, capture=django_capture_on_commit_callbacks, system=agency.system
    ) == [task.pk]
    tasks.notify_reminder.delay(task.pk)  # a redelivered message (eager here)
    assert Notification.objects.filter(kind="reminder").count() == 1
    assert len(mailoutbox) == sent


def test_a_department_s_own_non_working_day_moves_its_cases_reminders(
    clock, agency, mailoutbox, django_capture_on_commit_callbacks
):
    """Santa Cruz decrees Monday 10 August off: its case's deadline and reminder window both skip it.
    The reminder goes on Friday 7 (2 business days of Santa Cruz before Wednesday 12: 11, 12), and not
    on the 10th, a day off there although a business day elsewhere. Another department's day off
    changes nothing for this case."""
    approvals.add_non_working_day(
        actor=agency.staff["admin1"], date=lpz(2026, 8, 10).date(), name="Feriado SCZ", department="SCZ"
    )
    approvals.add_non_working_day(
        actor=agency.staff["admin1"], date=lpz(2026, 8, 7).date(), name="Feriado PTS", department="PTS"
    )
    give_emails(agency)
    ini = submitted(agency)
    task = open_task(ini, "admissibility")
    assert task.department.code == "SCZ"
    assert timezone.localdate(task.due_at) == lpz(2026, 8, 12).date()  # 4, 5, 7, 11, 12
    approvals.claim_task(task.pk, actor=agency.staff["evaluador1"])
    remind = deadlines.remind_due_tasks

    clock.set(lpz(2026, 8, 5, 8))  # SCZ: 7, 11 — not yet
    assert run(remind, capture=django_capture_on_commit_callbacks, system=agency.system) == []
    clock.set(lpz(2026, 8, 7, 8))  # SCZ: 11, 12 (the national calendar alone would say 10, 11: not yet)
    assert run(remind, capture=django_capture_on_commit_callbacks, system=agency.system) == [task.pk]
    CaseTask.objects.filter(pk=task.pk).update(reminded_at=None)  # as if the 7th's run had been missed
    clock.set(lpz(2026, 8, 10, 8))  # a day off in Santa Cruz: nothing goes to its cases
    assert run(remind, capture=django_capture_on_commit_callbacks, system=agency.system) == []
    clock.set(lpz(2026, 8, 11, 8))
    assert run(remind, capture=django_capture_on_commit_callbacks, system=agency.system) == [task.pk]
    assert Notification.objects.filter(kind="reminder").count() == 1  # one per event, whatever the runs


# --- escalation --------------------------------------------------------------------------------------


def test_an_overdue_task_is_escalated_once_to_the_escalation_role_in_scope_and_audited(
    clock, agency, mailoutbox, django_capture_on_commit_callbacks
):
    system = agency.system
    # A third director scoped to Potosí: the case is from Santa Cruz, so not theirs.
    director3 = UserFactory(username="director3", roles=["director"])
    registry_services.grant_department_scope(director3, "PTS", actor=system)
    give_emails(agency)
    ini = submitted(agency)
    task = open_task(ini, "admissibility")
    assert task.escalation_role == "director"
    escalate = deadlines.escalate_overdue

    clock.set(lpz(2026, 8, 11, 23, 59, 59))  # the last second of the deadline
    assert run(escalate, capture=django_capture_on_commit_callbacks, system=system) == []
    mailoutbox.clear()
    clock.set(lpz(2026, 8, 12, 0, 45))
    assert run(escalate, capture=django_capture_on_commit_callbacks, system=system) == [task.pk]
    assert run(escalate, capture=django_capture_on_commit_callbacks, system=system) == []
    clock.set(lpz(2026, 8, 13, 0, 45))
    assert run(escalate, capture=django_capture_on_commit_callbacks, system=system) == []

    task.refresh_from_db()
    assert task.escalated_at == lpz(2026, 8, 12, 0, 45)
    assert task.is_open  # escalation tells people; it decides nothing
    entry = AuditEntry.objects.get(action="task.escalated")
    assert entry.actor == system and entry.case == ini.code
    assert entry.data["task"] == task.pk and entry.data["step"] == "admissibility"
    assert (entry.data["role"], entry.data["escalation_role"]) == ("evaluator", "director")
    notified = sorted(Notification.objects.filter(kind="escalation").values_list("user__username", flat=True))
    assert notified == ["director1", "director2"]
    assert sorted(m.to[0] for m in mailoutbox) == [
        "director1@probolivia.gob.bo",
        "director2@probolivia.gob.bo",
    ]
    assert all(ini.code in m.subject for m in mailoutbox)


def test_escalation_also_tells_the_holder_and_skips_tasks_without_escalation_role(
    clock, agency, django_capture_on_commit_callbacks
):
    system = agency.system
    ini = submitted(agency)
    decide(ini, "admissibility", agency.staff["evaluador1"], "observe", "Falta la carta", deadline_days=3)
    answer = open_task(ini, "answer_observation")  # applicant's task: no escalation role
    assert answer.escalation_role == ""
    other = submitted(agency, title="Segunda iniciativa")
    task = open_task(other, "admissibility")
    approvals.claim_task(task.pk, actor=agency.staff["evaluador2"])

    clock.set(lpz(2026, 8, 12, 0, 45))
    assert run(deadlines.escalate_overdue, capture=django_capture_on_commit_callbacks, system=system) == [
        task.pk
    ]
    rows = Notification.objects.filter(kind="escalation", event_key=f"task:{task.pk}:escalated")
    assert sorted(rows.values_list("user__username", flat=True)) == ["director1", "director2", "evaluador2"]
    assert AuditEntry.objects.get(action="task.escalated").data["holder_label"] == "evaluador2"


# --- expiry of unanswered observations ---------------------------------------------------------------


def test_an_unanswered_observation_expires_and_the_initiative_is_abandoned(
    clock, agency, django_capture_on_commit_callbacks
):
    system = agency.system
    ini = submitted(agency)
    decide(ini, "admissibility", agency.staff["evaluador1"], "observe", "Adjunte la carta", deadline_days=3)
    task = open_task(ini, "answer_observation")
    expire = deadlines.expire_observations

    clock.set(lpz(2026, 8, 7, 18))  # due Friday 7 Aug (4, 5, 7): still time
    assert run(expire, capture=django_capture_on_commit_callbacks, system=system) == []
    last = AuditEntry.objects.order_by("-seq").first().seq
    clock.set(lpz(2026, 8, 8, 0, 30))
    assert run(expire, capture=django_capture_on_commit_callbacks, system=system) == [ini.code]
    assert run(expire, capture=django_capture_on_commit_callbacks, system=system) == []

    assert Initiative.objects.get(pk=ini.pk).state == "abandoned"
    entries = list(AuditEntry.objects.filter(seq__gt=last).order_by("seq"))
    assert [e.action for e in entries] == ["initiative.abandoned", "task.completed"]
    assert all(e.actor == system and e.case == ini.code for e in entries)
    completed = entries[1].data
    assert (completed["decision"], completed["from_state"], completed["to_state"]) == (
        "expire",
        "observed",
        "abandoned",
    )
    assert completed["task"] == task.pk and completed["step"] == "answer_observation"
    assert not CaseTask.objects.filter(case_code=ini.code, is_open=True).exists()
    # The applicant unit hears about it once.
    note = Notification.objects.get(kind="case_state", case_code=ini.code)
    assert note.user == agency.applicant and note.event_key == f"task:{task.pk}:state:abandoned"


def test_an_observation_answered_in_time_is_not_expired(clock, agency, django_capture_on_commit_callbacks):
    ini = submitted(agency)
    decide(ini, "admissibility", agency.staff["evaluador1"], "observe", "Adjunte la carta", deadline_days=3)
    clock.set(lpz(2026, 8, 7, 17))
    decide(ini, "answer_observation", agency.applicant, answer="Adjuntamos la carta.")
    clock.set(lpz(2026, 8, 8, 0, 30))
    assert (
        run(deadlines.expire_observations, capture=django_capture_on_commit_callbacks, system=agency.system)
        == []
    )
    assert Initiative.objects.get(pk=ini.pk).state == "submitted"


# --- who may run the jobs; the command; the schedule -------------------------------------------------


def test_only_the_system_user_or_an_administrator_runs_the_jobs(clock, agency):
    from django.core.exceptions import PermissionDenied

    for job in (deadlines.remind_due_tasks, deadlines.escalate_overdue, deadlines.expire_observations):
        with pytest.raises(PermissionDenied):
            job(actor=agency.staff["director1"])
        assert job(actor=agency.staff["admin1"]) == []


def test_the_management_command_runs_every_job_and_a_second_run_finds_nothing(clock, agency, capsys):
    ini = submitted(agency)
    decide(ini, "admissibility", agency.staff["evaluador1"], "observe", "Adjunte la carta", deadline_days=3)
    other = submitted(agency, title="Segunda iniciativa")
    clock.set(lpz(2026, 8, 12, 1))
    call_command("run_deadlines")
    assert capsys.readouterr().out.split() == [
        "timers=0",
        "expired=1",
        "escalated=1",
        "reminded=0",
        "emails=0",
    ]
    call_command("run_deadlines")
    assert capsys.readouterr().out.split() == [
        "timers=0",
        "expired=0",
        "escalated=0",
        "reminded=0",
        "emails=0",
    ]
    call_command("run_deadlines", job="escalation")
    assert capsys.readouterr().out.split() == ["escalated=0"]
    assert Initiative.objects.get(pk=ini.pk).state == "abandoned"
    assert open_task(other, "admissibility").escalated_at == lpz(2026, 8, 12, 1)


def test_the_jobs_are_scheduled_in_celery_beat_and_registered():
    from approvals import tasks  # noqa: F401 - registers the tasks
    from expediente.celery import app

    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for name in (
        "approvals.fire_due_timers",
        "approvals.send_reminders",
        "approvals.escalate_overdue",
        "approvals.expire_observations",
        "approvals.send_pending_emails",
    ):
        assert name in schedule
        assert name in app.tasks
    notify = app.tasks["approvals.notify_decision"]
    assert notify.acks_late and notify.autoretry_for == (Exception,) and notify.retry_backoff


def test_the_celery_tasks_act_as_the_system_user(clock, agency, django_capture_on_commit_callbacks):
    from approvals import tasks

    ini = submitted(agency)
    clock.set(lpz(2026, 8, 12, 1))
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.escalate_overdue.delay().get() == 1
    assert AuditEntry.objects.get(action="task.escalated", case=ini.code).actor.username == "system"
    assert tasks.run_deadlines.delay().get() == {
        "timers": 0,
        "expired": 0,
        "escalated": 0,
        "reminded": 0,
        "emails": 0,
    }


# --- concurrency (PostgreSQL: real row locks) -------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (real row locks)")
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_escalation_runs_escalate_each_task_once(clock, agency):
    initiatives = [submitted(agency, title=f"Iniciativa {n}") for n in range(3)]
    clock.set(lpz(2026, 8, 12, 1))
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(deadlines.escalate_overdue(actor=agency.system))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    escalated = [pk for r in results for pk in r]
    assert len(escalated) == len(set(escalated)) == 3
    entries = AuditEntry.objects.filter(action="task.escalated")
    assert entries.count() == 3
    assert set(entries.values_list("case", flat=True)) == {i.code for i in initiatives}
    assert Notification.objects.filter(kind="escalation").count() == 3 * 2  # two directors per task
