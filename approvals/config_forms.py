"""Forms of the configuration pages (``approvals.config_views``). They parse what the person typed;
every rule (who may, what a policy chain needs, what a delegation or a non-working day needs) lives
in the services they call, whose errors come back next to these fields."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from budget.models import Program
from cases import kinds
from cases.money import AmountField
from cases.roles import ALL_STAFF_ROLES, STAFF_ROLES, Role
from registry.models import Department

from .models import PolicyStep, Step
from .services import CHAIN_STEPS

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

CHOOSE = _("Choose…")
STEP_ROWS_EXTRA = 2  # empty step rows offered after the version's own


def _date_field(label) -> forms.DateField:
    return forms.DateField(
        label=label,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )


def _staff_role_choices(roles=STAFF_ROLES) -> list[tuple[str, StrOrPromise]]:
    return [(r.value, r.label) for r in Role if r.value in roles]


class PolicyForm(forms.Form):
    """The head of a policy version: its name, program and amount band. Family and case type are
    asked only when a new family starts (a family keeps both)."""

    family = forms.CharField(
        label=_("Policy family (short stable key)"),
        max_length=60,
        help_text=_("For example initiative-proleche-high. All versions of the policy share it."),
    )
    case_type = forms.ChoiceField(label=_("Case type"), choices=kinds.choices)
    name = forms.CharField(label=_("Name"), max_length=120)
    program = forms.ModelChoiceField(
        label=_("Program"),
        queryset=Program.objects.order_by("code"),
        required=False,
        empty_label=_("Every program without a policy of its own"),
    )
    min_amount = AmountField(label=_("From amount (Bs)"))
    max_amount = AmountField(
        label=_("Up to amount (Bs)"), required=False, help_text=_("Empty: no upper limit.")
    )

    def __init__(self, *args, new_family: bool, programs=None, **kwargs):
        """``programs``: the programs a program manager may give the policy (none for every program);
        ``None``: an administrator, every program and "every program"."""
        super().__init__(*args, **kwargs)
        if not new_family:
            del self.fields["family"]
            del self.fields["case_type"]
        if programs is not None:
            field = self.fields["program"]
            field.queryset = programs  # type: ignore[attr-defined]
            field.required = True
            field.empty_label = None  # type: ignore[attr-defined]


class PolicyStepRowForm(forms.Form):
    """One step of the chain. A row left without a step is not part of the version."""

    step = forms.ChoiceField(
        label=_("Step"),
        required=False,
        choices=[("", CHOOSE), *((s.value, s.label) for s in Step if s in CHAIN_STEPS)],
    )
    role = forms.ChoiceField(
        label=_("Role that decides"), required=False, choices=[("", CHOOSE), *_staff_role_choices()]
    )
    scope = forms.ChoiceField(
        label=_("Who of that role"), choices=PolicyStep.Scope.choices, initial=PolicyStep.Scope.NONE
    )
    deadline_days = forms.IntegerField(
        label=_("Deadline (business days)"), min_value=1, max_value=90, initial=5
    )
    escalation_role = forms.ChoiceField(
        label=_("Escalate overdue tasks to"),
        required=False,
        choices=[("", _("Nobody")), *_staff_role_choices()],
    )

    def step_dict(self) -> dict | None:
        data = getattr(self, "cleaned_data", None) or {}
        if not data.get("step"):
            return None
        return {
            "step": data["step"],
            "role": data.get("role") or "",
            "scope": data.get("scope") or PolicyStep.Scope.NONE,
            "deadline_days": data.get("deadline_days"),
            "escalation_role": data.get("escalation_role") or "",
        }


PolicyStepFormSet = forms.formset_factory(
    PolicyStepRowForm, extra=STEP_ROWS_EXTRA, max_num=10, absolute_max=10
)


def step_rows(formset) -> list[dict]:
    """The chain the person typed, in the order of the rows (empty rows left out)."""
    return [row for row in (f.step_dict() for f in formset.forms) if row is not None]


class RoleChangeForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=[("", CHOOSE), *_staff_role_choices(ALL_STAFF_ROLES)])


class DepartmentScopeForm(forms.Form):
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.order_by("code"), empty_label=CHOOSE
    )


class ProgramScopeForm(forms.Form):
    program = forms.ModelChoiceField(
        label=_("Program"), queryset=Program.objects.order_by("code"), empty_label=CHOOSE
    )


class StaffDelegationForm(forms.Form):
    """An administrator sets up the delegation of an absent colleague's inbox."""

    role = forms.ChoiceField(label=_("Role to delegate"), choices=[("", CHOOSE), *_staff_role_choices()])
    delegate = forms.ModelChoiceField(
        label=_("Colleague who holds the inbox"), queryset=get_user_model().objects.none(), empty_label=CHOOSE
    )
    starts_on = _date_field(_("From"))
    ends_on = _date_field(_("Until (inclusive)"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args, delegator, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["delegate"].queryset = (
            get_user_model()
            .objects.filter(is_active=True, groups__name__in=list(STAFF_ROLES))
            .exclude(pk=delegator.pk)
            .distinct()
            .order_by("last_name", "first_name", "username")
        )
        self.fields["delegate"].label_from_instance = lambda u: (
            f"{u.get_full_name()} ({u.get_username()})" if u.get_full_name() else u.get_username()
        )


class NonWorkingDayForm(forms.Form):
    date = _date_field(_("Date"))
    name = forms.CharField(
        label=_("Name"), max_length=120, help_text=_("For example: Aniversario de La Paz.")
    )
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.order_by("code"),
        required=False,
        empty_label=_("National (the whole country)"),
    )
