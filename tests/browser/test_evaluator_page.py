"""The evaluator's task page in headless Chromium, at 1366 px and at 390 px (issue 11, items 2 and 8):
on a demo case in technical evaluation, the evaluator first declares whether they have a conflict of
interest — the case's documents stay closed until then (the download answers 403) — then scores the
rubric, which shows each criterion's text and maximum, a running total and the pass mark. At 390 px a
colleague declares a conflict: the task goes back and is not offered to them again.

Every page visited is checked for console errors, broken links, horizontal overflow and serious or
critical axe-core violations (``tests/browser/node_modules/axe-core``: ``npm ci --prefix
tests/browser``), and saved to ``test-artifacts/evaluator/<width>-<name>.png``."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow, visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Planta de yogur y quesos de la asociación de Potosí"  # seed_demo_cases: in evaluation


@pytest.fixture
def shots():
    return fresh_folder("evaluator")


class Visit(CheckedVisit):
    """Forms sent with errors answer 400 on purpose (checked by what the page shows), and the
    refused download is checked by its own request."""

    def __init__(self, browser, base_url, folder, width, username):
        super().__init__(
            browser,
            base_url,
            folder,
            width,
            username,
            expected_failure=lambda r: (
                (r.status == 400 and r.request.method == "POST") or "/documents/" in r.url
            ),
        )

    def text(self) -> str:
        return re.sub(r"\s+", " ", self.page.locator("main").inner_text())

    def open_evaluation(self) -> None:
        """From «Disponibles», the case's technical-evaluation task (not claimed: opening is enough)."""
        page = self.page
        visit(page, f"{self.base_url}/tasks/available/")
        row = page.locator("table tbody tr").filter(has_text="Evaluación técnica").first
        assert row.count(), self.text()[:1500]
        follow(page, row.locator("th a").first)


def test_declaration_then_rubric_at_1366_and_390_px(chromium, live_server, shots):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    from audit.models import AuditEntry
    from iniciativas.models import Evaluation, Initiative

    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    call_command("seed_demo_cases", "--force", verbosity=0, stdout=io.StringIO())
    case = Initiative.objects.get(title=TITLE)
    assert case.state == "in_evaluation"
    document = case.documents.first()
    download = f"{live_server.url}/initiatives/{case.pk}/documents/{document.pk}/"

    # --- 1366 px: evaluador2 declares no conflict and scores ------------------------------------------
    v = Visit(chromium, live_server.url, shots, 1366, "evaluador2")
    page = v.page
    v.open_evaluation()
    text = v.text()
    assert "Conflicto de interés" in text and "se abren cuando declare" in text
    assert page.locator("form.decide").count() == 0  # no scores before the declaration
    assert page.locator(f"a[href^='/initiatives/{case.pk}/documents/']").count() == 0
    v.check("1-declaration")
    refused = page.request.get(download)
    assert refused.status == 403 and "conflicto de interés" in refused.text()

    # Sending nothing: the error summary takes the focus; nothing recorded.
    follow(page, page.locator("form.declare-form button[type=submit]"))
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert "Elija una de las dos declaraciones." in v.text()
    v.check("2-declaration-error")

    page.locator("form.declare-form input[value=none]").check()
    follow(page, page.locator("form.declare-form button[type=submit]"))
    assert "quedó registrada" in v.text()
    assert page.request.get(download).status == 200  # the documents are open now
    rubric = page.locator("fieldset.rubric")
    assert rubric.locator("legend").inner_text() == "Rúbrica de evaluación"
    criteria = rubric.locator("li.criterion")
    assert criteria.count() == 4
    first = criteria.first.inner_text()
    assert "Pertinencia para la cuenca lechera" in first and "hasta 25 puntos" in first
    assert "diagnóstico tiene datos" in first  # the criterion's text
    assert "de 100 puntos" in rubric.inner_text() and "puntaje mínimo para aprobar: 60" in rubric.inner_text()
    assert page.locator("#rubric-total").inner_text() == "0"
    v.check("3-rubric")
    for name, value in (("relevance", 22), ("technical", 25), ("financial", 20), ("impact", 16)):
        page.fill(f"form.decide [name=data__{name}]", str(value))
    assert page.locator("#rubric-total").inner_text() == "83"  # the running total (rubric.js)
    v.check("4-rubric-filled")
    follow(page, page.locator("form.decide button[type=submit]"))
    assert "Decisión registrada" in v.text()
    v.check("5-decided")
    v.context.close()
    assert Evaluation.objects.get(initiative=case).evaluator.username == "evaluador2"

    # --- 390 px: evaluador4 declares a conflict, evaluador3 evaluates -------------------------------
    v = Visit(chromium, live_server.url, shots, 390, "evaluador4")
    page = v.page
    v.open_evaluation()
    v.check("1-declaration")
    page.locator("form.declare-form input[value=conflict]").check()
    follow(page, page.locator("form.declare-form button[type=submit]"))  # no reason yet
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert "Indique brevemente" in v.text()
    v.check("2-conflict-without-reason")
    page.fill("form.declare-form [name=reason]", "Asesoré a la asociación en su plan de negocios.")
    follow(page, page.locator("form.declare-form button[type=submit]"))
    assert "no se le ofrecerán de nuevo" in v.text()
    v.check("3-conflict-declared")
    visit(page, f"{live_server.url}/tasks/available/")
    assert case.code not in v.text()
    assert page.request.get(download).status == 403
    v.context.close()
    entry = AuditEntry.objects.get(case=case.code, action="task.conflict_declared")
    assert entry.actor.username == "evaluador4" and "plan de negocios" in entry.data["reason"]

    v = Visit(chromium, live_server.url, shots, 390, "evaluador3")
    page = v.page
    v.open_evaluation()
    page.locator("form.declare-form input[value=none]").check()
    follow(page, page.locator("form.declare-form button[type=submit]"))
    for name, value in (("relevance", 20), ("technical", 24), ("financial", 19), ("impact", 15)):
        page.fill(f"form.decide [name=data__{name}]", str(value))
    assert page.locator("#rubric-total").inner_text() == "78"
    v.check("4-rubric-filled")
    follow(page, page.locator("form.decide button[type=submit]"))
    v.check("5-decided")
    v.context.close()
    case.refresh_from_db()
    assert case.state == "in_approval" and str(case.evaluation_score) == "80.50"  # mean of 83 and 78
