"""Registration and renewal of productive units (PRODUCT.md §2.3) end to end, through the services
and the API: the officer's review in the inbox, observations answered, the period extended, the
numbered certificate issued and verifiable, every rule of the other case types."""

import datetime as dt
import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from approvals import deadlines
from approvals import services as approvals
from audit.models import AuditEntry
from cases.errors import Conflict
from cases.models import OfficialDocument
from registrations import services
from registrations.models import Registration, RegistrationTerm, add_months
from registry.models import Unit
from tests.official_checks import check_official
from workflows import official as official_docs
from workflows.models import CaseTask

from .conftest import UNIT_DATA, api, decide, open_task, pdf, ready_new, ready_renewal

pytestmark = pytest.mark.django_db


def state(r):
    return Registration.objects.get(pk=r.pk).state


def actions(r):
    return list(AuditEntry.objects.filter(case=r.code).order_by("seq").values_list("action", flat=True))


def test_a_new_unit_is_registered_after_review_with_a_numbered_certificate(office):
    r = ready_new(office)
    assert r.code.startswith("REG-") and state(r) == "draft"
    services.submit_registration(r, actor=office.newcomer)
    assert state(r) == "submitted"
    task = open_task(r, "registration_review")
    assert task.role == "evaluator" and task.scope_department and task.department_id == r.department_id

    decide(r, "registration_review", office.officer)

    r.refresh_from_db()
    assert r.state == "closed"
    unit = Unit.objects.get(tax_id=UNIT_DATA["tax_id"])
    today = timezone.localdate()
    assert r.unit == unit and unit.registration_valid_until == add_months(today, 12)
    assert (r.valid_from, r.valid_until) == (today, add_months(today, 12))
    office.newcomer.refresh_from_db()
    assert office.newcomer.unit_id == unit.pk  # the applicant is now its member
    # Drawn as the job does after the commit (a test's transaction never commits).
    cert = official_docs.render(OfficialDocument.objects.get(case_code=r.code).pk)
    assert cert.number == r.certificate_number == f"CRU-{today.year}-000001"
    with cert.file.open("rb") as pdf_file:
        content = pdf_file.read()
    assert cert.sha256 == hashlib.sha256(content).hexdigest() and content.startswith(b"%PDF-")
    assert actions(r) == [
        "registration.created",
        "document.uploaded",
        "document.uploaded",
        "registration.submitted",
        "registration.review_started",
        "registration.approved",
        "registration.closed",
        "task.completed",
        "official_document.rendered",  # after the commit: the job that draws the certificate
    ]
    closed = AuditEntry.objects.get(case=r.code, action="registration.closed")
    assert closed.data["certificate"] == {
        "kind": cert.kind,
        "number": cert.number,
        "content_sha256": cert.content_sha256,
    }
    completed = AuditEntry.objects.get(case=r.code, action="task.completed")
    assert completed.data["certificate"]["content_sha256"] == cert.content_sha256
    assert not CaseTask.objects.filter(case_code=r.code, is_open=True).exists()


def test_observed_then_answered_by_the_applicant_without_a_unit_then_approved(office):
    r = ready_new(office)
    services.submit_registration(r, actor=office.newcomer)
    decide(
        r,
        "registration_review",
        office.officer,
        decision="observe",
        comment="El NIT no es legible",
        deadline_days=5,
    )
    assert state(r) == "observed"
    answer = open_task(r, "answer_observation")
    # No unit yet: the step is the applicant's own, assigned to them.
    assert answer.unit_id is None and answer.owner_id == office.newcomer.pk
    ids = [t["id"] for t in api(office.newcomer).get("/api/v1/tasks/").json()["results"]]
    assert answer.pk in ids
    with pytest.raises(PermissionDenied):
        approvals.complete_task(answer.pk, actor=office.member, decision="approve", data={"answer": "x"})
    services.upload_document(r, actor=office.newcomer, kind="nit_certificate", uploaded_file=pdf("nit2.pdf"))
    decide(r, "answer_observation", office.newcomer, answer="Subimos el NIT de nuevo")
    assert state(r) == "in_review"
    decide(r, "registration_review", office.officer2)
    assert state(r) == "closed"
    assert "registration.observed" in actions(r) and "registration.answered" in actions(r)


def test_a_renewal_before_the_lapse_continues_the_period(office):
    until = office.unit.registration_valid_until
    r = ready_renewal(office)
    services.submit_registration(r, actor=office.member)
    decide(r, "registration_review", office.officer)
    office.unit.refresh_from_db()
    assert office.unit.registration_valid_until == add_months(until, 12)
    assert state(r) == "closed"
    assert "unit.registration_renewed" in set(
        AuditEntry.objects.filter(subject_id=str(office.unit.pk)).values_list("action", flat=True)
    )


def test_a_renewal_after_the_lapse_starts_on_the_approval_and_the_term_in_force(office):

    today = timezone.localdate()
    Unit.objects.filter(pk=office.unit.pk).update(registration_valid_until=today - dt.timedelta(days=20))
    RegistrationTerm.objects.create(starts_on=today - dt.timedelta(days=1), months=24)
    r = ready_renewal(office)
    services.submit_registration(r, actor=office.member)
    decide(r, "registration_review", office.officer)
    office.unit.refresh_from_db()
    assert office.unit.registration_valid_until == add_months(today, 24)
    assert office.unit.registration_is_valid()


def test_rejected_and_withdrawn_end_the_flow(office):
    r = ready_renewal(office)
    services.submit_registration(r, actor=office.member)
    with pytest.raises(ValidationError):
        decide(r, "registration_review", office.officer, decision="reject")  # reasons are required
    decide(r, "registration_review", office.officer, decision="reject", comment="Actividad no acreditada")
    assert state(r) == "rejected"
    assert not CaseTask.objects.filter(case_code=r.code, is_open=True).exists()

    r2 = ready_renewal(office)
    services.submit_registration(r2, actor=office.member)
    services.withdraw_registration(r2, actor=office.member, reason="Error")
    assert state(r2) == "withdrawn"
    assert not CaseTask.objects.filter(case_code=r2.code, is_open=True).exists()
    with pytest.raises(Conflict):
        services.withdraw_registration(r2, actor=office.member)


def test_an_unanswered_observation_abandons_the_registration(office):
    r = ready_renewal(office)
    services.submit_registration(r, actor=office.member)
    decide(
        r,
        "registration_review",
        office.officer,
        decision="observe",
        comment="Falta el informe",
        deadline_days=1,
    )
    CaseTask.objects.filter(case_code=r.code, step="answer_observation").update(
        due_at=timezone.now() - dt.timedelta(minutes=1)
    )
    assert deadlines.expire_observations(actor=office.system) == [r.code]
    assert state(r) == "abandoned"
    assert "registration.abandoned" in actions(r)


def test_submission_needs_every_document_and_nothing_changes_when_refused(office):
    r = services.create_registration(actor=office.newcomer, kind="new", unit_data=UNIT_DATA)
    before = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as err:
        services.submit_registration(r, actor=office.newcomer)
    assert "documents" in err.value.message_dict
    assert state(r) == "draft" and AuditEntry.objects.count() == before


def test_bad_unit_data_and_duplicates_are_refused_with_reasons(office):
    with pytest.raises(ValidationError) as err:
        services.create_registration(
            actor=office.newcomer, kind="new", unit_data={**UNIT_DATA, "tax_id": "012", "department": "XXX"}
        )
    assert {"unit_data.tax_id", "unit_data.department"} <= set(err.value.message_dict)
    with pytest.raises(ValidationError) as err:
        services.create_registration(
            actor=office.newcomer, kind="new", unit_data={**UNIT_DATA, "tax_id": office.unit.tax_id}
        )
    assert "unit_data.tax_id" in err.value.message_dict
    ready_renewal(office)
    with pytest.raises(Conflict):
        services.create_registration(actor=office.member, kind="renewal", unit=office.unit)
    assert Registration.objects.count() == 1


def test_who_may_do_what(office):
    with pytest.raises(PermissionDenied):  # a member of a unit does not register another
        services.create_registration(actor=office.member, kind="new", unit_data=UNIT_DATA)
    with pytest.raises(PermissionDenied):  # nobody renews someone else's unit
        services.create_registration(actor=office.newcomer, kind="renewal", unit=office.unit)
    r = ready_renewal(office)
    with pytest.raises(PermissionDenied):
        services.submit_registration(r, actor=office.officer)
    services.submit_registration(r, actor=office.member)
    task = open_task(r, "registration_review")
    # An officer outside the department's scope is neither offered the task nor allowed it.
    assert task.pk not in [t["id"] for t in api(office.far_officer).get("/api/v1/tasks/").json()["results"]]
    with pytest.raises(PermissionDenied):
        approvals.complete_task(task.pk, actor=office.far_officer, decision="approve")
    with pytest.raises(PermissionDenied):  # the applicant never reviews its own
        approvals.complete_task(task.pk, actor=office.member, decision="approve")
    assert state(r) == "submitted"
    assert AuditEntry.objects.filter(case=r.code, action="task.refused").count() == 2


def test_an_officer_who_applied_never_reviews_it(office):
    """Four eyes from the trail: an applicant later hired as an officer is never offered (nor
    allowed) the review of the registration it applied for."""
    from registry import services as registry

    r = ready_new(office)
    services.submit_registration(r, actor=office.newcomer)
    registry.grant_role(office.newcomer, "evaluator", actor=office.system)
    registry.grant_department_scope(office.newcomer, "LPZ", actor=office.system)
    task = open_task(r, "registration_review")
    assert task.pk not in [t["id"] for t in api(office.newcomer).get("/api/v1/tasks/").json()["results"]]
    with pytest.raises(PermissionDenied):
        approvals.complete_task(task.pk, actor=office.newcomer, decision="approve")


def test_api_journey_and_public_verification(office):
    client = api(office.newcomer)
    response = client.post("/api/v1/registrations/", {"kind": "new", "unit_data": UNIT_DATA}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"].startswith("REG-") and body["state"] == "draft" and body["unit"] is None
    assert body["required_documents"] == ["nit_certificate", "legal_representative_id"]
    rid = body["id"]
    assert client.post(f"/api/v1/registrations/{rid}/submit/").status_code == 400
    for kind in body["required_documents"]:
        up = client.post(
            f"/api/v1/registrations/{rid}/documents/", {"kind": kind, "file": pdf()}, format="multipart"
        )
        assert up.status_code == 201 and len(up.json()["sha256"]) == 64
    assert client.post(f"/api/v1/registrations/{rid}/submit/").json()["state"] == "submitted"
    assert api(office.member).get(f"/api/v1/registrations/{rid}/").status_code == 404  # another applicant

    staff = api(office.officer)
    tasks = staff.get("/api/v1/tasks/", {"case": body["code"]}).json()["results"]
    assert [t["step"] for t in tasks] == ["registration_review"]
    assert staff.post(f"/api/v1/tasks/{tasks[0]['id']}/claim/").status_code == 200
    done = staff.post(f"/api/v1/tasks/{tasks[0]['id']}/complete/", {"decision": "approve"}, format="json")
    assert done.status_code == 200, done.content

    detail = client.get(f"/api/v1/registrations/{rid}/").json()
    assert detail["state"] == "closed" and detail["unit"] is not None
    [cert] = detail["official_documents"]
    assert cert["kind"] == "registration_certificate" and cert["number"] == detail["certificate_number"]
    assert [e["action"] for e in detail["history"]][-1] == "task.completed"
    [approved] = AuditEntry.objects.filter(case=detail["code"], action="registration.closed")
    content = check_official(client, cert, approved.data["certificate"])
    cert = client.get(f"/api/v1/registrations/{rid}/").json()["official_documents"][0]
    assert hashlib.sha256(content).hexdigest() == cert["sha256"]

    public = APIClient()
    ok = public.get(
        "/api/v1/official-documents/verify/", {"number": cert["number"], "sha256": cert["sha256"]}
    ).json()
    assert ok == {
        "valid": True,
        "kind": "registration_certificate",
        "case": body["code"],
        "issued_at": ok["issued_at"],
    }
    forged = public.get(
        "/api/v1/official-documents/verify/", {"number": cert["number"], "sha256": "0" * 64}
    ).json()
    assert forged["valid"] is False and forged["case"] is None
    by_code = public.get(
        "/api/v1/official-documents/verify/",
        {"code": OfficialDocument.objects.get(number=cert["number"]).verification_code},
    ).json()
    assert by_code["valid"] is True
    assert public.get(cert["url"]).status_code == 401  # the PDF itself needs a login


def test_certificate_numbers_never_skip_when_a_decision_is_refused(office):
    from registry import services as registry

    first = ready_new(office)
    services.submit_registration(first, actor=office.newcomer)
    # Someone registers the same NIT directly meanwhile: the approval is refused, nothing is kept.
    registry.register_unit(actor=office.system, **UNIT_DATA)
    with pytest.raises(ValidationError):
        decide(first, "registration_review", office.officer)
    assert state(first) == "submitted" and not OfficialDocument.objects.exists()
    renewal = ready_renewal(office)
    services.submit_registration(renewal, actor=office.member)
    decide(renewal, "registration_review", office.officer)
    year = timezone.localdate().year
    assert OfficialDocument.objects.get().number == f"CRU-{year}-000001"


def test_without_any_term_set_a_registration_is_valid_twelve_months(office):
    RegistrationTerm.objects.all().delete()
    r = ready_new(office)
    services.submit_registration(r, actor=office.newcomer)
    decide(r, "registration_review", office.officer)
    r.refresh_from_db()
    assert r.valid_until == add_months(timezone.localdate(), 12)
