"""A transfer's case page in follow-up, in headless Chromium at 1366 px and at 390 px (issue 13,
item 4): the evaluator's upload form offers the follow-up visit's documents (not the request's
papers), a photo goes up and is listed with its SHA-256, and «Qué documentos, cuándo» says which kind
goes when. Each page is checked (console, links, overflow, axe-core: ``checked.CheckedVisit``) and
saved to ``test-artifacts/transfer-documents/<width>-<name>.png``."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from django.core.management import call_command

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow
from .test_transfer_journey import PNG

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_followup_documents_from_the_case_page_at_1366_and_390_px(chromium, live_server):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    from registry.models import User
    from tests.transfers.walk import drive, new_transfer
    from transfers.models import Document

    shots = fresh_folder("transfer-documents")
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    applicant = User.objects.get(username="solicitante1")
    world = SimpleNamespace(applicant=applicant, unit=applicant.unit)
    transfer = new_transfer(world)  # in money: Bs 35.000
    drive(world, transfer.code, "followup_visit")

    for width in (1366, 390):
        v = CheckedVisit(chromium, live_server.url, shots, width, "evaluador1")
        page = v.page
        follow(page, page.locator("nav.main-nav a[href='/transfers/']"))
        follow(page, page.locator(f"main a[href='/transfers/{transfer.pk}/']"))
        offered = page.locator("#subir-documento select[name=kind] option").evaluate_all(
            "os => os.map(o => o.value)"
        )
        assert offered == ["", "visit_photo", "visit_report", "other"], offered
        page.locator("#subir-documento details summary").click()
        assert "Durante el seguimiento" in page.locator("#subir-documento details").inner_text()
        v.check("followup-upload-form")
        page.select_option("#subir-documento select[name=kind]", "visit_photo")
        page.set_input_files(
            "#subir-documento input[type=file]",
            files=[{"name": f"visita-{width}.png", "mimeType": "image/png", "buffer": PNG}],
        )
        follow(page, page.locator("#subir-documento button[type=submit]"))
        document = Document.objects.get(transfer=transfer, original_name=f"visita-{width}.png")
        text = page.locator("main").inner_text()
        assert f"visita-{width}.png" in text and "Foto de visita de seguimiento" in text
        assert document.sha256[:8] in text
        v.check("followup-photo-uploaded")
        v.context.close()
