"""What transfers contribute to the goals report (``cases.metrics``).

- ``transfers_requested`` / ``_delivered`` / ``_closed``: transfers with a ``transfer.requested`` /
  ``.delivered`` / ``.closed`` entry in the year's audit trail (WHEN it reached the state, whatever it
  did later); program = the transfer's. One grouped query for the three.
- ``assets_delivered``: asset units (in kind) with ``delivered_on`` in the year and no longer
  ``pending`` (accepted or otherwise settled by the beneficiary). One query.
- ``amount_paid``: transfers in money paid (``paid_on`` in the year, ``paid_amount`` > 0). One query;
  amounts summed in ``Decimal``. In-kind value is not money paid.
- ``beneficiaries`` / ``_women`` / ``_men`` (``cases.metrics.REACH_INDICATORS``): the people reached by
  the transfers paid in money in the year or with asset units delivered in it (``reach``: the same
  query as ``amount_paid``, one row per transfer with its placement).

Indicator codes are the report's (``reports.models.Indicator`` values), written here as plain strings.
"""

from __future__ import annotations

from django.db.models import Count, Exists, Min, OuterRef, Q, Subquery

from audit.actions import AuditAction
from audit.selectors import cases_reached, first_reached_at
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
    sum_by_program,
)
from cases.money import ZERO

from .models import AssetItem, Modality, Transfer, TransferState

KIND = "transfer"
ASSETS_DELIVERED = "assets_delivered"
AMOUNT_PAID = "amount_paid"

# The audit action that marks each indicator.
REACHED: dict[str, str] = {
    "transfers_requested": AuditAction.TRANSFER_REQUESTED,
    "transfers_delivered": AuditAction.TRANSFER_DELIVERED,
    "transfers_closed": AuditAction.TRANSFER_CLOSED,
}


def _line(transfer: Transfer, when, amount, **extra) -> CaseLine:
    return CaseLine(
        KIND,
        transfer.pk,
        transfer.code,
        when,
        transfer.get_state_display(),
        transfer.program.code,
        transfer.department.code,
        amount,
        **extra,
    )


def _within(scope: Scope, transfers=None):
    """``transfers`` (default: all) within ``scope``, with what a line shows."""
    transfers = Transfer.objects.all() if transfers is None else transfers
    return scope.apply(transfers.select_related("program", "department"), "program")


def reached_figures(year: FiscalYear) -> Figures:
    """Transfers that reached each state in ``year``, by program (one grouped query)."""
    return count_by_program(
        Transfer.objects.filter(code__in=cases_reached(REACHED.values(), year.start, year.end)),
        "program__code",
        {
            indicator: Q(code__in=cases_reached([action], year.start, year.end))
            for indicator, action in REACHED.items()
        },
    )


def reached_lines(indicator: str, year: FiscalYear, scope: Scope) -> list[CaseLine]:
    """The transfers that reached the state of ``indicator`` in ``year``, with when they first did."""
    found = _within(scope).annotate(reached_at=first_reached_at(REACHED[indicator], year.start, year.end))
    return [
        _line(t, t.reached_at, t.grant_amount, note=t.get_modality_display())
        for t in found.filter(reached_at__isnull=False)
    ]


def assets_figures(year: FiscalYear) -> Figures:
    """Asset units delivered in ``year``, by program (one grouped query)."""
    delivered = (
        AssetItem.objects.filter(delivered_on__range=(year.first_day, year.last_day))
        .exclude(status=AssetItem.Status.PENDING)
        .order_by()
        .values_list("asset__transfer__program__code")
        .annotate(n=Count("pk"))
    )
    return {ASSETS_DELIVERED: dict(delivered)}


def assets_lines(indicator: str, year: FiscalYear, scope: Scope) -> list[CaseLine]:
    """One line per transfer with units delivered in ``year``: how many (``count``)."""
    delivered = Q(
        assets__items__delivered_on__range=(year.first_day, year.last_day),
        assets__items__status__in=[s for s in AssetItem.Status.values if s != AssetItem.Status.PENDING],
    )
    found = _within(scope).annotate(units=Count("assets__items", filter=delivered)).filter(units__gt=0)
    return [_line(t, t.delivered_on, t.amount, count=t.units) for t in found]


def _paid_in_money(year: FiscalYear):
    return Transfer.objects.filter(
        modality=Modality.MONEY, paid_on__range=(year.first_day, year.last_day), paid_amount__gt=0
    )


def _delivered_in(year: FiscalYear):
    """Asset units of the outer transfer delivered in ``year`` and no longer pending."""
    return (
        AssetItem.objects.filter(
            asset__transfer=OuterRef("pk"), delivered_on__range=(year.first_day, year.last_day)
        )
        .exclude(status=AssetItem.Status.PENDING)
        .order_by()
    )


def reach(year: FiscalYear, scope: Scope) -> list[Reached]:
    """The transfers within ``scope`` that reached their beneficiaries in ``year``: paid in money in
    it, or with asset units delivered in it (one query): one row each, with what it paid in money
    in the year and when (the payment, or the first unit delivered in the year)."""
    first_delivery = _delivered_in(year).values("asset__transfer").annotate(first=Min("delivered_on"))
    paid = Q(modality=Modality.MONEY, paid_on__range=(year.first_day, year.last_day), paid_amount__gt=0)
    found = (
        scope.apply(Transfer.objects.all(), "program")
        .annotate(delivered=Exists(_delivered_in(year)), first=Subquery(first_delivery.values("first")[:1]))
        .filter(paid | Q(modality=Modality.IN_KIND, delivered=True))
        .order_by()
        .values_list(
            "pk",
            "code",
            "state",
            "program__code",
            "department__code",
            "municipality",
            "dairy_basin",
            "sector",
            "beneficiaries_kind",
            "beneficiaries_women",
            "beneficiaries_men",
            "modality",
            "paid_on",
            "paid_amount",
            "first",
        )
    )
    rows = []
    for (
        pk,
        code,
        state,
        program,
        dept,
        muni,
        basin,
        sector,
        kind,
        women,
        men,
        modality,
        paid_on,
        amount,
        first,
    ) in found:
        in_money = modality == Modality.MONEY
        rows.append(
            Reached(
                KIND,
                pk,
                code,
                paid_on if in_money else first,
                str(TransferState(state).label),
                program,
                dept,
                muni,
                basin,
                sector,
                kind,
                women,
                men,
                (ZERO + amount) if in_money else ZERO,
            )
        )
    return rows


def paid_figures(year: FiscalYear) -> Figures:
    """Bs paid in money in ``year`` and the people reached by transfers paid or delivered in it, by
    program (one query: ``reach``)."""
    rows = reach(year, Scope())
    return {
        AMOUNT_PAID: sum_by_program((r.program, r.paid) for r in rows if r.paid),
        **reach_figures(rows),
    }


def paid_lines(indicator: str, year: FiscalYear, scope: Scope) -> list[CaseLine]:
    """One line per transfer paid in money in ``year``: when, and what it paid (for the
    beneficiaries: one line per transfer paid or delivered, its people as ``count``)."""
    if indicator in REACH_INDICATORS:
        return reach_lines(indicator, reach(year, scope))
    paid = _within(scope, _paid_in_money(year))
    return [_line(t, t.paid_on, t.paid_amount, note=t.get_modality_display()) for t in paid]


METRICS = (
    Metric(indicators=tuple(REACHED), figures=reached_figures, lines=reached_lines),
    Metric(indicators=(ASSETS_DELIVERED,), figures=assets_figures, lines=assets_lines),
    Metric(indicators=(AMOUNT_PAID, *REACH_INDICATORS), figures=paid_figures, lines=paid_lines),
)
