"""The transfer pages: the list in the user's scope, the request form (bad input keeps what was
typed and changes nothing), the case page with its units by serial, the annulment, and the task page
of a delivery record (one serial input per unit)."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from tests.factories import DEMO_PASSWORD
from transfers.models import Transfer
from workflows.models import CaseTask

from .test_journeys import ASSETS, client_for, request_in_kind, work_inbox

pytestmark = pytest.mark.django_db


def web(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=DEMO_PASSWORD)
    return client


def test_request_in_kind_from_the_form(world):
    page = web("solicitante1")
    form = page.get(reverse("transfer-create"))
    assert form.status_code == 200 and "Solicitar una transferencia" in form.content.decode()
    data = {
        "beneficiary": world.unit.pk,
        "kind": "public_private",
        "modality": "in_kind",
        "program": "PROLECHE",
        "purpose": "Enfriamiento de leche",
    }
    for n, asset in enumerate(ASSETS):
        for key, value in asset.items():
            data[f"assets-{n}-{key}"] = value
    response = page.post(reverse("transfer-create"), data)
    transfer = Transfer.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "transfer-detail", args=[transfer.pk]
    )
    assert str(transfer.amount) == "70000.00" and transfer.assets.count() == 2
    detail = page.get(response["Location"]).content.decode()
    assert transfer.code in detail and "Ordeñadora mecánica de dos puestos" in detail
    assert "Bs 70.000,00" in detail and "Informe técnico" in detail  # what is awaited


def test_bad_form_keeps_the_input_and_changes_nothing(world):
    page = web("solicitante1")
    entries = AuditEntry.objects.count()
    response = page.post(
        reverse("transfer-create"),
        {
            "beneficiary": world.unit.pk,
            "kind": "public_private",
            "modality": "in_kind",
            "program": "PROLECHE",
            "assets-0-description": "Tanque",
            "assets-0-quantity": "0",
            "assets-0-unit_value": "45000.00",
        },
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "Introduzca un número entero de unidades entre 1 y 500." in html
    assert 'value="Tanque"' in html and 'value="45000.00"' in html
    assert Transfer.objects.count() == 0 and AuditEntry.objects.count() == entries


def test_other_units_get_404_and_internal_control_reads(world):
    pk = request_in_kind(client_for("solicitante1"), world).json()["id"]
    assert web("solicitante2").get(reverse("transfer-detail", args=[pk])).status_code == 404
    assert web("control1").get(reverse("transfer-detail", args=[pk])).status_code == 200
    listing = web("solicitante2").get(reverse("transfer-list")).content.decode()
    assert "TRF-" not in listing


def test_delivery_record_page_has_one_serial_input_per_unit(world):
    code = request_in_kind(client_for("solicitante1"), world).json()["code"]
    clients = {
        name: client_for(name) for name in ("evaluador1", "evaluador2", "legal1", "finanzas1", "director1")
    }
    work_inbox(code, clients, until=lambda t: t.state == "in_delivery")
    task = CaseTask.objects.get(case_code=code, step="delivery_record", is_open=True)
    holder = next(
        n
        for n in ("evaluador1", "evaluador2")
        if client_for(n).get("/api/v1/tasks/", {"case": code}).json()["count"]
    )
    html = web(holder).get(reverse("task-detail", args=[task.pk])).content.decode()
    assert (
        html.count('name="data__items__')
        and len(set(re.findall(r'name="(data__items__\d+__serial)"', html))) == 3
    )  # 2 machines + 1 tank
    assert "Ordeñadora mecánica de dos puestos #2" in html


def test_director_annuls_from_the_case_page(world):
    pk = request_in_kind(client_for("solicitante1"), world).json()["id"]
    page = web("director1")
    assert "Anular la transferencia" in page.get(reverse("transfer-detail", args=[pk])).content.decode()
    assert (
        "Anular la transferencia"
        not in web("evaluador1").get(reverse("transfer-detail", args=[pk])).content.decode()
    )
    page.post(reverse("transfer-annul", args=[pk]), {"reason": "Duplicada"})
    assert Transfer.objects.get(pk=pk).state == "annulled"
    assert not CaseTask.objects.filter(case_id=pk, case_type="transfer", is_open=True).exists()
