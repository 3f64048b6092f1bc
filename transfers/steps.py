"""The steps of a transfer: the data each asks for and the effect of each decision.

Registered with ``approvals.steps.register``; run by ``approvals.services.complete_task`` inside its
transaction, with the transfer row locked.

Budget moves: certification reserves the amount; the agreement commits it; in money the payment
order executes it (devengado) and the bank confirmation pays it; in kind the assets were bought
beforehand (procurement is outside Expediente), so the beneficiary's acceptance of the delivery
record executes and settles the transfer's value at once. A rejection releases the reservation;
a reversion refunds what was recovered.

The approval chain's steps also accept ``observe``: the case goes back to the beneficiary unit with
the reasons and a deadline in business days (it stays ``in_approval``, ``observation`` set), the
unit answers (``answer_observation``, an applicant step) and the same chain step is taken again; an
observation not answered in time is expired by the system and the case ends ``annulled`` (``lapse``),
the kind's exit hook releasing the reservation.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals import notifications
from approvals.models import Step
from approvals.steps import (
    Decision,
    Field,
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
from budget.models import BudgetLine
from cases import official, official_pdf, payments
from workflows.services import transition

from . import official_documents as papers
from .flow import OBSERVATION_DAYS, VERIFICATION, chain_steps
from .models import KIND, AssetItem, FollowupVisit, Transfer, TransferState

S = TransferState
A, OBS, R = Decision.APPROVE, Decision.OBSERVE, Decision.REJECT


def _spec(step, decisions, fields, handle):
    return register(StepSpec(KIND, step, decisions, fields, handle))


def _items(transfer: Transfer):
    return (
        AssetItem.objects.filter(asset__transfer=transfer)
        .select_related("asset")
        .order_by("asset__position", "number")
    )


def _unit_choices(items) -> list:
    """``[[id, "Tanque de enfriamiento #1 (SN-123)"], ...]``: the form's select names each unit."""
    return [
        [i.pk, f"{i.asset.description} #{i.number}" + (f" ({i.serial})" if i.serial else "")] for i in items
    ]


# --- verification: technical ∥ legal report ----------------------------------------------------------


def report_fields(task, case):
    label = (
        gettext_lazy("Technical report")
        if task.step == Step.TECHNICAL_REPORT
        else gettext_lazy("Legal report")
    )
    return [Field("report", label, "string", for_decisions=(A,))]


def handle_report(ctx: StepContext):
    case = ctx.case
    if case.state == S.REQUESTED:
        transition(case, "start_verification", actor=ctx.actor)
    if ctx.decision == R:
        case.rejection_reason = ctx.comment
        transition(case, "reject", actor=ctx.actor, data={"reason": ctx.comment, "step": ctx.task.step})
        return
    if ctx.task.step == Step.TECHNICAL_REPORT:
        case.technical_report = ctx.data["report"]
    else:
        case.legal_report = ctx.data["report"]
    case.save()
    if case.technical_report and case.legal_report:
        case.approval_step = 0
        transition(case, "verify", actor=ctx.actor)


for _step in VERIFICATION:
    _spec(_step, (A, R), report_fields, handle_report)


# --- approval chain: budget certification, the top authority's resolution ------------------------


def observation_deadline_field() -> Field:
    return Field(
        "deadline_days",
        gettext_lazy("Business days to answer"),
        "integer",
        required=False,
        min=1,
        max=30,
        default=OBSERVATION_DAYS,
        for_decisions=(OBS,),
    )


def chain_fields(task, case):
    if task.step == Step.BUDGET_CERTIFICATION:
        fields = [certification_field(case.program, case.amount)]
        if not case.is_in_kind:  # in kind the amount is the assets' value, delivered whole
            fields += approved_amount_fields(case.amount)
    elif task.step == Step.DIRECTOR_RESOLUTION:
        fields = [
            Field(
                "resolution_number",
                gettext_lazy("Resolution approving amount, use and destination"),
                "string",
                for_decisions=(A,),
            )
        ]
    else:
        fields = [Field("report", gettext_lazy("Report"), "string", for_decisions=(A,))]
    return [*fields, observation_deadline_field()]


def handle_chain(ctx: StepContext):
    case = ctx.case
    if ctx.decision == R:  # the kind's exit hook gives back a certification already made
        case.rejection_reason = ctx.comment
        transition(case, "reject", actor=ctx.actor, data={"reason": ctx.comment, "step": ctx.task.step})
        return
    if ctx.decision == OBS:
        # Back to the beneficiary unit with the reasons: the case stays ``in_approval``, the flow
        # routes it to ``answer_observation`` and then to this same chain step again.
        case.observation = ctx.comment
        case.observation_days = ctx.data.get("deadline_days", OBSERVATION_DAYS)
        case.save()
        ctx.audit_data["observation_days"] = case.observation_days
        return
    if ctx.task.step == Step.BUDGET_CERTIFICATION:
        line = BudgetLine.objects.filter(pk=ctx.data["budget_line"], program=case.program).first()
        if line is None:
            raise ValidationError(
                {"data.budget_line": [_("Choose a budget line of the transfer's program.")]}
            )
        approved, reason = (
            (case.amount, "") if case.is_in_kind else clean_approved_amount(case.amount, ctx.data)
        )
        budget.reserve(line, approved, actor=ctx.actor, case=case)
        case.budget_line = line
        case.approved_amount, case.approved_amount_reason = approved, reason
        ctx.audit_data.update(
            {"requested_amount": case.amount, "approved_amount": approved, "approved_amount_reason": reason}
        )
        # The certificación presupuestaria: numbered after the line's lock (lock order).
        papers.issue(ctx, official_pdf.BUDGET_CERTIFICATION, papers.certification)
    elif ctx.task.step == Step.DIRECTOR_RESOLUTION:
        case.resolution_number = ctx.data["resolution_number"]
    case.approval_step += 1
    case.save()
    if case.approval_step >= len(chain_steps(case)):
        if case.budget_line_id is None:
            raise ValidationError(
                {"detail": _("The policy approved the case without a budget certification.")}
            )
        resolution = papers.issue(ctx, official_pdf.RESOLUTION, papers.resolution)
        transition(
            case,
            "approve",
            actor=ctx.actor,
            data={
                "amount": case.amount,
                "approved_amount": case.grant_amount,
                "approved_amount_reason": case.approved_amount_reason,
                "resolution": official.audit_data(resolution),
            },
        )


for _step in (Step.BUDGET_CERTIFICATION, Step.DIRECTOR_RESOLUTION):
    _spec(_step, (A, OBS, R), chain_fields, handle_chain)


# --- the beneficiary answers an observation of the chain ---------------------------------------------


def answer_fields(task, case):
    return [Field("answer", gettext_lazy("Your answer to the observations"), "string")]


def handle_answer(ctx: StepContext):
    case = ctx.case
    if ctx.decision == Decision.EXPIRE:
        # Unanswered in time: the case ends annulled, and the kind's exit hook gives back whatever
        # it holds on its budget line (a certification already made).
        reason = _("The observations were not answered in time.")
        case.annulment_reason = reason
        transition(
            case,
            "lapse",
            actor=ctx.actor,
            data={"reason": reason, "lapsed": True, "observation": case.observation},
        )
        return
    observation = case.observation
    case.observation, case.observation_days = "", None
    case.save()
    ctx.audit_data["observation"] = observation


_spec(Step.ANSWER_OBSERVATION, (A, Decision.EXPIRE), answer_fields, handle_answer)


# --- agreement --------------------------------------------------------------------------------------


def agreement_fields(task, case):
    today = timezone.localdate()
    return [
        Field("agreement_number", gettext_lazy("Agreement number"), "string"),
        Field("signed_on", gettext_lazy("Signed on"), "date", max=today, default=today),
    ]


def handle_agreement(ctx: StepContext):
    case = ctx.case
    case.agreement_number = ctx.data["agreement_number"]
    case.agreement_signed_on = ctx.data["signed_on"]
    budget.commit(case.budget_line, case.grant_amount, actor=ctx.actor, case=case)
    convenio = papers.issue(ctx, official_pdf.AGREEMENT, papers.agreement)
    transition(
        case,
        "sign_agreement",
        actor=ctx.actor,
        data={"agreement_number": case.agreement_number, "agreement": official.audit_data(convenio)},
    )
    transition(case, "start_delivery", actor=ctx.actor)


_spec(Step.AGREEMENT, (A,), agreement_fields, handle_agreement)


# --- in kind: delivery record and the beneficiary's acceptance --------------------------------------


def delivery_record_fields(task, case):
    items = list(_items(case))
    today = timezone.localdate()
    unit_fields = [
        Field("unit", gettext_lazy("Unit"), "integer", choices=_unit_choices(items)),
        Field("serial", gettext_lazy("Serial number"), "string"),
    ]
    return [
        Field("record_number", gettext_lazy("Delivery record number"), "string"),
        Field("delivered_on", gettext_lazy("Delivered on"), "date", max=today, default=today),
        Field(
            "items",
            gettext_lazy("Units delivered, by serial number"),
            "list",
            min=len(items),
            max=len(items),
            items=unit_fields,
            default=[{"unit": i.pk, "serial": i.serial} for i in items],
        ),
    ]


def handle_delivery_record(ctx: StepContext):
    case = ctx.case
    items = {i.pk: i for i in _items(case)}
    rows = ctx.data["items"]
    given = [r["unit"] for r in rows]
    if sorted(given) != sorted(items):
        raise ValidationError({"data.items": [_("List every unit of the transfer exactly once.")]})
    seen: dict[str, int] = {}
    errors = {}
    for n, row in enumerate(rows):
        serial = row["serial"].strip()[:80]
        key = serial.casefold()
        if key in seen:
            errors[f"data.items[{n}].serial"] = [_("This serial number is repeated in the record.")]
        seen[key] = n
    if errors:
        raise ValidationError(errors)
    for row in rows:
        item = items[row["unit"]]
        item.serial = row["serial"].strip()[:80]
        item.save(update_fields=["serial", "updated_at"])
    case.delivery_record_number = ctx.data["record_number"]
    case.delivered_on = ctx.data["delivered_on"]
    case.save()
    ctx.audit_data["serials"] = {str(r["unit"]): r["serial"].strip() for r in rows}
    papers.issue(ctx, official_pdf.DELIVERY_RECORD, papers.delivery)


_spec(Step.DELIVERY_RECORD, (A,), delivery_record_fields, handle_delivery_record)


def acceptance_fields(task, case):
    return [
        Field(
            "received",
            gettext_lazy("I received every unit listed, with the serial numbers recorded"),
            "boolean",
            for_decisions=(A,),
        )
    ]


def handle_acceptance(ctx: StepContext):
    case = ctx.case
    if ctx.decision == OBS:  # the record does not match what arrived: technical staff record it again
        ctx.audit_data["refused_record"] = case.delivery_record_number
        return
    if ctx.data.get("received") is not True:
        raise ValidationError({"data.received": [_("Confirm that you received every unit listed.")]})
    AssetItem.objects.filter(asset__transfer=case).update(
        status=AssetItem.Status.DELIVERED,
        holder=case.beneficiary,
        delivered_on=case.delivered_on,
        updated_at=timezone.now(),
    )
    budget.execute(case.budget_line, case.grant_amount, actor=ctx.actor, case=case)
    budget.pay(case.budget_line, case.grant_amount, actor=ctx.actor, case=case)
    case.executed_amount = case.paid_amount = case.grant_amount
    transition(case, "deliver", actor=ctx.actor, data={"record": case.delivery_record_number})
    transition(case, "start_followup", actor=ctx.actor)


_spec(Step.DELIVERY_ACCEPTANCE, (A, OBS), acceptance_fields, handle_acceptance)


# --- in money: payment order and confirmation --------------------------------------------------------


def payment_order_fields(task, case):
    return [
        Field(
            "amount",
            gettext_lazy("Amount to pay (Bs)"),
            "decimal",
            min=case.grant_amount,
            max=case.grant_amount,
            default=case.grant_amount,
        )
    ]


def handle_payment_order(ctx: StepContext):
    case = ctx.case
    if case.payment_ordered_at is not None:
        raise ValidationError({"detail": _("The payment of this transfer was already ordered.")})
    budget.execute(case.budget_line, case.grant_amount, actor=ctx.actor, case=case)
    case.executed_amount = case.grant_amount
    case.payment_ordered_by, case.payment_ordered_at = ctx.actor, timezone.now()
    case.save()
    ctx.audit_data["amount"] = case.grant_amount


_spec(Step.PAYMENT_ORDER, (A,), payment_order_fields, handle_payment_order)


def payment_confirmation_fields(task, case):
    today = timezone.localdate()
    return [
        Field("payment_reference", gettext_lazy("Bank transfer reference"), "string"),
        Field("paid_on", gettext_lazy("Paid on"), "date", max=today, default=today),
        c31_field(),  # last: the fields before it keep their places
    ]


def handle_payment_confirmation(ctx: StepContext):
    case = ctx.case
    reference = ctx.data["payment_reference"][:60]
    c31 = step_c31(ctx)
    payments.record_reference(reference, case)
    if case.payment_ordered_at is None or case.paid_amount:
        raise ValidationError({"detail": _("No payment of this transfer is awaiting confirmation.")})
    budget.pay(case.budget_line, case.grant_amount, actor=ctx.actor, case=case, c31_reference=c31)
    if c31:
        ctx.audit_data["c31_reference"] = c31
    case.payment_reference, case.paid_on, case.paid_amount = reference, ctx.data["paid_on"], case.grant_amount
    # The applicant is told it was paid (its one payment, and the amount), after commit.
    notifications.after_payment(
        case_type=KIND,
        case_id=case.pk,
        case_code=case.code,
        unit_id=case.beneficiary_id,
        number=1,
        amount=case.grant_amount,
        reference=reference,
    )
    transition(case, "deliver", actor=ctx.actor, data={"payment_reference": reference})
    transition(case, "start_followup", actor=ctx.actor)


_spec(Step.PAYMENT_CONFIRMATION, (A,), payment_confirmation_fields, handle_payment_confirmation)


# --- follow-up visits and reversion ------------------------------------------------------------------

ITEM_STATUSES = [
    [status.value, status.label]
    for status in (AssetItem.Status.IN_USE, AssetItem.Status.NOT_FOUND, AssetItem.Status.MISUSED)
]


def followup_fields(task, case):
    today = timezone.localdate()
    fields = [
        Field("visited_on", gettext_lazy("Visited on"), "date", max=today, default=today),
        Field("findings", gettext_lazy("Findings"), "string"),
    ]
    if case.is_in_kind:
        items = [i for i in _items(case) if i.status != AssetItem.Status.RETURNED]
        fields.append(
            Field(
                "items",
                gettext_lazy("Each unit, as found"),
                "list",
                min=len(items),
                max=len(items),
                items=[
                    Field("unit", gettext_lazy("Unit"), "integer", choices=_unit_choices(items)),
                    Field("status", gettext_lazy("Status"), "string", choices=ITEM_STATUSES),
                ],
                default=[{"unit": i.pk, "status": AssetItem.Status.IN_USE.value} for i in items],
            )
        )
    return fields


def handle_followup(ctx: StepContext):
    """approve: used as agreed → closed; observe: another visit is needed; reject: misuse found →
    reversion (finance recovers the money or the assets)."""
    case = ctx.case
    rows = ctx.data.get("items", [])
    if case.is_in_kind:
        items = {i.pk: i for i in _items(case) if i.status != AssetItem.Status.RETURNED}
        if sorted(r["unit"] for r in rows) != sorted(items):
            raise ValidationError({"data.items": [_("Report on every unit of the transfer exactly once.")]})
        if ctx.decision == A and any(r["status"] != AssetItem.Status.IN_USE for r in rows):
            raise ValidationError(
                {"data.items": [_("A unit was not found or misused: observe or report the misuse instead.")]}
            )
        for row in rows:
            item = items[row["unit"]]
            item.status = row["status"]
            item.save(update_fields=["status", "updated_at"])
    FollowupVisit.objects.create(
        transfer=case,
        task_id=ctx.task.pk,
        visited_on=ctx.data["visited_on"],
        findings=ctx.data["findings"],
        use_verified=ctx.decision == A,
        items=rows,
        visitor=ctx.on_behalf_of or ctx.actor,
    )
    if ctx.decision == A:
        record = papers.issue(ctx, official_pdf.CLOSEOUT_RECORD, papers.closeout)
        transition(
            case,
            "close",
            actor=ctx.actor,
            data={"visited_on": ctx.data["visited_on"], "closeout_record": official.audit_data(record)},
        )
    elif ctx.decision == R:
        case.reversion_reason = ctx.comment
        case.save()
        ctx.audit_data["reversion"] = True


_spec(Step.FOLLOWUP_VISIT, (A, OBS, R), followup_fields, handle_followup)


def _flagged_items(case):
    return [i for i in _items(case) if i.status in (AssetItem.Status.NOT_FOUND, AssetItem.Status.MISUSED)]


def reversion_fields(task, case):
    recoverable = case.paid_amount - case.recovered_amount
    fields = [
        Field("reference", gettext_lazy("Deposit or return record reference"), "string"),
    ]
    if case.is_in_kind:
        flagged = _flagged_items(case)
        value = sum((i.asset.unit_value for i in flagged), Decimal("0.00"))
        fields.append(
            Field(
                "items",
                gettext_lazy("Units returned to the agency"),
                "list",
                min=0,
                max=len(flagged),
                items=[Field("unit", gettext_lazy("Unit"), "integer", choices=_unit_choices(flagged))],
                default=[{"unit": i.pk} for i in flagged],
            )
        )
        default = min(value, recoverable)
    else:
        default = recoverable
    fields.append(
        Field(
            "recovered_amount",
            gettext_lazy("Value recovered (Bs)"),
            "decimal",
            min=0,
            max=recoverable,
            default=default,
        )
    )
    return fields


def handle_reversion(ctx: StepContext):
    case = ctx.case
    amount = ctx.data["recovered_amount"]
    if case.is_in_kind:
        flagged = {i.pk: i for i in _flagged_items(case)}
        returned = [r["unit"] for r in ctx.data.get("items", [])]
        if len(set(returned)) != len(returned) or not set(returned) <= set(flagged):
            raise ValidationError({"data.items": [_("List only units found missing or misused, once each.")]})
        value = sum((flagged[pk].asset.unit_value for pk in returned), Decimal("0.00"))
        if amount > value:
            raise ValidationError(
                {
                    "data.recovered_amount": [
                        _("The units returned are worth Bs %(value)s; you cannot record more.")
                        % {"value": f"{value:.2f}"}
                    ]
                }
            )
        AssetItem.objects.filter(pk__in=returned).update(
            status=AssetItem.Status.RETURNED, holder=None, updated_at=timezone.now()
        )
    if amount > 0:
        budget.refund(case.budget_line, amount, actor=ctx.actor, case=case)
    case.recovered_amount += amount
    transition(
        case,
        "revert",
        actor=ctx.actor,
        data={"recovered": amount, "reference": ctx.data["reference"], "reason": case.reversion_reason},
    )


_spec(Step.RECOVERY, (A,), reversion_fields, handle_reversion)
