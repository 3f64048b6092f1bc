"""Admin of the goals (metas) of the annual plan: administrators only, every write through
``reports.services`` (permission check and audit entry in the same transaction)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _

from cases.roles import is_admin

from . import services
from .models import AGENCY_INDICATORS, Goal


class _Refused(Exception):
    """The service refused the save after the form validated (a race): shown, nothing saved."""


def _messages_of(exc: Exception) -> str:
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


GOAL_FIELDS = [
    "fiscal_year",
    "program",
    "indicator",
    "unit",
    "target",
    "baseline",
    "computed_from",
    "description",
]


class GoalForm(forms.ModelForm):
    class Meta:
        model = Goal
        fields = GOAL_FIELDS

    def __init__(self, *args, **kwargs):
        from .selectors import metric_choices

        super().__init__(*args, **kwargs)
        self.fields["computed_from"] = forms.ChoiceField(
            label=_("Computed from"),
            choices=[("", _("— entered by hand, with evidence —")), *metric_choices()],
            required=False,
        )

    def clean(self):
        data = super().clean()
        computed_from, program = data.get("computed_from") or "", data.get("program")
        if computed_from in AGENCY_INDICATORS and program is not None:
            self.add_error("program", _("Productive units belong to no program: leave the program empty."))
        if data.get("target") is not None:
            try:
                data["target"] = services.clean_target(data["target"], computed_from)
            except ValidationError as exc:
                for message in exc.message_dict.get("target", []):
                    self.add_error("target", message)
        return data


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    form = GoalForm
    list_display = ["fiscal_year", "program", "indicator", "unit", "target", "computed_from"]
    list_filter = ["fiscal_year", "program", "computed_from"]
    fields = tuple(GOAL_FIELDS)

    def has_module_permission(self, request):
        return is_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_add_permission(self, request):
        return is_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        # A goal with progress entered by hand keeps its record (its entries and evidence).
        return is_admin(request.user) and not (obj is not None and obj.entries.exists())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            goal = services.save_goal(
                actor=request.user,
                goal_id=obj.pk if change else None,
                fiscal_year=data["fiscal_year"],
                program=data.get("program"),
                indicator=data["indicator"],
                unit=data["unit"],
                target=data["target"],
                baseline=data.get("baseline"),
                computed_from=data.get("computed_from") or "",
                description=data.get("description", ""),
            )
        except (ValidationError, PermissionDenied) as exc:
            raise _Refused(_messages_of(exc)) from exc
        obj.pk = goal.pk

    def delete_model(self, request, obj):
        services.delete_goal(obj.pk, actor=request.user)

    def delete_queryset(self, request, queryset):
        for pk in list(queryset.filter(entries__isnull=True).values_list("pk", flat=True)):
            services.delete_goal(pk, actor=request.user)
