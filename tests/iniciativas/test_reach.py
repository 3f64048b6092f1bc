"""Beneficiaries and placement of initiatives (issue 14, item 3): entered by the applicant in the draft
(API and page), defaulted from the unit, shown on the case page, corrected by staff after submission
through one audited service."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from audit.models import AuditEntry
from iniciativas import services
from iniciativas.models import Initiative

from .conftest import draft, submitted

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    client.credentials(HTTP_ACCEPT_LANGUAGE="es")
    return client


def body(world, **extra) -> dict:
    return {
        "unit": world.unit.pk,
        "call": world.call.code,
        "title": "Tanque de enfriamiento",
        "summary": "Compra e instalación de un tanque de 2.000 litros.",
        "department": "SCZ",
        "requested_amount": "100000.00",
        "counterpart_amount": "100000.00",
        **extra,
    }


def test_api_without_the_new_fields_still_works_and_takes_the_units_placement(world):
    response = api(world.applicant).post("/api/v1/initiatives/", body(world), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    # The unit (UnitFactory): La Paz municipality, dairy sector; a PROLECHE case in SCZ: Santa Cruz basin.
    assert {k: data[k] for k in ("department", "municipality", "sector", "dairy_basin")} == {
        "department": "SCZ",
        "municipality": "La Paz",
        "sector": "dairy",
        "dairy_basin": "santa_cruz",
    }
    assert (data["beneficiaries_kind"], data["beneficiaries_women"], data["beneficiaries_men"]) == (
        "producers",
        0,
        0,
    )
    assert data["beneficiaries_total"] == 0


def test_api_round_trip_of_the_beneficiaries_and_placement(world):
    sent = {
        "department": "CBB",
        "municipality": "Punata",
        "beneficiaries_kind": "families",
        "beneficiaries_women": 14,
        "beneficiaries_men": 9,
    }
    created = api(world.applicant).post("/api/v1/initiatives/", body(world, **sent), format="json")
    assert created.status_code == 201, created.content
    got = api(world.applicant).get(f"/api/v1/initiatives/{created.json()['id']}/").json()
    assert {k: got[k] for k in sent} == sent
    assert got["dairy_basin"] == "cochabamba" and got["beneficiaries_total"] == 23
    entry = AuditEntry.objects.get(action="initiative.created", subject_id=str(got["id"]))
    assert entry.data["beneficiaries_women"] == 14 and entry.data["municipality"] == "Punata"


def test_api_bad_values_are_named_in_spanish_and_nothing_is_created(world):
    before = Initiative.objects.count()
    response = api(world.applicant).post(
        "/api/v1/initiatives/",
        body(world, beneficiaries_women=-4, sector="minería", dairy_basin="amazonas"),
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "sector": ["Elija un rubro de la lista."],
        "beneficiaries_women": ["Ingrese un número entero de personas entre 0 y 1.000.000."],
        "dairy_basin": ["Elija de la lista la cuenca lechera del caso."],
    }
    assert Initiative.objects.count() == before


def test_draft_page_edits_the_beneficiaries_and_shows_them(world):
    initiative = draft(world)
    client = Client()
    client.force_login(world.applicant)
    page = client.get(reverse("initiative-edit", args=[initiative.pk]))
    assert (
        'name="beneficiaries_women"' in page.content.decode()
        and "Beneficiarios y lugar" in page.content.decode()
    )
    response = client.post(
        reverse("initiative-edit", args=[initiative.pk]),
        {
            "title": initiative.title,
            "summary": initiative.summary,
            "department": "SCZ",
            "requested_amount": "100.000,00",
            "counterpart_amount": "100.000,00",
            "municipality": "Warnes",
            "beneficiaries_kind": "producers",
            "beneficiaries_women": "1200",
            "beneficiaries_men": "1327",
        },
    )
    assert response.status_code == 302
    initiative.refresh_from_db()
    assert (initiative.municipality, initiative.beneficiaries_women, initiative.beneficiaries_men) == (
        "Warnes",
        1200,
        1327,
    )
    updated = AuditEntry.objects.get(action="initiative.updated", subject_id=str(initiative.pk))
    assert updated.data == {"municipality": "Warnes", "beneficiaries_women": 1200, "beneficiaries_men": 1327}
    detail = client.get(reverse("initiative-detail", args=[initiative.pk])).content.decode()
    assert "2.527 productores: 1.200 mujeres, 1.327 hombres" in detail and "Cuenca lechera" in detail


def test_staff_correct_after_submission_through_one_audited_service(world):
    initiative = submitted(world, reach={"beneficiaries_women": 3, "beneficiaries_men": 4})
    url = f"/api/v1/initiatives/{initiative.pk}/reach/"
    # The applicant edits drafts, not submitted cases; finance does not correct the placement.
    assert (
        api(world.applicant).post(url, {"reason": "x", "beneficiaries_men": 5}, format="json").status_code
        == 403
    )
    assert api(world.staff["finanzas1"]).post(url, {"reason": "x"}, format="json").status_code == 403
    no_reason = api(world.staff["evaluador1"]).post(
        url, {"reason": "", "beneficiaries_men": 5}, format="json"
    )
    assert no_reason.status_code == 400
    assert no_reason.json() == {"reason": ["Indique por qué se corrigen los beneficiarios o la ubicación."]}
    response = api(world.staff["evaluador1"]).post(
        url, {"reason": "Acta de la visita: 5 socios más.", "beneficiaries_men": 9}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["beneficiaries_men"] == 9 and response.json()["beneficiaries_total"] == 12
    entries = AuditEntry.objects.filter(action="initiative.reach_corrected", subject_id=str(initiative.pk))
    assert [e.data for e in entries] == [
        {
            "before": {"beneficiaries_men": 4},
            "after": {"beneficiaries_men": 9},
            "reason": "Acta de la visita: 5 socios más.",
        }
    ]
    # The same values again change nothing and write nothing.
    api(world.staff["evaluador1"]).post(url, {"reason": "otra vez", "beneficiaries_men": 9}, format="json")
    assert entries.count() == 1


def test_a_draft_is_not_corrected_by_staff(world):
    initiative = draft(world)
    with pytest.raises(services.Conflict):
        services.correct_reach(initiative, actor=world.staff["evaluador1"], reason="x", beneficiaries_men=3)
