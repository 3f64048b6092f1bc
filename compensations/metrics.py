"""What price compensations contribute to the goals report (``cases.metrics``): ``amount_paid``, the
settlements paid in the year (``paid_on``), by the agreement's program. One query; Decimal sums."""

from __future__ import annotations

from cases.metrics import CaseLine, Figures, FiscalYear, Metric, Scope, sum_by_program

from .models import SETTLEMENT_KIND, Settlement, SettlementState

AMOUNT_PAID = "amount_paid"


def _paid(year: FiscalYear):
    return Settlement.objects.filter(
        state=SettlementState.PAID, paid_on__range=(year.first_day, year.last_day)
    )


def paid_figures(year: FiscalYear) -> Figures:
    return {AMOUNT_PAID: sum_by_program(_paid(year).values_list("agreement__program__code", "amount"))}


def paid_lines(indicator: str, year: FiscalYear, scope: Scope) -> list[CaseLine]:
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


METRICS = (Metric(indicators=(AMOUNT_PAID,), figures=paid_figures, lines=paid_lines),)
