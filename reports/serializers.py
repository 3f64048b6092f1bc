"""API shape of the budget-execution report (API.md §Reports); the JSON download and the management
command write the same document. Money is a decimal string with 2 places (``"1500.00"``), the
percentage a decimal string with one (``"52.6"``, ``null`` when nothing is in force)."""

from decimal import Decimal
from typing import overload

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class MoneyField(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(max_digits=18, decimal_places=2, coerce_to_string=True, read_only=True, **kwargs)


class PercentField(serializers.DecimalField):
    def __init__(self, **kwargs):
        kwargs.setdefault(
            "help_text",
            _("Executed / in force x 100, one decimal, rounded half-up; null when nothing is in force"),
        )
        kwargs.setdefault("max_digits", 5)
        super().__init__(decimal_places=1, coerce_to_string=True, read_only=True, allow_null=True, **kwargs)


class ExecutionFiguresSerializer(serializers.Serializer):
    in_force = MoneyField(help_text=_("Budget in force (presupuesto vigente)"))
    executed = MoneyField(help_text=_("Executed (devengado)"))
    balance = MoneyField(help_text=_("In force minus executed (saldo)"))
    percent = PercentField()


class SourceExecutionSerializer(ExecutionFiguresSerializer):
    source = serializers.CharField(source="code", read_only=True, help_text=_("Source code"))
    name = serializers.CharField(read_only=True)

    class Meta:
        fields = ("source", "name", "in_force", "executed", "balance", "percent")

    def get_fields(self):
        fields = super().get_fields()
        return {name: fields[name] for name in self.Meta.fields}


class SubProgramExecutionSerializer(ExecutionFiguresSerializer):
    subprogram = serializers.CharField(
        source="code",
        read_only=True,
        allow_null=True,
        help_text=_("Sub-program or project code; null for the program's lines that name none"),
    )
    name = serializers.CharField(read_only=True)

    class Meta:
        fields = ("subprogram", "name", "in_force", "executed", "balance", "percent")

    def get_fields(self):
        fields = super().get_fields()
        return {name: fields[name] for name in self.Meta.fields}

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["subprogram"] = data["subprogram"] or None
        return data


class ProgramExecutionSerializer(ExecutionFiguresSerializer):
    program = serializers.CharField(source="code", read_only=True, help_text=_("Program code"))
    name = serializers.CharField(read_only=True)
    subprograms = SubProgramExecutionSerializer(
        many=True,
        read_only=True,
        help_text=_(
            "Drill-down: one row per sub-program or project, adding up to the program's row; "
            "empty when none of its lines names one"
        ),
    )

    class Meta:
        fields = ("program", "name", "in_force", "executed", "balance", "percent", "subprograms")

    def get_fields(self):
        fields = super().get_fields()
        return {name: fields[name] for name in self.Meta.fields}


class BudgetExecutionSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField(read_only=True)
    closed = serializers.BooleanField(
        read_only=True, help_text=_("The fiscal year is over; otherwise the figures are provisional")
    )
    generated_at = serializers.DateTimeField(read_only=True)
    ledger_reconciles = serializers.BooleanField(
        read_only=True, help_text=_("Every budget line equals the sum of its ledger movements")
    )
    by_source = SourceExecutionSerializer(many=True, read_only=True)
    by_program = ProgramExecutionSerializer(many=True, read_only=True)
    total = ExecutionFiguresSerializer(read_only=True)


def report_document(report) -> dict:
    """The report as the JSON document of the API (plain types, ready for ``json.dumps``)."""
    return dict(BudgetExecutionSerializer(report).data)


# --- Goals and their attainment -------------------------------------------------------------------------


@overload
def figure_text(value: None, money: bool) -> None: ...
@overload
def figure_text(value: int | Decimal, money: bool) -> str: ...
def figure_text(value: int | Decimal | None, money: bool) -> str | None:
    """A count as ``"12"``, an amount as ``"97500.00"``; ``None`` stays ``None``."""
    if value is None:
        return None
    return f"{value:.2f}" if money else f"{value:.0f}"


class IndicatorSerializer(serializers.Serializer):
    indicator = serializers.CharField(read_only=True, help_text=_("Indicator code (stable)"))
    name = serializers.CharField(source="label", read_only=True)
    unit = serializers.SerializerMethodField(help_text=_("count, or bs for amounts in bolivianos"))
    achieved = serializers.SerializerMethodField(
        help_text=_("What the cases achieved in the year: a whole number, or Bs with 2 decimals")
    )
    target = serializers.SerializerMethodField(
        help_text=_("The goal of the annual plan; null when none was set")
    )
    percent = PercentField(
        max_digits=16,
        help_text=_("Achieved / target x 100, one decimal, rounded half-up; null without a target"),
    )
    goal = serializers.CharField(read_only=True, help_text=_("The goal as the annual plan words it"))

    def get_unit(self, row) -> str:
        return "bs" if row.is_money else "count"

    def get_achieved(self, row) -> str:
        return figure_text(row.achieved, row.is_money)

    def get_target(self, row) -> str | None:
        return figure_text(row.target, row.is_money)


def goal_figure(value) -> str | None:
    """A figure of a goal as a plain decimal string: ``"1327"``, ``"2.50"``; ``None`` stays ``None``."""
    if value is None:
        return None
    value = Decimal(value)
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value:.2f}"


class GoalResultSerializer(serializers.Serializer):
    """A goal of the annual plan (POA) with its result, as the attainment report gives it."""

    id = serializers.IntegerField(read_only=True)
    indicator = serializers.CharField(read_only=True, help_text=_("The goal as the annual plan words it"))
    unit = serializers.CharField(read_only=True)
    baseline = serializers.SerializerMethodField(help_text=_("Baseline; null when unknown"))
    target = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField(
        help_text=_(
            "Computed from the cases, or the sum of the progress entered; null while none was entered"
        )
    )
    percent = PercentField(
        max_digits=16,
        help_text=_("Result / target x 100, one decimal, rounded half-up; null without a result"),
    )
    computed_from = serializers.SerializerMethodField(
        help_text=_("The figure of the case data it is computed from; null: progress entered by hand")
    )
    progress_entries = serializers.IntegerField(source="entries", read_only=True)
    text = serializers.CharField(
        read_only=True, help_text=_("As the report prints it: 1.327 de 1.500 — 88,5 %")
    )

    def get_baseline(self, row) -> str | None:
        return goal_figure(row.baseline)

    def get_target(self, row) -> str:
        return goal_figure(row.target) or ""

    def get_result(self, row) -> str | None:
        return goal_figure(row.result)

    def get_computed_from(self, row) -> str | None:
        return row.computed_from or None


class ProgramAttainmentSerializer(serializers.Serializer):
    program = serializers.CharField(source="code", read_only=True, help_text=_("Program code"))
    name = serializers.CharField(read_only=True)
    indicators = IndicatorSerializer(source="rows", many=True, read_only=True)
    goals = GoalResultSerializer(many=True, read_only=True)


class TotalAttainmentSerializer(serializers.Serializer):
    name = serializers.CharField(read_only=True)
    indicators = IndicatorSerializer(source="rows", many=True, read_only=True)
    goals = GoalResultSerializer(many=True, read_only=True)


class AttainmentSerializer(serializers.Serializer):
    fiscal_year = serializers.IntegerField(read_only=True)
    closed = serializers.BooleanField(
        read_only=True, help_text=_("The fiscal year is over; otherwise the figures are provisional")
    )
    generated_at = serializers.DateTimeField(read_only=True)
    by_program = ProgramAttainmentSerializer(many=True, read_only=True)
    total = TotalAttainmentSerializer(read_only=True)


def attainment_document(report) -> dict:
    """The attainment report as the JSON document of the API (plain types, ready for ``json.dumps``)."""
    return dict(AttainmentSerializer(report).data)


class BeneficiaryGroupSerializer(serializers.Serializer):
    key = serializers.CharField(
        read_only=True,
        help_text=_("Department code, municipality, dairy basin or sector code; empty: not placed there"),
    )
    name = serializers.CharField(read_only=True)
    cases = serializers.IntegerField(read_only=True, help_text=_("Cases paid or delivered in the year"))
    women = serializers.IntegerField(read_only=True)
    men = serializers.IntegerField(read_only=True)
    total = serializers.IntegerField(read_only=True, help_text=_("Women plus men"))
    amount_paid = MoneyField(help_text=_("Paid to these beneficiaries in the year (Bs)"))


class BeneficiariesSerializer(serializers.Serializer):
    """``GET /api/v1/reports/beneficiaries/`` (shape for the schema; ``exports.beneficiaries_document``
    writes it)."""

    fiscal_year = serializers.IntegerField(read_only=True)
    closed = serializers.BooleanField(read_only=True)
    generated_at = serializers.DateTimeField(read_only=True)
    by = serializers.ChoiceField(
        choices=["department", "municipality", "dairy_basin", "sector"], read_only=True
    )
    program = serializers.CharField(read_only=True, allow_null=True)
    groups = BeneficiaryGroupSerializer(many=True, read_only=True)
    total = BeneficiaryGroupSerializer(read_only=True)
