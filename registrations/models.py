"""Registration and renewal of a productive unit (PRODUCT.md §2.3, the REGISTRO program).

``draft → submitted → in_review ⇄ observed → approved → closed``; exits ``rejected``, ``withdrawn``,
``abandoned`` (an observation not answered in time). The FSM is the law: every transition declares
its conditions and who may fire it (``GUARDS``); ``workflows.services.transition`` is the only way
to fire one. The flow (``registrations.flow``) routes the work.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from cases.columns import WritesChangedColumns
from cases.documents import CaseDocument

from . import conditions as c


class RegistrationState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    IN_REVIEW = "in_review", _("In review")
    OBSERVED = "observed", _("Observed")
    APPROVED = "approved", _("Approved")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ABANDONED = "abandoned", _("Abandoned")


class RegistrationKind(models.TextChoices):
    NEW = "new", _("New registration")
    RENEWAL = "renewal", _("Renewal")


class DocumentKind(models.TextChoices):
    NIT_CERTIFICATE = "nit_certificate", _("NIT certificate")
    LEGAL_REPRESENTATIVE_ID = "legal_representative_id", _("Legal representative's ID")
    ACTIVITY_REPORT = "activity_report", _("Activity report of the last period")
    OTHER = "other", _("Other")


# The document kinds each kind of registration needs before it can be submitted.
REQUIRED_DOCUMENTS = {
    RegistrationKind.NEW: (DocumentKind.NIT_CERTIFICATE, DocumentKind.LEGAL_REPRESENTATIVE_ID),
    RegistrationKind.RENEWAL: (DocumentKind.LEGAL_REPRESENTATIVE_ID, DocumentKind.ACTIVITY_REPORT),
}

S = RegistrationState
FINAL_STATES = frozenset({S.CLOSED, S.REJECTED, S.WITHDRAWN, S.ABANDONED})
OPEN_STATES = frozenset(set(S) - FINAL_STATES)

# The whole transition table: (method, sources, target), and who may fire each and on which
# conditions (``registrations.conditions``).
TRANSITIONS = (
    ("submit", (S.DRAFT,), S.SUBMITTED),
    ("start_review", (S.SUBMITTED,), S.IN_REVIEW),
    ("observe", (S.IN_REVIEW,), S.OBSERVED),
    ("answer", (S.OBSERVED,), S.IN_REVIEW),
    ("approve", (S.IN_REVIEW,), S.APPROVED),
    ("close", (S.APPROVED,), S.CLOSED),
    ("reject", (S.IN_REVIEW,), S.REJECTED),
    ("withdraw", (S.DRAFT, S.SUBMITTED, S.OBSERVED), S.WITHDRAWN),
    ("abandon", (S.OBSERVED,), S.ABANDONED),
)
GUARDS = {
    "submit": ([c.ready_for_submission], c.by_applicant),
    "start_review": ([], c.by_reviewer),
    "observe": ([c.has_observation], c.by_reviewer),
    "answer": ([c.ready_for_submission], c.by_applicant),
    "approve": ([c.documents_complete, c.unit_is_registered], c.by_reviewer),
    "close": ([c.certificate_issued], c.by_reviewer),
    "reject": ([], c.by_reviewer),
    "withdraw": ([], c.by_applicant),
    "abandon": ([c.has_observation], c.by_system),
}
_T = {name: (list(sources), target) for name, sources, target in TRANSITIONS}
if set(GUARDS) != set(_T):  # pragma: no cover - a table error, caught at import
    raise RuntimeError("every transition of the registration FSM declares its guards")


def _guarded(name: str) -> dict:
    sources, target = _T[name]
    conditions, permission = GUARDS[name]
    return {"source": sources, "target": target, "conditions": conditions, "permission": permission}


class RegistrationTerm(models.Model):
    """How long an approved registration is valid, as in force from a date (configuration, dated):
    the term in force on the day of the approval applies."""

    starts_on = models.DateField(_("in force from"), unique=True)
    months = models.PositiveSmallIntegerField(
        _("months of validity"), validators=[MinValueValidator(1), MaxValueValidator(120)]
    )

    class Meta:
        ordering = ["-starts_on"]
        verbose_name = _("registration term")
        verbose_name_plural = _("registration terms")

    def __str__(self) -> str:
        return f"{self.months} ({self.starts_on:%d/%m/%Y})"


class Registration(WritesChangedColumns, ConcurrentTransitionMixin, models.Model):
    code = models.CharField(_("code"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=RegistrationKind.choices)
    # The unit renewed, or (a new registration) the unit created when it is approved.
    unit = models.ForeignKey(
        "registry.Unit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="registrations",
        verbose_name=_("productive unit"),
    )
    # A new registration: the unit's data as the applicant gave it (tax_id, name, kind, department,
    # municipality, sector), checked on creation and again when it is approved.
    unit_data = models.JSONField(_("unit data"), default=dict, blank=True)
    department = models.ForeignKey(
        "registry.Department", on_delete=models.PROTECT, related_name="+", verbose_name=_("department")
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="registrations",
        verbose_name=_("applicant"),
    )
    state = FSMField(_("state"), default=S.DRAFT, choices=RegistrationState.choices, protected=True)
    observation = models.TextField(_("observations"), blank=True)
    observation_days = models.PositiveSmallIntegerField(null=True, blank=True)
    rejection_reason = models.TextField(_("reasons for rejection"), blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    certificate_number = models.CharField(_("certificate number"), max_length=40, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="new") | models.Q(unit__isnull=False), name="renewal_names_its_unit"
            ),
        ]
        # The staff case list, newest first (cases.listing; bench/caselist_bench.py).
        indexes = [models.Index(fields=["created_at", "id"], name="registration_created_idx")]

    def __str__(self) -> str:
        return self.code

    @property
    def case_code(self) -> str:
        return self.code

    @property
    def unit_name(self) -> str:
        return self.unit.name if self.unit is not None else str(self.unit_data.get("name", ""))

    @property
    def required_documents(self) -> tuple[str, ...]:
        return tuple(str(k) for k in REQUIRED_DOCUMENTS[RegistrationKind(self.kind)])

    def task_context(self, step: str = "") -> dict:
        """What each inbox row of this case shows and is filtered on. A new registration has no unit
        yet: its applicant's steps go to the applicant in person (``applicant_id``)."""
        return {
            "department_id": self.department_id,
            "program_id": None,
            "unit_id": self.unit_id,
            "applicant_id": self.applicant_id,
            "beneficiary": self.unit_name,
            "amount": None,
            "title": str(self.get_kind_display()),
        }

    # --- transitions (fired only by workflows.services.transition) ------------------------------
    @transition(state, **_guarded("submit"))
    def submit(self):
        self.submitted_at = timezone.now()

    @transition(state, **_guarded("start_review"))
    def start_review(self):
        pass

    @transition(state, **_guarded("observe"))
    def observe(self):
        pass

    @transition(state, **_guarded("answer"))
    def answer(self):
        self.observation, self.observation_days = "", None

    @transition(state, **_guarded("approve"))
    def approve(self):
        self.decided_at = timezone.now()

    @transition(state, **_guarded("close"))
    def close(self):
        pass

    @transition(state, **_guarded("reject"))
    def reject(self):
        self.decided_at = timezone.now()

    @transition(state, **_guarded("withdraw"))
    def withdraw(self):
        pass

    @transition(state, **_guarded("abandon"))
    def abandon(self):
        pass


class Document(CaseDocument):
    """A document of a registration (``cases.documents``: checked by content, hashed, immutable)."""

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=40, choices=DocumentKind.choices)


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months (the last day of a shorter month when needed)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=d)
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - 28 always exists
