"""Report metrics: the figures a case kind contributes to the goals report, and the rows behind them.

The report (``reports``) owns the list of indicators; a case kind owns how its cases count. Each kind
registers a tuple of ``Metric`` in ``CaseKind.metrics``; a metric is **one grouped read** that gives
the figures of one or more indicators (plain codes: ``"initiatives_closed"``, ``"amount_paid"``)::

    Metric(
        indicators=("assets_delivered",),
        figures=assets_delivered,        # (FiscalYear) -> {indicator: {program code: figure}}
        lines=assets_delivered_lines,    # (indicator, FiscalYear, Scope) -> [CaseLine, ...]
    )

- ``figures(year)`` runs a constant number of queries (one, as a rule) whatever the number of
  programs or cases. A figure is a count (``int``) or an amount in Bs (``Decimal``, never float); a
  program with nothing may be left out. The report calls each metric once per report.
- ``lines(indicator, year, scope)`` lists the cases (or payments, or deliveries) behind the figure,
  within ``scope`` (the reader's programs, and one program or all); the report sorts them.

Several metrics, of one kind or of several, may give the same indicator (``amount_paid`` = tranches of
initiatives paid + transfers paid in money): the report adds them up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet

from .clock import LA_PAZ
from .money import ZERO

Figure = int | Decimal
# {indicator code: {program code: figure}}
Figures = Mapping[str, Mapping[str, Figure]]


@dataclass(frozen=True)
class FiscalYear:
    """A fiscal year (gestión) as the metrics read it: [``start``, ``end``) as aware datetimes in La Paz
    for timestamps (trail entries, confirmations), ``first_day``..``last_day`` for dates."""

    year: int

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, 1, 1, tzinfo=LA_PAZ)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime(self.year + 1, 1, 1, tzinfo=LA_PAZ)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, 1, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, 12, 31)


@dataclass(frozen=True)
class Scope:
    """Which cases a drill-down may list: those of the reader's programs (``program_ids``; ``None``:
    every program) and of one program (``program``, its code; ``None``: all)."""

    program_ids: Collection[int] | None = None
    program: str | None = None

    def apply(self, queryset: QuerySet, program_path: str) -> QuerySet:
        """``queryset`` narrowed to the scope; ``program_path`` is the ORM path to the program."""
        if self.program_ids is not None:
            queryset = queryset.filter(**{f"{program_path}_id__in": self.program_ids})
        if self.program is not None:
            queryset = queryset.filter(**{f"{program_path}__code": self.program})
        return queryset


@dataclass(frozen=True)
class CaseLine:
    """One row behind a figure: a case (by code), when it got there, and what it counts for."""

    kind: str  # the case kind's code ("initiative", "transfer")
    case_id: int
    code: str
    when: dt.datetime | dt.date
    state: str  # the case's state now (display)
    program: str
    department: str
    amount: Decimal  # the case's amount, or what this row paid
    count: int = 1  # asset units (assets_delivered); 1 otherwise
    note: str = ""


@dataclass(frozen=True)
class Metric:
    """The figures of ``indicators`` a kind computes in one read, and the rows behind each (see the
    module docstring)."""

    indicators: tuple[str, ...]
    figures: Callable[[FiscalYear], Figures]
    lines: Callable[[str, FiscalYear, Scope], list[CaseLine]]


@dataclass(frozen=True)
class Reached:
    """One case that reached its beneficiaries in a fiscal year (its money or its assets got to them:
    a tranche paid, a payment, a delivery): who (women, men, of which kind) and where (department,
    municipality, dairy basin, sector), and what it paid in the year. A kind's ``reach(year, scope)``
    gives one per case (``cases.kinds.CaseKind.reach``); the beneficiaries report groups them."""

    kind: str  # the case kind's code
    case_id: int
    code: str
    when: dt.date  # the first payment or delivery of the year
    state: str  # the case's state now (display)
    program: str  # program code
    department: str  # department code
    municipality: str
    dairy_basin: str  # "" outside PROLECHE and the dairy sector
    sector: str
    beneficiaries_kind: str
    women: int
    men: int
    paid: Decimal  # Bs paid to the beneficiary in the year (0 for a delivery in kind)

    @property
    def total(self) -> int:
        return self.women + self.men


def reached_per_case(
    kind: str, payments: Iterable[tuple], *, state_label: Callable[[str], object]
) -> list[Reached]:
    """One ``Reached`` per case from its payments of the year (a kind's ``reach``): ``payments`` are
    ``(case_id, code, state, program, department, municipality, dairy_basin, sector,
    beneficiaries_kind, women, men, day, amount)``, one per payment, in any order; a case's ``paid``
    is their sum and its ``when`` the first ``day``. ``state_label``: the state's display."""
    found: dict[int, Reached] = {}
    for row in payments:
        (
            case_id,
            code,
            state,
            program,
            department,
            municipality,
            basin,
            sector,
            who,
            women,
            men,
            day,
            amount,
        ) = row
        known = found.get(case_id)
        if known is not None:
            found[case_id] = replace(known, when=min(known.when, day), paid=known.paid + amount)
            continue
        found[case_id] = Reached(
            kind,
            case_id,
            code,
            day,
            str(state_label(state)),
            program,
            department,
            municipality,
            basin,
            sector,
            who,
            women,
            men,
            ZERO + amount,
        )
    return list(found.values())


# The report indicators every reach gives (``reach_figures``), by program: cases' people reached.
BENEFICIARIES = "beneficiaries"
BENEFICIARIES_WOMEN = "beneficiaries_women"
BENEFICIARIES_MEN = "beneficiaries_men"
REACH_INDICATORS = (BENEFICIARIES, BENEFICIARIES_WOMEN, BENEFICIARIES_MEN)


def reach_figures(rows: Iterable[Reached]) -> dict[str, dict[str, Figure]]:
    """The beneficiaries indicators of ``rows`` by program (no query: from a kind's reach)."""
    figures: dict[str, dict[str, Figure]] = {indicator: {} for indicator in REACH_INDICATORS}
    for row in rows:
        for indicator, value in (
            (BENEFICIARIES, row.total),
            (BENEFICIARIES_WOMEN, row.women),
            (BENEFICIARIES_MEN, row.men),
        ):
            by_program = figures[indicator]
            by_program[row.program] = int(by_program.get(row.program, 0)) + value
    return figures


def reach_lines(indicator: str, rows: Iterable[Reached]) -> list[CaseLine]:
    """The cases behind a beneficiaries indicator: one line per case, ``count`` its people."""
    count = {
        BENEFICIARIES: lambda r: r.total,
        BENEFICIARIES_WOMEN: lambda r: r.women,
        BENEFICIARIES_MEN: lambda r: r.men,
    }[indicator]
    return [
        CaseLine(r.kind, r.case_id, r.code, r.when, r.state, r.program, r.department, r.paid, count=count(r))
        for r in rows
    ]


def count_by_program(
    queryset: QuerySet, program_path: str, conditions: Mapping[str, Q]
) -> dict[str, dict[str, int]]:
    """One grouped query: for each indicator, the number of distinct rows of ``queryset`` meeting its
    condition, by program code (``program_path``: the ORM path to the program's code)."""
    rows = (
        queryset.order_by()
        .values(program_code=F(program_path))
        .annotate(
            **{
                indicator: Count("pk", filter=condition, distinct=True)
                for indicator, condition in conditions.items()
            }
        )
    )
    figures: dict[str, dict[str, int]] = {indicator: {} for indicator in conditions}
    for row in rows:
        code = row["program_code"]
        for indicator in conditions:
            figures[indicator][code] = row[indicator]
    return figures


def sum_by_program(rows: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """``(program code, amount)`` rows summed by program in ``Decimal`` (SQLite would add decimals as
    binary floats)."""
    sums: dict[str, Decimal] = {}
    for code, amount in rows:
        sums[code] = sums.get(code, ZERO) + amount
    return sums
