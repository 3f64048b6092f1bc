"""Reads of price compensations, scoped to what the user may see (anything else is 404)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet, Sum

from cases.money import CENT, ZERO

from .models import HOLDS_CEILING, CompensationAgreement, Settlement, SettlementState


def agreement_list_for(user) -> QuerySet:
    from registry.selectors import case_scope

    qs = CompensationAgreement.objects.select_related("unit", "program", "department", "budget_line")
    return case_scope(qs, user, unit_field="unit_id", program_field="program_id")


def settlement_list_for(user) -> QuerySet:
    """Settlements of the agreements the user may see."""
    return Settlement.objects.select_related(
        "agreement", "agreement__unit", "agreement__program", "agreement__department"
    ).filter(agreement__in=agreement_list_for(user).values("pk"))


@dataclass(frozen=True)
class Figures:
    ceiling: Decimal
    held: Decimal  # verified (owed) + paid
    paid: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.ceiling - self.held


def figures(agreement: CompensationAgreement) -> Figures:
    """The ceiling, what the settlements hold of it and what was paid (one query)."""
    sums = Settlement.objects.filter(agreement=agreement).aggregate(
        held=Sum("amount", filter=_in(HOLDS_CEILING)), paid=Sum("amount", filter=_in((SettlementState.PAID,)))
    )
    # SQLite sums decimals without their places (360, not 360.00): quantized here.
    return Figures(
        agreement.ceiling,
        Decimal(sums["held"] or ZERO).quantize(CENT),
        Decimal(sums["paid"] or ZERO).quantize(CENT),
    )


def _in(states):
    from django.db.models import Q

    return Q(state__in=states)


def history_for(case, user) -> list:
    """The case's audit entries, oldest first, for whoever may see it."""
    from audit.models import AuditEntry

    agreement = case.agreement if isinstance(case, Settlement) else case
    if not agreement_list_for(user).filter(pk=agreement.pk).exists():
        return []
    return list(AuditEntry.objects.filter(case=case.code).order_by("seq"))
