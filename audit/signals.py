"""Events the trail records from Django signals: logins, failed logins, logouts, and permission
changes made outside the application's services.

Permission grants (PRODUCT.md section 6): the services of ``registry`` and ``budget`` (``grant_role``,
``grant_department_scope``, ``grant_program_scope``, ...) write their own entries and wrap their group and
permission changes in ``audit.flags.services_write_permissions()``; these receivers skip everything
done inside that block, so each change is recorded exactly once. Whatever changes groups or
permissions elsewhere -- the Django admin, a shell, a fixture -- is recorded here, with
``"outside_services": true`` in the entry's data and the request's user (or the system user) as actor:

- ``User.groups`` (either side of the relation): ``auth.role_granted`` / ``auth.role_revoked``;
- ``User.user_permissions`` and ``Group.permissions``: ``auth.permission_granted`` / ``..._revoked``;
- django-guardian object permissions (every concrete ``UserObjectPermissionBase`` /
  ``GroupObjectPermissionBase`` model): ``auth.scope_granted`` / ``auth.scope_revoked``.

Failed logins record the username attempted -- never the password -- with no actor (whoever tried is
not known: it is not the account's owner) and the actor label ``anonymous``; the account attempted is
the subject when that username exists.
"""

from __future__ import annotations

import logging

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_delete, post_save

from . import context
from .actions import AuditAction
from .chain import record
from .flags import in_service_permission_write

logger = logging.getLogger(__name__)
_OUTSIDE = {"outside_services": True}
ANONYMOUS_LABEL = "anonymous"  # stored (and hashed) as is: a code, not a translated text


def _change_actor():
    """Who made a change seen by a signal: the request's user, else the named system user."""
    user = context.current().user
    if user is not None and getattr(user, "is_authenticated", False) and getattr(user, "pk", None):
        return user
    try:
        from cases.users import system_user
    except ImportError:  # pragma: no cover - registry always present in this project
        return None
    return system_user()


# --- Authentication ---------------------------------------------------------------------------------


def on_logged_in(sender, request, user, **kwargs):
    record(AuditAction.LOGIN, actor=user, subject=user, data={"username": user.get_username()})


def on_logged_out(sender, request, user, **kwargs):
    if user is not None and getattr(user, "pk", None):
        record(AuditAction.LOGOUT, actor=user, subject=user, data={"username": user.get_username()})


def on_login_failed(sender, credentials, request=None, **kwargs):
    user_model = get_user_model()
    username = credentials.get(user_model.USERNAME_FIELD, credentials.get("username", ""))
    username = str(username or "").replace("\x00", "")[:150]
    user = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if username
        else None
    )
    record(
        AuditAction.LOGIN_FAILED,
        actor=None,
        actor_label_override=ANONYMOUS_LABEL,
        subject=user,
        data={"username": username},
    )


# --- Groups and permissions -------------------------------------------------------------------------


def _perm_name(perm: Permission) -> str:
    return f"{perm.content_type.app_label}.{perm.codename}"


def _m2m_receiver(kind: str):
    """A receiver for one m2m relation: ``groups`` (user<->group), ``user_perms`` (user<->permission)
    or ``group_perms`` (group<->permission)."""

    def receiver(sender, instance, action, reverse, model, pk_set, **kwargs):
        if in_service_permission_write():
            return
        if action == "pre_clear":
            related = {
                "groups": ("user_set", "groups"),
                "user_perms": ("user_set", "user_permissions"),
                "group_perms": ("group_set", "permissions"),
            }[kind][0 if reverse else 1]
            instance._audit_pre_clear = set(getattr(instance, related).values_list("pk", flat=True))
            return
        if action not in {"post_add", "post_remove", "post_clear"}:
            return
        if action == "post_clear":
            pk_set = getattr(instance, "_audit_pre_clear", set())
        if not pk_set:
            return
        granted = action == "post_add"
        others = list(model._default_manager.filter(pk__in=pk_set).order_by("pk"))
        actor = _change_actor()
        for other in others:
            owner, target = (other, instance) if reverse else (instance, other)
            if kind == "groups":
                action_code = AuditAction.ROLE_GRANTED if granted else AuditAction.ROLE_REVOKED
                data = {"role": target.name, **_OUTSIDE}
            else:
                action_code = AuditAction.PERMISSION_GRANTED if granted else AuditAction.PERMISSION_REVOKED
                holder = "user" if kind == "user_perms" else "group"
                data = {"permission": _perm_name(target), holder: str(owner), **_OUTSIDE}
            record(action_code, actor=actor, subject=owner, data=data)

    receiver.__name__ = f"audit_{kind}_changed"
    return receiver


def _object_permission_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw and not in_service_permission_write():
        _record_object_permission(instance, granted=True)


def _object_permission_deleted(sender, instance, **kwargs):
    if not in_service_permission_write():
        _record_object_permission(instance, granted=False)


def _record_object_permission(instance, *, granted: bool) -> None:
    holder = getattr(instance, "user", None) or getattr(instance, "group", None)
    target = getattr(instance, "content_object", None)
    data = {
        "permission": _perm_name(instance.permission),
        "object_type": target._meta.label_lower if target is not None else "",
        "object_id": str(getattr(target, "pk", "") or getattr(instance, "object_pk", "")),
        "object": str(target) if target is not None else "",
        **_OUTSIDE,
    }
    if isinstance(holder, Group):
        data["group"] = holder.name
    record(
        AuditAction.SCOPE_GRANTED if granted else AuditAction.SCOPE_REVOKED,
        actor=_change_actor(),
        subject=holder,
        data=data,
    )


_groups_changed = _m2m_receiver("groups")
_user_perms_changed = _m2m_receiver("user_perms")
_group_perms_changed = _m2m_receiver("group_perms")


def connect() -> None:
    """Connect every receiver (called once from ``AuditConfig.ready``)."""
    from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

    user_model = get_user_model()
    user_logged_in.connect(on_logged_in, dispatch_uid="audit_logged_in")
    user_logged_out.connect(on_logged_out, dispatch_uid="audit_logged_out")
    user_login_failed.connect(on_login_failed, dispatch_uid="audit_login_failed")
    m2m_changed.connect(_groups_changed, sender=user_model.groups.through, dispatch_uid="audit_groups")
    m2m_changed.connect(
        _user_perms_changed, sender=user_model.user_permissions.through, dispatch_uid="audit_user_perms"
    )
    m2m_changed.connect(
        _group_perms_changed, sender=Group.permissions.through, dispatch_uid="audit_group_perms"
    )
    for model in apps.get_models():
        if (
            issubclass(model, UserObjectPermissionBase | GroupObjectPermissionBase)
            and not model._meta.abstract
        ):
            uid = model._meta.label_lower
            post_save.connect(
                _object_permission_saved, sender=model, dispatch_uid=f"audit_objperm_save_{uid}"
            )
            post_delete.connect(
                _object_permission_deleted, sender=model, dispatch_uid=f"audit_objperm_del_{uid}"
            )
