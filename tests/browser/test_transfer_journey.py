"""An in-kind transfer through the web pages, in headless Chromium: ``solicitante1`` requests two
milking machines and a cooling tank on the request form (a wrong quantity first), the reports, the
certification, the resolution and the agreement are decided from the inboxes, the technical staff
record the delivery by serial number, the beneficiary accepts it from its own inbox, a follow-up visit
closes the case, and the applicant's case page shows every unit with its serial, held by the unit.
Every page is saved to ``test-artifacts/transfer/NN-description.png``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from approvals.models import Step

from .test_journey import Journey, follow, visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def transfer_dir():
    from .conftest import ARTIFACTS

    folder = ARTIFACTS / "transfer"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


def upload(j, username, transfer, kind, name, mime, content, *, ok=True):
    """``username`` uploads a document of ``kind`` from the transfer's page (the form offers the kinds
    of the case's stage)."""
    page = j.as_user(username)
    visit(page, f"{j.base_url}/transfers/{transfer.pk}/")
    options = page.locator("#subir-documento select[name=kind] option").evaluate_all(
        "os => os.map(o => o.value)"
    )
    assert kind in options, options
    page.select_option("#subir-documento select[name=kind]", kind)
    page.set_input_files(
        "#subir-documento input[type=file]", files=[{"name": name, "mimeType": mime, "buffer": content}]
    )
    follow(page, page.locator("#subir-documento button[type=submit]"))
    if not ok:
        return page
    j.expect_no_errors(page, f"{username} uploads {kind}")
    assert name in j.text(page)
    j.shot(page, f"{username}-uploaded-{kind}")
    j.done(page)
    return page


def test_in_kind_transfer_from_request_to_closed(chromium, live_server, transfer_dir):
    from transfers.models import AssetItem, Transfer

    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    j = Journey(browser=chromium, base_url=live_server.url, folder=transfer_dir)

    page = j.as_user("solicitante1")
    follow(page, page.locator("nav.main-nav a[href='/transfers/']"))
    follow(page, page.locator("main a[href='/transfers/new/']"))
    page.select_option("#id_program", "PROLECHE")
    page.fill("#id_purpose", "Ordeño y enfriamiento de la leche de 35 familias socias.")
    rows = [
        ("Ordeñadora mecánica de dos puestos", "0", "12500.00"),
        ("Tanque de enfriamiento 1.000 l", "1", "45000.00"),
    ]
    for n, (description, quantity, value) in enumerate(rows):
        page.fill(f"[name='assets-{n}-description']", description)
        page.fill(f"[name='assets-{n}-quantity']", quantity)
        page.fill(f"[name='assets-{n}-unit_value']", value)
    follow(page, page.locator("main form button[type=submit]"))
    assert "Introduzca un número entero de unidades entre 1 y 500." in j.text(page)
    assert page.locator("[name='assets-0-description']").input_value() == rows[0][0]  # nothing lost
    j.shot(page, "applicant-request-quantity-error")
    page.fill("[name='assets-0-quantity']", "2")
    follow(page, page.locator("main form button[type=submit]"))
    j.expect_no_errors(page, "request the transfer")
    transfer = Transfer.objects.get()
    j.code = transfer.code
    assert "Bs 70.000,00" in j.text(page) and "Informe técnico" in j.text(page)
    j.shot(page, "applicant-case-requested")
    j.done(page)

    j.work_task("evaluador1", Step.TECHNICAL_REPORT, data={"report": "Favorable: 35 familias, 2.000 l/día."})
    j.work_task("legal1", Step.LEGAL_REPORT, data={"report": "Procedente conforme al D.S. 4393."})
    j.work_task("finanzas1", Step.BUDGET_CERTIFICATION)  # the line offered by default has the funds
    j.work_task("director1", Step.DIRECTOR_RESOLUTION, data={"resolution_number": "RA-PB-077/2026"})
    j.work_task("legal2", Step.AGREEMENT, data={"agreement_number": "CONV-T-012/2026"})
    units = list(AssetItem.objects.filter(asset__transfer=transfer).order_by("asset__position", "number"))
    serials = {f"items__{n}__serial": f"DL-{2026}{n:04d}" for n in range(len(units))}
    j.work_task("evaluador2", Step.DELIVERY_RECORD, data={"record_number": "ACTA-ENT-31/2026", **serials})
    j.work_task("solicitante1", Step.DELIVERY_ACCEPTANCE, data={"received": True})
    # The documents of each stage from the case page: the unit's signed acta de entrega, then the
    # visit's photo (a PDF offered as a photo is refused beside the field first).
    upload(
        j,
        "solicitante1",
        transfer,
        "delivery_record_scan",
        "acta-entrega-firmada.pdf",
        "application/pdf",
        PDF,
    )
    page = upload(j, "evaluador3", transfer, "visit_photo", "visita.pdf", "application/pdf", PDF, ok=False)
    assert "Una foto debe ser una imagen JPEG o PNG." in j.text(page)
    j.shot(page, "evaluator-visit-photo-not-an-image")
    j.done(page)
    upload(j, "evaluador3", transfer, "visit_photo", "visita-tanque.png", "image/png", PNG)
    j.work_task("evaluador3", Step.FOLLOWUP_VISIT, data={"findings": "Equipos instalados y en uso."})

    page = j.as_user("solicitante1")
    visit(page, f"{j.base_url}/transfers/{transfer.pk}/")
    text = j.text(page)
    assert "Cerrada" in text and "Visitas de seguimiento" in text
    for n in range(len(units)):
        assert f"DL-2026{n:04d}" in text
    assert "acta-entrega-firmada.pdf" in text and "visita-tanque.png" in text
    j.shot(page, "applicant-case-closed")
    j.done(page)
    transfer.refresh_from_db()
    assert transfer.state == "closed" and transfer.paid_amount == transfer.amount
    assert set(AssetItem.objects.filter(asset__transfer=transfer).values_list("status", flat=True)) == {
        "in_use"
    }
