"""Forms of the call configuration pages (``iniciativas.call_views``). They parse what a person typed
(the counterpart share as a percentage, the rubric and the tranche plan as repeated rows) and carry
the service's messages back next to each field; every rule lives in ``iniciativas.call_services``."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from budget.models import Program
from cases.money import AmountField

from .models import Call, DocumentKind, TrancheUnlock

RUBRIC_EXTRA_ROWS = 2
TRANCHE_EXTRA_ROWS = 2
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProgramChoiceField(forms.ModelChoiceField):
    """A program, shown as ``<code> — <name>``."""

    def label_from_instance(self, obj: Program) -> str:
        return f"{obj.code} — {obj.name}"


class CallForm(forms.Form):
    """The call's own fields; ``with_code=True`` (a new call) also asks for its code."""

    code = forms.CharField(
        label=_("Code"),
        max_length=30,
        help_text=_("Capital letters, digits and hyphens, e.g. PROLECHE-2026-02. It cannot change later."),
    )
    title = forms.CharField(label=_("Title"), max_length=200)
    program = ProgramChoiceField(
        label=_("Program"),
        queryset=Program.objects.none(),
        to_field_name="code",
        empty_label=_("— choose the program —"),
    )
    opens_on = forms.DateField(label=_("Opens on"), widget=DATE_WIDGET)
    closes_on = forms.DateField(
        label=_("Closes on"),
        widget=DATE_WIDGET,
        help_text=_("The call takes initiatives from the day it opens to the day it closes, both included."),
    )
    max_amount = AmountField(label=_("Ceiling per initiative (Bs)"))
    counterpart_percent = forms.DecimalField(
        label=_("Minimum counterpart (% of the total cost)"),
        min_value=0,
        max_value=100,
        decimal_places=0,
        help_text=_("E.g. 50: the applicant contributes at least half of the cost."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "min": 0, "max": 100}),
    )
    required_documents = forms.MultipleChoiceField(
        label=_("Documents a submission needs"),
        choices=DocumentKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    evaluators = forms.IntegerField(
        label=_("Independent evaluators per initiative"),
        min_value=1,
        max_value=5,
        widget=forms.NumberInput(attrs={"min": 1, "max": 5}),
    )
    threshold = forms.DecimalField(
        label=_("Pass mark (points)"),
        decimal_places=2,
        help_text=_("The mean score an initiative needs to pass the technical evaluation."),
    )
    disagreement_points = forms.DecimalField(
        label=_("Disagreement that calls a third evaluation (points)"),
        decimal_places=2,
        initial=20,
    )
    observation_days = forms.IntegerField(
        label=_("Days to answer an observation (business days)"),
        min_value=1,
        max_value=90,
        widget=forms.NumberInput(attrs={"min": 1, "max": 90}),
    )

    def __init__(self, *args, programs, with_code: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        program = self.fields["program"]
        if not isinstance(program, forms.ModelChoiceField):
            raise TypeError("the program field must be a ModelChoiceField")
        program.queryset = programs
        if not with_code:
            del self.fields["code"]

    def service_values(self) -> dict:
        """The cleaned fields under the service's names (the share as a fraction)."""
        data = dict(self.cleaned_data)
        percent = data.pop("counterpart_percent")
        data["min_counterpart_share"] = (Decimal(percent) / 100).quantize(Decimal("0.01"))
        return data

    @staticmethod
    def initial_from(call: Call) -> dict:
        return {
            "title": call.title,
            "program": call.program,
            "opens_on": call.opens_on,
            "closes_on": call.closes_on,
            "max_amount": call.max_amount,
            "counterpart_percent": (call.min_counterpart_share * 100).quantize(Decimal(1)),
            "required_documents": list(call.required_documents),
            "evaluators": call.evaluators,
            "threshold": call.threshold.normalize(),
            "disagreement_points": call.disagreement_points.normalize(),
            "observation_days": call.observation_days,
        }


class CriterionForm(forms.Form):
    """One criterion of the rubric; a row left blank is ignored."""

    code = forms.CharField(
        label=_("Code"),
        max_length=40,
        required=False,
        help_text=_("Lowercase, e.g. relevance."),
    )
    label = forms.CharField(label=_("Criterion"), max_length=200, required=False)
    max = forms.IntegerField(label=_("Maximum points"), min_value=1, max_value=100, required=False)
    text = forms.CharField(
        label=_("What the evaluator looks at"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class TrancheForm(forms.Form):
    """One tranche of the plan; a row left blank is ignored."""

    percent = forms.DecimalField(
        label=_("Percentage"), min_value=0, max_value=100, decimal_places=2, required=False
    )
    unlocked_by = forms.ChoiceField(label=_("Unlocked by"), choices=TrancheUnlock.choices, required=False)


RubricFormSet = forms.formset_factory(CriterionForm, extra=RUBRIC_EXTRA_ROWS, max_num=20, absolute_max=20)
TrancheFormSet = forms.formset_factory(TrancheForm, extra=TRANCHE_EXTRA_ROWS, max_num=10, absolute_max=10)


def rubric_rows(formset) -> list[dict]:
    """The rubric as the service takes it: the rows someone filled in, in order."""
    rows = []
    for form in formset.forms:
        data = form.cleaned_data if form.is_valid() else {}
        if any(data.get(k) not in (None, "") for k in ("code", "label", "max", "text")):
            rows.append(
                {k: data.get(k) if data.get(k) is not None else "" for k in ("code", "label", "max", "text")}
            )
    return rows


def tranche_rows(formset) -> tuple[list, list[str]]:
    """The tranche plan as the service takes it: (percentages, what unlocks each)."""
    percents, unlocks = [], []
    for form in formset.forms:
        data = form.cleaned_data if form.is_valid() else {}
        if data.get("percent") is not None:
            percents.append(data["percent"])
            unlocks.append(data.get("unlocked_by") or "")
    return percents, unlocks


def rubric_initial(call: Call) -> list[dict]:
    return [
        {
            "code": c.get("code", ""),
            "label": c.get("label", ""),
            "max": c.get("max"),
            "text": c.get("text", ""),
        }
        for c in call.rubric
    ]


def tranche_initial(call: Call) -> list[dict]:
    return [
        {"percent": Decimal(str(p)).normalize(), "unlocked_by": call.unlock_of(n)}
        for n, p in enumerate(call.tranche_plan, start=1)
    ]
