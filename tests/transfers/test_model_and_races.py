"""The transfer FSM is exactly its TRANSITIONS table and cannot be assigned around; concurrent
decisions on one transfer never double anything (PostgreSQL, real threads)."""

from decimal import Decimal

import pytest
from django.db import connection
from django_fsm import TransitionNotAllowed

from approvals import services as approvals
from audit.models import AuditEntry
from budget.models import BudgetMovement
from cases.errors import Conflict
from transfers import services
from transfers.models import TRANSITIONS, Transfer, TransferState
from workflows.models import CaseTask

from ..iniciativas.test_races import run_together

S = TransferState


def _new(world, **kw):
    from budget.models import Program

    values = {
        "actor": world.applicant,
        "beneficiary": world.unit,
        "modality": "money",
        "kind": "public_private",
        "program": Program.objects.get(code="PROLECHE"),
        "amount": "1000.00",
    }
    return services.create_transfer(**{**values, **kw})


def _decide(world, code, step, name, decision="approve", comment="", data=None):
    task = CaseTask.objects.get(case_code=code, step=step, is_open=True)
    return lambda: approvals.complete_task(
        task.pk, actor=world.staff[name], decision=decision, comment=comment, data=data or {}
    )


@pytest.mark.django_db
def test_every_transition_is_the_table_and_nothing_else(world):
    # Every transition now has conditions (``GUARDS``), which a bare instance does not meet, so the
    # table is compared with the FSM's own declarations (source -> target) rather than by firing
    # each transition; ``test_guards.py`` fires them on real cases, conditions and actors included.
    legal = {(name, src): target for name, sources, target in TRANSITIONS for src in sources}
    for name in {n for n, _s, _t in TRANSITIONS}:
        meta = getattr(Transfer, name)._django_fsm
        for state in S.values:
            if (name, state) in legal:
                assert meta.has_transition(state), (name, state)
                assert meta.get_transition(state).target == legal[(name, state)], (name, state)
            else:
                assert not meta.has_transition(state), (name, state)
                with pytest.raises(TransitionNotAllowed):
                    getattr(Transfer(state=state), name)()
    transfer = _new(world)
    with pytest.raises(AttributeError):
        transfer.state = S.CLOSED  # protected: only transitions move it
    assert Transfer.objects.get(pk=transfer.pk).state == S.REQUESTED


@pytest.fixture
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("thread races need PostgreSQL; SQLite serialises writers")


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_both_reports_at_once_join_exactly_once(world, _postgres_only):
    code = _new(world).code
    results = run_together(
        _decide(world, code, "technical_report", "evaluador1", data={"report": "Favorable"}),
        _decide(world, code, "legal_report", "legal1", data={"report": "Procedente"}),
    )
    wins = [r for r in results if isinstance(r, Transfer)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) + len(conflicts) == 2 and wins, results
    for loser in conflicts:  # the flow lock was busy: retrying succeeds, nothing was half-done
        assert "intente" in str(loser) or "try again" in str(loser)
    people = {"technical_report": "evaluador1", "legal_report": "legal1"}
    for task in CaseTask.objects.filter(case_code=code, step__in=people, is_open=True):
        _decide(world, code, task.step, people[task.step], data={"report": "Favorable"})()
    transfer = Transfer.objects.get(code=code)
    assert transfer.state == S.IN_APPROVAL
    assert CaseTask.objects.filter(case_code=code, step="budget_certification").count() == 1
    assert AuditEntry.objects.filter(case=code, action="transfer.verified").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_two_confirmations_of_one_payment_pay_once(world, _postgres_only):
    code = _new(world, actor=world.staff["evaluador1"]).code
    _decide(world, code, "technical_report", "evaluador2", data={"report": "Favorable"})()
    _decide(world, code, "legal_report", "legal1", data={"report": "Procedente"})()
    line = world.line.pk
    _decide(world, code, "budget_certification", "finanzas1", data={"budget_line": line})()
    _decide(world, code, "director_resolution", "director1", data={"resolution_number": "RA-1"})()
    _decide(world, code, "agreement", "legal2", data={"agreement_number": "C-1", "signed_on": "2020-01-01"})()
    _decide(world, code, "payment_order", "finanzas1", data={"amount": "1000.00"})()
    confirm = {"payment_reference": "SIGEP-RACE", "paid_on": "2020-01-02"}
    results = run_together(
        _decide(world, code, "payment_confirmation", "finanzas2", data=confirm),
        _decide(world, code, "payment_confirmation", "finanzas3", data=confirm),
    )
    assert sum(isinstance(r, Transfer) for r in results) == 1, results
    assert sum(isinstance(r, Conflict) for r in results) == 1, results
    transfer = Transfer.objects.get(code=code)
    assert transfer.paid_amount == Decimal("1000.00") and transfer.state == S.IN_FOLLOWUP
    assert BudgetMovement.objects.filter(case_code=code, kind="pay").count() == 1
