"""Business days in Bolivia: weekends, the national holidays (fixed and movable: Carnival, Good
Friday, Corpus Christi; Aymara New Year moved to Monday; 6 August) and decreed non-working days
(``NonWorkingDay``, added through its service: audited, and open deadlines running over the day
get one more business day)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from approvals import services
from approvals.calendar import add_business_days, business_days_between, is_business_day
from audit.models import AuditEntry
from tests.iniciativas.conftest import submitted
from workflows.models import CaseTask

from .clock import lpz

D = dt.date


@pytest.mark.parametrize(
    ("start", "days", "expected", "why"),
    [
        (D(2026, 2, 13), 1, D(2026, 2, 18), "Carnival Monday and Tuesday 16-17 Feb 2026"),
        (D(2027, 2, 5), 1, D(2027, 2, 10), "Carnival 8-9 Feb 2027"),
        (D(2026, 4, 2), 1, D(2026, 4, 6), "Good Friday 3 Apr 2026 and the weekend"),
        (D(2026, 6, 3), 1, D(2026, 6, 5), "Corpus Christi 4 Jun 2026"),
        (D(2026, 6, 19), 1, D(2026, 6, 23), "Aymara New Year (Sun 21 Jun) observed Monday 22 Jun 2026"),
        (D(2026, 8, 5), 1, D(2026, 8, 7), "Independence Day 6 Aug 2026"),
        (D(2026, 8, 3), 5, D(2026, 8, 11), "a week with 6 August in it"),
        (D(2026, 1, 21), 1, D(2026, 1, 23), "Plurinational State Day 22 Jan 2026"),
        (D(2026, 10, 30), 1, D(2026, 11, 3), "All Souls' Day Monday 2 Nov 2026"),
        (D(2026, 12, 24), 1, D(2026, 12, 28), "Christmas Friday 25 Dec 2026"),
        (D(2026, 4, 30), 1, D(2026, 5, 4), "Labour Day Friday 1 May 2026"),
        (D(2026, 3, 6), 1, D(2026, 3, 9), "a plain weekend"),
        (D(2026, 3, 7), 1, D(2026, 3, 9), "starting on a Saturday"),
        (D(2026, 3, 9), 0, D(2026, 3, 9), "zero days"),
        (D(2026, 12, 30), 3, D(2027, 1, 5), "across the year end (New Year 1 Jan 2027)"),
    ],
)
@pytest.mark.django_db
def test_add_business_days_skips_weekends_and_bolivian_holidays(start, days, expected, why):
    assert add_business_days(start, days) == expected, why


@pytest.mark.django_db
def test_holidays_and_weekends_are_not_business_days():
    for holiday in (
        D(2026, 2, 16),
        D(2026, 2, 17),
        D(2026, 4, 3),
        D(2026, 6, 4),
        D(2026, 8, 6),
        D(2026, 1, 1),
    ):
        assert not is_business_day(holiday), holiday
    assert not is_business_day(D(2026, 8, 8))  # Saturday
    assert not is_business_day(D(2026, 8, 9))  # Sunday
    assert is_business_day(D(2026, 8, 7))
    assert is_business_day(D(2026, 10, 19))  # Dignity Day fell on Saturday 17 Oct 2026: no observed Monday


@pytest.mark.django_db
def test_business_days_between_counts_the_days_after_start_up_to_end():
    assert business_days_between(D(2026, 8, 3), D(2026, 8, 11)) == 5
    assert business_days_between(D(2026, 8, 11), D(2026, 8, 3)) == -5
    assert business_days_between(D(2026, 2, 13), D(2026, 2, 18)) == 1
    assert business_days_between(D(2026, 8, 3), D(2026, 8, 3)) == 0
    for start, days in ((D(2026, 2, 10), 7), (D(2026, 3, 30), 9), (D(2026, 12, 20), 12)):
        assert business_days_between(start, add_business_days(start, days)) == days


@pytest.mark.django_db
def test_a_non_working_day_added_through_the_service_counts_and_is_audited(world):
    admin = world.staff["admin1"]
    day = services.add_non_working_day(actor=admin, date=D(2026, 8, 7), name="Feriado decretado")
    assert not is_business_day(D(2026, 8, 7))
    assert add_business_days(D(2026, 8, 5), 1) == D(2026, 8, 10)
    entry = AuditEntry.objects.get(action="calendar.day_added")
    assert (entry.actor, entry.data["date"], entry.data["name"]) == (admin, "2026-08-07", "Feriado decretado")

    with pytest.raises(ValidationError) as exc:
        services.add_non_working_day(actor=admin, date=D(2026, 8, 7), name="Otra vez")
    assert "date" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.add_non_working_day(actor=world.staff["evaluador1"], date=D(2026, 8, 10), name="No")
    with pytest.raises(PermissionDenied):
        services.remove_non_working_day(day.pk, actor=world.staff["director1"])

    services.remove_non_working_day(day.pk, actor=admin)
    assert add_business_days(D(2026, 8, 5), 1) == D(2026, 8, 7)
    assert AuditEntry.objects.filter(action="calendar.day_removed", data__date="2026-08-07").count() == 1


@pytest.mark.django_db
def test_the_first_task_is_due_in_business_days_and_a_decreed_day_extends_it(agency):
    """Submitted on Monday 3 Aug 2026: admissibility (5 business days) is due Tuesday 11 Aug at the
    end of the day in La Paz (6 August is a holiday). A day decreed non-working on 10 Aug moves it
    to 12 Aug; a decreed day after the deadline, or removing one, changes nothing."""
    admin = agency.staff["admin1"]
    ini = submitted(agency)
    task = CaseTask.objects.get(case_code=ini.code, step="admissibility")
    assert timezone.localtime(task.due_at) == lpz(2026, 8, 11, 23, 59, 59)

    day = services.add_non_working_day(actor=admin, date=D(2026, 8, 10), name="Feriado decretado")
    task.refresh_from_db()
    assert timezone.localtime(task.due_at) == lpz(2026, 8, 12, 23, 59, 59)
    assert AuditEntry.objects.get(action="calendar.day_added").data["tasks_extended"] == 1

    services.add_non_working_day(actor=admin, date=D(2026, 8, 20), name="Otro feriado")
    services.remove_non_working_day(day.pk, actor=admin)
    task.refresh_from_db()
    assert timezone.localtime(task.due_at) == lpz(2026, 8, 12, 23, 59, 59)
    assert (
        AuditEntry.objects.filter(action="calendar.day_added").order_by("seq").last().data["tasks_extended"]
        == 0
    )
