"""The shared admin base: cases, ledgers and trails are read-only in the admin (no add, change,
delete or bulk action); every change goes through the services, like the web UI and the API."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _register() -> None:
    from .models import OutboxMessage, PaymentReference

    @admin.register(OutboxMessage)
    class OutboxMessageAdmin(ReadOnlyAdmin):
        """The jobs not done yet (done_at empty: never published, or published and not run yet), and
        those done this week."""

        list_display = (
            "id",
            "task",
            "created_at",
            "available_at",
            "attempts",
            "published",
            "sent_at",
            "done_at",
            "last_error",
        )
        list_filter = ("task",)
        ordering = ("-id",)

    @admin.register(PaymentReference)
    class PaymentReferenceAdmin(ReadOnlyAdmin):
        list_display = ("reference", "case_code", "case_type", "recorded_at")
        search_fields = ("reference", "case_code")


_register()
