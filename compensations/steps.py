"""The human steps of price compensations (``approvals.steps`` specs), run inside
``approvals.services.complete_task`` (one transaction with the decision's audit entry, the case row
locked).

Agreement: ``budget_certification`` (finance reserves the ceiling on the agreement's line) and
``director_resolution`` (the resolution number; the ceiling is committed and the agreement is in
force). Settlement: ``settlement_verification`` (technical staff: approve, perhaps correcting the
litres with a reason, or reject with the reason) and ``settlement_payment`` (finance: bank reference,
date and C-31; the amount is executed and paid on the line).

Lock order of a settlement's steps: its flow lock, its row, then its agreement's row (so two
settlements of one agreement verified or paid at once queue there and each sees what the other
committed: the ceiling holds), then the budget line, then the audit chain.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals import notifications
from approvals.models import Step
from approvals.steps import Decision, Field, StepContext, StepSpec, c31_field, register, step_c31
from budget import services as budget
from cases import official, official_pdf, payments
from workflows.services import transition

from . import official_documents as papers
from .models import settlement_amount

A, R = Decision.APPROVE, Decision.REJECT
AGREEMENT = "compensation"
SETTLEMENT = "settlement"
SETTLEMENT_VERIFICATION = "settlement_verification"
SETTLEMENT_PAYMENT = "settlement_payment"


# --- the agreement ----------------------------------------------------------------------------------


def certification_fields(task, case) -> list[Field]:
    return []


def handle_certification(ctx: StepContext) -> None:
    agreement = ctx.case
    if ctx.decision == R:
        agreement.rejection_reason = ctx.comment
        transition(agreement, "reject", actor=ctx.actor, data={"reason": ctx.comment, "step": ctx.task.step})
        return
    movement = budget.reserve(agreement.budget_line, agreement.ceiling, actor=ctx.actor, case=agreement)
    # The certificación presupuestaria: numbered after the line's lock (lock order).
    papers.issue(ctx, official_pdf.BUDGET_CERTIFICATION, papers.certification)
    agreement.certified_at = timezone.now()
    transition(
        agreement,
        "certify",
        actor=ctx.actor,
        data={"line": agreement.budget_line_id, "ceiling": agreement.ceiling, "movement": movement.pk},
    )


def resolution_fields(task, case) -> list[Field]:
    return [
        Field(
            "resolution_number",
            gettext_lazy("Resolution approving the agreement"),
            "string",
            for_decisions=(A,),
        )
    ]


def handle_resolution(ctx: StepContext) -> None:
    agreement = ctx.case
    if ctx.decision == R:  # the kind's exit hook gives the reserved ceiling back
        agreement.rejection_reason = ctx.comment
        transition(agreement, "reject", actor=ctx.actor, data={"reason": ctx.comment, "step": ctx.task.step})
        return
    agreement.resolution_number = ctx.data["resolution_number"][:40]
    budget.commit(agreement.budget_line, agreement.ceiling, actor=ctx.actor, case=agreement)
    document = papers.issue(ctx, official_pdf.RESOLUTION, papers.resolution)
    transition(
        agreement,
        "approve",
        actor=ctx.actor,
        data={"resolution_number": agreement.resolution_number, "resolution": official.audit_data(document)},
    )


register(StepSpec(AGREEMENT, Step.BUDGET_CERTIFICATION, (A, R), certification_fields, handle_certification))
register(StepSpec(AGREEMENT, Step.DIRECTOR_RESOLUTION, (A, R), resolution_fields, handle_resolution))


# --- the monthly settlement -------------------------------------------------------------------------


def verification_fields(task, case) -> list[Field]:
    return [
        Field(
            "litres",
            gettext_lazy("Litres verified"),
            "decimal",
            required=False,
            min="0.01",
            default=case.declared_litres,
            for_decisions=(A,),
            help=gettext_lazy("The litres declared unless you correct them; a correction needs its reason."),
        ),
        Field(
            "correction_reason",
            gettext_lazy("Reason for correcting the litres"),
            "string",
            required=False,
            for_decisions=(A,),
        ),
    ]


def handle_verification(ctx: StepContext) -> None:
    from .services import ceiling_refusal, lock_agreement

    settlement = ctx.case
    if ctx.decision == R:
        settlement.rejection_reason = ctx.comment
        transition(settlement, "reject", actor=ctx.actor, data={"reason": ctx.comment})
        return
    agreement = lock_agreement(settlement.agreement_id)
    settlement.agreement = agreement
    litres = ctx.data.get("litres", settlement.declared_litres)
    reason = (ctx.data.get("correction_reason") or "").strip()
    if litres != settlement.declared_litres:
        if not reason:
            raise ValidationError(
                {"data.correction_reason": [_("Give the reason for correcting the litres declared.")]}
            )
        settlement.correction_reason = reason
    settlement.litres = litres
    settlement.amount = settlement_amount(litres, agreement.rate)
    refusal = ceiling_refusal(agreement, settlement)
    if refusal:
        raise ValidationError({"data.litres": [refusal]})
    ctx.audit_data.update({"litres": litres, "amount": settlement.amount})
    transition(
        settlement,
        "verify",
        actor=ctx.actor,
        data={
            "declared_litres": settlement.declared_litres,
            "litres": litres,
            "amount": settlement.amount,
            "correction_reason": settlement.correction_reason,
        },
    )


def payment_fields(task, case) -> list[Field]:
    today = timezone.localdate()
    return [
        Field("payment_reference", gettext_lazy("Bank transfer reference"), "string"),
        Field("paid_on", gettext_lazy("Paid on"), "date", max=today, default=today),
        c31_field(),
    ]


def handle_payment(ctx: StepContext) -> None:
    from .services import lock_agreement

    settlement = ctx.case
    reference = ctx.data["payment_reference"][:60]
    c31 = step_c31(ctx)
    agreement = lock_agreement(settlement.agreement_id)
    settlement.agreement = agreement
    if settlement.paid_on is not None or settlement.payment_reference:
        raise ValidationError({"detail": _("This settlement was already paid.")})
    payments.record_reference(reference, settlement)
    # The money is the agreement's: its committed share of the line bounds every execution, so
    # the ledger itself refuses a payment beyond the ceiling.
    budget.execute(
        agreement.budget_line, settlement.amount, actor=ctx.actor, case=agreement, c31_reference=c31
    )
    movement = budget.pay(
        agreement.budget_line, settlement.amount, actor=ctx.actor, case=agreement, c31_reference=c31
    )
    settlement.payment_reference, settlement.paid_on, settlement.c31_reference = (
        reference,
        ctx.data["paid_on"],
        c31,
    )
    ctx.audit_data.update({"amount": settlement.amount, "payment_reference": reference})
    # The company is told it was paid (the month's one payment, and the amount), after commit.
    notifications.after_payment(
        case_type=SETTLEMENT,
        case_id=settlement.pk,
        case_code=settlement.code,
        unit_id=agreement.unit_id,
        number=1,
        amount=settlement.amount,
        reference=reference,
    )
    transition(
        settlement,
        "pay",
        actor=ctx.actor,
        data={
            "amount": settlement.amount,
            "payment_reference": reference,
            "c31_reference": c31,
            "agreement": agreement.code,
            "movement": movement.pk,
        },
    )


register(StepSpec(SETTLEMENT, SETTLEMENT_VERIFICATION, (A, R), verification_fields, handle_verification))
register(StepSpec(SETTLEMENT, SETTLEMENT_PAYMENT, (A,), payment_fields, handle_payment))
