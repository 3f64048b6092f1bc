"""Routing of a productive initiative (PRODUCT.md §2.1): who must act next, in which inbox, by when.

The FSM on ``Initiative`` is the law (which changes are legal); this flow only routes work. Every
human step is decided through ``approvals.services.complete_task``, whose step handlers
(``iniciativas.steps``) move the FSM; the gateways below read the resulting case state.
Node names, and this module's path, are stored in process and task rows: change them only with a
data migration (``iniciativas/migrations/0003_flow_moves_to_the_app.py`` moved it here).
"""

from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow

from approvals.models import Step
from cases.roles import Role
from workflows.locks import process_lock
from workflows.models import CaseProcess, CaseTask
from workflows.nodes import (
    CaseFlowMixin,
    ChainStepMixin,
    DynamicSplit,
    End,
    HumanStep,
    Join,
    Switch,
    ask,
    state_is,
)

from .models import InitiativeState

S = InitiativeState


class InitiativeFlow(CaseFlowMixin, ChainStepMixin, flow.Flow):
    process_class = CaseProcess
    task_class = CaseTask
    lock_impl = process_lock
    case_type = "initiative"
    case_related = ("call", "unit", "policy")
    process_title = _("Productive initiative")

    start = flow.StartHandle(this.start_case).Next(this.admissibility)

    # Admissibility: admit, observe (applicant answers within the deadline) or reject.
    admissibility = HumanStep(
        step=Step.ADMISSIBILITY,
        role=Role.EVALUATOR,
        scope="department",
        deadline_days=5,
        escalation_role=Role.DIRECTOR,
    ).Next(this.after_admissibility)
    after_admissibility = (
        Switch()
        .Case(this.evaluations, state_is(S.IN_EVALUATION))
        .Case(this.answer_observation, state_is(S.OBSERVED))
        .Default(this.end)
    )
    answer_observation = HumanStep(
        step=Step.ANSWER_OBSERVATION,
        role=Role.APPLICANT,
        deadline_days=this.observation_days,
    ).Next(this.after_answer)
    after_answer = (
        Switch()
        .Case(this.admissibility, state_is(S.SUBMITTED))
        .Case(this.approval, state_is(S.IN_APPROVAL))
        .Default(this.end)
    )

    # Independent, sealed technical evaluations (N from the call), a third one on disagreement.
    evaluations = DynamicSplit(count=this.evaluator_count).Next(this.evaluate)
    evaluate = HumanStep(
        step=Step.TECHNICAL_EVALUATION,
        role=Role.EVALUATOR,
        scope="program",
        deadline_days=10,
        escalation_role=Role.DIRECTOR,
    ).Next(this.evaluations_done)
    evaluations_done = Join().Next(this.after_evaluation)
    after_evaluation = (
        Switch()
        .Case(this.third_evaluation, ask("needs_third_evaluation"))
        .Case(this.approval, state_is(S.IN_APPROVAL))
        .Default(this.end)
    )
    third_evaluation = HumanStep(
        step=Step.THIRD_EVALUATION,
        role=Role.EVALUATOR,
        scope="program",
        deadline_days=10,
        escalation_role=Role.DIRECTOR,
    ).Next(this.after_evaluation)

    # The approval chain of the case's policy version: one task per policy step, in order.
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

    # Agreement, then tranches: order -> confirm payment -> progress report -> review -> next order.
    agreement = HumanStep(
        step=Step.AGREEMENT, role=Role.LEGAL, deadline_days=10, escalation_role=Role.DIRECTOR
    ).Next(this.payment_order)
    payment_order = HumanStep(
        step=Step.PAYMENT_ORDER, role=Role.FINANCE, deadline_days=3, escalation_role=Role.DIRECTOR
    ).Next(this.payment_confirmation)
    payment_confirmation = HumanStep(
        step=Step.PAYMENT_CONFIRMATION, role=Role.FINANCE, deadline_days=3, escalation_role=Role.DIRECTOR
    ).Next(this.after_payment)
    after_payment = (
        Switch()
        .Case(this.payment_order, ask("next_tranche_unlocked"))
        .Case(this.progress_report, ask("tranches_left"))
        .Default(this.final_report)
    )
    progress_report = HumanStep(step=Step.PROGRESS_REPORT, role=Role.APPLICANT, deadline_days=60).Next(
        this.progress_review
    )
    progress_review = HumanStep(
        step=Step.PROGRESS_REVIEW,
        role=Role.EVALUATOR,
        scope="department",
        deadline_days=10,
        escalation_role=Role.DIRECTOR,
    ).Next(this.after_progress_review)
    after_progress_review = (
        Switch().Case(this.payment_order, ask("last_report_approved")).Default(this.progress_report)
    )

    # Close-out: final report, final inspection, refund of the balance and close-out record.
    final_report = HumanStep(step=Step.FINAL_REPORT, role=Role.APPLICANT, deadline_days=60).Next(
        this.final_inspection
    )
    final_inspection = HumanStep(
        step=Step.FINAL_INSPECTION,
        role=Role.EVALUATOR,
        scope="department",
        deadline_days=10,
        escalation_role=Role.DIRECTOR,
    ).Next(this.after_final_inspection)
    after_final_inspection = Switch().Case(this.closeout, state_is(S.IN_CLOSEOUT)).Default(this.final_report)
    closeout = HumanStep(
        step=Step.CLOSEOUT, role=Role.FINANCE, deadline_days=10, escalation_role=Role.DIRECTOR
    ).Next(this.end)

    end = End()

    # --- helpers the nodes read (no writes here: the step handlers do them) ---------------------
    def observation_days(self, activation) -> int:
        case = self.case(activation)
        return case.observation_days or case.call.observation_days

    def evaluator_count(self, activation) -> int:
        return self.case(activation).call.evaluators

    def _chain_step(self, activation):
        from approvals.services import policy_steps

        case = self.case(activation)
        return policy_steps(case.policy)[case.approval_step]

    def needs_third_evaluation(self, activation) -> bool:
        return self.case(activation).needs_third_evaluation

    def awaits_answer(self, activation) -> bool:
        return bool(self.case(activation).observation)

    def tranches_left(self, activation) -> bool:
        case = self.case(activation)
        return case.tranches.count() < len(case.call.tranche_plan)

    def next_tranche_unlocked(self, activation) -> bool:
        """The call's plan unlocks the next tranche without a progress report (``tranche_unlocks``)."""
        from .models import TrancheUnlock

        case = self.case(activation)
        paid = case.tranches.count()
        return paid < len(case.call.tranche_plan) and case.call.unlock_of(paid + 1) == TrancheUnlock.AGREEMENT

    def last_report_approved(self, activation) -> bool:
        report = self.case(activation).reports.filter(kind="progress").order_by("-submitted_at").first()
        return bool(report and report.approved)
