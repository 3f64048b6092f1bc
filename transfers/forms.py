"""Forms of the transfer pages (shape only: the services validate the values)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.documents import ACCEPT

from .models import DocumentKind


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind of document"),
        choices=[("", _("— choose the kind of document —")), *DocumentKind.choices],
    )

    def offer(self, kinds) -> DocumentForm:
        """Offer only ``kinds`` (those the person may upload now); any kind is still accepted, so
        that the service says why one that is not offered is refused."""
        offered = [(k, label) for k, label in DocumentKind.choices if k in kinds]
        self.fields["kind"].widget.choices = [("", _("— choose the kind of document —")), *offered]
        return self

    file = forms.FileField(
        label=_("File"),
        allow_empty_file=True,  # the service says why an empty file is refused
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
