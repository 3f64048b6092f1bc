"""The kernel's rows: official documents the system issues (certificates, resolutions, actas), with
their per-kind, per-year numbers. Any kind of case issues them (``cases.official``)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class OfficialDocument(models.Model):
    """A document the agency issues at a step of a case, generated as a PDF: numbered without gaps
    per kind and year, its SHA-256 recorded (and written in the step's audit entry), verifiable by
    anyone with its number and hash or its short verification code."""

    kind = models.CharField(_("kind"), max_length=40)
    number = models.CharField(_("number"), max_length=40, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    case_type = models.CharField(_("case type"), max_length=20)
    case_id = models.BigIntegerField(_("case id"))
    case_code = models.CharField(_("case"), max_length=32, db_index=True)
    file = models.FileField(_("file"), upload_to="official/%Y/")
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    verification_code = models.CharField(_("verification code"), max_length=16, unique=True)
    template_version = models.CharField(_("template version"), max_length=20)
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["issued_at", "pk"]
        verbose_name = _("official document")
        verbose_name_plural = _("official documents")
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "sequence"], name="official_document_seq_uniq")
        ]

    def __str__(self) -> str:
        return self.number


class OfficialCounter(models.Model):
    """The last number issued per kind and year (its row is locked while a number is taken)."""

    kind = models.CharField(max_length=40)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="official_counter_uniq")]

    def __str__(self) -> str:
        return f"{self.kind} {self.year}: {self.last}"
