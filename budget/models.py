"""Budget (presupuesto): funding sources, programs, budget lines per fiscal year and their ledger.

A budget line holds the amount in force (presupuesto vigente) of one budget item in the shape of the
government's budget system (SIGEP): fiscal year (gestión), DA/UE, program, sub-program or project,
activity, funding source (fuente), organismo financiador and objeto del gasto (partida); and the
money moving through it: reserved
(certification) → committed (agreement) → executed (devengado) → paid. The database itself holds
the invariant (CheckConstraints): every figure is ≥ 0, reserved + committed + executed ≤ in force,
and paid ≤ executed. Every move is one append-only ``BudgetMovement`` row, so each figure equals the
sum of its movements (``budget.selectors.line_reconciles``). Only ``budget.services`` writes here.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from cases.money import MONEY, ZERO

MIN_FISCAL_YEAR = 2000
MAX_FISCAL_YEAR = 2100


class FundingSource(models.Model):
    """A funding source (fuente de financiamiento): 10 TGN, 11 TGN otros ingresos, 41, 42, 80…"""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("funding source")
        verbose_name_plural = _("funding sources")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Program(models.Model):
    """A program (PROLECHE, PROMYPE, CETIP, REGISTRO, PROBOLIVIA…): a coarse object for staff
    scoping with django-guardian (permission ``budget.work_in_program``)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        permissions = [
            ("work_in_program", _("Can work on cases and budget of the program")),
            ("manage_program", _("Manages the program (configures its calls)")),
        ]

    def __str__(self) -> str:
        return self.code


class SubProgram(models.Model):
    """A sub-program or project of a program (PROMYPE → JIWASA, PROMYPE FASE 2): budget lines may name
    one; the reports roll its lines up into the program's total and drill down to a row per
    sub-program. Staff scoping stays on the program."""

    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="subprograms", verbose_name=_("program")
    )
    code = models.CharField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=200)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["program__code", "code"]
        verbose_name = _("sub-program or project")
        verbose_name_plural = _("sub-programs and projects")
        constraints = [
            models.UniqueConstraint(fields=["program", "code"], name="budget_subprogram_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.program.code}/{self.code}"


class ProgramUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Program, on_delete=models.CASCADE)


class ProgramGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Program, on_delete=models.CASCADE)


# The SIGEP key of a budget line besides the fiscal year, program and source. Codes, "" when not given.
SIGEP_CODE_FIELDS = ("da_ue", "activity", "funder", "object_of_expenditure")
LINE_KEY_FIELDS = (
    "fiscal_year",
    "da_ue",
    "program",
    "subprogram",
    "activity",
    "source",
    "funder",
    "object_of_expenditure",
)


class BudgetLine(models.Model):
    """One SIGEP budget item — fiscal year x DA/UE x program (and sub-program or project) x activity x
    source x organismo financiador x objeto del gasto — with the amount in force and the money moved.
    A line created without the SIGEP fields keeps them empty (year x program x source, as before)."""

    fiscal_year = models.PositiveSmallIntegerField(
        _("fiscal year"),
        validators=[MinValueValidator(MIN_FISCAL_YEAR), MaxValueValidator(MAX_FISCAL_YEAR)],
    )
    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, related_name="lines", verbose_name=_("program")
    )
    source = models.ForeignKey(
        FundingSource, on_delete=models.PROTECT, related_name="lines", verbose_name=_("funding source")
    )
    da_ue = models.CharField(
        _("DA/UE"),
        max_length=20,
        blank=True,
        default="",
        db_default="",
        help_text=_("SIGEP administrative direction / executing unit, e.g. 01-0001"),
    )
    subprogram = models.ForeignKey(
        SubProgram,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lines",
        verbose_name=_("sub-program or project"),
    )
    activity = models.CharField(_("activity"), max_length=20, blank=True, default="", db_default="")
    funder = models.CharField(
        _("funding organization"),
        max_length=20,
        blank=True,
        default="",
        db_default="",
        help_text=_("SIGEP organismo financiador, e.g. 111 (TGN)"),
    )
    object_of_expenditure = models.CharField(
        _("object of expenditure"),
        max_length=20,
        blank=True,
        default="",
        db_default="",
        help_text=_("SIGEP objeto del gasto (partida), e.g. 25220"),
    )
    amount_in_force = models.DecimalField(_("amount in force"), default=ZERO, **MONEY)
    reserved = models.DecimalField(_("reserved"), default=ZERO, **MONEY)
    committed = models.DecimalField(_("committed"), default=ZERO, **MONEY)
    executed = models.DecimalField(_("executed"), default=ZERO, **MONEY)
    paid = models.DecimalField(_("paid"), default=ZERO, **MONEY)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["-fiscal_year", "program__code", "source__code"]
        verbose_name = _("budget line")
        verbose_name_plural = _("budget lines")
        constraints = [
            # The SIGEP key. Two constraints, as a NULL sub-program never equals another NULL in a
            # unique index (portable: partial indexes exist on SQLite and PostgreSQL).
            models.UniqueConstraint(
                fields=[f for f in LINE_KEY_FIELDS if f != "subprogram"],
                condition=Q(subprogram__isnull=True),
                name="budget_line_unique_sigep_key",
            ),
            models.UniqueConstraint(
                fields=list(LINE_KEY_FIELDS),
                condition=Q(subprogram__isnull=False),
                name="budget_line_unique_sigep_key_sub",
            ),
            models.CheckConstraint(
                condition=Q(fiscal_year__gte=MIN_FISCAL_YEAR) & Q(fiscal_year__lte=MAX_FISCAL_YEAR),
                name="budget_line_fiscal_year_range",
            ),
            models.CheckConstraint(
                condition=Q(amount_in_force__gte=0)
                & Q(reserved__gte=0)
                & Q(committed__gte=0)
                & Q(executed__gte=0)
                & Q(paid__gte=0),
                name="budget_line_non_negative",
            ),
            # Rounded to the cent: SQLite keeps decimals as binary floats, where 4.86 + 0.03 is
            # 4.890000000000001 > 4.89 (found by tests/budget/test_ledger_property.py). Exact on
            # PostgreSQL's numeric either way.
            models.CheckConstraint(
                condition=Q(
                    amount_in_force__gte=Round(F("reserved") + F("committed") + F("executed"), precision=2)
                ),
                name="budget_line_within_amount_in_force",
            ),
            models.CheckConstraint(
                condition=Q(paid__lte=F("executed")), name="budget_line_paid_within_executed"
            ),
        ]

    def __str__(self) -> str:
        program = self.program.code
        if self.subprogram_id is not None and self.subprogram is not None:
            program = f"{program}/{self.subprogram.code}"
        text = f"{self.fiscal_year}/{program}/{self.source.code}"
        detail = " ".join(
            v for v in (self.da_ue, self.activity, self.funder, self.object_of_expenditure) if v
        )
        return f"{text} ({detail})" if detail else text

    @property
    def used(self) -> Decimal:
        return self.reserved + self.committed + self.executed

    @property
    def available(self) -> Decimal:
        """What can still be reserved or spent: in force - reserved - committed - executed."""
        return self.amount_in_force - self.reserved - self.committed - self.executed


class BudgetMovementQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("budget movements are append-only")

    def delete(self):
        raise TypeError("budget movements are append-only")

    def bulk_update(self, objs, fields, batch_size=None):
        raise TypeError("budget movements are append-only")


class BudgetMovement(models.Model):
    """One move of money on a budget line (append-only ledger row)."""

    class Kind(models.TextChoices):
        ALLOCATE = "allocate", _("Allocation (amount in force increased)")
        REDUCE = "reduce", _("Reduction (amount in force decreased)")
        RESERVE = "reserve", _("Reservation (budget certification)")
        RELEASE_RESERVATION = "release_reservation", _("Reservation released")
        COMMIT = "commit", _("Commitment")
        RELEASE_COMMITMENT = "release_commitment", _("Commitment released")
        EXECUTE = "execute", _("Execution (accrued)")
        PAY = "pay", _("Payment")
        REFUND = "refund", _("Refund of unspent balance")
        EXPENDITURE = "expenditure", _("Operating expenditure")

    line = models.ForeignKey(
        BudgetLine, on_delete=models.PROTECT, related_name="movements", verbose_name=_("budget line")
    )
    kind = models.CharField(_("kind"), max_length=24, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    case_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("case type"),
    )
    case_id = models.PositiveBigIntegerField(_("case id"), null=True, blank=True)
    case_code = models.CharField(_("case"), max_length=32, blank=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("actor")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    date = models.DateField(_("date"), null=True, blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    c31_reference = models.CharField(
        _("C-31 reference"),
        max_length=30,
        blank=True,
        default="",
        db_default="",
        help_text=_("SIGEP expense voucher (comprobante de ejecución de gastos C-31) number"),
    )

    objects = BudgetMovementQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = _("budget movement")
        verbose_name_plural = _("budget movements")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="budget_movement_amount_positive"),
        ]
        # (line, kind) ranges holding the amount: the ledger sums read this index alone
        # (``budget.selectors.line_ledgers``), on SQLite and PostgreSQL.
        indexes = [models.Index(fields=["line", "kind", "amount"], name="budget_mov_ledger_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} Bs {self.amount} ({self.line_id})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("budget movements are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("budget movements are append-only")


class LedgerStamp(models.Model):
    """How many times the ledger of a budget line has been written (``version``).

    The database bumps it (triggers, ``budget.db``) in the same transaction as every insert, update or
    delete of one of the line's movements, whoever writes them; a new line starts at 0. Nothing else
    writes it. Something computed from a line's movements and kept with the version it was computed at
    is still true while the version is the same: ``reports`` caches the ledger sums of closed fiscal
    years this way."""

    line = models.OneToOneField(
        BudgetLine,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="ledger_stamp",
        verbose_name=_("budget line"),
    )
    version = models.PositiveBigIntegerField(_("version"), default=0)

    class Meta:
        verbose_name = _("ledger stamp")
        verbose_name_plural = _("ledger stamps")

    def __str__(self) -> str:
        return f"{self.line_id}@{self.version}"

    def save(self, *args, **kwargs):
        raise TypeError("ledger stamps are written by the database only")


# How each kind of movement changes the figures of its line (+1 adds the amount, -1 subtracts it).
# This table is the ledger's definition: services apply it, ``line_reconciles`` re-derives every
# figure from the movements with it.
FIGURE_DELTAS: dict[str, dict[str, int]] = {
    BudgetMovement.Kind.ALLOCATE: {"amount_in_force": +1},
    BudgetMovement.Kind.REDUCE: {"amount_in_force": -1},
    BudgetMovement.Kind.RESERVE: {"reserved": +1},
    BudgetMovement.Kind.RELEASE_RESERVATION: {"reserved": -1},
    BudgetMovement.Kind.COMMIT: {"reserved": -1, "committed": +1},
    BudgetMovement.Kind.RELEASE_COMMITMENT: {"committed": -1},
    BudgetMovement.Kind.EXECUTE: {"committed": -1, "executed": +1},
    BudgetMovement.Kind.PAY: {"paid": +1},
    BudgetMovement.Kind.REFUND: {"executed": -1, "paid": -1},
    BudgetMovement.Kind.EXPENDITURE: {"executed": +1},
}
LINE_FIGURES = ("amount_in_force", "reserved", "committed", "executed", "paid")
