"""Reads of initiatives, scoped to what the user may see (anything else is 404)."""

import copy

from django.db.models import QuerySet

from cases.roles import Role, has_role

from .models import Call, Initiative, InitiativeState


def initiative_list_for(user) -> QuerySet:
    from registry.selectors import case_scope

    qs = Initiative.objects.select_related("call", "call__program", "unit", "department", "budget_line")
    return case_scope(qs, user, unit_field="unit_id", program_field="call__program_id")


def initiative_get_for(user, pk) -> Initiative:
    return initiative_list_for(user).get(pk=pk)


def call_list_open(on=None) -> QuerySet:
    """The calls that take initiatives on the day ``on`` (La Paz): the current version of each call
    whose dates include that day. Open and closed is computed from the dates, so a call opens and
    closes by itself (no job moves it); the services refuse a draft or a submission outside them."""
    from django.utils import timezone

    on = on or timezone.localdate()
    return Call.objects.select_related("program").filter(is_current=True, opens_on__lte=on, closes_on__gte=on)


def call_list_for(user) -> QuerySet:
    """The calls a user configures (current versions): every call for an administrator, those of
    the programs it manages for a program manager, none for anyone else."""
    from budget.selectors import managed_program_ids
    from cases.permissions import allowed
    from cases.roles import is_admin

    calls = Call.objects.select_related("program").filter(is_current=True)
    if is_admin(user):
        return calls
    if not allowed(user, "iniciativas.manage_calls"):
        return calls.none()
    return calls.filter(program_id__in=managed_program_ids(user))


def call_get_for(user, code: str) -> Call:
    """The current version of the call ``code``, if the user configures it (else ``DoesNotExist``)."""
    return call_list_for(user).get(code=str(code or "").strip().upper())


def call_versions(call: Call) -> QuerySet:
    """Every version of a call, newest first, with how many cases were submitted under each."""
    from django.db.models import Count, Q

    return (
        Call.objects.filter(code=call.code)
        .annotate(submitted=Count("initiatives", filter=~Q(initiatives__submitted_at=None)))
        .order_by("-version")
    )


def history_for(initiative: Initiative, user) -> list:
    """The case's audit entries, oldest first. Applicants see their own case's history.

    Evaluations are sealed until every one of the round is in: the scores never enter the trail
    before the round closes, and while the case is still ``in_evaluation`` the free-text comment of
    each evaluation is left out of what anyone but its author (and internal control or an
    administrator, who read everything) sees here. The entries themselves are never changed."""
    from audit.models import AuditEntry

    if (
        not (has_role(user, Role.APPLICANT) and user.unit_id == initiative.unit_id)
        and not initiative_list_for(user).filter(pk=initiative.pk).exists()
    ):
        return []
    entries = list(AuditEntry.objects.filter(case=initiative.code).order_by("seq"))
    if initiative.state != InitiativeState.IN_EVALUATION or has_role(user, Role.INTERNAL_CONTROL, Role.ADMIN):
        return entries
    return [_sealed(entry) if _is_foreign_evaluation(entry, user) else entry for entry in entries]


def _is_foreign_evaluation(entry, user) -> bool:
    data = entry.data if isinstance(entry.data, dict) else {}
    return (
        entry.action == "task.completed"
        and bool(data.get("sealed"))
        and bool(data.get("comment"))
        and entry.actor_id != user.pk
    )


def _sealed(entry):
    """A copy of an evaluation's entry for display, without its comment (never saved)."""
    shown = copy.copy(entry)
    shown.data = {**entry.data, "comment": "", "comment_sealed": True}
    return shown


def pending_tasks_for(initiative_ids) -> dict[int, list]:
    """The open human steps of the given initiatives (who must act next, by when), one query:
    ``{initiative id: [CaseTask, ...]}`` ordered by due date. The caller has already checked that
    the user may see those initiatives (``initiative_list_for``)."""
    from workflows.models import CaseTask

    pending: dict[int, list] = {}
    rows = (
        CaseTask.objects.filter(case_type="initiative", case_id__in=list(initiative_ids), is_open=True)
        .exclude(step="")
        .select_related("owner")
        .order_by("due_at", "pk")
    )
    for task in rows:
        pending.setdefault(task.case_id, []).append(task)
    return pending
