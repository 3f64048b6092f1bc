"""Forms of the compensation pages: they only parse what the person typed; every rule lives in
``compensations.services`` (its field errors are put next to these fields)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.documents import ACCEPT
from cases.reach import REACH_FIELDS, BeneficiaryKind, DairyBasin, Sector


class DeclareForm(forms.Form):
    month = forms.ChoiceField(label=_("Month"))
    litres = forms.CharField(label=_("Litres of raw milk"), max_length=20, help_text=_("e.g. 12500.50"))
    file = forms.FileField(
        label=_("Evidence (milk collection record)"),
        allow_empty_file=True,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
        help_text=_("PDF, JPEG or PNG."),
    )

    def __init__(self, *args, months=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].choices = [("", _("— choose the month —"))] + [
            (f"{m:%Y-%m}", f"{m:%m/%Y}") for m in months
        ]


class AgreementForm(forms.Form):
    unit = forms.ChoiceField(label=_("Dairy company"))
    budget_line = forms.ChoiceField(label=_("Budget line"))
    rate = forms.CharField(label=_("Rate per litre (Bs)"), max_length=20, help_text=_("e.g. 0.40"))
    first_month = forms.CharField(label=_("First month"), max_length=7, help_text=_("YYYY-MM"))
    last_month = forms.CharField(label=_("Last month"), max_length=7, help_text=_("YYYY-MM"))
    ceiling = forms.CharField(label=_("Ceiling (Bs)"), max_length=30, help_text=_("e.g. 150000.00"))
    # Beneficiaries and placement (``cases.reach``): blank takes the dairy company's.
    municipality = forms.CharField(
        label=_("Municipality"),
        max_length=100,
        required=False,
        help_text=_("The dairy company's municipality unless given."),
    )
    sector = forms.ChoiceField(
        label=_("Sector"), choices=[("", _("— the unit's sector —")), *Sector.choices], required=False
    )
    dairy_basin = forms.ChoiceField(
        label=_("Dairy basin"),
        choices=[("", _("— the department's basin, or none —")), *DairyBasin.choices],
        required=False,
        help_text=_("Only for PROLECHE and the dairy sector; by default the basin of the department."),
    )
    beneficiaries_kind = forms.ChoiceField(
        label=_("The beneficiaries are"), choices=BeneficiaryKind.choices, required=False
    )
    # Text, not numbers: the service says what is wrong with a count, in the reader's language.
    beneficiaries_women = forms.CharField(label=_("Women reached"), max_length=20, required=False)
    beneficiaries_men = forms.CharField(label=_("Men reached"), max_length=20, required=False)

    def __init__(self, *args, units=(), lines=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", "—"), *((u.pk, f"{u.name} (NIT {u.tax_id})") for u in units)]
        self.fields["budget_line"].choices = [("", "—"), *lines]

    def reach_fields(self) -> list:
        return [self[name] for name in REACH_FIELDS]

    @staticmethod
    def reach_values(data) -> dict:
        """The reach fields typed (``data``: the POST); a field left blank takes its default."""
        return {
            name: str(data.get(name, "")).strip() for name in REACH_FIELDS if str(data.get(name, "")).strip()
        }


class CloseForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is it closed?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
