import pytest

from audit.models import AuditEntry
from registry import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_role_opens_the_admin_site_and_revoking_closes_it(client):
    admin1 = UserFactory(username="admin1", roles=["admin"])
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
