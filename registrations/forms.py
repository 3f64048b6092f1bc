"""Forms of the registration pages: they only parse what the person typed; every rule lives in
``registrations.services``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.documents import ACCEPT
from registry.models import Department, Unit

from .models import DocumentKind


class NewUnitForm(forms.Form):
    tax_id = forms.CharField(label=_("NIT"), max_length=12, help_text=_("7 to 12 digits."))
    name = forms.CharField(label=_("Name (razón social)"), max_length=200)
    kind = forms.ChoiceField(label=_("Legal form"), choices=Unit.Kind.choices)
    department = forms.ChoiceField(label=_("Department"), choices=Department.Code.choices)
    municipality = forms.CharField(label=_("Municipality"), max_length=100)
    sector = forms.ChoiceField(label=_("Sector"), choices=Unit.Sector.choices)


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of document"))
    file = forms.FileField(
        label=_("File"), allow_empty_file=True, widget=forms.ClearableFileInput(attrs={"accept": ACCEPT})
    )

    def __init__(self, *args, required=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(DocumentKind.choices)
        first = [(k, labels[k]) for k in required if k in labels]
        rest = [(k, label) for k, label in DocumentKind.choices if k not in required]
        self.fields["kind"].choices = [("", _("— choose the kind of document —")), *first, *rest]


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you withdraw it?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
