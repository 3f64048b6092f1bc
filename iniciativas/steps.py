"""The steps of an initiative: the data each asks for and the effect of each decision.

Registered with ``approvals.steps.register``; run by ``approvals.services.complete_task`` inside its
transaction, with the initiative row locked.
"""

from __future__ import annotations

from decimal import ROUND_UP, Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals import notifications
from approvals.models import Step
from approvals.steps import (
    NO_CONFLICT_FIELD,
    Decision,
    Field,
    Scoring,
    StepContext,
    StepSpec,
    approved_amount_fields,
    c31_field,
    certification_field,
    clean_approved_amount,
    register,
    step_c31,
)
from budget import services as budget
from budget.services import bs
from cases import official, official_pdf, payments, sqltemplate
from cases.errors import Conflict
from workflows.services import transition

from . import official_documents as papers
from .conditions import paid_amount, unspent_balance
from .models import KIND, Evaluation, InitiativeState, Report, Tranche, TrancheUnlock
from .services import missing_for_submission, tranche_amounts

S = InitiativeState
A, OBS, R = Decision.APPROVE, Decision.OBSERVE, Decision.REJECT


def _spec(step, decisions, fields, handle):
    return register(StepSpec(KIND, step, decisions, fields, handle))


def _no_fields(task, case):
    return []


# --- admissibility -------------------------------------------------------------------------------


def admissibility_fields(task, case):
    return [
        Field(
            "deadline_days",
            gettext_lazy("Business days to answer"),
            "integer",
            required=False,
            min=1,
            max=30,
            default=case.call.observation_days,
            for_decisions=(OBS,),
        )
    ]


def handle_admissibility(ctx: StepContext):
    case = ctx.case
    if ctx.decision == A:
        transition(case, "admit", actor=ctx.actor, data={"step": ctx.task.step})
    elif ctx.decision == OBS:
        case.observation = ctx.comment
        case.observation_days = ctx.data.get("deadline_days", case.call.observation_days)
        transition(case, "observe", actor=ctx.actor, data={"observation": ctx.comment})
    else:
        transition(case, "reject", actor=ctx.actor, data={"reason": ctx.comment})


_spec(Step.ADMISSIBILITY, (A, OBS, R), admissibility_fields, handle_admissibility)


# --- the applicant answers an observation ------------------------------------------------------------


def answer_fields(task, case):
    return [Field("answer", gettext_lazy("Your answer to the observations"), "string")]


def handle_answer(ctx: StepContext):
    case = ctx.case
    if ctx.decision == Decision.EXPIRE:
        # Unanswered in time, at admissibility or in the approval chain: the case is abandoned and
        # whatever it held on the budget line (a certification already made) is released.
        reason = _("The observations were not answered in time.")
        transition(case, "abandon", actor=ctx.actor, data={"reason": reason})
        return
    if case.state == S.OBSERVED:
        # Back to ``submitted`` only if the corrected case meets every rule of a submission (the
        # applicant may have changed amounts or documents meanwhile); nothing changes otherwise.
        problems = missing_for_submission(case)
        if problems:
            raise ValidationError(problems)
    observation = case.observation
    case.observation, case.observation_days = "", None
    if case.state == S.OBSERVED:
        transition(case, "answer", actor=ctx.actor, data={"answer": ctx.data["answer"]})
    else:  # an observation of the approval chain: the case stays in approval
        case.save()
        ctx.audit_data["observation"] = observation


_spec(Step.ANSWER_OBSERVATION, (A, Decision.EXPIRE), answer_fields, handle_answer)


# --- sealed technical evaluations --------------------------------------------------------------------


def evaluation_fields(task, case):
    # The declaration of no conflict of interest is made before the scores (``declare_conflict``);
    # a client may also make it with the decision itself (``no_conflict: true``), which
    # ``complete_task`` records first. The scores are checked by ``handle_evaluation``.
    rubric = [
        Field(
            c["code"],
            c["label"],
            "integer",
            required=False,
            min=0,
            max=int(c["max"]),
            for_decisions=(A,),
            help=c.get("text", ""),
        )
        for c in case.call.rubric
    ]
    return [
        Field(
            NO_CONFLICT_FIELD,
            gettext_lazy("I declare I have no conflict of interest with this case"),
            "boolean",
            required=False,
        ),
        *rubric,
    ]


def evaluation_scoring(task, case) -> Scoring:
    call = case.call
    return Scoring(
        fields=tuple(c["code"] for c in call.rubric),
        maximum=Decimal(sum(int(c["max"]) for c in call.rubric)),
        threshold=call.threshold,
    )


def _round_evaluations(initiative: int, round: int):
    return Evaluation.objects.filter(initiative_id=initiative, round=round)


def _finish_evaluation(ctx: StepContext):
    """After the last sealed evaluation of the round: third opinion, pass or reject."""
    case, call = ctx.case, ctx.case.call
    evaluations = sqltemplate.instances(
        ("iniciativas.round_evaluations",),
        _round_evaluations,
        {"initiative": case.pk, "round": case.evaluation_round},
    )
    regular = [e for e in evaluations if not e.is_tiebreak]
    if len(regular) < call.evaluators:
        return  # still sealed: others have not scored yet
    totals = [e.total for e in regular]
    tiebreak = [e for e in evaluations if e.is_tiebreak]
    if not tiebreak and max(totals) - min(totals) > call.disagreement_points:
        case.needs_third_evaluation = True
        case.save()
        ctx.audit_data["third_evaluation"] = True
        return
    all_totals = totals + [e.total for e in tiebreak]
    mean = (sum(all_totals, Decimal(0)) / len(all_totals)).quantize(Decimal("0.01"))
    case.needs_third_evaluation = False
    case.evaluation_score = mean
    ctx.audit_data["scores"] = [str(t) for t in all_totals]
    ctx.audit_data["mean"] = str(mean)
    if mean >= call.threshold:
        from approvals.services import policy_for

        case.policy = policy_for(KIND, call.program, case.requested_amount)
        case.approval_step = 0
        transition(case, "pass_evaluation", actor=ctx.actor, data={"mean": mean, "policy": case.policy_id})
    else:
        transition(
            case,
            "reject",
            actor=ctx.actor,
            data={"reason": _("Technical evaluation below the pass mark."), "mean": mean},
        )


def handle_evaluation(ctx: StepContext):
    case = ctx.case
    evaluator = ctx.on_behalf_of or ctx.actor
    # ``complete_task`` refused the decision (a field error) unless the evaluator declared no
    # conflict of interest for this task (``asks_declaration``).
    missing = {
        f"data.{c['code']}": [_("This field is required.")]
        for c in case.call.rubric
        if c["code"] not in ctx.data
    }
    if missing:
        raise ValidationError(missing)
    scores = {c["code"]: ctx.data[c["code"]] for c in case.call.rubric}
    Evaluation.objects.create(
        initiative=case,
        round=case.evaluation_round,
        task_id=ctx.task.pk,
        evaluator=evaluator,
        no_conflict_declared=True,
        scores=scores,
        total=Decimal(sum(scores.values())),
        is_tiebreak=ctx.task.step == Step.THIRD_EVALUATION,
        comment=ctx.comment,
    )
    # The scores stay out of the trail until the round closes; the comment is hidden from the case's
    # history until then (``selectors.history_for``).
    ctx.audit_data["sealed"] = True
    ctx.data = {NO_CONFLICT_FIELD: True}
    _finish_evaluation(ctx)


for _evaluation in (Step.TECHNICAL_EVALUATION, Step.THIRD_EVALUATION):
    register(
        StepSpec(
            KIND,
            _evaluation,
            (A,),
            evaluation_fields,
            handle_evaluation,
            asks_declaration=True,
            scoring=evaluation_scoring,
        )
    )


# --- approval chain (steps from the case's policy version) -------------------------------------------


def chain_fields(task, case):
    if task.step == Step.LEGAL_REPORT:
        return [Field("opinion", gettext_lazy("Legal opinion"), "string", for_decisions=(A,))]
    if task.step == Step.BUDGET_CERTIFICATION:
        return [
            certification_field(case.call.program, case.requested_amount),
            *approved_amount_fields(case.requested_amount),
        ]
    if task.step == Step.DIRECTOR_RESOLUTION:
        return [
            Field(
                "resolution_number",
                gettext_lazy("Administrative resolution number"),
                "string",
                for_decisions=(A,),
            )
        ]
    return [Field("report", gettext_lazy("Report"), "string", for_decisions=(A,))]


def approved_counterpart(case, approved: Decimal) -> Decimal:
    """The counterpart owed on ``approved``: the share the unit offered per boliviano requested
    (counterpart ÷ requested, which met the call's minimum share of the total cost) times the approved
    amount, rounded up to the cent so that the share never falls below the offered one."""
    if approved == case.requested_amount:
        return case.counterpart_amount
    share = case.counterpart_amount / case.requested_amount
    return (approved * share).quantize(Decimal("0.01"), rounding=ROUND_UP)


def fix_approved_amount(ctx: StepContext) -> Decimal:
    """Check the approved amount of the certification (``approvals.steps.clean_approved_amount``) and
    fix it on the case, with its reason and the counterpart that follows it; the step's audit entry
    records requested, approved and reason. Nothing changes when it raises."""
    case = ctx.case
    requested = case.requested_amount
    approved, reason = clean_approved_amount(requested, ctx.data)
    case.approved_amount = approved
    case.approved_amount_reason = reason
    case.approved_counterpart = approved_counterpart(case, approved)
    ctx.audit_data.update(
        {
            "requested_amount": requested,
            "approved_amount": approved,
            "approved_amount_reason": reason,
            "approved_counterpart": case.approved_counterpart,
        }
    )
    return approved


def handle_chain(ctx: StepContext):
    from approvals.services import policy_steps

    case = ctx.case
    if ctx.decision == R:  # the exit hook releases a certification already made
        transition(case, "reject", actor=ctx.actor, data={"reason": ctx.comment, "step": ctx.task.step})
        return
    if ctx.decision == OBS:
        case.observation = ctx.comment
        case.observation_days = case.call.observation_days
        case.save()
        return
    if ctx.task.step == Step.BUDGET_CERTIFICATION:
        # The field offers only the call's program's lines; the ledger locks and reads the line once,
        # and a line of another program undoes the whole decision.
        approved = fix_approved_amount(ctx)
        line = budget.reserve(ctx.data["budget_line"], approved, actor=ctx.actor, case=case).line
        if line.program_id != case.call.program_id:
            raise ValidationError({"data.budget_line": [_("Choose a budget line of the call's program.")]})
        case.budget_line = line
        # The certificación presupuestaria: numbered after the line's lock (lock order).
        papers.issue(ctx, official_pdf.BUDGET_CERTIFICATION, papers.certification)
    elif ctx.task.step == Step.DIRECTOR_RESOLUTION:
        case.resolution_number = ctx.data["resolution_number"]
    case.approval_step += 1
    if case.approval_step < len(policy_steps(case.policy)):
        case.save()
        return
    if case.budget_line_id is None:
        raise ValidationError({"detail": _("The policy approved the case without a budget certification.")})
    resolution = papers.issue(ctx, official_pdf.RESOLUTION, papers.resolution)
    transition(
        case,
        "approve",
        actor=ctx.actor,
        data={
            "requested_amount": case.requested_amount,
            "approved_amount": case.approved_amount,
            "approved_amount_reason": case.approved_amount_reason,
            "resolution": official.audit_data(resolution),
        },
    )  # saves it


for _step in (Step.LEGAL_REPORT, Step.BUDGET_CERTIFICATION, Step.DIRECTOR_RESOLUTION, Step.TECHNICAL_REPORT):
    _spec(_step, (A, OBS, R), chain_fields, handle_chain)


# --- agreement and tranches --------------------------------------------------------------------------


def agreement_fields(task, case):
    return [
        Field("agreement_number", gettext_lazy("Agreement number"), "string"),
        Field(
            "signed_on",
            gettext_lazy("Signed on"),
            "date",
            max=timezone.localdate(),
            default=timezone.localdate(),
        ),
    ]


def handle_agreement(ctx: StepContext):
    case = ctx.case
    case.agreement_number = ctx.data["agreement_number"]
    case.agreement_signed_on = ctx.data["signed_on"]
    budget.commit(case.budget_line, case.approved_amount, actor=ctx.actor, case=case)
    convenio = papers.issue(ctx, official_pdf.AGREEMENT, papers.agreement)
    transition(
        case,
        "sign_agreement",
        actor=ctx.actor,
        data={"agreement_number": case.agreement_number, "agreement": official.audit_data(convenio)},
    )
    transition(case, "start_execution", actor=ctx.actor)


_spec(Step.AGREEMENT, (A,), agreement_fields, handle_agreement)


def _next_tranche(case) -> tuple[int, Decimal]:
    number = case.tranches.count() + 1
    return number, tranche_amounts(case)[number - 1]


def _tranche_help(case, number: int) -> str:
    """``1 de 3 (40 % del apoyo)``: which tranche of the call's plan a payment step is about."""
    plan = list(case.call.tranche_plan or [100])
    percent = plan[number - 1] if number <= len(plan) else None
    return _("%(n)s of %(total)s (%(percent)s %% of the grant)") % {
        "n": number,
        "total": len(plan),
        "percent": percent if percent is not None else "—",
    }


def payment_order_fields(task, case):
    number, amount = _next_tranche(case)
    return [
        Field(
            "tranche",
            gettext_lazy("Tranche"),
            "integer",
            min=number,
            max=number,
            default=number,
            help=_tranche_help(case, number),
        ),
        Field(
            "amount",
            gettext_lazy("Amount of the tranche (Bs)"),
            "decimal",
            min=amount,
            max=amount,
            default=amount,
        ),
    ]


def handle_payment_order(ctx: StepContext):
    case = ctx.case
    if case.state != S.IN_EXECUTION:
        raise Conflict(_("Initiative %(code)s is not in execution.") % {"code": case.code})
    number, amount = _next_tranche(case)
    if number > 1:
        # Each later tranche only after the previous one was paid and its progress report approved
        # with the counterpart verified (the review approves only with ``counterpart_verified``).
        # A tranche the call's plan unlocks by the agreement alone needs only the previous payment
        # (``Call.tranche_unlocks``).
        previous = case.tranches.filter(number=number - 1).first()
        needs_report = case.call.unlock_of(number) == TrancheUnlock.PROGRESS_REPORT
        report = (
            case.reports.filter(kind=Report.Kind.PROGRESS, tranche_number=number - 1)
            .order_by("-submitted_at", "-pk")
            .first()
        )
        if previous is None or previous.state != Tranche.State.PAID:
            raise Conflict(
                _("Tranche %(n)s can be ordered only after tranche %(prev)s was paid.")
                % {"n": number, "prev": number - 1}
            )
        if needs_report and not (report and report.approved):
            raise Conflict(
                _(
                    "Tranche %(n)s can be ordered only after tranche %(prev)s was paid and its progress "
                    "report approved with the counterpart verified."
                )
                % {"n": number, "prev": number - 1}
            )
    Tranche.objects.create(initiative=case, number=number, amount=amount, ordered_by=ctx.actor)
    budget.execute(case.budget_line, amount, actor=ctx.actor, case=case)
    ctx.audit_data.update({"tranche": number, "amount": amount})


_spec(Step.PAYMENT_ORDER, (A,), payment_order_fields, handle_payment_order)


def payment_confirmation_fields(task, case):
    tranche = case.tranches.filter(state=Tranche.State.ORDERED).order_by("number").first()
    number = tranche.number if tranche else None
    return [
        Field(
            "tranche",
            gettext_lazy("Tranche"),
            "integer",
            min=number,
            max=number,
            default=number,
            help=_tranche_help(case, tranche.number) if tranche else "",
        ),
        Field(
            "amount",
            gettext_lazy("Amount to pay (Bs)"),
            "decimal",
            required=False,
            min=tranche.amount if tranche else None,
            max=tranche.amount if tranche else None,
            default=tranche.amount if tranche else None,
        ),
        Field("payment_reference", gettext_lazy("Bank transfer reference"), "string"),
        Field(
            "paid_on", gettext_lazy("Paid on"), "date", max=timezone.localdate(), default=timezone.localdate()
        ),
        c31_field(),  # last: the fields before it keep their places
    ]


def handle_payment_confirmation(ctx: StepContext):
    case = ctx.case
    tranche = case.tranches.select_for_update().filter(state=Tranche.State.ORDERED).order_by("number").first()
    if tranche is None or tranche.number != ctx.data["tranche"]:
        raise ValidationError({"data.tranche": [_("That tranche is not awaiting payment.")]})
    c31 = step_c31(ctx)
    reference = ctx.data["payment_reference"]
    payments.record_reference(reference, case)
    tranche.state = Tranche.State.PAID
    tranche.confirmed_by = ctx.actor
    tranche.confirmed_at = timezone.now()
    tranche.payment_reference = reference
    tranche.save()
    budget.pay(case.budget_line, tranche.amount, actor=ctx.actor, case=case, c31_reference=c31)
    ctx.audit_data.update({"tranche": tranche.number, "amount": tranche.amount})
    if c31:
        ctx.audit_data["c31_reference"] = c31
    # The applicant is told it was paid (number and amount), after commit.
    notifications.after_payment(
        case_type=KIND,
        case_id=case.pk,
        case_code=case.code,
        unit_id=case.unit_id,
        number=tranche.number,
        amount=tranche.amount,
        reference=reference,
    )


_spec(Step.PAYMENT_CONFIRMATION, (A,), payment_confirmation_fields, handle_payment_confirmation)


# --- reports, reviews and close-out ------------------------------------------------------------------


def report_fields(task, case):
    paid = sum((t.amount for t in case.tranches.all()), Decimal(0))
    fields = [
        Field("summary", gettext_lazy("What was done"), "string"),
        Field("physical_progress", gettext_lazy("Physical progress (%)"), "integer", min=0, max=100),
        Field("amount_spent", gettext_lazy("Grant money spent so far (Bs)"), "decimal", min=0, max=paid),
        Field("counterpart_spent", gettext_lazy("Counterpart spent so far (Bs)"), "decimal", min=0),
    ]
    return fields


def handle_report(ctx: StepContext):
    case = ctx.case
    kind = Report.Kind.FINAL if ctx.task.step == Step.FINAL_REPORT else Report.Kind.PROGRESS
    Report.objects.create(
        initiative=case,
        kind=kind,
        tranche_number=case.tranches.count(),
        summary=ctx.data["summary"],
        physical_progress=ctx.data["physical_progress"],
        amount_spent=ctx.data["amount_spent"],
        counterpart_spent=ctx.data["counterpart_spent"],
        submitted_by=ctx.actor,
    )


_spec(Step.PROGRESS_REPORT, (A,), report_fields, handle_report)
_spec(Step.FINAL_REPORT, (A,), report_fields, handle_report)


def review_fields(task, case):
    return [
        Field(
            "counterpart_verified",
            gettext_lazy("Counterpart contribution verified on site"),
            "boolean",
            for_decisions=(A,),
        )
    ]


def handle_review(ctx: StepContext):
    case = ctx.case
    kind = Report.Kind.FINAL if ctx.task.step == Step.FINAL_INSPECTION else Report.Kind.PROGRESS
    report = case.reports.filter(kind=kind).order_by("-submitted_at").first()
    if ctx.decision == A:
        if ctx.data.get("counterpart_verified") is not True:
            raise ValidationError(
                {"data.counterpart_verified": [_("Verify the counterpart before approving the report.")]}
            )
        report.approved, report.reviewed_by = True, ctx.actor
        report.save()
        if kind == Report.Kind.FINAL:
            transition(case, "start_closeout", actor=ctx.actor, data={"report": report.pk})
    else:
        report.approved, report.reviewed_by = False, ctx.actor
        report.save()


_spec(Step.PROGRESS_REVIEW, (A, OBS), review_fields, handle_review)
_spec(Step.FINAL_INSPECTION, (A, OBS), review_fields, handle_review)


def closeout_fields(task, case):
    paid = paid_amount(case)
    unspent = unspent_balance(case)
    return [
        Field(
            "refund_amount",
            gettext_lazy("Unspent balance returned (Bs)"),
            "decimal",
            min=0,
            max=paid,
            default=unspent if unspent is not None else Decimal(0),
        ),
        Field("closeout_record", gettext_lazy("Close-out record number"), "string"),
    ]


def handle_closeout(ctx: StepContext):
    case = ctx.case
    refund = ctx.data["refund_amount"]
    unspent = unspent_balance(case)
    if unspent is None:
        raise Conflict(_("The final report of %(code)s has not been approved.") % {"code": case.code})
    if refund != unspent:
        paid = paid_amount(case)
        raise ValidationError(
            {
                "data.refund_amount": [
                    _(
                        "The refund must be the unspent balance: Bs %(unspent)s (Bs %(paid)s paid minus "
                        "Bs %(spent)s spent according to the approved final report)."
                    )
                    % {"unspent": bs(unspent), "paid": bs(paid), "spent": bs(paid - unspent)}
                ]
            }
        )
    if refund > 0:
        budget.refund(case.budget_line, refund, actor=ctx.actor, case=case)
    case.refunded_amount = refund
    case.closeout_record = ctx.data["closeout_record"]
    record = papers.issue(ctx, official_pdf.CLOSEOUT_RECORD, papers.closeout)
    transition(
        case,
        "close",
        actor=ctx.actor,
        data={
            "refund": refund,
            "record": case.closeout_record,
            "closeout_record": official.audit_data(record),
        },
    )


_spec(Step.CLOSEOUT, (A,), closeout_fields, handle_closeout)
