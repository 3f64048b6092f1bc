"""What each human step of a registration needs and does (``approvals.steps`` specs): the registry
officer's review (verify, observe or reject) and the applicant's answer to an observation. Run
inside ``approvals.services.complete_task``: one transaction with the decision's audit entry."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.steps import Decision, Field, StepContext, StepSpec, register
from cases import official
from cases.roles import Role
from registry import services as registry
from workflows.services import transition

from . import certificate
from .models import Registration, RegistrationKind, RegistrationState, RegistrationTerm, add_months

S = RegistrationState
A, OBS, R = Decision.APPROVE, Decision.OBSERVE, Decision.REJECT
KIND = "registration"
REVIEW = "registration_review"
ANSWER = "answer_observation"  # the engine's own applicant step (``approvals.models.Step``)
DEFAULT_OBSERVATION_DAYS = 10
DEFAULT_TERM_MONTHS = 12


def review_fields(task, case: Registration) -> list[Field]:
    return [
        Field(
            "deadline_days",
            gettext_lazy("Business days to answer"),
            "integer",
            required=False,
            min=1,
            max=30,
            default=DEFAULT_OBSERVATION_DAYS,
            for_decisions=(OBS,),
        )
    ]


def term_months(on) -> int:
    """The months of validity of the term in force ``on`` that day (12 when none was ever set)."""
    term = RegistrationTerm.objects.filter(starts_on__lte=on).order_by("-starts_on").first()
    return term.months if term is not None else DEFAULT_TERM_MONTHS


def validity(case: Registration, on) -> tuple:
    """``(valid from, valid until)``: a renewal before the lapse continues the current period; after
    the lapse, and for a new unit, the period starts on the day of the approval."""
    start = on
    unit = case.unit
    if case.kind == RegistrationKind.RENEWAL and unit is not None and unit.registration_valid_until >= on:
        start = unit.registration_valid_until
    return start, add_months(start, term_months(on))


def handle_review(ctx: StepContext) -> None:
    case: Registration = ctx.case
    document = None
    if ctx.decision == A:
        # The certificate's number first: its counter row is locked before this decision writes
        # anything to the audit chain (lock order, docs/ARCHITECTURE.md). A refusal below rolls the
        # number back with everything else: numbers never skip.
        valid_from, valid_until = validity(case, timezone.localdate())
        document = official.issue(
            kind=certificate.KIND,
            prefix=certificate.PREFIX,
            case_type=KIND,
            case=case,
            actor=ctx.actor,
            template_version=certificate.TEMPLATE_VERSION,
            step=REVIEW,
            role=Role.EVALUATOR,
            describe=lambda number, code, url: certificate.describe(
                certificate.unit_fields(case),
                number=number,
                code=code,
                verify_url=url,
                valid_from=valid_from,
                valid_until=valid_until,
                case_code=case.code,
            ),
        )
    if case.state == S.SUBMITTED:
        transition(case, "start_review", actor=ctx.actor)
    if ctx.decision == R:
        case.rejection_reason = ctx.comment
        transition(case, "reject", actor=ctx.actor, data={"reason": ctx.comment})
        return
    if ctx.decision == OBS:
        case.observation = ctx.comment
        case.observation_days = ctx.data.get("deadline_days") or DEFAULT_OBSERVATION_DAYS
        transition(case, "observe", actor=ctx.actor, data={"observation": ctx.comment})
        return
    if document is None:  # pragma: no cover - an approval always issued one above
        raise RuntimeError("no certificate")
    if case.kind == RegistrationKind.NEW:
        unit = registry.register_unit(actor=ctx.actor, registration_valid_until=valid_until, **case.unit_data)
        registry.add_member(unit, case.applicant, actor=ctx.actor)
        case.unit = unit
    elif case.unit is not None:  # a renewal always names its unit (a check constraint)
        registry.renew_registration(case.unit, actor=ctx.actor, until=valid_until)
    case.valid_from, case.valid_until = valid_from, valid_until
    transition(case, "approve", actor=ctx.actor, data={"unit": case.unit_id, "valid_until": valid_until})
    case.certificate_number = document.number
    transition(case, "close", actor=ctx.actor, data={"certificate": official.audit_data(document)})
    ctx.audit_data["certificate"] = official.audit_data(document)


def answer_fields(task, case) -> list[Field]:
    return [Field("answer", gettext_lazy("Your answer to the observations"), "string")]


def handle_answer(ctx: StepContext) -> None:
    case: Registration = ctx.case
    if ctx.decision == Decision.EXPIRE:
        transition(
            case,
            "abandon",
            actor=ctx.actor,
            data={"reason": _("The observations were not answered in time.")},
        )
        return
    ctx.audit_data["observation"] = case.observation
    transition(case, "answer", actor=ctx.actor, data={"answer": ctx.data["answer"]})


register(StepSpec(KIND, REVIEW, (A, OBS, R), review_fields, handle_review))
register(StepSpec(KIND, ANSWER, (A, Decision.EXPIRE), answer_fields, handle_answer))
