"""Routing of a registration (PRODUCT.md §2.3): the registry officer of the unit's department
reviews it; an observation goes to the applicant, whose answer comes back to review. The FSM on
``Registration`` is the law; the gateways read its typed states. Node names are stored in task
rows: rename one only with a data migration."""

from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow

from approvals.models import Step
from cases.roles import Role
from workflows.locks import process_lock
from workflows.models import CaseProcess, CaseTask
from workflows.nodes import CaseFlowMixin, End, HumanStep, Switch

from .models import RegistrationState
from .steps import DEFAULT_OBSERVATION_DAYS, REVIEW

S = RegistrationState


def state_is(value: str):
    return lambda activation: activation.flow_task.flow_class.instance.state(activation) == value


class RegistrationFlow(CaseFlowMixin, flow.Flow):
    process_class = CaseProcess
    task_class = CaseTask
    lock_impl = process_lock
    case_type = "registration"
    case_related = ("unit", "department", "applicant")
    process_title = _("Registration of a productive unit")

    start = flow.StartHandle(this.start_case).Next(this.review)
    review = HumanStep(
        step=REVIEW, role=Role.EVALUATOR, scope="department", deadline_days=5, escalation_role=Role.DIRECTOR
    ).Next(this.after_review)
    after_review = Switch().Case(this.answer_observation, state_is(S.OBSERVED)).Default(this.end)
    answer_observation = HumanStep(
        step=Step.ANSWER_OBSERVATION, role=Role.APPLICANT, deadline_days=this.observation_days
    ).Next(this.after_answer)
    after_answer = Switch().Case(this.review, state_is(S.IN_REVIEW)).Default(this.end)
    end = End()

    def observation_days(self, activation) -> int:
        return self.case(activation).observation_days or DEFAULT_OBSERVATION_DAYS
