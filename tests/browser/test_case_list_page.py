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

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shots():
    return fresh_folder("case-list")


class Visit(CheckedVisit):
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
    # Every listed kind of the demo: initiatives, transfers, registrations, price-compensation
    # agreements and their monthly settlements.
    assert {code[:3] for code in v.codes(v.page)} == {"INI", "TRF", "REG", "CPA", "LIQ"}
    v.check("control-all-cases")
    v.context.close()
