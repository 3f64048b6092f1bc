"""Numbers read from a request (query strings, URL parts, form values): only ASCII digits, and no
more of them than a 64-bit column holds. ``str.isdigit`` is not enough — it accepts "²" and other
Unicode digits that ``int()`` then refuses with a 500 — and an over-long number overflows the
database's integer columns."""

from __future__ import annotations

MAX_DIGITS = 18  # below 2**63 - 1, PostgreSQL's bigint


def is_number(value) -> bool:
    """``value`` spells a non-negative whole number that fits a bigint."""
    text = str(value)
    return 0 < len(text) <= MAX_DIGITS and text.isascii() and text.isdigit()


def number(value) -> int | None:
    """The whole number ``value`` spells, or None (see ``is_number``)."""
    return int(str(value)) if is_number(value) else None
