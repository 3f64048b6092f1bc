"""Read-only admin of the trail: nothing can be added, changed or deleted here (nor anywhere)."""

from django.contrib import admin
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from cases.admin import ReadOnlyAdmin

from . import actions
from .models import AuditEntry, Checkpoint


class ActionFilter(admin.SimpleListFilter):
    """Choices from the code, not ``SELECT DISTINCT`` over the whole table."""

    title = AuditEntry._meta.get_field("action").verbose_name
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return actions.choices()

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


class HeadCountPaginator(Paginator):
    """Counts by the head's seq when unfiltered (gap-free), so the change list never counts 1M rows."""

    @cached_property
    def count(self):
        query = self.object_list.query
        if not query.where:
            from .selectors import trail_head_seq

            return trail_head_seq()
        return super().count


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "actor_label", "action", "subject_label", "case")
    list_filter = (ActionFilter,)
    search_fields = ("=case", "=actor_label", "=subject_id")
    show_full_result_count = False
    paginator = HeadCountPaginator
    list_per_page = 50
    ordering = ("-seq",)


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ("seq", "signed_at", "key_id", "head")
    ordering = ("-seq",)
