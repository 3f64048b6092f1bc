"""Admin of the budget: read-only views of lines and of the ledger; programs and sources are
created through the services (same checks and audit entries as the API)."""

from collections.abc import Callable
from typing import ClassVar

from django.contrib import admin

from . import services
from .models import BudgetLine, BudgetMovement, FundingSource, Program, SubProgram


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


@admin.register(SubProgram)
class SubProgramAdmin(admin.ModelAdmin):
    """Sub-programs and projects, created through ``services.create_subprogram``; never changed."""

    fields = ["program", "code", "name"]
    list_display = ["__str__", "program", "code", "name"]
    list_filter = ["program"]
    search_fields = ["code", "name"]
    list_select_related = ["program"]

    def get_readonly_fields(self, request, obj=None):
        return ["program", "code", "name"] if obj is not None else []

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        created = services.create_subprogram(
            actor=request.user, program=obj.program, code=obj.code, name=obj.name
        )
        obj.pk = created.pk


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
        "da_ue",
        "program",
        "subprogram",
        "activity",
        "source",
        "funder",
        "object_of_expenditure",
        "amount_in_force",
        "reserved",
        "committed",
        "executed",
        "paid",
        "available",
    ]
    list_filter = ["fiscal_year", "program", "subprogram", "source", "object_of_expenditure"]
    list_select_related = ["program", "source", "subprogram"]


@admin.register(BudgetMovement)
class BudgetMovementAdmin(_ReadOnly):
    list_display = ["id", "line", "kind", "amount", "case_code", "c31_reference", "actor", "at"]
    list_filter = ["kind", "line__fiscal_year"]
    search_fields = ["case_code", "description", "c31_reference"]
    list_select_related = ["line__program", "line__source", "line__subprogram", "actor"]
