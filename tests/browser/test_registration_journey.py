"""A new unit's registration through the web pages, in headless Chromium: ``solicitante3`` (an
applicant with no unit yet) gives the unit's data (a bad NIT first), uploads the two documents and
sends it; ``evaluador1`` observes it from the inbox; she answers from her own «Mis tareas»;
``evaluador2`` approves it; her case page offers the numbered certificate, and the PDF is one.
Every page is saved to ``test-artifacts/registration/NN-description.png`` (also at 390 px)."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.utils.translation import gettext_lazy as _

from approvals.models import Step

from .test_journey import Journey, follow, make_pdf, visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REVIEW = SimpleNamespace(label=_("Registration review"), value="registration_review")


@pytest.fixture
def registration_dir():
    from .conftest import ARTIFACTS

    folder = ARTIFACTS / "registration"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


def test_a_new_unit_from_the_form_to_its_certificate(chromium, live_server, registration_dir, tmp_path):
    from registrations.models import Registration

    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    j = Journey(browser=chromium, base_url=live_server.url, folder=registration_dir)
    document = tmp_path / "nit.pdf"
    document.write_bytes(make_pdf("Certificado NIT 3344556"))

    page = j.as_user("solicitante3")
    follow(page, page.locator("nav.main-nav a[href='/registrations/']"))
    j.shot(page, "applicant-registrations-empty")
    follow(page, page.locator("main a[href='/registrations/new/']"))
    page.fill("#id_tax_id", "0123")
    page.fill("#id_name", "Cooperativa Lechera Valle Alto")
    page.select_option("#id_kind", "cooperative")
    page.select_option("#id_sector", "dairy")
    page.select_option("#id_department", "CBB")
    page.fill("#id_municipality", "Punata")
    follow(page, page.locator("main form button[type=submit]"))
    assert "NIT" in j.text(page) and page.locator(".field-error").count()
    assert page.locator("#id_name").input_value() == "Cooperativa Lechera Valle Alto"  # nothing lost
    j.shot(page, "applicant-new-unit-bad-nit")
    page.fill("#id_tax_id", "3344556")
    follow(page, page.locator("main form button[type=submit]"))
    j.expect_no_errors(page, "save the draft")
    registration = Registration.objects.get()
    j.code = registration.code
    j.shot(page, "applicant-draft")
    for kind in registration.required_documents:
        page.select_option("#id_kind", kind)
        page.set_input_files("#id_file", str(document))
        follow(page, page.locator("form[action$='/documents/'] button[type=submit]"))
        j.expect_no_errors(page, f"upload {kind}")
    follow(page, page.locator("form[action$='/submit/'] button[type=submit]"))
    j.shot(page, "applicant-submitted")
    page.set_viewport_size({"width": 390, "height": 844})
    j.shot(page, "applicant-submitted-phone")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the case page is {width}px wide on a phone"
    j.done(page)

    j.work_task(
        "evaluador1", REVIEW, decision="observe", comment="El certificado NIT no es legible.", shot="observe"
    )
    j.work_task(
        "solicitante3", Step.ANSWER_OBSERVATION, data={"answer": "Subimos el NIT escaneado de nuevo."}
    )
    j.work_task("evaluador2", REVIEW, shot="approve")

    registration.refresh_from_db()
    assert registration.state == "closed" and registration.certificate_number
    page = j.as_user("solicitante3")
    visit(page, f"{j.base_url}/registrations/{registration.pk}/")
    assert registration.certificate_number in j.text(page)
    j.shot(page, "applicant-closed-with-certificate")
    link = page.locator(f"a[href$='/official/{registration.certificate_number}/']")
    with page.expect_download() as download:
        link.click()
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    j.done(page)
