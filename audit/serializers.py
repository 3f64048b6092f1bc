from rest_framework import serializers

from .models import AuditEntry


class AuditEntrySerializer(serializers.ModelSerializer):
    """An entry as API.md lists it: ``seq, at, actor, action, subject, data, prev_hash, hash`` (plus
    ``action_label``, ``case``, ``request_id`` and ``ip``)."""

    actor = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()
    action_label = serializers.CharField(read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "seq",
            "at",
            "actor",
            "action",
            "action_label",
            "subject",
            "case",
            "data",
            "request_id",
            "ip",
            "prev_hash",
            "hash",
        ]
        read_only_fields = fields

    def get_actor(self, entry) -> dict:
        return {"id": entry.actor_id, "label": entry.actor_label}

    def get_subject(self, entry) -> dict:
        return {"type": entry.subject_type, "id": entry.subject_id, "label": entry.subject_label}


class HistoryEntrySerializer(serializers.ModelSerializer):
    """A case's history as its applicant sees it (``history`` of a case; no IP or request id)."""

    actor = serializers.CharField(source="actor_label", read_only=True)
    action_label = serializers.CharField(read_only=True)

    class Meta:
        model = AuditEntry
        fields = ["seq", "at", "actor", "action", "action_label", "data", "hash"]
        read_only_fields = fields


class CheckpointSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    head = serializers.CharField()
    signed_at = serializers.CharField()
    key_id = serializers.CharField()
    signature = serializers.CharField()
    origin = serializers.CharField()
    public_key = serializers.CharField()


class PublicKeySerializer(serializers.Serializer):
    key_id = serializers.CharField()
    algorithm = serializers.CharField()
    public_key = serializers.CharField()
    public_key_pem = serializers.CharField()


class VerificationErrorSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    reason = serializers.CharField()
    code = serializers.CharField()


class VerificationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    entries = serializers.IntegerField()
    head = serializers.CharField()
    first_error = VerificationErrorSerializer(allow_null=True)
    checkpoints = serializers.IntegerField()
    latest_checkpoint = CheckpointSerializer(allow_null=True)
    warnings = serializers.ListField(child=serializers.CharField())
    published_checkpoints = serializers.IntegerField(
        help_text="Published checkpoints (AUDIT_CHECKPOINT_DIR) compared with the database's table"
    )
    missing_triggers = serializers.ListField(child=serializers.CharField())
