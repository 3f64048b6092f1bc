import pytest
from django.test import Client

from audit.actions import AuditAction as A
from budget.models import Program
from registry import services
from registry.models import Unit, User
from tests.registry.conftest import actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client():
    user = User.objects.create_superuser("root", "root@example.org", "root-pass-123")
    client = Client()
    client.force_login(user)
    return client, user


def test_admin_writes_units_through_the_services(superuser_client, new_audit):
    client, root = superuser_client
    new_audit()
    department = services.department_from("CBB")
    response = client.post(
        "/admin/registry/unit/add/",
        {
            "tax_id": "4455667",
            "name": "Cooperativa Quillacollo",
            "kind": "cooperative",
            "department": department.pk,
            "municipality": "Quillacollo",
            "sector": "dairy",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    unit = Unit.objects.get(tax_id="4455667")
    assert unit.registration_valid_until == services.one_year_after(services.today())
    entries = [e for e in new_audit() if not e.action.startswith("auth.")]
    assert actions(entries) == [A.UNIT_REGISTERED] and entries[0].actor == root

    response = client.post(
        f"/admin/registry/unit/{unit.pk}/change/",
        {
            "tax_id": "4455667",
            "name": "Cooperativa Lechera Quillacollo",
            "kind": "cooperative",
            "department": department.pk,
            "municipality": "Quillacollo",
            "sector": "dairy",
        },
    )
    assert response.status_code == 302
    entries = new_audit()
    assert actions(entries) == [A.UNIT_UPDATED]
    assert entries[0].data == {
        "changes": {"name": ["Cooperativa Quillacollo", "Cooperativa Lechera Quillacollo"]}
    }


def test_admin_creates_programs_through_the_service(superuser_client, new_audit):
    client, _ = superuser_client
    new_audit()
    response = client.post("/admin/budget/program/add/", {"code": "PROBOLIVIA", "name": "Administración"})
    assert response.status_code == 302
    assert Program.objects.get().code == "PROBOLIVIA"
    assert actions(new_audit()) == [A.PROGRAM_CREATED]
    assert client.get("/admin/budget/budgetline/").status_code == 200
    assert client.get("/admin/budget/budgetmovement/").status_code == 200
    assert client.get("/admin/registry/department/").status_code == 200


def test_superusers_can_hold_scopes(superuser_client):
    _, root = superuser_client
    admin = services.create_user(actor=services.system_user(), username="admin9", roles=["admin"])
    assert services.grant_department_scope(root, "TJA", actor=admin) is True
