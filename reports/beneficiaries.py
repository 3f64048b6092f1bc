"""Beneficiaries reached, by department, municipality, dairy basin or sector (issue 14, item 3).

Which cases count in a fiscal year: those whose money or assets **reached the beneficiary in that
year** — an initiative with a tranche paid (confirmed) in the year, a transfer in money paid in the
year, a transfer in kind with asset units delivered in the year (``CaseKind.reach`` of each kind,
``cases.metrics.Reached``). So the figure means "people reached in the year". A case paid in two
years counts in both; a case reverted or recovered later still reached its people when it was paid.
Each case counts its own women and men (``cases.reach``) once per year, whatever the number of its
payments; ``paid`` is the money paid to it in the year (a delivery in kind pays nothing).

``beneficiaries(year, by=…)`` reads one query per case kind (today two) whatever the number of cases,
and groups in Python (counts as ``int``, money as ``Decimal``). Each breakdown adds up to the same
total: a case outside PROLECHE and the dairy sector is its own group under the dairy basins ("outside
the dairy basins"), a case with no municipality "municipality not given".

Access: as the other reports (closed years public; the year in progress for finance, the director,
internal control and administrators). No personal data: counts and amounts by place. The drill-down to
the cases (``beneficiary_cases``) is for the same staff, within their program scopes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from budget.models import Program
from budget.selectors import program_scope_ids
from cases import kinds
from cases.metrics import FiscalYear, Reached, Scope
from cases.reach import DairyBasin, Sector
from registry.models import Department

from .selectors import CENT, can_drill_down, is_closed

ZERO = Decimal("0.00")
# The breakdowns (``?by=``), in the order the page offers them.
BREAKDOWNS = ("department", "municipality", "dairy_basin", "sector")


def breakdown_label(by: str) -> str:
    return {
        "department": _("Department"),
        "municipality": _("Municipality"),
        "dairy_basin": _("Dairy basin"),
        "sector": _("Sector"),
    }[by]


def clean_breakdown(value) -> str:
    """``?by=``: one of ``BREAKDOWNS`` (default ``department``); ``ValidationError`` on ``by``."""
    text = str(value or "").strip() or "department"
    if text not in BREAKDOWNS:
        raise ValidationError(
            {
                "by": [
                    ValidationError(
                        _("Break down by one of: %(choices)s.") % {"choices": ", ".join(BREAKDOWNS)},
                        code="invalid",
                    )
                ]
            }
        )
    return text


def clean_program(value) -> str | None:
    """``?program=``: a program code (any case) or empty (every program); one query when given."""
    text = str(value or "").strip().upper()
    if not text:
        return None
    if not Program.objects.filter(code=text).exists():
        raise ValidationError({"program": [ValidationError(_("Unknown program."), code="invalid")]})
    return text


@dataclass(frozen=True)
class BeneficiaryGroup:
    """One row: the cases of a place (``key``: a department code, a municipality, a basin or sector
    code; ``""``: not placed there) and the people they reached."""

    key: str
    name: str
    cases: int
    women: int
    men: int
    paid: Decimal

    @property
    def total(self) -> int:
        return self.women + self.men


@dataclass(frozen=True)
class BeneficiariesReport:
    fiscal_year: int
    closed: bool
    by: str
    program: str | None
    groups: tuple[BeneficiaryGroup, ...]
    total: BeneficiaryGroup
    generated_at: dt.datetime

    @property
    def by_label(self) -> str:
        return breakdown_label(self.by)

    @property
    def is_empty(self) -> bool:
        return not self.groups


def _key(row: Reached, by: str) -> str:
    return {
        "department": row.department,
        "municipality": row.municipality.strip(),
        "dairy_basin": row.dairy_basin,
        "sector": row.sector,
    }[by]


def _names(by: str) -> dict[str, str]:
    """The label of each key of a breakdown, in the order the table lists them."""
    if by == "department":
        names = {str(code): str(label) for code, label in Department.Code.choices}
    elif by == "dairy_basin":
        names = {str(code): str(label) for code, label in DairyBasin.choices}
        names[""] = _("Outside the dairy basins")
    elif by == "sector":
        names = {str(code): str(label) for code, label in Sector.choices}
        names[""] = _("Sector not given")
    else:
        names = {"": _("Municipality not given")}
    return names


def reached_rows(fiscal_year: int, scope: Scope) -> list[Reached]:
    """Every kind's cases that reached their beneficiaries in ``fiscal_year`` within ``scope`` (one
    query per kind that registered a ``reach``)."""
    year = FiscalYear(fiscal_year)
    return [row for kind in kinds.all_kinds() if kind.reach is not None for row in kind.reach(year, scope)]


def group_rows(rows: Iterable[Reached], by: str) -> tuple[tuple[BeneficiaryGroup, ...], BeneficiaryGroup]:
    """``rows`` grouped by ``by``: the groups (with a case) in the breakdown's order — departments,
    basins and sectors in their list's order, municipalities alphabetically, the ungrouped last — and
    the total."""
    sums: dict[str, list] = {}
    for row in rows:
        figures = sums.setdefault(_key(row, by), [0, 0, 0, ZERO])
        figures[0] += 1
        figures[1] += row.women
        figures[2] += row.men
        figures[3] += row.paid
    names = _names(by)
    order = {key: n for n, key in enumerate(k for k in names if k)}

    def sort_key(key: str):
        return (key == "", order.get(key, len(order)), key.casefold())

    groups = tuple(
        BeneficiaryGroup(key, names.get(key, key), cases, women, men, paid.quantize(CENT))
        for key, (cases, women, men, paid) in sorted(sums.items(), key=lambda item: sort_key(item[0]))
    )
    total = BeneficiaryGroup(
        "",
        _("Total"),
        sum(g.cases for g in groups),
        sum(g.women for g in groups),
        sum(g.men for g in groups),
        sum((g.paid for g in groups), ZERO).quantize(CENT),
    )
    return groups, total


def beneficiaries(
    fiscal_year: int, *, by: str = "department", program: str | None = None
) -> BeneficiariesReport:
    """The people reached in ``fiscal_year`` by the cases (of ``program``, or all), grouped by
    ``by``: one query per case kind. No access check here: callers check ``can_view_execution``."""
    groups, total = group_rows(reached_rows(fiscal_year, Scope(program=program)), by)
    return BeneficiariesReport(
        fiscal_year=fiscal_year,
        closed=is_closed(fiscal_year),
        by=by,
        program=program,
        groups=groups,
        total=total,
        generated_at=timezone.now(),
    )


def beneficiary_cases(
    user, fiscal_year: int, *, by: str, key: str | None, program: str | None = None
) -> list[Reached]:
    """Staff: the cases behind one group (``key``; ``None``: every group) within the user's program
    scopes, oldest payment or delivery first. Empty for users who may not drill down."""
    if not can_drill_down(user):
        return []
    rows = reached_rows(fiscal_year, Scope(program_ids=program_scope_ids(user), program=program))
    if key is not None:
        rows = [row for row in rows if _key(row, by) == key]
    return sorted(rows, key=lambda row: (row.when, row.code))
