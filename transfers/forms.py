"""Forms of the transfer pages (shape only: the services validate the values)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.documents import ACCEPT

from .models import DocumentKind


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of document"),
        choices=[("", _("— choose the kind of document —")), *DocumentKind.choices],
    )
    file = forms.FileField(
        label=_("File"),
        allow_empty_file=True,  # the service says why an empty file is refused
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
