"""Read-only admin views of transfers: the admin never moves a case; every change goes through the
services, like the web UI and the API."""

from django.contrib import admin

from cases.admin import ReadOnlyAdmin

from .models import AssetItem, FollowupVisit, Transfer


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ("code", "beneficiary", "modality", "kind", "program", "state", "amount", "paid_amount")
    list_filter = ("state", "modality", "kind", "program", "department")
    search_fields = ("code", "beneficiary__name", "beneficiary__tax_id")
    list_select_related = ("beneficiary", "program")


@admin.register(AssetItem)
class AssetItemAdmin(ReadOnlyAdmin):
    list_display = ("asset", "number", "serial", "status", "holder", "delivered_on")
    list_filter = ("status",)
    search_fields = ("serial", "asset__description", "asset__transfer__code")
    list_select_related = ("asset", "holder")


@admin.register(FollowupVisit)
class FollowupVisitAdmin(ReadOnlyAdmin):
    list_display = ("transfer", "visited_on", "use_verified", "visitor")
    list_select_related = ("transfer", "visitor")
