"""Races on PostgreSQL with real threads (each its own connection): a payment confirmed twice at once
pays once; verifications and payments of several months of one agreement at once never go past its
ceiling nor its budget line. SQLite serialises writers, so these run on PostgreSQL only."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from budget.models import BudgetLine, BudgetMovement
from budget.selectors import case_figures, line_reconciles
from cases.errors import Conflict
from cases.models import PaymentReference
from compensations import services
from compensations.models import Settlement, SettlementState
from compensations.selectors import figures

from .conftest import active_agreement, decide, declared, make_dairy, new_agreement, open_task, verified

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("a race needs PostgreSQL's row locks; SQLite serialises writers")


def race(calls) -> list:
    """Run every call at once (a barrier), each in its own thread and connection; their results or
    exceptions, in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(n):
        try:
            barrier.wait()
            results[n] = calls[n]()
        except Exception as exc:
            results[n] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_one_payment_confirmed_twice_at_once_pays_once():
    dairy = make_dairy()
    agreement = active_agreement(dairy)
    settlement = verified(dairy, agreement, 1, litres="1000.00")
    pay = lambda: services.pay_settlement(  # noqa: E731
        settlement, actor=dairy.staff["finanzas2"], payment_reference="BUN-RACE"
    )
    results = race([pay, pay, pay])
    paid = [r for r in results if isinstance(r, Settlement)]
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(paid) + len(refused) == 3, results
    assert paid, results  # at least the winner; the others the same result or a clear 409
    assert all(p.state == SettlementState.PAID and p.payment_reference == "BUN-RACE" for p in paid)
    assert BudgetMovement.objects.filter(case_code=agreement.code, kind="pay").count() == 1
    assert BudgetMovement.objects.filter(case_code=agreement.code, kind="execute").count() == 1
    assert PaymentReference.objects.filter(reference="BUN-RACE").count() == 1
    assert case_figures(dairy.line, agreement.code)["paid"] == Decimal("400.00")
    assert line_reconciles(dairy.line)


def test_the_same_payment_task_decided_twice_at_once_moves_money_once():
    from approvals import services as approvals

    dairy = make_dairy()
    agreement = active_agreement(dairy)
    settlement = verified(dairy, agreement, 1)
    task = open_task(settlement, "settlement_payment")
    today = str(timezone.localdate(task.created))

    def confirm(user, ref):
        return lambda: approvals.complete_task(
            task.pk,
            actor=dairy.staff[user],
            decision="approve",
            data={"payment_reference": ref, "paid_on": today},
        )

    results = race([confirm("finanzas1", "BUN-A"), confirm("finanzas2", "BUN-B")])
    assert sum(isinstance(r, Settlement) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    assert BudgetMovement.objects.filter(case_code=agreement.code, kind="pay").count() == 1
    assert PaymentReference.objects.filter(case_code=settlement.code).count() == 1


def test_verifications_of_several_months_at_once_never_exceed_the_ceiling():
    dairy = make_dairy()
    # Bs 1.000 of ceiling; six months of Bs 300 each: at most three fit.
    agreement = active_agreement(dairy, rate="0.30", ceiling="1000.00", months_back=7)
    months = [declared(dairy, agreement, n, litres="1000.00") for n in range(1, 7)]
    users = ["tecnico1", "tecnico2"]
    calls = [
        (lambda s=s, n=n: decide(s, "settlement_verification", dairy.staff[users[n % 2]]))
        for n, s in enumerate(months)
    ]
    results = race(calls)
    assert not [
        r
        for r in results
        if isinstance(r, Exception) and not hasattr(r, "message_dict") and not isinstance(r, Conflict)
    ], results
    states = list(Settlement.objects.filter(agreement=agreement).values_list("state", flat=True))
    assert states.count(SettlementState.VERIFIED) == 3, (states, results)
    assert figures(agreement).held == Decimal("900.00") <= agreement.ceiling


def test_payments_of_several_months_at_once_stay_within_the_ceiling_and_the_line():
    dairy = make_dairy()
    agreement = active_agreement(dairy, rate="0.50", ceiling="3000.00", months_back=7)
    months = [verified(dairy, agreement, n, litres="1000.00") for n in range(1, 6)]  # 5 x Bs 500
    users = ["finanzas1", "finanzas2"]
    calls = [
        (
            lambda s=s, n=n: services.pay_settlement(
                s, actor=dairy.staff[users[n % 2]], payment_reference=f"BUN-{n}"
            )
        )
        for n, s in enumerate(months)
    ]
    results = race(calls)
    assert all(isinstance(r, Settlement) for r in results), results
    held = case_figures(dairy.line, agreement.code)
    assert (held["executed"], held["paid"], held["committed"]) == (
        Decimal("2500.00"),
        Decimal("2500.00"),
        Decimal("500.00"),
    )
    assert BudgetMovement.objects.filter(case_code=agreement.code, kind="pay").count() == 5
    assert line_reconciles(dairy.line)


def test_two_agreements_certified_at_once_on_a_line_with_room_for_one():
    dairy = make_dairy(amount_in_force=Decimal("15000.00"))
    first = new_agreement(dairy, ceiling="10000.00", months_back=3, months_ahead=0)
    other_unit_agreement = services.create_agreement(
        actor=dairy.staff["tecnico1"],
        unit=dairy.outsider.unit,
        budget_line=dairy.line,
        rate="0.40",
        first_month=dairy.past(3),
        last_month=dairy.this_month,
        ceiling="10000.00",
    )
    results = race(
        [
            lambda: decide(first, "budget_certification", dairy.staff["finanzas1"]),
            lambda: decide(other_unit_agreement, "budget_certification", dairy.staff["finanzas2"]),
        ]
    )
    refused = [r for r in results if hasattr(r, "message_dict")]
    assert len(refused) == 1, results
    line = BudgetLine.objects.get(pk=dairy.line.pk)
    assert line.reserved == Decimal("10000.00") and line.available == Decimal("5000.00")
    assert line_reconciles(line)
