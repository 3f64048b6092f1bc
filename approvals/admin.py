"""Admin of approvals: policies, segregation-of-duties pairs, non-working days, delegations.

Every write goes through a service (same checks and audit entries as everywhere else):

- Approval policies are versioned. Saving the change form of a policy's ACTIVE version never edits
  it: ``services.save_policy_version`` creates the next version (running cases keep the version
  their ``policy`` points at) and the admin moves to it. Older versions are read-only, and every
  version shows the family's history. "Add" starts a new family (version 1). Nothing is deleted.
- Incompatible step pairs and non-working days are added and removed through their services.
- Delegations are created through ``services.delegate_inbox`` (an administrator may set one up for
  an absent colleague) and ended with the "revoke" action; they are never edited or deleted.
- Notifications are read-only (support: what was sent to whom, and when it was e-mailed).

Administrators (the ``admin`` role or a superuser) write; internal control reads.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases.errors import Conflict
from cases.roles import Role, has_role, is_admin

from . import services
from .models import ApprovalPolicy, Delegation, IncompatibleSteps, NonWorkingDay, Notification, PolicyStep


def _reader(user) -> bool:
    return is_admin(user) or has_role(user, Role.INTERNAL_CONTROL)


def _messages_of(exc: Exception) -> str:
    return " ".join(getattr(exc, "messages", None) or [str(exc)])


class _Refused(Exception):
    """A service refused the save after the forms validated (a race): shown, nothing saved."""


class _ServiceAdmin(admin.ModelAdmin):
    """Administrators write through services; internal control reads; nobody deletes by default."""

    def has_module_permission(self, request):
        return _reader(request.user)

    def has_view_permission(self, request, obj=None):
        return _reader(request.user)

    def has_add_permission(self, request):
        return is_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Refused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def construct_change_message(self, request, form, formsets, add=False):
        return getattr(request, "_service_change_message", "") or super().construct_change_message(
            request, form, formsets, add
        )


# --- approval policies -------------------------------------------------------------------------------


class PolicyStepForm(forms.ModelForm):
    class Meta:
        model = PolicyStep
        fields = ["order", "step", "role", "scope", "deadline_days", "escalation_role"]

    def validate_unique(self):
        # The rows shown belong to the version being replaced and are never saved: the new
        # version's steps are renumbered 1..n by the service, so the stored (policy, order) pairs
        # of the old rows must not block a reordering.
        pass

    def validate_constraints(self):
        pass  # the same (policy, order) constraint: see validate_unique


class PolicyStepFormSet(BaseInlineFormSet):
    def steps(self) -> list[dict]:
        rows = [
            f.cleaned_data
            for f in self.forms
            if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")
        ]
        rows.sort(key=lambda d: d.get("order") or 0)
        return [{k: d.get(k) for k in services.POLICY_STEP_FIELDS} for d in rows]

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        _cleaned, errors = services.clean_policy_steps(self.steps())
        if errors:
            raise ValidationError(errors)


class PolicyStepInline(admin.TabularInline):
    model = PolicyStep
    form = PolicyStepForm
    formset = PolicyStepFormSet
    extra = 1
    ordering = ["order"]

    def _editable(self, request, obj) -> bool:
        return is_admin(request.user) and (obj is None or obj.active)

    def get_extra(self, request, obj=None, **kwargs):
        return 4 if obj is None else 1

    def has_view_permission(self, request, obj=None):
        return _reader(request.user)

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)


class ApprovalPolicyForm(forms.ModelForm):
    class Meta:
        model = ApprovalPolicy
        fields = ["family", "name", "case_type", "program", "min_amount", "max_amount"]

    def validate_unique(self):
        # Uniqueness of (family, version) and "one active version" concern the NEW version the
        # service writes (under a lock); on "add" a family that exists is refused in clean().
        pass

    def clean_family(self):
        family = (self.cleaned_data.get("family") or "").strip()
        if self.instance.pk is None and ApprovalPolicy.objects.filter(family=family).exists():
            raise ValidationError(
                _("This family exists already: open its active version and save it to make a new version.")
            )
        return family


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(_ServiceAdmin):
    form = ApprovalPolicyForm
    inlines = [PolicyStepInline]
    list_display = [
        "family",
        "version",
        "name",
        "case_type",
        "program",
        "band",
        "active",
        "created_at",
        "created_by",
    ]
    list_filter = ["case_type", "active", "program"]
    list_select_related = ["program", "created_by"]
    search_fields = ["family", "name"]
    ordering = ["case_type", "family", "-version"]

    @admin.display(description=gettext_lazy("amount band (Bs)"))
    def band(self, obj):
        upper = obj.max_amount if obj.max_amount is not None else "∞"
        return f"{obj.min_amount} - {upper}"

    @admin.display(description=gettext_lazy("versions of this policy"))
    def version_history(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        versions = (
            ApprovalPolicy.objects.filter(family=obj.family).select_related("created_by").order_by("-version")
        )
        return format_html(
            "<ol reversed>{}</ol>",
            format_html_join(
                "",
                '<li><a href="{}">v{}</a> · {} · {} · {} {}</li>',
                (
                    (
                        reverse("admin:approvals_approvalpolicy_change", args=[v.pk]),
                        v.version,
                        v.name,
                        v.created_at.strftime("%d/%m/%Y %H:%M") if v.created_at else "",
                        v.created_by.get_username() if v.created_by else _("initial data"),
                        _("(active)") if v.active else "",
                    )
                    for v in versions
                ),
            ),
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["family", "name", "case_type", "program", "min_amount", "max_amount"]
        return [
            "family",
            "version",
            "active",
            "name",
            "case_type",
            "program",
            "min_amount",
            "max_amount",
            "created_at",
            "created_by",
            "version_history",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        fixed = ["family", "version", "active", "case_type", "created_at", "created_by", "version_history"]
        if not self.has_change_permission(request, obj):
            return [*fixed, "name", "program", "min_amount", "max_amount"]
        return fixed

    def has_change_permission(self, request, obj=None):
        # Only the active version can be "changed" — and saving it writes the next version.
        return is_admin(request.user) and (obj is None or obj.active)

    def response_change(self, request, obj):
        """Show the version just saved (with the family's history), not the list."""
        response = super().response_change(request, obj)
        if "_addanother" in request.POST or "_popup" in request.POST:
            return response
        return HttpResponseRedirect(reverse("admin:approvals_approvalpolicy_change", args=[obj.pk]))

    def save_model(self, request, obj, form, change):
        """Nothing is saved here: ``save_related`` saves a new version through the service."""

    def save_related(self, request, form, formsets, change):
        step_formset = next(f for f in formsets if isinstance(f, PolicyStepFormSet))
        data = form.cleaned_data
        previous = ApprovalPolicy.objects.get(pk=form.instance.pk) if change else None
        try:
            policy = services.save_policy_version(
                previous.family if previous else data["family"],
                actor=request.user,
                name=data["name"],
                case_type=previous.case_type if previous else data["case_type"],
                program=data.get("program"),
                min_amount=data.get("min_amount"),
                max_amount=data.get("max_amount"),
                steps=step_formset.steps(),
            )
        except (ValidationError, Conflict, PermissionDenied) as exc:
            raise _Refused(_messages_of(exc)) from exc
        obj = form.instance
        obj.pk, obj.version, obj.active, obj.family = policy.pk, policy.version, policy.active, policy.family
        if previous is not None and policy.pk == previous.pk:
            request._service_change_message = _("No changes: version %(v)s kept.") % {"v": policy.version}
            self.message_user(request, request._service_change_message, messages.WARNING)
        else:
            request._service_change_message = _("Saved as version %(v)s.") % {"v": policy.version}


# --- segregation-of-duties pairs and non-working days ------------------------------------------------


@admin.register(IncompatibleSteps)
class IncompatibleStepsAdmin(_ServiceAdmin):
    list_display = ["step_a", "step_b", "reason"]
    list_filter = ["step_a"]
    fields = ["step_a", "step_b", "reason"]

    def has_delete_permission(self, request, obj=None):
        return is_admin(request.user)

    def save_model(self, request, obj, form, change):
        try:
            pair = services.add_incompatible_steps(
                actor=request.user, step_a=obj.step_a, step_b=obj.step_b, reason=obj.reason
            )
        except (ValidationError, PermissionDenied) as exc:
            raise _Refused(_messages_of(exc)) from exc
        obj.pk = pair.pk
        request._service_change_message = _("Added through the service (audited).")

    def delete_model(self, request, obj):
        services.remove_incompatible_steps(obj.pk, actor=request.user)

    def delete_queryset(self, request, queryset):
        for pk in list(queryset.values_list("pk", flat=True)):
            services.remove_incompatible_steps(pk, actor=request.user)


@admin.register(NonWorkingDay)
class NonWorkingDayAdmin(_ServiceAdmin):
    list_display = ["date", "name", "department"]
    list_filter = ["department"]
    list_select_related = ["department"]
    date_hierarchy = "date"
    fields = ["date", "name", "department"]

    def has_delete_permission(self, request, obj=None):
        return is_admin(request.user)

    def save_model(self, request, obj, form, change):
        try:
            day = services.add_non_working_day(
                actor=request.user, date=obj.date, name=obj.name, department=obj.department
            )
        except (ValidationError, PermissionDenied) as exc:
            raise _Refused(_messages_of(exc)) from exc
        obj.pk = day.pk
        request._service_change_message = _("Added through the service (audited).")

    def delete_model(self, request, obj):
        services.remove_non_working_day(obj.pk, actor=request.user)

    def delete_queryset(self, request, queryset):
        for pk in list(queryset.values_list("pk", flat=True)):
            services.remove_non_working_day(pk, actor=request.user)


# --- delegations -------------------------------------------------------------------------------------


class DelegationAdminForm(forms.ModelForm):
    class Meta:
        model = Delegation
        fields = ["delegator", "delegate", "role", "starts_on", "ends_on", "reason"]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        errors = services.delegation_errors(
            actor=self.request_user,
            delegator=data.get("delegator"),
            delegate=data.get("delegate"),
            role=data.get("role"),
            starts_on=data.get("starts_on"),
            ends_on=data.get("ends_on"),
        )
        for field, messages_ in errors.items():
            self.add_error(field if field in self.fields else None, messages_)
        return data


@admin.register(Delegation)
class DelegationAdmin(_ServiceAdmin):
    form = DelegationAdminForm
    list_display = [
        "delegator",
        "delegate",
        "role",
        "starts_on",
        "ends_on",
        "reason",
        "created_at",
        "revoked_at",
    ]
    list_filter = ["role", "starts_on"]
    list_select_related = ["delegator", "delegate"]
    search_fields = ["delegator__username", "delegate__username", "reason"]
    raw_id_fields = ["delegator", "delegate"]
    readonly_fields = ["created_at", "revoked_at"]
    actions = ["revoke"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.request_user = request.user
        return form

    def get_fields(self, request, obj=None):
        base = ["delegator", "delegate", "role", "starts_on", "ends_on", "reason"]
        return base if obj is None else [*base, "created_at", "revoked_at"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            delegation = services.delegate_inbox(
                actor=request.user,
                delegator=data["delegator"],
                delegate=data["delegate"],
                role=data["role"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                reason=data.get("reason", ""),
            )
        except (ValidationError, PermissionDenied) as exc:
            raise _Refused(_messages_of(exc)) from exc
        obj.pk = delegation.pk
        request._service_change_message = _("Delegation recorded through the service (audited).")

    def has_revoke_permission(self, request):
        return is_admin(request.user)

    @admin.action(description=gettext_lazy("Revoke the selected delegations"), permissions=["revoke"])
    def revoke(self, request, queryset):
        done = 0
        for delegation in queryset.filter(revoked_at__isnull=True):
            try:
                services.revoke_delegation(delegation.pk, actor=request.user)
                done += 1
            except (PermissionDenied, Conflict) as exc:
                self.message_user(request, f"{delegation}: {_messages_of(exc)}", messages.ERROR)
        if done:
            self.message_user(request, _("%(n)s delegations revoked.") % {"n": done}, messages.SUCCESS)


# --- notifications (read-only) -----------------------------------------------------------------------


@admin.register(Notification)
class NotificationAdmin(_ServiceAdmin):
    list_display = ["created_at", "user", "kind", "case_code", "read_at", "emailed_at", "email_wanted"]
    list_filter = ["kind", "email_wanted"]
    search_fields = ["user__username", "case_code", "event_key"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_view_permission(self, request, obj=None):
        return is_admin(request.user)

    def has_module_permission(self, request):
        return _reader(request.user)
