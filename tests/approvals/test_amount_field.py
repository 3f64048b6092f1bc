from decimal import Decimal

import pytest
from django import forms

from approvals.forms import AmountField


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("1.500,00", Decimal("1500.00")), ("97500.00", Decimal("97500.00")), ("150000", Decimal("150000"))],
)
def test_amounts_typed_as_people_write_them(typed, amount):
    assert AmountField(required=True).clean(typed) == amount


def test_overlong_amount_is_a_form_error_not_a_crash():
    with pytest.raises(forms.ValidationError):
        AmountField(required=True).clean("1" * 40)
