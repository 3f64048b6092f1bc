"""Writes on productive initiatives. Every state change goes through ``workflows.services.transition``
(permission, FSM, exit hooks, audit entry and the flow in step, in the caller's transaction); human
steps are decided via ``approvals.services.complete_task`` whose handlers live in ``iniciativas.steps``."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from audit.actions import AuditAction
from cases import documents
from cases.errors import Conflict
from cases.permissions import require
from cases.reach import REACH_FIELDS, clean_reach, defaults_from_unit, reach_of
from workflows import answering
from workflows.services import case_action, next_case_code, transition

from . import conditions
from .call_services import create_call, update_call  # the calls' writes, re-exported
from .conditions import amount_to_recover
from .models import (
    FINAL_STATES,
    KIND,
    MANY_PER_CASE,
    TRANSITIONS,
    Call,
    Document,
    DocumentKind,
    Initiative,
    InitiativeState,
    Recovery,
)

S = InitiativeState
__all__ = ["create_call", "update_call"]  # re-exported: the calls' writes live in ``call_services``

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

EDITABLE_FIELDS = ("title", "summary", "department", "requested_amount", "counterpart_amount", *REACH_FIELDS)


def _lock(initiative: Initiative | int) -> Initiative:
    pk = initiative.pk if isinstance(initiative, Initiative) else initiative
    return Initiative.objects.select_for_update().select_related("call", "unit").get(pk=pk)


def _money(value, field: str) -> Decimal:
    from cases.money import clean_amount

    return clean_amount(value, field)


# --- drafts ------------------------------------------------------------------------------------------


@transaction.atomic
def create_initiative(
    *,
    actor,
    unit,
    call: Call,
    title,
    summary,
    department,
    requested_amount,
    counterpart_amount,
    reach: dict | None = None,
) -> Initiative:
    """A draft of ``unit`` under ``call``. ``reach``: its beneficiaries and placement (any of
    ``cases.reach.REACH_FIELDS``); what is not given comes from the unit (``defaults_from_unit``)."""
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
    if not call.is_current:  # a draft always starts under the call's current version
        call = Call.objects.get(code=call.code, is_current=True)
    if not call.is_open():
        errors["call"] = [conditions.call_closed_message(call)]
    placed: dict = {}
    if "department" not in errors:
        program = call.program.code
        try:
            placed = clean_reach(
                reach or {},
                current=defaults_from_unit(unit, program_code=program, department_code=dept.code),
                program_code=program,
                department_code=dept.code,
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    initiative = Initiative(
        **placed,
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
            "department": dept.code,
            **placed,
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
    reach_values = {f: fields.pop(f) for f in REACH_FIELDS if f in fields}
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
    department = changes.get("department", initiative.department)
    if reach_values or "department" in changes:
        try:
            placed = clean_reach(
                reach_values,
                current=reach_of(initiative),
                program_code=initiative.call.program.code,
                department_code=department.code,
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
        else:
            changes.update({f: v for f, v in placed.items() if getattr(initiative, f) != v})
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


def documents_may_change(initiative: Initiative) -> bool:
    """Whether the applicant may add a document, or a new version of one, now: always in a draft;
    after submission only in the states its call allows (``Call.document_states``); never once
    finished."""
    if initiative.state == S.DRAFT:
        return True
    if initiative.state in FINAL_STATES:
        return False
    return initiative.state in (initiative.call.document_states or [])


def documents_closed_message(initiative: Initiative) -> str:
    if initiative.state in FINAL_STATES:
        return _("This case is finished; no more documents can be added.")
    return _(
        "Initiative %(code)s is %(state)s: its call does not allow documents to be added or replaced "
        "in this state."
    ) % {"code": initiative.code, "state": initiative.get_state_display()}


@transaction.atomic
def upload_document(initiative: Initiative, *, actor, kind: str, uploaded_file) -> Document:
    """Store a PDF/JPEG/PNG (checked by content), size-limited, with its SHA-256 in the trail.

    A kind the case keeps one of (all but ``MANY_PER_CASE``) gets a new version: the current document
    of that kind is marked replaced (kept, downloadable) in the same transaction, and the entry says
    which one it replaces and the version number."""
    initiative = _lock(initiative)
    require(actor, "iniciativas.upload", initiative)
    if not documents_may_change(initiative):
        raise Conflict(documents_closed_message(initiative))
    upload = documents.receive(kind, DocumentKind.values, uploaded_file)
    previous = None
    if kind not in MANY_PER_CASE:
        previous = (
            initiative.documents.select_for_update()
            .filter(kind=kind, replaced_at__isnull=True)
            .order_by("-uploaded_at", "-pk")
            .first()
        )
    document = documents.store(Document(initiative=initiative, kind=kind, uploaded_by=actor), upload)
    data = document.audit_data()
    if previous is not None:
        Document.objects.filter(kind=kind, initiative=initiative, replaced_at__isnull=True).exclude(
            pk=document.pk
        ).update(replaced_at=timezone.now(), replaced_by=document)
        data["replaces"] = previous.pk
        data["version"] = initiative.documents.filter(kind=kind).count()
    audit.record(AuditAction.DOCUMENT_UPLOADED, actor=actor, subject=initiative, data=data)
    return document


def _take_current_version(initiative: Initiative, *, actor) -> None:
    """A draft is submitted under its call's current version (``call_services.update_call``): if the
    call got a new version since the draft was written, the draft moves to it (the move is in the
    submission's audit entry, ``call_version``). Cases already submitted never move."""
    current = Call.objects.filter(code=initiative.call.code, is_current=True).first()
    if current is not None and current.pk != initiative.call_id:
        initiative.call = current
        initiative.save(update_fields=["call", "updated_at"])


def no_observation(initiative: Initiative) -> str:
    return _("Initiative %(code)s has no observation waiting for an answer.") % {"code": initiative.code}


def open_observation_task(initiative: Initiative):
    """The applicant's open ``answer_observation`` task of the initiative, or ``None``."""
    return answering.open_observation_task(KIND, initiative.pk)


def answer_observation(
    initiative: Initiative, *, actor, answer: str, fields: dict | None = None, files: dict | None = None
) -> Initiative:
    """The applicant's whole answer to an observation, in ONE transaction (``workflows.answering``):
    the corrected fields (``update_draft``, only while the case is ``observed``), the new documents or
    new versions (``upload_document``, ``files``: kind -> uploaded file) and the answer itself (the
    ``answer_observation`` task decided through ``approvals.services.complete_task``, which sends the
    case back to admissibility when it meets every rule of a submission). Any error rolls back all of
    it: nothing is half-answered. A bad file is reported on ``document_<kind>``."""
    require(actor, "iniciativas.edit", initiative)

    def correct(case: Initiative) -> None:
        if fields:  # ``update_draft`` refuses a case that is not observed (an approval-chain observation)
            update_draft(case, actor=actor, **fields)

    return answering.answer_observation(
        KIND,
        initiative,
        actor=actor,
        answer=answer,
        files=files,
        upload_document=upload_document,
        no_task=no_observation(initiative),
        correct=correct,
    )


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
        _take_current_version(initiative, actor=actor)
        problems = missing_for_submission(initiative)
        if problems:
            raise ValidationError(problems)
        transition(
            initiative,
            "submit",
            actor=actor,
            data={"call": initiative.call.code, "call_version": initiative.call.version},
        )
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


# --- beneficiaries and placement, corrected by staff ---------------------------------------------------

REACH_CORRECTED = "initiative.reach_corrected"


@transaction.atomic
def correct_reach(initiative: Initiative, *, actor, reason: str, **values) -> Initiative:
    """Technical staff (evaluators, the director, within their department scope) correct the
    beneficiaries or the placement of a submitted initiative (a draft is the applicant's to edit):
    checked as a draft's (``cases.reach.clean_reach``), one ``initiative.reach_corrected`` entry with
    the values before and after and the reason. Nothing changes when nothing differs."""
    from cases.reach import correction

    initiative = _lock(initiative)
    require(actor, "iniciativas.correct_reach", initiative)
    if initiative.state == S.DRAFT:
        raise Conflict(_("A draft is corrected by its applicant."))
    changes = correction(initiative, values, program_code=initiative.call.program.code, reason=reason)
    if changes:
        before = {field: getattr(initiative, field) for field in changes}
        for field, value in changes.items():
            setattr(initiative, field, value)
        initiative.save(update_fields=[*changes, "updated_at"])
        audit.record(
            REACH_CORRECTED,
            actor=actor,
            subject=initiative,
            data={"before": before, "after": changes, "reason": reason.strip()},
        )
    return initiative
