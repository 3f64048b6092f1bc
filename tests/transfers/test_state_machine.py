"""Property test: no sequence of actions on a transfer, by any role, with good or bad input, reaches
an illegal state, skips a transition's audit entry, leaves a finished case with open tasks or money
held, pays more than the amount, or breaks the budget invariant (each figure = its movements). The
approval chain's observations and their expiry by the system (``lapse`` → ``annulled``) are among the
actions."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from approvals import services as approvals
from approvals.deadlines import expire_observations
from approvals.steps import spec_for
from audit.models import AuditEntry
from budget.models import BudgetLine, Program
from budget.selectors import case_figures, line_reconciles
from cases.errors import Conflict
from cases.roles import has_role
from transfers import services
from transfers.models import FINAL_STATES, TRANSITIONS, Transfer, TransferState
from workflows.models import CaseTask

pytestmark = pytest.mark.django_db

LEGAL_EDGES = {(src, target) for _name, sources, target in TRANSITIONS for src in sources}
EXPECTED = (ValidationError, PermissionDenied, Conflict)
GOOD = {
    "report": "Favorable",
    "resolution_number": "RA-1",
    "agreement_number": "C-1",
    "record_number": "ACTA-1",
    "received": True,
    "payment_reference": "REF",
    "findings": "En uso",
    "reference": "DEV-1",
    "answer": "Adjuntamos lo observado.",
}
BAD = [None, "", -1, "abc", 1.5, True, {"x": 1}, [{"unit": 0}]]
REACHED: set[str] = set()
TAKEN: set[tuple[str, str]] = set()
LATER = dt.timedelta(days=400)  # "every deadline has passed"


def _filled(value):
    """A field's default as a client would send it; serial slots get a serial typed in."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [{**v, "serial": v.get("serial") or f"SN{v['unit']}"} if "serial" in v else v for v in value]
    return value


def make_machine(world, modality):
    people = [world.applicant, world.other_applicant, *world.staff.values()]
    program = Program.objects.get(code="PROLECHE")

    class TransferMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self._atomic = transaction.atomic()
            self._atomic.__enter__()
            assets = [{"description": "Tanque", "quantity": 2, "unit_value": "300.00"}]
            self.transfer = services.create_transfer(
                actor=world.applicant,
                beneficiary=world.unit,
                modality=modality,
                kind="public_private",
                program=program,
                amount="600.00" if modality == "money" else None,
                assets=assets if modality == "in_kind" else None,
            )

        def teardown(self):
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

        def _try(self, fn):
            try:
                with transaction.atomic():
                    fn()
            except EXPECTED:
                pass

        @rule(
            who=st.sampled_from(range(len(people))),
            reason=st.sampled_from(["", "Desistimiento"]),
            really=st.sampled_from([False] * 5 + [True]),
        )
        def annul(self, who, reason, really):
            if really:  # rarer, so runs also get deep into the journey; mostly by a director
                directors = [p for p in people if has_role(p, "director")]
                actor = directors[who % len(directors)] if who % 3 else people[who]
                self._try(lambda: services.annul_transfer(self.transfer, actor=actor, reason=reason))

        @rule(
            who=st.sampled_from(range(len(people))),
            decision=st.sampled_from(["approve"] * 10 + ["observe", "reject", "reject"]),
            comment=st.sampled_from(["", "Motivo"]),
            good=st.sampled_from([True, True, True, False]),
            bad=st.sampled_from(BAD),
            pick=st.integers(min_value=0, max_value=3),
            right_role=st.sampled_from([True, True, True, False]),
        )
        def decide(self, who, decision, comment, good, bad, pick, right_role):
            tasks = list(CaseTask.objects.filter(case_code=self.transfer.code, is_open=True).order_by("pk"))
            if not tasks:
                return
            task = tasks[pick % len(tasks)]
            case = Transfer.objects.get(pk=self.transfer.pk)
            actor = people[who]
            if right_role:
                fitting = (
                    [world.applicant]
                    if task.role == "applicant"
                    else [p for p in people if has_role(p, task.role)]
                )
                actor = fitting[who % len(fitting)]
            fields = spec_for(task.case_type, task.step).fields(task, case)
            data = {}
            for f in fields:
                if f.default is not None:
                    data[f.name] = _filled(f.default)
                elif f.name in GOOD:
                    data[f.name] = GOOD[f.name] if f.name != "payment_reference" else f"REF-{task.pk}"
            if not good and fields:
                data[fields[pick % len(fields)].name] = bad
            self._try(
                lambda: approvals.complete_task(
                    task.pk, actor=actor, decision=decision, comment=comment, data=data
                )
            )

        @rule(who=st.sampled_from(range(len(people))), pick=st.integers(min_value=0, max_value=3))
        def work_the_inbox(self, who, pick):
            self.decide(who, "approve", "Motivo", True, None, pick, True)

        @rule(pick=st.integers(min_value=0, max_value=3))
        def observe_in_the_chain(self, pick):
            """The chain's current step observes (so that runs also reach the answer and its expiry)."""
            task = CaseTask.objects.filter(
                case_code=self.transfer.code,
                is_open=True,
                step__in=["budget_certification", "director_resolution"],
            ).first()
            if task is not None:
                people_of_role = [p for p in people if has_role(p, task.role)]
                actor = people_of_role[pick % len(people_of_role)]
                self._try(
                    lambda: approvals.complete_task(
                        task.pk, actor=actor, decision="observe", comment="Aclare el destino"
                    )
                )

        @rule()
        def deadlines_pass(self):
            """The system's periodic job, as if every deadline had passed: an unanswered observation
            expires and the transfer ends annulled."""
            self._try(lambda: expire_observations(actor=world.system, now=timezone.now() + LATER))

        @invariant()
        def state_is_legal_and_audited(self):
            transfer = Transfer.objects.get(pk=self.transfer.pk)
            event(f"reached {transfer.state}")
            REACHED.add(transfer.state)
            current = TransferState.REQUESTED
            moves = AuditEntry.objects.filter(case=transfer.code, action__startswith="transfer.").exclude(
                action="transfer.requested"
            )
            for data in moves.order_by("seq").values_list("data", flat=True):
                assert data["from"] == current, (data, current)
                assert (data["from"], data["to"]) in LEGAL_EDGES, data
                TAKEN.add((data["from"], data["to"]))
                if data.get("lapsed"):
                    TAKEN.add(("lapse", data["to"]))
                current = data["to"]
            assert current == transfer.state
            assert Decimal(0) <= transfer.paid_amount <= transfer.executed_amount <= transfer.amount
            assert transfer.recovered_amount <= transfer.paid_amount

        @invariant()
        def finished_cases_have_no_open_tasks(self):
            transfer = Transfer.objects.get(pk=self.transfer.pk)
            if transfer.state in FINAL_STATES:
                assert not CaseTask.objects.filter(case_code=transfer.code, is_open=True).exists()
            if transfer.state in (TransferState.REJECTED, TransferState.ANNULLED) and transfer.budget_line_id:
                held = case_figures(transfer.budget_line, transfer.code)
                assert held["reserved"] == held["committed"] == 0, (transfer.state, held)
            if transfer.observation:  # an observation is only ever pending in the approval chain
                assert transfer.state in (TransferState.IN_APPROVAL, *FINAL_STATES), transfer.state

        @invariant()
        def budget_holds(self):
            for line in BudgetLine.objects.all():
                assert line.paid <= line.executed
                assert line.reserved + line.committed + line.executed <= line.amount_in_force
                assert line_reconciles(line)

    return TransferMachine


@pytest.mark.slow
@pytest.mark.parametrize("modality", ["in_kind", "money"])
def test_no_sequence_of_actions_breaks_the_rules(world, modality):
    REACHED.clear()
    TAKEN.clear()
    run_state_machine_as_test(
        make_machine(world, modality),
        settings=settings(
            max_examples=15,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            database=None,
            derandomize=True,
        ),
    )
    # The exploration must get deep into the journey, or this test would prove little.
    assert {"in_verification", "in_approval", "in_delivery", "closed"} <= REACHED, REACHED
    assert REACHED & {"rejected", "annulled", "reverted"}, REACHED  # and side exits
    assert ("lapse", "annulled") in TAKEN, TAKEN  # an observation of the chain expired
    print(modality, sorted(REACHED), sorted(TAKEN))
