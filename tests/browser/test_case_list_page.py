"""The staff case list in headless Chromium, at 1366 px and at 390 px: evaluador1 goes from the home
page's counter «Iniciativas en curso» to the filtered list, searches a unit, opens a case and exports
the list to XLSX; on a phone's width the table becomes stacked cards with nothing to scroll sideways.

Every page visited is checked for console errors, broken links, horizontal overflow and serious or
critical axe-core violations (``tests/browser/node_modules/axe-core``: ``npm ci --prefix
tests/browser``), and saved to ``test-artifacts/case-list/NN-description.png``."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from cases.clock import today

from .test_journey import follow, visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def shots():
    from .conftest import ARTIFACTS

    folder = ARTIFACTS / "case-list"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


class Visit:
    """One person's browser at one width, failing on what a person would hit."""

    def __init__(self, browser, base_url: str, folder: Path, width: int, username: str):
        self.base_url, self.folder, self.width = base_url, folder, width
        self.context = browser.new_context(
            locale="es-BO", timezone_id="America/La_Paz", viewport={"width": width, "height": 900}
        )
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        # A resource that fails to load is named by its response (the console does not say which);
        # the site's missing favicon is issue 11's item 15, not this page's.
        self.page.on(
            "console",
            lambda m: (
                m.type == "error"
                and not m.text.startswith("Failed to load resource")
                and self.errors.append(m.text)
            ),
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "response",
            lambda r: (
                r.status >= 400
                and not r.url.endswith("/favicon.ico")
                and self.errors.append(f"{r.status} {r.url}")
            ),
        )
        visit(self.page, f"{base_url}/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", "demo")
        follow(self.page, self.page.locator("main form button[type=submit]"))
        assert "/login/" not in self.page.url

    def check(self, name: str) -> None:
        page = self.page
        assert not self.errors, f"{name}: console errors {self.errors}"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} at {self.width} px: {overflow} px of horizontal scroll"
        hrefs = page.eval_on_selector_all(
            "a[href]", "els => els.map(e => e.getAttribute('href')).filter(h => h.startsWith('/'))"
        )
        for href in sorted(set(hrefs)):
            if href.endswith(".xlsx") or "/logout" in href:
                continue
            status = page.request.get(self.base_url + href.replace("&amp;", "&")).status
            assert status < 400, f"{name}: broken link {href} ({status})"
        page.evaluate(AXE.read_text())  # by DevTools, so the page's CSP (no inline script) stays on
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
        )
        assert not violations, f"{name} at {self.width} px: axe-core {violations}"
        page.screenshot(path=str(self.folder / f"{self.width}-{name}.png"), full_page=True)

    @staticmethod
    def codes(page) -> list[str]:
        return page.locator("table.case-table tbody th[scope=row] a.code").all_inner_texts()


def test_the_case_list_from_the_home_counter_at_1366_and_390_px(chromium, live_server, shots):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    from iniciativas.models import Initiative

    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    call_command("seed_demo_cases", "--force", verbosity=0, stdout=io.StringIO())
    aplewa = Initiative.objects.filter(unit__name__contains="APLEWA").exclude(state="draft")
    assert aplewa.count() == 2

    for width in (1366, 390):
        v = Visit(chromium, live_server.url, shots, width, "evaluador1")
        page = v.page
        v.check("home")
        counter = page.locator("main a[href='/cases/?kind=initiative&state=open']")
        follow(page, counter)
        v.check("initiatives-in-progress")
        shown = v.codes(page)
        assert shown and all(code.startswith("INI-") for code in shown)
        assert page.locator("#id_state").input_value() == "open"
        # The search box: a unit's name, with the kind filter kept.
        page.fill("#id_q", "APLEWA")
        page.select_option("#id_state", "")
        page.fill("#id_since", today().strftime("%d/%m/%Y"))  # as people write a day here
        follow(page, page.locator("form.case-filters button[type=submit]"))
        assert page.locator("#id_since").input_value() == today().strftime("%d/%m/%Y")
        assert sorted(v.codes(page)) == sorted(
            Initiative.objects.filter(unit__name__contains="APLEWA").values_list("code", flat=True)
        )
        text = page.locator("main").inner_text()
        assert "Bs 120.000,00" in text and "3 casos" in text
        v.check("search-aplewa")
        if width == 390:
            # Stacked cards: each value beside its own label, the header row hidden from the eye only.
            first_cell = page.locator("table.case-table tbody td").first
            assert (
                first_cell.evaluate("e => getComputedStyle(e, '::before').content") == '"Unidad productiva"'
            )
            assert page.locator("table.case-table thead th").first.is_hidden() is False  # still in the DOM
        with page.expect_download() as download:
            page.locator("main a[href^='/cases/export.xlsx']").click()
        from openpyxl import load_workbook

        assert re.fullmatch(r"casos-\d{8}-\d{4}\.xlsx", download.value.suggested_filename)
        book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
        rows = list(book.active.iter_rows(values_only=True))
        assert [r[1] for r in rows[1:]] == v.codes(page)
        follow(page, page.locator("table.case-table tbody th[scope=row] a.code").first)
        assert re.search(r"/initiatives/\d+/$", page.url)
        v.context.close()

    # The menu leads there too, from any page.
    v = Visit(chromium, live_server.url, shots, 1366, "control1")
    follow(v.page, v.page.locator("nav.main-nav a[href='/cases/']"))
    assert {code[:3] for code in v.codes(v.page)} == {"INI", "TRF", "REG"}
    v.check("control-all-cases")
    v.context.close()
