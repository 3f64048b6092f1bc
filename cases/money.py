"""The one money type: bolivianos as ``Decimal`` with 2 places, never a float.

- ``MONEY``: the ``DecimalField`` options every amount column uses (``**MONEY``);
- ``parse_amount``: an amount as a person types it (``150.000,00``, ``150000.50``, ``Bs 150000``);
- ``clean_amount``: an amount as a client sends it (a decimal string of ASCII digits with at most 2
  decimals, or a ``Decimal``; never a float, an exponent, spaces or other scripts' digits);
- ``AmountField``: the form field over ``parse_amount``; ``format_amount`` pre-fills it;
- ``bs``: an amount inside a message, in the active language (``1.500,00``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TypedDict

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class MoneyFieldOptions(TypedDict):
    """``**MONEY`` keyword arguments, typed so mypy checks them against ``DecimalField``."""

    max_digits: int
    decimal_places: int


MONEY: MoneyFieldOptions = {"max_digits": 16, "decimal_places": 2}
ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999999999.99")  # DecimalField(max_digits=16, decimal_places=2)
MAX_TYPED_LENGTH = 30

AMOUNT_HELP = gettext_lazy("In bolivianos, e.g. 150000 or 150.000,00.")
# 150.000 / 1.500.000,50 (Bolivian) or 150,000 / 1,500,000.50 (English) or 150000 / 150000,5 / 150000.50
_GROUPED = {".": re.compile(r"^\d{1,3}(\.\d{3})+$"), ",": re.compile(r"^\d{1,3}(,\d{3})+$")}
_PLAIN = re.compile(r"^\d+$")
# What a client sends: ASCII digits, at most 2 decimals after a point, nothing else (no sign, spaces,
# exponent, "_" or other digits than 0-9).
STRICT_AMOUNT = re.compile(r"[0-9]{1,14}(\.[0-9]{1,2})?")
# A number written plainly, perhaps out of bounds (a sign, more decimals or digits): it gets the
# precise message (negative, too many decimals, too large); anything else is not an amount.
WELL_FORMED = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,6})?")
STRICT_AMOUNT_MESSAGE = gettext_lazy(
    'Send the amount as a decimal string of digits with at most 2 decimals, e.g. "1500.00".'
)


def parse_amount(text: str) -> Decimal:
    """An amount in bolivianos as people write it: ``150000``, ``150.000``, ``150.000,00``,
    ``150000,50``, ``150000.50``, ``150,000.00`` (with or without ``Bs``). Raises ``ValidationError``."""
    invalid = ValidationError(
        _("Write the amount in bolivianos, e.g. 150000 or 150.000,00."), code="invalid_amount"
    )
    value = re.sub(r"\s+", "", str(text or "")).removeprefix("Bs").removeprefix("bs").removeprefix(".")
    if not value:
        raise invalid
    if value.startswith("-"):
        raise ValidationError(_("The amount cannot be negative."), code="negative_amount")
    last_dot, last_comma = value.rfind("."), value.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        # Both marks: the last one separates the decimals, the other groups thousands.
        decimal_mark = "." if last_dot > last_comma else ","
        group_mark = "," if decimal_mark == "." else "."
        whole, _sep, cents = value.rpartition(decimal_mark)
        if not _GROUPED[group_mark].match(whole) and not _PLAIN.match(whole):
            raise invalid
        whole = whole.replace(group_mark, "")
    elif last_dot >= 0 or last_comma >= 0:
        mark = "." if last_dot >= 0 else ","
        if _GROUPED[mark].match(value):  # 150.000 or 1,500,000: thousands only
            whole, cents = value.replace(mark, ""), ""
        else:
            whole, _sep, cents = value.rpartition(mark)
            if not _PLAIN.match(whole):
                raise invalid
    else:
        whole, cents = value, ""
    if not _PLAIN.match(whole) or (cents and not _PLAIN.match(cents)):
        raise invalid
    if len(cents) > 2:
        raise ValidationError(_("Write at most 2 decimals (centavos)."), code="too_many_decimals")
    try:
        return Decimal(f"{whole}.{cents or '0'}").quantize(CENT)
    except InvalidOperation as exc:  # pragma: no cover - the patterns above only let digits through
        raise invalid from exc


def format_amount(value) -> str:
    """``Decimal("150000")`` → ``150.000,00`` (how a form shows a stored amount)."""
    if value in (None, ""):
        return ""
    if not isinstance(value, Decimal):
        return str(value)
    whole, _sep, cents = f"{value.quantize(CENT):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    return ".".join([whole, *groups]) + "," + cents


def clean_amount(value, field: str = "amount", *, allow_zero: bool = False) -> Decimal:
    """A money amount sent by a client: a decimal (or decimal string) with at most 2 decimal places,
    > 0 (≥ 0 when ``allow_zero``), never a float. Raises ``ValidationError({field: [...]})``."""

    def error(message: str, code: str) -> ValidationError:
        return ValidationError({field: [ValidationError(message, code=code)]})

    if isinstance(value, (bool, float)):
        raise error(_("Enter the amount as a decimal number, e.g. 1500.00."), "invalid")
    if isinstance(value, str) and not WELL_FORMED.fullmatch(value):
        # "1e2", "1_000", " 10 ", fullwidth digits, "NaN": Decimal() would take them all.
        raise error(_("Enter the amount as a decimal number, e.g. 1500.00."), "invalid")
    if isinstance(value, str) and len(value.partition(".")[2]) > 2:
        # "100.000" is a hundred thousand to a Bolivian eye and a hundred to a parser: refused,
        # whatever the digits after the second decimal.
        raise error(_("Enter the amount with at most 2 decimal places."), "max_decimal_places")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise error(_("Enter the amount as a decimal number, e.g. 1500.00."), "invalid") from None
    if not amount.is_finite():
        raise error(_("Enter the amount as a decimal number, e.g. 1500.00."), "invalid")
    if amount < 0 or (amount == 0 and not allow_zero):
        message = (
            _("The amount cannot be negative.") if allow_zero else _("The amount must be greater than zero.")
        )
        raise error(message, "min_value")
    if amount > MAX_AMOUNT:
        raise error(_("The amount is too large."), "max_value")
    if amount != amount.quantize(CENT):
        raise error(_("Enter the amount with at most 2 decimal places."), "max_decimal_places")
    return amount.quantize(CENT)


def bs(value: Decimal) -> str:
    """An amount for a message in the user's language (``1.500,00`` in Spanish)."""
    return formats.number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)


class AmountField(forms.CharField):
    """A money amount typed by a person; cleaned to a ``Decimal`` (never a float). A stored amount
    is shown the Bolivian way (``150.000,00``)."""

    def __init__(self, **kwargs):
        kwargs.pop("max_length", None)  # the length is checked on the typed text, not on the Decimal
        kwargs.setdefault("help_text", AMOUNT_HELP)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "inputmode": "decimal",
                    "autocomplete": "off",
                    "size": 16,
                    "maxlength": MAX_TYPED_LENGTH,
                }
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return format_amount(value) if isinstance(value, Decimal) else value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if len(value) > MAX_TYPED_LENGTH:
            raise ValidationError(
                _("Write the amount in bolivianos, e.g. 150000 or 150.000,00."), code="invalid_amount"
            )
        return parse_amount(value)
