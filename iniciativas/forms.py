"""Forms of the applicant's pages. They only parse what the person typed (amounts written the
Bolivian way or the plain way) and carry the errors back next to each field; every rule about
what is allowed lives in ``iniciativas.services``."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from registry.models import Department

from .models import Call, DocumentKind
from .selectors import call_list_open

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

AMOUNT_HELP = _("In bolivianos, e.g. 150000 or 150.000,00.")
# 150.000 / 1.500.000,50 (Bolivian) or 150,000 / 1,500,000.50 (English) or 150000 / 150000,5 / 150000.50
_GROUPED = {".": re.compile(r"^\d{1,3}(\.\d{3})+$"), ",": re.compile(r"^\d{1,3}(,\d{3})+$")}
_PLAIN = re.compile(r"^\d+$")


def parse_amount(text: str) -> Decimal:
    """An amount in bolivianos as people write it: ``150000``, ``150.000``, ``150.000,00``,
    ``150000,50``, ``150000.50``, ``150,000.00`` (with or without ``Bs``). Raises ``ValidationError``."""
    invalid = ValidationError(
        _("Write the amount in bolivianos, e.g. 150000 or 150.000,00."), code="invalid_amount"
    )
    value = re.sub(r"\s+", "", str(text or "")).removeprefix("Bs").removeprefix("bs").removeprefix(".")
    if not value:
        raise invalid
    if value.startswith("-"):
        raise ValidationError(_("The amount cannot be negative."), code="negative_amount")
    last_dot, last_comma = value.rfind("."), value.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        # Both marks: the last one separates the decimals, the other groups thousands.
        decimal_mark = "." if last_dot > last_comma else ","
        group_mark = "," if decimal_mark == "." else "."
        whole, _sep, cents = value.rpartition(decimal_mark)
        if not _GROUPED[group_mark].match(whole) and not _PLAIN.match(whole):
            raise invalid
        whole = whole.replace(group_mark, "")
    elif last_dot >= 0 or last_comma >= 0:
        mark = "." if last_dot >= 0 else ","
        if _GROUPED[mark].match(value):  # 150.000 or 1,500,000: thousands only
            whole, cents = value.replace(mark, ""), ""
        else:
            whole, _sep, cents = value.rpartition(mark)
            if not _PLAIN.match(whole):
                raise invalid
    else:
        whole, cents = value, ""
    if not _PLAIN.match(whole) or (cents and not _PLAIN.match(cents)):
        raise invalid
    if len(cents) > 2:
        raise ValidationError(_("Write at most 2 decimals (centavos)."), code="too_many_decimals")
    try:
        return Decimal(f"{whole}.{cents or '0'}").quantize(Decimal("0.01"))
    except InvalidOperation as exc:  # pragma: no cover - the patterns above only let digits through
        raise invalid from exc


def format_amount(value) -> str:
    """``Decimal("150000")`` → ``150.000,00`` (how the form shows a stored amount)."""
    if value in (None, ""):
        return ""
    if not isinstance(value, Decimal):
        return str(value)
    whole, _sep, cents = f"{value.quantize(Decimal('0.01')):f}".partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    return ".".join([whole, *groups]) + "," + cents


class AmountField(forms.CharField):
    """A money amount typed by a person; cleaned to a ``Decimal`` (never a float)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", AMOUNT_HELP)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"inputmode": "decimal", "autocomplete": "off", "size": 16, "maxlength": 30}
            ),
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return format_amount(value) if isinstance(value, Decimal) else value

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        if len(value) > 30:
            raise ValidationError(
                _("Write the amount in bolivianos, e.g. 150000 or 150.000,00."), code="invalid_amount"
            )
        return parse_amount(value)


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

    EDITABLE = ("title", "summary", "department", "requested_amount", "counterpart_amount")

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
        """The cleaned values the draft services take."""
        return {name: self.cleaned_data[name] for name in self.EDITABLE}


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


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ``ValidationError`` next to the form's fields (the rest on top of the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            messages = [m for e in errors for m in e.messages]
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)
