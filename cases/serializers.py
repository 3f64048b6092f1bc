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


class OfficialDocumentSerializer(serializers.Serializer):
    """An official document of a case (API.md: ``kind, number, issued_at, sha256, url, verify_url``);
    ``url`` comes from the case app (``context["official_url"]``: a function of the document)."""

    kind = serializers.CharField()
    number = serializers.CharField()
    issued_at = serializers.DateTimeField()
    sha256 = serializers.CharField()
    url = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField()

    def get_url(self, document) -> str:
        make = self.context.get("official_url")
        return self._absolute(make(document)) if make else ""

    def get_verify_url(self, document) -> str:
        from .official import verify_path

        return self._absolute(verify_path(document))

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path
