"""Forms of the budget pages: parse what a person typed; the services validate and decide."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.money import AmountField

from .models import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, FundingSource, Program, SubProgram


class LineCreateForm(forms.Form):
    fiscal_year = forms.IntegerField(
        label=_("Fiscal year"), min_value=MIN_FISCAL_YEAR, max_value=MAX_FISCAL_YEAR
    )
    program = forms.ModelChoiceField(
        label=_("Program"),
        queryset=Program.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("— choose the program —"),
    )
    source = forms.ModelChoiceField(
        label=_("Funding source"),
        queryset=FundingSource.objects.order_by("code"),
        to_field_name="code",
        empty_label=_("— choose the funding source —"),
    )
    amount_in_force = AmountField(label=_("Amount in force (Bs)"))
    # The SIGEP fields: optional; the service checks them (and that the sub-program is the program's).
    subprogram = forms.ModelChoiceField(
        label=_("Sub-program or project"),
        queryset=SubProgram.objects.select_related("program").order_by("program__code", "code"),
        required=False,
        empty_label=_("— none —"),
    )
    da_ue = forms.CharField(label=_("DA/UE"), max_length=20, required=False, help_text=_("E.g. 01-0001"))
    activity = forms.CharField(label=_("Activity"), max_length=20, required=False)
    funder = forms.CharField(
        label=_("Funding organization"),
        max_length=20,
        required=False,
        help_text=_("Organismo financiador, e.g. 111"),
    )
    object_of_expenditure = forms.CharField(
        label=_("Object of expenditure"),
        max_length=20,
        required=False,
        help_text=_("Objeto del gasto (partida), e.g. 25220"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].label_from_instance = lambda p: f"{p.code} — {p.name}"
        self.fields["source"].label_from_instance = lambda s: f"{s.code} — {s.name}"
        self.fields["subprogram"].label_from_instance = lambda s: f"{s} — {s.name}"


class LineModifyForm(forms.Form):
    amount_in_force = AmountField(label=_("New amount in force (Bs)"))
    reason = forms.CharField(
        label=_("Reason (budget modification document)"),
        max_length=500,
        help_text=_("E.g. the resolution that approves the budget modification."),
    )


class ExpenditureForm(forms.Form):
    amount = AmountField(label=_("Amount (Bs)"))
    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    description = forms.CharField(
        label=_("Description"),
        max_length=500,
        help_text=_("What was paid: salaries, services, materials…"),
    )
    c31_reference = forms.CharField(
        label=_("C-31 number (SIGEP expense voucher)"), max_length=30, required=False
    )
