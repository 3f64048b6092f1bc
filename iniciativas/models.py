"""Productive initiatives (PRODUCT.md §2.1): calls, the initiative case and its protected FSM,
documents, sealed evaluations, tranches and reports.

The state field is protected: it changes only through the ``@transition`` methods below, which
``iniciativas.services`` call (with permission checks and audit entries). The transition table
is the ``TRANSITIONS`` tuple below, and who may fire each transition and on which conditions is
the ``GUARDS`` table next to it (functions of ``iniciativas.conditions``): plain data you can grep.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from cases.columns import WritesChangedColumns
from cases.documents import CaseDocument
from cases.money import MONEY
from cases.reach import Reach

from . import conditions as c


class DocumentKind(models.TextChoices):
    PROJECT_PROFILE = "project_profile", _("Project profile")
    REGISTRATION_CERTIFICATE = "registration_certificate", _("Registration certificate")
    NIT_CERTIFICATE = "nit_certificate", _("NIT certificate")
    LEGAL_REPRESENTATIVE_ID = "legal_representative_id", _("Legal representative's ID")
    COUNTERPART_LETTER = "counterpart_letter", _("Counterpart commitment letter")
    QUOTATION = "quotation", _("Quotation")
    PROGRESS_EVIDENCE = "progress_evidence", _("Progress evidence")
    FINAL_REPORT = "final_report", _("Final report")
    REFUND_RECEIPT = "refund_receipt", _("Refund receipt")
    OTHER = "other", _("Other")


# Kinds of which a case keeps several at once; a new upload of any other kind is a new version of it.
MANY_PER_CASE = frozenset({DocumentKind.OTHER, DocumentKind.PROGRESS_EVIDENCE})


def default_document_states() -> list[str]:
    """Before admissibility, while observed, and during execution and close-out (evidence, reports,
    receipts)."""
    return ["submitted", "observed", "in_execution", "in_closeout"]


class TrancheUnlock(models.TextChoices):
    """What makes a tranche of the plan payable (``Call.tranche_unlocks``): the flow orders the
    tranche's payment when it happens (``iniciativas.flow``, ``steps.handle_payment_order``)."""

    AGREEMENT = "agreement_signed", _("The signed agreement")
    PROGRESS_REPORT = "progress_report_approved", _("The previous progress report, approved")


class Call(models.Model):
    """A call for proposals (convocatoria) with its rules, as versions.

    One row per version of a call: ``code`` names the call, ``version`` counts its versions and
    ``is_current`` marks the one new drafts and submissions take. A version nobody has submitted to
    is edited in place; once a submission exists an edit writes a new version
    (``services.update_call``) and the cases already submitted keep theirs (their ``call`` points
    to the row they were submitted under). Open and closed is computed from the dates
    (``is_open``, ``selectors.call_list_open``): no job has to move it.
    """

    code = models.CharField(_("code"), max_length=30)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    is_current = models.BooleanField(_("current version"), default=True)
    title = models.CharField(_("title"), max_length=200)
    program = models.ForeignKey("budget.Program", on_delete=models.PROTECT, verbose_name=_("program"))
    opens_on = models.DateField(_("opens on"))
    closes_on = models.DateField(_("closes on"))
    max_amount = models.DecimalField(
        _("ceiling (Bs)"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))]
    )
    min_counterpart_share = models.DecimalField(
        _("minimum counterpart share"),
        max_digits=3,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("Fraction of the total cost the applicant contributes, e.g. 0.50."),
    )
    required_documents = models.JSONField(_("required document kinds"), default=list)
    # Each criterion may also carry "text": what the evaluator reads under it (what it looks at, what
    # earns its points); a key of the JSON, so no column (``services.create_call`` checks it).
    rubric = models.JSONField(
        _("evaluation rubric"),
        default=list,
        help_text=_('List of {"code", "label", "max"}; the maxima add up to 100.'),
    )
    threshold = models.DecimalField(_("pass mark (0-100)"), max_digits=5, decimal_places=2, default=60)
    evaluators = models.PositiveSmallIntegerField(
        _("independent evaluators"), default=2, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    disagreement_points = models.DecimalField(
        _("disagreement that calls a third evaluation (points)"), max_digits=5, decimal_places=2, default=20
    )
    tranche_plan = models.JSONField(_("tranche plan (% per tranche)"), default=list)
    # What unlocks each tranche of the plan, one ``TrancheUnlock`` value per tranche (empty: the
    # first by the signed agreement, every later one by the previous progress report).
    tranche_unlocks = models.JSONField(_("what unlocks each tranche"), default=list, blank=True)
    observation_days = models.PositiveSmallIntegerField(_("days to answer observations"), default=10)
    # After submission, the states in which the applicant may add documents or replace one with a new
    # version (a draft always may; a finished case never). The evaluated file stays as evaluated.
    document_states = models.JSONField(
        _("states in which documents may change after submission"),
        default=default_document_states,
        blank=True,
        help_text=_("State codes, e.g. submitted, observed, in_execution, in_closeout."),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-opens_on", "code", "-version"]
        verbose_name = _("call for proposals")
        verbose_name_plural = _("calls for proposals")
        constraints = [
            models.CheckConstraint(condition=Q(closes_on__gte=models.F("opens_on")), name="call_dates_valid"),
            models.UniqueConstraint(fields=["code", "version"], name="call_code_version_uniq"),
            models.UniqueConstraint(
                fields=["code"], condition=Q(is_current=True), name="call_one_current_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.title}"

    def unlock_of(self, number: int) -> str:
        """What unlocks tranche ``number`` (1-based) of the plan."""
        unlocks = list(self.tranche_unlocks or [])
        if 1 <= number <= len(unlocks):
            return unlocks[number - 1]
        return TrancheUnlock.AGREEMENT if number == 1 else TrancheUnlock.PROGRESS_REPORT

    def status(self, on=None) -> str:
        """``scheduled``, ``open`` or ``closed`` on the day ``on`` (La Paz), from the dates."""
        on = on or timezone.localdate()
        if on < self.opens_on:
            return "scheduled"
        return "open" if on <= self.closes_on else "closed"

    def is_open(self, on=None) -> bool:
        on = on or timezone.localdate()
        return self.opens_on <= on <= self.closes_on


class InitiativeState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    OBSERVED = "observed", _("Observed")
    IN_EVALUATION = "in_evaluation", _("In evaluation")
    IN_APPROVAL = "in_approval", _("In approval")
    APPROVED = "approved", _("Approved")
    AGREEMENT_SIGNED = "agreement_signed", _("Agreement signed")
    IN_EXECUTION = "in_execution", _("In execution")
    IN_CLOSEOUT = "in_closeout", _("In close-out")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ABANDONED = "abandoned", _("Abandoned")
    CANCELLED = "cancelled", _("Cancelled")
    IN_RECOVERY = "in_recovery", _("In recovery")
    RECOVERED = "recovered", _("Recovered")


# The kind's code: in tasks, processes and policies (``cases.kinds``).
KIND = "initiative"
S = InitiativeState
# A case cancelled with nothing paid rests in ``cancelled`` for good (with something paid, the same
# action moves it on to ``in_recovery``), so ``cancelled`` is final too.
FINAL_STATES = frozenset({S.CLOSED, S.REJECTED, S.WITHDRAWN, S.ABANDONED, S.CANCELLED, S.RECOVERED})
# Exits that end the grant without paying (more): whatever the case still holds reserved or committed
# on its budget line goes back to the line in the same transaction (``workflows.services.transition``).
RELEASING_STATES = frozenset({S.REJECTED, S.WITHDRAWN, S.ABANDONED, S.CANCELLED})

# The whole transition table: (method, sources, target). Tests check the model against it.
TRANSITIONS = (
    ("submit", (S.DRAFT,), S.SUBMITTED),
    ("observe", (S.SUBMITTED,), S.OBSERVED),
    ("answer", (S.OBSERVED,), S.SUBMITTED),
    ("admit", (S.SUBMITTED,), S.IN_EVALUATION),
    ("pass_evaluation", (S.IN_EVALUATION,), S.IN_APPROVAL),
    ("approve", (S.IN_APPROVAL,), S.APPROVED),
    ("sign_agreement", (S.APPROVED,), S.AGREEMENT_SIGNED),
    ("start_execution", (S.AGREEMENT_SIGNED,), S.IN_EXECUTION),
    ("start_closeout", (S.IN_EXECUTION,), S.IN_CLOSEOUT),
    ("close", (S.IN_CLOSEOUT,), S.CLOSED),
    ("reject", (S.SUBMITTED, S.IN_EVALUATION, S.IN_APPROVAL), S.REJECTED),
    ("withdraw", (S.DRAFT, S.SUBMITTED, S.OBSERVED), S.WITHDRAWN),
    ("abandon", (S.OBSERVED, S.IN_APPROVAL), S.ABANDONED),
    ("cancel", (S.APPROVED, S.AGREEMENT_SIGNED, S.IN_EXECUTION), S.CANCELLED),
    ("start_recovery", (S.CANCELLED,), S.IN_RECOVERY),
    ("recover", (S.IN_RECOVERY,), S.RECOVERED),
)
_T = {name: (list(sources), target) for name, sources, target in TRANSITIONS}

# Who may fire each transition and on which conditions (``iniciativas.conditions``): name ->
# (conditions, permission). ``workflows.services.transition`` checks the permission for the actor; django-fsm
# checks the conditions. Human steps are also routed to the right people by the flow and checked by
# ``approvals.services.acting_principal``; these are the law behind them.
GUARDS = {
    "submit": ([c.ready_for_submission], c.by_applicant),
    "observe": ([], c.by_evaluator),
    "answer": ([c.ready_for_submission], c.by_applicant),
    "admit": ([], c.by_evaluator),
    "pass_evaluation": ([c.evaluation_passed], c.by_evaluator),
    "approve": ([c.budget_certified], c.by_staff),
    "sign_agreement": ([c.budget_certified], c.by_legal),
    "start_execution": ([], c.by_legal),
    "start_closeout": ([c.all_tranches_paid], c.by_evaluator),
    "close": ([c.balance_refunded], c.by_finance),
    "reject": ([], c.by_staff),
    "withdraw": ([], c.by_withdrawing_applicant),
    "abandon": ([c.observation_pending], c.by_system),
    "cancel": ([c.no_payment_pending], c.by_director),
    "start_recovery": ([c.something_paid], c.by_director),
    "recover": ([c.fully_recovered], c.by_finance_recovery),
}
if set(GUARDS) != set(_T):  # pragma: no cover - a table error, caught at import
    raise RuntimeError("every transition of the initiative FSM declares its guards")


def _guarded(name: str) -> dict:
    sources, target = _T[name]
    conditions, permission = GUARDS[name]
    return {"source": sources, "target": target, "conditions": conditions, "permission": permission}


class Initiative(WritesChangedColumns, ConcurrentTransitionMixin, Reach, models.Model):
    """A productive initiative; its beneficiaries and placement are ``cases.reach.Reach``'s fields."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    call = models.ForeignKey(
        Call, on_delete=models.PROTECT, related_name="initiatives", verbose_name=_("call")
    )
    unit = models.ForeignKey(
        "registry.Unit",
        on_delete=models.PROTECT,
        related_name="initiatives",
        verbose_name=_("productive unit"),
    )
    department = models.ForeignKey(
        "registry.Department", on_delete=models.PROTECT, related_name="+", verbose_name=_("department")
    )
    title = models.CharField(_("title"), max_length=200)
    summary = models.TextField(_("summary"), max_length=5000)
    requested_amount = models.DecimalField(_("requested amount (Bs)"), **MONEY)
    counterpart_amount = models.DecimalField(_("counterpart contribution (Bs)"), **MONEY)
    state = FSMField(_("state"), default=S.DRAFT, choices=S.choices, protected=True, db_index=True)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)

    # Observation pending an answer from the applicant (admissibility or approval chain).
    observation = models.TextField(_("observation"), blank=True)
    observation_days = models.PositiveSmallIntegerField(null=True, blank=True)

    # Evaluation and approval chain.
    evaluation_round = models.PositiveSmallIntegerField(default=1)
    needs_third_evaluation = models.BooleanField(default=False)
    evaluation_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    policy = models.ForeignKey(
        "approvals.ApprovalPolicy", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approval_step = models.PositiveSmallIntegerField(default=0, help_text="Index of the next policy step.")
    resolution_number = models.CharField(_("resolution number"), max_length=40, blank=True)

    # Money.
    budget_line = models.ForeignKey(
        "budget.BudgetLine", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Fixed at the budget certification (``steps.handle_chain``): at most the requested amount, lower
    # only with its reason; the counterpart owed follows it (``approved_counterpart``). Empty until
    # then. Certification, commitment, tranches, the inbox and the reports use it once fixed.
    approved_amount = models.DecimalField(_("approved amount (Bs)"), **MONEY, null=True, blank=True)
    approved_amount_reason = models.TextField(_("reason for a lower approved amount"), blank=True)
    approved_counterpart = models.DecimalField(
        _("counterpart owed on the approved amount (Bs)"), **MONEY, null=True, blank=True
    )
    agreement_number = models.CharField(_("agreement number"), max_length=40, blank=True)
    agreement_signed_on = models.DateField(_("agreement signed on"), null=True, blank=True)
    refunded_amount = models.DecimalField(_("refunded balance (Bs)"), **MONEY, default=Decimal("0.00"))
    closeout_record = models.CharField(_("close-out record number"), max_length=40, blank=True)
    cancellation_reason = models.TextField(_("cancellation reason"), blank=True)
    recovered_amount = models.DecimalField(_("recovered amount (Bs)"), **MONEY, default=Decimal("0.00"))

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("productive initiative")
        verbose_name_plural = _("productive initiatives")
        constraints = [
            *Reach.Meta.constraints,
            models.CheckConstraint(condition=Q(requested_amount__gt=0), name="initiative_requested_positive"),
            models.CheckConstraint(
                condition=Q(counterpart_amount__gte=0), name="initiative_counterpart_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True)
                | (Q(approved_amount__gt=0) & Q(approved_amount__lte=models.F("requested_amount"))),
                name="initiative_approved_within_requested",
            ),
        ]
        indexes = [
            models.Index(fields=["unit", "state"], name="initiative_unit_state_idx"),
            # The staff case list, newest first (cases.listing; bench/caselist_bench.py).
            models.Index(fields=["created_at", "id"], name="initiative_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"

    @property
    def case_code(self) -> str:
        return self.code

    def task_context(self, step: str = "") -> dict:
        """What each inbox row of this case shows and is filtered on. A payment's task shows the
        tranche it pays, not the whole grant."""
        return {
            "department_id": self.department_id,
            "program_id": self.call.program_id,
            "unit_id": self.unit_id,
            "beneficiary": self.unit.name,
            "amount": self.tranche_due(step) or self.grant_amount,
            "title": self.title,
        }

    def tranche_due(self, step: str) -> Decimal | None:
        """The amount of the tranche a payment step is about: the next one to order, or the one
        ordered and awaiting payment (``None`` for any other step)."""
        if step == "payment_order":
            from .services import tranche_amounts

            amounts = tranche_amounts(self)
            number = self.tranches.count() + 1
            return amounts[number - 1] if number <= len(amounts) else None
        if step == "payment_confirmation":
            ordered = self.tranches.filter(state=Tranche.State.ORDERED).order_by("number").first()
            return ordered.amount if ordered else None
        return None

    @property
    def grant_amount(self) -> Decimal:
        """The amount of the grant: the approved amount once fixed, the requested one before."""
        return self.approved_amount if self.approved_amount is not None else self.requested_amount

    @property
    def granted_amount(self) -> Decimal | None:
        """The former name of ``approved_amount`` (the API still serves it under this name)."""
        return self.approved_amount

    @property
    def is_approved_lower(self) -> bool:
        return self.approved_amount is not None and self.approved_amount < self.requested_amount

    @property
    def counterpart_due(self) -> Decimal:
        """The counterpart the unit owes: on the approved amount once fixed, as offered before."""
        if self.approved_counterpart is not None:
            return self.approved_counterpart
        return self.counterpart_amount

    @property
    def counterpart_share(self) -> Decimal:
        total = self.requested_amount + self.counterpart_amount
        return (self.counterpart_amount / total) if total else Decimal(0)

    # --- transitions (called only from iniciativas.services) -----------------------------------
    @transition(state, **_guarded("submit"))
    def submit(self):
        self.submitted_at = timezone.now()

    @transition(state, **_guarded("observe"))
    def observe(self):
        pass

    @transition(state, **_guarded("answer"))
    def answer(self):
        pass

    @transition(state, **_guarded("admit"))
    def admit(self):
        pass

    @transition(state, **_guarded("pass_evaluation"))
    def pass_evaluation(self):
        pass

    @transition(state, **_guarded("approve"))
    def approve(self):
        pass

    @transition(state, **_guarded("sign_agreement"))
    def sign_agreement(self):
        pass

    @transition(state, **_guarded("start_execution"))
    def start_execution(self):
        pass

    @transition(state, **_guarded("start_closeout"))
    def start_closeout(self):
        pass

    @transition(state, **_guarded("close"))
    def close(self):
        pass

    @transition(state, **_guarded("reject"))
    def reject(self):
        pass

    @transition(state, **_guarded("withdraw"))
    def withdraw(self):
        pass

    @transition(state, **_guarded("abandon"))
    def abandon(self):
        pass

    @transition(state, **_guarded("cancel"))
    def cancel(self):
        pass

    @transition(state, **_guarded("start_recovery"))
    def start_recovery(self):
        pass

    @transition(state, **_guarded("recover"))
    def recover(self):
        pass


class Document(CaseDocument):
    """A document of an initiative (``cases.documents``: checked by content, hashed, immutable)."""

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=40, choices=DocumentKind.choices)
    # Versions: a new upload of a kind that has one current document replaces it; the earlier one is
    # kept (immutable, downloadable) and marked replaced.
    replaced_at = models.DateTimeField(_("replaced on"), null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("replaced by"),
    )

    @property
    def current(self) -> bool:
        return self.replaced_at is None


class Evaluation(models.Model):
    """One evaluator's sealed technical evaluation (scores hidden from others until all are in)."""

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="evaluations")
    round = models.PositiveSmallIntegerField(default=1)
    task_id = models.BigIntegerField(unique=True)
    evaluator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    no_conflict_declared = models.BooleanField()
    scores = models.JSONField()
    total = models.DecimalField(max_digits=5, decimal_places=2)
    is_tiebreak = models.BooleanField(default=False)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("technical evaluation")
        verbose_name_plural = _("technical evaluations")
        constraints = [
            models.UniqueConstraint(
                fields=["initiative", "round", "evaluator"], name="one_evaluation_per_person"
            ),
            models.CheckConstraint(condition=Q(no_conflict_declared=True), name="evaluation_no_conflict"),
            models.CheckConstraint(
                condition=Q(total__gte=0) & Q(total__lte=100), name="evaluation_total_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id}/{self.round}: {self.total}"


class Tranche(models.Model):
    """One disbursement (desembolso) of an approved initiative. ``(initiative, number)`` is unique,
    so a payment is made once per tranche whatever retries happen."""

    class State(models.TextChoices):
        ORDERED = "ordered", _("Payment ordered")
        PAID = "paid", _("Paid")

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="tranches")
    number = models.PositiveSmallIntegerField()
    amount = models.DecimalField(**MONEY)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ORDERED)
    ordered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ordered_at = models.DateTimeField(auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    payment_reference = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["initiative", "number"]
        verbose_name = _("tranche")
        verbose_name_plural = _("tranches")
        constraints = [
            models.UniqueConstraint(fields=["initiative", "number"], name="one_payment_per_tranche"),
            models.UniqueConstraint(
                fields=["payment_reference"],
                condition=~Q(payment_reference=""),
                name="payment_reference_uniq",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="tranche_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id} #{self.number}: {self.amount}"


class Report(models.Model):
    """A progress report (after a tranche) or the final report, and its review."""

    class Kind(models.TextChoices):
        PROGRESS = "progress", _("Progress report")
        FINAL = "final", _("Final report")

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="reports")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    tranche_number = models.PositiveSmallIntegerField()
    summary = models.TextField(max_length=5000)
    physical_progress = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    amount_spent = models.DecimalField(**MONEY)
    counterpart_spent = models.DecimalField(**MONEY)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    approved = models.BooleanField(null=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["initiative", "submitted_at"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.initiative_id}/{self.tranche_number}"


class Recovery(models.Model):
    """Money a cancelled initiative gave back (clawback), one row per deposit: it goes back to the
    budget line, and the case ends ``recovered`` once the deposits cover everything that was paid."""

    initiative = models.ForeignKey(Initiative, on_delete=models.PROTECT, related_name="recoveries")
    amount = models.DecimalField(**MONEY)
    reference = models.CharField(_("deposit or receipt reference"), max_length=60)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["initiative", "recorded_at", "pk"]
        verbose_name = _("recovery")
        verbose_name_plural = _("recoveries")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="recovery_amount_positive"),
            models.UniqueConstraint(fields=["initiative", "reference"], name="recovery_reference_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.initiative_id}: {self.amount} ({self.reference})"
