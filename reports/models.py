"""Goals (metas) of the annual operating plan (POA), per fiscal year and program, against which the
accountability report shows attainment (PRODUCT.md §5). Written only by ``reports.services``
(administrators and the program's managers, audited).

The indicators below are the figures the report computes from the case data: the case kinds count their
cases for them (``cases.metrics``, the ``metrics`` each kind registers in ``cases.kinds``) and
``reports.selectors.attainment`` adds them up. A goal is computed from one of them, or entered by hand.
A goal without a program is a goal of the whole agency: it is set against the total. The registry
indicators (units registered, renewed, valid) are agency-wide only: units belong to no program.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from budget.models import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR
from cases.documents import CaseDocument
from cases.money import MoneyFieldOptions


class Indicator(models.TextChoices):
    """What the report counts. Values are stored (goals) and published (open data): never rename."""

    INITIATIVES_SUBMITTED = "initiatives_submitted", _("Initiatives submitted")
    INITIATIVES_APPROVED = "initiatives_approved", _("Initiatives approved")
    INITIATIVES_CLOSED = "initiatives_closed", _("Initiatives closed")
    INITIATIVES_REJECTED = "initiatives_rejected", _("Initiatives rejected")
    TRANSFERS_REQUESTED = "transfers_requested", _("Transfers requested")
    TRANSFERS_DELIVERED = "transfers_delivered", _("Transfers delivered")
    TRANSFERS_CLOSED = "transfers_closed", _("Transfers closed")
    ASSETS_DELIVERED = "assets_delivered", _("Asset units delivered (in kind)")
    AMOUNT_PAID = "amount_paid", _("Paid to beneficiaries (Bs)")
    # People reached by the cases paid or delivered in the year (``cases.metrics.REACH_INDICATORS``).
    BENEFICIARIES = "beneficiaries", _("Beneficiaries reached")
    BENEFICIARIES_WOMEN = "beneficiaries_women", _("Beneficiaries reached: women")
    BENEFICIARIES_MEN = "beneficiaries_men", _("Beneficiaries reached: men")
    UNITS_REGISTERED = "units_registered", _("Productive units registered")
    UNITS_RENEWED = "units_renewed", _("Registrations renewed")
    UNITS_VALID = "units_valid", _("Units with a valid registration at year end")


# Money indicators (Bs, two decimals); every other indicator is a count (whole number).
MONEY_INDICATORS = frozenset({Indicator.AMOUNT_PAID})
# Counted for the whole agency only (units belong to no program).
AGENCY_INDICATORS = frozenset({Indicator.UNITS_REGISTERED, Indicator.UNITS_RENEWED, Indicator.UNITS_VALID})
PROGRAM_INDICATORS = tuple(i for i in Indicator if i not in AGENCY_INDICATORS)


# The unit each indicator's goals were migrated with (free text from now on).
INDICATOR_UNITS = {
    Indicator.AMOUNT_PAID: "Bs",
    Indicator.UNITS_REGISTERED: "unidades productivas",
    Indicator.UNITS_RENEWED: "unidades productivas",
    Indicator.UNITS_VALID: "unidades productivas",
    Indicator.ASSETS_DELIVERED: "unidades (bienes)",
}


class Goal(models.Model):
    """A goal (meta) of the annual operating plan (POA) of one program (or of the whole agency) in one
    fiscal year: a free indicator text, its unit, a baseline and a target. Its result is either
    computed from the case data (``computed_from``: a metric code, see ``reports.selectors``) or the
    sum of the progress entries recorded by hand (``computed_from`` empty), each with its evidence."""

    fiscal_year = models.PositiveSmallIntegerField(
        _("fiscal year"), validators=[MinValueValidator(MIN_FISCAL_YEAR), MaxValueValidator(MAX_FISCAL_YEAR)]
    )
    program = models.ForeignKey(
        "budget.Program",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("program"),
        help_text=_("Empty: a goal of the whole agency, set against the total."),
    )
    indicator = models.CharField(
        _("indicator"),
        max_length=300,
        help_text=_("The goal as the annual plan words it, e.g. “New productive units registered”."),
    )
    unit = models.CharField(
        _("unit"), max_length=60, help_text=_("e.g. unidades productivas, servicios, %, Bs, beneficiarios")
    )
    target = models.DecimalField(
        _("target"),
        max_digits=16,
        decimal_places=2,
        help_text=_("A whole number for counts; bolivianos for amounts."),
    )
    baseline = models.DecimalField(
        _("baseline"), max_digits=16, decimal_places=2, null=True, blank=True, help_text=_("Empty: unknown.")
    )
    computed_from = models.CharField(
        _("computed from"),
        max_length=40,
        blank=True,
        default="",
        help_text=_("A figure of the case data; empty: progress is entered by hand, with its evidence."),
    )
    description = models.CharField(
        _("description"),
        max_length=300,
        blank=True,
        help_text=_("A note on the goal (optional)."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["fiscal_year", "program__code", "pk"]
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_year", "program", "computed_from"],
                condition=Q(program__isnull=False) & ~Q(computed_from=""),
                name="reports_goal_one_per_program_metric",
            ),
            models.UniqueConstraint(
                fields=["fiscal_year", "computed_from"],
                condition=Q(program__isnull=True) & ~Q(computed_from=""),
                name="reports_goal_one_per_agency_metric",
            ),
            models.CheckConstraint(condition=Q(target__gt=0), name="reports_goal_target_positive"),
        ]

    def __str__(self) -> str:
        program = self.program.code if self.program is not None else "PRO-BOLIVIA"
        return f"{self.fiscal_year} · {program} · {self.indicator}"

    @property
    def is_computed(self) -> bool:
        return bool(self.computed_from)


class ProgressEntry(models.Model):
    """Progress of a goal entered by hand: what was achieved (``value``, in the goal's unit) by
    ``date``, with a note and, as a rule, its evidence. Append-only: a correction is a new entry
    (negative values allowed); the goal's result is the sum of its entries."""

    goal = models.ForeignKey(Goal, on_delete=models.PROTECT, related_name="entries", verbose_name=_("goal"))
    value = models.DecimalField(_("value"), max_digits=16, decimal_places=2)
    date = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["date", "pk"]
        verbose_name = _("progress entry")
        verbose_name_plural = _("progress entries")

    def __str__(self) -> str:
        return f"{self.goal_id}: {self.value} ({self.date})"


class GoalEvidence(CaseDocument):
    """The document behind a progress entry (type checked by content, SHA-256 kept, immutable)."""

    entry = models.OneToOneField(
        ProgressEntry, on_delete=models.PROTECT, related_name="evidence", verbose_name=_("progress entry")
    )

    class Meta(CaseDocument.Meta):
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")


_SUM: MoneyFieldOptions = {"max_digits": 18, "decimal_places": 2}  # sums of amounts: 2 digits more


class LedgerSnapshot(models.Model):
    """The sums of one budget line's movements, as of one version of the line's ledger stamp
    (``budget.LedgerStamp``): what the budget-execution report of a closed fiscal year keeps instead of
    summing the ledger again (``reports.ledger``). True while the stamp still has this version: the
    database bumps it with every write to the line's movements. A cache: written by the report when it
    finds it missing or outdated, never by hand; deleting rows only costs a recomputation."""

    line = models.OneToOneField(
        "budget.BudgetLine",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="report_snapshot",
        verbose_name=_("budget line"),
    )
    version = models.PositiveBigIntegerField(_("version"))
    amount_in_force = models.DecimalField(_("amount in force"), **_SUM)
    reserved = models.DecimalField(_("reserved"), **_SUM)
    committed = models.DecimalField(_("committed"), **_SUM)
    executed = models.DecimalField(_("executed"), **_SUM)
    paid = models.DecimalField(_("paid"), **_SUM)
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("ledger snapshot")
        verbose_name_plural = _("ledger snapshots")

    def __str__(self) -> str:
        return f"{self.line_id}@{self.version}"
