"""Routing of a transfer (PRODUCT.md §2.2): who must act next, in which inbox, by when.

The FSM on ``transfers.Transfer`` is the law; this flow only routes. Every human step is decided
through ``approvals.services.complete_task``, whose step handlers (``transfers.steps``) move the
FSM; the gateways below read the resulting (typed) case state. Node names, and this module's path
(``transfers/migrations/0004_flow_moves_to_the_app.py`` moved it here), are stored in task rows: rename
one only with a data migration.

requested → technical report ∥ legal report (a negative one ends the other at once) → the rest of
the policy's chain in order (budget certification, the top authority's resolution; a step may observe:
the beneficiary answers within the deadline and the same step is taken again, or the system expires
the observation and the case ends annulled) → agreement →
in kind: delivery record ⇄ the beneficiary's acceptance; in money: payment order → confirmation →
follow-up visits (again until the use is verified) → closed, or reversion → reverted.
"""

from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow

from approvals.models import Step
from cases.roles import Role
from workflows.locks import process_lock
from workflows.models import CaseProcess, CaseTask
from workflows.nodes import CaseFlowMixin, ChainStepMixin, End, HumanStep, Join, Switch, ask, state_is

from .models import TransferState

S = TransferState

# The reports that run in parallel first; the rest of the policy's steps form the approval chain.
VERIFICATION = (Step.TECHNICAL_REPORT, Step.LEGAL_REPORT)
# Business days of each report when the case's policy does not list it.
DEFAULT_VERIFICATION_DAYS = {Step.TECHNICAL_REPORT: 10, Step.LEGAL_REPORT: 5}
# Business days the beneficiary has to answer an observation of the chain, unless the step says.
OBSERVATION_DAYS = 10


def chain_steps(case) -> list:
    """The policy's steps after verification (technical and legal reports run in parallel first)."""
    from approvals.services import policy_steps

    if case.policy is None:  # ``create_transfer`` always sets one
        raise ValueError(f"transfer {case.code} has no approval policy")
    return [s for s in policy_steps(case.policy) if s.step not in VERIFICATION]


class TransferFlow(CaseFlowMixin, ChainStepMixin, flow.Flow):
    process_class = CaseProcess
    task_class = CaseTask
    lock_impl = process_lock
    case_type = "transfer"
    case_related = ("beneficiary", "program", "policy")
    process_title = _("Transfer")

    start = flow.StartHandle(this.start_case).Next(this.verification)

    # Technical and legal reports in parallel; a negative one rejects the case and the Join
    # cancels the other report's task (nobody works on a rejected case).
    verification = flow.Split().Next(this.technical_report).Next(this.legal_report)
    technical_report = HumanStep(
        step=Step.TECHNICAL_REPORT,
        role=Role.EVALUATOR,
        scope="department",
        deadline_days=this.technical_days,
        escalation_role=Role.DIRECTOR,
    ).Next(this.verified)
    legal_report = HumanStep(
        step=Step.LEGAL_REPORT,
        role=Role.LEGAL,
        deadline_days=this.legal_days,
        escalation_role=Role.DIRECTOR,
    ).Next(this.verified)
    verified = Join(continue_on_condition=this.verification_failed).Next(this.after_verification)
    after_verification = Switch().Case(this.approval, state_is(S.IN_APPROVAL)).Default(this.end)

    # The rest of the policy's chain, one task per step, in order. A step may observe: the
    # beneficiary unit answers (the case stays in approval) and the same step is taken again.
    approval = HumanStep(
        step=this.chain_step_code,
        role=this.chain_step_role,
        scope=this.chain_step_scope,
        deadline_days=this.chain_step_days,
        escalation_role=this.chain_step_escalation,
    ).Next(this.after_approval)
    after_approval = (
        Switch()
        .Case(this.agreement, state_is(S.APPROVED))
        .Case(this.answer_observation, ask("awaits_answer"))
        .Case(this.approval, state_is(S.IN_APPROVAL))
        .Default(this.end)
    )
    answer_observation = HumanStep(
        step=Step.ANSWER_OBSERVATION,
        role=Role.APPLICANT,
        deadline_days=this.observation_days,
    ).Next(this.after_answer)
    # Answered: back to the chain step that observed. Expired: ``annulled``, nothing left to route.
    after_answer = Switch().Case(this.approval, state_is(S.IN_APPROVAL)).Default(this.end)

    agreement = HumanStep(
        step=Step.AGREEMENT, role=Role.LEGAL, deadline_days=10, escalation_role=Role.DIRECTOR
    ).Next(this.after_agreement)
    after_agreement = (
        Switch()
        .Case(this.delivery_record, ask("is_in_kind"))
        .Case(this.payment_order, state_is(S.IN_DELIVERY))
        .Default(this.end)
    )

    # In kind: the delivery record lists each unit by serial; the beneficiary accepts it or not.
    delivery_record = HumanStep(
        step=Step.DELIVERY_RECORD,
        role=Role.EVALUATOR,
        scope="department",
        deadline_days=15,
        escalation_role=Role.DIRECTOR,
    ).Next(this.delivery_acceptance)
    delivery_acceptance = HumanStep(
        step=Step.DELIVERY_ACCEPTANCE, role=Role.APPLICANT, deadline_days=10
    ).Next(this.after_acceptance)
    after_acceptance = (
        Switch()
        .Case(this.followup_visit, state_is(S.IN_FOLLOWUP))
        .Case(this.delivery_record, state_is(S.IN_DELIVERY))
        .Default(this.end)
    )

    # In money: payment order, then its confirmation by someone else (one payment per transfer).
    payment_order = HumanStep(
        step=Step.PAYMENT_ORDER, role=Role.FINANCE, deadline_days=3, escalation_role=Role.DIRECTOR
    ).Next(this.payment_confirmation)
    payment_confirmation = HumanStep(
        step=Step.PAYMENT_CONFIRMATION, role=Role.FINANCE, deadline_days=3, escalation_role=Role.DIRECTOR
    ).Next(this.after_payment)
    after_payment = Switch().Case(this.followup_visit, state_is(S.IN_FOLLOWUP)).Default(this.end)

    # Follow-up: visits until the use is verified (closed), or misuse found (reversion).
    followup_visit = HumanStep(
        step=Step.FOLLOWUP_VISIT,
        role=Role.EVALUATOR,
        scope="department",
        deadline_days=30,
        escalation_role=Role.DIRECTOR,
    ).Next(this.after_followup)
    after_followup = (
        Switch()
        .Case(this.reversion, ask("reversion_pending"))
        .Case(this.followup_visit, state_is(S.IN_FOLLOWUP))
        .Default(this.end)
    )
    reversion = HumanStep(
        step=Step.RECOVERY, role=Role.FINANCE, deadline_days=30, escalation_role=Role.DIRECTOR
    ).Next(this.end)

    end = End()

    # --- helpers the nodes read (no writes here: the step handlers do them) ---------------------
    def _verification_days(self, activation, step) -> int:
        from approvals.services import policy_steps

        case = self.case(activation)
        for s in policy_steps(case.policy) if case.policy_id else []:
            if s.step == step:
                return s.deadline_days
        return DEFAULT_VERIFICATION_DAYS[step]

    def technical_days(self, activation) -> int:
        return self._verification_days(activation, Step.TECHNICAL_REPORT)

    def legal_days(self, activation) -> int:
        return self._verification_days(activation, Step.LEGAL_REPORT)

    def verification_failed(self, activation, active_tasks) -> bool:
        return self.case(activation).state == S.REJECTED

    def _chain_step(self, activation):
        case = self.case(activation)
        return chain_steps(case)[case.approval_step]

    def awaits_answer(self, activation) -> bool:
        case = self.case(activation)
        return case.state == S.IN_APPROVAL and bool(case.observation)

    def observation_days(self, activation) -> int:
        return self.case(activation).observation_days or OBSERVATION_DAYS

    def is_in_kind(self, activation) -> bool:
        case = self.case(activation)
        return case.state == S.IN_DELIVERY and case.is_in_kind

    def reversion_pending(self, activation) -> bool:
        case = self.case(activation)
        return case.state == S.IN_FOLLOWUP and bool(case.reversion_reason)
