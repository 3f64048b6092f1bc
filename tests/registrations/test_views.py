"""The registration pages: an applicant registers a new unit and follows it; bad input is shown
next to its field and changes nothing; the officer works it from the inbox with the case file."""

import pytest
from django.test import Client

from registrations.models import Registration

from .conftest import UNIT_DATA, decide, open_task, pdf

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_applicant_registers_a_new_unit_through_the_pages(office):
    c = client_for(office.newcomer)
    page = c.get("/registrations/")
    assert page.status_code == 200 and "/registrations/new/" in page.content.decode()
    bad = c.post("/registrations/new/", {**UNIT_DATA, "registration": "new", "tax_id": "0123"})
    assert bad.status_code == 400 and "NIT" in bad.content.decode()
    assert not Registration.objects.exists()
    made = c.post("/registrations/new/", {**UNIT_DATA, "registration": "new"})
    r = Registration.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/registrations/{r.pk}/"
    detail = c.get(f"/registrations/{r.pk}/").content.decode()
    assert "Certificado de NIT" in detail  # what is still missing
    wrong = c.post(
        f"/registrations/{r.pk}/documents/",
        {"kind": "nit_certificate", "file": pdf("x.pdf").__class__("x.pdf", b"not a pdf", "application/pdf")},
    )
    assert wrong.status_code == 400 and not r.documents.exists()
    for kind in r.required_documents:
        assert c.post(f"/registrations/{r.pk}/documents/", {"kind": kind, "file": pdf()}).status_code == 302
    assert c.post(f"/registrations/{r.pk}/submit/").status_code == 302
    r.refresh_from_db()
    assert r.state == "submitted"
    assert r.code in c.get(f"/registrations/{r.pk}/").content.decode()

    task = open_task(r, "registration_review")
    officer_page = client_for(office.officer).get(f"/tasks/{task.pk}/").content.decode()
    assert UNIT_DATA["name"] in officer_page and "nit_certificate" not in officer_page  # labels, not codes
    decide(r, "registration_review", office.officer)
    r.refresh_from_db()
    final = c.get(f"/registrations/{r.pk}/").content.decode()
    assert r.certificate_number in final
    cert = c.get(f"/registrations/{r.pk}/official/{r.certificate_number}/")
    assert cert.status_code == 200 and b"".join(cert.streaming_content).startswith(b"%PDF-")


def test_other_people_get_404(office):
    from registrations import services

    r = services.create_registration(actor=office.newcomer, kind="new", unit_data=UNIT_DATA)
    assert client_for(office.member).get(f"/registrations/{r.pk}/").status_code == 404
    assert client_for(office.far_officer).get(f"/registrations/{r.pk}/").status_code == 404  # out of scope
    assert client_for(office.officer).get(f"/registrations/{r.pk}/").status_code == 200
    assert client_for(office.control).get(f"/registrations/{r.pk}/").status_code == 200
    assert client_for(office.member).post(f"/registrations/{r.pk}/submit/").status_code == 404


def test_an_oversize_upload_is_cut_with_a_clear_message_and_nothing_is_stored(office, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from registrations import services

    from .conftest import PDF

    settings.DOCUMENT_MAX_BYTES = 4096
    r = services.create_registration(actor=office.newcomer, kind="new", unit_data=UNIT_DATA)
    c = client_for(office.newcomer)
    big = SimpleUploadedFile("nit.pdf", PDF + b"0" * 10_000, content_type="application/pdf")
    response = c.post(f"/registrations/{r.pk}/documents/", {"kind": "nit_certificate", "file": big})
    assert response.status_code == 400
    html = response.content.decode()
    assert "supera" in html and 'id="id_file_error"' in html
    assert not r.documents.exists()
    fits = SimpleUploadedFile("nit.pdf", PDF + b"0" * (4096 - len(PDF)), content_type="application/pdf")
    assert (
        c.post(f"/registrations/{r.pk}/documents/", {"kind": "nit_certificate", "file": fits}).status_code
        == 302
    )


def test_the_upload_page_still_checks_csrf(office):
    from registrations import services

    r = services.create_registration(actor=office.newcomer, kind="new", unit_data=UNIT_DATA)
    c = Client(enforce_csrf_checks=True)
    c.force_login(office.newcomer)
    response = c.post(f"/registrations/{r.pk}/documents/", {"kind": "nit_certificate", "file": pdf()})
    assert response.status_code == 403 and not r.documents.exists()
