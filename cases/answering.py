"""The applicant's one-page answer to an observation, shared by the case kinds whose pages have none
of their own (transfers, registrations; initiatives keep theirs, which also corrects the case's
data): the observation, the documents beside it with one optional file input per kind, the answer.
The page is ``templates/_observation_answer.html``; its view and its service are the engine's
(``workflows.answering``), each kind naming its own case, permission, service and URLs."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

DOCUMENT_PREFIX = "document_"
ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


class AnswerForm(forms.Form):
    """The answer and one optional file per document kind offered (``kinds``: ``(code, label)``);
    a file for a kind the case already has (``present``) is its new version, the earlier one stays
    on record; a kind the case keeps many of (``many``: "other") is always added, never versioned."""

    answer = forms.CharField(
        label=_("Your answer to the observation"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Say what you corrected and where; PRO-BOLIVIA reads it with the case."),
    )

    def __init__(self, *args, kinds=(), present=(), many=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.kinds = list(kinds)
        for kind, label in self.kinds:
            self.fields[DOCUMENT_PREFIX + kind] = forms.FileField(
                label=(
                    _("New version of «%(kind)s»") % {"kind": label}
                    if kind in present and kind not in many
                    else _("Add «%(kind)s»") % {"kind": label}
                ),
                required=False,
                allow_empty_file=True,  # the service says why an empty file is refused
                widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
            )

    def files_by_kind(self) -> dict:
        """``{kind: uploaded file}`` of the document inputs that carry a file."""
        return {
            name.removeprefix(DOCUMENT_PREFIX): value
            for name, value in self.cleaned_data.items()
            if name.startswith(DOCUMENT_PREFIX) and value
        }

    def document_rows(self, documents) -> list[dict]:
        """One row per kind offered: its label, its input and its versions (newest first)."""
        by_kind: dict[str, list] = {}
        for doc in documents:
            by_kind.setdefault(doc.kind, []).append(doc)
        return [
            {
                "label": label,
                "field": self[DOCUMENT_PREFIX + kind],
                "versions": sorted(by_kind.get(kind, []), key=lambda d: (d.uploaded_at, d.pk), reverse=True),
            }
            for kind, label in self.kinds
        ]
