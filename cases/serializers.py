"""The shared API serializers: the error body and a case's history."""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """``{"detail": "message"}`` (400 without a field, 401, 403, 404, 409)."""

    detail = serializers.CharField()


class HistorySubjectSerializer(serializers.Serializer):
    type = serializers.CharField(source="subject_type")
    id = serializers.CharField(source="subject_id")
    label = serializers.CharField(source="subject_label")


class HistoryEntrySerializer(serializers.Serializer):
    """One audit entry of a case's history (API.md "Audit": ``seq, at, actor, action, subject, data,
    prev_hash, hash``), so a reader can check the chain links of what it was shown."""

    seq = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_label")
    action = serializers.CharField()
    action_label = serializers.CharField()
    subject = HistorySubjectSerializer(source="*")
    data = serializers.JSONField()
    prev_hash = serializers.CharField()
    hash = serializers.CharField()
