"""Ledger stamps (``budget.LedgerStamp``): the database bumps a line's version with every write to its
movements, in the same transaction, whoever writes; nothing else writes it."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from budget import db
from budget import services as budget
from budget.models import BudgetMovement, LedgerStamp
from cases.roles import Role
from tests.factories import BudgetLineFactory, FundingSourceFactory, ProgramFactory, UserFactory

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def finance():
    return UserFactory(roles=[Role.FINANCE])


@pytest.fixture
def line():
    return BudgetLineFactory(amount_in_force=D("1000.00"))


def version(line) -> int:
    return LedgerStamp.objects.get(line=line).version


def execute(sql: str, params=None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def ddl_allowed() -> None:
    """PostgreSQL: check the deferred foreign keys of this test's transaction now; a table with pending
    trigger events can be neither altered nor truncated."""
    if connection.vendor == "postgresql":
        execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_a_new_line_starts_at_zero_and_every_move_bumps_it(finance):
    empty = BudgetLineFactory(amount_in_force=D("0.00"))
    assert version(empty) == 0  # no movement: version 0
    line = budget.create_budget_line(
        actor=finance,
        fiscal_year=2026,
        program=ProgramFactory(),
        source=FundingSourceFactory(),
        amount_in_force="1000.00",
    )
    assert version(line) == 1  # its allocation
    budget.reserve(line, D("300.00"), actor=finance)
    budget.commit(line, D("300.00"), actor=finance)
    budget.execute(line, D("100.00"), actor=finance)
    assert version(line) == 4 == BudgetMovement.objects.filter(line=line).count()
    assert version(empty) == 0  # another line's moves leave it alone


def test_a_refused_move_leaves_the_stamp_as_it_was(finance, line):
    before = version(line)
    with pytest.raises(budget.BudgetRefused):
        budget.reserve(line, line.amount_in_force + 1, actor=finance)
    assert version(line) == before


def test_writes_that_bypass_the_orm_bump_it_too(line, finance):
    other = BudgetLineFactory(amount_in_force=D("0.00"))
    start = version(line)
    execute(
        "INSERT INTO budget_budgetmovement (line_id, kind, amount, case_code, actor_id, at, description) "
        "VALUES (%s, 'allocate', 5.00, '', %s, CURRENT_TIMESTAMP, '')",
        [line.pk, finance.pk],
    )
    assert version(line) == start + 1
    execute("UPDATE budget_budgetmovement SET amount = 6.00 WHERE amount = 5.00")
    assert version(line) == start + 2
    execute("UPDATE budget_budgetmovement SET line_id = %s WHERE amount = 6.00", [other.pk])
    assert (version(line), version(other)) == (start + 3, 1)  # moved from one line to the other: both
    execute("DELETE FROM budget_budgetmovement WHERE amount = 6.00")
    assert version(other) == 2


def test_a_rolled_back_move_leaves_no_mark(line, finance):
    before = version(line)
    with pytest.raises(RuntimeError), transaction.atomic():
        budget.reserve(line, D("1.00"), actor=finance)
        assert version(line) == before + 1  # inside the transaction that wrote the movement
        raise RuntimeError
    assert version(line) == before


def test_the_application_never_writes_a_stamp(line):
    stamp = LedgerStamp.objects.get(line=line)
    stamp.version = 0
    with pytest.raises(TypeError, match="written by the database"):
        stamp.save()


def test_every_trigger_is_installed_after_migrate():
    assert db.missing_triggers(connection) == []


def test_missing_triggers_are_put_back_and_every_stamp_bumped(line, finance):
    """SQLite drops a table's triggers when a migration rebuilds it; ``ensure_triggers`` (after every
    migrate) puts them back and bumps every stamp: movements written meanwhile left no mark."""
    before = version(line)
    ddl_allowed()
    name = next(iter(db.triggers(connection.vendor)))
    table = db.triggers(connection.vendor)[name][0]
    execute(f"DROP TRIGGER {name}" + (f" ON {table}" if connection.vendor == "postgresql" else ""))
    assert db.missing_triggers(connection) == [name]
    assert db.ensure_triggers(connection) == [name]
    assert db.missing_triggers(connection) == []
    assert version(line) == before + 1
    budget.reserve(line, D("1.00"), actor=finance)
    assert version(line) == before + 2
    assert db.ensure_triggers(connection) == []  # nothing missing: nothing bumped
    assert version(line) == before + 2


@pytest.mark.postgres
def test_replica_mode_does_not_silence_them_on_postgresql(line, finance):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    before = version(line)
    with transaction.atomic():
        execute("SET LOCAL session_replication_role = replica")
        budget.reserve(line, D("1.00"), actor=finance)
    assert version(line) == before + 1


@pytest.mark.postgres
def test_truncating_the_movements_bumps_every_stamp_on_postgresql(line, finance):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    other = BudgetLineFactory(amount_in_force=D("0.00"))
    before = version(line)
    ddl_allowed()
    execute("TRUNCATE budget_budgetmovement")
    assert (version(line), version(other)) == (before + 1, 1)


@pytest.mark.postgres
def test_a_disabled_trigger_counts_as_missing_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    with pytest.raises(DatabaseError), transaction.atomic():  # (rolled back: the test database keeps it)
        ddl_allowed()
        execute("ALTER TABLE budget_budgetmovement DISABLE TRIGGER budget_budgetmovement_stamp")
        assert db.missing_triggers(connection) == ["budget_budgetmovement_stamp"]
        raise DatabaseError("undo")
    assert db.missing_triggers(connection) == []
