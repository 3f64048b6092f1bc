"""Transfers (PRODUCT.md §2.2): public-private or public-public, in kind (itemised assets, each
unit traceable by serial number) or in money (payment order and confirmation).

The state field is protected: it changes only through the ``@transition`` methods below, run by
``workflows.services.transition`` (permission + FSM + save + exit hooks + audit entry in the caller's
transaction). The transition table is the ``TRANSITIONS`` tuple, and who may fire each transition and
on which conditions is the ``GUARDS`` table next to it (functions of ``transfers.conditions``): plain
data you can grep, which the tests check the model against.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from cases.columns import WritesChangedColumns
from cases.documents import CaseDocument
from cases.money import MONEY
from cases.reach import Reach

from . import conditions as c

MAX_QUANTITY = 500  # units of one asset line: each gets its own serial slot


class TransferState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    IN_VERIFICATION = "in_verification", _("In verification")
    IN_APPROVAL = "in_approval", _("In approval")
    APPROVED = "approved", _("Approved")
    AGREEMENT_SIGNED = "agreement_signed", _("Agreement signed")
    IN_DELIVERY = "in_delivery", _("In delivery")
    DELIVERED = "delivered", _("Delivered")
    IN_FOLLOWUP = "in_followup", _("In follow-up")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    ANNULLED = "annulled", _("Annulled")
    REVERTED = "reverted", _("Reverted")


class Modality(models.TextChoices):
    IN_KIND = "in_kind", _("In kind")
    MONEY = "money", _("In money")


class TransferKind(models.TextChoices):
    PUBLIC_PRIVATE = "public_private", _("Public-private")
    PUBLIC_PUBLIC = "public_public", _("Public-public")


# The kind's code: in tasks, processes and policies (``cases.kinds``).
KIND = "transfer"
S = TransferState
FINAL_STATES = frozenset({S.CLOSED, S.REJECTED, S.ANNULLED, S.REVERTED})
# Before anything is executed a transfer can still be annulled (everything reserved is released).
ANNULLABLE = (S.REQUESTED, S.IN_VERIFICATION, S.IN_APPROVAL, S.APPROVED, S.AGREEMENT_SIGNED, S.IN_DELIVERY)

# The whole transition table: (method, sources, target).
TRANSITIONS = (
    ("start_verification", (S.REQUESTED,), S.IN_VERIFICATION),
    ("verify", (S.IN_VERIFICATION,), S.IN_APPROVAL),
    ("approve", (S.IN_APPROVAL,), S.APPROVED),
    ("sign_agreement", (S.APPROVED,), S.AGREEMENT_SIGNED),
    ("start_delivery", (S.AGREEMENT_SIGNED,), S.IN_DELIVERY),
    ("deliver", (S.IN_DELIVERY,), S.DELIVERED),
    ("start_followup", (S.DELIVERED,), S.IN_FOLLOWUP),
    ("close", (S.IN_FOLLOWUP,), S.CLOSED),
    ("reject", (S.IN_VERIFICATION, S.IN_APPROVAL), S.REJECTED),
    ("annul", ANNULLABLE, S.ANNULLED),
    ("revert", (S.IN_FOLLOWUP,), S.REVERTED),
    # An observation of the approval chain not answered in time: the system ends the case
    # ``annulled`` (§2.2 has no ``abandoned``), releasing what it holds on its line.
    ("lapse", (S.IN_APPROVAL,), S.ANNULLED),
)
_T = {name: (list(sources), target) for name, sources, target in TRANSITIONS}

# Who may fire each transition and on which conditions (``transfers.conditions``): name ->
# (conditions, permission). ``workflows.services.transition`` checks the permission for the actor;
# django-fsm checks the conditions. Human steps are also routed to the right people by the flow and
# checked by ``approvals.services.acting_principal``; these are the law behind them. Staff
# permissions never admit a member of the beneficiary unit.
GUARDS = {
    "start_verification": ([], c.by_verifier),
    "verify": ([c.reports_favourable], c.by_verifier),
    "approve": ([c.budget_certified, c.chain_completed], c.by_chain),
    "sign_agreement": ([c.budget_certified, c.agreement_recorded], c.by_legal),
    "start_delivery": ([c.agreement_recorded], c.by_legal),
    "deliver": ([c.delivered_as_recorded], c.by_receiver),
    "start_followup": ([c.delivered_as_recorded], c.by_receiver),
    "close": ([c.use_verified], c.by_evaluator),
    "reject": ([c.rejection_reason_given], c.by_reviewer),
    "annul": ([c.nothing_executed, c.annulment_reason_given], c.by_director),
    "revert": ([c.reversion_reason_given], c.by_finance),
    "lapse": ([c.observation_pending, c.nothing_executed, c.annulment_reason_given], c.by_system),
}
if set(GUARDS) != set(_T):  # pragma: no cover - a table error, caught at import
    raise RuntimeError("every transition of the transfer FSM declares its guards")


def _guarded(name: str) -> dict:
    sources, target = _T[name]
    conditions, permission = GUARDS[name]
    return {"source": sources, "target": target, "conditions": conditions, "permission": permission}


class DocumentKind(models.TextChoices):
    """When each is uploaded and by whom: ``transfers.document_rules``."""

    # The request's supporting papers.
    REQUEST_LETTER = "request_letter", _("Request letter")
    LEGAL_REPRESENTATIVE_ID = "legal_representative_id", _("Legal representative's ID")
    QUOTATION = "quotation", _("Quotation")
    # At and after the delivery (in kind).
    DELIVERY_RECORD_SCAN = "delivery_record_scan", _("Signed delivery record (scan)")
    # During the follow-up.
    VISIT_PHOTO = "visit_photo", _("Follow-up visit photo")
    VISIT_REPORT = "visit_report", _("Follow-up visit report")
    OTHER = "other", _("Other")


class Transfer(WritesChangedColumns, ConcurrentTransitionMixin, Reach, models.Model):
    """A transfer; its beneficiaries and placement are ``cases.reach.Reach``'s fields."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    beneficiary = models.ForeignKey(
        "registry.Unit", on_delete=models.PROTECT, related_name="transfers", verbose_name=_("beneficiary")
    )
    department = models.ForeignKey(
        "registry.Department", on_delete=models.PROTECT, related_name="+", verbose_name=_("department")
    )
    program = models.ForeignKey(
        "budget.Program", on_delete=models.PROTECT, related_name="transfers", verbose_name=_("program")
    )
    modality = models.CharField(_("modality"), max_length=10, choices=Modality.choices)
    kind = models.CharField(_("kind"), max_length=20, choices=TransferKind.choices)
    purpose = models.TextField(_("use and destination"), max_length=5000, blank=True)
    amount = models.DecimalField(_("amount (Bs)"), **MONEY)
    state = FSMField(_("state"), default=S.REQUESTED, choices=S.choices, protected=True, db_index=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Verification (technical ∥ legal) and the approval chain of the policy version.
    technical_report = models.TextField(_("technical report"), blank=True)
    legal_report = models.TextField(_("legal report"), blank=True)
    policy = models.ForeignKey(
        "approvals.ApprovalPolicy", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approval_step = models.PositiveSmallIntegerField(default=0, help_text="Index of the next chain step.")
    # An observation of the approval chain awaiting the beneficiary's answer (the case stays
    # ``in_approval``), and the business days it has to answer.
    observation = models.TextField(_("observation"), blank=True)
    observation_days = models.PositiveSmallIntegerField(null=True, blank=True)
    resolution_number = models.CharField(_("resolution number"), max_length=40, blank=True)
    # Fixed at the budget certification: in money at most the requested ``amount``, lower only with
    # its reason; in kind always the assets' value. Empty until then.
    approved_amount = models.DecimalField(_("approved amount (Bs)"), **MONEY, null=True, blank=True)
    approved_amount_reason = models.TextField(_("reason for a lower approved amount"), blank=True)

    # Money and delivery.
    budget_line = models.ForeignKey(
        "budget.BudgetLine", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    agreement_number = models.CharField(_("agreement number"), max_length=40, blank=True)
    agreement_signed_on = models.DateField(_("agreement signed on"), null=True, blank=True)
    payment_ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payment_ordered_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(_("bank transfer reference"), max_length=60, blank=True)
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    delivery_record_number = models.CharField(_("delivery record number"), max_length=40, blank=True)
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    executed_amount = models.DecimalField(_("executed (Bs)"), **MONEY, default=Decimal("0.00"))
    paid_amount = models.DecimalField(_("paid (Bs)"), **MONEY, default=Decimal("0.00"))

    # Side exits.
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    annulment_reason = models.TextField(_("annulment reason"), blank=True)
    reversion_reason = models.TextField(_("reversion reason"), blank=True)
    recovered_amount = models.DecimalField(_("recovered (Bs)"), **MONEY, default=Decimal("0.00"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            *Reach.Meta.constraints,
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True)
                | (Q(approved_amount__gt=0) & Q(approved_amount__lte=models.F("amount"))),
                name="transfer_approved_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(paid_amount__lte=models.F("executed_amount")),
                name="transfer_paid_within_executed",
            ),
            models.UniqueConstraint(
                fields=["payment_reference"],
                condition=~Q(payment_reference=""),
                name="transfer_payment_reference_uniq",
            ),
        ]
        indexes = [
            models.Index(fields=["beneficiary", "state"], name="transfer_unit_state_idx"),
            # The staff case list, newest first (cases.listing; bench/caselist_bench.py).
            models.Index(fields=["created_at", "id"], name="transfer_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.beneficiary.name if self.beneficiary_id else ''}".strip()

    @property
    def case_code(self) -> str:
        return self.code

    @property
    def title(self) -> str:
        what = self.get_modality_display()
        return f"{_('Transfer')} ({what}) — {self.beneficiary.name}"

    @property
    def grant_amount(self) -> Decimal:
        """What the transfer gives: the approved amount once fixed, the requested one before."""
        return self.approved_amount if self.approved_amount is not None else self.amount

    @property
    def is_approved_lower(self) -> bool:
        return self.approved_amount is not None and self.approved_amount < self.amount

    @property
    def is_in_kind(self) -> bool:
        return self.modality == Modality.IN_KIND

    def units(self):
        """Every physical unit of an in-kind transfer, with its asset line and holder (one query)."""
        return (
            AssetItem.objects.filter(asset__transfer=self)
            .select_related("asset", "holder")
            .order_by("asset__position", "number")
        )

    def task_context(self, step: str = "") -> dict:
        """What each inbox row of this case shows and is filtered on."""
        return {
            "department_id": self.department_id,
            "program_id": self.program_id,
            "unit_id": self.beneficiary_id,
            "beneficiary": self.beneficiary.name,
            "amount": self.grant_amount,
            "title": str(self.title),
        }

    # --- transitions (called only from workflows.services.transition) -------------------------
    @transition(state, **_guarded("start_verification"))
    def start_verification(self):
        pass

    @transition(state, **_guarded("verify"))
    def verify(self):
        pass

    @transition(state, **_guarded("approve"))
    def approve(self):
        pass

    @transition(state, **_guarded("sign_agreement"))
    def sign_agreement(self):
        pass

    @transition(state, **_guarded("start_delivery"))
    def start_delivery(self):
        pass

    @transition(state, **_guarded("deliver"))
    def deliver(self):
        pass

    @transition(state, **_guarded("start_followup"))
    def start_followup(self):
        pass

    @transition(state, **_guarded("close"))
    def close(self):
        pass

    @transition(state, **_guarded("reject"))
    def reject(self):
        pass

    @transition(state, **_guarded("annul"))
    def annul(self):
        pass

    @transition(state, **_guarded("revert"))
    def revert(self):
        pass

    @transition(state, **_guarded("lapse"))
    def lapse(self):
        pass


class Document(CaseDocument):
    """A document of a transfer (``cases.documents``: checked by content, hashed, immutable)."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=40, choices=DocumentKind.choices)


class Asset(models.Model):
    """One line of the itemised list of an in-kind transfer (e.g. 3 milking machines at Bs 12.500)."""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="assets")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(_("description"), max_length=200)
    quantity = models.PositiveIntegerField(
        _("quantity"), validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)]
    )
    unit_value = models.DecimalField(_("unit value (Bs)"), **MONEY)

    class Meta:
        ordering = ["transfer", "position"]
        verbose_name = _("asset")
        verbose_name_plural = _("assets")
        constraints = [
            models.UniqueConstraint(fields=["transfer", "position"], name="asset_position_uniq"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="asset_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_value__gt=0), name="asset_unit_value_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.description}"

    @property
    def total(self) -> Decimal:
        return self.unit_value * self.quantity


class AssetItem(models.Model):
    """One physical unit of an asset line, traceable from delivery to close-out or reversion."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Not yet delivered")
        DELIVERED = "delivered", _("Delivered")
        IN_USE = "in_use", _("In use, as agreed")
        NOT_FOUND = "not_found", _("Not found at the visit")
        MISUSED = "misused", _("Not used as agreed")
        RETURNED = "returned", _("Returned to the agency")

    asset = models.ForeignKey(Asset, on_delete=models.PROTECT, related_name="items")
    number = models.PositiveIntegerField()
    serial = models.CharField(_("serial number"), max_length=80, blank=True)
    holder = models.ForeignKey(
        "registry.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("holder"),
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["asset", "number"]
        verbose_name = _("asset unit")
        verbose_name_plural = _("asset units")
        constraints = [
            models.UniqueConstraint(fields=["asset", "number"], name="asset_item_number_uniq"),
            # A serial identifies one physical unit: never two units of one asset line with the same.
            models.UniqueConstraint(
                fields=["asset", "serial"], condition=~Q(serial=""), name="asset_item_serial_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset.description} #{self.number} ({self.serial or '—'})"


class FollowupVisit(models.Model):
    """A follow-up visit after delivery: was the transfer used as agreed?"""

    transfer = models.ForeignKey(Transfer, on_delete=models.PROTECT, related_name="visits")
    task_id = models.BigIntegerField(unique=True)
    visited_on = models.DateField(_("visited on"))
    findings = models.TextField(_("findings"), max_length=5000)
    use_verified = models.BooleanField(_("use as agreed verified"))
    items = models.JSONField(_("units checked"), default=list)
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["transfer", "visited_on", "pk"]
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")

    def __str__(self) -> str:
        return f"{self.transfer_id} {self.visited_on}"
