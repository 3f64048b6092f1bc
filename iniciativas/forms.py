"""Forms of the applicant's pages. They only parse what the person typed (amounts written the
Bolivian way or the plain way) and carry the errors back next to each field; every rule about
what is allowed lives in ``iniciativas.services``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from cases.money import AmountField
from cases.reach import REACH_FIELDS, BeneficiaryKind, DairyBasin, Sector
from registry.models import Department

from .models import MANY_PER_CASE, Call, DocumentKind
from .selectors import call_list_open

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class CallChoiceField(forms.ModelChoiceField):
    """An open call, shown as ``<code> — <title>``."""

    def label_from_instance(self, obj: Call) -> str:
        return f"{obj.code} — {obj.title}"


class InitiativeForm(forms.Form):
    """The data of a draft. ``with_call=True`` (new initiative) also asks which open call."""

    call = CallChoiceField(
        label=_("Call for proposals"),
        queryset=None,
        empty_label=_("— choose an open call —"),
    )
    title = forms.CharField(
        label=_("Title of the initiative"),
        max_length=200,
        help_text=_("A short name, e.g. «Cooling tank for the association»."),
    )
    summary = forms.CharField(
        label=_("Summary"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("What you will do, with what, for whom and where (a few lines)."),
    )
    department = forms.ChoiceField(
        label=_("Department where it is carried out"), choices=Department.Code.choices
    )
    requested_amount = AmountField(label=_("Amount requested from PRO-BOLIVIA (Bs)"))
    counterpart_amount = AmountField(
        label=_("Your counterpart contribution (Bs)"),
        help_text=_("What the unit itself contributes, in bolivianos, e.g. 150000 or 150.000,00."),
    )

    municipality = forms.CharField(
        label=_("Municipality where it is carried out"),
        max_length=100,
        required=False,
        help_text=_("Your unit's municipality unless it is carried out in another one."),
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
    beneficiaries_women = forms.IntegerField(label=_("Women reached"), min_value=0, required=False)
    beneficiaries_men = forms.IntegerField(label=_("Men reached"), min_value=0, required=False)

    EDITABLE = ("title", "summary", "department", "requested_amount", "counterpart_amount", *REACH_FIELDS)
    BASE = ("title", "summary", "department", "requested_amount", "counterpart_amount")

    def __init__(self, *args, with_call: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if with_call:
            calls = call_list_open().order_by("closes_on", "code")
            call_field = self.fields["call"]
            if not isinstance(call_field, forms.ModelChoiceField):
                raise TypeError("the call field must be a ModelChoiceField")
            call_field.queryset = calls
            if calls.count() == 1 and not self.is_bound:
                only = calls.first()
                if only is not None:
                    self.initial.setdefault("call", only.pk)
        else:
            del self.fields["call"]

    def service_fields(self) -> dict:
        """The cleaned values the draft services take (a reach field left blank: unchanged)."""
        values = {name: self.cleaned_data[name] for name in self.BASE if name in self.cleaned_data}
        for name in REACH_FIELDS:
            value = self.cleaned_data.get(name)
            if value not in (None, ""):
                values[name] = value
        return values

    def create_fields(self) -> dict:
        """The cleaned values ``create_initiative`` takes: the draft's, its reach under ``reach``."""
        values = self.service_fields()
        return {
            **{name: values[name] for name in self.BASE},
            "reach": {name: values[name] for name in REACH_FIELDS if name in values},
        }

    def reach_fields(self) -> list:
        return [self[name] for name in REACH_FIELDS if name in self.fields]


def document_kind_choices(required: list[str]) -> list[tuple[str, StrOrPromise]]:
    """The kinds a document can have, the call's required ones first."""
    labels = dict(DocumentKind.choices)
    first = [(kind, labels[kind]) for kind in required if kind in labels]
    rest = [(kind, label) for kind, label in DocumentKind.choices if kind not in required]
    return [("", _("— choose the kind of document —")), *first, *rest]


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of document"))
    file = forms.FileField(
        label=_("File"),
        allow_empty_file=True,  # the service says why an empty file is refused
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}
        ),
    )

    def __init__(self, *args, required_documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = document_kind_choices(list(required_documents))


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why do you withdraw the initiative?"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reasons for the cancellation"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RecoveryForm(forms.Form):
    amount = AmountField(label=_("Amount recovered (Bs)"))
    reference = forms.CharField(
        label=_("Deposit or receipt reference"),
        max_length=60,
        help_text=_("The bank deposit or receipt number, e.g. DEP-2026-0145."),
    )


DOCUMENT_PREFIX = "document_"


class ObservationAnswerForm(InitiativeForm):
    """The one-page answer to an observation: the answer, the data to correct (only while the case
    is ``observed``: an observation of the approval chain corrects documents only) and one file input
    per document kind the call requires (plus "other"), each optional: a file given for a kind that
    has one is its new version."""

    answer = forms.CharField(
        label=_("Your answer to the observation"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Say what you corrected and where; PRO-BOLIVIA reads it with the case."),
    )

    def __init__(self, *args, with_fields: bool = True, document_kinds=(), present_kinds=(), **kwargs):
        super().__init__(*args, with_call=False, **kwargs)
        if not with_fields:
            for name in self.EDITABLE:
                del self.fields[name]
        labels = dict(DocumentKind.choices)
        for kind in document_kinds:
            label = labels.get(kind, kind)
            self.fields[DOCUMENT_PREFIX + kind] = forms.FileField(
                # A kind the case has: its new version; "other" and a missing kind: a new document.
                label=(
                    _("New version of «%(kind)s»") % {"kind": label}
                    if kind in present_kinds and kind not in MANY_PER_CASE
                    else _("Add «%(kind)s»") % {"kind": label}
                ),
                required=False,
                allow_empty_file=True,  # the service says why an empty file is refused
                widget=forms.ClearableFileInput(
                    attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}
                ),
            )
        self.with_fields = with_fields

    def correction_fields(self) -> list:
        return [self[name] for name in self.EDITABLE if name in self.fields]

    def document_field(self, kind: str):
        return self[DOCUMENT_PREFIX + kind]

    def service_fields(self) -> dict:
        return super().service_fields() if self.with_fields else {}

    def files_by_kind(self) -> dict:
        """``{kind: uploaded file}`` of the document inputs that carry a file."""
        return {
            name.removeprefix(DOCUMENT_PREFIX): value
            for name, value in self.cleaned_data.items()
            if name.startswith(DOCUMENT_PREFIX) and value
        }
