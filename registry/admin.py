"""Admin of the registry. Units are written through the services (same checks and audit entries as
the API); departments are fixed reference data. Group changes made here are audited by the audit
trail's signal receivers (outside services)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _

from cases.roles import Role

from . import services
from .models import Department, Unit, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ["name", "tax_id", "kind", "department", "sector", "registration_valid_until"]
    list_filter = ["department", "kind", "sector"]
    search_fields = ["name", "tax_id", "municipality"]
    readonly_fields = ["registration_valid_until", "registered_at", "created_at", "updated_at"]
    fields = [
        "tax_id",
        "name",
        "kind",
        "department",
        "municipality",
        "sector",
        "registration_valid_until",
        "registered_at",
        "created_at",
        "updated_at",
    ]
    actions = ["renew_registrations"]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        values = {f: form.cleaned_data[f] for f in services.UNIT_FIELDS if f in form.cleaned_data}
        if change:
            changed = {f: values[f] for f in form.changed_data if f in values}
            services.update_unit(obj, actor=request.user, **changed)
        else:
            unit = services.register_unit(actor=request.user, **values)
            obj.pk = unit.pk
            obj.registration_valid_until = unit.registration_valid_until

    @admin.action(description=_("Renew registration for one year"))
    def renew_registrations(self, request, queryset):
        done = 0
        for unit in queryset:
            try:
                services.renew_registration(unit, actor=request.user)
                done += 1
            except (PermissionDenied, ValidationError) as exc:
                self.message_user(
                    request, f"{unit}: {' '.join(getattr(exc, 'messages', [str(exc)]))}", messages.ERROR
                )
        if done:
            self.message_user(request, _("%(n)s registrations renewed.") % {"n": done}, messages.SUCCESS)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    # django-stubs types ``fieldsets`` as optional for every ModelAdmin; Django's UserAdmin sets a tuple.
    fieldsets = (*DjangoUserAdmin.fieldsets, (_("Productive unit"), {"fields": ("unit",)}))  # type: ignore[misc]
    list_display = ["username", "first_name", "last_name", "unit", "is_active"]
    list_filter = ["is_active", "groups"]
    raw_id_fields = ["unit"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not change:
            return form

        class KeepOneAdministrator(form):  # type: ignore[misc,valid-type]
            """The admin site may deactivate a user or take the administrators' group away; neither
            may leave the system with no active administrator (``services.revoke_role``'s rule). The
            admin's change view runs in a transaction, so the group lock is held until it saves."""

            def clean(self):
                cleaned = super().clean()
                if "is_active" in self.fields and "groups" in self.fields and not self.errors:
                    groups = cleaned.get("groups")
                    administrator = groups is not None and any(g.name == Role.ADMIN for g in groups)
                    active = bool(cleaned.get("is_active"))
                    try:
                        services.check_administrator_kept(
                            self.instance,
                            active=active,
                            administrator=administrator,
                            field="is_active" if not active else "groups",
                        )
                    except ValidationError as refused:
                        self.add_error(None, refused)
                return cleaned

        return KeepOneAdministrator

    def has_delete_permission(self, request, obj=None):
        return False  # history points at users: deactivate them instead
