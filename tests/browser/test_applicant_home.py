"""The applicant's home and the one-page answer to an observation, in headless Chromium at 1366 px and
at 390 px (issue 11, items 4, 9 and 10).

On the demo cases (``seed_demo_cases``), PRO-BOLIVIA observes ``solicitante1``'s submitted
initiative. The applicant's home leads with «Lo que debe hacer»: the observation with its deadline
and what happens if it is missed, linked straight to the answer, and the draft still missing
documents. The answer page shows the observation first, then the data to correct and the documents
side by side (stacked at 390 px), one submit: at 390 px a first try without an answer is refused
(400, nothing saved); then the applicant lowers the amount, uploads a new version of the quotation
and answers. The case page lists the new version "vigente" and the old one "reemplazado el …".

Every page is checked (console errors, broken links, horizontal overflow, serious or critical
axe-core violations) and saved to ``test-artifacts/applicant/<width>-<name>.png``."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow, make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Tanque de enfriamiento de 2.000 litros para APLEWA"  # seed_demo_cases: submitted


@pytest.fixture
def shots():
    return fresh_folder("applicant")


class Visit(CheckedVisit):
    """A refused answer answers 400 on purpose (checked by what the page shows)."""

    def __init__(self, browser, base_url, folder, width, username):
        super().__init__(
            browser,
            base_url,
            folder,
            width,
            username,
            expected_failure=lambda r: r.status == 400 and r.request.method == "POST",
        )

    def text(self) -> str:
        return re.sub(r"\s+", " ", self.page.locator("main").inner_text())


def observe(case, comment: str) -> None:
    from django.contrib.auth import get_user_model

    from approvals import services as approvals
    from workflows.models import CaseTask

    evaluator = get_user_model().objects.get(username="evaluador1")
    task = CaseTask.objects.get(case_code=case.code, step="admissibility", is_open=True)
    approvals.complete_task(
        task.pk, actor=evaluator, decision="observe", comment=comment, data={"deadline_days": 5}
    )


def test_home_and_one_page_answer_at_1366_and_390_px(chromium, live_server, shots):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    from cases.templatetags.expediente_tags import lpz_date
    from iniciativas.models import Initiative
    from workflows.models import CaseTask

    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    call_command("seed_demo_cases", "--force", verbosity=0, stdout=io.StringIO())
    case = Initiative.objects.get(title=TITLE)
    assert case.state == "submitted"

    for width, amount, comment in (
        (1366, "110.000,00", "Adjunte la cotización actualizada del tanque (con IVA) y ajuste el monto."),
        (390, "100.000,00", "La cotización nueva no trae la firma del proveedor: adjúntela firmada."),
    ):
        observe(case, comment)
        task = CaseTask.objects.get(case_code=case.code, step="answer_observation", is_open=True)
        with translation.override("es"):  # as the applicant's page prints it, whatever was active before
            due = lpz_date(task.due_at)
        v = Visit(chromium, live_server.url, shots, width, "solicitante1")
        page = v.page

        # The home: "Lo que debe hacer" first, the observation with deadline and consequence.
        text = v.text()
        assert text.index("Lo que debe hacer") < text.index("Su unidad productiva")
        item = page.locator("li.todo-item").filter(has_text=case.code).first
        assert "Responder a la observación" in item.inner_text()
        assert f"Si no responde hasta el {due}, el trámite se abandona." in item.inner_text()
        assert item.locator(f"a[href='/initiatives/{case.pk}/']").count() == 1  # the code is a link
        assert page.locator("li.todo-item").filter(has_text="Complete el borrador").count() == 1
        assert page.locator("script").count() == 0
        v.check("1-home")

        follow(page, item.locator(f"a[href='/initiatives/{case.pk}/answer/']"))
        text = v.text()
        assert text.index(comment) < text.index("Datos a corregir") < text.index("Su respuesta")
        grid = page.locator(".answer-grid > section")
        data_box, docs_box = grid.nth(0).bounding_box(), grid.nth(1).bounding_box()
        if width == 1366:  # side by side
            assert abs(data_box["y"] - docs_box["y"]) < 2 and docs_box["x"] > data_box["x"]
        else:  # stacked
            assert docs_box["y"] > data_box["y"] + data_box["height"] - 1
        assert page.locator("script").count() == 0
        v.check("2-answer-page")

        if width == 390:  # no answer: refused next to the field, nothing saved
            page.fill("#id_requested_amount", amount)
            follow(page, page.locator("form.answer-form button[type=submit]"))
            assert page.locator("#id_answer_error").is_visible()
            assert page.locator("#id_requested_amount").input_value() == amount  # kept
            v.check("3-answer-refused")
            assert Initiative.objects.get(pk=case.pk).state == "observed"

        page.fill("#id_requested_amount", amount)
        page.set_input_files(
            "#id_document_quotation",
            files=[
                {
                    "name": f"cotizacion-{width}.pdf",
                    "mimeType": "application/pdf",
                    "buffer": make_pdf("Cotización actualizada con IVA"),
                }
            ],
        )
        page.fill("#id_answer", "Adjuntamos la cotización actualizada y ajustamos el monto solicitado.")
        v.check("4-answer-filled", links=False)
        follow(page, page.locator("form.answer-form button[type=submit]"))
        assert f"/initiatives/{case.pk}/" in page.url
        text = v.text()
        assert "Respuesta enviada en el caso" in text and "Enviada" in text
        assert "vigente" in text and "reemplazado el" in text
        v.check("5-answered")
        v.context.close()

        case.refresh_from_db()
        assert case.state == "submitted"
        assert case.requested_amount == Decimal(amount.replace(".", "").replace(",", "."))
        quotations = case.documents.filter(kind="quotation")
        assert quotations.filter(replaced_at__isnull=True).get().original_name == f"cotizacion-{width}.pdf"
