from django.conf import settings
from django.db import models
from django.db.models.signals import pre_save
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove audit entries or checkpoints through the ORM."""


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses every bulk write: entries are added one by one by ``audit.record`` (checkpoints by
    ``audit.checkpoints``) and never changed or removed."""

    def update(self, **kwargs):
        raise AppendOnlyError("the audit trail is append-only")

    def delete(self):
        raise AppendOnlyError("the audit trail is append-only")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("the audit trail is append-only")

    def bulk_create(self, objs, *args, **kwargs):
        raise AppendOnlyError("audit rows are written one by one by audit.record")

    def update_or_create(self, *args, **kwargs):
        raise AppendOnlyError("the audit trail is append-only")


class AppendOnlyModel(models.Model):
    """Rows are inserted once and never changed or removed through the ORM."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("the audit trail is append-only")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("the audit trail is append-only")


RECORD_ONLY = "audit entries are written only by audit.record (the ORM cannot insert them)"


def _refuse_orm_save(sender, instance, **kwargs):
    """``pre_save`` of ``AuditEntry``: also stops the saves that bypass ``Model.save`` (fixtures:
    ``loaddata`` calls ``Model.save_base`` directly)."""
    raise AppendOnlyError(RECORD_ONLY)


class AuditEntryQuerySet(AppendOnlyQuerySet):
    def for_case(self, code: str):
        return self.filter(case=code)


class AuditEntry(AppendOnlyModel):
    """One entry of the hash-chained, append-only audit trail. Written only by ``audit.record``.

    The ORM cannot write this table at all: ``save()``, ``objects.create()``, ``get_or_create()``,
    ``bulk_create()`` and fixtures raise ``AppendOnlyError`` (``record`` computes the seq and hash under
    the chain lock and sends its own INSERT). The database refuses UPDATE and DELETE on it (triggers
    created by migration), and the chain plus signed checkpoints reveal what a database owner might do.
    """

    seq = models.BigIntegerField(_("sequence"), primary_key=True)
    version = models.PositiveSmallIntegerField(_("format version"), default=1)
    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
        db_constraint=True,
    )
    actor_label = models.CharField(_("actor label"), max_length=200)
    # Codes of ``AuditAction``; deliberately no ``choices`` here, so that adding an action code never
    # needs a migration of this table (``record`` validates the code).
    action = models.CharField(_("action"), max_length=64)
    subject_type = models.CharField(_("subject type"), max_length=100, blank=True)
    subject_id = models.CharField(_("subject id"), max_length=64, blank=True)
    subject_label = models.CharField(_("subject"), max_length=300, blank=True)
    case = models.CharField(_("case"), max_length=32, blank=True)
    data = models.JSONField(_("data"), default=dict)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["seq"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        # Every filter of the internal-control pages walks one of these in seq order (keyset pages).
        indexes = [
            models.Index(fields=["subject_type", "subject_id"], name="audit_subject_idx"),
            models.Index(fields=["actor", "seq"], name="audit_actor_seq_idx"),
            models.Index(fields=["case", "seq"], name="audit_case_seq_idx"),
            models.Index(fields=["action", "seq"], name="audit_action_seq_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.subject_label}"

    def save(self, *args, **kwargs):
        raise AppendOnlyError(RECORD_ONLY)

    @property
    def actor_display(self) -> str:
        """The actor label as shown to people (``anonymous``, stored for failed logins, translated)."""
        if self.actor_id is None and self.actor_label == "anonymous":
            return str(_("anonymous"))
        return self.actor_label

    @property
    def action_label(self) -> str:
        from . import actions

        return actions.label(self.action)


class Checkpoint(AppendOnlyModel):
    """A signed statement that the first ``seq`` entries of the chain end in ``head``.

    Insert-only: a new checkpoint is saved once (by the signer), never changed or deleted. A row
    inserted by anyone else proves nothing: it needs a signature by a trusted key to count, and the
    verification compares the table with the checkpoints published as files.

    Signed with Ed25519 by ``audit.checkpoints.sign_checkpoint`` (key outside the database), published
    at ``/api/v1/audit/checkpoints/`` and written to ``AUDIT_CHECKPOINT_DIR`` to be copied off the
    server. Append-only like the entries (same triggers).
    """

    seq = models.BigIntegerField(_("entries covered"))
    head = models.CharField(_("head hash"), max_length=64)
    signed_at = models.DateTimeField(_("signed at"))
    origin = models.CharField(_("origin"), max_length=200)
    key_id = models.CharField(_("key id"), max_length=32)
    public_key = models.CharField(_("public key"), max_length=64, help_text=_("Raw Ed25519 key, base64."))
    signature = models.CharField(_("signature"), max_length=128)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-seq", "-signed_at"]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")
        constraints = [
            models.UniqueConstraint(fields=["seq", "key_id"], name="audit_checkpoint_seq_key_uniq"),
        ]
        indexes = [models.Index(fields=["seq"], name="audit_checkpoint_seq_idx")]

    def __str__(self) -> str:
        return f"checkpoint {self.seq} {self.head[:12]}"


pre_save.connect(_refuse_orm_save, sender=AuditEntry, dispatch_uid="audit_entry_record_only")
