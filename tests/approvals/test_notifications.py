"""Notifications: who is told (claimers in scope and four eyes, the holder, the applicant unit, a
capped queue), in-app and by e-mail after commit, once per event — through Celery retries and the
e-mail failure window — and the notification pages."""

from __future__ import annotations

import datetime as dt
import smtplib
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import timezone

from approvals import notifications, tasks
from approvals import services as approvals
from approvals.models import Notification
from registry import services as registry_services
from tests.factories import UserFactory
from tests.iniciativas.conftest import submitted
from workflows.models import CaseTask

from .clock import SCORES, decide, give_emails, open_task, to_approval

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _immediate_emails(settings):
    """These tests follow one e-mail per event (staff's new tasks e-mailed at once,
    ``NOTIFY_DIGEST_MINUTES = 0``); the digest, the default, has its own tests below and in
    ``tests/iniciativas/test_applicant_side.py``."""
    settings.NOTIFY_DIGEST_MINUTES = 0


def notified(kind=None, **filters) -> list[str]:
    qs = Notification.objects.filter(**filters)
    if kind:
        qs = qs.filter(kind=kind)
    return sorted(qs.values_list("user__username", flat=True))


def submit_notified(world, capture, **overrides):
    with capture(execute=True):
        return submitted(world, **overrides)


# --- who ---------------------------------------------------------------------------------------------


def test_a_submission_tells_the_evaluators_who_can_take_the_first_task(
    agency, mailoutbox, django_capture_on_commit_callbacks
):
    give_emails(agency)
    # An evaluator scoped to Potosí cannot take a Santa Cruz case: not told.
    potosi = UserFactory(username="evaluador5", roles=["evaluator"], email="evaluador5@probolivia.gob.bo")
    registry_services.grant_department_scope(potosi, "PTS", actor=agency.system)
    ini = submit_notified(agency, django_capture_on_commit_callbacks)
    task = open_task(ini, "admissibility")

    assert notified("task_new") == ["evaluador1", "evaluador2", "evaluador3", "evaluador4"]
    rows = Notification.objects.filter(kind="task_new")
    assert {(n.event_key, n.case_code, n.url) for n in rows} == {
        (f"task:{task.pk}:new", ini.code, reverse("task-detail", args=[task.pk]))
    }
    assert all(ini.code in n.message for n in rows)
    assert sorted(m.to[0] for m in mailoutbox) == [f"evaluador{n}@probolivia.gob.bo" for n in range(1, 5)]
    assert all(f"/tasks/{task.pk}/" in m.body and m.body.startswith(rows[0].message) for m in mailoutbox)


def test_a_queue_larger_than_the_cap_is_not_notified_person_by_person(
    agency, settings, mailoutbox, django_capture_on_commit_callbacks
):
    give_emails(agency)
    settings.NOTIFY_QUEUE_MAX_RECIPIENTS = 3  # four evaluators could take it
    submit_notified(agency, django_capture_on_commit_callbacks)
    assert Notification.objects.count() == 0
    assert mailoutbox == []


def test_four_eyes_leaves_out_who_already_decided_an_incompatible_step(agency):
    ini = submitted(agency)
    decide(ini, "admissibility", agency.staff["evaluador1"])
    t1, t2 = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(t1.pk, actor=agency.staff["evaluador2"], decision="approve", data=SCORES)
    assert [u.username for u in notifications.claimers_of(t2)] == ["evaluador1", "evaluador3", "evaluador4"]


def test_the_next_step_of_the_chain_tells_its_role_only(agency, django_capture_on_commit_callbacks):
    ini = submitted(agency)
    with django_capture_on_commit_callbacks(execute=True):
        case = to_approval(agency, ini)
    assert case.state == "in_approval"
    legal = open_task(ini, "legal_report")
    assert notified(event_key=f"task:{legal.pk}:new") == ["legal1", "legal2"]


def test_an_observation_tells_the_applicant_unit_what_to_correct(agency, django_capture_on_commit_callbacks):
    ini = submitted(agency)
    with django_capture_on_commit_callbacks(execute=True):
        decide(ini, "admissibility", agency.staff["evaluador1"], "observe", "Falta la carta de contraparte")
    answer = open_task(ini, "answer_observation")
    row = Notification.objects.get(kind="case_waiting")
    assert (row.user, row.event_key, row.url) == (
        agency.applicant,
        f"task:{answer.pk}:new",
        f"/initiatives/{ini.pk}/answer/",  # straight to the one-page answer
    )
    assert "Falta la carta de contraparte" in row.message
    # The new task already says so: no separate "state changed" notice, and nobody else is told.
    assert notified() == ["solicitante1"]


def test_a_decision_that_changes_the_state_tells_the_applicant_unit(
    agency, django_capture_on_commit_callbacks
):
    ini = submitted(agency)
    task = open_task(ini, "admissibility")
    with django_capture_on_commit_callbacks(execute=True):
        decide(
            ini, "admissibility", agency.staff["evaluador1"], "reject", "Fuera del rubro de la convocatoria"
        )
    row = Notification.objects.get(kind="case_state")
    assert (row.user, row.event_key) == (agency.applicant, f"task:{task.pk}:state:rejected")
    assert ini.code in row.message
    assert notified() == ["solicitante1"]  # not the other unit's applicant, not staff


def test_a_refused_or_rolled_back_decision_notifies_nobody(agency, django_capture_on_commit_callbacks):
    ini = submitted(agency)
    task = open_task(ini, "admissibility")
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(ValidationError):
        approvals.complete_task(task.pk, actor=agency.staff["evaluador1"], decision="observe", comment="")
    assert callbacks == []
    assert Notification.objects.count() == 0


def test_a_user_without_an_address_gets_the_in_app_notice_only(
    agency, mailoutbox, django_capture_on_commit_callbacks
):
    submit_notified(agency, django_capture_on_commit_callbacks)  # nobody has an e-mail address
    assert Notification.objects.filter(kind="task_new").count() == 4
    assert not Notification.objects.filter(email_wanted=True).exists()
    assert mailoutbox == []


# --- once per event: retries, redeliveries and the e-mail failure window -----------------------------


def test_an_email_failure_is_retried_by_celery_and_each_person_gets_exactly_one_email(
    agency, mailoutbox, django_capture_on_commit_callbacks
):
    """The mail server refuses evaluador2's message once. The Celery task fails, is retried, and
    the retry e-mails only who still owes one: four people, four e-mails, four rows — however many
    attempts it took."""
    give_emails(agency)
    ini = submitted(agency)  # on_commit not run: nobody notified yet
    task = open_task(ini, "admissibility")
    original = EmailMessage.send
    failures = []

    def flaky(message, *args, **kwargs):
        if message.to == ["evaluador2@probolivia.gob.bo"] and not failures:
            failures.append(1)
            raise smtplib.SMTPServerDisconnected("connection lost")
        return original(message, *args, **kwargs)

    with mock.patch.object(EmailMessage, "send", autospec=True, side_effect=flaky):
        # What a worker does: autoretry_for catches the failure and runs the task again (``apply``
        # with throw=False retries eagerly, without the back-off wait).
        result = tasks.notify_new_tasks.apply(args=[[task.pk]], throw=False)
    assert result.successful() and result.get() == 1  # the retry sent the one e-mail still owed

    assert failures == [1]
    assert sorted(m.to[0] for m in mailoutbox) == [f"evaluador{n}@probolivia.gob.bo" for n in range(1, 5)]
    assert Notification.objects.count() == 4
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()
    # A redelivered message afterwards changes nothing.
    tasks.notify_new_tasks.delay([task.pk])
    assert len(mailoutbox) == 4 and Notification.objects.count() == 4


def test_a_row_still_owing_its_email_is_sent_by_the_sweep_and_only_once(agency, mailoutbox):
    give_emails(agency)
    ini = submitted(agency)
    task = open_task(ini, "admissibility")
    with (
        mock.patch.object(EmailMessage, "send", side_effect=smtplib.SMTPServerDisconnected("down")),
        pytest.raises(smtplib.SMTPServerDisconnected),
    ):
        notifications.notify_new_tasks([task.pk])  # retries exhausted, say
    assert Notification.objects.filter(emailed_at__isnull=True).count() == 4
    # A crash after the mail server accepted a message but before the commit leaves it owed too:
    # that single case is the documented duplicate window (the row lock prevents concurrent ones).
    assert notifications.send_pending_emails() == 4
    assert notifications.send_pending_emails() == 0
    assert len(mailoutbox) == 4


def test_the_sweep_leaves_old_rows_alone(agency, mailoutbox):
    give_emails(agency)
    ini = submitted(agency)
    with mock.patch.object(EmailMessage, "send", side_effect=OSError("down")), pytest.raises(OSError):
        notifications.notify_new_tasks([open_task(ini, "admissibility").pk])
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(days=30))
    assert notifications.send_pending_emails() == 0
    assert mailoutbox == []


def test_the_message_id_is_derived_from_the_event(agency, mailoutbox, django_capture_on_commit_callbacks):
    give_emails(agency)
    submit_notified(agency, django_capture_on_commit_callbacks)
    ids = {m.message()["Message-ID"] for m in mailoutbox}
    assert len(ids) == 4
    row = Notification.objects.get(user=agency.staff["evaluador1"])
    assert notifications._message_id(row) in ids
    assert notifications._message_id(row) == notifications._message_id(Notification.objects.get(pk=row.pk))


def test_a_delegation_tells_the_delegate(agency, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        approvals.delegate_inbox(
            actor=agency.staff["legal1"],
            delegate=agency.staff["legal2"],
            role="legal",
            starts_on=today,
            ends_on=today + dt.timedelta(days=5),
            reason="Vacaciones",
        )
    row = Notification.objects.get(kind="delegation")
    assert row.user == agency.staff["legal2"] and "legal1" in row.message
    assert row.url == reverse("delegation-list")


# --- the pages -----------------------------------------------------------------------------------------


def test_the_notification_pages_list_open_and_mark_read(agency, client, django_capture_on_commit_callbacks):
    submit_notified(agency, django_capture_on_commit_callbacks)
    ev1, ev2 = agency.staff["evaluador1"], agency.staff["evaluador2"]
    mine = Notification.objects.get(user=ev1)
    theirs = Notification.objects.get(user=ev2)
    client.force_login(ev1)

    page = client.get(reverse("notification-list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert mine.message in html and f'action="{reverse("notification-open", args=[mine.pk])}"' in html
    assert reverse("notification-open", args=[theirs.pk]) not in html  # only my own
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = ev1
    banner = render_to_string("approvals/_delegation_banner.html", request=request)
    assert "Tiene 1 notificación sin leer." in banner  # the banner shows the unread count

    assert client.post(reverse("notification-open", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("notification-open", args=[mine.pk]))
    assert response.status_code == 302 and response["Location"] == mine.url
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None and theirs.read_at is None

    client.force_login(ev2)
    assert client.post(reverse("notification-read-all")).status_code == 302
    theirs.refresh_from_db()
    assert theirs.read_at is not None
    assert client.get(reverse("notification-open", args=[theirs.pk])).status_code == 405


def test_the_notification_pages_need_a_login(client):
    response = client.get(reverse("notification-list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_with_the_digest_on_staff_get_their_new_tasks_in_one_email(
    agency, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.NOTIFY_DIGEST_MINUTES = 60
    give_emails(agency)
    first = submit_notified(agency, django_capture_on_commit_callbacks)
    second = submit_notified(agency, django_capture_on_commit_callbacks, title="Planta de yogur")
    assert notified("task_new") == sorted(2 * [f"evaluador{n}" for n in range(1, 5)])  # in-app at once
    assert mailoutbox == []  # no e-mail per task
    assert notifications.send_digests() == 4
    assert sorted(m.to[0] for m in mailoutbox) == [f"evaluador{n}@probolivia.gob.bo" for n in range(1, 5)]
    for message in mailoutbox:
        assert first.code in message.body and second.code in message.body
        assert "2 tareas nuevas" in message.subject
        assert f"/tasks/{open_task(first, 'admissibility').pk}/" in message.body
    assert notifications.send_digests() == 0 and len(mailoutbox) == 4


def test_a_digest_that_fails_is_sent_by_the_next_run_and_only_once(agency, settings, mailoutbox):
    settings.NOTIFY_DIGEST_MINUTES = 60
    give_emails(agency)
    ini = submitted(agency)
    notifications.notify_new_tasks([open_task(ini, "admissibility").pk])
    original = EmailMessage.send

    def flaky(message, *args, **kwargs):
        if message.to == ["evaluador2@probolivia.gob.bo"]:
            raise smtplib.SMTPServerDisconnected("connection lost")
        return original(message, *args, **kwargs)

    with mock.patch.object(EmailMessage, "send", autospec=True, side_effect=flaky):
        assert notifications.send_digests() == 3  # the others are not held back by one address
    owed = Notification.objects.filter(digest=True, emailed_at__isnull=True)
    assert [n.user.username for n in owed] == ["evaluador2"]
    assert notifications.send_digests() == 1 and notifications.send_digests() == 0
    assert sorted(m.to[0] for m in mailoutbox) == [f"evaluador{n}@probolivia.gob.bo" for n in range(1, 5)]
