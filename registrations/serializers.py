from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.serializers import HistoryEntrySerializer, OfficialDocumentSerializer, official_documents_data

from .models import Document, DocumentKind, Registration, RegistrationKind


class RegistrationDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "kind", "original_name", "content_type", "size", "sha256", "uploaded_at"]


class RegistrationDocumentUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    file = serializers.FileField()


class UnitDataSerializer(serializers.Serializer):
    tax_id = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    department = serializers.CharField()
    municipality = serializers.CharField()
    sector = serializers.CharField()


class RegistrationCreateSerializer(serializers.Serializer):
    """``{"kind": "new", "unit_data": {...}}`` or ``{"kind": "renewal", "unit": <id>}``; the service
    checks every field (messages next to each, nothing written on an error)."""

    kind = serializers.ChoiceField(choices=RegistrationKind.choices)
    unit = serializers.IntegerField(required=False, allow_null=True)
    unit_data = serializers.JSONField(required=False)


class RegistrationSerializer(serializers.ModelSerializer):
    unit = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # a new unit: once approved
    department = serializers.CharField(source="department.code")
    unit_data = UnitDataSerializer(required=False)
    required_documents = serializers.ListField(child=serializers.CharField())
    documents = RegistrationDocumentSerializer(many=True, read_only=True)
    official_documents = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    class Meta:
        model = Registration
        fields = [
            "id",
            "code",
            "kind",
            "state",
            "unit",
            "unit_data",
            "department",
            "required_documents",
            "observation",
            "rejection_reason",
            "valid_from",
            "valid_until",
            "certificate_number",
            "submitted_at",
            "created_at",
            "documents",
            "official_documents",
            "history",
        ]

    @extend_schema_field(OfficialDocumentSerializer(many=True))
    def get_official_documents(self, obj) -> list:
        return official_documents_data(obj, "registration-official-api", self.context)

    @extend_schema_field(HistoryEntrySerializer(many=True, allow_null=True))  # null in lists
    def get_history(self, obj) -> list:
        from .selectors import history_for

        if not self.context.get("with_history", True):
            return []
        return HistoryEntrySerializer(history_for(obj, self.context["request"].user), many=True).data
