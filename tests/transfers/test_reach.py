"""Beneficiaries and placement of transfers (issue 14, item 3): given at the request (API and page) or
taken from the beneficiary unit, and corrected by staff through one audited service."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEntry
from transfers.models import Transfer

from .test_journeys import request_in_kind

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_ACCEPT_LANGUAGE="es")
    return client


def test_request_without_the_new_fields_takes_the_units_placement(world):
    response = request_in_kind(api(world.applicant), world)
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["department"], data["municipality"], data["sector"], data["dairy_basin"]) == (
        "SCZ",
        "La Paz",
        "dairy",
        "santa_cruz",
    )
    assert data["beneficiaries_total"] == 0


def test_api_round_trip_and_spanish_errors(world):
    bad = request_in_kind(api(world.applicant), world, beneficiaries_men="muchos", dairy_basin="beni")
    assert bad.status_code == 400
    assert "beneficiaries_men" in bad.json()
    assert Transfer.objects.count() == 0
    sent = {
        "municipality": "Warnes",
        "beneficiaries_kind": "families",
        "beneficiaries_women": 31,
        "beneficiaries_men": 29,
    }
    created = request_in_kind(api(world.applicant), world, **sent)
    assert created.status_code == 201, created.content
    got = api(world.applicant).get(f"/api/v1/transfers/{created.json()['id']}/").json()
    assert {k: got[k] for k in sent} == sent and got["beneficiaries_total"] == 60


def test_request_page_takes_the_beneficiaries(world):
    client = Client()
    client.force_login(world.applicant)
    form = client.get(reverse("transfer-create")).content.decode()
    assert 'name="beneficiaries_women"' in form and "Cuenca lechera" in form
    response = client.post(
        reverse("transfer-create"),
        {
            "beneficiary": world.unit.pk,
            "kind": "public_private",
            "modality": "money",
            "program": "PROLECHE",
            "amount": "35000.00",
            "purpose": "Precio justo",
            "municipality": "Montero",
            "beneficiaries_kind": "producers",
            "beneficiaries_women": "40",
            "beneficiaries_men": "-1",
        },
    )
    assert response.status_code == 400
    assert "Ingrese un número entero de personas entre 0 y 1.000.000." in response.content.decode()
    assert Transfer.objects.count() == 0


def test_staff_correction_is_audited_and_scoped(world):
    created = request_in_kind(api(world.applicant), world)
    url = f"/api/v1/transfers/{created.json()['id']}/reach/"
    assert (
        api(world.applicant).post(url, {"reason": "x", "beneficiaries_men": 2}, format="json").status_code
        == 403
    )
    response = api(world.staff["director1"]).post(
        url,
        {"reason": "Padrón de socios 2026.", "beneficiaries_women": 18, "beneficiaries_men": 22},
        format="json",
    )
    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.get(action="transfer.reach_corrected")
    assert entry.data == {
        "before": {"beneficiaries_women": 0, "beneficiaries_men": 0},
        "after": {"beneficiaries_women": 18, "beneficiaries_men": 22},
        "reason": "Padrón de socios 2026.",
    }
