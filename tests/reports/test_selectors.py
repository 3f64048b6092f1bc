from decimal import Decimal

import pytest

from budget.models import BudgetLine
from budget.selectors import ledger_mismatches
from cases.roles import Role
from reports.selectors import (
    budget_execution,
    can_view_execution,
    clean_fiscal_year,
    current_fiscal_year,
    execution_percent,
    report_years_for,
)
from tests.factories import BudgetLineFactory

from .conftest import make_world, user_with

D = Decimal
pytestmark = pytest.mark.django_db


def figures(row):
    return (row.code, row.in_force, row.executed, row.balance, row.percent)


def test_report_from_real_ledger_moves(world):
    report = budget_execution(world.year)
    assert report.fiscal_year == world.year
    assert report.closed is True
    assert report.ledger_reconciles is True
    assert [figures(r) for r in report.by_source] == [
        ("10", D("1000.00"), D("400.00"), D("600.00"), D("40.0")),
        ("80", D("2500.00"), D("553.75"), D("1946.25"), D("22.2")),
    ]
    assert [r.name for r in report.by_source] == ["Tesoro General de la Nación", "Donación Externa"]
    assert [figures(r) for r in report.by_program] == [
        ("CETIP", D("0.00"), D("0.00"), D("0.00"), None),
        ("PROLECHE", D("3000.00"), D("553.75"), D("2446.25"), D("18.5")),
        ("PROMYPE", D("500.00"), D("400.00"), D("100.00"), D("80.0")),
    ]
    total = report.total
    assert (total.in_force, total.executed, total.balance) == (D("3500.00"), D("953.75"), D("2546.25"))
    assert total.percent == D("27.3")  # 27.25 rounded half-up (half-even would give 27.2)
    assert all(isinstance(v, Decimal) for v in (total.in_force, total.executed, total.percent))
    # reserved/committed/paid money is not "executed"
    assert BudgetLine.objects.get(pk=world.lines["PROLECHE/10"].pk).committed == D("200.00")


def test_report_sums_equal_the_ledger(world):
    assert ledger_mismatches() == []
    report = budget_execution(world.year)
    assert sum(r.executed for r in report.by_program) == report.total.executed
    assert sum(r.in_force for r in report.by_program) == report.total.in_force


def test_other_years_do_not_leak_in(world):
    earlier = world.year - 1
    BudgetLineFactory(fiscal_year=earlier, amount_in_force=D("99.00"))
    assert budget_execution(world.year).total.in_force == D("3500.00")
    other = budget_execution(earlier)
    assert other.total.in_force == D("99.00") and other.total.executed == D("0.00")
    assert other.total.percent == D("0.0")


def test_year_without_budget_is_empty_not_an_error(db):
    report = budget_execution(2001)
    assert report.is_empty and report.by_program == ()
    assert (report.total.in_force, report.total.percent) == (D("0.00"), None)


def test_two_queries_whatever_the_number_of_lines(db, finance, django_assert_num_queries):
    current = make_world(current_fiscal_year(), finance)  # the year in progress: never kept
    with django_assert_num_queries(2):
        budget_execution(current.year)
    for i in range(6):
        BudgetLineFactory(fiscal_year=current.year, amount_in_force=D("10.00") + i)
    with django_assert_num_queries(2):
        report = budget_execution(current.year)
    assert len(report.by_program) == 9


def test_a_kept_closed_year_takes_one_query_whatever_the_number_of_lines(world, django_assert_num_queries):
    budget_execution(world.year)  # sums the ledger and keeps the sums
    with django_assert_num_queries(1):
        budget_execution(world.year)
    for i in range(6):
        BudgetLineFactory(fiscal_year=world.year, amount_in_force=D("10.00") + i)
    budget_execution(world.year)  # the new lines' sums are kept too
    with django_assert_num_queries(1):
        report = budget_execution(world.year)
    assert len(report.by_program) == 9 and report.ledger_reconciles


@pytest.mark.parametrize(
    ("executed", "in_force", "expected"),
    [
        ("0.50", "1000.00", "0.1"),  # 0.05 → 0.1 (half-up, not half-even)
        ("2.50", "1000.00", "0.3"),  # 0.25 → 0.3
        ("9995.00", "10000.00", "100.0"),  # 99.95 → 100.0
        ("9994.99", "10000.00", "99.9"),  # 99.9499 → 99.9
        ("1.00", "3.00", "33.3"),
        ("2.00", "3.00", "66.7"),
        ("0.00", "5.00", "0.0"),
        ("32077374.70", "60949269.00", "52.6"),
        ("0.00", "0.00", None),
    ],
)
def test_percent_rounding(executed, in_force, expected):
    result = execution_percent(D(executed), D(in_force))
    assert result == (None if expected is None else D(expected))
    if result is not None:
        assert str(result) == expected  # exactly one decimal


def test_clean_fiscal_year_messages_in_spanish():
    from django.core.exceptions import ValidationError
    from django.utils import translation

    with translation.override("es"):
        for bad, message in [
            ("", "Indique la gestión, por ejemplo 2020."),
            (None, "Indique la gestión, por ejemplo 2020."),
            ("20x0", "Introduzca una gestión entre 2000 y 2100."),
            ("1999", "Introduzca una gestión entre 2000 y 2100."),
            ("-2020", "Introduzca una gestión entre 2000 y 2100."),
            ("\uff12\uff10\uff12\uff10", "Introduzca una gestión entre 2000 y 2100."),  # full-width digits
        ]:
            with pytest.raises(ValidationError) as exc:
                clean_fiscal_year(bad)
            assert exc.value.message_dict == {"fiscal_year": [message]}, bad
    assert clean_fiscal_year(" 2020 ") == 2020


def test_access_rules(db):
    closed, current = current_fiscal_year() - 1, current_fiscal_year()
    assert can_view_execution(None, closed)
    for role in (Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL, Role.ADMIN):
        assert can_view_execution(user_with(role), current), role
        assert can_view_execution(user_with(role), current + 1), role
    for role in (Role.APPLICANT, Role.EVALUATOR, Role.LEGAL):
        user = user_with(role)
        assert can_view_execution(user, closed), role
        assert not can_view_execution(user, current), role


def test_years_offered(world, finance):
    BudgetLineFactory(fiscal_year=current_fiscal_year(), amount_in_force=D("1.00"))
    assert report_years_for(None) == [world.year]
    assert report_years_for(finance) == [current_fiscal_year(), world.year]


def test_same_numbers_on_the_current_year(db, finance):
    current = make_world(current_fiscal_year(), finance)
    report = budget_execution(current.year)
    assert report.closed is False
    assert report.total.executed == D("953.75")
