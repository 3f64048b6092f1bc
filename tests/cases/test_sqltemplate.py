"""``cases.sqltemplate``: a query built by the ORM once per shape, then run with other values."""

import pytest

from cases import sqltemplate
from registry.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return [User.objects.create(username=name, first_name=first) for name, first in
            [("ana", "Ana"), ("beto", "Alberto"), ("carla", "Carla")]]  # fmt: skip


def by_id_and_name(**v):
    return User.objects.filter(pk=v["pk"], first_name=v["name"]).values_list("username")


def test_the_same_rows_as_the_orm_for_every_value(people, django_assert_num_queries):
    key = ("test", "by_id_and_name")
    sqltemplate._templates.pop(("default", key), None)
    for user in people:
        values = {"pk": user.pk, "name": user.first_name}
        with django_assert_num_queries(1):
            assert sqltemplate.run(key, by_id_and_name, values) == [(user.username,)]
    assert sqltemplate.run(key, by_id_and_name, {"pk": people[0].pk, "name": "Alberto"}) == []
    assert sqltemplate._templates[("default", key)] is not None  # built once, then reused


def test_a_value_the_orm_turns_into_a_pattern_is_built_every_time(people):
    key = ("test", "starts_with")
    sqltemplate._templates.pop(("default", key), None)

    def starting(**v):
        return User.objects.filter(username__startswith=v["prefix"]).order_by("pk").values_list("username")

    assert sqltemplate.run(key, starting, {"prefix": "be"}) == [("beto",)]
    assert sqltemplate._templates[("default", key)] is None  # 'be%' is not the value itself
    assert sqltemplate.run(key, starting, {"prefix": "ca"}) == [("carla",)]


# --- model instances --------------------------------------------------------------------------------


def line_with_program(pk):
    from budget.models import BudgetLine

    return BudgetLine.objects.select_related("program", "source").filter(pk=pk)


def test_instances_are_the_orms_with_their_related_rows_in_one_query(django_assert_num_queries):
    from decimal import Decimal

    from tests.factories import BudgetLineFactory

    lines = [BudgetLineFactory(amount_in_force=Decimal(f"{n}000.50")) for n in (1, 2, 3)]
    key = ("test", "line_with_program")
    sqltemplate._instance_templates.pop(("default", key), None)
    for line in lines:
        with django_assert_num_queries(1):  # the line, its program and its source: one statement
            got = sqltemplate.instance(key, line_with_program, {"pk": line.pk})
            assert (got.program.code, got.source.code) == (line.program.code, line.source.code)
        assert got.pk == line.pk and got.amount_in_force == line.amount_in_force  # converters applied
        assert isinstance(got.amount_in_force, Decimal) and got._state.db == "default"
        assert not got._state.adding
    assert sqltemplate._instance_templates[("default", key)] is not None  # compiled once, reused


def test_no_row_is_does_not_exist_as_with_get():
    from budget.models import BudgetLine

    with pytest.raises(BudgetLine.DoesNotExist):
        sqltemplate.instance(("test", "line_with_program"), line_with_program, {"pk": 987654321})


def test_a_locking_read_outside_a_transaction_is_refused_as_the_orm_refuses_it(transactional_db):
    from django.db.transaction import TransactionManagementError

    from budget.models import BudgetLine

    def locked(pk):
        return BudgetLine.objects.select_for_update().filter(pk=pk)

    from django.db import transaction

    key = ("test", "locked")
    sqltemplate._instance_templates.pop(("default", key), None)
    with transaction.atomic():
        assert sqltemplate.instances(key, locked, {"pk": 987654321}) == []  # compiled here
    assert sqltemplate._instance_templates[("default", key)] is not None
    with pytest.raises(TransactionManagementError):  # from the stored SQL, as the ORM would refuse it
        sqltemplate.instances(key, locked, {"pk": 987654321})


def test_dates_are_parameters_too():
    """A date is stood in for by one no real date has, and passed as the backend passes it (SQLite:
    ISO text): the same days as the ORM's for every range."""
    import datetime as dt

    from approvals.models import NonWorkingDay

    for day in (dt.date(2026, 3, 2), dt.date(2026, 3, 9), dt.date(2026, 4, 1)):
        NonWorkingDay.objects.create(date=day, name="Decreto")

    def between(start, end):
        return NonWorkingDay.objects.filter(date__range=(start, end)).order_by("date").values_list("name")

    key = ("test", "between")
    sqltemplate._templates.pop(("default", key), None)
    for start, end, expected in [
        (dt.date(2026, 3, 1), dt.date(2026, 3, 31), 2),
        (dt.date(2026, 3, 9), dt.date(2026, 4, 1), 2),
        (dt.date(2026, 4, 2), dt.date(2026, 12, 31), 0),
    ]:
        rows = sqltemplate.run(key, between, {"start": start, "end": end})
        assert len(rows) == expected == len(between(start, end))
    assert sqltemplate._templates[("default", key)] is not None


def test_a_small_integer_column_is_built_with_small_stand_ins():
    """PostgreSQL's ORM answers a value beyond a small column's range with no query at all: such a
    shape is built with stand-ins that fit it, and still reused."""
    from approvals.models import PolicyStep

    def at(order):
        return PolicyStep.objects.filter(order=order).values_list("pk")

    key = ("test", "policy_step_order")
    sqltemplate._templates.pop(("default", key), None)
    assert sqltemplate.run(key, at, {"order": 3}) == list(at(3))
    assert sqltemplate._templates[("default", key)] is not None
    *_built, places = sqltemplate._templates[("default", key)]
    assert list(places.values()) == ["order"]
