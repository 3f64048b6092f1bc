"""Reads of the accountability reports (PRODUCT.md §5): budget execution by funding source and program.

Everything is computed from the database only. The figures of a budget line (``amount_in_force``,
``executed``) equal the sum of its append-only ``BudgetMovement`` ledger (``budget.selectors``); the
report states whether they still do (``ledger_reconciles``), so a reader never has to take it on trust.

``budget_execution(2020)`` runs two queries whatever the number of lines: the lines of the year (one
row each, summed here in ``Decimal``: SQLite would add decimals as binary floats) and the ledger check.

Percentages: executed / in force x 100, rounded half-up to one decimal (``Decimal``, never float).
A row with nothing in force has no percentage (``None``, shown as "—" and ``null`` in JSON): 0 % would
claim that a budget existed and was not spent. The ledger refuses executed > in force, so a row with
nothing in force has nothing executed either.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from budget.models import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, ZERO, BudgetLine, BudgetMovement
from budget.selectors import ledger_mismatches, program_scope_ids
from registry.roles import Role, has_role, is_admin
from registry.services import today

CENT = Decimal("0.01")
ONE_DECIMAL = Decimal("0.1")
HUNDRED = Decimal(100)

# Who sees the report of the fiscal year in progress (and of future years), and the drill-down to the
# ledger movements behind each figure. Closed years are public.
REPORT_STAFF_ROLES = (Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL, Role.ADMIN)

# The movements behind the executed (devengado) figure, and the sign each one carries.
EXECUTED_SIGN = {
    BudgetMovement.Kind.EXECUTE: +1,
    BudgetMovement.Kind.EXPENDITURE: +1,
    BudgetMovement.Kind.REFUND: -1,
}


def execution_percent(executed: Decimal, in_force: Decimal) -> Decimal | None:
    """``executed / in_force x 100`` rounded half-up to one decimal; ``None`` when nothing is in force."""
    if in_force <= 0:
        return None
    return (executed * HUNDRED / in_force).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ExecutionRow:
    """One row of a table: a funding source, a program, or the total (``code`` empty)."""

    code: str
    name: str
    in_force: Decimal
    executed: Decimal

    @property
    def balance(self) -> Decimal:
        return self.in_force - self.executed

    @property
    def percent(self) -> Decimal | None:
        return execution_percent(self.executed, self.in_force)


@dataclass(frozen=True)
class BudgetExecution:
    fiscal_year: int
    closed: bool  # the fiscal year is over (public); otherwise the figures are provisional
    by_source: tuple[ExecutionRow, ...]
    by_program: tuple[ExecutionRow, ...]
    total: ExecutionRow
    generated_at: dt.datetime
    ledger_reconciles: bool  # every line's figures equal the sum of its ledger movements

    @property
    def is_empty(self) -> bool:
        return not self.by_source


# --- Fiscal years and access ----------------------------------------------------------------------------


def current_fiscal_year() -> int:
    """The fiscal year (gestión) in progress: the calendar year in La Paz."""
    return today().year


def is_closed(fiscal_year: int) -> bool:
    return fiscal_year < current_fiscal_year()


def clean_fiscal_year(value) -> int:
    """The fiscal year from a query parameter or command option; ``ValidationError`` on ``fiscal_year``."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise ValidationError(
            {"fiscal_year": [ValidationError(_("Give the fiscal year, e.g. 2020."), code="required")]}
        )
    if not (text.isascii() and text.isdigit()) or not MIN_FISCAL_YEAR <= int(text) <= MAX_FISCAL_YEAR:
        raise ValidationError(
            {
                "fiscal_year": [
                    ValidationError(
                        _("Enter a fiscal year between %(min)s and %(max)s.")
                        % {"min": MIN_FISCAL_YEAR, "max": MAX_FISCAL_YEAR},
                        code="invalid",
                    )
                ]
            }
        )
    return int(text)


def can_view_open_years(user) -> bool:
    """Finance, the director, internal control and administrators see the year in progress and the
    movements behind every figure."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return is_admin(user) or has_role(user, *REPORT_STAFF_ROLES)


def can_view_execution(user, fiscal_year: int) -> bool:
    """Closed fiscal years are public (no sign-in); the year in progress and later ones are staff only."""
    return is_closed(fiscal_year) or can_view_open_years(user)


def can_drill_down(user) -> bool:
    return can_view_open_years(user)


def report_years_for(user) -> list[int]:
    """The fiscal years with a budget that ``user`` may see, newest first (one query)."""
    years = set(BudgetLine.objects.order_by().values_list("fiscal_year", flat=True).distinct())
    if not can_view_open_years(user):
        years = {year for year in years if is_closed(year)}
    return sorted(years, reverse=True)


def default_year_for(user, years: list[int]) -> int:
    """The latest closed year with a budget; else the latest the user may see; else last year."""
    closed = [y for y in years if is_closed(y)]
    if closed:
        return closed[0]
    return years[0] if years else current_fiscal_year() - 1


# --- The report -----------------------------------------------------------------------------------------


def _rows(groups: dict[str, list], names: dict[str, str]) -> tuple[ExecutionRow, ...]:
    return tuple(
        ExecutionRow(
            code=code,
            name=names[code],
            in_force=in_force.quantize(CENT),
            executed=executed.quantize(CENT),
        )
        for code, (in_force, executed) in sorted(groups.items())
    )


def _group(lines: Iterable[dict], prefix: str) -> tuple[dict[str, list], dict[str, str]]:
    groups: dict[str, list] = {}
    names: dict[str, str] = {}
    for line in lines:
        code = line[f"{prefix}__code"]
        names[code] = line[f"{prefix}__name"]
        figures = groups.setdefault(code, [ZERO, ZERO])
        figures[0] += line["amount_in_force"]
        figures[1] += line["executed"]
    return groups, names


def budget_execution(fiscal_year: int) -> BudgetExecution:
    """Budget execution of ``fiscal_year`` by funding source and by program, with the total.

    No access check here: callers check ``can_view_execution`` (the command runs for operators).
    """
    lines_of_year = BudgetLine.objects.filter(fiscal_year=fiscal_year)
    lines = list(
        lines_of_year.order_by().values(
            "program__code",
            "program__name",
            "source__code",
            "source__name",
            "amount_in_force",
            "executed",
        )
    )
    by_source = _rows(*_group(lines, "source"))
    by_program = _rows(*_group(lines, "program"))
    # One query for the ledger check, skipped when the year has no line at all.
    reconciles = not ledger_mismatches(lines_of_year) if lines else True
    total = ExecutionRow(
        code="",
        name=_("Total"),
        in_force=sum((row.in_force for row in by_source), ZERO),
        executed=sum((row.executed for row in by_source), ZERO),
    )
    return BudgetExecution(
        fiscal_year=fiscal_year,
        closed=is_closed(fiscal_year),
        by_source=by_source,
        by_program=by_program,
        total=total,
        generated_at=timezone.now(),
        ledger_reconciles=reconciles,
    )


# --- Drill-down: the ledger movements behind an executed figure -----------------------------------------


def execution_movements(user, fiscal_year: int, *, program: str | None = None, source: str | None = None):
    """The movements (execution, operating expenditure, refund) that make up the executed figure of
    ``program`` or ``source`` in ``fiscal_year``, in the order recorded, within the user's program scopes.
    Empty for users who may not drill down."""
    movements = BudgetMovement.objects.select_related("line__program", "line__source", "case_type").filter(
        line__fiscal_year=fiscal_year, kind__in=list(EXECUTED_SIGN)
    )
    if not can_drill_down(user):
        return movements.none()
    scope = program_scope_ids(user)
    if scope is not None:
        movements = movements.filter(line__program_id__in=scope)
    if program is not None:
        movements = movements.filter(line__program__code=program)
    if source is not None:
        movements = movements.filter(line__source__code=source)
    return movements.order_by("at", "id")


_MONEY = DecimalField(max_digits=18, decimal_places=2)


def executed_total(movements: QuerySet) -> Decimal:
    """The executed figure these movements add up to (refunds subtract); one query."""
    sums = movements.order_by().aggregate(
        **{
            f"sum_{kind.value}": Coalesce(
                Sum("amount", filter=Q(kind=kind)), Value(ZERO), output_field=_MONEY
            )
            for kind in EXECUTED_SIGN
        }
    )
    return sum(
        (sign * Decimal(sums[f"sum_{kind.value}"]) for kind, sign in EXECUTED_SIGN.items()), ZERO
    ).quantize(CENT)
