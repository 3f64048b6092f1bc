"""What price compensations contribute to the reports (``cases.metrics``).

- ``amount_paid`` (goals report): the settlements paid in the year (``paid_on``), by the agreement's
  program. Decimal sums.
- ``beneficiaries`` / ``_women`` / ``_men`` (``cases.metrics.REACH_INDICATORS``) and the beneficiaries
  report (``reach``, the agreement kind's ``CaseKind.reach``): **an agreement counts in a fiscal year
  when at least one of its settlements was paid in that year** — that is when the compensation
  reached the dairy company's producers. It counts once in the year whatever the number of its
  settlements paid in it (its women and men are the agreement's), and in every year one was paid;
  ``paid`` is what its settlements paid in the year, ``when`` the first of those payments. An
  agreement with no settlement paid reaches nobody yet.

``amount_paid`` and the beneficiaries are read by the same single query over the settlements paid in
the year (``reach``), whatever the number of agreements or settlements.
"""

from __future__ import annotations

from cases.metrics import (
    REACH_INDICATORS,
    CaseLine,
    Figures,
    FiscalYear,
    Metric,
    Reached,
    Scope,
    reach_figures,
    reach_lines,
    reached_per_case,
    sum_by_program,
)

from .models import AGREEMENT_KIND, SETTLEMENT_KIND, AgreementState, Settlement, SettlementState

AMOUNT_PAID = "amount_paid"


def _paid(year: FiscalYear):
    return Settlement.objects.filter(
        state=SettlementState.PAID, paid_on__range=(year.first_day, year.last_day)
    )


_REACH_COLUMNS = (
    "agreement_id",
    "agreement__code",
    "agreement__state",
    "agreement__program__code",
    "agreement__department__code",
    "agreement__municipality",
    "agreement__dairy_basin",
    "agreement__sector",
    "agreement__beneficiaries_kind",
    "agreement__beneficiaries_women",
    "agreement__beneficiaries_men",
    "paid_on",
    "amount",
)


def reach(year: FiscalYear, scope: Scope) -> list[Reached]:
    """The agreements within ``scope`` with a settlement paid in ``year`` (one query over the paid
    settlements): one row each, with what their settlements paid in the year and when the first was
    paid."""
    settlements = scope.apply(_paid(year), "agreement__program").order_by()
    return reached_per_case(
        AGREEMENT_KIND,
        settlements.values_list(*_REACH_COLUMNS),
        state_label=lambda s: AgreementState(s).label,
    )


def paid_figures(year: FiscalYear) -> Figures:
    """Bs paid by the settlements paid in ``year`` and the people their agreements reach, by program
    (one query: ``reach``)."""
    rows = reach(year, Scope())
    return {AMOUNT_PAID: sum_by_program((r.program, r.paid) for r in rows), **reach_figures(rows)}


def paid_lines(indicator: str, year: FiscalYear, scope: Scope) -> list[CaseLine]:
    """One line per settlement paid in ``year`` (for the beneficiaries: one line per agreement, its
    people as ``count``)."""
    if indicator in REACH_INDICATORS:
        return reach_lines(indicator, reach(year, scope))
    rows = scope.apply(
        _paid(year).select_related("agreement__program", "agreement__department", "agreement__unit"),
        "agreement__program",
    )
    return [
        CaseLine(
            SETTLEMENT_KIND,
            s.pk,
            s.code,
            s.paid_on,
            s.get_state_display(),
            s.agreement.program.code,
            s.agreement.department.code,
            s.amount,
            note=f"{s.month:%m/%Y} — {s.agreement.unit.name}",
        )
        for s in rows
    ]


METRICS = (Metric(indicators=(AMOUNT_PAID, *REACH_INDICATORS), figures=paid_figures, lines=paid_lines),)
