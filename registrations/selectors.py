"""Reads of registrations, scoped to what the user may see (anything else is 404)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cases.roles import Role, has_role

from .models import Registration


def registration_list_for(user) -> QuerySet:
    """Staff who work cases: their department scope's; internal control and administrators: all; an
    applicant: the ones it applied for and its unit's."""
    from registry.selectors import case_scope

    qs = Registration.objects.select_related("unit", "department", "applicant")
    if has_role(user, Role.APPLICANT) and not has_role(
        user, Role.EVALUATOR, Role.LEGAL, Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL, Role.ADMIN
    ):
        own = Q(applicant=user)
        if user.unit_id:
            own |= Q(unit_id=user.unit_id)
        return qs.filter(own)
    return case_scope(qs, user, unit_field="unit_id")


def registration_get_for(user, pk) -> Registration:
    return registration_list_for(user).get(pk=pk)


def history_for(registration: Registration, user) -> list:
    """The case's audit entries, oldest first, for whoever may see the case."""
    from audit.models import AuditEntry

    if not registration_list_for(user).filter(pk=registration.pk).exists():
        return []
    return list(AuditEntry.objects.filter(case=registration.code).order_by("seq"))
