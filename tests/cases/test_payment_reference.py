"""One bank reference pays one payment, across every kind of case (cases.PaymentReference): the
second use is a 400 on the field and the decision changes nothing; two confirmations racing with
one reference on PostgreSQL: exactly one pays."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection
from django.utils import timezone

from cases.models import PaymentReference
from iniciativas.models import Initiative, Tranche
from tests.iniciativas.test_side_exits import decide, in_execution
from tests.transfers import walk
from transfers.models import Transfer
from workflows.models import CaseTask


def transfer_awaiting_confirmation(world) -> Transfer:
    transfer = walk.new_transfer(world)
    walk.drive(world, transfer.code, "payment_confirmation")
    return transfer


def initiative_awaiting_confirmation(world) -> Initiative:
    i = in_execution(world)
    decide(i, "payment_order", world.staff["finanzas1"], tranche=1, amount="40000.00")
    return i


@pytest.mark.django_db
def test_a_reference_a_transfer_used_cannot_pay_a_tranche(world):
    transfer = transfer_awaiting_confirmation(world)
    walk.decide(world, transfer.code, "payment_confirmation", payment_reference="SIGEP-0001")
    assert PaymentReference.objects.get(reference="SIGEP-0001").case_code == transfer.code

    i = initiative_awaiting_confirmation(world)
    with pytest.raises(ValidationError) as refused:
        pay = CaseTask.objects.get(case_code=i.code, step="payment_confirmation", is_open=True)
        decide(
            i,
            "payment_confirmation",
            world.staff["finanzas2"],
            tranche=1,
            payment_reference="SIGEP-0001",
            paid_on=str(timezone.localdate(pay.created)),
        )
    assert "data.payment_reference" in refused.value.message_dict
    tranche = Tranche.objects.get(initiative=i, number=1)
    assert (tranche.state, tranche.payment_reference) == ("ordered", "")
    assert CaseTask.objects.filter(case_code=i.code, step="payment_confirmation", is_open=True).exists()
    # Another reference pays it.
    decide(
        i,
        "payment_confirmation",
        world.staff["finanzas2"],
        tranche=1,
        payment_reference="SIGEP-0002",
        paid_on=str(timezone.localdate(pay.created)),
    )
    paid = Tranche.objects.get(initiative=i, number=1)
    assert (paid.state, paid.amount, paid.payment_reference) == ("paid", Decimal("40000.00"), "SIGEP-0002")


@pytest.mark.django_db(transaction=True)
def test_two_confirmations_racing_with_one_reference_pay_once(world):
    if connection.vendor != "postgresql":
        pytest.skip("a race needs PostgreSQL's row locks; SQLite serialises writers")
    from approvals import services as approvals

    transfer = transfer_awaiting_confirmation(world)
    i = initiative_awaiting_confirmation(world)
    t_task = walk.open_task(transfer.code, "payment_confirmation")
    i_task = CaseTask.objects.get(case_code=i.code, step="payment_confirmation", is_open=True)
    today = str(timezone.localdate(i_task.created))
    calls = [
        lambda: approvals.complete_task(
            t_task.pk,
            actor=walk.worker(world, t_task),
            decision="approve",
            data=walk.fill(t_task, {"payment_reference": "SIGEP-RACE"}),
        ),
        lambda: approvals.complete_task(
            i_task.pk,
            actor=world.staff["finanzas2"],
            decision="approve",
            data={"tranche": 1, "payment_reference": "SIGEP-RACE", "paid_on": today},
        ),
    ]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(n):
        try:
            barrier.wait()
            results[n] = calls[n]()
        except Exception as exc:
            results[n] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1, results
    assert "data.payment_reference" in refused[0].message_dict
    assert PaymentReference.objects.filter(reference="SIGEP-RACE").count() == 1
    paid = (
        Transfer.objects.filter(payment_reference="SIGEP-RACE").count()
        + Tranche.objects.filter(payment_reference="SIGEP-RACE").count()
    )
    assert paid == 1


@pytest.mark.django_db
def test_the_api_answers_a_reused_reference_with_a_400_on_the_field(world):
    from rest_framework.test import APIClient

    transfer = transfer_awaiting_confirmation(world)
    walk.decide(world, transfer.code, "payment_confirmation", payment_reference="SIGEP-0101")
    i = initiative_awaiting_confirmation(world)
    pay = CaseTask.objects.get(case_code=i.code, step="payment_confirmation", is_open=True)
    client = APIClient()
    client.force_authenticate(world.staff["finanzas2"])
    response = client.post(
        f"/api/v1/tasks/{pay.pk}/complete/",
        {
            "decision": "approve",
            "data": {
                "tranche": 1,
                "payment_reference": "SIGEP-0101",
                "paid_on": str(timezone.localdate(pay.created)),
            },
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["data.payment_reference"]
    assert Tranche.objects.get(initiative=i, number=1).state == "ordered"
    assert PaymentReference.objects.get(reference="SIGEP-0101").case_code == transfer.code
    assert CaseTask.objects.filter(pk=pay.pk, is_open=True).exists()
