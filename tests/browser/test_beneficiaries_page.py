"""The beneficiaries report in headless Chromium, at 1366 px and at 390 px: after ``seed_demo`` and
``seed_demo_cases`` (two PROLECHE initiatives with a tranche paid this year), finance opens the report
by dairy basin (Santa Cruz 64 + 51, altiplano 23 + 17) and follows a group to its cases.

Every page is checked (console errors, broken links, 390 px overflow, axe-core serious/critical) and
saved to ``test-artifacts/beneficiaries/<width>-<name>.png``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from cases.clock import today

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shots():
    return fresh_folder("beneficiaries")


def test_the_beneficiaries_report_at_1366_and_390_px(chromium, live_server, shots):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    call_command("seed_demo_cases", "--force", stdout=io.StringIO())
    year = today().year
    for width in (1366, 390):
        v = CheckedVisit(chromium, live_server.url, shots, width, "finanzas1")
        page = v.page
        page.goto(f"{live_server.url}/reports/beneficiarios/?fiscal_year={year}&by=dairy_basin")
        table = page.locator("main table").inner_text()
        assert "Santa Cruz" in table and "Altiplano (La Paz, Oruro, Potosí)" in table
        assert "115" in table and "40" in table  # 64 + 51 and 23 + 17
        v.check("by-basin")
        follow(page, page.locator("main table a").first)
        assert "Conciliado" in page.locator("main").inner_text()
        v.check("cases-of-a-basin")
        v.context.close()
