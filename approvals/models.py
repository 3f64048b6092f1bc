"""Approval policies (data, versioned), segregation-of-duties pairs, delegations, non-working days."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cases import kinds
from cases.roles import Role


class Step(models.TextChoices):
    """Every kind of human step a case can go through. Stored in tasks and audit entries: never
    rename a value."""

    ADMISSIBILITY = "admissibility", _("Admissibility check")
    ANSWER_OBSERVATION = "answer_observation", _("Answer observations")
    TECHNICAL_EVALUATION = "technical_evaluation", _("Technical evaluation")
    THIRD_EVALUATION = "third_evaluation", _("Third (tie-break) evaluation")
    TECHNICAL_REPORT = "technical_report", _("Technical report")
    LEGAL_REPORT = "legal_report", _("Legal report")
    BUDGET_CERTIFICATION = "budget_certification", _("Budget certification")
    DIRECTOR_RESOLUTION = "director_resolution", _("Director's resolution")
    AGREEMENT = "agreement", _("Agreement (convenio) signature")
    PAYMENT_ORDER = "payment_order", _("Payment order")
    PAYMENT_CONFIRMATION = "payment_confirmation", _("Payment confirmation")
    PROGRESS_REPORT = "progress_report", _("Progress report")
    PROGRESS_REVIEW = "progress_review", _("Progress report review and counterpart verification")
    FINAL_REPORT = "final_report", _("Final report")
    FINAL_INSPECTION = "final_inspection", _("Final inspection")
    CLOSEOUT = "closeout", _("Close-out record and refund of balance")
    RECOVERY = "recovery", _("Recovery of funds")
    DELIVERY_RECORD = "delivery_record", _("Delivery record")
    DELIVERY_ACCEPTANCE = "delivery_acceptance", _("Delivery acceptance")
    FOLLOWUP_VISIT = "followup_visit", _("Follow-up visit")


def step_choices() -> list:
    """Every step a task or policy may name: the engine's ``Step`` values and the steps each case kind
    registers (``cases.kinds.CaseKind.steps``)."""
    registered = [(code, label) for kind in kinds.all_kinds() for code, label in kind.steps]
    known = set(Step.values)
    return [*Step.choices, *((c, label) for c, label in registered if c not in known)]


def step_label(code: str) -> str:
    return str(dict(step_choices()).get(code, code))


# Steps the applicant unit itself works (answers, reports, acceptance): they belong to the whole unit,
# are never claimed, and deciding one is acting on the applicant side of the case.
APPLICANT_STEPS = (
    Step.ANSWER_OBSERVATION,
    Step.PROGRESS_REPORT,
    Step.FINAL_REPORT,
    Step.DELIVERY_ACCEPTANCE,
)


def applicant_steps() -> list[str]:
    """The applicant steps of the engine and of every registered case kind."""
    return [*APPLICANT_STEPS, *(s for kind in kinds.all_kinds() for s in kind.applicant_steps)]


# Steps whose decisions form "the approval chain" of a case (PRODUCT.md §1): one per person per case.
APPROVAL_CHAIN_STEPS = (
    Step.TECHNICAL_EVALUATION,
    Step.THIRD_EVALUATION,
    Step.TECHNICAL_REPORT,
    Step.LEGAL_REPORT,
    Step.BUDGET_CERTIFICATION,
    Step.DIRECTOR_RESOLUTION,
)


class ApprovalPolicy(models.Model):
    """One version of the approval chain for a case type, program and amount band.

    Versions are immutable once a case uses them: editing a policy in the admin saves a NEW
    version (``approvals.services.save_policy_version``) and running cases keep theirs.
    """

    name = models.CharField(_("name"), max_length=120)
    case_type = models.CharField(_("case type"), max_length=20, choices=kinds.choices)
    program = models.ForeignKey(
        "budget.Program",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("program"),
        help_text=_("Empty: applies to every program without a policy of its own."),
    )
    min_amount = models.DecimalField(_("from amount (Bs)"), max_digits=16, decimal_places=2, default=0)
    max_amount = models.DecimalField(
        _("up to amount (Bs)"),
        max_digits=16,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: no upper limit."),
    )
    family = models.CharField(
        _("policy family"),
        max_length=60,
        help_text=_("Stable key shared by all versions of the same policy."),
    )
    version = models.PositiveIntegerField(_("version"), default=1)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["case_type", "family", "-version"]
        verbose_name = _("approval policy")
        verbose_name_plural = _("approval policies")
        constraints = [
            models.UniqueConstraint(fields=["family", "version"], name="policy_family_version_uniq"),
            models.UniqueConstraint(
                fields=["family"], condition=Q(active=True), name="policy_one_active_version"
            ),
            models.CheckConstraint(
                condition=Q(max_amount__isnull=True) | Q(max_amount__gte=models.F("min_amount")),
                name="policy_amount_band_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def covers(self, amount: Decimal) -> bool:
        return amount >= self.min_amount and (self.max_amount is None or amount <= self.max_amount)


class PolicyStep(models.Model):
    class Scope(models.TextChoices):
        NONE = "none", _("Whole agency")
        DEPARTMENT = "department", _("Case's department")
        PROGRAM = "program", _("Case's program")

    policy = models.ForeignKey(ApprovalPolicy, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(_("order"))
    step = models.CharField(_("step"), max_length=40, choices=step_choices)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices, default=Scope.NONE)
    deadline_days = models.PositiveSmallIntegerField(_("deadline (business days)"), default=5)
    escalation_role = models.CharField(_("escalate to role"), max_length=20, choices=Role.choices, blank=True)

    class Meta:
        ordering = ["policy", "order"]
        verbose_name = _("policy step")
        verbose_name_plural = _("policy steps")
        constraints = [
            models.UniqueConstraint(fields=["policy", "order"], name="policy_step_order_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.get_step_display()} ({self.get_role_display()})"

    def clean(self):
        if self.role in (Role.APPLICANT, Role.INTERNAL_CONTROL, Role.ADMIN):
            raise ValidationError({"role": _("Approval steps are decided by agency staff roles only.")})


class IncompatibleSteps(models.Model):
    """Segregation of duties as data: one person may not do both steps of a pair on one case.

    A pair with the same step twice (evaluation, evaluation) means "once per person per case";
    a step not paired with itself may be repeated by the same person (each tranche's payment order).
    """

    step_a = models.CharField(_("step"), max_length=40, choices=step_choices)
    step_b = models.CharField(_("incompatible with"), max_length=40, choices=step_choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("incompatible step pair")
        verbose_name_plural = _("incompatible step pairs")
        constraints = [models.UniqueConstraint(fields=["step_a", "step_b"], name="sod_pair_uniq")]

    def __str__(self) -> str:
        return f"{self.get_step_a_display()} ≠ {self.get_step_b_display()}"


class Delegation(models.Model):
    """A user's inbox delegated to a colleague of the same role for a date range (absences)."""

    delegator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_given"
    )
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="delegations_received"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("delegation")
        verbose_name_plural = _("delegations")
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gte=models.F("starts_on")), name="delegation_range"),
            models.CheckConstraint(condition=~Q(delegator=models.F("delegate")), name="delegation_not_self"),
        ]
        indexes = [models.Index(fields=["delegate", "starts_on", "ends_on"], name="delegation_active_idx")]

    def __str__(self) -> str:
        return f"{self.delegator} → {self.delegate} ({self.starts_on} - {self.ends_on})"


class NonWorkingDay(models.Model):
    """Extra non-working days decreed by the government (the national holidays of the law come from
    the calendar): national (no department) or departmental (a department's own holiday, e.g. its
    anniversary), which counts only for the cases of that department."""

    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=120)
    department = models.ForeignKey(
        "registry.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
        help_text=_("Empty: the whole country."),
    )

    class Meta:
        ordering = ["date", "department"]
        verbose_name = _("non-working day")
        verbose_name_plural = _("non-working days")
        constraints = [
            models.UniqueConstraint(
                fields=["date"], condition=Q(department__isnull=True), name="non_working_day_national_uniq"
            ),
            models.UniqueConstraint(fields=["date", "department"], name="non_working_day_department_uniq"),
        ]

    def __str__(self) -> str:
        where = self.department.name if self.department is not None else _("national")
        return f"{self.date} {self.name} ({where})"


class Notification(models.Model):
    """One message to one user about one event (in-app; e-mailed when ``email_wanted``).

    ``(user, event_key)`` is unique: whatever retries or concurrent runs happen, an event reaches a
    person once. ``emailed_at`` is set right after the e-mail was handed to the mail server (see
    ``approvals.notifications`` for the crash window).
    """

    class Kind(models.TextChoices):
        TASK_NEW = "task_new", _("New task")
        CASE_WAITING = "case_waiting", _("Your case awaits you")
        CASE_STATE = "case_state", _("Case state changed")
        REMINDER = "reminder", _("Deadline reminder")
        ESCALATION = "escalation", _("Overdue task escalated")
        DELEGATION = "delegation", _("Delegation")
        PAYMENT = "payment", _("Payment made")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications")
    event_key = models.CharField(_("event"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    message = models.CharField(_("message"), max_length=500)
    url = models.CharField(_("link"), max_length=300, blank=True)
    case_code = models.CharField(_("case"), max_length=32, blank=True)
    email_wanted = models.BooleanField(_("send by e-mail"), default=True)
    # E-mailed in the person's periodic digest (one e-mail for every new task since the last one),
    # not on its own: staff's new tasks. The applicant's own deadlines are e-mailed at once.
    digest = models.BooleanField(_("e-mailed in the digest"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["user", "event_key"], name="notification_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_unread_idx"),
            # A claim settles one task's "new task" notifications to everyone (``settle_new_task``).
            models.Index(fields=["event_key"], name="notification_event_idx"),
            models.Index(
                fields=["created_at"],
                condition=Q(email_wanted=True, emailed_at__isnull=True),
                name="notification_email_due_idx",
            ),
            models.Index(
                fields=["user", "created_at"],
                condition=Q(digest=True, email_wanted=True, emailed_at__isnull=True),
                name="notification_digest_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.event_key}"
