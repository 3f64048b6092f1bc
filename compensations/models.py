"""Price compensation of raw milk (PROLECHE's "precio justo"; PRODUCT.md issue 14, item 4).

Two case kinds, each with its own FSM and flow:

- ``CompensationAgreement`` (kind ``compensation``, ``CPA-…``): the program's agreement with one dairy
  company — rate per litre, first and last month, ceiling, budget line. It goes through approval
  once: ``requested → certified`` (finance reserves the ceiling on the line) ``→ active`` (the
  director's resolution; the ceiling is committed), ``rejected`` on the way, ``closed`` at the end
  (what was not paid is released).
- ``Settlement`` (kind ``settlement``, ``LIQ-…``): one month of one agreement. The dairy company
  declares the litres with their evidence; ``declared → verified`` (PROLECHE technical staff, who
  may correct the litres with a reason) ``→ paid`` (finance, with the bank reference; the money is
  executed and paid on the agreement's line), or ``declared → rejected`` (with the reason).

The FSMs are the law; ``workflows.services.transition`` is the only way to fire a transition.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from cases.columns import WritesChangedColumns
from cases.documents import CaseDocument
from cases.money import CENT, MONEY, MoneyFieldOptions
from cases.reach import Reach

from . import conditions as c

AGREEMENT_KIND = "compensation"
SETTLEMENT_KIND = "settlement"
RATE: MoneyFieldOptions = {"max_digits": 10, "decimal_places": 4}
LITRES: MoneyFieldOptions = {"max_digits": 14, "decimal_places": 2}


def settlement_amount(litres: Decimal, rate: Decimal) -> Decimal:
    """Litres times rate, to the centavo, half up (``Decimal`` all the way)."""
    return (Decimal(litres) * Decimal(rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def month_end(month: dt.date) -> dt.date:
    """The last day of ``month`` (any day of it)."""
    nxt = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of every month from ``first`` to ``last``, both included."""
    out, day = [], first.replace(day=1)
    while day <= last:
        out.append(day)
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


class AgreementState(models.TextChoices):
    REQUESTED = "requested", _("Awaiting budget certification")
    CERTIFIED = "certified", _("Awaiting the director's resolution")
    ACTIVE = "active", _("In force")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")


AS = AgreementState
AGREEMENT_FINAL_STATES = frozenset({AS.CLOSED, AS.REJECTED})
AGREEMENT_TRANSITIONS = (
    ("certify", (AS.REQUESTED,), AS.CERTIFIED),
    ("approve", (AS.CERTIFIED,), AS.ACTIVE),
    ("reject", (AS.REQUESTED, AS.CERTIFIED), AS.REJECTED),
    ("close", (AS.ACTIVE,), AS.CLOSED),
)
AGREEMENT_GUARDS = {
    "certify": ([c.ceiling_reserved], c.by_finance),
    "approve": ([c.ceiling_reserved, c.resolution_recorded], c.by_director),
    "reject": ([c.rejection_reason_given], c.by_finance_or_director),
    "close": ([c.nothing_open], c.by_director_or_system),
}


class SettlementState(models.TextChoices):
    DECLARED = "declared", _("Declared")
    VERIFIED = "verified", _("Verified")
    PAID = "paid", _("Paid")
    REJECTED = "rejected", _("Rejected")


SS = SettlementState
SETTLEMENT_FINAL_STATES = frozenset({SS.PAID, SS.REJECTED})
# What counts against the agreement's ceiling: verified (owed) and paid.
HOLDS_CEILING = (SS.VERIFIED, SS.PAID)
SETTLEMENT_TRANSITIONS = (
    ("verify", (SS.DECLARED,), SS.VERIFIED),
    ("reject", (SS.DECLARED,), SS.REJECTED),
    ("pay", (SS.VERIFIED,), SS.PAID),
)
SETTLEMENT_GUARDS = {
    "verify": ([c.amount_positive], c.by_verifier),
    "reject": ([c.rejection_reason_given], c.by_verifier),
    "pay": ([c.payment_recorded], c.by_payer),
}


def _guarded(table, guards, name: str) -> dict:
    rows = {n: (list(sources), target) for n, sources, target in table}
    if set(rows) != set(guards):  # pragma: no cover - a table error, caught at import
        raise RuntimeError("every transition declares its guards")
    sources, target = rows[name]
    conditions, permission = guards[name]
    return {"source": sources, "target": target, "conditions": conditions, "permission": permission}


def _agreement(name: str) -> dict:
    return _guarded(AGREEMENT_TRANSITIONS, AGREEMENT_GUARDS, name)


def _settlement(name: str) -> dict:
    return _guarded(SETTLEMENT_TRANSITIONS, SETTLEMENT_GUARDS, name)


class CompensationAgreement(WritesChangedColumns, ConcurrentTransitionMixin, Reach, models.Model):
    """PROLECHE's price-compensation agreement with one dairy company; its beneficiaries (the milk
    producers who supply the company) and placement are ``cases.reach.Reach``'s fields."""

    TRANSITIONS = AGREEMENT_TRANSITIONS

    code = models.CharField(_("code"), max_length=32, unique=True)
    unit = models.ForeignKey(
        "registry.Unit",
        on_delete=models.PROTECT,
        related_name="compensation_agreements",
        verbose_name=_("dairy company"),
    )
    department = models.ForeignKey(
        "registry.Department", on_delete=models.PROTECT, related_name="+", verbose_name=_("department")
    )
    program = models.ForeignKey(
        "budget.Program", on_delete=models.PROTECT, related_name="+", verbose_name=_("program")
    )
    budget_line = models.ForeignKey(
        "budget.BudgetLine", on_delete=models.PROTECT, related_name="+", verbose_name=_("budget line")
    )
    rate = models.DecimalField(_("rate per litre (Bs)"), **RATE)
    first_month = models.DateField(_("first month"))
    last_month = models.DateField(_("last month"))
    ceiling = models.DecimalField(_("ceiling (Bs)"), **MONEY)
    state = FSMField(_("state"), default=AS.REQUESTED, choices=AS.choices, protected=True, db_index=True)
    resolution_number = models.CharField(_("resolution number"), max_length=40, blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    certified_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("compensation agreement")
        verbose_name_plural = _("compensation agreements")
        constraints = [
            *Reach.Meta.constraints,
            models.CheckConstraint(condition=Q(rate__gt=0), name="compensation_rate_positive"),
            models.CheckConstraint(condition=Q(ceiling__gt=0), name="compensation_ceiling_positive"),
            models.CheckConstraint(
                condition=Q(first_month__lte=models.F("last_month")), name="compensation_period_ordered"
            ),
        ]
        indexes = [models.Index(fields=["created_at", "id"], name="compensation_created_idx")]

    def __str__(self) -> str:
        return self.code

    @property
    def case_code(self) -> str:
        return self.code

    @property
    def title(self) -> str:
        return f"{_('Price compensation')} — {self.unit.name}"

    @property
    def rate_display(self) -> str:
        """``Bs 0,40`` / ``Bs 0,3250``: the rate with at least 2 and at most 4 decimals, Bolivian style."""
        text = format(self.rate.quantize(Decimal("0.0001")), "f").rstrip("0")
        whole, _dot, places = text.partition(".")
        return f"Bs {whole},{places.ljust(2, '0')}"

    def months(self) -> list[dt.date]:
        return months_between(self.first_month, self.last_month)

    @property
    def figures(self):
        """The ceiling, what the settlements hold of it, paid and remaining (``selectors.figures``)."""
        from .selectors import figures

        return figures(self)

    def task_context(self, step: str = "") -> dict:
        return {
            "department_id": self.department_id,
            "program_id": self.program_id,
            "unit_id": self.unit_id,
            "beneficiary": self.unit.name,
            "amount": self.ceiling,
            "title": str(self.title),
        }

    @transition(state, **_agreement("certify"))
    def certify(self):
        pass

    @transition(state, **_agreement("approve"))
    def approve(self):
        self.approved_at = timezone.now()

    @transition(state, **_agreement("reject"))
    def reject(self):
        pass

    @transition(state, **_agreement("close"))
    def close(self):
        pass


class Settlement(WritesChangedColumns, ConcurrentTransitionMixin, models.Model):
    """One month of one agreement: the litres declared, the amount owed, its payment."""

    TRANSITIONS = SETTLEMENT_TRANSITIONS

    code = models.CharField(_("code"), max_length=32, unique=True)
    agreement = models.ForeignKey(
        CompensationAgreement,
        on_delete=models.PROTECT,
        related_name="settlements",
        verbose_name=_("agreement"),
    )
    month = models.DateField(_("month"))
    declared_litres = models.DecimalField(_("litres declared"), **LITRES)
    litres = models.DecimalField(_("litres"), **LITRES)
    amount = models.DecimalField(_("amount (Bs)"), **MONEY)
    correction_reason = models.TextField(_("reason for the correction"), blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    state = FSMField(_("state"), default=SS.DECLARED, choices=SS.choices, protected=True, db_index=True)
    declared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(_("bank transfer reference"), max_length=60, blank=True)
    c31_reference = models.CharField(_("C-31 number"), max_length=30, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["agreement", "month"]
        verbose_name = _("monthly settlement")
        verbose_name_plural = _("monthly settlements")
        constraints = [
            # One settlement per agreement and month (a rejected one leaves the month free).
            models.UniqueConstraint(
                fields=["agreement", "month"],
                condition=~Q(state="rejected"),
                name="settlement_one_per_month",
            ),
            models.CheckConstraint(condition=Q(litres__gt=0), name="settlement_litres_positive"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="settlement_amount_positive"),
            models.UniqueConstraint(
                fields=["payment_reference"],
                condition=~Q(payment_reference=""),
                name="settlement_payment_reference_uniq",
            ),
        ]
        indexes = [models.Index(fields=["created_at", "id"], name="settlement_created_idx")]

    def __str__(self) -> str:
        return self.code

    @property
    def case_code(self) -> str:
        return self.code

    @property
    def title(self) -> str:
        return f"{_('Price compensation')} {self.month:%m/%Y} — {self.agreement.unit.name}"

    @property
    def unit(self):
        """The dairy company: its agreement's."""
        return self.agreement.unit

    @property
    def department(self):
        """Its agreement's department (the unit's)."""
        return self.agreement.department

    def task_context(self, step: str = "") -> dict:
        agreement = self.agreement
        return {
            "department_id": agreement.department_id,
            "program_id": agreement.program_id,
            "unit_id": agreement.unit_id,
            "beneficiary": agreement.unit.name,
            "amount": self.amount,
            "title": str(self.title),
        }

    @transition(state, **_settlement("verify"))
    def verify(self):
        self.verified_at = timezone.now()

    @transition(state, **_settlement("reject"))
    def reject(self):
        pass

    @transition(state, **_settlement("pay"))
    def pay(self):
        pass


class EvidenceKind(models.TextChoices):
    COLLECTION_RECORD = "collection_record", _("Milk collection record")
    OTHER = "other", _("Other")


class SettlementDocument(CaseDocument):
    """The evidence of a month's litres (``cases.documents``: checked by content, hashed, immutable)."""

    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=40, choices=EvidenceKind.choices)
