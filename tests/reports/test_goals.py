"""Goals (metas) of the annual plan: written only through ``reports.services`` (administrators), each
write audited in the same transaction; the Django admin uses the same functions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from audit.models import AuditEntry
from cases.roles import Role
from reports import services
from reports.models import Goal, Indicator
from reports.selectors import attainment
from tests.factories import ProgramFactory, UserFactory

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    return UserFactory(roles=[Role.ADMIN])


def test_an_administrator_sets_a_goal_and_the_trail_says_so(admin_user):
    program = ProgramFactory(code="REGISTRO", name="Registro y acreditación")
    goal = services.save_goal(
        actor=admin_user,
        fiscal_year=2020,
        program=None,
        indicator=Indicator.UNITS_REGISTERED,
        target="1500",
        description="1.500 Mypes nuevas registradas",
    )
    assert goal.target == D("1500.00") and goal.program is None
    entry = AuditEntry.objects.get(action=services.GOAL_SAVED)
    assert entry.actor_id == admin_user.pk
    assert entry.data == {
        "before": None,
        "after": {
            "fiscal_year": 2020,
            "program": "",
            "indicator": "units_registered",
            "target": "1500.00",
            "description": "1.500 Mypes nuevas registradas",
        },
    }
    changed = services.save_goal(
        actor=admin_user,
        goal_id=goal.pk,
        fiscal_year=2020,
        program=None,
        indicator=Indicator.UNITS_REGISTERED,
        target=D("1400"),
        description="1.400 Mypes nuevas registradas",
    )
    assert changed.pk == goal.pk and Goal.objects.get().target == D("1400.00")
    latest = AuditEntry.objects.filter(action=services.GOAL_SAVED).latest("seq")
    assert latest.data["before"]["target"] == "1500.00" and latest.data["after"]["target"] == "1400.00"
    # Saving the same figures again changes nothing and writes nothing.
    services.save_goal(
        actor=admin_user,
        goal_id=goal.pk,
        fiscal_year=2020,
        program=None,
        indicator=Indicator.UNITS_REGISTERED,
        target="1400",
        description="1.400 Mypes nuevas registradas",
    )
    assert AuditEntry.objects.filter(action=services.GOAL_SAVED).count() == 2
    assert attainment(2020).total.row("units_registered").target == D("1400.00")

    services.delete_goal(goal.pk, actor=admin_user)
    assert not Goal.objects.exists()
    assert AuditEntry.objects.get(action=services.GOAL_DELETED).data["target"] == "1400.00"
    assert program.code == "REGISTRO"


@pytest.mark.parametrize("role", [Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL, Role.EVALUATOR])
def test_only_administrators_set_goals(role):
    with pytest.raises(PermissionDenied):
        services.save_goal(
            actor=UserFactory(roles=[role]),
            fiscal_year=2020,
            program=None,
            indicator=Indicator.INITIATIVES_CLOSED,
            target="10",
        )
    assert not Goal.objects.exists() and not AuditEntry.objects.filter(action=services.GOAL_SAVED).exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"target": "2.5"}, "target"),  # a count is whole
        ({"target": "0"}, "target"),
        ({"target": 10.0}, "target"),  # never a float
        ({"target": "mil"}, "target"),
        ({"fiscal_year": "1999"}, "fiscal_year"),
        ({"indicator": "happiness"}, "indicator"),
        ({"indicator": Indicator.UNITS_VALID, "with_program": True}, "program"),  # units: no program
        ({"indicator": Indicator.AMOUNT_PAID, "target": "10.005"}, "target"),
    ],
)
def test_bad_goals_are_refused_and_change_nothing(admin_user, fields, field):
    fields = dict(fields)
    program = ProgramFactory(code="PROLECHE") if fields.pop("with_program", False) else None
    values = {
        "fiscal_year": 2026,
        "program": program,
        "indicator": Indicator.INITIATIVES_CLOSED,
        "target": "10",
    }
    with pytest.raises(ValidationError) as refused:
        services.save_goal(actor=admin_user, **{**values, **fields})
    assert field in refused.value.message_dict
    assert not Goal.objects.exists() and not AuditEntry.objects.filter(action=services.GOAL_SAVED).exists()


def test_one_goal_per_year_program_and_indicator(admin_user):
    program = ProgramFactory(code="PROLECHE")
    values = {"fiscal_year": 2026, "indicator": Indicator.INITIATIVES_CLOSED, "target": "10"}
    services.save_goal(actor=admin_user, program=program, **values)
    services.save_goal(actor=admin_user, program=None, **values)  # the agency's goal is another one
    with pytest.raises(ValidationError) as refused:
        services.save_goal(actor=admin_user, program=program, **values)
    assert "indicator" in refused.value.message_dict
    with pytest.raises(ValidationError):
        services.save_goal(actor=admin_user, program=None, **values)
    assert Goal.objects.count() == 2


def test_the_admin_writes_through_the_service(admin_user):
    program = ProgramFactory(code="PROLECHE")
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/reports/goal/add/",
        {
            "fiscal_year": "2026",
            "program": str(program.pk),
            "indicator": "initiatives_closed",
            "target": "93",
            "description": "93 cierres de iniciativas",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    goal = Goal.objects.get()
    assert (goal.program_id, goal.target) == (program.pk, D("93.00"))
    assert AuditEntry.objects.get(action=services.GOAL_SAVED).actor_id == admin_user.pk
    # A count with decimals is refused by the form, nothing saved.
    response = client.post(
        f"/admin/reports/goal/{goal.pk}/change/",
        {
            "fiscal_year": "2026",
            "program": str(program.pk),
            "indicator": "initiatives_closed",
            "target": "9.5",
        },
    )
    assert response.status_code == 200 and Goal.objects.get().target == D("93.00")
    response = client.post(f"/admin/reports/goal/{goal.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Goal.objects.exists()
    assert AuditEntry.objects.filter(action=services.GOAL_DELETED).count() == 1


def test_the_admin_is_closed_to_other_roles():
    client = Client()
    client.force_login(UserFactory(roles=[Role.FINANCE]))
    assert client.get("/admin/reports/goal/").status_code in (302, 403)
