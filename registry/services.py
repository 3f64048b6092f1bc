"""Every write of the registry: users, roles and scopes, productive units.

Each function is one action: it runs in one transaction, locks what it changes, checks the actor's
permission (``require``), validates, writes, and records its audit entries as the last step.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm
from rest_framework.authtoken.models import Token

import audit
from audit.actions import AuditAction
from audit.flags import services_write_permissions
from cases import tx
from cases.clock import today
from cases.permissions import require
from cases.roles import ALL_STAFF_ROLES, SYSTEM_USERNAME, Role, has_role, is_staff_member, is_system_user
from cases.users import system_user

from .models import Department, DepartmentUserObjectPermission, Unit, User

DEPARTMENT_PERMISSION = "registry.work_in_department"
UNIT_FIELDS = ("tax_id", "name", "kind", "department", "municipality", "sector")


# --- Reference data -------------------------------------------------------------------------------


def one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def role_group(role: str) -> Group:
    group, _created = Group.objects.get_or_create(name=Role(role).value)
    return group


def ensure_reference_data() -> None:
    """The nine departments, one group per role and the system user (idempotent).

    Also created by migration ``registry.0002``; this runs after every ``migrate``/``flush``
    (post_migrate) so that databases emptied by a flush get them back.
    """
    for code, name in Department.Code.choices:
        Department.objects.get_or_create(code=code, defaults={"name": name})
    for role in Role.values:
        role_group(role)
    system_user()


def department_from(value) -> Department:
    """A ``Department`` from an instance or one of the nine codes (``ValidationError`` otherwise)."""
    if isinstance(value, Department):
        return value
    code = str(value or "").strip().upper()
    if code not in Department.Code.values:
        raise ValidationError(
            _("Unknown department %(code)s; use one of: %(codes)s.")
            % {"code": value or "—", "codes": ", ".join(Department.Code.values)},
            code="unknown_department",
        )
    department, _created = Department.objects.get_or_create(
        code=code, defaults={"name": Department.Code(code).label}
    )
    return department


def _forget_cached_roles(user: User) -> None:
    user.__dict__.pop("_expediente_roles", None)
    for attr in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(attr, None)


def _lock_user(user: User) -> User:
    return User.objects.select_for_update().get(pk=user.pk)


def _role_or_error(role: str, field: str = "role") -> str:
    try:
        return Role(role).value
    except ValueError:
        raise ValidationError(
            {field: [_("Unknown role %(role)s.") % {"role": role}]}, code="unknown_role"
        ) from None


# --- Users, roles and scopes ------------------------------------------------------------------------


@transaction.atomic
def create_user(
    *,
    actor: User,
    username: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    roles=(),
    unit: Unit | None = None,
) -> User:
    """Create a user (administrators and the system user), with its roles and unit."""
    require(actor, "registry.manage_users")
    roles = [_role_or_error(r, "roles") for r in roles]
    user = User(
        username=(username or "").strip(),
        first_name=first_name,
        last_name=last_name,
        email=(email or "").strip(),
        unit=unit,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    errors: dict[str, list] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if unit is not None and set(roles) & ALL_STAFF_ROLES:
        errors.setdefault("unit", []).append(
            ValidationError(_("Staff users do not belong to a productive unit."), code="staff_unit")
        )
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError(
            {"username": [_("A user with that username already exists.")]}, code="unique"
        ) from None
    audit.record(
        AuditAction.USER_CREATED,
        actor=actor,
        subject=user,
        data={"username": user.username, "roles": sorted(roles), "unit": unit.pk if unit else None},
    )
    for role in roles:
        grant_role(user, role, actor=actor)
    return user


@transaction.atomic
def grant_role(user: User, role: str, *, actor: User) -> bool:
    """Give ``user`` a role (its group). Returns False (and records nothing) if it already had it."""
    role = _role_or_error(role)
    require(actor, "registry.manage_users", user)
    locked = _lock_user(user)
    group = role_group(role)
    if locked.groups.filter(pk=group.pk).exists():
        return False
    if role in ALL_STAFF_ROLES and locked.unit_id:
        raise ValidationError(
            {"role": [_("Members of a productive unit cannot hold staff roles.")]}, code="staff_unit"
        )
    with services_write_permissions():
        locked.groups.add(group)
        if role == Role.ADMIN:
            # The administrator role configures the system through the Django admin site.
            locked.is_staff = locked.is_superuser = True
            locked.save(update_fields=["is_staff", "is_superuser"])
    _forget_cached_roles(user)
    audit.record(
        AuditAction.ROLE_GRANTED,
        actor=actor,
        subject=locked,
        data={"role": role, **({"admin_site": True} if role == Role.ADMIN else {})},
    )
    return True


@transaction.atomic
def revoke_role(user: User, role: str, *, actor: User) -> bool:
    """Take a role away. Returns False (and records nothing) if the user did not hold it."""
    role = _role_or_error(role)
    require(actor, "registry.manage_users", user)
    group = role_group(role)
    if role == Role.ADMIN:
        # Before the user's row: the audit entry's actor (another administrator) is a foreign key to
        # a user row that a concurrent revocation may hold; one lock order, no deadlock.
        Group.objects.select_for_update().filter(pk=group.pk).first()
    locked = _lock_user(user)
    if not locked.groups.filter(pk=group.pk).exists():
        return False
    if role == Role.ADMIN:
        _keep_one_administrator(locked, group)
    with services_write_permissions():
        locked.groups.remove(group)
        if role == Role.ADMIN:
            locked.is_staff = locked.is_superuser = False
            locked.save(update_fields=["is_staff", "is_superuser"])
    _forget_cached_roles(user)
    audit.record(AuditAction.ROLE_REVOKED, actor=actor, subject=locked, data={"role": role})
    return True


def check_administrator_kept(user: User, *, active: bool, administrator: bool, field: str) -> None:
    """For a change made outside the services (the Django admin site's user form, which can
    deactivate a user or take the administrators' group away): refuse it, on ``field``, when it would
    leave no active administrator. Locks the administrators' group row first, as ``revoke_role`` does,
    so two such changes at once are decided one after the other. Call it inside the change's
    transaction."""
    if user.pk is None or (active and administrator):
        return
    group = role_group(Role.ADMIN)
    Group.objects.select_for_update().filter(pk=group.pk).first()
    current = User.objects.filter(pk=user.pk, is_active=True, groups=group).exists()
    if current:
        try:
            _keep_one_administrator(user, group)
        except ValidationError as refused:
            raise ValidationError({field: refused.error_dict["role"]}) from None


def _keep_one_administrator(user: User, admin_group: Group) -> None:
    """Refuse to take the administrator role from the last active person who holds it: nobody could
    grant it again (only an administrator manages users). The caller has locked the administrators'
    group row, so two administrators revoking each other at once are decided one after the other and
    the second sees the first's revocation."""
    others = admin_group.user_set.filter(is_active=True).exclude(pk=user.pk).exclude(username=SYSTEM_USERNAME)
    if not others.exists():
        message = _(
            "This is the last active administrator: grant the role to someone else before taking it away."
        )
        raise ValidationError({"role": [ValidationError(message, code="last_administrator")]})


@transaction.atomic
def grant_department_scope(user: User, department, *, actor: User) -> bool:
    """Scope a staff user to a department (guardian object permission). A user with no department
    scope is national; with scopes it sees only units and cases of those departments."""
    department = _department_field(department)
    require(actor, "registry.manage_users", user)
    locked = _lock_user(user)
    if _holds_department_scope(locked, department):
        return False
    with services_write_permissions():
        assign_perm(DEPARTMENT_PERMISSION, locked, department)
    _forget_cached_roles(user)
    audit.record(AuditAction.SCOPE_GRANTED, actor=actor, subject=locked, data={"department": department.code})
    return True


@transaction.atomic
def revoke_department_scope(user: User, department, *, actor: User) -> bool:
    department = _department_field(department)
    require(actor, "registry.manage_users", user)
    locked = _lock_user(user)
    if not _holds_department_scope(locked, department):
        return False
    with services_write_permissions():
        remove_perm(DEPARTMENT_PERMISSION, locked, department)
    _forget_cached_roles(user)
    audit.record(AuditAction.SCOPE_REVOKED, actor=actor, subject=locked, data={"department": department.code})
    return True


def _holds_department_scope(user: User, department: Department) -> bool:
    """The user's own (not group-held) department permission; explicit, since ``has_perm`` is
    always True for superusers."""
    return DepartmentUserObjectPermission.objects.filter(
        user=user, permission__codename="work_in_department", content_object=department
    ).exists()


def _department_field(value) -> Department:
    try:
        return department_from(value)
    except ValidationError as exc:
        raise ValidationError({"department": exc.messages}, code="unknown_department") from None


def token_expires_at(token: Token) -> dt.datetime:
    return token.created + settings.API_TOKEN_TTL


def token_expired(token: Token) -> bool:
    return timezone.now() >= token_expires_at(token)


@transaction.atomic
def issue_api_token(user: User) -> Token:
    """The API token of an authenticated user: the one they hold while it is valid, else a new one
    (valid for ``API_TOKEN_TTL`` from now)."""
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and not token_expired(token):
        return token
    if token is not None:
        token.delete()
    return Token.objects.create(user=user)


@transaction.atomic
def reset_password(user: User, new_password: str) -> User:
    """The end of a password reset by e-mail (the link proved the person holds the address): the new
    password, the account's API token revoked, its login lockout lifted, and the audit entry."""
    from axes.models import AccessAttempt

    user = _lock_user(user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    Token.objects.filter(user=user).delete()
    AccessAttempt.objects.filter(username=user.get_username()).delete()
    audit.record("auth.password_reset", actor=user, subject=user, data={"username": user.get_username()})
    return user


@transaction.atomic
def revoke_api_token(user: User, *, actor: User, reason: str) -> bool:
    """Delete the user's API token (logging out, a password reset, an administrator). False if they
    held none. ``reason`` is a code: ``logout``, ``password_reset``, ``admin``."""
    if actor.pk != user.pk:
        require(actor, "registry.manage_users")
    deleted, _rows = Token.objects.filter(user=user).delete()
    if not deleted:
        return False
    audit.record(
        "auth.token_revoked",
        actor=actor,
        subject=user,
        data={"username": user.get_username(), "reason": reason},
    )
    return True


# --- Productive units -------------------------------------------------------------------------------


def _unit_errors(unit: Unit, *, exclude: list[str]) -> dict[str, list]:
    errors: dict[str, list] = {}
    try:
        unit.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        errors.update(exc.error_dict)
    if "tax_id" not in errors and Unit.objects.filter(tax_id=unit.tax_id).exclude(pk=unit.pk).exists():
        errors["tax_id"] = [_duplicate_nit(unit.tax_id)]
    return errors


def _duplicate_nit(tax_id: str) -> ValidationError:
    return ValidationError(
        _("A productive unit with NIT %(nit)s is already registered.") % {"nit": tax_id}, code="unique"
    )


def _save_unit(unit: Unit) -> None:
    try:
        with tx.block():
            unit.save()
    except IntegrityError:  # a concurrent registration of the same NIT won
        raise ValidationError({"tax_id": [_duplicate_nit(unit.tax_id)]}) from None


def _unit_snapshot(unit: Unit) -> dict[str, Any]:
    return {
        "tax_id": unit.tax_id,
        "name": unit.name,
        "kind": unit.kind,
        "department": unit.department.code,
        "municipality": unit.municipality,
        "sector": unit.sector,
        "registration_valid_until": unit.registration_valid_until,
    }


@tx.atomic
def register_unit(
    *,
    actor: User,
    tax_id: str,
    name: str,
    kind: str,
    department,
    municipality: str,
    sector: str,
    registration_valid_until: dt.date | None = None,
    imported: bool = False,
) -> Unit:
    """Register a productive unit; its registration is valid one year from today unless given.

    An applicant without a unit registers its own and becomes its member. ``imported``: a unit of
    the agency's existing registry (``registry.imports``), whose registration may have lapsed already.
    """
    errors: dict[str, list] = {}
    try:
        dept = department_from(department)
    except ValidationError as exc:
        dept = None
        errors["department"] = exc.error_list
    caller = actor
    self_registration = has_role(actor, Role.APPLICANT) and not _is_staff(actor)
    if self_registration:
        actor = _lock_user(actor)  # re-read: one unit per applicant, even under concurrent requests
    require(actor, "registry.register_unit", dept)
    if registration_valid_until is None:
        registration_valid_until = one_year_after(today())
    elif registration_valid_until < today() and not imported:
        errors["registration_valid_until"] = [
            ValidationError(_("The registration cannot end in the past."), code="past")
        ]
    unit = Unit(
        tax_id=(tax_id or "").strip(),
        name=(name or "").strip(),
        kind=kind,
        department=dept,
        municipality=(municipality or "").strip(),
        sector=sector,
        registration_valid_until=registration_valid_until,
        registered_at=timezone.now(),  # the services' clock, as the trail's (the field's default is bound)
    )
    # The department is a row just read (``department_from``), or already an error: not checked again.
    errors = {**_unit_errors(unit, exclude=["department"]), **errors}
    if errors:
        raise ValidationError(errors)
    _save_unit(unit)
    snapshot = _unit_snapshot(unit)
    if imported:
        snapshot["imported"] = True
    audit.record(AuditAction.UNIT_REGISTERED, actor=actor, subject=unit, data=snapshot)
    if self_registration:
        actor.unit = unit
        actor.save(update_fields=["unit"])
        caller.unit = unit
        audit.record(
            AuditAction.UNIT_MEMBER_ADDED,
            actor=actor,
            subject=unit,
            data={"user": actor.pk, "username": actor.username},
        )
    return unit


def unit_data_errors(data: dict) -> dict[str, list]:
    """What is wrong with the data of a unit to be registered (``UNIT_FIELDS``), as field -> errors
    (empty: it can be registered now). Nothing is written: a registration case checks the data an
    applicant gives before an officer approves it (``register_unit`` checks it again then)."""
    errors: dict[str, list] = {}
    unknown = sorted(set(data) - set(UNIT_FIELDS))
    for field in unknown:
        errors[field] = [_("This field cannot be changed here.")]
    try:
        dept = department_from(data.get("department"))
    except ValidationError as exc:
        dept = None
        errors["department"] = exc.error_list
    unit = Unit(
        **{f: str(data.get(f) or "").strip() for f in UNIT_FIELDS if f != "department"},
        department=dept,
        registration_valid_until=today(),
    )
    return {**_unit_errors(unit, exclude=["department"] if dept is None else []), **errors}


@tx.atomic
def add_member(unit: Unit, user: User, *, actor: User) -> User:
    """Make ``user`` (an applicant with no unit) a member of ``unit``: e.g. when the registration it
    applied for is approved. Audited (``unit.member_added``)."""
    require(actor, "registry.update_unit", unit)
    # One conditional UPDATE claims the person for the unit (it row-locks the user on PostgreSQL,
    # as the read under lock did); only when it changes nothing is the reason read.
    if not User.objects.filter(pk=user.pk, unit__isnull=True).update(unit=unit):
        user = User.objects.get(pk=user.pk)
        if user.unit_id == unit.pk:
            return user
        raise ValidationError({"user": [_("This person already belongs to another productive unit.")]})
    user.unit = unit
    audit.record(
        AuditAction.UNIT_MEMBER_ADDED,
        actor=actor,
        subject=unit,
        data={"user": user.pk, "username": user.username},
    )
    return user


def _is_staff(user: User) -> bool:
    return is_staff_member(user) or is_system_user(user)


@transaction.atomic
def update_unit(unit: Unit, *, actor: User, **fields) -> Unit:
    """Change registration data (NIT, name, kind, department, municipality, sector)."""
    unknown = sorted(set(fields) - set(UNIT_FIELDS))
    if unknown:
        raise ValidationError({f: [_("This field cannot be changed here.")] for f in unknown})
    unit = Unit.objects.select_for_update().select_related("department").get(pk=unit.pk)
    require(actor, "registry.update_unit", unit)
    errors: dict[str, list] = {}
    before = _unit_snapshot(unit)
    for field, value in fields.items():
        if field == "department":
            try:
                unit.department = department_from(value)
            except ValidationError as exc:
                errors["department"] = exc.error_list
        else:
            setattr(unit, field, value.strip() if isinstance(value, str) else value)
    if "department" not in errors:
        require(actor, "registry.update_unit", unit)  # the new department must be in scope too
    errors = {**_unit_errors(unit, exclude=["department"] if "department" in errors else []), **errors}
    if errors:
        raise ValidationError(errors)
    after = _unit_snapshot(unit)
    changes = {k: [before[k], after[k]] for k in UNIT_FIELDS if before[k] != after[k]}
    if not changes:
        return unit
    _save_unit(unit)
    audit.record(AuditAction.UNIT_UPDATED, actor=actor, subject=unit, data={"changes": changes})
    return unit


@transaction.atomic
def renew_registration(unit: Unit, *, actor: User, until: dt.date | None = None) -> Unit:
    """Renew a unit's registration: valid one year from today unless ``until`` is given."""
    unit = Unit.objects.select_for_update().select_related("department").get(pk=unit.pk)
    require(actor, "registry.renew_registration", unit)
    if until is None:
        until = one_year_after(today())
    if until < today():
        raise ValidationError({"until": [_("The registration cannot end in the past.")]}, code="past")
    previous = unit.registration_valid_until
    unit.registration_valid_until = until
    unit.save(update_fields=["registration_valid_until", "updated_at"])
    audit.record(
        AuditAction.UNIT_REGISTRATION_RENEWED,
        actor=actor,
        subject=unit,
        data={"from": previous, "until": until},
    )
    return unit
