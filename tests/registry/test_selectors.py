import pytest
from guardian.shortcuts import assign_perm

from cases.roles import Role
from registry import services
from registry.models import Department, Unit
from registry.selectors import department_scope_ids, unit_get_for, unit_list_for
from tests.factories import UnitFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def units():
    return {
        "lpz": UnitFactory(department="LPZ"),
        "scz": UnitFactory(department="SCZ"),
        "pts": UnitFactory(department="PTS"),
    }


def test_applicant_sees_only_its_own_unit(units):
    ana = UserFactory(roles=[Role.APPLICANT], unit=units["lpz"])
    assert list(unit_list_for(ana)) == [units["lpz"]]
    assert unit_get_for(ana, units["lpz"].pk) == units["lpz"]
    with pytest.raises(Unit.DoesNotExist):
        unit_get_for(ana, units["scz"].pk)


def test_applicant_without_unit_and_users_without_roles_see_nothing(units):
    assert list(unit_list_for(UserFactory(roles=[Role.APPLICANT]))) == []
    assert list(unit_list_for(UserFactory(roles=[]))) == []


def test_inactive_and_anonymous_see_nothing(units):
    from django.contrib.auth.models import AnonymousUser

    admin = UserFactory(roles=[Role.ADMIN])
    admin.is_active = False
    assert list(unit_list_for(admin)) == []
    assert list(unit_list_for(AnonymousUser())) == []
    assert department_scope_ids(AnonymousUser()) == set()


@pytest.mark.parametrize(
    "role", [Role.EVALUATOR, Role.LEGAL, Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL, Role.ADMIN]
)
def test_national_staff_see_every_unit(units, role):
    user = UserFactory(roles=[role])
    assert department_scope_ids(user) is None
    assert set(unit_list_for(user)) == set(units.values())


def test_scoped_staff_see_only_their_departments(units):
    admin = UserFactory(roles=[Role.ADMIN])
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    services.grant_department_scope(evaluator, "LPZ", actor=admin)
    services.grant_department_scope(evaluator, "PTS", actor=admin)
    assert set(unit_list_for(evaluator)) == {units["lpz"], units["pts"]}
    with pytest.raises(Unit.DoesNotExist):
        unit_get_for(evaluator, units["scz"].pk)


def test_group_held_department_scope_counts(units):
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    group = services.role_group(Role.EVALUATOR)
    assign_perm("registry.work_in_department", group, Department.objects.get(code="SCZ"))
    assert department_scope_ids(evaluator) == {Department.objects.get(code="SCZ").pk}
    assert list(unit_list_for(evaluator)) == [units["scz"]]


def test_unit_list_query_count(units, django_assert_max_num_queries):
    evaluator = UserFactory(roles=[Role.EVALUATOR])
    with django_assert_max_num_queries(4):
        rows = [(u.name, u.department.code) for u in unit_list_for(evaluator)]
    assert len(rows) == 3
