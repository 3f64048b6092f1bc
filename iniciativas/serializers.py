from decimal import Decimal

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

from .models import Call, Document, Initiative, TrancheUnlock


class RubricItemSerializer(serializers.Serializer):
    criterion = serializers.CharField()
    text = serializers.CharField()
    max_points = serializers.IntegerField()
    code = serializers.CharField()
    label = serializers.CharField(help_text="The criterion's name, as stored (= criterion)")
    max = serializers.IntegerField(help_text="= max_points")


class CriterionSerializer(serializers.Serializer):
    """One criterion of a call's rubric (API.md): ``criterion`` (its name), ``text`` (what the
    evaluator reads under it), ``max_points``; ``code``, the key of its score in an evaluation's
    ``data``, is made from the name when not given. Answers also carry the stored ``label``/``max``."""

    criterion = serializers.CharField(max_length=200)
    text = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    max_points = serializers.IntegerField(min_value=1, max_value=100)
    code = serializers.CharField(max_length=40, required=False, help_text="Made from the name when absent")


class TrancheSerializer(serializers.Serializer):
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=True)
    unlocked_by = serializers.ChoiceField(
        choices=TrancheUnlock.choices,
        required=False,
        help_text="What makes the tranche payable; default: the signed agreement for the first, "
        "the approved previous progress report for the others",
    )


class CallWriteSerializer(serializers.Serializer):
    """``POST /api/v1/calls/`` and ``PATCH /api/v1/calls/{code}/`` (API.md); the service checks the rules."""

    code = serializers.CharField(max_length=30)
    program = serializers.CharField(max_length=20, help_text="Program code, e.g. PROLECHE")
    title = serializers.CharField(max_length=200)
    opens = serializers.DateField()
    closes = serializers.DateField()
    max_amount = AmountText()
    min_counterpart_share = serializers.DecimalField(
        max_digits=3, decimal_places=2, help_text='A fraction, e.g. "0.50"'
    )
    required_documents = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20)
    evaluators = serializers.IntegerField()
    rubric = CriterionSerializer(many=True, max_length=20)
    pass_threshold = serializers.DecimalField(max_digits=5, decimal_places=2)
    disagreement_points = serializers.DecimalField(max_digits=5, decimal_places=2, required=False)
    tranche_plan = TrancheSerializer(many=True, max_length=10)
    observation_days = serializers.IntegerField()


class CallSerializer(serializers.ModelSerializer):
    program = serializers.CharField(source="program.code")
    max_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    min_counterpart_share = serializers.DecimalField(max_digits=3, decimal_places=2)
    opens = serializers.DateField(source="opens_on")
    closes = serializers.DateField(source="closes_on")
    pass_threshold = serializers.DecimalField(source="threshold", max_digits=5, decimal_places=2)
    status = serializers.SerializerMethodField(help_text="scheduled, open or closed today (La Paz)")
    rubric = serializers.SerializerMethodField()
    tranche_plan = serializers.SerializerMethodField()

    class Meta:
        model = Call
        fields = [
            "id",
            "code",
            "version",
            "title",
            "program",
            "opens",
            "closes",
            "opens_on",
            "closes_on",
            "status",
            "max_amount",
            "min_counterpart_share",
            "required_documents",
            "rubric",
            "pass_threshold",
            "threshold",
            "evaluators",
            "disagreement_points",
            "tranche_plan",
            "observation_days",
            "document_states",
        ]

    def get_status(self, obj) -> str:
        return obj.status()

    @extend_schema_field(RubricItemSerializer(many=True))
    def get_rubric(self, obj) -> list:
        return [
            {
                "criterion": c.get("label", ""),
                "text": c.get("text", ""),
                "max_points": int(c.get("max", 0)),
                "code": c.get("code", ""),
                "label": c.get("label", ""),
                "max": int(c.get("max", 0)),
            }
            for c in obj.rubric
        ]

    @extend_schema_field(TrancheSerializer(many=True))
    def get_tranche_plan(self, obj) -> list:
        return [
            {
                "percent": format(Decimal(str(p)).quantize(Decimal("0.01")), "f"),
                "unlocked_by": obj.unlock_of(n),
            }
            for n, p in enumerate(obj.tranche_plan, start=1)
        ]


class DocumentSerializer(serializers.ModelSerializer):
    """A document and its place among the versions of its kind: ``current`` (the version in force),
    ``replaced_at`` / ``replaced_by`` (when, and by which document, an earlier one was replaced)."""

    current = serializers.BooleanField(read_only=True)
    replaced_by = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "kind",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_at",
            "current",
            "replaced_at",
            "replaced_by",
        ]


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
    beneficiaries_total = serializers.IntegerField(read_only=True, help_text="Women plus men")
    documents = DocumentSerializer(many=True, read_only=True)
    official_documents = serializers.SerializerMethodField()
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
            *REACH_OUTPUT_FIELDS,
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
            "official_documents",
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

    @extend_schema_field(OfficialDocumentSerializer(many=True))
    def get_official_documents(self, obj) -> list:
        return official_documents_data(obj, "initiative-official-api", self.context)

    @extend_schema_field(HistoryEntrySerializer(many=True, allow_null=True))  # null in lists
    def get_history(self, obj):
        from .selectors import history_for

        if not self.context.get("with_history"):
            return None
        return HistoryEntrySerializer(history_for(obj, self.context["request"].user), many=True).data


class InitiativeCreateSerializer(ReachInputSerializer):
    """``POST /api/v1/initiatives/``; the beneficiaries and placement are optional (defaults from the
    unit: its municipality and sector; the department's dairy basin for PROLECHE or dairy)."""

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
