"""Shared test factories (factory_boy). They create state through the services, as the system user
unless an ``actor`` is given, so objects made here carry the same audit entries as real ones.

    unit = UnitFactory(department="SCZ")
    ana = UserFactory(roles=[Role.APPLICANT], unit=unit)
    fin = UserFactory(roles=[Role.FINANCE])
    line = BudgetLineFactory(amount_in_force=Decimal("1000.00"))
"""

from __future__ import annotations

from decimal import Decimal

import factory

from budget import services as budget_services
from budget.models import BudgetLine, FundingSource, Program
from registry import services as registry_services
from registry.models import Unit, User

DEMO_PASSWORD = "demo-pass-123"


def _actor(kwargs: dict):
    return kwargs.pop("actor", None) or registry_services.system_user()


class UnitFactory(factory.Factory):
    class Meta:
        model = Unit

    tax_id = factory.Sequence(lambda n: str(1_000_001 + n))
    name = factory.Sequence(lambda n: f"Unidad productiva {n}")
    kind = Unit.Kind.ASSOCIATION
    department = "LPZ"
    municipality = "La Paz"
    sector = Unit.Sector.DAIRY

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return registry_services.register_unit(actor=_actor(kwargs), **kwargs)


class UserFactory(factory.Factory):
    """``UserFactory(roles=["finance"])``; applicants: ``UserFactory(roles=["applicant"], unit=u)``.
    The password is ``DEMO_PASSWORD`` unless given (``password=None``: unusable)."""

    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    password = DEMO_PASSWORD
    first_name = ""
    last_name = ""
    email = ""
    roles: tuple = ()
    unit = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return registry_services.create_user(actor=_actor(kwargs), **kwargs)


class ApplicantFactory(UserFactory):
    """An applicant member of a (new) unit."""

    roles = ("applicant",)
    unit = factory.SubFactory(UnitFactory)


class ProgramFactory(factory.Factory):
    class Meta:
        model = Program

    code = factory.Sequence(lambda n: f"PROG{n}")
    name = factory.Sequence(lambda n: f"Programa {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return budget_services.create_program(actor=_actor(kwargs), **kwargs)


class FundingSourceFactory(factory.Factory):
    class Meta:
        model = FundingSource

    code = factory.Sequence(lambda n: str(100 + n))
    name = factory.Sequence(lambda n: f"Fuente {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return budget_services.create_source(actor=_actor(kwargs), **kwargs)


class BudgetLineFactory(factory.Factory):
    class Meta:
        model = BudgetLine

    fiscal_year = 2026
    program = factory.SubFactory(ProgramFactory)
    source = factory.SubFactory(FundingSourceFactory)
    amount_in_force = Decimal("100000.00")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return budget_services.create_budget_line(actor=_actor(kwargs), **kwargs)
