"""The approved amount of a transfer (issue 13, item 3): in money the budget certification may grant
less than requested, with its reason, and the reservation, commitment, payment order, payment, the
reports, the case list and the API follow it; in kind the amount is the assets' value, delivered
whole, and the certification asks nothing about it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from audit.models import AuditEntry
from budget.models import BudgetLine
from cases import listing
from cases.metrics import FiscalYear
from reports.selectors import budget_execution
from tests.iniciativas.test_api_journey import client_for
from transfers import metrics
from transfers.models import Transfer

from .walk import decide, drive, new_transfer, open_task

pytestmark = pytest.mark.django_db

REASON = "La resolución cubre solo el primer tramo del proyecto."


def line() -> BudgetLine:
    return BudgetLine.objects.get()


def test_a_transfer_in_money_approved_for_less_is_paid_the_approved_amount(world):
    transfer = new_transfer(world)  # Bs 35.000 in money
    drive(world, transfer.code, "budget_certification")
    decide(
        world,
        transfer.code,
        "budget_certification",
        approved_amount="30000.00",
        approved_amount_reason=REASON,
    )
    transfer = Transfer.objects.get(pk=transfer.pk)
    assert (transfer.amount, transfer.approved_amount, transfer.approved_amount_reason) == (
        Decimal("35000.00"),
        Decimal("30000.00"),
        REASON,
    )
    assert line().reserved == Decimal("30000.00")
    entry = AuditEntry.objects.get(
        case=transfer.code, action="task.completed", data__step="budget_certification"
    )
    assert (
        entry.data["requested_amount"],
        entry.data["approved_amount"],
        entry.data["approved_amount_reason"],
    ) == (
        "35000.00",
        "30000.00",
        REASON,
    )
    payment = drive(world, transfer.code, "payment_order")
    from approvals.steps import spec_for

    (amount,) = spec_for("transfer", "payment_order").fields(payment, Transfer.objects.get(pk=transfer.pk))
    assert amount.default == amount.max == Decimal("30000.00")
    drive(world, transfer.code, "followup_visit")
    transfer = Transfer.objects.get(pk=transfer.pk)
    assert transfer.state == "in_followup"
    assert transfer.executed_amount == transfer.paid_amount == Decimal("30000.00")
    ln = line()
    assert (ln.reserved, ln.committed, ln.executed, ln.paid) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("30000.00"),
        Decimal("30000.00"),
    )
    assert budget_execution(timezone.localdate().year).total.executed == Decimal("30000.00")
    year = FiscalYear(timezone.localdate().year)
    assert metrics.paid_figures(year)["amount_paid"] == {"PROLECHE": Decimal("30000.00")}
    (row,) = [r for r in listing.case_rows(world.staff["director1"]) if r.code == transfer.code]
    assert row.amount == Decimal("30000.00")
    body = client_for("solicitante1").get(f"/api/v1/transfers/{transfer.pk}/").json()
    assert (body["amount"], body["approved_amount"], body["approved_amount_reason"]) == (
        "35000.00",
        "30000.00",
        REASON,
    )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"approved_amount": "35000.01"}, "data.approved_amount"),
        ({"approved_amount": "0.00"}, "data.approved_amount"),
        ({"approved_amount": "20000.00"}, "data.approved_amount_reason"),
    ],
)
def test_bad_approved_amounts_of_a_transfer_change_nothing(world, data, field):
    transfer = new_transfer(world)
    drive(world, transfer.code, "budget_certification")
    before = AuditEntry.objects.count()
    with translation.override("es"), pytest.raises(ValidationError) as err:
        decide(world, transfer.code, "budget_certification", **data)
    assert field in err.value.message_dict
    assert AuditEntry.objects.count() == before
    transfer = Transfer.objects.get(pk=transfer.pk)
    assert (transfer.approved_amount, transfer.budget_line_id, line().reserved) == (
        None,
        None,
        Decimal("0.00"),
    )
    assert open_task(transfer.code, "budget_certification").is_open


def test_in_kind_the_certification_fixes_the_assets_value(world):
    transfer = new_transfer(world, modality="in_kind")  # 2 x Bs 20.000
    task = drive(world, transfer.code, "budget_certification")
    from approvals.steps import spec_for

    names = [f.name for f in spec_for("transfer", "budget_certification").fields(task, transfer)]
    assert "approved_amount" not in names
    decide(world, transfer.code, "budget_certification", approved_amount="100.00")  # not asked: ignored
    transfer = Transfer.objects.get(pk=transfer.pk)
    assert transfer.approved_amount == transfer.amount == Decimal("40000.00")
    assert line().reserved == Decimal("40000.00")
