"""The 2020 budget-execution report and the budget pages in headless Chromium, at 1366 px and 390 px,
after ``seed_demo``: the table by program shows PROMYPE rolled up with its two sub-programs
(Promype/Jiwasa 100 %, Promype Fase 2 7 %) beneath it; a sub-program's executed figure drills down to
its movements; the budget page shows the SIGEP fields of each line.

Every page is checked (console errors, broken links, overflow, axe-core serious/critical) and saved
to ``test-artifacts/sigep-budget/<width>-<name>.png``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow, visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_2020_report_rolls_up_and_drills_down_by_sub_program(chromium, live_server):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    shots = fresh_folder("sigep-budget")
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())

    for width in (1366, 390):
        v = CheckedVisit(chromium, live_server.url, shots, width, "finanzas1")
        page = v.page
        visit(page, f"{live_server.url}/reports/?fiscal_year=2020")
        table = page.locator("#by-program")
        promype = table.locator("tbody tr", has_text="PROMYPE").first
        assert "15,6" in promype.inner_text()
        subs = table.locator("tbody tr.sub-row")
        assert subs.count() == 2
        texts = subs.all_inner_texts()
        assert "FASE2" in texts[0] and "993.441,69" in texts[0] and "7,0" in texts[0]
        assert "JIWASA" in texts[1] and "1.445.123,69" in texts[1] and "100,0" in texts[1]
        v.check("report-2020")

        follow(page, subs.nth(1).locator("a"))  # Jiwasa's executed figure
        assert "/reports/2020/program/PROMYPE/JIWASA/" in page.url
        main = page.locator("main").inner_text()
        assert "1.445.123,69" in main and "Conciliado" in main
        v.check("drill-down-jiwasa")

        visit(page, f"{live_server.url}/budget/?fiscal_year=2020")
        main = page.locator("main").inner_text()
        if width == 1366:  # the SIGEP details are the small print a phone's table leaves out
            assert "PROMYPE / JIWASA" in main and "COSUDE" in main and "Partida 40000" in main
        v.check("budget-2020")
        v.context.close()
