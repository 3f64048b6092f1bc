"""Display filters shared by every template: ``{% load expediente %}``.

- ``{{ amount|bs }}`` → ``Bs 60.949.269,00`` in Spanish, ``Bs 60,949,269.00`` in English (money is a
  ``Decimal`` or a decimal string; never a float).
- ``{{ when|lpz_datetime }}`` / ``{{ when|lpz_date }}`` → the moment in America/La_Paz, short form
  (``25/11/2026 09:13``), whatever the active time zone.
"""

import datetime as dt
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils import formats, timezone

register = template.Library()

LA_PAZ = zoneinfo.ZoneInfo("America/La_Paz")
CENTS = Decimal("0.01")
EMPTY = "—"


def to_money(value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        raise TypeError("money must be a Decimal or a decimal string, never a float")
    try:
        return Decimal(str(value)).quantize(CENTS, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return None


@register.filter(is_safe=True)
def money(value) -> str:
    """The amount with two decimals and grouping in the active language, without the currency."""
    amount = to_money(value)
    if amount is None:
        return EMPTY
    return formats.number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)


@register.filter(is_safe=True)
def bs(value) -> str:
    """``Bs 60.949.269,00`` (Spanish) — the boliviano amount as the agency writes it."""
    amount = to_money(value)
    if amount is None:
        return EMPTY
    return f"Bs {money(amount)}"


@register.filter(is_safe=True)
def whole(value) -> str:
    """A count with grouping in the active language: ``1.327`` (Spanish)."""
    if value is None or value == "":
        return EMPTY
    return formats.number_format(int(value), decimal_pos=0, use_l10n=True, force_grouping=True)


def _in_la_paz(value):
    if isinstance(value, dt.datetime):
        if timezone.is_naive(value):
            value = timezone.make_aware(value, dt.UTC)
        return value.astimezone(LA_PAZ)
    return value


@register.filter
def lpz_datetime(value) -> str:
    if not value:
        return EMPTY
    return formats.date_format(_in_la_paz(value), "SHORT_DATETIME_FORMAT", use_l10n=True)


@register.filter
def lpz_date(value) -> str:
    if not value:
        return EMPTY
    if isinstance(value, dt.datetime):
        value = _in_la_paz(value).date()
    return formats.date_format(value, "SHORT_DATE_FORMAT", use_l10n=True)


@register.filter
def percent(value, places: int = 1) -> str:
    """``52,6 %`` — a Decimal percentage with ``places`` decimals in the active language."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, float):
        raise TypeError("percentages are Decimals, never floats")
    places = int(places)
    try:
        number = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return EMPTY
    return f"{formats.number_format(number, decimal_pos=places, use_l10n=True)} %"


@register.filter
def share(value) -> str:
    """A fraction as a whole percentage: ``0.50`` → ``50 %``."""
    if value is None or value == "":
        return EMPTY
    try:
        fraction = Decimal(str(value))
    except InvalidOperation:
        return EMPTY
    return percent(fraction * 100, 0)


@register.filter
def short_hash(value) -> str:
    """A long hash as its first and last 8 characters: ``5a838678…0f39abc6f34ff`` stays
    recognisable and fits a phone; the whole one is shown beside it on demand (``_hash.html``)."""
    text = str(value or "")
    return text if len(text) <= 20 else f"{text[:8]}…{text[-8:]}"


@register.filter
def todo_overdue(item, on) -> bool:
    """Whether a ``cases.todo.Todo``'s deadline passed before the day ``on``."""
    return bool(item.overdue(on))
