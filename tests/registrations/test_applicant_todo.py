"""A registration's applicant sees what they must do on their home (issue 11): the draft with what it
lacks, then the observation to answer with its deadline and consequence, linked to the task page."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from django.test import Client
from django.urls import reverse

from cases import todo
from registrations import services

from .conftest import UNIT_DATA, decide, open_task, pdf


def home_text(user) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(user)
    html = client.get(reverse("home")).content.decode()
    assert "<script" not in html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_draft_then_the_observation_are_on_the_applicants_home(office):
    draft = services.create_registration(actor=office.newcomer, kind="new", unit_data=UNIT_DATA)
    text = home_text(office.newcomer)
    assert "Complete el registro: falta" in text and draft.code in text
    assert [i.url for i in todo.for_applicant(office.newcomer)] == [
        reverse("registration-detail", args=[draft.pk])
    ]

    for kind in draft.required_documents:
        services.upload_document(draft, actor=office.newcomer, kind=kind, uploaded_file=pdf())
    r = services.submit_registration(draft, actor=office.newcomer)
    decide(r, "registration_review", office.officer, "observe", comment="El NIT no se lee.", deadline_days=5)
    task = open_task(r, "answer_observation")
    due = task.due_at.astimezone(ZoneInfo("America/La_Paz")).strftime("%d/%m/%Y")
    text = home_text(office.newcomer)
    assert f"Si no responde hasta el {due}, el trámite se abandona." in text
    items = todo.for_applicant(office.newcomer)
    # the one-page answer (the kind's applicant page), not the inbox's task page
    assert items[0].case_code == r.code and items[0].url == reverse("registration-answer", args=[r.pk])
    assert todo.for_applicant(office.member) == []  # the unit's member: not their registration
