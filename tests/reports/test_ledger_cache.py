"""The budget-execution report keeps a closed year's ledger sums (``reports.ledger``) and never serves
them once the ledger has changed: every write to a line's movements bumps the line's stamp in the same
transaction (database triggers, ``budget.db``), whoever makes it."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from budget import services as budget
from budget.models import BudgetLine, BudgetMovement, LedgerStamp
from reports.models import LedgerSnapshot
from reports.selectors import budget_execution, current_fiscal_year, is_closed
from tests.audit.test_restricted_role import app_role_name, django_connected_as  # noqa: F401 (fixture)

from .conftest import make_world

D = Decimal
pytestmark = pytest.mark.django_db


def ledger_reads(queries: CaptureQueriesContext) -> list[str]:
    """The statements that read the movements (the ledger aggregation)."""
    return [q["sql"] for q in queries.captured_queries if "budget_budgetmovement" in q["sql"]]


def report_of(year: int) -> tuple:
    """What a reader sees (everything but the generation time)."""
    r = budget_execution(year)
    rows = lambda rows: [(x.code, x.name, x.in_force, x.executed, x.percent) for x in rows]  # noqa: E731
    return (rows(r.by_source), rows(r.by_program), rows([r.total]), r.closed, r.ledger_reconciles)


def uncached(year: int) -> tuple:
    LedgerSnapshot.objects.all().delete()
    return report_of(year)


def kept(world) -> None:
    """Report the closed year once, so its sums are kept, and check they are."""
    budget_execution(world.year)
    stamps = dict(LedgerStamp.objects.filter(line__fiscal_year=world.year).values_list("line", "version"))
    snapshots = dict(
        LedgerSnapshot.objects.filter(line__fiscal_year=world.year).values_list("line", "version")
    )
    assert snapshots == stamps and len(stamps) == 4


def test_a_closed_year_is_summed_once_then_read_with_its_lines(world, django_assert_max_num_queries):
    with CaptureQueriesContext(connection) as cold:
        first = report_of(world.year)
    assert len(ledger_reads(cold)) == 1
    assert LedgerSnapshot.objects.filter(line__fiscal_year=world.year).count() == 4
    for _ in range(2):
        with django_assert_max_num_queries(1), CaptureQueriesContext(connection) as warm:
            again = report_of(world.year)
        assert ledger_reads(warm) == []  # no aggregation of the ledger: the kept sums came with the lines
        assert again == first
    assert first[3:] == (True, True)  # closed, reconciles
    assert first[2] == [("", "Total", D("3500.00"), D("953.75"), D("27.3"))]


def test_the_year_in_progress_is_summed_every_time(db, finance):
    current = make_world(current_fiscal_year(), finance)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            report = budget_execution(current.year)
        assert len(ledger_reads(queries)) == 1 and report.ledger_reconciles and not report.closed
    assert not LedgerSnapshot.objects.exists()


def _refund(world):
    class Ref:
        case_code = f"TRF-{world.year}-000007"

    budget.refund(world.lines["PROMYPE/80"], D("50.00"), actor=world.finance, case=Ref())
    return {"PROMYPE": (D("500.00"), D("350.00"))}


def _expenditure(world):
    budget.record_expenditure(
        world.lines["PROLECHE/80"],
        actor=world.finance,
        amount=D("46.25"),
        date=dt.date(world.year, 6, 30),
        description="Corrección: servicios de junio",
    )
    return {"PROLECHE": (D("3000.00"), D("600.00"))}


def _late_execution(world):
    budget.execute(world.lines["PROLECHE/10"], D("200.00"), actor=world.finance, case=world.case)
    return {"PROLECHE": (D("3000.00"), D("753.75"))}


def _amount_in_force(world):
    budget.modify_line(
        world.lines["CETIP/10"], actor=world.finance, amount_in_force=D("250.00"), reason="Reformulado"
    )
    return {"CETIP": (D("250.00"), D("0.00"))}


@pytest.mark.parametrize("move", [_refund, _expenditure, _late_execution, _amount_in_force])
def test_a_movement_into_a_closed_year_changes_the_next_report(world, move):
    """A refund recorded today, an expenditure dated in the closed year, a late execution, a budget
    modification: each is a movement on one of the closed year's lines, and the next report shows it,
    with a ledger that reconciles (were the old sums served, the line's new figures would not match
    them)."""
    assert is_closed(world.year)
    kept(world)
    before = report_of(world.year)
    expected = move(world)
    after = report_of(world.year)
    assert after != before
    programs = {code: (in_force, executed) for code, _n, in_force, executed, _p in after[1]}
    for code, figures in expected.items():
        assert programs[code] == figures
    assert after[4] is True  # reconciles
    assert after == uncached(world.year)
    # Only the moved line was summed again; its snapshot now carries its new stamp.
    stamps = dict(LedgerStamp.objects.filter(line__fiscal_year=world.year).values_list("line", "version"))
    assert dict(LedgerSnapshot.objects.values_list("line", "version")) == stamps


def test_the_movement_date_does_not_matter_its_line_does(world):
    """A refund recorded today (``at`` in the year in progress) belongs to the closed year of its line."""
    kept(world)
    _refund(world)
    movement = BudgetMovement.objects.latest("id")
    assert timezone.localdate(movement.at).year == current_fiscal_year() != world.year
    assert report_of(world.year)[2][0][3] == D("903.75")


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO budget_budgetmovement (line_id, kind, amount, case_code, actor_id, at, description) "
        "VALUES ({line}, 'expenditure', 10.00, '', {actor}, CURRENT_TIMESTAMP, 'sin servicios')",
        "UPDATE budget_budgetmovement SET amount = amount + 1 "
        "WHERE line_id = {line} AND kind = 'expenditure'",
        "DELETE FROM budget_budgetmovement WHERE line_id = {line} AND kind = 'expenditure'",
    ],
    ids=["insert", "update", "delete"],
)
def test_raw_sql_on_the_movements_of_a_closed_year_is_seen(world, statement):
    """Behind the services' back (raw SQL, a data migration): the triggers still bump the stamp, so the
    report sums the ledger again and says it no longer reconciles."""
    kept(world)
    line = world.lines["PROLECHE/80"]
    with connection.cursor() as cursor:
        cursor.execute(statement.format(line=line.pk, actor=world.finance.pk))
    with CaptureQueriesContext(connection) as queries:
        report = budget_execution(world.year)
    assert len(ledger_reads(queries)) == 1
    assert report.ledger_reconciles is False


def test_a_line_figure_changed_behind_the_services_is_seen_from_the_kept_sums(world):
    """The lines are always read live and compared with the kept sums: no need to read the ledger."""
    kept(world)
    BudgetLine.objects.filter(pk=world.lines["PROMYPE/80"].pk).update(executed=D("450.00"))
    with CaptureQueriesContext(connection) as queries:
        report = budget_execution(world.year)
    assert ledger_reads(queries) == []
    assert report.ledger_reconciles is False
    assert report.by_program[2].executed == D("450.00")


def test_a_snapshot_is_used_only_at_its_lines_stamp_version(world):
    """The version is the whole contract: a snapshot at the line's version is believed (here a forged
    one, to show it), one at any other version is ignored and rewritten."""
    kept(world)
    line = world.lines["PROMYPE/80"].pk
    LedgerSnapshot.objects.filter(line=line).update(executed=D("1.00"))
    assert budget_execution(world.year).ledger_reconciles is False
    LedgerSnapshot.objects.filter(line=line).update(version=0)
    assert budget_execution(world.year).ledger_reconciles is True
    snapshot = LedgerSnapshot.objects.get(line=line)
    assert snapshot.executed == D("400.00") and snapshot.version == LedgerStamp.objects.get(line=line).version


def test_a_new_line_in_a_closed_year_is_summed_and_kept(world, finance):
    kept(world)
    budget.create_budget_line(
        actor=finance,
        fiscal_year=world.year,
        program=world.lines["CETIP/10"].program,
        source=world.lines["PROLECHE/80"].source,
        amount_in_force=D("75.00"),
    )
    report = budget_execution(world.year)
    assert report.total.in_force == D("3575.00") and report.ledger_reconciles
    assert LedgerSnapshot.objects.filter(line__fiscal_year=world.year).count() == 5


def test_closed_means_before_the_current_year_in_la_paz(monkeypatch):
    """No explicit close exists: a fiscal year is closed (public, kept) from 1 January of the next
    year, midnight in La Paz (UTC-4)."""
    just_before = dt.datetime(2027, 1, 1, 3, 59, tzinfo=dt.UTC)  # 31/12/2026 23:59 in La Paz
    monkeypatch.setattr(timezone, "now", lambda: just_before)
    assert not is_closed(2026) and is_closed(2025)
    monkeypatch.setattr(timezone, "now", lambda: just_before + dt.timedelta(minutes=1))
    assert is_closed(2026) and not is_closed(2027)


def test_a_year_that_closes_is_kept_from_its_first_report(db, finance, monkeypatch):
    year = current_fiscal_year()
    make_world(year, finance)
    budget_execution(year)
    assert not LedgerSnapshot.objects.exists()
    monkeypatch.setattr("reports.selectors.today", lambda: dt.date(year + 1, 1, 1))
    report = budget_execution(year)
    assert report.closed and report.ledger_reconciles
    assert LedgerSnapshot.objects.filter(line__fiscal_year=year).count() == 4


def test_a_failed_snapshot_write_still_gives_the_right_report(world, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise DatabaseError("read-only")

    monkeypatch.setattr(LedgerSnapshot.objects, "bulk_create", refuse)
    assert report_of(world.year)[4] is True
    assert "ledger snapshots not written" in caplog.text
    assert not LedgerSnapshot.objects.exists()


WRITER = """
import sys
import django
django.setup()
from decimal import Decimal
from budget import services
from budget.models import BudgetLine
from registry.models import User
line = BudgetLine.objects.get(pk=int(sys.argv[1]))
services.refund(line, Decimal("50.00"), actor=User.objects.get(pk=int(sys.argv[2])), case=None)
print("ok")
"""


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_movement_written_by_another_process_changes_the_report_here(finance):
    """Two OS processes on one PostgreSQL database (a web worker and a Celery worker, say): the sums this
    process kept are dropped as soon as the other commits a movement into the closed year."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: the SQLite test database lives in this process's memory")
    world = make_world(current_fiscal_year() - 1, finance)
    kept(world)
    s = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL"}}
    env.update(
        DATABASE_URL=f"postgres://{s['USER']}:{s['PASSWORD'] or ''}@{s['HOST']}:{s['PORT']}/{s['NAME']}",
        DJANGO_SETTINGS_MODULE="expediente.settings",
    )
    done = subprocess.run(
        [sys.executable, "-c", WRITER, str(world.lines["PROMYPE/80"].pk), str(finance.pk)],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
    report = budget_execution(world.year)
    assert report.total.executed == D("903.75") and report.ledger_reconciles is True
    assert report.by_program[2].executed == D("350.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_restricted_application_role_keeps_and_drops_sums(finance, app_role_name):  # noqa: F811
    """Production connects as the role of docs/AUDIT.md (DML only, granted after every migrate): its
    movements bump the stamps (the triggers run with its rights), it writes the snapshots, and it cannot
    switch the stamp triggers off."""
    world = make_world(current_fiscal_year() - 1, finance)
    with django_connected_as(app_role_name) as app:
        kept(world)
        _refund(world)
        report = budget_execution(world.year)
        assert report.total.executed == D("903.75") and report.ledger_reconciles
        with pytest.raises(DatabaseError), app.cursor() as cursor:
            cursor.execute("ALTER TABLE budget_budgetmovement DISABLE TRIGGER budget_budgetmovement_stamp")
    stamps = dict(LedgerStamp.objects.filter(line__fiscal_year=world.year).values_list("line", "version"))
    assert dict(LedgerSnapshot.objects.values_list("line", "version")) == stamps
