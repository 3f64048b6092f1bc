"""The configuration pages in headless Chromium, at 1366 px and at 390 px: admin1 goes from the
menu's «Configuración» to the approval policies, saves a new version of one and puts the first back
in force, gives an evaluator the La Paz scope and takes it away, and adds and removes a La Paz
non-working day. An evaluator who types the address gets the 403 page.

Every page visited is checked for console errors, broken links, horizontal overflow and serious or
critical axe-core violations, and saved to ``test-artifacts/config/<width>-<name>.png``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shots():
    return fresh_folder("config")


def test_an_administrator_configures_policies_staff_and_non_working_days(chromium, live_server, shots):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    from approvals.models import ApprovalPolicy, NonWorkingDay
    from audit.models import AuditEntry
    from registry.models import User
    from registry.selectors import department_scope_ids

    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    evaluator = User.objects.get(username="evaluador1")

    for width in (1366, 390):
        v = CheckedVisit(
            chromium,
            live_server.url,
            shots,
            width,
            "admin1",
            expected_failure=lambda r: r.status == 400 and "/config/policies/" in r.url,  # the bad version
        )
        page = v.page
        follow(page, page.locator("nav.main-nav a[href='/config/']"))
        v.check("config-home")

        # Approval policies: the list, one family, a new version, the first back in force.
        follow(page, page.locator("main a[href='/config/policies/']"))
        v.check("policies")
        follow(page, page.locator("main a[href='/config/policies/ini-small/']"))
        v.check("policy-ini-small")
        versions = ApprovalPolicy.objects.filter(family="ini-small").count()
        page.fill("#id_name", f"Iniciativas hasta Bs 200.000 ({width} px)")
        follow(page, page.locator("main form button.button[type=submit]").last)
        assert "Guardada como versión" in page.locator("main").inner_text()
        assert ApprovalPolicy.objects.filter(family="ini-small").count() == versions + 1
        v.check("policy-new-version")
        follow(page, page.locator("main form button.secondary").first)
        assert ApprovalPolicy.objects.get(family="ini-small", active=True).version != versions + 1
        v.check("policy-back-in-force")

        # A bad version: the message next to the step list, nothing saved.
        page.select_option("#id_steps-1-step", "")
        follow(page, page.locator("main form button.button[type=submit]").last)
        assert (
            "La cadena debe incluir la certificación presupuestaria."
            in page.locator("#steps-errors").inner_text()
        )
        assert ApprovalPolicy.objects.filter(family="ini-small").count() == versions + 1

        # Staff: an evaluator gets the La Paz scope, then loses it.
        visit_url = f"{live_server.url}/config/staff/?role=evaluator"
        page.goto(visit_url)
        v.check("staff")
        follow(page, page.locator(f"main a[href='/config/staff/{evaluator.pk}/']"))
        v.check("staff-evaluador1")
        page.select_option("#id_department", label="La Paz")
        follow(page, page.locator("#departments-title ~ form button[type=submit]"))
        assert department_scope_ids(User.objects.get(pk=evaluator.pk)) is not None
        v.check("staff-scope-given")
        follow(page, page.locator("#departments-title ~ ul button.link-button"))
        assert department_scope_ids(User.objects.get(pk=evaluator.pk)) is None

        # Non-working days: a La Paz day added, then removed.
        page.goto(f"{live_server.url}/config/non-working-days/?year=2027")
        v.check("non-working-days")
        page.fill("#id_date", "2027-07-16")
        page.fill("#id_name", "Feriado paceño")
        page.select_option("#id_department", label="La Paz")
        follow(page, page.locator("#add-title ~ form button[type=submit]"))
        assert NonWorkingDay.objects.filter(department__code="LPZ").count() == 1
        v.check("non-working-day-added")
        follow(page, page.locator("#decreed-title ~ .table-wrap button.link-button").first)
        assert not NonWorkingDay.objects.exists()
        v.context.close()

    assert AuditEntry.objects.filter(action="policy.version_saved", actor__username="admin1").count() == 2
    assert AuditEntry.objects.filter(action="auth.scope_granted", actor__username="admin1").count() == 2

    # Anyone else: the 403 page, in Spanish.
    v = CheckedVisit(
        chromium, live_server.url, shots, 390, "evaluador1", expected_failure=lambda r: r.status == 403
    )
    assert "/config/" not in v.page.content()
    response = v.page.goto(f"{live_server.url}/config/staff/")
    assert response is not None and response.status == 403
    v.check("evaluator-403")
    v.context.close()
