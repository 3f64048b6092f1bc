"""Finance's forms (issue 11, item 6): the certification choice names the line's year, program,
source and what it has available; the payment order and its confirmation show the tranche and its
amount as text in the Bolivian format (nothing to type); the inbox row of a payment task carries the
tranche's amount, not the whole grant."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from approvals import services as approvals
from approvals.steps import certification_field
from tests.iniciativas.test_side_exits import decide, in_execution
from workflows.models import CaseTask

pytestmark = pytest.mark.django_db


def _page(client, user, task) -> str:
    approvals.claim_task(task.pk, actor=user)
    client.force_login(user)
    response = client.get(reverse("task-detail", args=[task.pk]), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    return response.content.decode()


def test_the_certification_choice_names_program_source_and_availability(world):
    field = certification_field(world.call.program, Decimal("100000.00"))
    [(pk, label)] = field.choices
    assert pk == world.line.pk
    assert label == (
        f"{world.line.fiscal_year} · PROLECHE · Fuente 42 Transferencias de recursos específicos"
        " — disponible Bs 1.000.000,00"
    )


def test_payment_order_and_confirmation_show_the_tranche_and_its_amount(client, world):
    i = in_execution(world)  # granted Bs 100.000, plan 40/40/20
    order = CaseTask.objects.get(case_code=i.code, step="payment_order", is_open=True)
    assert order.amount == Decimal("40000.00")  # the tranche, not the grant
    html = _page(client, world.staff["finanzas1"], order)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Bs 40.000,00" in text and "Tramo 1 de 3 (40 % del apoyo)" in text
    assert 'type="number"' not in html  # no spinner: the tranche and amount are fixed by the plan
    assert re.search(r'type="hidden" name="data__tranche" value="1"', html)
    assert re.search(r'type="hidden" name="data__amount" value="(40000\.00|40\.000,00)"', html)

    decide(i, "payment_order", world.staff["finanzas1"], tranche=1, amount="40000.00")
    confirm = CaseTask.objects.get(case_code=i.code, step="payment_confirmation", is_open=True)
    assert confirm.amount == Decimal("40000.00")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", _page(client, world.staff["finanzas2"], confirm)))
    assert "Monto a pagar" in text and "Bs 40.000,00" in text and "Tramo 1 de 3 (40 % del apoyo)" in text

    client.force_login(world.staff["finanzas2"])
    inbox = client.get(reverse("task-inbox"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Bs 40.000,00" in inbox and "Bs 100.000,00" not in inbox
