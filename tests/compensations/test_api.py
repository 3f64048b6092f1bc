"""``/api/v1/compensation-agreements/`` and ``/api/v1/compensation-settlements/``: create, approve (in
the inbox), declare with evidence, verify, pay (twice: the same answer, one movement), the errors on
their fields, and nobody sees another company's agreements."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from budget.models import BudgetMovement
from compensations.models import CompensationAgreement

from .conftest import active_agreement, decide, pdf

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_create_an_agreement_and_refuse_bad_fields(dairy):
    staff = client_for(dairy.staff["tecnico1"])
    bad = staff.post(
        "/api/v1/compensation-agreements/",
        {
            "unit": dairy.unit.pk,
            "budget_line": dairy.line.pk,
            "rate": "0,40",
            "first_month": "2026-01",
            "last_month": "2025-12",
            "ceiling": "1000.00",
        },
        format="json",
    )
    assert bad.status_code == 400
    assert "rate" in bad.json()
    made = staff.post(
        "/api/v1/compensation-agreements/",
        {
            "unit": dairy.unit.pk,
            "budget_line": dairy.line.pk,
            "rate": "0.40",
            "first_month": f"{dairy.past(3):%Y-%m}",
            "last_month": f"{dairy.this_month:%Y-%m}",
            "ceiling": "1000.00",
        },
        format="json",
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert (body["state"], body["ceiling"], body["remaining"], body["rate"]) == (
        "requested",
        "1000.00",
        "1000.00",
        "0.4000",
    )
    assert client_for(dairy.member).post(
        "/api/v1/compensation-agreements/", {}, format="json"
    ).status_code in (
        400,
        403,
    )


def test_declare_verify_and_pay_through_the_api_paying_once(dairy):
    agreement = active_agreement(dairy, rate="0.40", ceiling="10000.00")
    member = client_for(dairy.member)
    url = f"/api/v1/compensation-agreements/{agreement.pk}/settlements/"
    bad = member.post(url, {"month": f"{dairy.this_month:%Y-%m}", "litres": "abc", "evidence": pdf()})
    assert bad.status_code == 400
    assert {"month", "litres"} & set(bad.json())
    made = member.post(url, {"month": f"{dairy.past(1):%Y-%m}", "litres": "1000.00", "evidence": pdf()})
    assert made.status_code == 201, made.json()
    settlement = made.json()
    assert (settlement["state"], settlement["amount"], len(settlement["documents"])) == (
        "declared",
        "400.00",
        1,
    )
    assert member.get(url).json()[0]["code"] == settlement["code"]

    base = f"/api/v1/compensation-settlements/{settlement['id']}"
    assert member.post(f"{base}/verify/", {}, format="json").status_code == 403
    verified = client_for(dairy.staff["tecnico2"]).post(
        f"{base}/verify/", {"litres": "900.00", "correction_reason": "Planilla"}, format="json"
    )
    assert verified.status_code == 200, verified.json()
    assert (verified.json()["state"], verified.json()["amount"]) == ("verified", "360.00")

    finance = client_for(dairy.staff["finanzas1"])
    first = finance.post(
        f"{base}/pay/", {"payment_reference": "BUN-API-1", "c31_reference": "C31-1"}, format="json"
    )
    assert first.status_code == 200, first.json()
    again = finance.post(f"{base}/pay/", {"payment_reference": "BUN-API-1"}, format="json")
    assert again.status_code == 200 and again.json() == first.json()
    other = finance.post(f"{base}/pay/", {"payment_reference": "BUN-API-2"}, format="json")
    assert other.status_code == 409
    assert BudgetMovement.objects.filter(case_code=agreement.code, kind="pay").count() == 1

    detail = member.get(f"/api/v1/compensation-agreements/{agreement.pk}/").json()
    assert (detail["paid"], detail["used"], detail["remaining"]) == ("360.00", "360.00", "9640.00")
    assert Decimal(detail["remaining"]) == CompensationAgreement.objects.get(
        pk=agreement.pk
    ).ceiling - Decimal("360")


def test_another_company_sees_nothing(dairy):
    agreement = active_agreement(dairy)
    outsider = client_for(dairy.outsider)
    assert outsider.get(f"/api/v1/compensation-agreements/{agreement.pk}/").status_code == 404
    listed = outsider.get("/api/v1/compensation-agreements/").json()
    assert agreement.code not in str(listed)
    made = outsider.post(
        f"/api/v1/compensation-agreements/{agreement.pk}/settlements/",
        {"month": f"{dairy.past(1):%Y-%m}", "litres": "10", "evidence": pdf()},
    )
    assert made.status_code == 404


def test_verify_when_nothing_awaits_it_is_a_409(dairy):
    agreement = active_agreement(dairy)
    from .conftest import declared

    settlement = declared(dairy, agreement, 1)
    decide(settlement, "settlement_verification", dairy.staff["tecnico2"], decision="reject", comment="No")
    answer = client_for(dairy.staff["tecnico1"]).post(
        f"/api/v1/compensation-settlements/{settlement.pk}/verify/", {}, format="json"
    )
    assert answer.status_code == 409


def test_the_agreement_lists_its_official_documents_and_serves_them(dairy):
    """API.md: every case lists its ``official_documents``; the agreement's are the certificación
    presupuestaria and the director's resolution, served as PDFs to whoever may see the agreement."""
    from cases.models import OfficialDocument

    agreement = active_agreement(dairy)
    member = client_for(dairy.member)
    listed = member.get(f"/api/v1/compensation-agreements/{agreement.pk}/").json()["official_documents"]
    numbers = sorted(
        OfficialDocument.objects.filter(case_code=agreement.code).values_list("number", flat=True)
    )
    assert len(numbers) == 2 and sorted(d["number"] for d in listed) == numbers
    for document in listed:
        assert set(document) >= {"kind", "number", "issued_at", "sha256", "url", "verify_url"}
        pdf_answer = member.get(document["url"])
        assert pdf_answer.status_code == 200 and pdf_answer["Content-Type"] == "application/pdf"
        assert b"".join(pdf_answer.streaming_content).startswith(b"%PDF")
    outsider = client_for(dairy.outsider)
    assert outsider.get(listed[0]["url"]).status_code == 404
