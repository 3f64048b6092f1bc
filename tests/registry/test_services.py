import datetime as dt

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.signals import m2m_changed, post_save
from django.utils import translation

from audit.actions import AuditAction as A
from audit.flags import in_service_permission_write
from cases.roles import Role, roles_of
from registry import services
from registry.models import Department, DepartmentUserObjectPermission, Unit, User
from registry.selectors import department_scope_ids
from tests.factories import UnitFactory, UserFactory
from tests.registry.conftest import actions

pytestmark = pytest.mark.django_db

UNIT = {
    "tax_id": "1020304",
    "name": "Asociación de Lecheros de Warnes",
    "kind": Unit.Kind.ASSOCIATION,
    "department": "SCZ",
    "municipality": "Warnes",
    "sector": Unit.Sector.DAIRY,
}


@pytest.fixture
def admin():
    return UserFactory(username="admin1", roles=[Role.ADMIN])


# --- Reference data -----------------------------------------------------------------------------------


def test_reference_data_exists_after_migrate():
    assert sorted(Department.objects.values_list("code", flat=True)) == sorted(Department.Code.values)
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)
    system = User.objects.get(username="system")
    assert not system.has_usable_password()
    assert services.system_user() == system


def test_one_year_after_handles_leap_day():
    assert services.one_year_after(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)
    assert services.one_year_after(dt.date(2026, 11, 25)) == dt.date(2027, 11, 25)


# --- Users, roles, scopes -------------------------------------------------------------------------------


def test_create_user_records_user_and_each_role(admin, new_audit):
    new_audit()
    user = services.create_user(actor=admin, username="finanzas9", password="x-secret-9", roles=["finance"])
    assert user.check_password("x-secret-9")
    assert roles_of(user) == {"finance"}
    entries = new_audit()
    assert actions(entries) == [A.USER_CREATED, A.ROLE_GRANTED]
    assert entries[0].data == {"username": "finanzas9", "roles": ["finance"], "unit": None}
    assert entries[1].data == {"role": "finance"} and entries[1].actor == admin


def test_create_user_needs_admin_or_system(new_audit):
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    new_audit()
    with pytest.raises(PermissionDenied):
        services.create_user(actor=evaluator, username="intruso", roles=["admin"])
    assert not User.objects.filter(username="intruso").exists()
    assert new_audit() == []


def test_create_user_bad_input_in_spanish(admin, new_audit):
    unit = UnitFactory()
    new_audit()
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.create_user(actor=admin, username="admin1")
    assert exc.value.message_dict["username"] == ["Ya existe un usuario con este nombre."]
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.create_user(actor=admin, username="nuevo", roles=["king"])
    assert exc.value.message_dict["roles"] == ["Rol desconocido king."]
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.create_user(actor=admin, username="nuevo", roles=["evaluator"], unit=unit)
    assert exc.value.message_dict["unit"] == ["El personal no pertenece a una unidad productiva."]
    assert not User.objects.filter(username="nuevo").exists()
    assert new_audit() == []


def test_grant_and_revoke_role_are_audited_and_idempotent(admin, new_audit):
    user = UserFactory(roles=[])
    new_audit()
    assert services.grant_role(user, Role.LEGAL, actor=admin) is True
    assert services.grant_role(user, Role.LEGAL, actor=admin) is False
    assert roles_of(user) == {"legal"}
    assert services.revoke_role(user, Role.LEGAL, actor=admin) is True
    assert services.revoke_role(user, Role.LEGAL, actor=admin) is False
    assert roles_of(User.objects.get(pk=user.pk)) == frozenset()
    entries = new_audit()
    assert actions(entries) == [A.ROLE_GRANTED, A.ROLE_REVOKED]
    assert all(e.subject_id == str(user.pk) and e.data == {"role": "legal"} for e in entries)


def test_role_and_scope_changes_set_the_service_flag(admin):
    """The audit trail's own receivers record group/permission changes made outside services; while
    a service changes them, ``in_service_permission_write()`` is True so nothing is recorded twice."""
    seen = []

    def on_groups(sender, action, **kwargs):
        if action in ("post_add", "post_remove"):
            seen.append(("groups", action, in_service_permission_write()))

    def on_perm(sender, created, **kwargs):
        seen.append(("perm", created, in_service_permission_write()))

    m2m_changed.connect(on_groups, sender=User.groups.through)
    post_save.connect(on_perm, sender=DepartmentUserObjectPermission)
    try:
        user = UserFactory(roles=[])
        services.grant_role(user, Role.EVALUATOR, actor=admin)
        services.revoke_role(user, Role.EVALUATOR, actor=admin)
        services.grant_department_scope(user, "ORU", actor=admin)
    finally:
        m2m_changed.disconnect(on_groups, sender=User.groups.through)
        post_save.disconnect(on_perm, sender=DepartmentUserObjectPermission)
    assert seen == [("groups", "post_add", True), ("groups", "post_remove", True), ("perm", True, True)]
    assert in_service_permission_write() is False


def test_department_scope_grant_and_revoke(admin, new_audit):
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    assert department_scope_ids(evaluator) is None
    new_audit()
    assert services.grant_department_scope(evaluator, "LPZ", actor=admin) is True
    assert (
        services.grant_department_scope(evaluator, Department.objects.get(code="LPZ"), actor=admin) is False
    )
    assert department_scope_ids(evaluator) == {Department.objects.get(code="LPZ").pk}
    assert services.revoke_department_scope(evaluator, "LPZ", actor=admin) is True
    assert department_scope_ids(evaluator) is None
    entries = new_audit()
    assert actions(entries) == [A.SCOPE_GRANTED, A.SCOPE_REVOKED]
    assert entries[0].data == {"department": "LPZ"}


def test_scope_for_unknown_department_is_refused(admin):
    user = UserFactory(roles=[Role.EVALUATOR])
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.grant_department_scope(user, "XYZ", actor=admin)
    assert "Departamento desconocido XYZ" in exc.value.message_dict["department"][0]


def test_only_admins_change_roles():
    finance = UserFactory(roles=[Role.FINANCE])
    other = UserFactory(roles=[])
    with pytest.raises(PermissionDenied):
        services.grant_role(other, Role.ADMIN, actor=finance)
    with pytest.raises(PermissionDenied):
        services.grant_role(finance, Role.ADMIN, actor=finance)
    assert roles_of(User.objects.get(pk=finance.pk)) == {"finance"}


def test_unit_members_cannot_become_staff(admin):
    member = UserFactory(roles=[Role.APPLICANT], unit=UnitFactory())
    with pytest.raises(ValidationError):
        services.grant_role(member, Role.FINANCE, actor=admin)


# --- Units ------------------------------------------------------------------------------------------------


def test_admin_registers_unit_valid_one_year(admin, new_audit):
    new_audit()
    unit = services.register_unit(actor=admin, **UNIT)
    assert unit.department.code == "SCZ"
    assert unit.registration_valid_until == services.one_year_after(services.today())
    assert unit.registration_is_valid()
    entries = new_audit()
    assert actions(entries) == [A.UNIT_REGISTERED]
    assert entries[0].data == {
        **UNIT,
        "registration_valid_until": unit.registration_valid_until.isoformat(),
    }
    assert entries[0].subject_type == "registry.unit" and entries[0].subject_id == str(unit.pk)


def test_a_unit_is_registered_at_the_time_of_its_audit_entry(admin, new_audit, monkeypatch):
    """The registration date is the services' clock (``timezone.now``), the one the audit trail reads:
    the model field's default is bound at import and would ignore a clock the services run under (the
    year 2020 built in ``tests/reports/test_year_proof.py`` counted its 2019 units as 2020's)."""
    from django.utils import timezone

    at = dt.datetime(2020, 3, 2, 14, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: at)
    new_audit()
    unit = services.register_unit(actor=admin, **UNIT)
    [entry] = new_audit()
    assert Unit.objects.get(pk=unit.pk).registered_at == at == entry.at


def test_evaluator_registers_only_in_its_departments(admin):
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    services.grant_department_scope(evaluator, "LPZ", actor=admin)
    with pytest.raises(PermissionDenied):
        services.register_unit(actor=evaluator, **UNIT)  # SCZ
    unit = services.register_unit(actor=evaluator, **{**UNIT, "department": "LPZ"})
    assert unit.department.code == "LPZ"


@pytest.mark.parametrize("role", [Role.FINANCE, Role.LEGAL, Role.DIRECTOR, Role.INTERNAL_CONTROL])
def test_other_staff_cannot_register_units(role, new_audit):
    user = UserFactory(roles=[role])
    new_audit()
    with pytest.raises(PermissionDenied):
        services.register_unit(actor=user, **UNIT)
    assert not Unit.objects.filter(tax_id=UNIT["tax_id"]).exists()
    assert new_audit() == []


def test_applicant_without_unit_registers_its_own_and_becomes_member(new_audit):
    applicant = UserFactory(roles=[Role.APPLICANT])
    new_audit()
    unit = services.register_unit(actor=applicant, **UNIT)
    assert applicant.unit == unit
    assert User.objects.get(pk=applicant.pk).unit_id == unit.pk
    entries = new_audit()
    assert actions(entries) == [A.UNIT_REGISTERED, A.UNIT_MEMBER_ADDED]
    assert entries[1].data == {"user": applicant.pk, "username": applicant.username}
    # One unit per applicant: a second registration is refused.
    with pytest.raises(PermissionDenied):
        services.register_unit(actor=applicant, **{**UNIT, "tax_id": "7654321"})
    assert new_audit() == []


def test_stale_applicant_object_cannot_register_twice():
    applicant = UserFactory(roles=[Role.APPLICANT])
    stale = User.objects.get(pk=applicant.pk)
    services.register_unit(actor=applicant, **UNIT)
    with pytest.raises(PermissionDenied):
        services.register_unit(actor=stale, **{**UNIT, "tax_id": "7654321"})
    assert Unit.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"tax_id": "0123456"}, "tax_id", "Introduzca un NIT válido: de 7 a 12 dígitos, sin empezar con 0."),
        ({"tax_id": "12AB567"}, "tax_id", "Introduzca un NIT válido: de 7 a 12 dígitos, sin empezar con 0."),
        ({"department": "XYZ"}, "department", "Departamento desconocido XYZ; use uno de: "),
        ({"kind": "sociedad"}, "kind", "no es una opción válida"),
        ({"name": "  "}, "name", "Este campo no puede estar vacío."),
    ],
)
def test_bad_unit_input_is_refused_in_spanish(admin, new_audit, changes, field, message):
    new_audit()
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.register_unit(actor=admin, **{**UNIT, **changes})
    assert message in exc.value.message_dict[field][0]
    assert Unit.objects.count() == 0
    assert new_audit() == []


def test_bad_input_reports_every_field_at_once(admin):
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.register_unit(actor=admin, **{**UNIT, "tax_id": "1", "department": "", "sector": "x"})
    assert set(exc.value.message_dict) == {"tax_id", "department", "sector"}


def test_duplicate_nit_is_refused_in_spanish(admin, new_audit):
    services.register_unit(actor=admin, **UNIT)
    new_audit()
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        services.register_unit(actor=admin, **{**UNIT, "name": "Otra"})
    assert exc.value.message_dict["tax_id"] == [
        "Ya está registrada una unidad productiva con el NIT 1020304."
    ]
    assert Unit.objects.count() == 1
    assert new_audit() == []


def test_registration_cannot_end_in_the_past(admin):
    with pytest.raises(ValidationError) as exc:
        services.register_unit(
            actor=admin, **UNIT, registration_valid_until=services.today() - dt.timedelta(days=1)
        )
    assert "registration_valid_until" in exc.value.message_dict


def test_update_unit_records_the_changes(admin, new_audit):
    unit = services.register_unit(actor=admin, **UNIT)
    new_audit()
    services.update_unit(unit, actor=admin, name="Lecheros de Warnes", department="CBB")
    unit.refresh_from_db()
    assert (unit.name, unit.department.code) == ("Lecheros de Warnes", "CBB")
    entries = new_audit()
    assert actions(entries) == [A.UNIT_UPDATED]
    assert entries[0].data == {
        "changes": {"name": [UNIT["name"], "Lecheros de Warnes"], "department": ["SCZ", "CBB"]}
    }
    # No change: no entry.
    services.update_unit(unit, actor=admin, name="Lecheros de Warnes")
    assert new_audit() == []


def test_update_unit_refuses_unknown_fields_and_duplicates(admin, new_audit):
    unit = services.register_unit(actor=admin, **UNIT)
    other = UnitFactory()
    new_audit()
    with pytest.raises(ValidationError) as exc:
        services.update_unit(unit, actor=admin, registration_valid_until=dt.date(2040, 1, 1))
    assert "registration_valid_until" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.update_unit(unit, actor=admin, tax_id=other.tax_id)
    assert "tax_id" in exc.value.message_dict
    unit.refresh_from_db()
    assert unit.tax_id == UNIT["tax_id"]
    assert new_audit() == []


def test_scoped_evaluator_cannot_move_unit_out_of_its_departments(admin):
    unit = services.register_unit(actor=admin, **{**UNIT, "department": "LPZ"})
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    services.grant_department_scope(evaluator, "LPZ", actor=admin)
    with pytest.raises(PermissionDenied):
        services.update_unit(unit, actor=evaluator, department="SCZ")
    unit.refresh_from_db()
    assert unit.department.code == "LPZ"


def test_renew_registration(admin, new_audit):
    unit = services.register_unit(
        actor=admin, **UNIT, registration_valid_until=services.today() + dt.timedelta(days=3)
    )
    applicant = UserFactory(roles=[Role.APPLICANT], unit=unit)
    new_audit()
    services.renew_registration(unit, actor=admin)
    unit.refresh_from_db()
    assert unit.registration_valid_until == services.one_year_after(services.today())
    entries = new_audit()
    assert actions(entries) == [A.UNIT_REGISTRATION_RENEWED]
    assert entries[0].data["until"] == unit.registration_valid_until.isoformat()
    with pytest.raises(ValidationError):
        services.renew_registration(unit, actor=admin, until=services.today() - dt.timedelta(days=1))
    with pytest.raises(PermissionDenied):
        services.renew_registration(unit, actor=applicant)
    assert new_audit() == []
