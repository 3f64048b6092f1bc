"""Business days in Bolivia: Monday to Friday, minus national public holidays (``holidays``
package, Bolivia's calendar incl. movable Carnival and Corpus Christi) and locally decreed
non-working days (``NonWorkingDay``)."""

import datetime as dt
from functools import lru_cache

import holidays


@lru_cache(maxsize=32)
def _national(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("BO", years=year))


def _local(start: dt.date, end: dt.date) -> set[dt.date]:
    """Locally decreed non-working days in [start, end] (read once per decision: ``cases.memo``)."""
    from cases import memo

    from .models import NonWorkingDay

    return memo.remember(
        ("non_working_days", start, end),
        lambda: set(NonWorkingDay.objects.filter(date__range=(start, end)).values_list("date", flat=True)),
    )


def is_business_day(day: dt.date, local: set[dt.date] | None = None) -> bool:
    if day.weekday() >= 5 or day in _national(day.year):
        return False
    return day not in (local if local is not None else _local(day, day))


def add_business_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` business days after ``start`` (``start`` itself is not counted)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    local = _local(start, start + dt.timedelta(days=days * 2 + 30))
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        if is_business_day(day, local):
            left -= 1
    return day


def business_days_between(start: dt.date, end: dt.date) -> int:
    """Business days after ``start`` up to and including ``end`` (negative if end < start)."""
    if end < start:
        return -business_days_between(end, start)
    local = _local(start, end)
    return sum(
        1 for n in range(1, (end - start).days + 1) if is_business_day(start + dt.timedelta(days=n), local)
    )
