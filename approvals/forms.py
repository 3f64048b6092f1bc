"""Forms of the task inbox pages. They parse what the person typed and carry errors back next to
each field; every rule about who may decide what, and what a step needs, lives in
``approvals.services.complete_task`` and the step specs (``approvals.steps``), which the form
only mirrors to build its fields (the same ``Field`` specs the API serves)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, TypedDict

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cases import params
from cases.money import AmountField

from .models import step_choices
from .selectors import TaskFilters
from .steps import Decision, Field

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

DECISION_LABELS = {
    Decision.APPROVE: _("Approve"),
    Decision.OBSERVE: _("Observe"),
    Decision.REJECT: _("Reject"),
}
# String fields that hold a short reference (a number, a code) get a one-line input; the others
# (opinions, answers, summaries) a text area.
_SHORT_TEXT_SUFFIXES = ("number", "reference", "record", "code", "serial")


class TaskFilterForm(forms.Form):
    """The filters of an inbox page (GET). Program and department choices are the rows that exist
    (``selectors.inbox_reference``), never one option per task."""

    case = forms.CharField(label=_("Case code"), required=False, max_length=32)
    step = forms.ChoiceField(label=_("Step"), required=False)
    program = forms.TypedChoiceField(label=_("Program"), required=False, coerce=int, empty_value=None)
    department = forms.TypedChoiceField(label=_("Department"), required=False, coerce=int, empty_value=None)
    due_before = forms.DateField(
        label=_("Due on or before"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)

    def __init__(self, *args, programs=(), departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        everything = [("", _("All"))]
        self.fields["step"].choices = everything + step_choices()
        self.fields["program"].choices = everything + [(str(pk), label) for pk, label in programs]
        self.fields["department"].choices = everything + [(str(pk), label) for pk, label in departments]
        self.fields["case"].widget.attrs.update({"placeholder": "INI-2026-000123", "autocomplete": "off"})

    def filters(self) -> TaskFilters:
        """The valid filters (an invalid one is ignored and reported next to its field)."""
        if not self.is_bound:
            return TaskFilters()
        self.is_valid()
        data = {k: v for k, v in getattr(self, "cleaned_data", {}).items() if k not in self.errors}
        return TaskFilters(
            case=(data.get("case") or "").strip().upper(),
            step=data.get("step") or "",
            program=data.get("program"),
            department=data.get("department"),
            due_before=data.get("due_before"),
            overdue=bool(data.get("overdue")),
        )

    @property
    def active(self) -> bool:
        f = self.filters()
        return f != TaskFilters()


class ReassignForm(forms.Form):
    """Reassign an escalated task: the colleague (the candidates who may work it are offered; the
    service checks whoever is named) and the reason, which goes to the audit trail."""

    user = forms.TypedChoiceField(label=_("Give the task to"), required=False, coerce=int, empty_value=None)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Required: the audit trail records it with the reassignment."),
    )

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(u.pk), u.get_full_name() or u.get_username()) for u in candidates]
        self.fields["user"].choices = [("", "—"), *choices]
        self.fields["user"].valid_value = self._any_number  # a crafted POST reaches the service

    @staticmethod
    def _any_number(value) -> bool:
        return params.is_number(value)

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for key, messages in error.message_dict.items():
            self.add_error(key if key in self.fields else None, messages)


class ConflictDeclarationForm(forms.Form):
    """The declaration of conflict of interest made before a case's documents open
    (``services.declare_conflict`` checks and records it)."""

    NONE, CONFLICT = "none", "conflict"
    answer = forms.ChoiceField(
        label=_("Your declaration"),
        widget=forms.RadioSelect,
        choices=[
            (NONE, _("I have no conflict of interest with this case")),
            (CONFLICT, _("I have a conflict of interest with this case")),
        ],
        error_messages={"required": _("Choose one of the two declarations.")},
    )
    reason = forms.CharField(
        label=_("Reason for the conflict"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Only if you declare a conflict: e.g. a family tie, a business relation or advice given "
            "to the applicant. The task goes back to your colleagues."
        ),
    )

    @property
    def conflict(self) -> bool:
        return self.cleaned_data.get("answer") == self.CONFLICT

    def add_service_errors(self, error: ValidationError) -> None:
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for key, messages in error.message_dict.items():
            self.add_error("reason" if key == "reason" else None, messages)


class DecisionForm(forms.Form):
    """The decision on a task: the decision (limited to the step's), a comment, and one input per
    ``Field`` of the step. Inputs are named ``data__<field>`` (list items
    ``data__<list>__<n>__<item>``) so the service's error keys (``data.<field>``,
    ``data.<list>[n].<item>``) land next to the right input.

    Nothing here decides what is required: the fields stay optional for the form and the service
    validates (the same rules and messages as the API)."""

    decision = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect)
    comment = forms.CharField(
        label=_("Comment and reasons"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Required to observe or reject: the applicant and the audit trail will read it."),
    )

    def __init__(self, *args, step_fields: list[Field], decisions, score_fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.step_fields = list(step_fields)
        # The fields of a rubric (``steps.Scoring``): the page groups them with their running total.
        self.score_fields = frozenset(score_fields)
        self.decision_choices = [(d, DECISION_LABELS[d]) for d in decisions if d in DECISION_LABELS]
        decision_field = self.fields["decision"]
        if not isinstance(decision_field, forms.ChoiceField):
            raise TypeError("the decision field must be a ChoiceField")
        decision_field.choices = self.decision_choices
        self.single_decision = len(self.decision_choices) == 1
        if not {Decision.OBSERVE, Decision.REJECT} & set(decisions):
            # Nothing to give reasons for: the comment is a plain, optional note.
            self.fields["comment"].label = _("Comment (optional)")
            self.fields["comment"].help_text = ""
        if self.single_decision:
            self.fields["decision"].widget = forms.HiddenInput()
            self.fields["decision"].initial = self.decision_choices[0][0]
        # what the template renders, in order: (spec, input name | list of item rows of input names)
        self.rows: list[tuple[Field, str | list[list[str]]]] = []
        for spec in self.step_fields:
            if spec.type == "list":
                count = max(len(spec.default or []), 1)
                if spec.max is not None:
                    count = min(count, int(spec.max))
                item_rows = []
                for n in range(count):
                    defaults = spec.default[n] if spec.default and n < len(spec.default) else {}
                    names = []
                    for item in spec.items or []:
                        name = f"data__{spec.name}__{n}__{item.name}"
                        self.fields[name] = _django_field(item, (defaults or {}).get(item.name))
                        names.append(name)
                    item_rows.append(names)
                self.rows.append((spec, item_rows))
            else:
                name = f"data__{spec.name}"
                self.fields[name] = _django_field(spec, spec.default)
                if is_fixed(spec):
                    # Nothing to choose (the tranche that is due, its amount): shown as text, sent as is.
                    self.fields[name].widget = forms.HiddenInput()
                    self.fields[name].help_text = ""
                self.rows.append((spec, name))

    # --- what the template iterates ------------------------------------------------------------
    def step_inputs(self):
        out = []
        for spec, target in self.rows:
            item = {
                "spec": spec,
                "score": spec.name in self.score_fields,
                # With a single decision there is nothing to choose: no "only for" hint.
                "applies_to": []
                if self.single_decision
                else [str(DECISION_LABELS.get(d, d)) for d in spec.for_decisions or ()],
                "decisions": None if self.single_decision else spec.for_decisions,
            }
            if isinstance(target, str):
                item["field"] = self[target]
                if is_fixed(spec):
                    item["fixed"] = fixed_text(spec)
            else:
                item["rows"] = [[self[name] for name in names] for names in target]
            out.append(item)
        return out

    def score_total(self) -> int:
        """The sum of the scores typed so far (what the page shows without JavaScript)."""
        if not self.is_bound:
            return sum(int(self.fields[f"data__{n}"].initial or 0) for n in self.score_fields)
        total = 0
        for name in self.score_fields:
            raw = self.data.get(f"data__{name}", "")
            try:
                total += int(str(raw).strip() or 0)
            except ValueError:
                continue
        return total

    # --- what the service receives ------------------------------------------------------------
    def step_data(self, decision: str) -> dict:
        """The data of the fields that apply to ``decision``, as the API would send it (decimal
        strings, ISO dates); empty inputs are left out so the service reports what is missing."""
        data = {}
        for spec, target in self.rows:
            if spec.for_decisions is not None and decision not in spec.for_decisions:
                continue
            if isinstance(target, str):
                value = _wire(self.cleaned_data.get(target))
                if value is not None:
                    data[spec.name] = value
                continue
            items = []
            for names in target:
                item = {}
                for item_spec, name in zip(spec.items or [], names, strict=True):
                    value = _wire(self.cleaned_data.get(name))
                    if value is not None and not (item_spec.type == "boolean" and value is False):
                        item[item_spec.name] = value
                if item:
                    items.append(item)
            data[spec.name] = items
        return data

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the service's messages next to the inputs they are about (the rest on top)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error.messages)
            return
        for key, messages in error.message_dict.items():
            field = _field_name(key)
            if field in self.fields:
                self.add_error(field, messages)
            else:
                self.add_error(None, messages)


def _reads_as_sentences(choices) -> bool:
    return 0 < len(choices) <= 6 and any(len(str(label)) > 40 for _value, label in choices)


def is_fixed(spec: Field) -> bool:
    """A number the step fixes itself (``min == max == default``): the tranche due and its amount."""
    return (
        spec.type in ("integer", "decimal")
        and spec.choices is None
        and spec.default is not None
        and spec.min == spec.max == spec.default
    )


def fixed_text(spec: Field) -> str:
    """What a fixed number reads as: its help when it has one (``1 de 3 (40 % del apoyo)``), an
    amount in bolivianos, or the number."""
    from cases.templatetags.expediente_tags import bs

    if spec.help:
        return str(spec.help)
    return bs(spec.default) if spec.type == "decimal" else str(spec.default)


def _field_name(key: str) -> str | None:
    """``data.amount`` → ``data__amount``; ``data.serials[0].serial`` → ``data__serials__0__serial``;
    ``comment``/``decision`` stay; ``detail``/``data`` go on top (None)."""
    if key in ("decision", "comment"):
        return key
    if not key.startswith("data."):
        return None
    path = key.removeprefix("data.").replace("[", ".").replace("]", "")
    return "data__" + "__".join(part for part in path.split(".") if part)


def _wire(value):
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


class _CommonFieldOptions(TypedDict):
    """The keyword arguments every input of a step gets, typed so mypy checks them per field class."""

    label: StrOrPromise
    required: bool


def _django_field(spec: Field, initial) -> forms.Field:
    common: _CommonFieldOptions = {"label": spec.label, "required": False}
    attrs: dict = {}
    always = spec.for_decisions is None
    if spec.choices is not None:
        choices = [(c[0], c[1]) if isinstance(c, list | tuple) else (c, c) for c in spec.choices]
        field: forms.Field
        if spec.type == "integer" and _reads_as_sentences(choices):
            # A few long choices (a budget line with its program, source and availability): radio
            # buttons, each read whole, instead of a select that clips them.
            field = forms.TypedChoiceField(
                choices=[(str(v), label) for v, label in choices],
                coerce=int,
                empty_value=None,
                widget=forms.RadioSelect,
                **common,
            )
        elif spec.type == "integer":
            field = forms.TypedChoiceField(
                choices=[("", "—"), *[(str(v), label) for v, label in choices]],
                coerce=int,
                empty_value=None,
                **common,
            )
        else:
            field = forms.ChoiceField(choices=[("", "—"), *choices], **common)
    elif spec.type == "integer":
        if spec.min is not None:
            attrs["min"] = spec.min
        if spec.max is not None:
            attrs["max"] = spec.max
        field = forms.IntegerField(widget=forms.NumberInput(attrs=attrs), **common)
    elif spec.type == "decimal":
        field = AmountField(**common)
    elif spec.type == "boolean":
        field = forms.BooleanField(**common)
    elif spec.type == "date":
        if spec.max is not None:
            attrs["max"] = _wire(spec.max)
        if spec.min is not None:
            attrs["min"] = _wire(spec.min)
        field = forms.DateField(
            widget=forms.DateInput(attrs={"type": "date", **attrs}, format="%Y-%m-%d"),
            input_formats=["%Y-%m-%d", "%d/%m/%Y"],
            **common,
        )
    elif spec.name.endswith(_SHORT_TEXT_SUFFIXES):
        field = forms.CharField(max_length=5000, **common)
    else:
        field = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 4}), **common)
    if spec.required and always and spec.type != "boolean":
        field.widget.attrs["required"] = True
    if spec.help:
        field.help_text = spec.help
    if initial is not None:
        field.initial = initial
    return field
