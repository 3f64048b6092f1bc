"""What productive initiatives contribute to the goals report (``cases.metrics``).

- ``initiatives_submitted`` / ``_approved`` / ``_closed`` / ``_rejected``: initiatives with an
  ``initiative.submitted`` / ``.approved`` / ``.closed`` / ``.rejected`` entry in the year's audit
  trail (WHEN it reached the state, whatever it did later); program = the call's program. One grouped
  query for the four.
- ``amount_paid``: tranches paid (``state = paid``) with ``confirmed_at`` in the year, by the call's
  program. One query; amounts summed in ``Decimal``.
- ``beneficiaries`` / ``_women`` / ``_men`` (``cases.metrics.REACH_INDICATORS``): the people reached by
  the initiatives with a tranche paid in the year (``reach``: the same query as ``amount_paid``, one
  row per initiative with its placement; an initiative paid in two years counts in both).

Indicator codes are the report's (``reports.models.Indicator`` values), written here as plain strings.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.actions import AuditAction
from audit.selectors import cases_reached, first_reached_at
from cases.clock import LA_PAZ
from cases.metrics import (
    REACH_INDICATORS,
    CaseLine,
    Figures,
    FiscalYear,
    Metric,
    Reached,
    Scope,
    count_by_program,
    reach_figures,
    reach_lines,
    reached_per_case,
    sum_by_program,
)

from .models import Initiative, InitiativeState, Tranche

KIND = "initiative"
AMOUNT_PAID = "amount_paid"

# The audit action that marks each indicator.
REACHED: dict[str, str] = {
    "initiatives_submitted": AuditAction.INITIATIVE_SUBMITTED,
    "initiatives_approved": AuditAction.INITIATIVE_APPROVED,
    "initiatives_closed": AuditAction.INITIATIVE_CLOSED,
    "initiatives_rejected": AuditAction.INITIATIVE_REJECTED,
}


def _line(initiative: Initiative, when, amount, note: str = "") -> CaseLine:
    return CaseLine(
        KIND,
        initiative.pk,
        initiative.code,
        when,
        initiative.get_state_display(),
        initiative.call.program.code,
        initiative.department.code,
        amount,
        note=note,
    )


def reached_figures(year: FiscalYear) -> Figures:
    """Initiatives that reached each state in ``year``, by program (one grouped query)."""
    return count_by_program(
        Initiative.objects.filter(code__in=cases_reached(REACHED.values(), year.start, year.end)),
        "call__program__code",
        {
            indicator: Q(code__in=cases_reached([action], year.start, year.end))
            for indicator, action in REACHED.items()
        },
    )


def reached_lines(indicator: str, year: FiscalYear, scope: Scope) -> list[CaseLine]:
    """The initiatives that reached the state of ``indicator`` in ``year``, with when they first did;
    amount: approved, else requested."""
    found = scope.apply(
        Initiative.objects.select_related("call__program", "department"), "call__program"
    ).annotate(reached_at=first_reached_at(REACHED[indicator], year.start, year.end))
    return [_line(i, i.reached_at, i.grant_amount) for i in found.filter(reached_at__isnull=False)]


def _paid_tranches(year: FiscalYear):
    return Tranche.objects.filter(
        state=Tranche.State.PAID, confirmed_at__gte=year.start, confirmed_at__lt=year.end
    )


_REACH_COLUMNS = (
    "initiative_id",
    "initiative__code",
    "initiative__state",
    "initiative__call__program__code",
    "initiative__department__code",
    "initiative__municipality",
    "initiative__dairy_basin",
    "initiative__sector",
    "initiative__beneficiaries_kind",
    "initiative__beneficiaries_women",
    "initiative__beneficiaries_men",
    "confirmed_at",
    "amount",
)


def reach(year: FiscalYear, scope: Scope) -> list[Reached]:
    """The initiatives within ``scope`` with a tranche paid in ``year`` (one query over the paid
    tranches): one row each, with what they paid in the year and when they first were paid."""
    tranches = scope.apply(_paid_tranches(year), "initiative__call__program").order_by()
    payments = (
        (*row[:-2], timezone.localtime(row[-2], LA_PAZ).date(), row[-1])
        for row in tranches.values_list(*_REACH_COLUMNS)
    )
    return reached_per_case(KIND, payments, state_label=lambda s: InitiativeState(s).label)


def paid_figures(year: FiscalYear) -> Figures:
    """Bs paid in tranches confirmed in ``year`` and the people those initiatives reach, by program
    (one query: ``reach``)."""
    rows = reach(year, Scope())
    return {
        AMOUNT_PAID: sum_by_program((r.program, r.paid) for r in rows),
        **reach_figures(rows),
    }


def paid_lines(indicator: str, year: FiscalYear, scope: Scope) -> list[CaseLine]:
    """One line per tranche paid in ``year``: its initiative, when it was confirmed, what it paid (for
    the beneficiaries: one line per initiative, its people as ``count``)."""
    if indicator in REACH_INDICATORS:
        return reach_lines(indicator, reach(year, scope))
    tranches = scope.apply(
        _paid_tranches(year).select_related("initiative__call__program", "initiative__department"),
        "initiative__call__program",
    )
    return [
        _line(tr.initiative, tr.confirmed_at, tr.amount, note=_("Tranche %(n)s") % {"n": tr.number})
        for tr in tranches
    ]


METRICS = (
    Metric(indicators=tuple(REACHED), figures=reached_figures, lines=reached_lines),
    Metric(indicators=(AMOUNT_PAID, *REACH_INDICATORS), figures=paid_figures, lines=paid_lines),
)
