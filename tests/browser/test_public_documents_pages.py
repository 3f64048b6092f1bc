"""The public pages of issue 13 in headless Chromium, at 1366 px and at 390 px: the transparency page
of the audit trail's signed checkpoints (``/reports/auditoria/``), the verification page of official
documents (``/documents/verify/``: genuine, and an unknown code), and the official documents on a
case page (with the signed-scan upload offered to the step's role). Each page is checked by
``CheckedVisit`` (console errors, broken links, overflow, axe-core) and saved to
``test-artifacts/public-documents/<width>-<name>.png``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from .checked import AXE, CheckedVisit, fresh_folder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shots():
    return fresh_folder("public-documents")


def test_checkpoints_verification_and_official_documents_pages(
    chromium, live_server, shots, settings, tmp_path
):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    from audit.checkpoints import sign_checkpoint
    from cases import official, official_pdf
    from cases.models import OfficialDocument
    from iniciativas import official_documents as papers
    from iniciativas.models import Initiative
    from registry.models import User
    from workflows import official as official_docs

    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "keys" / "audit-ed25519.pem")
    settings.AUDIT_GENERATE_KEY = True
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "published")
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    call_command("seed_demo_cases", "--force", verbosity=0, stdout=io.StringIO())
    initiative = Initiative.objects.exclude(state="draft").order_by("pk").first()
    document = official.issue(
        kind=official_pdf.BUDGET_CERTIFICATION.kind,
        prefix=official_pdf.BUDGET_CERTIFICATION.prefix,
        case=initiative,
        case_type="initiative",
        actor=User.objects.get(username="finanzas1"),
        template_version="browser",
        describe=lambda number, code, url: papers.certification(
            initiative, number=number, code=code, url=url
        ),
        step="budget_certification",
        role="finance",
    )
    # Drawn right after the commit by the embedded profile's job; with a broker (.ci/run's second
    # pass) no worker serves this database, and the first download draws it.
    document = official_docs.rendered(OfficialDocument.objects.get(pk=document.pk))
    assert len(document.sha256) == 64
    checkpoint = sign_checkpoint()
    assert checkpoint is not None

    for width in (1366, 390):
        v = CheckedVisit(chromium, live_server.url, shots, width, "finanzas1")
        page = v.page
        page.goto(f"{live_server.url}/reports/auditoria/")
        assert page.locator("table.checkpoints-table tbody tr").count() >= 1
        assert checkpoint.key_id in page.locator("#claves").inner_text()
        assert "pkeyutl -verify" in page.locator("pre[data-step=verify]").inner_text()
        v.check("checkpoints")

        page.goto(f"{live_server.url}{official.verify_path(document)}")
        assert document.number in page.locator("main").inner_text()
        assert initiative.unit.name not in page.content()
        v.check("verify-genuine")

        page.fill("#code", "ZZZZ-ZZZZ")
        page.locator("#code ~ button[type=submit]").click()
        page.wait_for_load_state()
        assert "code=ZZZZ" in page.url
        v.check("verify-unknown")

        page.goto(f"{live_server.url}/initiatives/{initiative.pk}/#documentos-oficiales")
        section = page.locator("#documentos-oficiales")
        assert document.number in section.inner_text()
        assert section.locator("input[type=file][name=file]").count() == 1  # finance issued it
        v.check("case-official-documents")
        v.context.close()
