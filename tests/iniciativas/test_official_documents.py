"""Official documents of a case, beyond the journeys (which check each is born at its step with its
SHA-256 in that step's audit entry): numbering per kind and year, the public verification (API and
page: genuine, tampered hash, unknown number, typed code; never personal data), and the signed scan
uploaded back (the step's role or an administrator, once; anyone else refused and the refusal on the
record; audited; shown on the case page and in the API)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from cases import official, official_pdf
from cases.errors import Conflict
from cases.models import OfficialDocument
from cases.roles import Role
from iniciativas import official_documents as papers
from tests.pdftext import pdf_text
from workflows import official as official_docs

from .conftest import PDF, submitted
from .test_api_journey import client_for

pytestmark = pytest.mark.django_db


def issue(world, case, kind=official_pdf.AGREEMENT, *, role=Role.LEGAL, step="agreement", drawn=True):
    """A document of ``case`` as its step issues it (the renderer and numbering are the real ones),
    and (``drawn``) its PDF as the job draws it after the commit."""

    def describe(number, code, url):
        return official_pdf.OfficialPdf(
            title=kind.title,
            number=number,
            code=code,
            verify_url=url,
            case_code=case.code,
            template_version="test",
            rows=[("Unidad productiva", case.unit.name), ("NIT", case.unit.tax_id)],
            amounts=[("Monto", papers.granted(case))],
        )

    document = official.issue(
        kind=kind.kind,
        prefix=kind.prefix,
        case=case,
        case_type="initiative",
        actor=world.staff["legal1"],
        template_version="test",
        describe=describe,
        step=step,
        role=role,
    )
    return official_docs.render(document.pk) if drawn else document


def test_numbers_run_per_kind_and_per_year(world, monkeypatch):
    case = submitted(world)
    year = timezone.localdate().year
    first, second = issue(world, case), issue(world, case)
    resolution = issue(world, case, official_pdf.RESOLUTION)
    assert [first.number, second.number] == [f"CNV-{year}-000001", f"CNV-{year}-000002"]
    assert resolution.number == f"RAP-{year}-000001"
    monkeypatch.setattr(official.timezone, "localdate", lambda: dt.date(year + 1, 1, 2))
    assert issue(world, case).number == f"CNV-{year + 1}-000001"
    assert len({d.verification_code for d in OfficialDocument.objects.all()}) == 4


def test_the_pdf_prints_number_code_data_and_amount_in_words(world):
    case = submitted(world, requested_amount="121000.00", counterpart_amount="130000.00")
    document = issue(world, case)
    content = document.file.read()
    assert hashlib.sha256(content).hexdigest() == document.sha256
    text = pdf_text(content)
    for expected in (
        document.number,
        document.verification_code,
        case.code,
        case.unit.name,
        "Bs 121.000,00",
        "CIENTO VEINTIÚN MIL 00/100 BOLIVIANOS",
        "Ministerio de Desarrollo Productivo y Economía Plural",
    ):
        assert expected in text, expected


# --- described in the step, drawn after its commit -------------------------------------------------


def test_the_step_records_what_it_prints_and_owes_the_drawing(world):
    from cases.models import OutboxMessage

    case = submitted(world)
    before = OutboxMessage.objects.filter(task="workflows.render_official").count()
    document = issue(world, case, drawn=False)
    stored = OfficialDocument.objects.get(pk=document.pk)
    assert stored.sha256 == "" and not stored.file and stored.rendered_at is None
    assert stored.content["number"] == document.number and stored.content["case_code"] == case.code
    assert stored.content["amounts"] == [["Monto", str(papers.granted(case).quantize(Decimal("0.01")))]]
    assert stored.content_sha256 == hashlib.sha256(official_pdf.canonical(stored.content)).hexdigest()
    assert official.audit_data(stored) == {
        "kind": "agreement",
        "number": document.number,
        "content_sha256": stored.content_sha256,
    }
    owed = OutboxMessage.objects.filter(task="workflows.render_official").order_by("pk")
    assert owed.count() == before + 1 and owed.last().kwargs == {"document": document.pk}
    assert not AuditEntry.objects.filter(action="official_document.rendered").exists()


def test_drawing_stores_the_pdf_once_and_records_both_hashes(world):
    case = submitted(world)
    document = issue(world, case, drawn=False)
    drawn = official_docs.render(document.pk)
    content = drawn.file.read()
    assert hashlib.sha256(content).hexdigest() == drawn.sha256 and drawn.rendered_at is not None
    assert document.number in pdf_text(content)
    entry = AuditEntry.objects.get(action="official_document.rendered")
    assert entry.case == case.code and entry.actor == world.staff["legal1"]
    assert entry.data == {
        "kind": "agreement",
        "number": document.number,
        "content_sha256": document.content_sha256,
        "sha256": drawn.sha256,
        "size": len(content),
        "template_version": "test",
    }
    again = official_docs.render(document.pk)  # the job redelivered, or a download racing it
    assert again.sha256 == drawn.sha256 and again.file.name == drawn.file.name
    assert AuditEntry.objects.filter(action="official_document.rendered").count() == 1


def test_the_stored_description_draws_the_same_pdf_as_the_description():
    doc = official_pdf.OfficialPdf(
        title="CONVENIO DE FINANCIAMIENTO",
        number="CNV-2026-000007",
        code="ABCDEFGHJK",
        verify_url="/documents/verify/?code=ABCDEFGHJK",
        case_code="INI-2026-000001",
        template_version="test",
        intro="Entre PRO-BOLIVIA y la unidad productiva…",
        rows=[("NIT", "1020304050"), ("Vacío", "")],
        amounts=[("Monto", Decimal("121000.5"))],
        table_title="Bienes",
        table=[("N.º", "Serie"), ("1", "SN-001")],
        table_widths=(0.2, 0.8),
        clauses=["PRIMERA.- Objeto."],
        signatures=["Director", "Beneficiario"],
        issued_on=dt.date(2026, 12, 7),
    )
    stored = json.loads(json.dumps(official_pdf.to_content(doc)))  # as the JSON column returns it
    assert official_pdf.render(official_pdf.from_content(stored)) == official_pdf.render(doc)


def test_a_download_before_the_job_draws_it(world):
    case = submitted(world)
    document = issue(world, case, drawn=False)
    response = official_docs.pdf_response(case, document.number)
    content = b"".join(response.streaming_content)
    stored = OfficialDocument.objects.get(pk=document.pk)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert AuditEntry.objects.filter(action="official_document.rendered").count() == 1


def test_the_verify_page_by_code_says_the_pdf_is_being_drawn(world):
    case = submitted(world)
    document = issue(world, case, drawn=False)
    assert official.verify_path(document) == f"/documents/verify/?code={document.verification_code}"
    html = Client().get(official.verify_path(document)).content.decode()
    assert document.number in html and ("SHA-256" in html)
    assert "being generated" in html or "se está generando" in html
    assert "sha256sum" not in html  # no hash to compare a file with yet


# --- verification ------------------------------------------------------------------------------------


def test_verify_api_genuine_tampered_unknown_and_by_code(world):
    case = submitted(world)
    document = issue(world, case)
    public = APIClient()
    url = "/api/v1/official-documents/verify/"
    genuine = public.get(url, {"number": document.number, "sha256": document.sha256}).json()
    assert genuine == {
        "valid": True,
        "kind": "agreement",
        "case": case.code,
        "issued_at": genuine["issued_at"],
    }
    tampered = "0" + document.sha256[1:] if document.sha256[0] != "0" else "1" + document.sha256[1:]
    assert public.get(url, {"number": document.number, "sha256": tampered}).json()["valid"] is False
    assert public.get(url, {"number": "CNV-1999-000001", "sha256": document.sha256}).json()["valid"] is False
    typed = f"{document.verification_code[:5].lower()}-{document.verification_code[5:]}"
    assert public.get(url, {"code": typed}).json()["valid"] is True
    assert public.get(url, {"code": "NOPE"}).json() == {
        "valid": False,
        "kind": None,
        "case": None,
        "issued_at": None,
    }


def test_verify_page_says_genuine_without_personal_data(world):
    case = submitted(world)
    document = issue(world, case)
    public = Client()
    page = public.get(document and official.verify_path(document))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Auténtico" in html or "Genuine" in html
    for shown in (document.number, case.code, document.sha256):
        assert shown in html
    for private in (
        case.unit.name,
        case.unit.tax_id,
        world.applicant.username,
        world.staff["legal1"].username,
    ):
        assert private not in html, private


def test_verify_page_refuses_a_tampered_hash_and_an_unknown_code(world):
    case = submitted(world)
    document = issue(world, case)
    public = Client()
    tampered = public.get("/documents/verify/", {"number": document.number, "sha256": "ab" * 32})
    assert tampered.status_code == 200 and document.sha256 not in tampered.content.decode()
    assert "No official document matches" in tampered.content.decode() or "Ningún documento" in (
        tampered.content.decode()
    )
    unknown = public.get("/documents/verify/", {"code": "ZZZZZZZZZZ"}).content.decode()
    assert case.code not in unknown
    by_code = public.get("/documents/verify/", {"code": document.verification_code}).content.decode()
    assert document.number in by_code and case.code in by_code
    blank = public.get("/documents/verify/")
    assert blank.status_code == 200 and b'name="code"' in blank.content


def test_the_qr_code_and_verify_url_lead_to_the_page(world):
    case = submitted(world)
    document = issue(world, case)
    assert official.verify_path(document).startswith("/documents/verify/?number=")
    assert "/documents/verify/" in pdf_text(document.file.read())


# --- the signed scan -----------------------------------------------------------------------------------


def scan(content=PDF, name="firmado.pdf"):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_the_steps_role_uploads_the_signed_scan_once_and_it_is_audited(world):
    case = submitted(world)
    document = issue(world, case)
    stored = official_docs.upload_signed_scan(
        case, document.number, actor=world.staff["legal2"], uploaded_file=scan()
    )
    assert stored.signed_scan_sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.signed_scan.read() == PDF and stored.file.read()  # both kept, side by side
    entry = AuditEntry.objects.get(action="official_document.scan_uploaded")
    assert entry.case == case.code and entry.actor == world.staff["legal2"]
    assert entry.data["number"] == document.number
    assert entry.data["sha256"] == document.sha256
    assert entry.data["signed_scan_sha256"] == stored.signed_scan_sha256
    with pytest.raises(Conflict):
        official_docs.upload_signed_scan(
            case, document.number, actor=world.staff["admin1"], uploaded_file=scan()
        )
    assert AuditEntry.objects.filter(action="official_document.scan_uploaded").count() == 1


def test_an_administrator_may_upload_it(world):
    case = submitted(world)
    document = issue(world, case)
    official_docs.upload_signed_scan(case, document.number, actor=world.staff["admin1"], uploaded_file=scan())
    assert OfficialDocument.objects.get(pk=document.pk).has_signed_scan


@pytest.mark.parametrize("who", ["finanzas1", "evaluador1", "director1", "control1", "solicitante1"])
def test_anyone_else_is_refused_and_the_refusal_is_recorded(world, who):
    from django.core.exceptions import PermissionDenied

    case = submitted(world)
    document = issue(world, case)
    actor = world.applicant if who == "solicitante1" else world.staff[who]
    with pytest.raises(PermissionDenied):
        official_docs.upload_signed_scan(case, document.number, actor=actor, uploaded_file=scan())
    assert not OfficialDocument.objects.get(pk=document.pk).has_signed_scan
    assert not AuditEntry.objects.filter(action="official_document.scan_uploaded").exists()
    refusal = AuditEntry.objects.get(action="auth.permission_denied")
    assert refusal.actor == actor and refusal.data["attempt"] == "official_scan_upload"


def test_a_file_that_is_not_a_pdf_or_image_is_refused(world):
    from django.core.exceptions import ValidationError

    case = submitted(world)
    document = issue(world, case)
    with pytest.raises(ValidationError):
        official_docs.upload_signed_scan(
            case, document.number, actor=world.staff["legal1"], uploaded_file=scan(b"MZ\x90\x00", "x.exe")
        )
    assert not OfficialDocument.objects.get(pk=document.pk).has_signed_scan


def test_scan_through_the_api_and_the_case_page(world):
    case = submitted(world)
    document = issue(world, case)
    base = f"/api/v1/initiatives/{case.pk}/official/{document.number}/scan/"
    applicant = client_for("solicitante1")
    assert applicant.get(base).status_code == 404  # nothing uploaded yet
    refused = applicant.post(base, {"file": scan()}, format="multipart")
    assert refused.status_code == 403
    legal = client_for("legal1")
    created = legal.post(base, {"file": scan()}, format="multipart")
    assert created.status_code == 201, created.content
    assert created.json()["signed_scan"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert legal.post(base, {"file": scan()}, format="multipart").status_code == 409
    detail = applicant.get(f"/api/v1/initiatives/{case.pk}/").json()
    [listed] = detail["official_documents"]
    assert listed["number"] == document.number and listed["signed_scan"]["url"].endswith(base)
    download = applicant.get(listed["signed_scan"]["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    pdf = applicant.get(listed["url"])
    assert hashlib.sha256(b"".join(pdf.streaming_content)).hexdigest() == document.sha256
    assert client_for("solicitante2").get(listed["url"]).status_code == 404  # another unit's case

    page = Client()
    page.force_login(world.applicant)
    html = page.get(f"/initiatives/{case.pk}/").content.decode()
    assert document.number in html and f"/initiatives/{case.pk}/official/{document.number}/scan/" in html


def test_the_case_page_offers_the_upload_to_the_steps_role_only(world):
    case = submitted(world)
    document = issue(world, case)
    upload_url = f"/initiatives/{case.pk}/official/{document.number}/scan/upload/"
    applicant = Client()
    applicant.force_login(world.applicant)
    assert upload_url not in applicant.get(f"/initiatives/{case.pk}/").content.decode()
    legal = Client()
    legal.force_login(world.staff["legal1"])
    assert upload_url in legal.get(f"/initiatives/{case.pk}/").content.decode()
    response = legal.post(upload_url, {"file": scan()})
    assert response.status_code == 302
    assert OfficialDocument.objects.get(pk=document.pk).signed_scan_uploaded_by == world.staff["legal1"]


def test_embedded_the_pdf_is_drawn_right_after_the_commit(
    world, django_capture_on_commit_callbacks, settings
):
    if settings.CELERY_BROKER_URL:
        pytest.skip("with a broker the relay hands the job to a worker (tests/test_celery_integration.py)")
    case = submitted(world)
    with django_capture_on_commit_callbacks(execute=True):
        document = issue(world, case, drawn=False)
        assert OfficialDocument.objects.get(pk=document.pk).sha256 == ""
    stored = OfficialDocument.objects.get(pk=document.pk)
    assert stored.sha256 == hashlib.sha256(stored.file.read()).hexdigest()
    assert AuditEntry.objects.get(action="official_document.rendered").data["sha256"] == stored.sha256
