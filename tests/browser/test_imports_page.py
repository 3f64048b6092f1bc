"""The import pages in headless Chromium, at 1366 px and at 390 px: an administrator uploads a CSV of
productive units with one bad row, reads the errors by row, imports only the valid rows and sees the
result. Every page is checked (console errors, broken links, horizontal overflow, axe-core) and saved
to ``test-artifacts/imports/``."""

from __future__ import annotations

import pytest

from registry.models import Unit
from tests.factories import UserFactory

from .checked import AXE, CheckedVisit, fresh_folder
from .test_journey import follow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_administrator_imports_units_with_a_bad_row(chromium, live_server):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    shots = fresh_folder("imports")
    UserFactory(username="adminimp", password="demo", roles=["admin"])
    for n, width in enumerate((1366, 390)):
        v = CheckedVisit(chromium, live_server.url, shots, width, "adminimp")
        page = v.page
        follow(page, page.locator("nav.main-nav a[href='/imports/']"))
        v.check("01-index")
        follow(page, page.locator("main a[href='/imports/units/new/']"))
        v.check("02-start")
        rows = (
            "tax_id;name;kind;department;municipality;sector;registration_valid_until\n"
            f"{7001000 + n};Asociación de Lecheros de Achacachi;association;LPZ;Achacachi;dairy;31/12/2027\n"
            f"{7002000 + n};Sin sector;association;La Paz;El Alto;;\n"
        ).encode()
        page.set_input_files(
            "#id_file", files=[{"name": "unidades.csv", "mimeType": "text/csv", "buffer": rows}]
        )
        follow(page, page.locator("main form button[type=submit]"))
        text = page.locator("main").inner_text()
        assert "2 filas revisadas" in text and "1 válidas" in text and "1 con errores" in text
        errors = page.locator("table.import-errors tbody tr")
        assert errors.count() == 1 and "Rubro" in errors.first.inner_text()
        assert page.locator("button[value='all']").count() == 0
        v.check("03-report")
        follow(page, page.locator("button[value='valid']"))
        assert "1 fila escrita" in page.locator("main").inner_text()
        v.check("04-written")
        assert Unit.objects.filter(tax_id=str(7001000 + n)).exists()
        assert not Unit.objects.filter(tax_id=str(7002000 + n)).exists()
        v.context.close()
