"""Charts people would rather look at than read, drawn as inline SVG by the templates
``_chart_compare.html`` and ``_chart_stages.html`` (no script, no image request).

Each bar is a small SVG stretched to the width of its row (``preserveAspectRatio="none"``), so it
is as legible at 390 px as at 1366 px; the words and figures beside it are HTML text — what a
screen reader reads, and what the chart's table (on the same page) repeats. The geometry is
computed here as plain strings with a dot (``"52.63"``): a localized template would otherwise
print SVG coordinates with a decimal comma.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal(0)


def _share(part: Decimal, whole: Decimal) -> Decimal:
    if not whole or whole <= 0:
        return ZERO
    return max(ZERO, min(Decimal(100), part * 100 / whole))


def _coord(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def attainment_width(percent: Decimal | None) -> str:
    """The bar of a goal's attainment (0-100: a goal exceeded fills it), as an SVG coordinate."""
    if percent is None:
        return "0.00"
    return _coord(max(ZERO, min(Decimal(100), Decimal(percent))))


@dataclass(frozen=True)
class CompareRow:
    """One row of "executed against in force": both bars scaled to the largest amount in force of
    the chart, so rows compare with each other; ``percent`` is executed / in force."""

    label: str
    sublabel: str
    in_force: Decimal
    executed: Decimal
    percent: Decimal | None
    force_width: str
    executed_width: str


def compare(rows: Iterable[tuple[str, str, Decimal, Decimal]]) -> list[CompareRow]:
    """``[(label, sublabel, in_force, executed), ...]`` -> rows with their bar widths (0-100)."""
    rows = list(rows)
    largest = max((Decimal(r[2]) for r in rows), default=ZERO)
    out = []
    for label, sublabel, in_force, executed in rows:
        in_force, executed = Decimal(in_force), Decimal(executed)
        percent = (
            (executed * 100 / in_force).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            if in_force > 0
            else None
        )
        out.append(
            CompareRow(
                label=label,
                sublabel=sublabel,
                in_force=in_force,
                executed=executed,
                percent=percent,
                force_width=_coord(_share(in_force, largest)),
                executed_width=_coord(_share(min(executed, in_force) if in_force > 0 else ZERO, largest)),
            )
        )
    return out


@dataclass(frozen=True)
class Segment:
    key: str  # a CSS modifier: paid | executed | committed | reserved | available
    label: str
    amount: Decimal
    percent: Decimal
    x: str
    width: str


def stages(
    *,
    in_force: Decimal,
    reserved: Decimal,
    committed: Decimal,
    executed: Decimal,
    paid: Decimal,
    labels: dict,
) -> list[Segment]:
    """The amount in force split by stage, left to right: paid, executed and not yet paid,
    committed, reserved (certified), still available. The stages are disjoint (a line's reserved,
    committed and executed never overlap; paid is part of executed), so the segments add up to the
    amount in force. ``labels``: the words of each key."""
    parts = [
        ("paid", paid),
        ("executed", executed - paid),
        ("committed", committed),
        ("reserved", reserved),
        ("available", in_force - reserved - committed - executed),
    ]
    segments, x = [], ZERO
    for key, amount in parts:
        amount = max(ZERO, Decimal(amount))
        width = _share(amount, in_force)
        segments.append(
            Segment(
                key=key,
                label=str(labels[key]),
                amount=amount,
                percent=width.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
                x=_coord(x),
                width=_coord(width),
            )
        )
        x += width
    return segments
