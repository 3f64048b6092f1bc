"""Which cases a staff member sees: its department scope AND its program scope (a PROLECHE-scoped
evaluator never reads a PROMYPE case, in the lists, on the case pages or through the API)."""

from decimal import Decimal

import pytest
from django.test import Client
from rest_framework.test import APIClient

from budget import services as budget_services
from iniciativas.selectors import initiative_list_for
from tests.factories import UserFactory
from tests.iniciativas.conftest import submitted, world  # noqa: F401  (fixture)
from transfers import services as transfer_services
from transfers.selectors import transfer_list_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def promype(world):  # noqa: F811
    program = budget_services.create_program(actor=world.system, code="PROMYPE", name="PROMYPE")
    budget_services.create_budget_line(
        actor=world.system,
        fiscal_year=world.line.fiscal_year,
        program=program,
        source=world.line.source,
        amount_in_force=Decimal("500000.00"),
    )
    return program


def money_transfer(world, program):  # noqa: F811
    return transfer_services.create_transfer(
        actor=world.applicant,
        beneficiary=world.unit,
        modality="money",
        kind="public_private",
        program=program,
        amount=Decimal("20000.00"),
        purpose="Capital de trabajo",
    )


def test_program_scope_limits_the_cases_staff_see(world, promype):  # noqa: F811
    initiative = submitted(world)  # PROLECHE (its call's program)
    prolech_transfer = money_transfer(world, world.call.program)
    promype_transfer = money_transfer(world, promype)
    scoped = UserFactory(username="evaluador_promype", roles=["evaluator"])
    budget_services.grant_program_scope(scoped, promype, actor=world.staff["admin1"])
    unscoped = world.staff["evaluador1"]

    assert list(initiative_list_for(scoped)) == []
    assert list(transfer_list_for(scoped)) == [promype_transfer]
    assert list(initiative_list_for(unscoped)) == [initiative]
    assert set(transfer_list_for(unscoped)) == {prolech_transfer, promype_transfer}

    web = Client()
    web.force_login(scoped)
    assert web.get(f"/initiatives/{initiative.pk}/").status_code == 404
    assert web.get(f"/transfers/{prolech_transfer.pk}/").status_code == 404
    assert web.get(f"/transfers/{promype_transfer.pk}/").status_code == 200
    api = APIClient()
    api.force_authenticate(scoped)
    assert api.get(f"/api/v1/initiatives/{initiative.pk}/").status_code == 404
    assert api.get(f"/api/v1/transfers/{prolech_transfer.pk}/").status_code == 404
    assert api.get(f"/api/v1/transfers/{promype_transfer.pk}/").status_code == 200


def test_internal_control_sees_every_program_whatever_its_scope(world, promype):  # noqa: F811
    control = world.staff["control1"]
    budget_services.grant_program_scope(control, promype, actor=world.staff["admin1"])
    initiative = submitted(world)
    assert list(initiative_list_for(control)) == [initiative]
