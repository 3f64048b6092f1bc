"""The pages with inline code (a nonce each) and the API docs work in Chromium under the
Content-Security-Policy, with no violation reported in the console."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from tests.browser.test_journey import Journey, visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def csp_dir(journey_dir):
    folder = journey_dir.parent / "csp"
    folder.mkdir(exist_ok=True)
    return folder


def test_styled_pages_and_the_api_docs_under_the_policy(chromium, live_server, csp_dir):
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    j = Journey(browser=chromium, base_url=live_server.url, folder=csp_dir)
    page = j.as_user("control1")

    visit(page, f"{live_server.url}/audit/")  # audit/_styles.html: an inline <style> with the nonce
    assert page.locator(".audit-filters").evaluate("e => getComputedStyle(e).display") == "grid"
    j.shot(page, "audit-trail")

    visit(page, f"{live_server.url}/reports/")  # reports/_styles.html
    assert page.locator(".report-tabs").evaluate("e => getComputedStyle(e).display") == "flex"
    j.shot(page, "reports")

    visit(page, f"{live_server.url}/api/v1/docs/")  # Swagger UI: its script from its own URL
    page.wait_for_selector(".swagger-ui .information-container", timeout=20_000)
    assert page.locator(".opblock").count() > 20
    j.shot(page, "api-docs")

    visit(page, f"{live_server.url}/admin/")
    j.shot(page, "admin")
    j.done(page)

    # The console listener does see violations: an inline script without the nonce is refused.
    probe = j.as_user("control1")
    probe.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
        " document.body.appendChild(s); }"
    )
    probe.wait_for_timeout(200)
    assert probe.evaluate("() => window.ran") is None
    assert any("script-src" in v for v in j.csp_violations), j.csp_violations
