import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import close_old_connections, connection

from audit.models import AuditEntry
from registry import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_role_opens_the_admin_site_and_revoking_closes_it(client):
    admin1 = UserFactory(username="admin1", roles=["admin"])
    UserFactory(username="admin2", roles=["admin"])
    admin1.refresh_from_db()
    assert admin1.is_staff and admin1.is_superuser
    client.force_login(admin1)
    assert client.get("/admin/").status_code == 200
    services.revoke_role(admin1, "admin", actor=services.system_user())
    admin1.refresh_from_db()
    assert not (admin1.is_staff or admin1.is_superuser)
    assert client.get("/admin/").status_code == 302
    grant = AuditEntry.objects.filter(action="auth.role_granted", subject_id=str(admin1.pk)).get()
    assert grant.data == {"role": "admin", "admin_site": True}


def test_staff_roles_do_not_open_the_admin_site():
    evaluator = UserFactory(username="evaluador1", roles=["evaluator"])
    evaluator.refresh_from_db()
    assert not (evaluator.is_staff or evaluator.is_superuser)


def _revocations():
    return AuditEntry.objects.filter(action="auth.role_revoked").count()


def test_the_last_active_administrator_keeps_the_role():
    """Nobody could grant the role again: the revocation is refused on the field, changes nothing and
    writes nothing; an inactive administrator does not count as another one."""
    admin1 = UserFactory(username="admin1", roles=["admin"])
    old = UserFactory(username="admin_old", roles=["admin"])
    type(old).objects.filter(pk=old.pk).update(is_active=False)  # deactivated on the admin site
    before = _revocations()
    with pytest.raises(ValidationError) as refused:
        services.revoke_role(admin1, "admin", actor=admin1)
    assert refused.value.error_dict["role"][0].code == "last_administrator"
    admin1.refresh_from_db()
    assert admin1.groups.filter(name="admin").exists() and admin1.is_superuser
    assert _revocations() == before
    # With a second active administrator, one may leave the role (also their own).
    UserFactory(username="admin2", roles=["admin"])
    assert services.revoke_role(admin1, "admin", actor=admin1) is True
    assert _revocations() == before + 1


def test_the_staff_page_shows_the_refusal_next_to_the_role(client):
    admin1 = UserFactory(username="admin1", roles=["admin"])
    client.force_login(admin1)
    response = client.post(
        f"/config/staff/{admin1.pk}/roles/", {"role": "admin", "action": "revoke"}, HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.status_code == 400
    assert "último administrador activo" in response.content.decode()
    assert admin1.groups.filter(name="admin").exists()


@pytest.mark.django_db(transaction=True)
def test_two_administrators_revoking_each_other_at_once_leave_one():
    if connection.vendor != "postgresql":
        pytest.skip("a race needs PostgreSQL's row locks; SQLite serialises writers")
    admin1 = UserFactory(username="admin1", roles=["admin"])
    admin2 = UserFactory(username="admin2", roles=["admin"])
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def revoke(who, by):
        try:
            barrier.wait(5)
            outcome[who.username] = services.revoke_role(who, "admin", actor=by)
        except ValidationError as exc:
            outcome[who.username] = exc.error_dict["role"][0].code
        except Exception as exc:  # the actor lost the role to the other revocation first
            outcome[who.username] = f"{type(exc).__name__}: {exc}"
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=revoke, args=(admin1, admin2)),
        threading.Thread(target=revoke, args=(admin2, admin1)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # Exactly one revocation took effect; the other was refused (the last administrator keeps the role,
    # or its actor had just lost the role). Without the lock on the group both went through.
    assert len(outcome) == 2 and list(outcome.values()).count(True) == 1, outcome
    (refused,) = [value for value in outcome.values() if value is not True]
    # Which refusal depends on the timing: the later revocation finds the other administrator gone
    # (``last_administrator``), or, when it starts after the first committed, its actor no longer holds
    # the role (``PermissionDenied``). Either way, nothing of it is written.
    assert refused == "last_administrator" or str(refused).startswith("PermissionDenied"), outcome
    from registry.models import User

    assert User.objects.filter(groups__name="admin", is_active=True).count() == 1


def _admin_site_change(client, user, *, is_active=True, groups=None):
    """Post the admin site's user form as a browser would, with ``is_active`` and ``groups`` set."""
    groups = list(user.groups.values_list("pk", flat=True)) if groups is None else groups
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "groups": groups,
        "date_joined_0": user.date_joined.strftime("%d/%m/%Y"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        **({"is_active": "on"} if is_active else {}),
        **({"is_staff": "on"} if user.is_staff else {}),
        **({"is_superuser": "on"} if user.is_superuser else {}),
    }
    return client.post(f"/admin/registry/user/{user.pk}/change/", data)


@pytest.mark.parametrize("change", ["deactivate", "drop_group"])
def test_the_admin_site_cannot_leave_no_active_administrator(client, change):
    """The Django admin site's user form can deactivate a user or take a group away; for the last
    active administrator both are refused on the field, and nothing changes."""
    from django.contrib.auth.models import Group

    admin1 = UserFactory(username="admin1", roles=["admin"])
    client.force_login(admin1)
    changes = {"is_active": False} if change == "deactivate" else {"groups": []}
    response = _admin_site_change(client, admin1, **changes)
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors.as_data()
    field = "is_active" if change == "deactivate" else "groups"
    assert [e.code for e in errors[field]] == ["last_administrator"], errors
    assert "último administrador activo" in response.content.decode()
    admin1.refresh_from_db()
    assert admin1.is_active and admin1.groups.filter(name="admin").exists()
    # With a second active administrator the same change goes through.
    admin2 = UserFactory(username="admin2", roles=["admin"])
    assert admin2.is_active
    response = _admin_site_change(client, admin1, **changes)
    assert response.status_code == 302, response.content.decode()[:2000]
    admin1.refresh_from_db()
    if change == "deactivate":
        assert not admin1.is_active
    else:
        assert not admin1.groups.filter(pk=Group.objects.get(name="admin").pk).exists()
