"""The shared API serializers: the error body, a case's history, and money."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .money import STRICT_AMOUNT, STRICT_AMOUNT_MESSAGE, WELL_FORMED


class MoneyField(serializers.DecimalField):
    """Money as the API takes it: a JSON string of ASCII digits with at most 2 decimals
    (``"1500.00"``). A JSON number (``1.5``), an exponent (``"1e2"``), ``"1_000"``, other scripts'
    digits (fullwidth ``"100"``), thousands marks (``"100.000"``) or spaces are a 400 naming the
    field; a negative amount or a third decimal gets DecimalField's own message."""

    default_error_messages = {"format": STRICT_AMOUNT_MESSAGE}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_digits", 16)
        kwargs.setdefault("decimal_places", 2)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        # A well-formed number out of bounds (a sign, a third decimal, too many digits) gets
        # DecimalField's precise message; anything else is not an amount at all.
        if not isinstance(data, str) or not (STRICT_AMOUNT.fullmatch(data) or WELL_FORMED.fullmatch(data)):
            self.fail("format")
        return super().to_internal_value(data)


class ErrorSerializer(serializers.Serializer):
    """``{"detail": "message"}`` (400 without a field, 401, 403, 404, 409)."""

    detail = serializers.CharField()


class AmountText(serializers.CharField):
    """Money the service validates with the case's other fields (so every error comes back at once):
    only a JSON string gets through, untrimmed; ``cases.money.clean_amount`` then takes exactly
    digits with at most 2 decimals. A JSON number (``1.5``) is refused here."""

    default_error_messages = {"format": STRICT_AMOUNT_MESSAGE}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("help_text", 'Decimal string, e.g. "1500.00"')
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("format")
        return super().to_internal_value(data)


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


class OfficialScanSerializer(serializers.Serializer):
    url = serializers.CharField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField()
    uploaded_at = serializers.DateTimeField()


class OfficialDocumentSerializer(serializers.Serializer):
    """An official document of a case (API.md: ``kind, number, issued_at, sha256, url, verify_url``;
    also ``content_sha256``),
    and its signed scan once uploaded back (``signed_scan``: ``null`` until then). ``url`` and the
    scan's come from the case app (``context["official_url"]``: the URL name of its PDF action, which
    takes the case's pk and the number; the scan's is the same name with ``-scan``)."""

    kind = serializers.CharField()
    number = serializers.CharField()
    issued_at = serializers.DateTimeField()
    sha256 = serializers.CharField(
        help_text="SHA-256 of the PDF; empty until the PDF is drawn (right after the step's commit, "
        "or at its first download)"
    )
    content_sha256 = serializers.CharField(
        help_text="SHA-256 of what the document prints, in canonical JSON: the hash in the step's audit entry"
    )
    url = serializers.SerializerMethodField()
    verify_url = serializers.SerializerMethodField()
    signed_scan = serializers.SerializerMethodField()

    def _reverse(self, document, suffix: str = "") -> str:
        name = self.context.get("official_url")
        if not name:
            return ""
        from django.urls import reverse

        return self._absolute(reverse(f"{name}{suffix}", args=[document.case_id, document.number]))

    def get_url(self, document) -> str:
        return self._reverse(document)

    @extend_schema_field(OfficialScanSerializer(allow_null=True))
    def get_signed_scan(self, document) -> dict | None:
        if not document.has_signed_scan:
            return None
        return {
            "url": self._reverse(document, "-scan"),
            "sha256": document.signed_scan_sha256,
            "content_type": document.signed_scan_content_type,
            "uploaded_at": serializers.DateTimeField().to_representation(document.signed_scan_uploaded_at),
        }

    def get_verify_url(self, document) -> str:
        from .official import verify_path

        return self._absolute(verify_path(document))

    def _absolute(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


def official_documents_data(case, url_name: str, context: dict) -> list:
    """``official_documents`` of a case's API representation (every kind: API.md)."""
    from . import kinds, official

    documents = official.documents_of(kinds.for_model(case).code, case.pk)
    return OfficialDocumentSerializer(
        documents, many=True, context={**context, "official_url": url_name}
    ).data


class ReachInputSerializer(serializers.Serializer):
    """The beneficiaries and placement of a case as a client sends them (``cases.reach``), every field
    optional: what is absent keeps its value (or its default from the unit); the service checks the
    values and answers in the caller's language."""

    municipality = serializers.CharField(required=False, allow_blank=True, max_length=100)
    sector = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="wood, leather, textiles, food, metalworking, agroindustry, dairy",
    )
    dairy_basin = serializers.CharField(
        required=False,
        allow_blank=True,
        help_text="santa_cruz, cochabamba, altiplano, chuquisaca, tarija, beni; only for PROLECHE or dairy",
    )
    beneficiaries_kind = serializers.CharField(required=False, help_text="producers, families or people")
    beneficiaries_women = serializers.IntegerField(required=False, help_text="Women reached (0 or more)")
    beneficiaries_men = serializers.IntegerField(required=False, help_text="Men reached (0 or more)")


class ReachCorrectionSerializer(ReachInputSerializer):
    """A staff correction of a case's beneficiaries or placement, with its reason."""

    reason = serializers.CharField(max_length=2000, allow_blank=True)


# The fields a case's API answer shows of its reach (``beneficiaries_total`` is women plus men).
REACH_OUTPUT_FIELDS = (
    "municipality",
    "sector",
    "dairy_basin",
    "beneficiaries_kind",
    "beneficiaries_women",
    "beneficiaries_men",
    "beneficiaries_total",
)


def reach_input(validated: dict) -> dict:
    """The reach fields of a validated payload, for the services' ``reach=``."""
    from .reach import REACH_FIELDS

    return {field: validated[field] for field in REACH_FIELDS if field in validated}
