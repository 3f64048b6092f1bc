"""Writes on price compensations. Every state change goes through ``workflows.services.transition``
(permission, FSM, exit hooks, audit entry, flow in step) inside one transaction: the agreement's
approval and the settlements' verification and payment are task decisions
(``approvals.services.complete_task``, handlers in ``compensations.steps``); ``verify_settlement``
and ``pay_settlement`` are the API's way to the same decisions; the declaration and the closing of an
agreement are direct actions here."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

import audit
from audit.actions import AuditAction
from budget.models import BudgetLine
from cases import documents
from cases.errors import Conflict
from cases.money import ZERO, bs, clean_amount
from cases.permissions import require
from cases.reach import clean_reach, correction, defaults_from_unit
from registry.models import Unit
from workflows.models import CaseTask
from workflows.services import case_action, next_case_code, transition

from .actions import CompensationAction
from .models import (
    AGREEMENT_KIND,
    HOLDS_CEILING,
    SETTLEMENT_KIND,
    AgreementState,
    CompensationAgreement,
    EvidenceKind,
    Settlement,
    SettlementDocument,
    SettlementState,
    month_end,
    settlement_amount,
)
from .steps import SETTLEMENT_PAYMENT, SETTLEMENT_VERIFICATION

MAX_RATE = Decimal("1000")
MAX_LITRES = Decimal("999999999999.99")
_MONTH = re.compile(r"^(\d{4})-(\d{2})(-01)?$")


# --- input --------------------------------------------------------------------------------------------


def clean_month(value, field: str) -> dt.date:
    """A month as ``YYYY-MM`` (or its first day, ``YYYY-MM-01``, or a date): its first day."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    match = _MONTH.match(str(value or "").strip())
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return dt.date(year, month, 1)
    raise ValidationError({field: [_("Enter a month as YYYY-MM, e.g. 2026-03.")]})


def _clean_decimal(value, field: str, places: int, maximum: Decimal, message: str) -> Decimal:
    if isinstance(value, (bool, float)):
        raise ValidationError({field: [message]})
    text = str(value if value is not None else "").strip()
    if not re.fullmatch(r"[0-9]{1,14}(\.[0-9]+)?", text):
        raise ValidationError({field: [message]})
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError({field: [message]}) from None
    if number <= 0:
        raise ValidationError({field: [_("Must be greater than zero.")]})
    if number.as_tuple().exponent < -places:  # type: ignore[operator]
        raise ValidationError({field: [_("Use at most %(n)s decimal places.") % {"n": places}]})
    if number > maximum:
        raise ValidationError({field: [_("The value is too large.")]})
    return number


def clean_rate(value) -> Decimal:
    return _clean_decimal(value, "rate", 4, MAX_RATE, _("Enter the rate per litre in Bs, e.g. 0.40."))


def clean_litres(value, field: str = "litres") -> Decimal:
    return _clean_decimal(value, field, 2, MAX_LITRES, _("Enter the litres as a number, e.g. 12500.50."))


def _collect(*cleaners) -> list:
    values, errors = [], {}
    for clean in cleaners:
        try:
            values.append(clean())
        except ValidationError as exc:
            values.append(None)
            errors.update(exc.error_dict)
    if errors:
        raise ValidationError(errors)
    return values


# --- reads under lock ---------------------------------------------------------------------------------


def lock_agreement(pk: int) -> CompensationAgreement:
    return (
        CompensationAgreement.objects.select_for_update(of=("self",))
        .select_related("unit", "budget_line", "program")
        .get(pk=pk)
    )


def ceiling_used(agreement: CompensationAgreement, *, exclude: int | None = None) -> Decimal:
    """What the agreement's verified and paid settlements take of its ceiling."""
    rows = Settlement.objects.filter(agreement=agreement, state__in=HOLDS_CEILING)
    if exclude is not None:
        rows = rows.exclude(pk=exclude)
    return rows.aggregate(total=Sum("amount"))["total"] or ZERO


def ceiling_refusal(agreement: CompensationAgreement, settlement: Settlement) -> str | None:
    """Why ``settlement``'s amount does not fit in what is left of the ceiling (``None``: it fits).
    Read with the agreement's row locked, so concurrent verifications see each other."""
    remaining = agreement.ceiling - ceiling_used(agreement, exclude=settlement.pk)
    if settlement.amount > remaining:
        return _(
            "Bs %(amount)s exceeds what is left of the agreement's ceiling: "
            "Bs %(remaining)s of Bs %(ceiling)s."
        ) % {
            "amount": bs(settlement.amount),
            "remaining": bs(max(remaining, ZERO)),
            "ceiling": bs(agreement.ceiling),
        }
    return None


def _line_by_id(value) -> BudgetLine | None:
    try:
        pk = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return BudgetLine.objects.filter(pk=pk).first() if 0 < pk < 2**63 else None


# --- the agreement ------------------------------------------------------------------------------------


def create_agreement(
    *, actor, unit: Unit, budget_line, rate, first_month, last_month, ceiling, reach: dict | None = None
) -> CompensationAgreement:
    """An agreement with a dairy company, sent at once to its approval (budget certification, then the
    director's resolution). PROLECHE technical staff or the director. ``reach``: its beneficiaries
    (the producers who supply the company) and placement (any of ``cases.reach.REACH_FIELDS``); what
    is not given comes from the unit (``defaults_from_unit``: its municipality and sector, the basin
    of its department). Nothing is written when any field is wrong."""
    from approvals.notifications import after_case_started

    from .flow import AgreementFlow

    require(actor, "compensations.create_agreement")
    errors: dict[str, list[str]] = {}
    period_read = False
    try:
        rate, first, last, ceiling = _collect(
            lambda: clean_rate(rate),
            lambda: clean_month(first_month, "first_month"),
            lambda: clean_month(last_month, "last_month"),
            lambda: clean_amount(ceiling, "ceiling"),
        )
        period_read = True
    except ValidationError as exc:  # reported with the other fields' errors, the reach's included
        errors.update(exc.message_dict)
    if not isinstance(unit, Unit):
        errors["unit"] = [_("Choose a registered productive unit.")]
    elif unit.sector != Unit.Sector.DAIRY:
        errors["unit"] = [_("Price compensation is paid only to units of the dairy sector.")]
    line = budget_line if isinstance(budget_line, BudgetLine) else _line_by_id(budget_line)
    if line is None:
        errors["budget_line"] = [_("Choose a budget line.")]
    if period_read and last < first:
        errors["last_month"] = [_("The last month cannot come before the first.")]
    placed: dict = {}
    if isinstance(unit, Unit) and line is not None:
        program_code, department_code = line.program.code, unit.department.code
        try:
            placed = clean_reach(
                reach or {},
                current=defaults_from_unit(unit, program_code=program_code, department_code=department_code),
                program_code=program_code,
                department_code=department_code,
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors or line is None:
        raise ValidationError(errors)
    with transaction.atomic():
        if CompensationAgreement.objects.filter(
            unit=unit,
            state__in=(AgreementState.REQUESTED, AgreementState.CERTIFIED, AgreementState.ACTIVE),
            first_month__lte=last,
            last_month__gte=first,
        ).exists():
            raise ValidationError(
                {"first_month": [_("This unit already has an agreement covering part of that period.")]}
            )
        agreement = CompensationAgreement.objects.create(
            code=next_case_code("CPA"),
            unit=unit,
            department_id=unit.department_id,
            program_id=line.program_id,
            budget_line=line,
            rate=rate,
            first_month=first,
            last_month=last,
            ceiling=ceiling,
            created_by=actor,
            **placed,
        )
        audit.record(
            CompensationAction.AGREEMENT_CREATED,
            actor=actor,
            subject=agreement,
            data={
                "unit": unit.pk,
                "line": line.pk,
                "rate": rate,
                "first_month": first,
                "last_month": last,
                "ceiling": ceiling,
                **placed,
            },
        )
        AgreementFlow.start.run(case=agreement)
        after_case_started(AGREEMENT_KIND, agreement.pk)
    return agreement


def close_agreement(agreement: CompensationAgreement, *, actor, reason: str = "") -> CompensationAgreement:
    """End an agreement in force (the director): what its settlements did not use of the ceiling is
    released on the line (the kind's exit hook). Refused while a settlement waits for its money."""
    with case_action(AGREEMENT_KIND, agreement.pk) as agreement:
        transition(agreement, "close", actor=actor, data={"reason": (reason or "").strip()[:2000]})
    return agreement


# --- beneficiaries and placement, corrected by staff ---------------------------------------------------


@transaction.atomic
def correct_reach(agreement: CompensationAgreement, *, actor, reason: str, **values) -> CompensationAgreement:
    """PROLECHE technical staff (evaluators, the director, within their department scope; never a
    member of the dairy company) correct the beneficiaries or the placement of an agreement, in any
    state: checked as at its creation (``cases.reach.clean_reach``), one
    ``compensation.reach_corrected`` entry with the values before and after and the reason. Nothing
    changes when nothing differs."""
    agreement = lock_agreement(agreement.pk)
    require(actor, "compensations.correct_reach", agreement)
    changes = correction(agreement, values, program_code=agreement.program.code, reason=reason)
    if changes:
        before = {field: getattr(agreement, field) for field in changes}
        for field, value in changes.items():
            setattr(agreement, field, value)
        agreement.save(update_fields=[*changes, "updated_at"])
        audit.record(
            CompensationAction.REACH_CORRECTED,
            actor=actor,
            subject=agreement,
            data={"before": before, "after": changes, "reason": reason.strip()},
        )
    return agreement


# --- settlements --------------------------------------------------------------------------------------


def declare_settlement(
    agreement: CompensationAgreement,
    *,
    actor,
    month,
    litres,
    evidence,
    evidence_kind=EvidenceKind.COLLECTION_RECORD,
) -> Settlement:
    """The dairy company declares the litres of one month of its agreement in force, with their evidence
    (a PDF, JPEG or PNG). One settlement per agreement and month, for months of the agreement's period
    that have ended."""
    from approvals.notifications import after_case_started

    from .flow import SettlementFlow

    require(actor, "compensations.declare", agreement)
    month, litres, upload = _collect(
        lambda: clean_month(month, "month"),
        lambda: clean_litres(litres),
        lambda: documents.receive(evidence_kind, EvidenceKind.values, evidence),
    )
    with transaction.atomic():
        agreement = lock_agreement(agreement.pk)
        if agreement.state != AgreementState.ACTIVE:
            raise Conflict(_("Agreement %(code)s is not in force.") % {"code": agreement.code})
        if not agreement.first_month <= month <= agreement.last_month:
            raise ValidationError(
                {
                    "month": [
                        _("Choose a month of the agreement's period, %(first)s to %(last)s.")
                        % {"first": f"{agreement.first_month:%m/%Y}", "last": f"{agreement.last_month:%m/%Y}"}
                    ]
                }
            )
        if month_end(month) >= timezone.localdate():
            raise ValidationError({"month": [_("A month can be declared only once it has ended.")]})
        if (
            Settlement.objects.filter(agreement=agreement, month=month)
            .exclude(state=SettlementState.REJECTED)
            .exists()
        ):
            raise ValidationError({"month": [_("This month was already declared.")]})
        try:
            with transaction.atomic():
                settlement = Settlement.objects.create(
                    code=next_case_code("LIQ"),
                    agreement=agreement,
                    month=month,
                    declared_litres=litres,
                    litres=litres,
                    amount=settlement_amount(litres, agreement.rate),
                    declared_by=actor,
                )
        except IntegrityError:
            raise ValidationError({"month": [_("This month was already declared.")]}) from None
        if settlement.amount <= 0:  # pragma: no cover - a check constraint refuses it first
            raise ValidationError({"litres": [_("Must be greater than zero.")]})
        document = documents.store(
            SettlementDocument(settlement=settlement, kind=evidence_kind, uploaded_by=actor), upload
        )
        audit.record(
            CompensationAction.SETTLEMENT_DECLARED,
            actor=actor,
            subject=settlement,
            data={
                "agreement": agreement.code,
                "month": month,
                "litres": litres,
                "rate": agreement.rate,
                "amount": settlement.amount,
            },
        )
        audit.record(
            AuditAction.DOCUMENT_UPLOADED, actor=actor, subject=settlement, data=document.audit_data()
        )
        SettlementFlow.start.run(case=settlement)
        after_case_started(SETTLEMENT_KIND, settlement.pk)
    return settlement


def _open_task(settlement: Settlement, step: str) -> CaseTask | None:
    return (
        CaseTask.objects.filter(case_type=SETTLEMENT_KIND, case_id=settlement.pk, step=step, is_open=True)
        .order_by("pk")
        .first()
    )


def verify_settlement(
    settlement: Settlement,
    *,
    actor,
    approve: bool = True,
    litres=None,
    correction_reason: str = "",
    reason: str = "",
) -> Settlement:
    """Decide the settlement's verification task (the inbox's decision, for the API): approve, perhaps
    correcting the litres with the reason, or reject with the reason."""
    from approvals.services import complete_task

    task = _open_task(settlement, SETTLEMENT_VERIFICATION)
    if task is None:
        raise Conflict(
            _("Settlement %(code)s is %(state)s: it is not awaiting verification.")
            % {"code": settlement.code, "state": settlement.get_state_display()}
        )
    data: dict = {}
    if approve:
        if litres not in (None, ""):
            data["litres"] = str(litres)
        if correction_reason:
            data["correction_reason"] = correction_reason
    complete_task(
        task.pk, actor=actor, decision="approve" if approve else "reject", comment=reason, data=data
    )
    return Settlement.objects.select_related("agreement").get(pk=settlement.pk)


def pay_settlement(
    settlement: Settlement, *, actor, payment_reference: str, paid_on=None, c31_reference=""
) -> Settlement:
    """Confirm the settlement's payment (its payment task, for the API). Idempotent: once paid, the
    same reference again answers the settlement as it is (nothing moves twice); another reference is
    refused. Two requests at once: one decides the task, the other finds it decided (the task's
    version, the flow lock) and answers as above."""
    from approvals.services import complete_task

    reference = str(payment_reference or "").strip()[:60]
    if not reference:
        raise ValidationError({"payment_reference": [_("This field is required.")]})

    def already_paid() -> Settlement | None:
        current = Settlement.objects.select_related("agreement").get(pk=settlement.pk)
        if current.state != SettlementState.PAID:
            return None
        if current.payment_reference == reference:
            return current
        raise Conflict(
            _("Settlement %(code)s was already paid with reference %(reference)s.")
            % {"code": current.code, "reference": current.payment_reference}
        )

    done = already_paid()
    if done is not None:
        return done
    task = _open_task(settlement, SETTLEMENT_PAYMENT)
    if task is None:
        raise Conflict(
            _("Settlement %(code)s is %(state)s: it is not awaiting payment.")
            % {"code": settlement.code, "state": settlement.get_state_display()}
        )
    data = {"payment_reference": reference, "paid_on": str(paid_on or timezone.localdate())}
    if c31_reference:
        data["c31_reference"] = c31_reference
    try:
        complete_task(task.pk, actor=actor, decision="approve", data=data)
    except Conflict:
        done = already_paid()  # a concurrent confirmation of the same payment won
        if done is None:
            raise
        return done
    return Settlement.objects.select_related("agreement").get(pk=settlement.pk)
