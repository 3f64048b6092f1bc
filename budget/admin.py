"""Admin of the budget: read-only views of lines and of the ledger; programs and sources are
created through the services (same checks and audit entries as the API)."""

from collections.abc import Callable
from typing import ClassVar

from django.contrib import admin

from . import services
from .models import BudgetLine, BudgetMovement, FundingSource, Program


class _CreateThroughService(admin.ModelAdmin):
    service: ClassVar[Callable[..., Program | FundingSource]]  # set by each subclass
    fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["code", "name"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        created = type(self).service(actor=request.user, code=obj.code, name=obj.name)
        obj.pk = created.pk


@admin.register(Program)
class ProgramAdmin(_CreateThroughService):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    service = staticmethod(services.create_program)


@admin.register(FundingSource)
class FundingSourceAdmin(_CreateThroughService):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    service = staticmethod(services.create_source)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BudgetLine)
class BudgetLineAdmin(_ReadOnly):
    list_display = [
        "__str__",
        "fiscal_year",
        "program",
        "source",
        "amount_in_force",
        "reserved",
        "committed",
        "executed",
        "paid",
        "available",
    ]
    list_filter = ["fiscal_year", "program", "source"]
    list_select_related = ["program", "source"]


@admin.register(BudgetMovement)
class BudgetMovementAdmin(_ReadOnly):
    list_display = ["id", "line", "kind", "amount", "case_code", "actor", "at"]
    list_filter = ["kind", "line__fiscal_year"]
    search_fields = ["case_code", "description"]
    list_select_related = ["line__program", "line__source", "actor"]
