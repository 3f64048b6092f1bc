"""Reads of transfers, scoped to what the user may see (anything else is 404)."""

from django.db.models import QuerySet

from .models import Transfer


def transfer_list_for(user) -> QuerySet:
    from registry.selectors import case_scope

    qs = Transfer.objects.select_related("beneficiary", "program", "department", "budget_line")
    return case_scope(qs, user, unit_field="beneficiary_id", program_field="program_id")


def transfer_get_for(user, pk) -> Transfer:
    return transfer_list_for(user).get(pk=pk)


def documents_of(transfer: Transfer) -> list:
    """The transfer's documents, oldest first, with who uploaded each (one query)."""
    return list(transfer.documents.select_related("uploaded_by").order_by("uploaded_at", "pk"))


def history_for(transfer: Transfer, user) -> list:
    """The case's audit entries, oldest first, for whoever may see the case."""
    from audit.models import AuditEntry

    if not transfer_list_for(user).filter(pk=transfer.pk).exists():
        return []
    return list(AuditEntry.objects.filter(case=transfer.code).order_by("seq"))


def pending_tasks_for(transfer_ids) -> dict[int, list]:
    """The open human steps of the given transfers, one query (see iniciativas.selectors)."""
    from workflows.models import CaseTask

    pending: dict[int, list] = {}
    rows = (
        CaseTask.objects.filter(case_type="transfer", case_id__in=list(transfer_ids), is_open=True)
        .exclude(step="")
        .select_related("owner")
        .order_by("due_at", "pk")
    )
    for task in rows:
        pending.setdefault(task.case_id, []).append(task)
    return pending
