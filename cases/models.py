"""The kernel's rows: official documents the system issues (certificates, resolutions, actas), with
their per-kind, per-year numbers. Any kind of case issues them (``cases.official``)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OfficialDocument(models.Model):
    """A document the agency issues at a step of a case, generated as a PDF: numbered without gaps
    per kind and year, what it prints hashed into the step's audit entry, the PDF drawn from that
    after the step's commit and its SHA-256 recorded, verifiable by anyone with its number and hash
    or its short verification code."""

    kind = models.CharField(_("kind"), max_length=40)
    number = models.CharField(_("number"), max_length=40, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    case_type = models.CharField(_("case type"), max_length=20)
    case_id = models.BigIntegerField(_("case id"))
    case_code = models.CharField(_("case"), max_length=32, db_index=True)
    # What it prints (``cases.official_pdf.to_content``), recorded by its step, and the SHA-256 of
    # that in canonical form (in the step's audit entry); ``None`` for documents issued before 2026.3.
    content = models.JSONField(_("content"), null=True, blank=True)
    content_sha256 = models.CharField(_("SHA-256 of the content"), max_length=64, blank=True)
    # The PDF, drawn from ``content`` after the step's commit: empty until then.
    file = models.FileField(_("file"), upload_to="official/%Y/", blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    rendered_at = models.DateTimeField(_("rendered at"), null=True, blank=True)
    verification_code = models.CharField(_("verification code"), max_length=16, unique=True)
    template_version = models.CharField(_("template version"), max_length=20)
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The step that gave birth to it and the role that step is decided by: who (with an
    # administrator) may upload the signed scan back.
    step = models.CharField(_("step"), max_length=40, blank=True)
    role = models.CharField(_("role"), max_length=20, blank=True)
    # The signed paper, scanned and uploaded back (once), kept beside the generated PDF.
    signed_scan = models.FileField(_("signed scan"), upload_to="official/signed/%Y/", blank=True)
    signed_scan_sha256 = models.CharField(_("SHA-256 of the signed scan"), max_length=64, blank=True)
    signed_scan_content_type = models.CharField(max_length=50, blank=True)
    signed_scan_uploaded_at = models.DateTimeField(_("signed scan uploaded at"), null=True, blank=True)
    signed_scan_uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["issued_at", "pk"]
        verbose_name = _("official document")
        verbose_name_plural = _("official documents")
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "sequence"], name="official_document_seq_uniq")
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def kind_label(self) -> str:
        from .official_pdf import KINDS

        known = KINDS.get(self.kind)
        return str(known.label) if known else self.kind

    @property
    def has_signed_scan(self) -> bool:
        return bool(self.signed_scan_sha256)


class OfficialCounter(models.Model):
    """The last number issued per kind and year (its row is locked while a number is taken)."""

    kind = models.CharField(max_length=40)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="official_counter_uniq")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last}"


class OutboxMessage(models.Model):
    """A job a write owes, recorded in the write's own transaction (``cases.outbox``): a decision
    commits with its notifications' jobs or not at all. The relay hands each row to Celery
    (``sent_at``, ``published``); the job itself marks it done (``done_at``) when it has run. A row
    published but not done within the lease is published again: a broker that is down, hung or wiped
    (jobs published but never consumed) loses nothing. Delivery is at least once; every job is
    idempotent."""

    task = models.CharField(_("task"), max_length=200)
    kwargs = models.JSONField(_("arguments"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # When the relay may take the row next: now, after a failed publish's back-off, or when the lease
    # of its last publish runs out.
    available_at = models.DateTimeField(_("available at"))
    attempts = models.PositiveIntegerField(_("failed publishes"), default=0)
    published = models.PositiveIntegerField(_("publishes"), default=0)
    sent_at = models.DateTimeField(_("last published at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [
            models.Index(
                fields=["available_at", "id"],
                condition=models.Q(done_at__isnull=True),
                name="outbox_pending_idx",
            ),
            models.Index(
                fields=["done_at"], condition=models.Q(done_at__isnull=False), name="outbox_done_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"


class PaymentReference(models.Model):
    """A bank transfer reference, once: the row a payment's confirmation writes in its own
    transaction (``cases.payments.record_reference``). Its unique key makes one reference pay one
    payment across every kind of case, also when two confirmations race (the second waits for the
    first and is refused)."""

    reference = models.CharField(_("bank transfer reference"), max_length=60, unique=True)
    case_type = models.CharField(_("case type"), max_length=20)
    case_id = models.BigIntegerField(_("case id"))
    case_code = models.CharField(_("case"), max_length=32)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("payment reference")
        verbose_name_plural = _("payment references")

    def __str__(self) -> str:
        return f"{self.reference} ({self.case_code})"


class Job(models.Model):
    """A long job run by a Celery worker, with its progress for the page that waits for it
    (``cases.jobs``): imports today. Started in a request (the row and its outbox row in the request's
    transaction), claimed once by a worker, progress written as it goes, its result (a report) kept."""

    class State(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=60)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    params = models.JSONField(_("parameters"), default=dict)
    upload = models.FileField(_("file"), upload_to="jobs/%Y/%m/", blank=True)
    upload_name = models.CharField(_("file name"), max_length=255, blank=True)
    upload_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)
    output = models.FileField(_("result file"), upload_to="jobs/%Y/%m/", blank=True)
    output_name = models.CharField(_("result file name"), max_length=255, blank=True)
    progress_done = models.PositiveIntegerField(_("done"), default=0)
    progress_total = models.PositiveIntegerField(_("total"), default=0)
    result = models.JSONField(_("result"), default=dict)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="job_owner_idx")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(99, self.progress_done * 100 // self.progress_total)
