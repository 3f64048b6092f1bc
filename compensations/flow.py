"""Routing of price compensations. Node names and this module's path are stored in task rows: rename
one only with a data migration.

Agreement: budget certification (finance reserves the ceiling on the line) → the director's
resolution (the ceiling is committed; the agreement is in force). A rejection at either ends it.

Settlement: verification by PROLECHE technical staff (the program's evaluators) → payment by finance.
"""

from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow

from approvals.models import Step
from cases.roles import Role
from workflows.locks import process_lock
from workflows.models import CaseProcess, CaseTask
from workflows.nodes import CaseFlowMixin, End, HumanStep, Switch, state_is

from .models import AgreementState, SettlementState
from .steps import SETTLEMENT_PAYMENT, SETTLEMENT_VERIFICATION


class AgreementFlow(CaseFlowMixin, flow.Flow):
    process_class = CaseProcess
    task_class = CaseTask
    lock_impl = process_lock
    case_type = "compensation"
    case_related = ("unit", "program", "budget_line")
    process_title = _("Price compensation agreement")

    start = flow.StartHandle(this.start_case).Next(this.certification)
    certification = HumanStep(
        step=Step.BUDGET_CERTIFICATION,
        role=Role.FINANCE,
        scope="program",
        deadline_days=5,
        escalation_role=Role.DIRECTOR,
    ).Next(this.after_certification)
    after_certification = Switch().Case(this.resolution, state_is(AgreementState.CERTIFIED)).Default(this.end)
    resolution = HumanStep(step=Step.DIRECTOR_RESOLUTION, role=Role.DIRECTOR, deadline_days=5).Next(this.end)
    end = End()


class SettlementFlow(CaseFlowMixin, flow.Flow):
    process_class = CaseProcess
    task_class = CaseTask
    lock_impl = process_lock
    case_type = "settlement"
    case_related = ("agreement", "agreement__unit", "agreement__budget_line")
    process_title = _("Monthly price-compensation settlement")

    start = flow.StartHandle(this.start_case).Next(this.verification)
    verification = HumanStep(
        step=SETTLEMENT_VERIFICATION,
        role=Role.EVALUATOR,
        scope="program",
        deadline_days=5,
        escalation_role=Role.DIRECTOR,
    ).Next(this.after_verification)
    after_verification = Switch().Case(this.payment, state_is(SettlementState.VERIFIED)).Default(this.end)
    payment = HumanStep(
        step=SETTLEMENT_PAYMENT,
        role=Role.FINANCE,
        scope="program",
        deadline_days=5,
        escalation_role=Role.DIRECTOR,
    ).Next(this.end)
    end = End()
