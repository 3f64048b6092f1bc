"""Services behind the configuration pages: putting an earlier policy version back in force (running
cases keep theirs), departmental non-working days (they count for the cases of their department
only, also for deadlines already running), refusals that write nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from approvals import services
from approvals.calendar import add_business_days, business_days_between, is_business_day
from approvals.models import ApprovalPolicy, NonWorkingDay
from audit.models import AuditEntry
from iniciativas.models import Initiative
from registry.models import Department
from tests.iniciativas.conftest import submitted
from workflows.models import CaseTask

from .clock import decide, lpz, to_approval
from .test_policies import CERT, LEGAL, RESOLUTION, save

pytestmark = pytest.mark.django_db
D = dt.date


def dept(code: str) -> Department:
    return Department.objects.get(code=code)


# --- policy versions -----------------------------------------------------------------------------------


def test_an_earlier_version_is_put_back_in_force_and_running_cases_keep_theirs(agency):
    s, admin = agency.staff, agency.staff["admin1"]
    running = submitted(agency, title="En curso")
    to_approval(agency, running)
    v1 = Initiative.objects.get(pk=running.pk).policy
    v2 = save(admin, [LEGAL, CERT, RESOLUTION])
    on_v2 = submitted(agency, title="Con la versión 2")
    to_approval(agency, on_v2)
    assert Initiative.objects.get(pk=on_v2.pk).policy_id == v2.pk

    back = services.activate_policy_version("ini-small", 1, actor=admin)
    assert back.pk == v1.pk
    assert list(ApprovalPolicy.objects.filter(family="ini-small", active=True)) == [v1]
    entry = AuditEntry.objects.get(action="policy.version_activated")
    assert entry.actor == admin
    assert (entry.data["family"], entry.data["version"], entry.data["previous_version"]) == (
        "ini-small",
        1,
        2,
    )

    # The case started under version 2 keeps its three steps; a new case gets version 1 again.
    decide(on_v2, "legal_report", s["legal1"], opinion="Procedente")
    case = decide(on_v2, "budget_certification", s["finanzas1"], budget_line=agency.line.pk)
    assert case.state == "in_approval" and case.policy_id == v2.pk
    fresh = submitted(agency, title="Nueva")
    to_approval(agency, fresh)
    assert Initiative.objects.get(pk=fresh.pk).policy_id == v1.pk

    # The version in force again: nothing to do, nothing recorded.
    services.activate_policy_version("ini-small", 1, actor=admin)
    assert AuditEntry.objects.filter(action="policy.version_activated").count() == 1


def test_activation_is_refused_to_non_administrators_and_for_unknown_versions(agency):
    save(agency.staff["admin1"], [LEGAL, CERT, RESOLUTION])
    for who in ("evaluador1", "director1", "control1"):
        with pytest.raises(PermissionDenied):
            services.activate_policy_version("ini-small", 1, actor=agency.staff[who])
    with pytest.raises(ValidationError) as exc:
        services.activate_policy_version("ini-small", 7, actor=agency.staff["admin1"])
    assert "version" in exc.value.message_dict
    assert ApprovalPolicy.objects.get(family="ini-small", active=True).version == 2
    assert not AuditEntry.objects.filter(action="policy.version_activated").exists()


# --- departmental non-working days --------------------------------------------------------------------


def test_a_departmental_day_counts_only_for_its_department(world):
    admin = world.staff["admin1"]
    services.add_non_working_day(actor=admin, date=D(2026, 8, 7), name="Feriado en La Paz", department="LPZ")
    lpz_id, scz_id = dept("LPZ").pk, dept("SCZ").pk
    assert not is_business_day(D(2026, 8, 7), department_id=lpz_id)
    assert is_business_day(D(2026, 8, 7), department_id=scz_id)
    assert is_business_day(D(2026, 8, 7))  # national: not a holiday
    assert add_business_days(D(2026, 8, 5), 1, department_id=lpz_id) == D(2026, 8, 10)
    assert add_business_days(D(2026, 8, 5), 1, department_id=scz_id) == D(2026, 8, 7)
    assert business_days_between(D(2026, 8, 5), D(2026, 8, 10), department_id=lpz_id) == 1
    entry = AuditEntry.objects.get(action="calendar.day_added")
    assert (entry.actor, entry.data["department"], entry.data["date"]) == (admin, "LPZ", "2026-08-07")


def test_a_la_paz_case_skips_a_la_paz_holiday_and_a_santa_cruz_case_does_not(agency):
    """Submitted on Monday 3 Aug 2026, admissibility is due in 5 business days: Tuesday 11 Aug (6
    August is a national holiday). A La Paz holiday on Friday 7 Aug moves the La Paz case's deadline
    to Wednesday 12 Aug; the Santa Cruz case's stays on the 11th."""
    services.add_non_working_day(
        actor=agency.staff["admin1"], date=D(2026, 8, 7), name="Feriado departamental", department="LPZ"
    )
    la_paz = submitted(agency, title="Caso paceño", department="LPZ")
    santa_cruz = submitted(agency, title="Caso cruceño", department="SCZ")
    due = {
        code: timezone.localtime(CaseTask.objects.get(case_code=code, step="admissibility").due_at)
        for code in (la_paz.code, santa_cruz.code)
    }
    assert due[la_paz.code] == lpz(2026, 8, 12, 23, 59, 59)
    assert due[santa_cruz.code] == lpz(2026, 8, 11, 23, 59, 59)


def test_a_departmental_day_extends_only_that_departments_running_deadlines(agency):
    la_paz = submitted(agency, title="Caso paceño", department="LPZ")
    santa_cruz = submitted(agency, title="Caso cruceño", department="SCZ")
    services.add_non_working_day(
        actor=agency.staff["admin1"], date=D(2026, 8, 10), name="Feriado departamental", department="SCZ"
    )
    tasks = {t.case_code: t for t in CaseTask.objects.filter(step="admissibility")}
    assert timezone.localtime(tasks[la_paz.code].due_at) == lpz(2026, 8, 11, 23, 59, 59)
    assert timezone.localtime(tasks[santa_cruz.code].due_at) == lpz(2026, 8, 12, 23, 59, 59)
    assert AuditEntry.objects.get(action="calendar.day_added").data["tasks_extended"] == 1

    # The same day decreed national later extends La Paz's deadline only: Santa Cruz had the day already.
    services.add_non_working_day(actor=agency.staff["admin1"], date=D(2026, 8, 10), name="Feriado nacional")
    tasks = {t.case_code: t for t in CaseTask.objects.filter(step="admissibility")}
    assert timezone.localtime(tasks[la_paz.code].due_at) == lpz(2026, 8, 12, 23, 59, 59)
    assert timezone.localtime(tasks[santa_cruz.code].due_at) == lpz(2026, 8, 12, 23, 59, 59)
    national = AuditEntry.objects.get(action="calendar.day_added", data__department=None)
    assert national.data["tasks_extended"] == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"date": D(2026, 8, 7), "name": "", "department": "LPZ"}, "name"),
        ({"date": None, "name": "Feriado", "department": None}, "date"),
        ({"date": D(2026, 8, 7), "name": "Feriado", "department": "XYZ"}, "department"),
        ({"date": D(2026, 8, 7), "name": "x" * 121, "department": None}, "name"),
        ({"date": D(2026, 8, 14), "name": "Dos veces", "department": "LPZ"}, "date"),  # already in La Paz
        ({"date": D(2026, 8, 21), "name": "Ya nacional", "department": "CBB"}, "date"),  # already national
    ],
)
def test_bad_non_working_days_are_refused_and_nothing_is_written(world, fields, field):
    admin = world.staff["admin1"]
    services.add_non_working_day(actor=admin, date=D(2026, 8, 14), name="Feriado", department="LPZ")
    services.add_non_working_day(actor=admin, date=D(2026, 8, 21), name="Feriado nacional")
    before = (NonWorkingDay.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationError) as exc:
        services.add_non_working_day(actor=admin, **fields)
    assert field in exc.value.message_dict
    assert (NonWorkingDay.objects.count(), AuditEntry.objects.count()) == before


def test_the_same_date_may_be_a_holiday_in_two_departments(world):
    admin = world.staff["admin1"]
    services.add_non_working_day(actor=admin, date=D(2026, 9, 14), name="Cochabamba", department="CBB")
    services.add_non_working_day(actor=admin, date=D(2026, 9, 14), name="Otro", department="LPZ")
    assert NonWorkingDay.objects.filter(date=D(2026, 9, 14)).count() == 2


def test_only_administrators_add_or_remove_non_working_days(world):
    day = services.add_non_working_day(
        actor=world.staff["admin1"], date=D(2026, 9, 24), name="Santa Cruz", department="SCZ"
    )
    for who in ("evaluador1", "director1", "control1"):
        with pytest.raises(PermissionDenied):
            services.add_non_working_day(actor=world.staff[who], date=D(2026, 9, 25), name="No")
        with pytest.raises(PermissionDenied):
            services.remove_non_working_day(day.pk, actor=world.staff[who])
    services.remove_non_working_day(day.pk, actor=world.staff["admin1"])
    entry = AuditEntry.objects.get(action="calendar.day_removed")
    assert (entry.data["department"], entry.data["date"]) == ("SCZ", "2026-09-24")
    assert not NonWorkingDay.objects.exists()
