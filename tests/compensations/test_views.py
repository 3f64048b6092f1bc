"""The pages: the agreement (figures in Bs, settlements by month), the dairy company's declaration
(errors next to the fields, nothing written), the settlement page, the verification task page
showing the amount, the ceiling left and the line's available money, and a new agreement."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from compensations.models import CompensationAgreement, Settlement

from .conftest import active_agreement, declared, open_task, pdf

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_agreement_page_shows_the_figures_and_the_months(dairy):
    agreement = active_agreement(dairy, rate="0.40", ceiling="150000.00")
    declared(dairy, agreement, 1, litres="12500.50")
    page = client_for(dairy.member).get(reverse("compensation-detail", args=[agreement.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Bs 150.000,00" in html  # ceiling and remaining (nothing verified yet)
    assert "Bs 5.000,20" in html  # the declared month's amount
    assert "Bs 0,40" in html
    assert f"{dairy.past(1):%m/%Y}" in html
    assert reverse("compensation-declare", args=[agreement.pk]) in html
    assert (
        client_for(dairy.outsider).get(reverse("compensation-detail", args=[agreement.pk])).status_code == 404
    )
    assert (
        agreement.code
        in client_for(dairy.staff["tecnico1"]).get(reverse("compensation-list")).content.decode()
    )


def test_the_declaration_page_puts_errors_next_to_the_fields_and_writes_nothing(dairy):
    agreement = active_agreement(dairy)
    member = client_for(dairy.member)
    url = reverse("compensation-declare", args=[agreement.pk])
    assert member.get(url).status_code == 200
    bad = member.post(url, {"month": f"{dairy.past(1):%Y-%m}", "litres": "mil"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'id="id_litres_error"' in html and 'id="id_file_error"' in html
    assert not Settlement.objects.exists()
    good = member.post(url, {"month": f"{dairy.past(1):%Y-%m}", "litres": "1000,50", "file": pdf()})
    assert good.status_code == 302
    settlement = Settlement.objects.get()
    assert str(settlement.litres) == "1000.50"
    page = member.get(good["Location"])
    assert page.status_code == 200 and "Bs 400,20" in page.content.decode()
    assert client_for(dairy.outsider).get(url).status_code == 404
    assert client_for(dairy.staff["tecnico1"]).get(url).status_code == 403


def test_the_verification_task_page_shows_amount_ceiling_left_and_line_available(dairy):
    agreement = active_agreement(dairy, rate="0.50", ceiling="2000.00")
    settlement = declared(dairy, agreement, 1, litres="1000.00")
    task = open_task(settlement, "settlement_verification")
    page = client_for(dairy.staff["tecnico2"]).get(f"/tasks/{task.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Bs 500,00" in html  # the amount
    assert "Bs 2.000,00" in html  # the ceiling left (nothing verified yet) of Bs 2.000
    assert "Bs 998.000,00" in html  # the line: 1.000.000 minus the 2.000 committed


def test_a_new_agreement_from_its_page(dairy):
    staff = client_for(dairy.staff["tecnico1"])
    url = reverse("compensation-create")
    assert staff.get(url).status_code == 200
    bad = staff.post(url, {"unit": dairy.unit.pk, "budget_line": dairy.line.pk, "rate": "x", "ceiling": ""})
    assert bad.status_code == 400 and 'id="id_rate_error"' in bad.content.decode()
    good = staff.post(
        url,
        {
            "unit": dairy.unit.pk,
            "budget_line": dairy.line.pk,
            "rate": "0,40",
            "first_month": f"{dairy.past(2):%Y-%m}",
            "last_month": f"{dairy.this_month:%Y-%m}",
            "ceiling": "150.000,00",
        },
    )
    assert good.status_code == 302
    agreement = CompensationAgreement.objects.get()
    assert (str(agreement.rate), str(agreement.ceiling)) == ("0.4000", "150000.00")
    assert client_for(dairy.member).get(url).status_code == 403
