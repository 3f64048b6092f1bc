"""The whole journey of a productive initiative through the web pages, in headless Chromium.

``seed_demo``'s applicant ``solicitante1`` applies to the open PROLECHE call: creates the draft,
uploads the required documents (small PDFs made here), watches the checklist turn complete and
submits. Then every person works the task it finds in its own inbox (``/tasks/``: the tabs, claim,
the decision page built from the step's fields): admissibility (observed once: the applicant
answers on one page, from the link on its home), two sealed evaluations, legal report, budget
certification, agreement, three tranches (payment order, payment confirmation, progress report and
review between them), final report, final inspection and close-out — until the applicant sees its
initiative "Cerrada". Every page visited is saved to ``test-artifacts/journey/NN-description.png``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from approvals.models import Step

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Tanque de enfriamiento de leche para la asociación"
REQUESTED, COUNTERPART = "120.000,00", "130000"
TRANCHES = (Decimal("48000.00"), Decimal("48000.00"), Decimal("24000.00"))
PROGRESS_SPENT = {1: "45000.00", 2: "93000.00"}  # of the grant paid so far (48.000, 96.000)
SCORES = {
    "evaluador2": {"relevance": 22, "technical": 25, "financial": 20, "impact": 16},
    "evaluador3": {"relevance": 20, "technical": 24, "financial": 19, "impact": 15},
}


def make_pdf(title: str) -> bytes:
    """A small but real one-page PDF (reportlab), as a scanned form would be."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(title)
    pdf.drawString(72, 770, title)
    pdf.drawString(72, 750, "Asociación de Productores de Leche Warnes (APLEWA)")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def follow(page, locator) -> None:
    """Click something that loads a new page and wait for that page (not the one before); a
    server error fails the journey there."""
    with page.expect_navigation() as navigation:
        locator.click()
    response = navigation.value
    if response is not None and response.status >= 500:
        pytest.fail(f"{response.status} on {response.request.method} {response.url}")


def visit(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response and response.status}"


def spanish(label) -> str:
    with translation.override("es"):
        return str(label)


@dataclass
class Journey:
    browser: object
    base_url: str
    folder: Path
    count: int = 0
    code: str = ""
    # What Chromium refused under the Content-Security-Policy (settings.SECURE_CSP), page by page.
    csp_violations: list[str] = field(default_factory=list)

    def as_user(self, username: str):
        """A fresh browser (own cookies) logged in as ``username`` through the login page."""
        context = self.browser.new_context(
            locale="es-BO", timezone_id="America/La_Paz", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.on("console", self._console)
        visit(page, f"{self.base_url}/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "demo")
        follow(page, page.locator("main form button[type=submit]"))
        assert "/login/" not in page.url, f"{username} could not log in: {self.text(page)[:500]}"
        return page

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(f"{message.text} ({message.location.get('url', '')})")

    def expect_no_csp_violation(self) -> None:
        if self.csp_violations:
            pytest.fail("Content-Security-Policy violations: " + " | ".join(self.csp_violations))

    def shot(self, page, description: str) -> None:
        self.expect_no_csp_violation()
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", description.lower()).strip("-")
        page.screenshot(path=str(self.folder / f"{self.count:02d}-{slug}.png"), full_page=True)

    @staticmethod
    def text(page) -> str:
        return re.sub(r"\s+", " ", page.locator("body").inner_text())

    def expect_no_errors(self, page, what: str) -> None:
        errors = page.locator(".form-errors, .field-error, .message.error")
        if errors.count():
            pytest.fail(f"{what}: {' | '.join(errors.all_inner_texts())}\n{self.text(page)[:3000]}")

    def done(self, page) -> None:
        self.expect_no_csp_violation()
        page.context.close()

    # --- the inbox ---------------------------------------------------------------------------------

    def work_task(self, username: str, step, *, data=None, decision="approve", comment="", shot=""):
        """``username`` finds the task of step ``step`` of our case among the tasks it may claim,
        claims it, fills the decision page and records the decision. A member of the applicant unit
        finds its unit's step in «Mis tareas» (every member's: nothing to claim) and opens it."""
        label = spanish(step.label)
        page = self.as_user(username)
        follow(page, page.locator("nav.main-nav a[href='/tasks/']"))
        self.shot(page, f"{username}-inbox")
        unit_member = username.startswith("solicitante")
        if not unit_member:
            follow(page, page.locator("main a[href='/tasks/available/']").first)  # the «Disponibles» tab
        row = page.locator("table tbody tr").filter(has_text=self.code).filter(has_text=label).first
        assert row.count(), f"{username} does not find «{label}» of {self.code}: {self.text(page)[:2000]}"
        if unit_member:
            assert not row.locator("button").count(), "a unit's own step is never claimed"
            self.shot(page, f"{username}-mine-{shot or step.value}")
            follow(page, row.locator("th a").first)
        else:
            self.shot(page, f"{username}-available-{shot or step.value}")
            follow(page, row.get_by_role("button"))  # «Tomar»
        self.expect_no_errors(page, f"{username} claims {label}")
        assert self.code in self.text(page)
        if page.locator("form.answer-form").count():  # the applicant's one-page answer to an observation
            page.fill("#id_answer", (data or {})["answer"])
            self.shot(page, f"{username}-{shot or step.value}-filled")
            follow(page, page.locator("form.answer-form button[type=submit]"))
            self.expect_no_errors(page, f"{username} answers {label}")
            self.done(page)
            return
        if page.locator("form.declare-form").count():  # a technical evaluation: no conflict first
            page.locator("form.declare-form input[value=none]").check()
            follow(page, page.locator("form.declare-form button[type=submit]"))
            self.expect_no_errors(page, f"{username} declares no conflict on {label}")
        self.decide(page, data=data, decision=decision, comment=comment)
        self.shot(page, f"{username}-{shot or step.value}-filled")
        follow(page, page.locator("form.decide button[type=submit]"))
        self.expect_no_errors(page, f"{username} decides {label}")
        self.shot(page, f"{username}-{shot or step.value}-decided")
        self.done(page)

    @staticmethod
    def decide(page, *, data=None, decision="approve", comment=""):
        radio = page.locator(f"form.decide input[name=decision][value={decision}]")
        if radio.count() and radio.get_attribute("type") == "radio":
            radio.check()
        for name, value in (data or {}).items():
            field = page.locator(f"form.decide [name='data__{name}']")
            assert field.count() == 1, f"no input data__{name}"
            kind = field.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
            if kind == "input:checkbox":
                field.set_checked(bool(value))
            elif kind.startswith("select"):
                field.select_option(str(value))
            else:
                field.fill(str(value))
        if comment:
            page.locator("form.decide [name=comment]").fill(comment)


@pytest.fixture
def journey(chromium, live_server, journey_dir):
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    return Journey(browser=chromium, base_url=live_server.url, folder=journey_dir)


def test_productive_initiative_from_draft_to_closed(journey):
    from iniciativas.models import Call, Initiative

    j = journey
    call = Call.objects.get(code__startswith="PROLECHE-")
    required = list(call.required_documents)

    # --- the applicant: draft, documents, checklist, submit -------------------------------------------
    page = j.as_user("solicitante1")
    j.shot(page, "applicant-home")
    follow(page, page.locator("nav.main-nav a[href='/initiatives/']"))
    j.shot(page, "applicant-my-initiatives-empty")
    follow(page, page.locator("main a[href='/initiatives/new/']").first)
    j.shot(page, "applicant-new-initiative")
    page.select_option("#id_call", str(call.pk))
    page.fill("#id_title", TITLE)
    page.fill(
        "#id_summary",
        "Compra e instalación de un tanque de enfriamiento de 2.000 litros en el centro de acopio "
        "de Warnes, para 35 familias productoras.",
    )
    page.select_option("#id_department", "SCZ")
    page.fill("#id_requested_amount", "ciento veinte mil")
    page.fill("#id_counterpart_amount", COUNTERPART)
    follow(page, page.locator("main form button[type=submit]"))
    assert page.locator("#id_requested_amount_error").is_visible()
    j.shot(page, "applicant-new-initiative-amount-error")
    page.fill("#id_requested_amount", REQUESTED)
    follow(page, page.locator("main form button[type=submit]"))
    j.expect_no_errors(page, "create the draft")
    initiative = Initiative.objects.get(title=TITLE)
    j.code = initiative.code
    assert initiative.requested_amount == Decimal("120000.00")
    assert initiative.counterpart_amount == Decimal("130000.00")
    assert "/edit/" in page.url
    assert page.locator("#checklist li.todo").count() == len(required)
    assert page.locator("#checklist button[disabled]").count() == 1
    j.shot(page, "applicant-draft-nothing-uploaded")

    # a text file called .pdf is refused by its content
    page.select_option("#id_kind", required[0])
    page.set_input_files(
        "#id_file",
        files=[{"name": "perfil.pdf", "mimeType": "application/pdf", "buffer": b"esto no es un PDF"}],
    )
    follow(page, page.locator("form[enctype='multipart/form-data'] button[type=submit]"))
    assert page.locator("#id_file_error").is_visible()
    j.shot(page, "applicant-upload-refused-not-a-pdf")

    labels = dict(page.locator("#id_kind option").evaluate_all("os => os.map(o => [o.value, o.textContent])"))
    for n, kind in enumerate(required, 1):
        page.select_option("#id_kind", kind)
        page.set_input_files(
            "#id_file",
            files=[{"name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": make_pdf(labels[kind])}],
        )
        follow(page, page.locator("form[enctype='multipart/form-data'] button[type=submit]"))
        j.expect_no_errors(page, f"upload {kind}")
        assert page.locator("#checklist li.done").count() == n
        if n == 1:
            j.shot(page, "applicant-draft-first-document")
    assert page.locator("#checklist li.todo").count() == 0
    assert page.locator(".ready").is_visible()
    j.shot(page, "applicant-draft-checklist-complete")
    follow(page, page.locator(f"#checklist a[href='/initiatives/{initiative.pk}/submit/']"))
    j.shot(page, "applicant-confirm-submission")
    follow(page, page.locator("main form button[type=submit]"))
    assert f"/initiatives/{initiative.pk}/" in page.url
    assert f"La iniciativa {j.code} fue enviada" in j.text(page)
    j.shot(page, "applicant-case-submitted")
    j.done(page)

    # --- admissibility: observed once, answered from the case page, then admitted -------------------
    j.work_task(
        "evaluador1",
        Step.ADMISSIBILITY,
        decision="observe",
        comment="Adjunte la cotización actualizada del tanque (con IVA) y aclare el cronograma.",
        data={"deadline_days": 5},
        shot="admissibility-observe",
    )
    page = j.as_user("solicitante1")
    visit(page, f"{j.base_url}/initiatives/{initiative.pk}/")
    text = j.text(page)
    assert "Responder las observaciones antes del" in text and "cotización actualizada" in text
    j.shot(page, "applicant-case-observed")
    # The home leads with what the applicant must do: the observation, its deadline, its consequence.
    visit(page, f"{j.base_url}/")
    item = page.locator("li.todo-item").filter(has_text=j.code)
    assert "Responder a la observación" in item.inner_text() and "el trámite se abandona" in item.inner_text()
    j.shot(page, "applicant-home-what-to-do")
    # One page: the observation, the data and the documents side by side, the answer, one submit.
    follow(page, item.locator(f"a[href='/initiatives/{initiative.pk}/answer/']"))
    assert "cotización actualizada" in j.text(page)
    page.set_input_files(
        "#id_document_quotation",
        files=[
            {
                "name": "cotizacion-2.pdf",
                "mimeType": "application/pdf",
                "buffer": make_pdf("Cotización actualizada con IVA"),
            }
        ],
    )
    page.fill("#id_answer", "Adjuntamos la cotización actualizada con IVA; el cronograma es de 4 meses.")
    j.shot(page, "applicant-answer-observations-one-page")
    follow(page, page.locator("form.answer-form button[type=submit]"))
    j.expect_no_errors(page, "answer the observations")
    assert "vigente" in j.text(page) and "reemplazado el" in j.text(page)
    j.shot(page, "applicant-observations-answered")
    j.done(page)
    j.work_task("evaluador1", Step.ADMISSIBILITY, shot="admissibility-admit")

    # --- two sealed technical evaluations, then the approval chain -------------------------------------
    for evaluator, scores in SCORES.items():
        j.work_task(
            evaluator,
            Step.TECHNICAL_EVALUATION,
            data=scores,
            shot="technical-evaluation",
        )
    j.work_task(
        "legal1", Step.LEGAL_REPORT, data={"opinion": "Procedente: la unidad cumple los requisitos legales."}
    )
    j.work_task("finanzas1", Step.BUDGET_CERTIFICATION)
    j.work_task("legal2", Step.AGREEMENT, data={"agreement_number": "CONV-PROLECHE-014/2026"})

    # --- three tranches with progress reports and reviews in between ------------------------------------
    for number in range(1, len(TRANCHES) + 1):
        j.work_task("finanzas2", Step.PAYMENT_ORDER, shot=f"payment-order-{number}")
        j.work_task(
            "finanzas3",
            Step.PAYMENT_CONFIRMATION,
            data={"payment_reference": f"SIGEP-TRX-{number:04d}"},
            shot=f"payment-confirmation-{number}",
        )
        if number < len(TRANCHES):
            page = j.as_user("solicitante1")
            follow(page, page.locator("nav.main-nav a[href='/initiatives/']"))
            j.shot(page, f"applicant-my-initiatives-progress-report-{number}")
            follow(page, page.locator("table tbody tr").filter(has_text=j.code).locator("a[href^='/tasks/']"))
            j.decide(
                page,
                data={
                    "summary": f"Tramo {number}: obra civil y compra del tanque según cronograma.",
                    "physical_progress": 40 * number,
                    "amount_spent": PROGRESS_SPENT[number],
                    "counterpart_spent": f"{Decimal('50000') * number:f}",
                },
            )
            j.shot(page, f"applicant-progress-report-{number}")
            follow(page, page.locator("form.decide button[type=submit]"))
            j.expect_no_errors(page, f"progress report {number}")
            j.shot(page, f"applicant-progress-report-{number}-sent")
            j.done(page)
            j.work_task(
                "evaluador4",
                Step.PROGRESS_REVIEW,
                data={"counterpart_verified": True},
                shot=f"progress-review-{number}",
            )

    # --- final report, inspection, close-out -----------------------------------------------------------
    page = j.as_user("solicitante1")
    visit(page, f"{j.base_url}/initiatives/{initiative.pk}/")
    j.shot(page, "applicant-case-final-report-due")
    follow(page, page.locator(".card.next a.button[href^='/tasks/']"))
    j.decide(
        page,
        data={
            "summary": "Tanque instalado y en funcionamiento; 35 familias entregan leche fría.",
            "physical_progress": 100,
            "amount_spent": "118500.00",
            "counterpart_spent": "130000.00",
        },
    )
    j.shot(page, "applicant-final-report")
    follow(page, page.locator("form.decide button[type=submit]"))
    j.expect_no_errors(page, "final report")
    j.done(page)
    j.work_task("evaluador4", Step.FINAL_INSPECTION, data={"counterpart_verified": True})
    j.work_task("finanzas1", Step.CLOSEOUT, data={"closeout_record": "ACTA-CIERRE-PROLECHE-014/2026"})

    # --- the applicant sees its initiative closed ---------------------------------------------------------
    page = j.as_user("solicitante1")
    follow(page, page.locator("nav.main-nav a[href='/initiatives/']"))
    row = page.locator("table tbody tr").filter(has_text=j.code)
    assert "Cerrada" in row.inner_text()
    j.shot(page, "applicant-my-initiatives-closed")
    follow(page, row.locator(f"a[href='/initiatives/{initiative.pk}/']"))
    text = j.text(page)
    assert "Cerrada" in text and "ACTA-CIERRE-PROLECHE-014/2026" in text and "Bs 1.500,00" in text
    j.shot(page, "applicant-case-closed")
    j.done(page)

    initiative.refresh_from_db()
    assert initiative.state == "closed"
    assert initiative.refunded_amount == Decimal("1500.00")
    assert [t.amount for t in initiative.tranches.order_by("number")] == list(TRANCHES)
    line = initiative.budget_line
    line.refresh_from_db()
    assert (line.reserved, line.committed) == (Decimal(0), Decimal(0))
    assert j.count >= 40
