"""Logins, failed logins, logouts and permission changes reach the trail -- once each."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from guardian.shortcuts import assign_perm, remove_perm

from audit import context
from audit.models import AuditEntry
from registry import services as registry_services
from registry.models import Department, User
from tests.factories import DEMO_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def entries(action: str):
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def test_login_through_the_login_page_records_ip_and_request_id(client):
    user = UserFactory(username="evaluador1")
    response = client.post(
        reverse("login"),
        {"username": "evaluador1", "password": DEMO_PASSWORD},
        HTTP_X_REQUEST_ID="req-login-0001",
        REMOTE_ADDR="10.9.8.7",
    )
    assert response.status_code == 302
    (entry,) = entries("auth.login")
    assert (entry.actor_id, entry.subject_id, entry.data) == (
        user.pk,
        str(user.pk),
        {"username": "evaluador1"},
    )
    assert (entry.ip, entry.request_id) == ("10.9.8.7", "req-login-0001")
    client.post(reverse("logout"))
    (logout,) = entries("auth.logout")
    assert logout.actor_id == user.pk


def test_failed_login_records_the_username_never_the_password(client):
    user = UserFactory(username="finanzas1")
    secret = "Wr0ng-Secret-Value"
    assert not client.login(username="finanzas1", password=secret)
    assert not client.login(username="nadie", password=secret)
    known, unknown = entries("auth.login_failed")
    # Whoever tried is not known (not the account's owner): no actor; the account tried is the subject.
    assert (known.actor_id, known.actor_label, known.data) == (None, "anonymous", {"username": "finanzas1"})
    assert (known.subject_type, known.subject_id) == ("registry.user", str(user.pk))
    assert (unknown.actor_id, unknown.actor_label, unknown.data) == (None, "anonymous", {"username": "nadie"})
    assert (unknown.subject_type, unknown.subject_id) == ("", "")
    assert known.actor_display == "anónimo"  # shown translated (Spanish by default)
    for entry in (known, unknown):
        stored = f"{entry.data} {entry.actor_label} {entry.subject_label}"
        assert secret not in stored and "*****" not in stored


def test_api_token_login_and_failure_are_recorded(client):
    UserFactory(username="legal1")
    assert client.post("/api/v1/auth/token/", {"username": "legal1", "password": "bad"}).status_code == 400
    assert (
        client.post("/api/v1/auth/token/", {"username": "legal1", "password": DEMO_PASSWORD}).status_code
        == 200
    )
    assert len(entries("auth.login_failed")) == 1
    assert len(entries("auth.login")) == 1


def test_role_granted_by_a_service_is_recorded_once():
    user = UserFactory(username="eva")
    before = len(entries("auth.role_granted"))
    registry_services.grant_role(user, "evaluator", actor=registry_services.system_user())
    granted = entries("auth.role_granted")[before:]
    assert [e.data for e in granted] == [{"role": "evaluator"}]  # the service's entry, no duplicate


def test_group_changes_outside_services_are_recorded_with_the_request_user():
    admin = UserFactory(username="admin1", roles=["admin"])
    user = UserFactory(username="eva")
    group = registry_services.role_group("finance")
    token = context.set_current(context.RequestContext(request_id="r-123456789", ip="10.0.0.1", user=admin))
    try:
        user.groups.add(group)
        group.user_set.remove(user)
        user.groups.add(group, registry_services.role_group("legal"))
        user.groups.clear()
    finally:
        context.reset(token)
    changes = [
        (e.action, e.data["role"], e.subject_id, e.actor_id, e.data["outside_services"])
        for e in AuditEntry.objects.filter(subject_id=str(user.pk), action__startswith="auth.role").order_by(
            "seq"
        )
        if e.data.get("outside_services")
    ]
    uid = str(user.pk)
    assert changes[:2] == [
        ("auth.role_granted", "finance", uid, admin.pk, True),
        ("auth.role_revoked", "finance", uid, admin.pk, True),
    ]
    assert sorted(changes[2:4]) == [
        ("auth.role_granted", "finance", uid, admin.pk, True),
        ("auth.role_granted", "legal", uid, admin.pk, True),
    ]
    assert sorted(changes[4:]) == [
        ("auth.role_revoked", "finance", uid, admin.pk, True),
        ("auth.role_revoked", "legal", uid, admin.pk, True),
    ]


def test_group_change_in_the_django_admin(client):
    admin = User.objects.create_superuser("root", "root@example.org", DEMO_PASSWORD)
    user = UserFactory(username="eva", first_name="Eva", last_name="Mamani")
    group = registry_services.role_group("director")
    client.force_login(admin)
    url = reverse("admin:registry_user_change", args=[user.pk])
    form = {
        "username": "eva",
        "first_name": "Eva",
        "last_name": "Mamani",
        "email": "",
        "is_active": "on",
        "groups": [str(group.pk)],
        "user_permissions": [],
        "date_joined_0": user.date_joined.strftime("%d/%m/%Y"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "last_login_0": "",
        "last_login_1": "",
        "unit": "",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.context["adminform"].errors if response.context else response
    (entry,) = [e for e in entries("auth.role_granted") if e.data.get("outside_services")]
    assert (entry.actor_id, entry.subject_id, entry.data["role"]) == (admin.pk, str(user.pk), "director")
    assert entry.ip == "127.0.0.1"


def test_direct_permissions_outside_services_are_recorded():
    user = UserFactory(username="eva")
    group = registry_services.role_group("legal")
    perm = Permission.objects.get(codename="view_unit")
    user.user_permissions.add(perm)
    group.permissions.add(perm)
    user.user_permissions.remove(perm)
    granted = [(e.subject_type, e.data["permission"]) for e in entries("auth.permission_granted")]
    assert granted == [("registry.user", "registry.view_unit"), ("auth.group", "registry.view_unit")]
    assert [e.data["permission"] for e in entries("auth.permission_revoked")] == ["registry.view_unit"]


def test_object_permissions_outside_services_are_recorded_once_through_services():
    user = UserFactory(username="eva", roles=["evaluator"])
    department = Department.objects.get(code="SCZ")
    system = registry_services.system_user()
    registry_services.grant_department_scope(user, department, actor=system)
    by_service = entries("auth.scope_granted")
    assert [e.data for e in by_service] == [{"department": "SCZ"}]
    remove_perm("registry.work_in_department", user, department)
    assign_perm("registry.work_in_department", Group.objects.get(name="legal"), department)
    revoked = entries("auth.scope_revoked")
    assert [(e.actor_id, e.data["object"], e.data["outside_services"]) for e in revoked] == [
        (system.pk, str(department), True)
    ]
    group_grant = entries("auth.scope_granted")[-1]
    assert group_grant.data["group"] == "legal"
    assert group_grant.data["permission"] == "registry.work_in_department"
