"""The annual operating plan (POA) in headless Chromium, at 1366 px and at 390 px: the public goals
page of 2020 shows the seed report's §IV goals ("1.327 de 1.500 — 88,5 %"); the program manager
``responsable1`` opens the plan, sets a CETIP goal of the year in progress and records its progress
with a PDF as evidence; internal control opens a goal's progress entries from the public page.

Every page is checked (console errors, broken links, 390 px overflow, axe-core serious/critical) and
saved to ``test-artifacts/poa/<width>-<name>.png``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from cases.clock import today

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def shots():
    return fresh_folder("poa")


def test_the_plan_pages_at_1366_and_390_px(chromium, live_server, shots, tmp_path):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    from cases.roles import Role
    from registry.services import create_user, system_user

    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    create_user(actor=system_user(), username="control9", password="demo", roles=(Role.INTERNAL_CONTROL,))
    evidence = tmp_path / "informe-cetip.pdf"
    evidence.write_bytes(PDF)
    year = today().year

    for width in (1366, 390):
        v = CheckedVisit(chromium, live_server.url, shots, width, "responsable1")
        page = v.page
        page.goto(f"{live_server.url}/reports/metas/?fiscal_year=2020")
        text = page.locator("#metas-poa").inner_text()
        assert "1.327 de 1.500 — 88,5 %" in text and "1.458 de 1.000 — 145,8 %" in text
        v.check("public-goals-2020")
        follow(page, page.locator("main a[href^='/reports/poa/']").first)
        v.check("plan-2020")
        page.goto(f"{live_server.url}/reports/poa/?fiscal_year={year}")
        page.select_option("#id_program", "CETIP")
        page.fill("#id_indicator", f"Servicios de desarrollo productivo ({width} px)")
        page.fill("#id_unit", "servicios")
        page.fill("#id_target", "40")
        page.fill("#id_baseline", "12")
        follow(page, page.locator("main form[action$='/poa/nueva/'] button[type=submit]"))
        assert "Sin avance registrado (meta 40)" in page.locator("main").inner_text()
        v.check("goal-new")
        page.fill("#id_value", "10")
        page.fill("#id_note", "Informe del primer trimestre")
        page.set_input_files("#id_file", str(evidence))
        follow(page, page.locator("main form[action$='/avance/'] button[type=submit]"))
        main = page.locator("main").inner_text()
        assert "10 de 40 — 25,0 %" in main and "informe-cetip.pdf" in main
        v.check("goal-progress")
        v.context.close()

        control = CheckedVisit(chromium, live_server.url, shots, width, "control9")
        control.page.goto(f"{live_server.url}/reports/metas/?fiscal_year=2020")
        follow(control.page, control.page.locator("#metas-poa a", has_text="Mypes nuevas registradas"))
        assert "1.327 de 1.500 — 88,5 %" in control.page.locator("main").inner_text()
        control.check("control-goal-2020")
        control.context.close()
