"""Staff pages of issue 11 in headless Chromium, at 1366 px and 390 px: internal control's audit
trail (Spanish, compact rows with a details disclosure), finance's forms (the certification's
budget line with program, source and what is available; the payment order and its confirmation
with the tranche and its amount), a case page with its flow diagram, a flow's own page, /budget/
and the transparency pages with their charts.

Every page is checked for console errors, broken links, horizontal overflow and serious or critical
axe-core violations, and saved to ``test-artifacts/staff-pages/<width>-<name>.png``."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow, visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
CASE = "INI-2026-000004"  # seed_demo_cases: in approval, its budget certification open
WIDTHS = (1366, 390)


@pytest.fixture
def shots():
    return fresh_folder("staff-pages")


class Visit(CheckedVisit):
    def text(self) -> str:
        return re.sub(r"\s+", " ", self.page.locator("main").inner_text())

    def height(self) -> int:
        return self.page.evaluate("document.documentElement.scrollHeight")

    def task_page(self, step_label: str, *, claim: bool) -> None:
        page = self.page
        visit(page, f"{self.base_url}/tasks/{'available/' if claim else ''}")
        row = page.locator("table tbody tr").filter(has_text=step_label).filter(has_text=CASE).first
        assert row.count(), self.text()[:1500]
        if claim:
            follow(page, row.locator("button").first)
            visit(page, f"{self.base_url}/tasks/")
            row = page.locator("table tbody tr").filter(has_text=step_label).filter(has_text=CASE).first
        follow(page, row.locator("th a").first)


def _seed():
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    call_command("seed_demo_cases", "--force", verbosity=0, stdout=io.StringIO())


def _decide(case, step, username, **data):
    from approvals import services as approvals
    from registry.models import User
    from workflows.models import CaseTask

    task = CaseTask.objects.get(case_code=case.code, step=step, is_open=True)
    approvals.complete_task(task.pk, actor=User.objects.get(username=username), decision="approve", data=data)


def test_staff_pages_at_1366_and_390_px(chromium, live_server, shots):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    from django.utils import timezone

    from iniciativas.models import Initiative

    _seed()
    case = Initiative.objects.get(code=CASE)
    url = live_server.url

    # --- internal control: the trail in Spanish, compact, paged ------------------------------------
    for width in WIDTHS:
        v = Visit(chromium, url, shots, width, "control1")
        visit(v.page, f"{url}/audit/")
        text = v.text()
        assert "Pista de auditoría" in text
        for raw in ("in_evaluation", "technical_evaluation", "Content type", "From state", "<flow/"):
            assert raw not in text, raw
        assert v.page.locator("table.audit-table tbody tr").count() == 25
        assert v.height() < (9000 if width == 390 else 5000), v.height()
        v.check("audit-trail")
        first = v.page.locator("details.audit-details").first
        first.locator("summary").click()
        assert first.locator("dl").is_visible()
        v.check("audit-trail-details", links=False)
        visit(v.page, f"{url}/audit/case/{CASE}/")
        assert "En evaluación → En aprobación" in v.text()
        v.check("audit-case")
        v.context.close()

    # --- finance: the certification names program, source and what is available ------------------
    f1 = Visit(chromium, url, shots, 1366, "finanzas1")
    f1.task_page("Certificación presupuestaria", claim=True)
    options = [o.strip() for o in f1.page.locator("fieldset.field-radios label.choice").all_inner_texts()]
    assert options and all(
        re.fullmatch(r"\d{4} · PROLECHE · Fuente \S+ .+ — disponible Bs [\d.]+,\d\d", o) for o in options
    ), options
    assert f1.page.locator("input[name=data__budget_line]:checked").count() == 1  # the first that can take it
    f1.check("certification")
    task_url = f1.page.url
    f390 = Visit(chromium, url, shots, 390, "finanzas1")
    visit(f390.page, task_url)
    f390.check("certification")
    f1.page.locator("form.decide input[name=decision][value=approve]").check()
    follow(f1.page, f1.page.locator("form.decide button[type=submit]"))
    case.refresh_from_db()
    assert case.state == "approved", f1.text()[:800]
    _decide(case, "agreement", "legal2", agreement_number="C-77", signed_on=str(timezone.localdate()))

    # --- the payment order: the tranche and its amount, nothing to type ---------------------------
    case.refresh_from_db()
    from iniciativas.services import tranche_amounts

    first_tranche = tranche_amounts(case)[0]
    amount_text = f"Bs {first_tranche:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
    visit(f1.page, f"{url}/tasks/available/")
    row = f1.page.locator("table tbody tr").filter(has_text="Orden de pago").filter(has_text=CASE).first
    assert amount_text in row.inner_text()  # the inbox says the tranche, not the grant
    f1.task_page("Orden de pago", claim=True)
    text = f1.text()
    assert "Tramo 1 de" in text and amount_text in text
    assert f1.page.locator("input[name=data__amount][type=hidden]").count() == 1
    assert f1.page.locator("input[name=data__tranche][type=number]").count() == 0
    f1.check("payment-order")
    visit(f390.page, f1.page.url)
    f390.check("payment-order")
    follow(f1.page, f1.page.locator("form.decide button[type=submit]"))
    assert case.tranches.count() == 1

    # --- the confirmation shows the amount to pay ---------------------------------------------------
    f2 = Visit(chromium, url, shots, 1366, "finanzas2")
    f2.task_page("Confirmación de pago", claim=True)
    text = f2.text()
    assert "Monto a pagar" in text and amount_text in text
    f2.check("payment-confirmation")
    f2b = Visit(chromium, url, shots, 390, "finanzas2")
    visit(f2b.page, f2.page.url)
    f2b.check("payment-confirmation")
    f2.page.fill("[name=data__payment_reference]", "SIGEP-2026-7781")
    follow(f2.page, f2.page.locator("form.decide button[type=submit]"))
    assert case.tranches.get().state == "paid", f2.text()[:800]

    # --- the case page with its flow, the flow's own page, /budget/, the transparency pages --------
    for v in (f1, f390):
        visit(v.page, f"{url}/initiatives/{case.pk}/")
        flow = v.page.locator("details#recorrido")
        assert "paso actual: Informe de avance" in flow.locator("summary").inner_text()
        flow.locator("summary").click()
        assert flow.locator("svg[role=img]").is_visible()
        v.check("case-flow")
        visit(v.page, f"{url}/flows/initiative/")
        v.check("flow-initiative")
        visit(v.page, f"{url}/budget/")
        assert v.page.locator("figure.chart-stages").count() == 1
        assert v.page.locator("figure.chart-compare").count() == 2
        v.check("budget")
        visit(v.page, f"{url}/reports/")
        assert v.page.locator("figure.chart-compare").count() == 2
        v.check("transparency-execution")
        visit(v.page, f"{url}/reports/metas/")
        v.check("transparency-goals")
