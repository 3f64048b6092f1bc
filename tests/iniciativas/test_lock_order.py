"""Lock order (docs/ARCHITECTURE.md): certifications and cancellations on one budget line at once.

A certification locks the line, then writes to the audit chain; a cancellation used to write its
entry (taking the chain's lock, held to COMMIT) and then lock the line to release the reservation:
the two waited for each other and PostgreSQL killed one with ``DeadlockDetected`` (a 500). Every
transaction now takes the case, then budget lines, then the audit chain."""

import pytest
from django.db import connection

from budget.models import BudgetLine
from budget.selectors import line_reconciles
from iniciativas import services as ini
from iniciativas.models import Initiative

from .test_races import run_together
from .test_side_exits import approved, decide, to_approval

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

PAIRS = 3


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks and deadlocks need PostgreSQL")


def test_certifications_and_cancellations_on_one_line_never_deadlock(world):
    s = world.staff
    to_cancel = [approved(world) for _ in range(PAIRS)]
    to_certify = []
    for _ in range(PAIRS):
        i = to_approval(world)
        decide(i, "legal_report", s["legal1"], opinion="Procedente")
        to_certify.append(i)
    before = BudgetLine.objects.get(pk=world.line.pk)
    assert before.reserved == 100000 * PAIRS

    calls = []
    for c, k in zip(to_certify, to_cancel, strict=True):
        calls.append(lambda c=c: decide(c, "budget_certification", s["finanzas1"], budget_line=world.line.pk))
        calls.append(lambda k=k: ini.cancel_initiative(k, actor=s["director1"], reason="Desvío comprobado"))
    results = run_together(*calls)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert {Initiative.objects.get(pk=i.pk).state for i in to_certify} == {"approved"}
    assert {Initiative.objects.get(pk=i.pk).state for i in to_cancel} == {"cancelled"}
    line = BudgetLine.objects.get(pk=world.line.pk)
    assert line.reserved == 100000 * PAIRS  # the cancelled ones gave back what the certified took
    assert line_reconciles(line)
