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


class GoalForm(forms.ModelForm):
    class Meta:
        model = Goal
        fields = ["fiscal_year", "program", "indicator", "target", "description"]

    def clean(self):
        data = super().clean()
        indicator, program = data.get("indicator"), data.get("program")
        if indicator in AGENCY_INDICATORS and program is not None:
            self.add_error("program", _("Productive units belong to no program: leave the program empty."))
        if indicator and data.get("target") is not None:
            try:
                data["target"] = services.clean_target(data["target"], indicator)
            except ValidationError as exc:
                for message in exc.message_dict.get("target", []):
                    self.add_error("target", message)
        return data


@admin.register(Goal)
class GoalAdmin(admin.ModelAdmin):
    form = GoalForm
    list_display = ["fiscal_year", "program", "indicator", "target", "description"]
    list_filter = ["fiscal_year", "program", "indicator"]
    fields = ["fiscal_year", "program", "indicator", "target", "description"]

    def has_module_permission(self, request):
        return is_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_add_permission(self, request):
        return is_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_delete_permission(self, request, obj=None):
        return is_admin(request.user)

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
                target=data["target"],
                description=data.get("description", ""),
            )
        except (ValidationError, PermissionDenied) as exc:
            raise _Refused(_messages_of(exc)) from exc
        obj.pk = goal.pk

    def delete_model(self, request, obj):
        services.delete_goal(obj.pk, actor=request.user)

    def delete_queryset(self, request, queryset):
        for pk in list(queryset.values_list("pk", flat=True)):
            services.delete_goal(pk, actor=request.user)
