"""A registration's applicant answers an observation on one page (issue 11): the observation, the
documents beside it with one input per kind, the answer; one service (``answer_observation``) uploads
and completes the step together, audited; the inbox's task page and the home lead there."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from cases import todo
from registrations import services
from registrations.models import Registration

from .conftest import decide, open_task, pdf, ready_new

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(user)
    return client


def observed(office) -> Registration:
    r = services.submit_registration(ready_new(office), actor=office.newcomer)
    decide(r, "registration_review", office.officer, "observe", comment="El NIT no se lee.", deadline_days=5)
    return Registration.objects.get(pk=r.pk)


def test_the_page_shows_the_observation_and_the_documents_and_is_where_the_applicant_is_sent(office):
    r = observed(office)
    url = reverse("registration-answer", args=[r.pk])
    task = open_task(r, "answer_observation")
    assert [i.url for i in todo.for_applicant(office.newcomer)] == [url]  # "Lo que debe hacer" leads here
    client = client_for(office.newcomer)
    sent = client.get(reverse("task-detail", args=[task.pk]))
    assert sent.status_code == 302 and sent["Location"] == url  # the inbox's task page leads here
    html = client.get(url).content.decode()
    assert "Responder a la observación" in html and "El NIT no se lee." in html
    assert 'name="document_nit_certificate"' in html and 'name="document_other"' in html
    assert 'enctype="multipart/form-data"' in html and "doc.pdf" in html


def test_the_answer_saves_the_documents_and_completes_the_step_once(office):
    r = observed(office)
    before = r.documents.count()
    response = client_for(office.newcomer).post(
        reverse("registration-answer", args=[r.pk]),
        {"answer": "Adjuntamos el NIT legible.", "document_nit_certificate": pdf("nit.pdf")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("registration-detail", args=[r.pk])
    r.refresh_from_db()
    assert r.state == "in_review" and r.observation == ""
    assert r.documents.count() == before + 1 and r.documents.filter(original_name="nit.pdf").exists()
    done = AuditEntry.objects.filter(case=r.code, action="task.completed", data__step="answer_observation")
    assert done.count() == 1 and done.get().data["data"]["answer"] == "Adjuntamos el NIT legible."
    assert (
        AuditEntry.objects.filter(case=r.code, action="document.uploaded", data__name="nit.pdf").count() == 1
    )
    assert open_task(r, "registration_review").is_open


def test_no_answer_or_a_bad_file_changes_nothing(office):
    r = observed(office)
    client = client_for(office.newcomer)
    url = reverse("registration-answer", args=[r.pk])
    before = (r.documents.count(), AuditEntry.objects.filter(case=r.code).count())
    response = client.post(url, {"answer": " ", "document_other": pdf("x.pdf")})
    assert response.status_code == 400 and "field-error" in response.content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("nit.pdf", b"not a pdf at all", content_type="application/pdf")
    response = client.post(url, {"answer": "Listo.", "document_nit_certificate": bad})
    assert response.status_code == 400
    r.refresh_from_db()
    assert (
        r.state == "observed"
        and (r.documents.count(), AuditEntry.objects.filter(case=r.code).count()) == before
    )


def test_only_the_applicant_may_answer(office):
    r = observed(office)
    url = reverse("registration-answer", args=[r.pk])
    for user in (office.member, office.officer):  # another unit's member; staff
        assert client_for(user).post(url, {"answer": "Nosotros"}).status_code in (403, 404)
        assert client_for(user).get(url).status_code in (403, 404)
    r.refresh_from_db()
    assert r.state == "observed"


def test_each_file_input_says_what_the_upload_does(office):
    """Every upload is a new document beside the earlier ones (none is replaced or removed): a kind the
    registration has is offered as its new version, with the earlier one listed and kept; "other"
    documents are many, so another one is added, never called a version of the first."""
    r = services.submit_registration(ready_new(office), actor=office.newcomer)
    services.upload_document(r, actor=office.newcomer, kind="other", uploaded_file=pdf("carta.pdf"))
    decide(r, "registration_review", office.officer, "observe", comment="El NIT no se lee.", deadline_days=5)
    html = client_for(office.newcomer).get(reverse("registration-answer", args=[r.pk])).content.decode()
    assert "Nueva versión de «Certificado de NIT»" in html
    assert "Agregar «Otro»" in html and "Nueva versión de «Otro»" not in html
    client_for(office.newcomer).post(
        reverse("registration-answer", args=[r.pk]),
        {"answer": "NIT legible y otra carta.", "document_nit_certificate": pdf("nit2.pdf")},
    )
    names = list(r.documents.filter(kind="nit_certificate").values_list("original_name", flat=True))
    assert names == ["doc.pdf", "nit2.pdf"]  # the new version beside the earlier one, both on record
