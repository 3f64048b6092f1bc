from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from cases.serializers import (
    REACH_OUTPUT_FIELDS,
    HistoryEntrySerializer,
    OfficialDocumentSerializer,
    ReachInputSerializer,
    official_documents_data,
)

from .models import CompensationAgreement, Settlement, SettlementDocument


class SettlementDocumentSerializer(serializers.ModelSerializer):
    class Meta:
        model = SettlementDocument
        fields = ["id", "kind", "original_name", "content_type", "size", "sha256", "uploaded_at"]


class SettlementSerializer(serializers.ModelSerializer):
    agreement = serializers.CharField(source="agreement.code")
    month = serializers.DateField(format="%Y-%m")
    documents = SettlementDocumentSerializer(many=True, read_only=True)
    history = serializers.SerializerMethodField()

    class Meta:
        model = Settlement
        fields = [
            "id",
            "code",
            "agreement",
            "month",
            "state",
            "declared_litres",
            "litres",
            "amount",
            "correction_reason",
            "rejection_reason",
            "payment_reference",
            "c31_reference",
            "paid_on",
            "created_at",
            "documents",
            "history",
        ]

    @extend_schema_field(OfficialDocumentSerializer(many=True))
    def get_official_documents(self, obj) -> list:
        """The certificación presupuestaria and the director's resolution, once issued (API.md:
        every case lists its ``official_documents``); their PDFs and signed scans are the viewset's
        ``official`` actions."""
        return official_documents_data(obj, "compensation-agreement-official-api", self.context)

    @extend_schema_field(HistoryEntrySerializer(many=True))
    def get_history(self, obj) -> list:
        from .selectors import history_for

        if not self.context.get("with_history", True):
            return []
        return HistoryEntrySerializer(history_for(obj, self.context["request"].user), many=True).data


class AgreementSerializer(serializers.ModelSerializer):
    unit = serializers.PrimaryKeyRelatedField(read_only=True)
    unit_name = serializers.CharField(source="unit.name")
    program = serializers.CharField(source="program.code")
    department = serializers.CharField(source="department.code")
    first_month = serializers.DateField(format="%Y-%m")
    last_month = serializers.DateField(format="%Y-%m")
    used = serializers.SerializerMethodField()
    paid = serializers.SerializerMethodField()
    remaining = serializers.SerializerMethodField()
    beneficiaries_total = serializers.IntegerField(read_only=True, help_text="Women plus men")
    settlements = serializers.SerializerMethodField()
    official_documents = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    class Meta:
        model = CompensationAgreement
        fields = [
            "id",
            "code",
            "state",
            "unit",
            "unit_name",
            "program",
            "department",
            *REACH_OUTPUT_FIELDS,
            "budget_line",
            "rate",
            "first_month",
            "last_month",
            "ceiling",
            "used",
            "paid",
            "remaining",
            "resolution_number",
            "rejection_reason",
            "created_at",
            "settlements",
            "official_documents",
            "history",
        ]

    def _figures(self, obj):
        from .selectors import figures

        cache = self.context.setdefault("_figures", {})
        if obj.pk not in cache:
            cache[obj.pk] = figures(obj)
        return cache[obj.pk]

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_used(self, obj):
        return format(self._figures(obj).held, "f")

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_paid(self, obj):
        return format(self._figures(obj).paid, "f")

    @extend_schema_field(serializers.DecimalField(max_digits=16, decimal_places=2))
    def get_remaining(self, obj):
        return format(self._figures(obj).remaining, "f")

    @extend_schema_field(SettlementSerializer(many=True))
    def get_settlements(self, obj) -> list:
        if not self.context.get("with_history", True):
            return []
        rows = (
            obj.settlements.select_related("agreement").prefetch_related("documents").order_by("month", "pk")
        )
        return SettlementSerializer(rows, many=True, context={**self.context, "with_history": False}).data

    @extend_schema_field(OfficialDocumentSerializer(many=True))
    def get_official_documents(self, obj) -> list:
        """The certificación presupuestaria and the director's resolution, once issued (API.md:
        every case lists its ``official_documents``); their PDFs and signed scans are the viewset's
        ``official`` actions."""
        return official_documents_data(obj, "compensation-agreement-official-api", self.context)

    @extend_schema_field(HistoryEntrySerializer(many=True))
    def get_history(self, obj) -> list:
        from .selectors import history_for

        if not self.context.get("with_history", True):
            return []
        return HistoryEntrySerializer(history_for(obj, self.context["request"].user), many=True).data


class AgreementCreateSerializer(ReachInputSerializer):
    """The service checks every field (messages next to each, nothing written on an error). The
    beneficiaries and placement are optional (defaults from the dairy company's unit)."""

    unit = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    budget_line = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    rate = serializers.CharField(help_text="Bs per litre, a decimal string with at most 4 decimals")
    first_month = serializers.CharField(help_text="YYYY-MM")
    last_month = serializers.CharField(help_text="YYYY-MM")
    ceiling = serializers.CharField(help_text="Bs, a decimal string with at most 2 decimals")


class SettlementDeclareSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM, a month of the agreement's period that has ended")
    litres = serializers.CharField(help_text="a decimal string with at most 2 decimals")
    evidence = serializers.FileField(help_text="PDF, JPEG or PNG")


class SettlementVerifySerializer(serializers.Serializer):
    approve = serializers.BooleanField(default=True)
    litres = serializers.CharField(required=False, allow_blank=True, help_text="corrected litres, if any")
    correction_reason = serializers.CharField(required=False, allow_blank=True)
    reason = serializers.CharField(required=False, allow_blank=True, help_text="why it is rejected")


class SettlementPaySerializer(serializers.Serializer):
    payment_reference = serializers.CharField(max_length=60)
    paid_on = serializers.DateField(required=False)
    c31_reference = serializers.CharField(required=False, allow_blank=True, max_length=30)


class CloseSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True)
