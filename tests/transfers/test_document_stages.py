"""Which documents a transfer takes, when and from whom (issue 13, item 4; ``transfers.document_rules``):
the request's supporting papers while it is requested or verified (or an observation awaits its
answer), the signed delivery record (acta de entrega) once the record is made, the photos and reports
of the follow-up visits during the follow-up; each by its people. Refusals say why, in Spanish, and
store nothing; what is stored carries its SHA-256 and the case's state in its audit entry; the API
and the case page offer only the kinds one may upload now."""

from __future__ import annotations

import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from audit.models import AuditEntry
from cases.errors import Conflict
from tests.iniciativas.conftest import PDF
from tests.iniciativas.test_api_journey import client_for
from transfers import services
from transfers.models import Document, Transfer

from .test_documents import JPEG, PNG, api_upload, page, upload_file, uploads
from .walk import decide, drive, new_transfer

pytestmark = pytest.mark.django_db

REQUEST_PAPERS = ("request_letter", "legal_representative_id", "quotation")


def upload(transfer, actor, kind, content=PDF, name="doc.pdf"):
    return services.upload_document(
        transfer, actor=actor, kind=kind, uploaded_file=upload_file(content, name)
    )


def refused(exc_type, transfer, actor, kind, content=PDF) -> str:
    before = (Document.objects.filter(transfer=transfer).count(), uploads(transfer))
    with translation.override("es"), pytest.raises(exc_type) as err:
        upload(transfer, actor, kind, content)
    after = (Document.objects.filter(transfer=transfer).count(), uploads(transfer))
    assert after == before  # nothing stored, nothing on the trail
    with translation.override("es"):
        return " ".join(err.value.messages) if isinstance(err.value, ValidationError) else str(err.value)


def reload(transfer) -> Transfer:
    return Transfer.objects.get(pk=transfer.pk)


def test_request_papers_while_requested_and_in_verification_not_after(world):
    transfer = new_transfer(world)
    for kind in REQUEST_PAPERS:
        upload(transfer, world.applicant, kind)
    upload(transfer, world.staff["legal1"], "legal_representative_id")
    decide(world, transfer.code, "technical_report")  # the first report is in: in verification
    transfer = reload(transfer)
    assert transfer.state == "in_verification"
    upload(transfer, world.applicant, "quotation")
    drive(world, transfer.code, "budget_certification")
    transfer = reload(transfer)
    assert transfer.state == "in_approval" and not transfer.observation
    message = refused(Conflict, transfer, world.applicant, "quotation")
    assert "Cotización" in message and "en aprobación" in message and transfer.code in message
    # Finance does not upload the request's papers (it may upload "other").
    assert "Carta de solicitud" in refused(
        PermissionDenied, transfer, world.staff["finanzas1"], "request_letter"
    )
    upload(transfer, world.staff["finanzas1"], "other")


def test_request_papers_again_while_an_observation_awaits_its_answer(world):
    transfer = new_transfer(world)
    drive(world, transfer.code, "budget_certification")
    decide(world, transfer.code, "budget_certification", "observe", "Adjunte la cotización actualizada.")
    transfer = reload(transfer)
    assert transfer.state == "in_approval" and transfer.observation
    document = upload(transfer, world.applicant, "quotation", PNG, "cotizacion.png")
    entry = AuditEntry.objects.filter(case=transfer.code, action="document.uploaded").latest("seq")
    assert entry.data["state"] == "in_approval" and entry.data["sha256"] == document.sha256
    decide(world, transfer.code, "answer_observation")
    assert not reload(transfer).observation
    refused(Conflict, reload(transfer), world.applicant, "quotation")


def test_the_signed_delivery_record_once_the_record_is_made_by_its_people(world):
    transfer = new_transfer(world, modality="in_kind")
    upload(transfer, world.applicant, "quotation")
    drive(world, transfer.code, "delivery_record")
    transfer = reload(transfer)
    assert transfer.state == "in_delivery" and not transfer.delivery_record_number
    message = refused(Conflict, transfer, world.staff["evaluador1"], "delivery_record_scan")
    assert "acta" in message.lower() or "entrega" in message.lower()
    drive(world, transfer.code, "delivery_acceptance")  # the record is made; the unit accepts next
    transfer = reload(transfer)
    assert transfer.state == "in_delivery" and transfer.delivery_record_number
    scan = upload(transfer, world.applicant, "delivery_record_scan", PDF, "acta-firmada.pdf")
    assert scan.sha256 == hashlib.sha256(PDF).hexdigest()
    upload(transfer, world.staff["evaluador1"], "delivery_record_scan")
    for name in ("legal1", "finanzas1"):
        refused(PermissionDenied, transfer, world.staff[name], "delivery_record_scan")
    drive(world, transfer.code, "followup_visit")  # accepted: delivered, in follow-up
    transfer = reload(transfer)
    assert transfer.state == "in_followup"
    upload(transfer, world.staff["director1"], "delivery_record_scan")
    entries = AuditEntry.objects.filter(
        case=transfer.code, action="document.uploaded", data__kind="delivery_record_scan"
    )
    assert [e.data["state"] for e in entries.order_by("seq")] == ["in_delivery", "in_delivery", "in_followup"]


def test_a_transfer_in_money_has_no_delivery_record_to_sign(world):
    transfer = new_transfer(world)
    drive(world, transfer.code, "followup_visit")
    transfer = reload(transfer)
    assert transfer.state == "in_followup"
    assert "dinero" in refused(Conflict, transfer, world.applicant, "delivery_record_scan")


def test_photos_and_reports_of_the_followup_visits(world):
    transfer = new_transfer(world)
    # Before the follow-up, no visit documents.
    refused(Conflict, transfer, world.staff["evaluador1"], "visit_report")
    drive(world, transfer.code, "followup_visit")
    transfer = reload(transfer)
    photo = upload(transfer, world.staff["evaluador2"], "visit_photo", JPEG, "visita.jpg")
    assert photo.content_type == "image/jpeg"
    upload(transfer, world.staff["evaluador2"], "visit_photo", PNG, "visita.png")
    upload(transfer, world.staff["director1"], "visit_report", PDF, "informe-visita.pdf")
    # A photo is an image; the unit and other roles do not upload the visit's documents.
    assert "JPEG o PNG" in refused(ValidationError, transfer, world.staff["evaluador2"], "visit_photo", PDF)
    refused(PermissionDenied, transfer, world.applicant, "visit_photo", PNG)
    refused(PermissionDenied, transfer, world.staff["legal1"], "visit_report")
    refused(PermissionDenied, transfer, world.staff["finanzas1"], "visit_report")
    kinds = list(Document.objects.filter(transfer=transfer).values_list("kind", flat=True))
    assert kinds == ["visit_photo", "visit_photo", "visit_report"]
    # Once closed, nothing more.
    decide(world, transfer.code, "followup_visit")
    transfer = reload(transfer)
    assert transfer.state == "closed"
    refused(Conflict, transfer, world.staff["evaluador2"], "visit_report")


def test_the_api_offers_the_kinds_of_the_stage_and_refuses_the_others_in_spanish(world):
    transfer = new_transfer(world)
    applicant, evaluator = client_for("solicitante1"), client_for("evaluador1")
    assert applicant.get(f"/api/v1/transfers/{transfer.pk}/").json()["upload_kinds"] == [
        "request_letter",
        "legal_representative_id",
        "quotation",
        "other",
    ]
    assert client_for("control1").get(f"/api/v1/transfers/{transfer.pk}/").json()["upload_kinds"] == []
    early = api_upload(
        evaluator, transfer, kind="visit_photo", content=PNG, name="f.png", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert early.status_code == 409 and "durante el seguimiento" in early.json()["detail"]
    drive(world, transfer.code, "followup_visit")
    assert evaluator.get(f"/api/v1/transfers/{transfer.pk}/").json()["upload_kinds"] == [
        "visit_photo",
        "visit_report",
        "other",
    ]
    assert applicant.get(f"/api/v1/transfers/{transfer.pk}/").json()["upload_kinds"] == ["other"]
    denied = api_upload(
        applicant, transfer, kind="visit_photo", content=PNG, name="f.png", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert denied.status_code == 403 and "Foto de visita" in denied.json()["detail"]
    not_image = api_upload(evaluator, transfer, kind="visit_photo", HTTP_ACCEPT_LANGUAGE="es")
    assert not_image.status_code == 400 and "JPEG o PNG" in not_image.json()["file"][0]
    done = api_upload(evaluator, transfer, kind="visit_photo", content=PNG, name="visita.png")
    assert done.status_code == 201 and done.json()["sha256"] == hashlib.sha256(PNG).hexdigest()
    detail = evaluator.get(f"/api/v1/transfers/{transfer.pk}/").json()
    assert [d["kind"] for d in detail["documents"]] == ["visit_photo"]


def test_the_case_page_offers_the_kinds_of_the_stage_and_says_why_another_is_refused(world):
    transfer = new_transfer(world)
    drive(world, transfer.code, "followup_visit")
    evaluator = page(world.staff["evaluador1"])
    html = evaluator.get(reverse("transfer-detail", args=[transfer.pk])).content.decode()
    form = html[html.index('id="subir-documento"') :]
    options = form[: form.index("</select>")]
    assert 'value="visit_photo"' in options and 'value="visit_report"' in options
    assert 'value="request_letter"' not in options
    assert "Qué documentos, cuándo" in form
    response = evaluator.post(
        reverse("transfer-upload", args=[transfer.pk]),
        {"kind": "request_letter", "file": upload_file()},
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert response.status_code == 400
    assert "Carta de solicitud" in " ".join(response.context["document_form"].errors["kind"])
    assert not Document.objects.filter(transfer=transfer).exists()
    ok = evaluator.post(
        reverse("transfer-upload", args=[transfer.pk]),
        {"kind": "visit_photo", "file": upload_file(JPEG, "visita.jpg", "image/jpeg")},
    )
    assert ok.status_code == 302
    listed = evaluator.get(ok["Location"]).content.decode()
    document = Document.objects.get(transfer=transfer)
    assert "visita.jpg" in listed and document.sha256 in listed
