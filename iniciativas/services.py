"""Writes on productive initiatives. Every state change goes through ``workflows.services.transition``
(permission, FSM, exit hooks, audit entry and the flow in step, in the caller's transaction); human
steps are decided via ``approvals.services.complete_task`` whose handlers live in ``iniciativas.steps``."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

import audit
from audit.actions import AuditAction
from cases import documents
from cases.errors import Conflict
from cases.permissions import require
from workflows.services import case_action, next_case_code, transition

from . import conditions
from .conditions import amount_to_recover
from .models import (
    FINAL_STATES,
    TRANSITIONS,
    Call,
    Document,
    DocumentKind,
    Initiative,
    InitiativeState,
    Recovery,
)

S = InitiativeState

TRANSITION_ACTIONS = {
    "submit": AuditAction.INITIATIVE_SUBMITTED,
    "observe": AuditAction.INITIATIVE_OBSERVED,
    "answer": AuditAction.INITIATIVE_ANSWERED,
    "admit": AuditAction.INITIATIVE_ADMITTED,
    "pass_evaluation": AuditAction.INITIATIVE_EVALUATED,
    "approve": AuditAction.INITIATIVE_APPROVED,
    "sign_agreement": AuditAction.INITIATIVE_AGREEMENT_SIGNED,
    "start_execution": AuditAction.INITIATIVE_EXECUTION_STARTED,
    "start_closeout": AuditAction.INITIATIVE_CLOSEOUT_STARTED,
    "close": AuditAction.INITIATIVE_CLOSED,
    "reject": AuditAction.INITIATIVE_REJECTED,
    "withdraw": AuditAction.INITIATIVE_WITHDRAWN,
    "abandon": AuditAction.INITIATIVE_ABANDONED,
    "cancel": AuditAction.INITIATIVE_CANCELLED,
    "start_recovery": AuditAction.INITIATIVE_RECOVERY_STARTED,
    "recover": AuditAction.INITIATIVE_RECOVERED,
}

EDITABLE_FIELDS = ("title", "summary", "department", "requested_amount", "counterpart_amount")


def _lock(initiative: Initiative | int) -> Initiative:
    pk = initiative.pk if isinstance(initiative, Initiative) else initiative
    return Initiative.objects.select_for_update().select_related("call", "unit").get(pk=pk)


def _money(value, field: str) -> Decimal:
    from cases.money import clean_amount

    return clean_amount(value, field)


# --- drafts ------------------------------------------------------------------------------------------


@transaction.atomic
def create_initiative(
    *, actor, unit, call: Call, title, summary, department, requested_amount, counterpart_amount
) -> Initiative:
    require(actor, "iniciativas.create", unit)
    from registry.services import department_from

    errors = {}
    amounts = {}
    for field, value in (("requested_amount", requested_amount), ("counterpart_amount", counterpart_amount)):
        try:
            amounts[field] = _money(value, field)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        dept = department_from(department)
    except ValidationError as exc:
        errors.update({"department": exc.messages})
    if not (title or "").strip():
        errors["title"] = [_("Give the initiative a title.")]
    if not (summary or "").strip():
        errors["summary"] = [_("Describe the initiative in a few lines.")]
    if not call.is_open():
        errors["call"] = [_("The call %(code)s is not open.") % {"code": call.code}]
    if errors:
        raise ValidationError(errors)
    initiative = Initiative(
        code=next_case_code("INI"),
        call=call,
        unit=unit,
        department=dept,
        title=title.strip()[:200],
        summary=summary.strip(),
        requested_amount=amounts["requested_amount"],
        counterpart_amount=amounts["counterpart_amount"],
        created_by=actor,
    )
    initiative.full_clean(exclude=["state"])
    initiative.save()
    audit.record(
        AuditAction.INITIATIVE_CREATED,
        actor=actor,
        subject=initiative,
        data={
            "call": call.code,
            "unit": unit.pk,
            "requested_amount": initiative.requested_amount,
            "counterpart_amount": initiative.counterpart_amount,
        },
    )
    return initiative


@transaction.atomic
def update_draft(initiative: Initiative, *, actor, **fields) -> Initiative:
    initiative = _lock(initiative)
    require(actor, "iniciativas.edit", initiative)
    if initiative.state not in (S.DRAFT, S.OBSERVED):
        raise Conflict(_("Only a draft or an observed initiative can be edited."))
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError({f: [_("This field cannot be changed.")] for f in sorted(unknown)})
    changes, errors = {}, {}
    for field, value in fields.items():
        try:
            if field in ("requested_amount", "counterpart_amount"):
                value = _money(value, field)
            elif field == "department":
                from registry.services import department_from

                value = department_from(value)
            elif not str(value or "").strip():
                raise ValidationError({field: [_("This field is required.")]})
            else:
                value = str(value).strip()
        except ValidationError as exc:
            errors.update(exc.message_dict if hasattr(exc, "error_dict") else {field: exc.messages})
            continue
        if getattr(initiative, field) != value:
            changes[field] = value
    if errors:
        raise ValidationError(errors)
    for field, value in changes.items():
        setattr(initiative, field, value)
    if changes:
        initiative.save()
        audit.record(
            AuditAction.INITIATIVE_UPDATED,
            actor=actor,
            subject=initiative,
            data={k: (v.code if hasattr(v, "code") else v) for k, v in changes.items()},
        )
    return initiative


@transaction.atomic
def upload_document(initiative: Initiative, *, actor, kind: str, uploaded_file) -> Document:
    """Store a PDF/JPEG/PNG (checked by content), size-limited, with its SHA-256 in the trail."""
    initiative = _lock(initiative)
    require(actor, "iniciativas.upload", initiative)
    if initiative.state in FINAL_STATES:
        raise Conflict(_("This case is finished; no more documents can be added."))
    upload = documents.receive(kind, DocumentKind.values, uploaded_file)
    document = documents.store(Document(initiative=initiative, kind=kind, uploaded_by=actor), upload)
    audit.record(AuditAction.DOCUMENT_UPLOADED, actor=actor, subject=initiative, data=document.audit_data())
    return document


def missing_for_submission(initiative: Initiative) -> dict[str, list[str]]:
    """What stands between a draft (or an observed case) and its submission, as field -> messages
    (empty: ready). The same check is the ``submit`` and ``answer`` transitions' condition."""
    return conditions.submission_problems(initiative)


def submit_initiative(initiative: Initiative, *, actor) -> Initiative:
    from .flow import InitiativeFlow

    with transaction.atomic():
        initiative = _lock(initiative)
        require(actor, "iniciativas.submit", initiative)
        if initiative.state != S.DRAFT:
            raise Conflict(_("Initiative %(code)s was already submitted.") % {"code": initiative.code})
        problems = missing_for_submission(initiative)
        if problems:
            raise ValidationError(problems)
        transition(initiative, "submit", actor=actor)
        InitiativeFlow.start.run(case=initiative)
        from approvals.notifications import after_case_started

        after_case_started("initiative", initiative.pk)  # after commit: whoever takes the first task
    return initiative


def withdraw_initiative(initiative: Initiative, *, actor, reason: str = "") -> Initiative:
    with case_action("initiative", initiative.pk) as initiative:
        require(actor, "iniciativas.withdraw", initiative)
        transition(initiative, "withdraw", actor=actor, data={"reason": reason})
    return initiative


CANCELLABLE_STATES = tuple(next(sources for name, sources, _t in TRANSITIONS if name == "cancel"))


def cancel_initiative(initiative: Initiative, *, actor, reason: str) -> Initiative:
    """The director cancels an approved or running initiative (e.g. misuse found): open tasks are
    cancelled, what is still reserved or committed goes back to the line (the kind's exit hook), and the
    recovery of what was paid begins (``in_recovery``); with nothing paid the case ends ``cancelled``.

    Refused (409) while a tranche is ordered and not yet confirmed: its amount is already accrued
    (executed) on the line and the ledger has no move that undoes an accrual, so finance confirms that
    payment first (then it counts in what is to be recovered)."""
    with case_action("initiative", initiative.pk) as initiative:
        require(actor, "iniciativas.cancel", initiative)
        if initiative.state not in CANCELLABLE_STATES:
            raise Conflict(
                _("Initiative %(code)s is %(state)s: it cannot be cancelled.")
                % {"code": initiative.code, "state": initiative.get_state_display()}
            )
        if not conditions.no_payment_pending(initiative):
            raise Conflict(_("A payment is ordered and not yet confirmed; confirm it before cancelling."))
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError({"reason": [_("Give the reasons for the cancellation.")]})
        initiative.cancellation_reason = reason[:2000]
        transition(initiative, "cancel", actor=actor, data={"reason": initiative.cancellation_reason})
        due = amount_to_recover(initiative)
        if due > 0:
            transition(initiative, "start_recovery", actor=actor, data={"to_recover": due})
    return initiative


def tranche_amounts(initiative: Initiative) -> list[Decimal]:
    """The approved amount (the requested one until it is fixed) split by the call's tranche plan; the
    last tranche takes the rounding."""
    granted = initiative.grant_amount
    plan = [Decimal(str(p)) for p in initiative.call.tranche_plan] or [Decimal(100)]
    amounts = [(granted * p / 100).quantize(Decimal("0.01")) for p in plan[:-1]]
    amounts.append(granted - sum(amounts, Decimal(0)))
    return amounts


@transaction.atomic
def record_recovery(initiative: Initiative, *, actor, amount, reference: str) -> Initiative:
    """Finance records one deposit of money recovered from a cancelled initiative (clawback): it goes
    back to the budget line (``budget.refunded``), and the case ends ``recovered`` once the deposits
    cover everything that was paid; a partial deposit leaves it ``in_recovery``."""
    from budget import services as budget
    from budget.services import bs

    initiative = _lock(initiative)
    require(actor, "iniciativas.recover", initiative)
    if initiative.state != S.IN_RECOVERY:
        raise Conflict(_("Initiative %(code)s is not in recovery.") % {"code": initiative.code})
    errors: dict[str, list[str]] = {}
    try:
        amount = _money(amount, "amount")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    reference = str(reference or "").strip()
    if not reference:
        errors["reference"] = [_("Give the deposit or receipt reference.")]
    elif len(reference) > 60:
        errors["reference"] = [_("Keep the reference under 60 characters.")]
    elif initiative.recoveries.filter(reference=reference).exists():
        errors["reference"] = [_("This reference was already recorded for this case.")]
    if errors:
        raise ValidationError(errors)
    due = amount_to_recover(initiative)
    outstanding = due - initiative.recovered_amount
    if amount > outstanding:
        raise ValidationError(
            {
                "amount": [
                    _("Only Bs %(outstanding)s remains to be recovered (Bs %(paid)s was paid).")
                    % {"outstanding": bs(outstanding), "paid": bs(due)}
                ]
            }
        )
    budget.refund(initiative.budget_line, amount, actor=actor, case=initiative)
    Recovery.objects.create(initiative=initiative, amount=amount, reference=reference, recorded_by=actor)
    initiative.recovered_amount += amount
    if initiative.recovered_amount >= due:
        deposits = [{"amount": r.amount, "reference": r.reference} for r in initiative.recoveries.all()]
        transition(
            initiative,
            "recover",
            actor=actor,
            data={
                "amount": amount,
                "reference": reference,
                "recovered": initiative.recovered_amount,
                "deposits": deposits,
            },
        )
    else:
        initiative.save(update_fields=["recovered_amount", "updated_at"])
        audit.record(
            AuditAction.INITIATIVE_RECOVERY_RECORDED,
            actor=actor,
            subject=initiative,
            data={
                "amount": amount,
                "reference": reference,
                "recovered": initiative.recovered_amount,
                "outstanding": due - initiative.recovered_amount,
            },
        )
    return initiative


@transaction.atomic
def create_call(
    *,
    actor,
    code: str,
    title: str,
    program,
    opens_on,
    closes_on,
    max_amount,
    min_counterpart_share,
    required_documents=(),
    rubric=(),
    threshold=Decimal("60"),
    evaluators: int = 2,
    disagreement_points=Decimal("20"),
    tranche_plan=(40, 40, 20),
    observation_days: int = 10,
) -> Call:
    """Open a call for proposals (administrators)."""
    require(actor, "iniciativas.manage_calls")
    errors: dict[str, list[str]] = {}
    rubric = [dict(c) for c in rubric]
    if rubric and sum(int(c.get("max", 0)) for c in rubric) != 100:
        errors["rubric"] = [_("The rubric's maximum points must add up to 100.")]
    if any(not c.get("code") or not c.get("label") for c in rubric):
        errors.setdefault("rubric", []).append(_("Each criterion needs a code and a label."))
    for c in rubric:  # what the evaluator reads under the criterion: optional, plain text
        c["text"] = str(c.get("text") or "").strip()
    if any(len(c["text"]) > 1000 for c in rubric):
        errors.setdefault("rubric", []).append(_("Keep each criterion's text under 1000 characters."))
    plan = [Decimal(str(p)) for p in tranche_plan]
    if not plan or sum(plan) != 100 or any(p <= 0 for p in plan):
        errors["tranche_plan"] = [_("The tranche percentages must be positive and add up to 100.")]
    unknown = set(required_documents) - set(DocumentKind.values)
    if unknown:
        errors["required_documents"] = [
            _("Unknown document kinds: %(kinds)s.") % {"kinds": ", ".join(unknown)}
        ]
    if errors:
        raise ValidationError(errors)
    call = Call(
        code=(code or "").strip(),
        title=(title or "").strip(),
        program=program,
        opens_on=opens_on,
        closes_on=closes_on,
        max_amount=_money(max_amount, "max_amount"),
        min_counterpart_share=Decimal(str(min_counterpart_share)),
        required_documents=list(required_documents),
        rubric=rubric,
        threshold=Decimal(str(threshold)),
        evaluators=evaluators,
        disagreement_points=Decimal(str(disagreement_points)),
        tranche_plan=[int(p) if p == int(p) else str(p) for p in plan],
        observation_days=observation_days,
    )
    call.full_clean()
    call.save()
    audit.record(
        AuditAction.CALL_OPENED,
        actor=actor,
        subject=call,
        data={"code": call.code, "program": program.code, "max_amount": call.max_amount},
    )
    return call
