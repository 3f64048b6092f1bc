"""Documents of a transfer (PRODUCT.md §7, as initiatives): PDF/JPEG/PNG by content, size-limited,
hashed (the SHA-256 in the ``document.uploaded`` entry), uploaded by the beneficiary unit's members
and the staff working the case while it is open, through the API (``POST
/api/v1/transfers/{id}/documents/``) or the case page, and served only as an attachment after the
case page's own visibility check (404 otherwise)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from tests.iniciativas.conftest import PDF
from tests.iniciativas.test_api_journey import client_for
from transfers import services
from transfers.models import Document, Transfer
from workflows.models import CaseTask

from .walk import drive, new_transfer

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40


def upload_file(content=PDF, name="carta.pdf", content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def api_upload(client, transfer, kind="request_letter", content=PDF, name="carta.pdf", **extra):
    return client.post(
        f"/api/v1/transfers/{transfer.pk}/documents/",
        {"kind": kind, "file": upload_file(content, name)},
        format="multipart",
        **extra,
    )


def page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def web_upload(client, transfer, content=PDF, name="carta.pdf", kind="request_letter"):
    return client.post(
        reverse("transfer-upload", args=[transfer.pk]),
        {"kind": kind, "file": SimpleUploadedFile(name, content, content_type="application/pdf")},
    )


def uploads(transfer) -> int:
    return AuditEntry.objects.filter(case=transfer.code, action="document.uploaded").count()


def nothing_stored(transfer, entries_before: int) -> bool:
    return not Document.objects.filter(transfer=transfer).exists() and uploads(transfer) == entries_before


# --- the service --------------------------------------------------------------------------------------


def test_upload_is_stored_hashed_and_on_the_trail_with_its_sha256(world):
    transfer = new_transfer(world)
    before = AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first()
    document = services.upload_document(
        transfer, actor=world.applicant, kind="request_letter", uploaded_file=upload_file(PNG, "carta.png")
    )
    stored = Path(document.file.path).read_bytes()  # what is on disk, not what was sent
    assert stored == PNG and document.content_type == "image/png" and document.size == len(PNG)
    assert document.sha256 == hashlib.sha256(stored).hexdigest()
    (entry,) = AuditEntry.objects.filter(seq__gt=before)  # exactly one entry, this one
    assert entry.action == "document.uploaded" and entry.actor == world.applicant
    assert (entry.subject_type, entry.subject_id, entry.case) == (
        "transfers.transfer",
        str(transfer.pk),
        transfer.code,
    )
    assert entry.data["sha256"] == document.sha256 and entry.data["size"] == len(PNG)
    assert (entry.data["document"], entry.data["kind"], entry.data["name"]) == (
        document.pk,
        "request_letter",
        "carta.png",
    )


@pytest.mark.parametrize(
    ("content", "kind", "field"),
    [
        (b"hola, no soy un PDF\n", "request_letter", "file"),  # named .pdf, not a PDF by its bytes
        (b"GIF89a" + b"\x00" * 20, "quotation", "file"),
        (b"", "quotation", "file"),  # empty
        (PDF, "passport", "kind"),  # not a kind of transfer document
        (PDF, "", "kind"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(world, content, kind, field):
    from django.core.exceptions import ValidationError

    transfer = new_transfer(world)
    with pytest.raises(ValidationError) as exc:
        services.upload_document(
            transfer, actor=world.applicant, kind=kind, uploaded_file=upload_file(content)
        )
    assert field in exc.value.message_dict
    assert nothing_stored(transfer, 0)


def test_too_large_is_refused_with_the_limit(world, settings):
    from django.core.exceptions import ValidationError

    settings.DOCUMENT_MAX_BYTES = 4096
    transfer = new_transfer(world)
    with pytest.raises(ValidationError) as exc:
        services.upload_document(
            transfer, actor=world.applicant, kind="quotation", uploaded_file=upload_file(PDF + b"0" * 5000)
        )
    assert "file" in exc.value.message_dict
    assert nothing_stored(transfer, 0)
    exact = PDF + b"0" * (4096 - len(PDF))  # just at the limit is fine
    services.upload_document(
        transfer, actor=world.applicant, kind="quotation", uploaded_file=upload_file(exact)
    )


def test_who_may_upload(world):
    from django.core.exceptions import PermissionDenied

    transfer = new_transfer(world)
    for name in ("evaluador1", "legal1", "finanzas1", "director1"):  # staff working transfers
        services.upload_document(transfer, actor=world.staff[name], kind="other", uploaded_file=upload_file())
    for who in (world.other_applicant, world.staff["control1"], world.staff["admin1"]):
        with pytest.raises(PermissionDenied):
            services.upload_document(transfer, actor=who, kind="other", uploaded_file=upload_file())
    assert Document.objects.filter(transfer=transfer).count() == 4 == uploads(transfer)


def test_a_finished_transfer_takes_no_more_documents(world):
    from cases.errors import Conflict

    transfer = new_transfer(world)
    services.annul_transfer(transfer, actor=world.staff["director1"], reason="Duplicada")
    with pytest.raises(Conflict):
        services.upload_document(transfer, actor=world.applicant, kind="other", uploaded_file=upload_file())
    assert nothing_stored(transfer, 0)


# --- the API ------------------------------------------------------------------------------------------------


def test_api_upload_answers_201_and_the_detail_lists_documents(world):
    applicant = client_for("solicitante1")
    transfer = new_transfer(world)
    response = api_upload(applicant, transfer, kind="legal_representative_id", name="ci.pdf")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "sha256", "kind", "original_name", "content_type", "size", "uploaded_at"}
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest() and len(body["sha256"]) == 64
    assert body["kind"] == "legal_representative_id" and body["content_type"] == "application/pdf"
    detail = applicant.get(f"/api/v1/transfers/{transfer.pk}/").json()
    assert [d["id"] for d in detail["documents"]] == [body["id"]]
    assert detail["documents"][0]["sha256"] == body["sha256"]
    staff = client_for("evaluador1").post(
        f"/api/v1/transfers/{transfer.pk}/documents/",
        {"kind": "quotation", "file": upload_file(JPEG, "cotizacion.jpg")},
        format="multipart",
    )
    assert staff.status_code == 201 and staff.json()["content_type"] == "image/jpeg"


def test_api_refusals(world, settings):
    transfer = new_transfer(world)
    applicant = client_for("solicitante1")
    wrong = api_upload(applicant, transfer, content=b"%PDX no", name="carta.pdf")
    assert wrong.status_code == 400 and "file" in wrong.json()
    empty = api_upload(applicant, transfer, content=b"")
    assert empty.status_code == 400 and "file" in empty.json()
    bad_kind = api_upload(applicant, transfer, kind="nada")
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()
    missing = applicant.post(
        f"/api/v1/transfers/{transfer.pk}/documents/", {"kind": "other"}, format="multipart"
    )
    assert missing.status_code == 400 and "file" in missing.json()
    settings.DOCUMENT_MAX_BYTES = 1024
    large = api_upload(applicant, transfer, content=PDF + b"0" * 2048)
    assert large.status_code == 400 and "file" in large.json()
    spanish = api_upload(applicant, transfer, content=b"texto", HTTP_ACCEPT_LANGUAGE="es")
    assert "Solo se aceptan archivos PDF, JPEG o PNG" in spanish.json()["file"][0]
    # Another unit's applicant does not even see the case; internal control sees it, writes nothing.
    assert api_upload(client_for("solicitante2"), transfer).status_code == 404
    assert api_upload(client_for("control1"), transfer).status_code == 403
    assert nothing_stored(transfer, 0)
    services.annul_transfer(transfer, actor=world.staff["director1"], reason="Duplicada")
    assert api_upload(applicant, transfer).status_code == 409
    assert nothing_stored(transfer, 0)


# --- the case page and the download -------------------------------------------------------------------------


def test_upload_from_the_case_page_and_download_after_the_visibility_check(world):
    transfer = new_transfer(world)
    member = page(world.applicant)
    detail = member.get(reverse("transfer-detail", args=[transfer.pk]))
    html = detail.content.decode()
    assert reverse("transfer-upload", args=[transfer.pk]) in html and 'enctype="multipart/form-data"' in html
    assert "Carta de solicitud" in html  # the kinds, in Spanish

    response = web_upload(member, transfer, name="../../carta firmada.html")
    assert response.status_code == 302 and response["Location"].endswith("#documentos")
    document = Document.objects.get(transfer=transfer)
    html = member.get(response["Location"]).content.decode()
    download = reverse("transfer-document", args=[transfer.pk, document.pk])
    assert document.sha256 in html and download in html

    got = member.get(download)
    assert got.status_code == 200 and b"".join(got.streaming_content) == PDF
    assert got["Content-Type"] == "application/pdf" and got["X-Content-Type-Options"] == "nosniff"
    assert got["Content-Disposition"].startswith("attachment;")
    assert 'filename="carta firmada.pdf"' in got["Content-Disposition"]
    assert "private" in got["Cache-Control"]
    for name in ("evaluador1", "control1"):  # whoever may see the case
        assert page(world.staff[name]).get(download).status_code == 200, name
    assert page(world.other_applicant).get(download).status_code == 404  # another unit's applicant
    assert page(world.other_applicant).get(reverse("transfer-detail", args=[transfer.pk])).status_code == 404
    other = new_transfer(world)  # a document id under another case's URL is not found either
    assert member.get(reverse("transfer-document", args=[other.pk, document.pk])).status_code == 404
    assert member.get(reverse("transfer-document", args=[transfer.pk, 10**6])).status_code == 404


def test_page_upload_refusals_change_nothing(world, settings):
    transfer = new_transfer(world)
    member = page(world.applicant)
    wrong = web_upload(member, transfer, content=b"no soy un PDF", name="carta.pdf")
    assert wrong.status_code == 400
    assert "Solo se aceptan archivos PDF, JPEG o PNG" in wrong.content.decode()
    assert wrong.context["document_form"].errors["file"]
    no_kind = member.post(reverse("transfer-upload", args=[transfer.pk]), {"kind": ""})
    assert no_kind.status_code == 400 and {"kind", "file"} <= set(no_kind.context["document_form"].errors)
    settings.DOCUMENT_MAX_BYTES = 4096
    large = web_upload(member, transfer, content=PDF + b"0" * 10_000)
    assert large.status_code == 400
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", large.content.decode()))
    assert "supera" in text and "MB" in text
    # Another unit: 404; internal control may read the page but has no upload form and is refused.
    assert web_upload(page(world.other_applicant), transfer).status_code == 404
    control = page(world.staff["control1"])
    assert (
        reverse("transfer-upload", args=[transfer.pk])
        not in control.get(reverse("transfer-detail", args=[transfer.pk])).content.decode()
    )
    assert web_upload(control, transfer).status_code == 403
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(world.applicant)
    assert web_upload(csrf, transfer).status_code == 403
    assert nothing_stored(transfer, 0)


def test_the_task_page_shows_the_documents_to_the_staff_deciding(world):
    transfer = new_transfer(world)
    document = services.upload_document(
        transfer, actor=world.applicant, kind="quotation", uploaded_file=upload_file(name="cotizacion.pdf")
    )
    task = drive(world, transfer.code, "technical_report")
    html = page(world.staff["evaluador1"]).get(reverse("task-detail", args=[task.pk])).content.decode()
    assert "cotizacion.pdf" in html and document.sha256 in html
    assert reverse("transfer-document", args=[transfer.pk, document.pk]) in html
    assert CaseTask.objects.get(pk=task.pk).is_open
    assert Transfer.objects.get(pk=transfer.pk).state == "requested"
