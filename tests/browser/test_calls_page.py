"""Configuring a call in headless Chromium, at 1366 px and at 390 px (issue 13, item 1): gestor1,
the manager of PROLECHE, goes from the home page to the calls, opens a new call with its rubric and
tranche plan, is told in Spanish next to the fields what is wrong (nothing saved), corrects it, and
lands on the call's page; admin1 finds it in the list.

Every page visited is checked by ``CheckedVisit`` (console errors, broken links, horizontal overflow,
serious or critical axe-core violations) and saved to ``test-artifacts/calls/<width>-<name>.png``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from cases.clock import today

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_program_manager_opens_a_call_through_the_page(chromium, live_server):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    from audit.models import AuditEntry
    from iniciativas.models import Call

    shots = fresh_folder("calls")
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    on = today()
    for width in (1366, 390):
        code = f"PROLECHE-{on.year}-Q{width}"
        v = CheckedVisit(
            chromium,
            live_server.url,
            shots,
            width,
            "gestor1",
            expected_failure=lambda r: r.status == 400 and r.url.endswith("/calls/new/"),
        )
        page = v.page
        v.check("home")
        follow(page, page.locator("main a[href='/calls/']"))
        v.check("calls")
        follow(page, page.locator("main a[href='/calls/new/']"))
        v.check("new-call")
        page.fill("#id_code", code)
        page.fill("#id_title", "Fondo PROLECHE: centros de acopio")
        page.fill("#id_closes_on", on.replace(year=on.year + 1).isoformat())
        page.fill("#id_max_amount", "250.000,00")
        page.check("input[name=required_documents][value=project_profile]")
        page.check("input[name=required_documents][value=counterpart_letter]")
        for n, (criterion, label, points) in enumerate(
            [
                ("pertinencia", "Pertinencia", "40"),
                ("factibilidad", "Factibilidad", "30"),
                ("impacto", "Impacto", "20"),
            ]
        ):
            page.fill(f"#id_rubric-{n}-code", criterion)
            page.fill(f"#id_rubric-{n}-label", label)
            page.fill(f"#id_rubric-{n}-max", points)
        page.fill("#id_tranche-2-percent", "10")  # 40 + 40 + 10
        follow(page, page.locator("main form button[type=submit]"))
        text = page.locator("main").inner_text()
        assert "suman 90" in text and "suman 90" in page.locator("#rubric-errors").inner_text()
        assert "suman 90" in page.locator("#tranche-errors").inner_text()
        assert not Call.objects.filter(code=code).exists()
        v.check("new-call-errors")
        page.fill("#id_rubric-2-max", "30")
        page.fill("#id_tranche-2-percent", "20")
        follow(page, page.locator("main form button[type=submit]"))
        assert page.url.endswith(f"/calls/{code}/")
        assert "guardada" in page.locator("main").inner_text()
        v.check("call-saved")
        call = Call.objects.get(code=code)
        assert call.max_amount == 250000 and call.tranche_plan == [40, 40, 20]
        assert [c["code"] for c in call.rubric] == ["pertinencia", "factibilidad", "impacto"]
        assert AuditEntry.objects.filter(action="call.opened", data__code=code).count() == 1
        v.context.close()

    admin = CheckedVisit(chromium, live_server.url, shots, 390, "admin1")
    follow(admin.page, admin.page.locator("nav a[href='/calls/']"))
    assert f"PROLECHE-{on.year}-Q390" in admin.page.locator("main").inner_text()
    admin.check("admin-calls")
