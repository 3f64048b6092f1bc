"""Reads of the accountability reports (PRODUCT.md §5): budget execution by funding source and program,
and the goals of the annual plan with their attainment (``attainment``, at the end).

Everything is computed from the database only. The figures of a budget line (``amount_in_force``,
``executed``) equal the sum of its append-only ``BudgetMovement`` ledger (``budget.selectors``); the
report states whether they still do (``ledger_reconciles``), so a reader never has to take it on trust.

``budget_execution(2020)`` runs two queries whatever the number of lines: the lines of the year (one
row each, summed here in ``Decimal``: SQLite would add decimals as binary floats) and the ledger check.
A closed year whose ledger has not changed since it was last summed runs one: its sums are kept per
line (``reports.ledger``), invalidated by the database with every write to the line's movements.

Percentages: executed / in force x 100, rounded half-up to one decimal (``Decimal``, never float).
A row with nothing in force has no percentage (``None``, shown as "—" and ``null`` in JSON): 0 % would
claim that a budget existed and was not spent. The ledger refuses executed > in force, so a row with
nothing in force has nothing executed either.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from audit.models import AuditEntry
from budget.models import (
    LINE_FIGURES,
    MAX_FISCAL_YEAR,
    MIN_FISCAL_YEAR,
    ZERO,
    BudgetLine,
    BudgetMovement,
    Program,
)
from budget.selectors import program_scope_ids
from cases import kinds
from cases.clock import today
from cases.metrics import CaseLine, Figure, FiscalYear, Metric, Scope
from cases.roles import Role, has_role, is_admin
from registry.models import Unit

from . import ledger
from .models import AGENCY_INDICATORS, MONEY_INDICATORS, PROGRAM_INDICATORS, Goal, Indicator

LA_PAZ = zoneinfo.ZoneInfo("America/La_Paz")
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
    """One row of a table: a funding source, a program, a program's sub-program (``code`` empty: the
    program's lines that name no sub-program), or the total (``code`` empty)."""

    code: str
    name: str
    in_force: Decimal
    executed: Decimal
    # A program's drill-down: one row per sub-program or project its lines name (and one, code "",
    # for its lines that name none), adding up to the program's row; empty when no line names one.
    subprograms: tuple[ExecutionRow, ...] = ()

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
    # every line's figures equal the sum of its ledger movements; None: not checked (check_ledger=False)
    ledger_reconciles: bool | None

    @property
    def is_empty(self) -> bool:
        return not self.by_source

    @property
    def published_rows(self) -> tuple[tuple[ExecutionRow, ExecutionRow | None], ...]:
        """The table by program at its finest level, as SIGEP and the accountability report print it:
        ``(program, sub-program)`` per sub-program row, ``(program, None)`` for a program without."""
        return tuple(
            (program, sub) for program in self.by_program for sub in (program.subprograms or (None,))
        )


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


def default_year_for(user, years: list[int], with_data: set[int] | None = None) -> int:
    """The latest closed year with data (``with_data``: the years that have any; every offered year
    when not given); else the latest the user may see; else last year."""
    closed = [y for y in years if is_closed(y) and (with_data is None or y in with_data)]
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


def _group(lines: Iterable[Mapping[str, Any]], prefix: str) -> tuple[dict[str, list], dict[str, str]]:
    groups: dict[str, list] = {}
    names: dict[str, str] = {}
    for line in lines:
        code = line[f"{prefix}__code"]
        names[code] = line[f"{prefix}__name"]
        figures = groups.setdefault(code, [ZERO, ZERO])
        figures[0] += line["amount_in_force"]
        figures[1] += line["executed"]
    return groups, names


def _with_subprograms(programs: tuple[ExecutionRow, ...], lines: list[dict]) -> tuple[ExecutionRow, ...]:
    """Each program row with its drill-down by sub-program (only programs some line of which names
    one); the sub-program rows of a program add up to it, as they share its lines."""
    named = {line["program__code"] for line in lines if line["subprogram__code"] is not None}
    if not named:
        return programs
    nameless = _("Without sub-program")
    out = []
    for program in programs:
        if program.code not in named:
            out.append(program)
            continue
        groups: dict[str, list] = {}
        names: dict[str, str] = {}
        for line in lines:
            if line["program__code"] != program.code:
                continue
            code = line["subprogram__code"] or ""
            names[code] = line["subprogram__name"] or nameless
            figures = groups.setdefault(code, [ZERO, ZERO])
            figures[0] += line["amount_in_force"]
            figures[1] += line["executed"]
        # Named sub-programs first (by code), then the program's own lines.
        rows = sorted(_rows(groups, names), key=lambda row: (row.code == "", row.code))
        out.append(dataclasses.replace(program, subprograms=tuple(rows)))
    return tuple(out)


def budget_execution(fiscal_year: int, *, check_ledger: bool = True) -> BudgetExecution:
    """Budget execution of ``fiscal_year`` by funding source and by program, with the total.

    One query reads the lines of the year (their figures, program and source); the ledger check
    (``reports.ledger``) sums the year's movements in one more query, except for a closed year whose
    ledger has not changed since it was last summed: its kept sums come with the lines, in the same
    query. ``check_ledger=False``: no ledger check at all (``ledger_reconciles`` is None), for pages that
    only need the rows. No access check here: callers check ``can_view_execution`` (the command runs
    for operators).
    """
    keep = is_closed(fiscal_year)
    fields = [
        "pk",
        "program__code",
        "program__name",
        "subprogram__code",
        "subprogram__name",
        "source__code",
        "source__name",
        *LINE_FIGURES,
    ]
    if keep and check_ledger:
        fields += ledger.SNAPSHOT_FIELDS
    lines = list(BudgetLine.objects.filter(fiscal_year=fiscal_year).order_by().values(*fields))
    by_source = _rows(*_group(lines, "source"))
    by_program = _with_subprograms(_rows(*_group(lines, "program")), lines)
    reconciles = ledger.reconciles(lines, keep=keep) if check_ledger else None
    total = ExecutionRow(
        code="",
        name=_("Total"),
        in_force=sum((row.in_force for row in by_source), ZERO),
        executed=sum((row.executed for row in by_source), ZERO),
    )
    return BudgetExecution(
        fiscal_year=fiscal_year,
        closed=keep,
        by_source=by_source,
        by_program=by_program,
        total=total,
        generated_at=timezone.now(),
        ledger_reconciles=reconciles,
    )


# --- Drill-down: the ledger movements behind an executed figure -----------------------------------------


def execution_movements(
    user,
    fiscal_year: int,
    *,
    program: str | None = None,
    source: str | None = None,
    subprogram: str | None = None,
):
    """The movements (execution, operating expenditure, refund) that make up the executed figure of
    ``program`` (or of one of its sub-programs, ``subprogram``) or ``source`` in ``fiscal_year``, in
    the order recorded, within the user's program scopes. Empty for users who may not drill down."""
    movements = BudgetMovement.objects.select_related(
        "line__program", "line__source", "line__subprogram", "case_type"
    ).filter(line__fiscal_year=fiscal_year, kind__in=list(EXECUTED_SIGN))
    if not can_drill_down(user):
        return movements.none()
    scope = program_scope_ids(user)
    if scope is not None:
        movements = movements.filter(line__program_id__in=scope)
    if program is not None:
        movements = movements.filter(line__program__code=program)
    if subprogram is not None:
        movements = movements.filter(line__subprogram__code=subprogram)
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


# --- Goals and their attainment (metas y resultados) ----------------------------------------------------
#
# What the cases achieved in a fiscal year, per program and in total, from the case data only. The
# report owns the indicators (``models.Indicator``); each case kind counts its own cases for them
# (``cases.metrics``: the ``metrics`` of its ``cases.kinds`` entry), and several kinds may give the same
# indicator (their figures add up). WHEN a case reached a state is read from the audit trail (one entry
# per FSM transition, with its time), so a case closed on 2 January counts in the year it was closed,
# whatever it did later. Payments and deliveries are read from their own dated rows. The registry
# figures (units) are read here. No names and no NITs: counts and amounts only.


def _metrics(indicator: str | None = None) -> list[Metric]:
    """The metrics every registered case kind contributes (those giving ``indicator``, if given), in
    the order of the kinds' codes."""
    return [
        metric
        for kind in kinds.all_kinds()
        for metric in kind.metrics
        if indicator is None or indicator in metric.indicators
    ]


def is_drillable(indicator: str) -> bool:
    """A figure that is a list of cases (or of rows of cases) a staff member may open: a figure some
    case kind gives. The registry indicators are not: units are not cases."""
    return indicator not in AGENCY_INDICATORS and bool(_metrics(indicator))


def metric_choices() -> list[tuple[str, str]]:
    """What a goal may be computed from (``Goal.computed_from``): the report's indicators, then any
    other figure a registered case kind's metrics give (labelled by their code)."""
    choices = [(str(value), str(label)) for value, label in Indicator.choices]
    known = {code for code, _label in choices}
    for metric in _metrics():
        for code in metric.indicators:
            if code not in known:
                known.add(code)
                choices.append((code, code))
    return choices


def metric_codes() -> set[str]:
    return {code for code, _label in metric_choices()}


def metric_label(code: str) -> str:
    return dict(metric_choices()).get(code, code)


def attainment_percent(achieved, target: Decimal | None) -> Decimal | None:
    """``achieved / target x 100`` rounded half-up to one decimal; ``None`` without a target."""
    if target is None or target <= 0:
        return None
    return (Decimal(achieved) * HUNDRED / target).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class IndicatorRow:
    indicator: str  # an ``Indicator`` value
    achieved: int | Decimal  # a count, or Bs (Decimal, 2 places) for money indicators
    target: Decimal | None = None
    goal: str = ""  # the goal as the annual plan words it

    @property
    def label(self) -> str:
        return str(Indicator(self.indicator).label)

    @property
    def is_money(self) -> bool:
        return self.indicator in MONEY_INDICATORS

    @property
    def percent(self) -> Decimal | None:
        return attainment_percent(self.achieved, self.target)

    @property
    def drillable(self) -> bool:
        return is_drillable(self.indicator)


@dataclass(frozen=True)
class GoalRow:
    """A goal of the annual plan (POA) with its result: computed from the case data
    (``computed_from``) or the sum of the progress entered by hand (``None`` while nothing was
    entered)."""

    id: int
    program: str  # program code; "" for a goal of the whole agency
    indicator: str  # the free text of the plan
    unit: str
    target: Decimal
    baseline: Decimal | None
    computed_from: str
    description: str
    result: int | Decimal | None
    entries: int = 0  # progress entries (goals entered by hand)

    @property
    def is_computed(self) -> bool:
        return bool(self.computed_from)

    @property
    def percent(self) -> Decimal | None:
        return None if self.result is None else attainment_percent(self.result, self.target)

    @property
    def drillable(self) -> bool:
        """Computed: the cases behind the figure; by hand: the progress entries and their evidence."""
        return is_drillable(self.computed_from) if self.is_computed else True

    @property
    def text(self) -> str:
        return attainment_text(self)


def goal_number(value, unit: str = "") -> str:
    """A figure of a goal in the Bolivian format: ``1.327``, ``12,5``; amounts in Bs with 2 decimals."""
    from django.utils import formats

    number = Decimal(value)
    places = 2 if unit.strip().lower() in {"bs", "bs."} or number != number.to_integral_value() else 0
    return formats.number_format(number, decimal_pos=places, use_l10n=True, force_grouping=True)


def attainment_text(goal: GoalRow) -> str:
    """The attainment as the report writes it: ``1.327 de 1.500 — 88,5 %``."""
    from cases.templatetags.expediente_tags import percent

    if goal.result is None:
        return _("No progress recorded (goal %(target)s)") % {"target": goal_number(goal.target, goal.unit)}
    return _("%(result)s of %(target)s — %(percent)s") % {
        "result": goal_number(goal.result, goal.unit),
        "target": goal_number(goal.target, goal.unit),
        "percent": percent(goal.percent),
    }


@dataclass(frozen=True)
class ProgramAttainment:
    """The indicators of one program, or of the whole agency (``code`` empty), and the goals of its
    annual plan."""

    code: str
    name: str
    rows: tuple[IndicatorRow, ...]
    goals: tuple[GoalRow, ...] = ()

    def row(self, indicator: str) -> IndicatorRow:
        return next(r for r in self.rows if r.indicator == indicator)

    @property
    def has_figures(self) -> bool:
        """Some case figure or some target of the fixed indicators (else only goals by hand)."""
        return any(r.achieved or r.target is not None for r in self.rows)


@dataclass(frozen=True)
class Attainment:
    fiscal_year: int
    closed: bool
    by_program: tuple[ProgramAttainment, ...]
    total: ProgramAttainment
    generated_at: dt.datetime

    @property
    def goals_count(self) -> int:
        return sum(1 for p in (*self.by_program, self.total) for r in p.rows if r.target is not None)

    @property
    def plan_count(self) -> int:
        """The goals of the annual plan (POA) of the year, computed or entered by hand."""
        return sum(len(p.goals) for p in (*self.by_program, self.total))

    def goal(self, goal_id: int) -> GoalRow | None:
        return next((g for p in (*self.by_program, self.total) for g in p.goals if g.id == goal_id), None)


def _figures(year: FiscalYear) -> dict[str, dict[str, Figure]]:
    """``{indicator: {program code: figure}}`` of the program indicators, each the sum of what every
    case kind's metrics give for it (one read per metric)."""
    figures: dict[str, dict[str, Figure]] = {}
    for metric in _metrics():
        table = metric.figures(year)
        for indicator in metric.indicators:
            by_program = figures.setdefault(indicator, {})
            for code, value in table.get(indicator, {}).items():
                known = by_program.get(code)
                by_program[code] = value if known is None else known + value
    return figures


def attainment(fiscal_year: int) -> Attainment:
    """What the cases achieved in ``fiscal_year`` per program and in total, with the goals (targets).

    The program indicators come from the case kinds (``cases.kinds``: each kind's ``metrics``, one
    read each: today initiatives grouped with four indicators, their paid tranches, transfers grouped
    with three, their asset units, transfers paid); then programs, units (two figures), renewals and
    the goals of the plan with the sum of their progress entries: nine queries whatever the number of
    programs, cases or goals. Amounts are summed in Python
    ``Decimal``. No access check here: callers check ``can_view_execution`` (closed years public).
    """
    year = FiscalYear(fiscal_year)
    start, end, last_day = year.start, year.end, year.last_day
    programs = dict(Program.objects.order_by("code").values_list("code", "name"))
    contributed = _figures(year)
    units = Unit.objects.aggregate(
        registered=Count("pk", filter=Q(registered_at__gte=start, registered_at__lt=end)),
        valid=Count("pk", filter=Q(registered_at__lt=end, registration_valid_until__gte=last_day)),
    )
    renewed = (
        AuditEntry.objects.filter(action=AuditAction.UNIT_REGISTRATION_RENEWED, at__gte=start, at__lt=end)
        .order_by()
        .values("subject_id")
        .distinct()
        .count()
    )
    plan = list(
        Goal.objects.filter(fiscal_year=fiscal_year)
        .annotate(progress=Sum("entries__value"), entries_count=Count("entries"))
        .values(
            "pk",
            "program__code",
            "indicator",
            "unit",
            "target",
            "baseline",
            "computed_from",
            "description",
            "progress",
            "entries_count",
        )
        .order_by("program__code", "pk")
    )

    # The fixed indicators' rows show the goal computed from them (one per program and figure).
    def wording(g) -> str:  # the plan's wording of the goal, unless it only repeats the indicator
        if g["description"]:
            return g["description"]
        return "" if g["indicator"] == metric_label(g["computed_from"]) else g["indicator"]

    goals = {
        (g["program__code"] or "", g["computed_from"]): (g["target"], wording(g))
        for g in plan
        if g["computed_from"]
    }

    def figure(code: str, indicator: str):
        value = contributed.get(str(indicator), {}).get(code)
        if indicator in MONEY_INDICATORS:
            return Decimal(value or ZERO).quantize(CENT)
        return value or 0

    agency = {
        Indicator.UNITS_REGISTERED: units["registered"],
        Indicator.UNITS_RENEWED: renewed,
        Indicator.UNITS_VALID: units["valid"],
    }

    def computed(code: str, metric: str):
        if metric in AGENCY_INDICATORS:
            return agency[Indicator(metric)]
        if code:
            return figure(code, metric)
        values = contributed.get(metric, {}).values()
        if metric in MONEY_INDICATORS:
            return Decimal(sum(values, ZERO)).quantize(CENT)
        return sum(values, ZERO if any(isinstance(v, Decimal) for v in values) else 0)

    goal_rows: dict[str, list[GoalRow]] = {}
    for g in plan:
        code = g["program__code"] or ""
        metric = g["computed_from"]
        if metric:
            result = computed(code, metric)
        else:
            result = None if not g["entries_count"] else Decimal(g["progress"]).quantize(CENT)
        goal_rows.setdefault(code, []).append(
            GoalRow(
                id=g["pk"],
                program=code,
                indicator=g["indicator"],
                unit=g["unit"],
                target=g["target"],
                baseline=g["baseline"],
                computed_from=metric,
                description=g["description"],
                result=result,
                entries=g["entries_count"],
            )
        )

    def row(code: str, indicator: str, achieved) -> IndicatorRow:
        target, description = goals.get((code, str(indicator)), (None, ""))
        return IndicatorRow(str(indicator), achieved, target, description)

    # Programs: every program with a figure or a goal this year (a program with nothing at all is left
    # out: it had no cases in this report's sense).
    by_program = []
    for code, name in programs.items():
        rows = tuple(row(code, ind, figure(code, ind)) for ind in PROGRAM_INDICATORS)
        if any(r.achieved for r in rows) or code in goal_rows:
            by_program.append(
                ProgramAttainment(code=code, name=name, rows=rows, goals=tuple(goal_rows.get(code, ())))
            )
    total_rows = [
        row("", ind, sum((figure(code, ind) for code in programs), ZERO if ind in MONEY_INDICATORS else 0))
        for ind in PROGRAM_INDICATORS
    ]
    total_rows += [row("", ind, agency[ind]) for ind in Indicator if ind in AGENCY_INDICATORS]
    return Attainment(
        fiscal_year=fiscal_year,
        closed=is_closed(fiscal_year),
        by_program=tuple(by_program),
        total=ProgramAttainment(
            code="", name=_("PRO-BOLIVIA (total)"), rows=tuple(total_rows), goals=tuple(goal_rows.get("", ()))
        ),
        generated_at=timezone.now(),
    )


# --- Drill-down: the cases behind a figure of the attainment report ---------------------------------------


def attainment_data_years() -> set[int]:
    """The years the goals page has something to show for: a budget or a goal (two queries)."""
    years = set(BudgetLine.objects.order_by().values_list("fiscal_year", flat=True).distinct())
    return years | set(Goal.objects.order_by().values_list("fiscal_year", flat=True).distinct())


def attainment_years_for(user) -> list[int]:
    """The fiscal years offered on the goals page: years with a budget or a goal, and the year in
    progress for staff; closed years only for everyone else (two queries)."""
    years = set(BudgetLine.objects.order_by().values_list("fiscal_year", flat=True).distinct())
    years |= set(Goal.objects.order_by().values_list("fiscal_year", flat=True).distinct())
    current = current_fiscal_year()
    years |= {current - 1}
    if can_view_open_years(user):
        years.add(current)
    else:
        years = {year for year in years if is_closed(year)}
    return sorted(years, reverse=True)


def attainment_cases(user, fiscal_year: int, indicator: str, program: str | None = None) -> list[CaseLine]:
    """The cases (or payments, or deliveries) behind ``indicator`` of ``program`` (``None``: all) in
    ``fiscal_year``, within the user's program scopes, oldest first: the lines of every case kind's
    metrics giving it. Empty for users who may not drill down, and for the registry indicators (units
    are not cases)."""
    if not can_drill_down(user) or not is_drillable(indicator):
        return []
    year = FiscalYear(fiscal_year)
    scope = Scope(program_ids=program_scope_ids(user), program=program)
    lines = [line for metric in _metrics(indicator) for line in metric.lines(indicator, year, scope)]

    def sort_key(line: CaseLine):
        when = line.when
        if isinstance(when, dt.datetime):
            when = timezone.localtime(when, LA_PAZ).date()
        return (when, line.code)

    return sorted(lines, key=sort_key)
