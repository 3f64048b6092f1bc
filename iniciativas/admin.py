"""Read-only admin views of cases: the admin never moves a case (no add, change or delete); every
change goes through the services, like the web UI and the API."""

from django.contrib import admin

from cases.admin import ReadOnlyAdmin

from .models import Call, Document, Evaluation, Initiative, Recovery, Report, Tranche


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ("code", "title", "program", "opens_on", "closes_on", "max_amount", "evaluators")
    list_filter = ("program",)
    search_fields = ("code", "title")


@admin.register(Initiative)
class InitiativeAdmin(ReadOnlyAdmin):
    list_display = ("code", "title", "unit", "department", "state", "requested_amount", "approved_amount")
    list_filter = ("state", "department", "call__program")
    search_fields = ("code", "title", "unit__name", "unit__tax_id")
    list_select_related = ("unit", "department")


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("initiative", "kind", "original_name", "size", "sha256", "uploaded_at")
    list_select_related = ("initiative",)


@admin.register(Tranche)
class TrancheAdmin(ReadOnlyAdmin):
    list_display = ("initiative", "number", "amount", "state", "payment_reference", "confirmed_at")
    list_select_related = ("initiative",)


@admin.register(Evaluation)
class EvaluationAdmin(ReadOnlyAdmin):
    list_display = ("initiative", "round", "evaluator", "total", "is_tiebreak", "created_at")
    list_select_related = ("initiative", "evaluator")


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("initiative", "kind", "tranche_number", "physical_progress", "approved", "submitted_at")
    list_select_related = ("initiative",)


@admin.register(Recovery)
class RecoveryAdmin(ReadOnlyAdmin):
    list_display = ("initiative", "amount", "reference", "recorded_by", "recorded_at")
    list_select_related = ("initiative", "recorded_by")
