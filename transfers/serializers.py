from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.serializers import (
    REACH_OUTPUT_FIELDS,
    AmountText,
    HistoryEntrySerializer,
    OfficialDocumentSerializer,
    ReachInputSerializer,
    official_documents_data,
)

from .models import Asset, AssetItem, Document, DocumentKind, Transfer

MONEY = {"max_digits": 16, "decimal_places": 2}


class AssetItemSerializer(serializers.ModelSerializer):
    holder = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # before delivery

    class Meta:
        model = AssetItem
        fields = ["id", "number", "serial", "status", "holder", "delivered_on"]


class AssetSerializer(serializers.ModelSerializer):
    unit_value = serializers.DecimalField(**MONEY)
    items = AssetItemSerializer(many=True, read_only=True)

    class Meta:
        model = Asset
        fields = ["position", "description", "quantity", "unit_value", "items"]


class TransferDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "kind", "original_name", "content_type", "size", "sha256", "uploaded_at"]


class TransferSerializer(serializers.ModelSerializer):
    beneficiary = serializers.PrimaryKeyRelatedField(read_only=True)
    beneficiary_name = serializers.CharField(source="beneficiary.name")
    program = serializers.CharField(source="program.code")
    department = serializers.CharField(source="department.code")
    budget_line = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # before certification
    amount = serializers.DecimalField(**MONEY)
    # Fixed at the budget certification (null before): in money at most ``amount``, with the reason
    # when lower; in kind the assets' value.
    approved_amount = serializers.DecimalField(**MONEY, allow_null=True)
    approved_amount_reason = serializers.CharField()
    executed_amount = serializers.DecimalField(**MONEY)
    paid_amount = serializers.DecimalField(**MONEY)
    recovered_amount = serializers.DecimalField(**MONEY)
    beneficiaries_total = serializers.IntegerField(read_only=True, help_text="Women plus men")
    assets = AssetSerializer(many=True, read_only=True)
    documents = TransferDocumentSerializer(many=True, read_only=True)
    official_documents = serializers.SerializerMethodField()
    upload_kinds = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    class Meta:
        model = Transfer
        fields = [
            "id",
            "code",
            "state",
            "beneficiary",
            "beneficiary_name",
            "modality",
            "kind",
            "program",
            "department",
            *REACH_OUTPUT_FIELDS,
            "purpose",
            "amount",
            "approved_amount",
            "approved_amount_reason",
            "budget_line",
            "executed_amount",
            "paid_amount",
            "recovered_amount",
            "resolution_number",
            "agreement_number",
            "payment_reference",
            "delivery_record_number",
            "delivered_on",
            "rejection_reason",
            "annulment_reason",
            "reversion_reason",
            "observation",
            "created_at",
            "assets",
            "documents",
            "official_documents",
            "upload_kinds",
            "history",
        ]

    @extend_schema_field(OfficialDocumentSerializer(many=True))
    def get_official_documents(self, obj) -> list:
        return official_documents_data(obj, "transfer-official-api", self.context)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_upload_kinds(self, obj) -> list[str]:
        """The document kinds the caller may upload to this transfer now (``document_rules``)."""
        from cases.permissions import allowed

        from .document_rules import kinds_now
        from .models import FINAL_STATES

        request = self.context.get("request")
        if request is None or obj.state in FINAL_STATES or not allowed(request.user, "transfers.upload", obj):
            return []
        return kinds_now(request.user, obj)

    @extend_schema_field(HistoryEntrySerializer(many=True, allow_null=True))  # null in lists
    def get_history(self, obj):
        from .selectors import history_for

        if not self.context.get("with_history"):
            return None
        return HistoryEntrySerializer(history_for(obj, self.context["request"].user), many=True).data


class AssetInputSerializer(serializers.Serializer):
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_value = AmountText()


class TransferCreateSerializer(ReachInputSerializer):
    """Only the shape; the service validates the values (messages in the caller's language). The
    beneficiaries and placement are optional (defaults from the beneficiary unit)."""

    beneficiary = serializers.IntegerField(help_text="Unit id")
    modality = serializers.CharField(help_text='"in_kind" or "money"')
    kind = serializers.CharField(help_text='"public_private" or "public_public"')
    program = serializers.CharField(help_text="Program code, e.g. PROLECHE")
    amount = AmountText(
        required=False, allow_blank=True, help_text="Decimal string; in kind: the assets' total (optional)"
    )
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    assets = serializers.JSONField(required=False, help_text="[{description, quantity, unit_value}]")


class TransferDocumentUploadSerializer(serializers.Serializer):
    kind = serializers.CharField(
        help_text="One of: "
        + ", ".join(DocumentKind.values)
        + ". Each in its stage and by its people: see upload_kinds on the transfer."
    )
    file = serializers.FileField(help_text="PDF, JPEG or PNG (checked by content), size-limited")


class AnnulSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
