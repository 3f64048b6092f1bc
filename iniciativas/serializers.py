from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.serializers import AmountText, HistoryEntrySerializer

from .models import Call, Document, Initiative


class CallSerializer(serializers.ModelSerializer):
    program = serializers.CharField(source="program.code")
    max_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    min_counterpart_share = serializers.DecimalField(max_digits=3, decimal_places=2)

    class Meta:
        model = Call
        fields = [
            "id",
            "code",
            "title",
            "program",
            "opens_on",
            "closes_on",
            "max_amount",
            "min_counterpart_share",
            "required_documents",
            "rubric",
            "threshold",
            "evaluators",
            "tranche_plan",
            "observation_days",
        ]


class DocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Document
        fields = ["id", "kind", "original_name", "content_type", "size", "sha256", "uploaded_at"]


class InitiativeSerializer(serializers.ModelSerializer):
    unit = serializers.PrimaryKeyRelatedField(read_only=True)
    call = serializers.CharField(source="call.code")
    department = serializers.CharField(source="department.code")
    budget_line = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)  # before certification
    requested_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    counterpart_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    # Fixed at the budget certification (null before): at most the requested amount, with the reason
    # when lower, and the counterpart owed on it. ``granted_amount`` is its former name, kept.
    approved_amount = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    approved_amount_reason = serializers.CharField()
    approved_counterpart = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    granted_amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, allow_null=True, source="approved_amount"
    )
    refunded_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    recovered_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    paid_amount = serializers.SerializerMethodField()
    amount_to_recover = serializers.SerializerMethodField()
    documents = DocumentSerializer(many=True, read_only=True)
    history = serializers.SerializerMethodField()

    class Meta:
        model = Initiative
        fields = [
            "id",
            "code",
            "state",
            "unit",
            "call",
            "title",
            "summary",
            "department",
            "requested_amount",
            "counterpart_amount",
            "approved_amount",
            "approved_amount_reason",
            "approved_counterpart",
            "granted_amount",
            "budget_line",
            "paid_amount",
            "refunded_amount",
            "amount_to_recover",
            "recovered_amount",
            "evaluation_score",
            "agreement_number",
            "resolution_number",
            "closeout_record",
            "cancellation_reason",
            "submitted_at",
            "created_at",
            "documents",
            "history",
        ]

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_paid_amount(self, obj) -> str:
        total = sum((t.amount for t in obj.tranches.all() if t.state == "paid"), Decimal(0))
        return format(total.quantize(Decimal("0.01")), "f")

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True))
    def get_amount_to_recover(self, obj) -> str | None:
        """What a cancelled initiative owes back (null unless it was cancelled with money paid)."""
        from .conditions import amount_to_recover

        if obj.state not in ("in_recovery", "recovered"):
            return None
        return format(amount_to_recover(obj).quantize(Decimal("0.01")), "f")

    @extend_schema_field(HistoryEntrySerializer(many=True, allow_null=True))  # null in lists
    def get_history(self, obj):
        from .selectors import history_for

        if not self.context.get("with_history"):
            return None
        return HistoryEntrySerializer(history_for(obj, self.context["request"].user), many=True).data


class InitiativeCreateSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    call = serializers.CharField(help_text="Call id or code")
    title = serializers.CharField(max_length=200)
    summary = serializers.CharField(max_length=5000)
    department = serializers.CharField(max_length=3)
    requested_amount = AmountText()
    counterpart_amount = AmountText()


class DocumentUploadSerializer(serializers.Serializer):
    kind = serializers.CharField()
    file = serializers.FileField()


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class RecoverySerializer(serializers.Serializer):
    amount = AmountText(required=False)
    reference = serializers.CharField(max_length=60, required=False, allow_blank=True)
