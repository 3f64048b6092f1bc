"""API shapes of the budget (API.md §Budget). Money is a decimal string with 2 places."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from cases.serializers import MoneyField

from .models import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, BudgetMovement


class SubProgramSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    program = serializers.CharField(source="program.code", read_only=True, help_text=_("Program code"))
    code = serializers.CharField(max_length=20, label=_("code"))
    name = serializers.CharField(max_length=200, label=_("name"))


class ProgramSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(max_length=20, label=_("code"))
    name = serializers.CharField(max_length=200, label=_("name"))
    subprograms = SubProgramSerializer(many=True, read_only=True, help_text=_("Sub-programs and projects"))


class FundingSourceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    code = serializers.CharField(max_length=10, label=_("code"))
    name = serializers.CharField(max_length=200, label=_("name"))


class BudgetLineSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    fiscal_year = serializers.IntegerField(
        min_value=MIN_FISCAL_YEAR, max_value=MAX_FISCAL_YEAR, label=_("fiscal year")
    )
    program = serializers.CharField(source="program.code", read_only=True, help_text=_("Program code"))
    source = serializers.CharField(source="source.code", read_only=True, help_text=_("Source code"))
    program_name = serializers.CharField(source="program.name", read_only=True)
    source_name = serializers.CharField(source="source.name", read_only=True)
    da_ue = serializers.CharField(read_only=True, help_text=_("SIGEP DA/UE; empty when not given"))
    subprogram = serializers.CharField(
        source="subprogram.code",
        read_only=True,
        allow_null=True,
        default=None,
        help_text=_("Sub-program or project code within the program; null when none"),
    )
    subprogram_name = serializers.CharField(
        source="subprogram.name", read_only=True, allow_null=True, default=None
    )
    activity = serializers.CharField(read_only=True, help_text=_("SIGEP activity; empty when not given"))
    funder = serializers.CharField(
        read_only=True, help_text=_("SIGEP organismo financiador; empty when not given")
    )
    object_of_expenditure = serializers.CharField(
        read_only=True, help_text=_("SIGEP objeto del gasto (partida); empty when not given")
    )
    amount_in_force = MoneyField(min_value=0, label=_("amount in force"))
    reserved = MoneyField(read_only=True)
    committed = MoneyField(read_only=True)
    executed = MoneyField(read_only=True)
    paid = MoneyField(read_only=True)
    available = MoneyField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)


class BudgetLineCreateSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField(
        min_value=MIN_FISCAL_YEAR, max_value=MAX_FISCAL_YEAR, label=_("fiscal year")
    )
    program = serializers.CharField(max_length=20, label=_("program"), help_text=_("Program code"))
    source = serializers.CharField(max_length=10, label=_("funding source"), help_text=_("Source code"))
    amount_in_force = MoneyField(min_value=0, label=_("amount in force"))
    # The SIGEP fields, optional; checked by the service (codes: letters, digits, "-", "_", "/", ".").
    da_ue = serializers.CharField(
        required=False, allow_blank=True, max_length=20, label=_("DA/UE"), help_text=_("e.g. 01-0001")
    )
    subprogram = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=20,
        label=_("sub-program or project"),
        help_text=_("Code of one of the program's sub-programs or projects"),
    )
    activity = serializers.CharField(required=False, allow_blank=True, max_length=20, label=_("activity"))
    funder = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        label=_("funding organization"),
        help_text=_("Organismo financiador, e.g. 111"),
    )
    object_of_expenditure = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        label=_("object of expenditure"),
        help_text=_("Objeto del gasto (partida), e.g. 25220"),
    )


class ExpenditureSerializer(serializers.Serializer):
    amount = MoneyField(min_value=0, label=_("amount"))
    date = serializers.DateField(label=_("date"))
    description = serializers.CharField(max_length=500, label=_("description"))
    c31_reference = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=30,
        label=_("C-31 reference"),
        help_text=_("Number of the SIGEP expense voucher (C-31)"),
    )


class MovementSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.ChoiceField(choices=BudgetMovement.Kind.choices, read_only=True)
    amount = MoneyField(read_only=True)
    case = serializers.CharField(source="case_code", read_only=True)
    date = serializers.DateField(read_only=True, allow_null=True)
    description = serializers.CharField(read_only=True)
    c31_reference = serializers.CharField(
        read_only=True, help_text=_("Number of the SIGEP expense voucher (C-31); empty when none")
    )
    actor = serializers.CharField(source="actor.username", read_only=True)
    at = serializers.DateTimeField(read_only=True)


class ExpenditureResultSerializer(MovementSerializer):
    line = BudgetLineSerializer(read_only=True)
