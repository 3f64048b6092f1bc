"""Reads of the registry, always scoped to the user asking (``*_list_for`` / ``*_get_for``)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from cases import memo
from cases.roles import SCOPE_MEMO, is_staff_member, is_system_user

from .models import Department, DepartmentGroupObjectPermission, DepartmentUserObjectPermission, Unit

DEPARTMENT_PERMISSION = "work_in_department"


def department_scope_ids(user) -> set[int] | None:
    """The departments a staff user is scoped to (directly or through a group).

    ``None`` when the user holds no department scope at all: national, unrestricted.
    Anonymous users get the empty set (nothing).
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return set()
    remembered = getattr(user, SCOPE_MEMO, None)  # a page read the user's scopes already
    if remembered is not None:
        return None if remembered[0] is None else set(remembered[0])
    ids = memo.remember(("department_scope", user.pk), lambda: _department_scope(user))
    return set(ids) if ids is not None else None  # read once per decision; a copy to the caller


def _department_scope(user) -> frozenset[int] | None:
    perm = {"permission__codename": DEPARTMENT_PERMISSION, "permission__content_type__app_label": "registry"}
    # One statement: the user's own grants UNION those of its groups.
    own = DepartmentUserObjectPermission.objects.filter(user=user, **perm).values_list(
        "content_object_id", flat=True
    )
    grouped = DepartmentGroupObjectPermission.objects.filter(group__user=user, **perm).values_list(
        "content_object_id", flat=True
    )
    return frozenset(own.union(grouped)) or None


def users_in_department_scope(department_id: int | None) -> Q:
    """For a query over users: those whose department scope covers ``department_id`` — no
    department scope at all (national), or one on that department, held by themselves or through a
    group (``department_scope_ids`` seen from the department). Correlated ``EXISTS`` on the two
    guardian tables; nothing is read here."""
    perm = {"permission__codename": DEPARTMENT_PERMISSION, "permission__content_type__app_label": "registry"}
    own = DepartmentUserObjectPermission.objects.filter(user=OuterRef("pk"), **perm).order_by()
    shared = DepartmentGroupObjectPermission.objects.filter(group__user=OuterRef("pk"), **perm).order_by()
    national = ~Q(Exists(own)) & ~Q(Exists(shared))
    if department_id is None:
        return national
    return (
        national
        | Q(Exists(own.filter(content_object_id=department_id)))
        | Q(Exists(shared.filter(content_object_id=department_id)))
    )


def department_list() -> QuerySet[Department]:
    return Department.objects.order_by("code")


def unit_list_for(user) -> QuerySet[Unit]:
    """The units ``user`` may see.

    Applicants see only their own unit; staff (and the system user) see every unit, limited to
    their departments when they hold department scopes; anybody else sees nothing.
    """
    units = Unit.objects.select_related("department")
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return units.none()
    if is_staff_member(user) or is_system_user(user):
        scope = department_scope_ids(user)
        return units if scope is None else units.filter(department_id__in=scope)
    if user.unit_id:
        return units.filter(pk=user.unit_id)
    return units.none()


def unit_get_for(user, pk) -> Unit:
    """One unit ``user`` may see; ``Unit.DoesNotExist`` (→ 404) for any other, existing or not."""
    return unit_list_for(user).get(pk=pk)


def unit_visible_to(user, unit: Unit) -> bool:
    return unit_list_for(user).filter(pk=unit.pk).exists()


def case_scope(qs: QuerySet, user, *, unit_field: str, program_field: str | None = None) -> QuerySet:
    """The cases of ``qs`` (which have a ``department``) the user may see: staff who work cases, those
    of their department scope and, when ``program_field`` names the case's program (``program_id``,
    ``call__program_id``…), of their program scope; internal control and administrators, all; an
    applicant, its own unit's (``unit_field``: ``unit_id``, ``beneficiary_id``…); anyone else, none."""
    from budget.selectors import program_scope_ids
    from cases.roles import Role, roles_of

    held = roles_of(user)
    if held & {Role.EVALUATOR, Role.LEGAL, Role.FINANCE, Role.DIRECTOR}:
        depts = department_scope_ids(user)
        if depts is not None:
            qs = qs.filter(department_id__in=depts)
        programs = program_scope_ids(user) if program_field else None
        if programs is not None:
            qs = qs.filter(**{f"{program_field}__in": programs})
        return qs
    if held & {Role.INTERNAL_CONTROL, Role.ADMIN}:
        return qs
    if Role.APPLICANT in held and user.unit_id:
        return qs.filter(**{unit_field: user.unit_id})
    return qs.none()
