"""API shapes of the registry (API.md §Registry). Serializers parse and render; services validate."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Department, Unit, validate_nit


class DepartmentField(serializers.ChoiceField):
    """One of the nine department codes (``LPZ``…``PND``), rendered from a ``Department``."""

    def __init__(self, **kwargs):
        super().__init__(choices=Department.Code.choices, **kwargs)

    def to_representation(self, value):
        if isinstance(value, Department):
            return value.code
        return super().to_representation(value)


class UnitSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    tax_id = serializers.CharField(max_length=20, label=_("NIT"), validators=[validate_nit])
    name = serializers.CharField(max_length=200, label=_("name"))
    kind = serializers.ChoiceField(choices=Unit.Kind.choices, label=_("kind"))
    department = DepartmentField(label=_("department"))
    municipality = serializers.CharField(max_length=100, label=_("municipality"))
    sector = serializers.ChoiceField(choices=Unit.Sector.choices, label=_("sector"))
    registration_valid_until = serializers.DateField(read_only=True)
    registration_valid = serializers.BooleanField(source="registration_is_valid", read_only=True)
    registered_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, label=_("username"))
    password = serializers.CharField(
        max_length=4096, write_only=True, trim_whitespace=False, style={"input_type": "password"}
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True)
