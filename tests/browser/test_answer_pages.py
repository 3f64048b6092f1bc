"""The one-page answer to an observation of a registration (issue 11), in headless Chromium at 390 and
1366 px: the observation first, the documents with their inputs, the answer; no horizontal scroll and
no serious or critical axe-core violation (``checked.CheckedVisit``); the answer sent from the page
puts the registration back in review. Screenshots in ``test-artifacts/answer/``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

UNIT_DATA = {
    "tax_id": "7766554401",
    "name": "Taller de Tejidos Qhana",
    "kind": "association",
    "department": "LPZ",
    "municipality": "El Alto",
    "sector": "textiles",
}


def observed_registration():
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile

    from approvals import services as approvals
    from registrations import services
    from workflows.models import CaseTask

    from .test_journey import make_pdf

    users = get_user_model().objects
    applicant, officer = users.get(username="solicitante3"), users.get(username="evaluador1")
    r = services.create_registration(actor=applicant, kind="new", unit_data=UNIT_DATA)
    for kind in r.required_documents:
        pdf = SimpleUploadedFile(f"{kind}.pdf", make_pdf(kind), content_type="application/pdf")
        services.upload_document(r, actor=applicant, kind=kind, uploaded_file=pdf)
    services.submit_registration(r, actor=applicant)
    task = CaseTask.objects.get(case_code=r.code, step="registration_review", is_open=True)
    approvals.complete_task(
        task.pk,
        actor=officer,
        decision="observe",
        comment="El certificado NIT no se lee.",
        data={"deadline_days": 5},
    )
    return r


def test_the_registration_answer_page_at_390_and_1366_px(chromium, live_server):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    from registrations.models import Registration

    shots = fresh_folder("answer")
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    r = observed_registration()
    for width in (1366, 390):
        v = CheckedVisit(chromium, live_server.url, shots, width, "solicitante3")
        page = v.page
        follow(page, page.locator(f"li.todo-item a[href='/registrations/{r.pk}/answer/']").first)
        text = page.locator("main").inner_text()
        assert "Responder a la observación" in text and "El certificado NIT no se lee." in text
        assert page.locator("input[type=file][name=document_nit_certificate]").count() == 1
        v.check(f"registration-answer-{width}")
        v.context.close()
    v = CheckedVisit(chromium, live_server.url, shots, 390, "solicitante3")
    page = v.page
    page.goto(f"{live_server.url}/registrations/{r.pk}/answer/")
    page.fill("#id_answer", "Subimos el NIT escaneado de nuevo.")
    follow(page, page.locator("form.answer-form button[type=submit]"))
    assert Registration.objects.get(pk=r.pk).state == "in_review"
    v.check("registration-answered", links=False)
    v.context.close()
