"""A transfer's beneficiary answers an observation of the approval chain on one page (issue 11): the
observation, the documents beside it, the answer; one service uploads and completes the step
together, audited; the inbox's task page leads there; another unit's member is refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from cases import todo

from .test_observe import observed_at
from .walk import open_task

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(user)
    return client


def test_the_beneficiary_answers_on_one_page_with_a_document(world):
    transfer = observed_at(world, "budget_certification", days=3)
    task = open_task(transfer.code, "answer_observation")
    url = reverse("transfer-answer", args=[transfer.pk])
    assert url in [i.url for i in todo.for_applicant(world.applicant)]  # "Lo que debe hacer" leads here
    client = client_for(world.applicant)
    sent = client.get(reverse("task-detail", args=[task.pk]))
    assert sent.status_code == 302 and sent["Location"] == url
    html = client.get(url).content.decode()
    assert "Responder a la observación" in html and "Adjunte la cotización actualizada" in html
    assert 'name="document_quotation"' in html

    quote = SimpleUploadedFile("cotizacion.pdf", PDF, content_type="application/pdf")
    response = client.post(url, {"answer": "Adjuntamos la cotización.", "document_quotation": quote})
    assert response.status_code == 302 and response["Location"] == reverse(
        "transfer-detail", args=[transfer.pk]
    )
    transfer.refresh_from_db()
    assert transfer.state == "in_approval" and transfer.observation == ""
    assert transfer.documents.filter(kind="quotation", original_name="cotizacion.pdf").exists()
    done = AuditEntry.objects.filter(
        case=transfer.code, action="task.completed", data__step="answer_observation"
    )
    assert done.count() == 1 and done.get().data["data"]["answer"] == "Adjuntamos la cotización."
    assert AuditEntry.objects.filter(case=transfer.code, action="document.uploaded").exists()
    assert open_task(transfer.code, "budget_certification").is_open  # the chain step again


def test_another_units_member_may_not_answer_and_nothing_changes(world):
    transfer = observed_at(world, "budget_certification")
    url = reverse("transfer-answer", args=[transfer.pk])
    before = AuditEntry.objects.filter(case=transfer.code).count()
    assert client_for(world.other_applicant).post(url, {"answer": "Nosotros"}).status_code in (403, 404)
    assert client_for(world.other_applicant).get(url).status_code in (403, 404)
    response = client_for(world.applicant).post(url, {"answer": ""})
    assert response.status_code == 400
    transfer.refresh_from_db()
    assert transfer.observation and AuditEntry.objects.filter(case=transfer.code).count() == before
