"""Every write of the reports: the goals (metas) of the annual operating plan (POA), their progress
entered by hand with its evidence, and who manages a program's plan.

One service function per write, as everywhere in Expediente: it checks the permission
(``reports.manage_goals`` on the goal's program: administrators and the program's managers),
validates, saves and writes one audit entry, in the same transaction. The admin, the staff pages and
the API call these functions; nothing else writes these rows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

import audit
from audit.actions import AuditAction
from budget.models import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, Program
from cases import documents
from cases.clock import today
from cases.permissions import require

from .models import AGENCY_INDICATORS, MONEY_INDICATORS, Goal, GoalEvidence, ProgressEntry

MAX_TARGET = Decimal("99999999999999.99")  # DecimalField(max_digits=16, decimal_places=2)
CENT = Decimal("0.01")

# Audit action codes of the goals (audit/actions.py; the others registered in reports/apps.py).
GOAL_SAVED = AuditAction.GOAL_SAVED
GOAL_DELETED = AuditAction.GOAL_DELETED
PROGRESS_RECORDED = "goal.progress_recorded"


def duplicate_message() -> str:
    return _("A goal of this program and fiscal year is already computed from this figure.")


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: [ValidationError(message, code=code)]})


def _decimal(value, field: str, example: str) -> Decimal:
    if isinstance(value, (bool, float)):
        raise _error(field, _("Enter a number, e.g. %(example)s.") % {"example": example}, "invalid")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise _error(
            field, _("Enter a number, e.g. %(example)s.") % {"example": example}, "invalid"
        ) from None
    if not number.is_finite():
        raise _error(field, _("Enter a number, e.g. %(example)s.") % {"example": example}, "invalid")
    if abs(number) > MAX_TARGET:
        raise _error(field, _("The number is too large."), "max_value")
    if number != number.quantize(CENT):
        raise _error(field, _("Enter the number with at most 2 decimal places."), "max_decimal_places")
    return number.quantize(CENT)


def clean_target(value, computed_from: str = "") -> Decimal:
    """A positive decimal (never a float) with at most 2 places; a whole number for a goal computed
    from a count of cases or units."""
    target = _decimal(value, "target", "1500")
    if target <= 0:
        raise _error("target", _("The target must be greater than zero."), "min_value")
    if computed_from and computed_from not in MONEY_INDICATORS and target != target.to_integral_value():
        raise _error("target", _("This indicator counts cases or units: enter a whole number."), "integer")
    return target


def _snapshot(goal: Goal) -> dict:
    return {
        "fiscal_year": goal.fiscal_year,
        "program": goal.program.code if goal.program is not None else "",
        "indicator": goal.indicator,
        "unit": goal.unit,
        "target": goal.target,
        "baseline": goal.baseline,
        "computed_from": goal.computed_from,
        "description": goal.description,
    }


def _text(value, field: str, limit: int, *, required: bool) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        raise _error(field, _("This field is required."), "required")
    if len(text) > limit:
        raise _error(field, _("Use at most %(max)s characters.") % {"max": limit}, "max_length")
    return text


@transaction.atomic
def save_goal(
    *,
    actor,
    fiscal_year,
    program: Program | None,
    indicator: str,
    unit: str,
    target,
    baseline=None,
    computed_from: str | None = None,
    description: str = "",
    goal_id: int | None = None,
) -> Goal:
    """Create a goal (``goal_id=None``) or change one; audited with the figures before and after.

    ``computed_from``: a metric code (``reports.selectors.metric_codes``) for a goal whose result the
    report computes from the case data; ``None``/empty for a goal whose progress is entered by hand."""
    from .selectors import metric_codes

    require(actor, "reports.manage_goals", program)
    computed_from = (computed_from or "").strip()
    errors: dict[str, list] = {}

    def collect(func, *args, **kwargs):
        try:
            return func(*args, **kwargs)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
            return None

    try:
        year = int(str(fiscal_year).strip())
    except (TypeError, ValueError):
        year = None
    if year is None or not MIN_FISCAL_YEAR <= year <= MAX_FISCAL_YEAR:
        errors["fiscal_year"] = [
            _("Enter a fiscal year between %(min)s and %(max)s.")
            % {"min": MIN_FISCAL_YEAR, "max": MAX_FISCAL_YEAR}
        ]
    if computed_from and computed_from not in metric_codes():
        errors["computed_from"] = [_("Select a valid choice.")]
    elif program is not None and computed_from in AGENCY_INDICATORS:
        errors["program"] = [_("Productive units belong to no program: leave the program empty.")]
    text = collect(_text, indicator, "indicator", 300, required=True)
    unit_text = collect(_text, unit, "unit", 60, required=True)
    amount = collect(clean_target, target, computed_from)
    base = None
    if baseline not in (None, ""):
        base = collect(_decimal, baseline, "baseline", "0")
    note = collect(_text, description, "description", 300, required=False)
    if errors or year is None or amount is None or text is None or unit_text is None or note is None:
        raise ValidationError(errors)

    before = None
    if goal_id is None:
        goal = Goal()
    else:
        goal = Goal.objects.select_for_update(of=("self",)).select_related("program").get(pk=goal_id)
        require(actor, "reports.manage_goals", goal.program)
        before = _snapshot(goal)
        if goal.computed_from != computed_from and goal.entries.exists():
            raise _error(
                "computed_from",
                _("This goal already has progress entered by hand: it cannot be computed from the cases."),
                "has_entries",
            )
    goal.fiscal_year, goal.program, goal.indicator, goal.unit = year, program, text, unit_text
    goal.target, goal.baseline, goal.computed_from, goal.description = amount, base, computed_from, note
    if computed_from:
        duplicate = Goal.objects.filter(fiscal_year=year, program=program, computed_from=computed_from)
        if goal.pk:
            duplicate = duplicate.exclude(pk=goal.pk)
        if duplicate.exists():
            raise _error("computed_from", duplicate_message(), "unique")
    after = _snapshot(goal)
    if before == after:
        return goal
    try:
        with transaction.atomic():
            goal.save()
    except IntegrityError:  # a concurrent save of the same goal
        raise _error("computed_from", duplicate_message(), "unique") from None
    audit.record(GOAL_SAVED, actor=actor, subject=goal, data={"before": before, "after": after})
    return goal


@transaction.atomic
def delete_goal(goal_id: int, *, actor) -> None:
    """Remove a goal (the report then shows no target for it); audited with what it said. A goal with
    progress entered by hand stays: its entries and evidence are part of the record."""
    goal = Goal.objects.select_for_update(of=("self",)).select_related("program").get(pk=goal_id)
    require(actor, "reports.manage_goals", goal.program)
    if goal.entries.exists():
        raise ValidationError(_("This goal has progress entries with their evidence: it cannot be deleted."))
    audit.record(GOAL_DELETED, actor=actor, subject=goal, data=_snapshot(goal))
    goal.delete()


def clean_progress_date(value, fiscal_year: int) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise _error("date", _("Enter a valid date."), "invalid") from None
    if value.year != fiscal_year:
        raise _error(
            "date",
            _("The date must fall within the goal's fiscal year %(year)s.") % {"year": fiscal_year},
            "out_of_year",
        )
    if value > today():
        raise _error("date", _("The date cannot be in the future."), "future")
    return value


@transaction.atomic
def record_progress(
    goal_id: int, *, actor, value, date, note: str = "", evidence: documents.Upload | None = None
) -> ProgressEntry:
    """Record progress of a goal entered by hand (administrators, the program's managers): the value
    achieved (in the goal's unit) by ``date``, a note and its evidence (a checked upload:
    ``cases.documents.read_upload``), and one audit entry with the evidence's SHA-256. A goal computed
    from the case data takes no progress by hand."""
    goal = Goal.objects.select_for_update(of=("self",)).select_related("program").get(pk=goal_id)
    require(actor, "reports.manage_goals", goal.program)
    if goal.is_computed:
        raise ValidationError(
            {
                "value": [
                    ValidationError(
                        _("This goal is computed from the case data: its result cannot be entered by hand."),
                        code="computed",
                    )
                ]
            }
        )
    errors: dict[str, list] = {}
    amount = day = text = None
    try:
        amount = _decimal(value, "value", "12")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        day = clean_progress_date(date, goal.fiscal_year)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        text = _text(note, "note", 500, required=False)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors or amount is None or day is None or text is None:
        raise ValidationError(errors)
    entry = ProgressEntry.objects.create(goal=goal, value=amount, date=day, note=text, recorded_by=actor)
    data: dict = {
        "goal": goal.pk,
        "fiscal_year": goal.fiscal_year,
        "program": goal.program.code if goal.program is not None else "",
        "indicator": goal.indicator,
        "entry": entry.pk,
        "value": amount,
        "date": day,
        "note": text,
        "evidence": None,
    }
    if evidence is not None:
        document = documents.store(GoalEvidence(entry=entry, kind="evidence", uploaded_by=actor), evidence)
        data["evidence"] = document.audit_data()
    audit.record(PROGRESS_RECORDED, actor=actor, subject=goal, data=data)
    return entry


def assign_program_manager(*, actor, user, program: Program) -> bool:
    """Make ``user`` a manager of ``program`` (administrators): the program's management, one grant for
    its annual plan and its calls (``budget.services.grant_program_management``, audited as a scope
    with ``manages: true``). False when already one (nothing written)."""
    from budget.services import grant_program_management

    return grant_program_management(user, program, actor=actor)


def remove_program_manager(*, actor, user, program: Program) -> bool:
    from budget.services import revoke_program_management

    return revoke_program_management(user, program, actor=actor)
