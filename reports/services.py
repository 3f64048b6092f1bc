"""Every write of the reports: the goals (metas) of the annual plan.

One service function per write, as everywhere in Expediente: it checks the permission
(``reports.manage_goals``: administrators), validates, saves and writes one audit entry with the goal's
figures before and after, in the same transaction. The admin calls these functions; nothing else
writes ``Goal`` rows.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

import audit
from audit.actions import AuditAction
from budget.models import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, Program
from cases.permissions import require

from .models import AGENCY_INDICATORS, MONEY_INDICATORS, Goal, Indicator

MAX_TARGET = Decimal("99999999999999.99")  # DecimalField(max_digits=16, decimal_places=2)
CENT = Decimal("0.01")

# Audit action codes of the goals (audit/actions.py).
GOAL_SAVED = AuditAction.GOAL_SAVED
GOAL_DELETED = AuditAction.GOAL_DELETED


def duplicate_message() -> str:
    return _("This goal is already set for this fiscal year and program.")


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: [ValidationError(message, code=code)]})


def clean_target(value, indicator: str) -> Decimal:
    """A positive decimal (never a float); a whole number for counts, at most 2 places for amounts."""
    if isinstance(value, (bool, float)):
        raise _error("target", _("Enter the target as a number, e.g. 1500."), "invalid")
    try:
        target = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise _error("target", _("Enter the target as a number, e.g. 1500."), "invalid") from None
    if not target.is_finite():
        raise _error("target", _("Enter the target as a number, e.g. 1500."), "invalid")
    if target <= 0:
        raise _error("target", _("The target must be greater than zero."), "min_value")
    if target > MAX_TARGET:
        raise _error("target", _("The target is too large."), "max_value")
    if indicator in MONEY_INDICATORS:
        if target != target.quantize(CENT):
            raise _error("target", _("Enter the amount with at most 2 decimal places."), "max_decimal_places")
        return target.quantize(CENT)
    if target != target.to_integral_value():
        raise _error("target", _("This indicator counts cases or units: enter a whole number."), "integer")
    return target.quantize(CENT)


def _snapshot(goal: Goal) -> dict:
    return {
        "fiscal_year": goal.fiscal_year,
        "program": goal.program.code if goal.program is not None else "",
        "indicator": goal.indicator,
        "target": goal.target,
        "description": goal.description,
    }


@transaction.atomic
def save_goal(
    *,
    actor,
    fiscal_year,
    program: Program | None,
    indicator: str,
    target,
    description: str = "",
    goal_id: int | None = None,
) -> Goal:
    """Create a goal (``goal_id=None``) or change one; audited with the figures before and after."""
    require(actor, "reports.manage_goals")
    errors: dict[str, list] = {}
    try:
        year = int(str(fiscal_year).strip())
    except (TypeError, ValueError):
        year = None
    if year is None or not MIN_FISCAL_YEAR <= year <= MAX_FISCAL_YEAR:
        errors["fiscal_year"] = [
            _("Enter a fiscal year between %(min)s and %(max)s.")
            % {"min": MIN_FISCAL_YEAR, "max": MAX_FISCAL_YEAR}
        ]
    if indicator not in Indicator.values:
        errors["indicator"] = [_("Select a valid choice.")]
    elif program is not None and indicator in AGENCY_INDICATORS:
        errors["program"] = [_("Productive units belong to no program: leave the program empty.")]
    try:
        amount = clean_target(target, indicator)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        amount = None
    description = (description or "").strip()
    if len(description) > 300:
        errors["description"] = [_("Use at most %(max)s characters.") % {"max": 300}]
    if errors or year is None or amount is None:  # both are set whenever nothing was wrong
        raise ValidationError(errors)

    before = None
    if goal_id is None:
        goal = Goal()
    else:
        goal = Goal.objects.select_for_update(of=("self",)).select_related("program").get(pk=goal_id)
        before = _snapshot(goal)
    goal.fiscal_year, goal.program, goal.indicator = year, program, indicator
    goal.target, goal.description = amount, description
    duplicate = Goal.objects.filter(fiscal_year=year, program=program, indicator=indicator)
    if goal.pk:
        duplicate = duplicate.exclude(pk=goal.pk)
    if duplicate.exists():
        raise _error("indicator", duplicate_message(), "unique")
    after = _snapshot(goal)
    if before == after:
        return goal
    try:
        with transaction.atomic():
            goal.save()
    except IntegrityError:  # a concurrent save of the same goal
        raise _error(
            "indicator", _("This goal is already set for this fiscal year and program."), "unique"
        ) from None
    audit.record(GOAL_SAVED, actor=actor, subject=goal, data={"before": before, "after": after})
    return goal


@transaction.atomic
def delete_goal(goal_id: int, *, actor) -> None:
    """Remove a goal (the report then shows no target for it); audited with what it said."""
    require(actor, "reports.manage_goals")
    goal = Goal.objects.select_for_update(of=("self",)).select_related("program").get(pk=goal_id)
    audit.record(GOAL_DELETED, actor=actor, subject=goal, data=_snapshot(goal))
    goal.delete()
