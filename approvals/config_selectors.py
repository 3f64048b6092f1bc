"""Reads of the configuration pages (``approvals.config_views``): policy families and their
versions, staff users with their roles and scopes, non-working days of a year."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import holidays
from django.contrib.auth import get_user_model
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import get_language

from budget.models import ProgramUserObjectPermission
from cases.roles import ALL_STAFF_ROLES, SYSTEM_USERNAME, Role
from registry.models import DepartmentUserObjectPermission

from .calendar import _national
from .models import ApprovalPolicy, Delegation, NonWorkingDay, PolicyStep

STAFF_SHOWN = 200


def policy_family_list() -> list[ApprovalPolicy]:
    """One row per family: its active version (or, if none is active, its latest), with the number
    of versions as ``n_versions``; by case type, program and band."""
    counts = dict(
        ApprovalPolicy.objects.order_by()
        .values_list("family")
        .annotate(n=Count("pk"))
        .values_list("family", "n")
    )
    rows: dict[str, ApprovalPolicy] = {}
    for policy in ApprovalPolicy.objects.select_related("program").order_by("family", "-active", "-version"):
        rows.setdefault(policy.family, policy)
    for policy in rows.values():
        policy.n_versions = counts.get(policy.family, 0)  # type: ignore[attr-defined]
    return sorted(
        rows.values(),
        key=lambda p: (p.case_type, p.program.code if p.program is not None else "", p.min_amount, p.family),
    )


def policy_versions(family: str) -> list[ApprovalPolicy]:
    """Every version of a family, newest first, with its steps (two queries)."""
    return list(
        ApprovalPolicy.objects.filter(family=family)
        .select_related("program", "created_by")
        .prefetch_related(Prefetch("steps", queryset=PolicyStep.objects.order_by("order")))
        .order_by("-version")
    )


def staff_user_list(*, q: str = "", role: str = "") -> QuerySet:
    """Staff accounts (any staff role, or no productive unit: a new colleague waiting for a role),
    never the system user nor applicants; by name."""
    users = (
        get_user_model()
        .objects.filter(Q(groups__name__in=list(ALL_STAFF_ROLES)) | Q(unit__isnull=True))
        .exclude(username=SYSTEM_USERNAME)
        .distinct()
    )
    if role:
        users = users.filter(groups__name=role)
    if q:
        users = users.filter(
            Q(username__icontains=q)
            | Q(first_name__icontains=q)
            | Q(last_name__icontains=q)
            | Q(email__icontains=q)
        )
    return users.prefetch_related("groups").order_by("last_name", "first_name", "username")


@dataclass
class StaffScopes:
    roles: list[str] = field(default_factory=list)
    departments: list = field(default_factory=list)
    programs: list = field(default_factory=list)


def staff_scopes(users) -> dict[int, StaffScopes]:
    """Roles and the user's OWN department and program scopes (guardian rows), per user id (three
    queries whatever the number of users)."""
    ids = [u.pk for u in users]
    out = {pk: StaffScopes() for pk in ids}
    valid = set(Role.values)
    for user in users:
        out[user.pk].roles = [r for r in Role.values if r in {g.name for g in user.groups.all()} & valid]
    for row in (
        DepartmentUserObjectPermission.objects.filter(
            user_id__in=ids, permission__codename="work_in_department"
        )
        .select_related("content_object")
        .order_by("content_object__code")
    ):
        out[row.user_id].departments.append(row.content_object)
    for grant in (
        ProgramUserObjectPermission.objects.filter(user_id__in=ids, permission__codename="work_in_program")
        .select_related("content_object")
        .order_by("content_object__code")
    ):
        out[grant.user_id].programs.append(grant.content_object)
    return out


def staff_delegations(user) -> QuerySet:
    """Delegations given or received by ``user``, newest first."""
    return (
        Delegation.objects.filter(Q(delegator=user) | Q(delegate=user))
        .select_related("delegator", "delegate")
        .order_by("-starts_on", "-pk")
    )


@dataclass(frozen=True)
class Holiday:
    """A national holiday of the law (read-only: from the ``holidays`` calendar)."""

    date: dt.date
    name: str


def non_working_days(year: int) -> tuple[list[Holiday], list[NonWorkingDay]]:
    """The holidays of the law in ``year`` and the decreed non-working days (national and
    departmental), by date."""
    language = "es" if (get_language() or "es").startswith("es") else "en_US"
    names = holidays.country_holidays("BO", years=year, language=language)
    law = [Holiday(date=d, name=str(names.get(d, ""))) for d in sorted(_national(year))]
    decreed = list(
        NonWorkingDay.objects.filter(date__year=year)
        .select_related("department")
        .order_by("date", "department__code")
    )
    return law, decreed
