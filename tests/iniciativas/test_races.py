"""Two identical concurrent decisions on one task: exactly one wins, the other gets a clear
Conflict (409), nothing is half-done. Real threads, each on its own database connection."""

import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections, connection

from approvals import services as approvals
from audit.models import AuditEntry
from cases.errors import Conflict
from iniciativas.models import Initiative
from workflows.models import CaseTask

from .conftest import submitted

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("thread races need PostgreSQL; SQLite serialises writers (see test_sqlite_races)")


def run_together(*calls):
    """Start every call at the same instant; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:
            results[i] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.mark.parametrize("same_user", [True, False], ids=["same-user-twice", "two-evaluators"])
def test_two_concurrent_decisions_exactly_one_wins(world, same_user):
    i = submitted(world)
    task = CaseTask.objects.get(case_code=i.code, step="admissibility")
    first = world.staff["evaluador1"]
    second = first if same_user else world.staff["evaluador2"]
    results = run_together(
        lambda: approvals.complete_task(task.pk, actor=first, decision="approve"),
        lambda: approvals.complete_task(task.pk, actor=second, decision="approve"),
    )
    wins = [r for r in results if isinstance(r, Initiative)]
    # The loser gets the clear 409 (API.md), never a permission refusal: the race is about state.
    losses = [r for r in results if isinstance(r, Conflict) and not isinstance(r, PermissionDenied)]
    assert len(wins) == 1, results
    assert len(losses) == 1, results
    assert Initiative.objects.get(pk=i.pk).state == "in_evaluation"
    assert AuditEntry.objects.filter(case=i.code, action="task.completed").count() == 1
    assert AuditEntry.objects.filter(case=i.code, action="task.refused").count() == 0
    assert AuditEntry.objects.filter(case=i.code, action="initiative.admitted").count() == 1
    assert CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True).count() == 2


def test_two_concurrent_claims_one_owner(world):
    i = submitted(world)
    task = CaseTask.objects.get(case_code=i.code, step="admissibility")
    a, b = world.staff["evaluador1"], world.staff["evaluador2"]
    results = run_together(
        lambda: approvals.claim_task(task.pk, actor=a),
        lambda: approvals.claim_task(task.pk, actor=b),
    )
    assert sum(isinstance(r, CaseTask) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    task.refresh_from_db()
    assert task.owner_id in (a.pk, b.pk) and task.status == "ASSIGNED"
    assert AuditEntry.objects.filter(case=i.code, action="task.claimed").count() == 1


def test_parallel_evaluations_finishing_together_join_once(world):
    """The two sealed evaluations completed at the same moment: one Join, the case moves once."""
    i = submitted(world)
    approvals.complete_task(
        CaseTask.objects.get(case_code=i.code, step="admissibility").pk,
        actor=world.staff["evaluador1"],
        decision="approve",
    )
    t1, t2 = CaseTask.objects.filter(case_code=i.code, step="technical_evaluation", is_open=True)
    scores = {"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20}
    results = run_together(
        lambda: approvals.complete_task(
            t1.pk, actor=world.staff["evaluador2"], decision="approve", data=scores
        ),
        lambda: approvals.complete_task(
            t2.pk, actor=world.staff["evaluador3"], decision="approve", data=scores
        ),
    )
    assert all(isinstance(r, Initiative) for r in results), results
    assert Initiative.objects.get(pk=i.pk).state == "in_approval"
    assert CaseTask.objects.filter(case_code=i.code, step="legal_report", is_open=True).count() == 1
    assert AuditEntry.objects.filter(case=i.code, action="initiative.evaluation_passed").count() == 1
