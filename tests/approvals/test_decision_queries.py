"""What one decision costs in SQL (issue 9, item 5): a budget certification, an admissibility
decision and a registration decision each read their case row once (``cases.memo``: the handler,
the flow's gateways and every new task share the instance the decision locked), and stay under 30
statements with notifications excluded (``decide_counting`` checks it for every decision it counts),
and under a measured ceiling with them. The notifications are the decision's outbox row (its
job, written in its transaction); resolving whom to notify happens off the decision's path, in the
job. So does drawing an official document's PDF: one outbox row per document. The test runs
inside its own transaction, so viewflow's lock transaction is a SAVEPOINT and RELEASE pair here,
which a request does not send: they are counted all the same.

The ceilings are the statements measured on 2026-12-07 (SQLite; PostgreSQL gives the same).
``pytest -s`` prints each count, ``EXPEDIENTE_DUMP_QUERIES=<folder>`` writes the statements out,
and docs/BENCHMARKS.md ("one decision") says where they go."""

import os
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals import services as approvals
from tests.iniciativas.test_side_exits import to_approval
from workflows.models import CaseTask

from ..iniciativas.conftest import submitted

pytestmark = pytest.mark.django_db

CEILING = {
    # Issue 12 lowered these to what they measure: a switch gateway's task is written once (INSERT,
    # DONE) instead of INSERT then UPDATE; viewflow's Join no longer reads the process again, asks
    # once per activation whether its paths are done (four reads, not twelve) and takes no
    # savepoint; a split gateway too is written once. Before: 23, 28, 20, 34.
    "admissibility": 21,
    # Issue 13: as the policy's last step it issues two official documents (certification and
    # resolution), each a counter upsert, an INSERT and (since their PDFs are drawn after the
    # commit) the outbox row of its drawing.
    "budget_certification": 29,
    "registration_review": 30,
    # Not among issue 9's three: the first evaluation waits at the Join; the second passes it (viewflow's
    # Join reads the process's tasks to find its arrivals), averages the scores and picks the policy.
    "technical_evaluation": 20,
    "last_technical_evaluation": 27,
}

# Issue 9's bound: fewer statements than this per decision, its notifications excluded.
UNDER = 30


def reads_of(table: str, queries) -> int:
    """How many statements read ``table`` as their main table."""
    return sum(
        1
        for q in queries
        if q["sql"].startswith("SELECT") and f' FROM "{table}"' in q["sql"].split(" WHERE ")[0]
    )


def _chain_lock_apart(sql: str) -> bool:
    return sql.startswith("SELECT pg_advisory_xact_lock(") and ";" not in sql


def decide_counting(code, step, user, **data):
    task = CaseTask.objects.get(case_code=code, step=step, is_open=True)
    with CaptureQueriesContext(connection) as ctx:
        approvals.complete_task(task.pk, actor=user, decision="approve", data=data)
    # With the driver binding on the server (PostgreSQL's prepared statements) the audit chain's
    # lock is a statement of its own, sent with its write: not counted, so the ceilings hold for both.
    queries = [q for q in ctx.captured_queries if not _chain_lock_apart(q["sql"])]
    # What docs/BENCHMARKS.md reports ("one decision"): ``pytest -s`` prints it.
    print(f"\n{step} on {connection.vendor}: {len(queries)} statements")
    if dump := os.environ.get("EXPEDIENTE_DUMP_QUERIES"):  # a folder: one file of statements per step
        with open(Path(dump) / f"{step}-{connection.vendor}.sql", "w") as f:
            f.writelines(f"{n:3d} {q['sql']}\n" for n, q in enumerate(queries, 1))
    owed = [q["sql"] for q in queries if '"cases_outboxmessage"' in q["sql"]]
    drawings = sum(1 for sql in owed if "workflows.render_official" in sql)  # one per official document
    assert len(owed) - drawings <= 1  # the notifications: one row
    assert len(queries) - len(owed) < UNDER
    return queries


def test_an_admissibility_decision_reads_its_case_once(world):
    i = submitted(world)
    queries = decide_counting(i.code, "admissibility", world.staff["evaluador1"])
    assert reads_of("iniciativas_initiative", queries) == 1
    assert reads_of("approvals_nonworkingday", queries) <= 1  # two new evaluation tasks, one read
    assert len(queries) <= CEILING["admissibility"]


def test_a_budget_certification_reads_its_case_once(world):
    s = world.staff
    i = to_approval(world)
    approvals.complete_task(
        CaseTask.objects.get(case_code=i.code, step="legal_report", is_open=True).pk,
        actor=s["legal1"],
        decision="approve",
        data={"opinion": "Procedente"},
    )
    queries = decide_counting(i.code, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    assert reads_of("iniciativas_initiative", queries) == 1
    assert len(queries) <= CEILING["budget_certification"]


def test_technical_evaluations_stay_under_the_bound(world):
    """The two evaluations of one case: the first waits at the flow's Join, the second passes it,
    averages the scores and moves the case to its approval chain (issue 12's bound: at most 45)."""
    from tests.iniciativas.test_side_exits import GOOD_SCORES, decide

    s = world.staff
    i = submitted(world)
    decide(i, "admissibility", s["evaluador1"])
    first, second = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    for task, user, ceiling in (
        (first, s["evaluador2"], CEILING["technical_evaluation"]),
        (second, s["evaluador3"], CEILING["last_technical_evaluation"]),
    ):
        with CaptureQueriesContext(connection) as ctx:
            approvals.complete_task(task.pk, actor=user, decision="approve", data=GOOD_SCORES)
        queries = [q for q in ctx.captured_queries if not _chain_lock_apart(q["sql"])]
        print(f"\ntechnical_evaluation ({user.username}) on {connection.vendor}: {len(queries)} statements")
        if dump := os.environ.get("EXPEDIENTE_DUMP_QUERIES"):
            with open(Path(dump) / f"technical_evaluation-{user.username}-{connection.vendor}.sql", "w") as f:
                f.writelines(f"{n:3d} {q['sql']}\n" for n, q in enumerate(queries, 1))
        assert reads_of("iniciativas_initiative", queries) == 1
        assert len(queries) <= ceiling
