"""The C-31 (SIGEP expense voucher) number is entered when a payment is confirmed: the case app passes
it to ``budget.pay``, which keeps it on the ledger movement and in its audit entry. Optional; a bad one
is a 400 on ``data.c31_reference`` and the decision changes nothing."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEntry
from budget.models import BudgetMovement
from iniciativas.models import Tranche
from tests.cases.test_payment_reference import (
    initiative_awaiting_confirmation,
    transfer_awaiting_confirmation,
)
from tests.iniciativas.test_side_exits import decide
from tests.transfers import walk
from workflows.models import CaseTask

pytestmark = pytest.mark.django_db


def pay_movements(code: str):
    return BudgetMovement.objects.filter(case_code=code, kind=BudgetMovement.Kind.PAY)


def test_a_transfer_payment_carries_its_c31_to_the_ledger_and_the_trail(world):
    transfer = transfer_awaiting_confirmation(world)
    fields = {f.name: f for f in walk.spec_for("transfer", "payment_confirmation").fields(None, transfer)}
    assert fields["c31_reference"].required is False
    walk.decide(
        world,
        transfer.code,
        "payment_confirmation",
        payment_reference="SIGEP-0301",
        c31_reference=" c31-0457 ",
    )
    (movement,) = pay_movements(transfer.code)
    assert (movement.c31_reference, movement.amount) == ("C31-0457", Decimal("35000.00"))
    entry = AuditEntry.objects.filter(case=transfer.code, action="budget.paid").get()
    assert entry.data["c31_reference"] == "C31-0457"


def test_a_tranche_paid_without_c31_leaves_it_empty(world):
    i = initiative_awaiting_confirmation(world)
    pay = CaseTask.objects.get(case_code=i.code, step="payment_confirmation", is_open=True)
    decide(
        i,
        "payment_confirmation",
        world.staff["finanzas2"],
        tranche=1,
        payment_reference="SIGEP-0302",
        paid_on=str(timezone.localdate(pay.created)),
    )
    (movement,) = pay_movements(i.code)
    assert movement.c31_reference == ""
    assert "c31_reference" not in AuditEntry.objects.filter(case=i.code, action="budget.paid").get().data


def test_a_bad_c31_refuses_the_payment_and_changes_nothing(world):
    i = initiative_awaiting_confirmation(world)
    pay = CaseTask.objects.get(case_code=i.code, step="payment_confirmation", is_open=True)
    entries = AuditEntry.objects.count()
    with pytest.raises(ValidationError) as refused:
        decide(
            i,
            "payment_confirmation",
            world.staff["finanzas2"],
            tranche=1,
            payment_reference="SIGEP-0303",
            paid_on=str(timezone.localdate(pay.created)),
            c31_reference="C-31 nº 12",
        )
    assert "data.c31_reference" in refused.value.message_dict
    assert Tranche.objects.get(initiative=i, number=1).state == "ordered"
    assert not pay_movements(i.code).exists()
    assert AuditEntry.objects.count() == entries
    # The same payment with a good number goes through.
    decide(
        i,
        "payment_confirmation",
        world.staff["finanzas2"],
        tranche=1,
        payment_reference="SIGEP-0303",
        paid_on=str(timezone.localdate(pay.created)),
        c31_reference="2020/0457",
    )
    assert [m.c31_reference for m in pay_movements(i.code)] == ["2020/0457"]
