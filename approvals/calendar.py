"""Business days in Bolivia: Monday to Friday, minus national public holidays (``holidays``
package, Bolivia's calendar incl. movable Carnival and Corpus Christi) and decreed non-working days
(``NonWorkingDay``): the national ones for every case, a department's own (its anniversary, a local
decree) only for the cases of that department (``department_id``)."""

import datetime as dt
from functools import lru_cache

import holidays
from django.db.models import Q


@lru_cache(maxsize=32)
def _national(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("BO", years=year))


def _local(start: dt.date, end: dt.date, department_id: int | None = None) -> set[dt.date]:
    """Decreed non-working days in [start, end]: the national ones, and the department's own when
    ``department_id`` is given (read once per decision: ``cases.memo``)."""
    from cases import memo, sqltemplate

    values = {"start": start, "end": end} | (
        {"department": department_id} if department_id is not None else {}
    )
    return memo.remember(
        ("non_working_days", start, end, department_id),
        # Built once per shape (``cases.sqltemplate``): every decision that opens a task asks.
        lambda: {
            day
            for (day,) in sqltemplate.run(
                ("approvals.non_working_days", department_id is None), _days, values
            )
        },
    )


def _days(start: dt.date, end: dt.date, department: int | None = None):
    from .models import NonWorkingDay

    where = Q(department__isnull=True)
    if department is not None:
        where |= Q(department_id=department)
    return NonWorkingDay.objects.filter(where, date__range=(start, end)).values_list("date")


def is_business_day(
    day: dt.date, local: set[dt.date] | None = None, *, department_id: int | None = None
) -> bool:
    if day.weekday() >= 5 or day in _national(day.year):
        return False
    return day not in (local if local is not None else _local(day, day, department_id))


def add_business_days(start: dt.date, days: int, *, department_id: int | None = None) -> dt.date:
    """The date ``days`` business days after ``start`` (``start`` itself is not counted), for a case
    of ``department_id`` (its departmental non-working days count too)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    local = _local(start, start + dt.timedelta(days=days * 2 + 30), department_id)
    day, left = start, days
    while left:
        day += dt.timedelta(days=1)
        if is_business_day(day, local):
            left -= 1
    return day


def business_days_between(start: dt.date, end: dt.date, *, department_id: int | None = None) -> int:
    """Business days after ``start`` up to and including ``end`` (negative if end < start)."""
    if end < start:
        return -business_days_between(end, start, department_id=department_id)
    local = _local(start, end, department_id)
    return sum(
        1 for n in range(1, (end - start).days + 1) if is_business_day(start + dt.timedelta(days=n), local)
    )
