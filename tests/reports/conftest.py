"""A small budget of a closed fiscal year (last year) with real ledger moves, through the services.

    source 10  PROLECHE  in force 1.000,00  reserve 600, commit 600, execute 400 (case INI-…-000042)
    source 80  PROLECHE  in force 2.000,00  operating expenditure 153,75
    source 80  PROMYPE   in force   500,00  reserve/commit/execute/pay 500, refund 100 → executed 400
    source 10  CETIP     in force     0,00  (nothing in force: no percentage)

By source: 10 → 1.000,00 / 400,00 (40,0 %); 80 → 2.500,00 / 553,75 (22,15 → 22,2 %).
By program: CETIP 0 / 0 (—); PROLECHE 3.000,00 / 553,75 (18,5 %); PROMYPE 500,00 / 400,00 (80,0 %).
Total 3.500,00 / 953,75 / 2.546,25: 27,25 % → 27,3 % half-up (half-even would say 27,2).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from budget import services as budget
from cases.roles import Role
from iniciativas.models import Initiative
from reports.selectors import current_fiscal_year
from tests.factories import (
    BudgetLineFactory,
    FundingSourceFactory,
    ProgramFactory,
    UnitFactory,
    UserFactory,
)

D = Decimal


@dataclass
class World:
    year: int
    finance: object
    lines: dict
    case: Initiative


@pytest.fixture
def finance():
    return UserFactory(roles=[Role.FINANCE])


def user_with(role: str):
    if role == Role.APPLICANT:
        return UserFactory(roles=[role], unit=UnitFactory())
    return UserFactory(roles=[role])


def api_client(user=None, language: str = "es") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    if user is not None:
        client.force_authenticate(user)
    return client


def make_world(year: int, finance) -> World:
    prol = ProgramFactory(code="PROLECHE", name="Fondo PROLECHE")
    promype = ProgramFactory(code="PROMYPE", name="Apoyo a micro y pequeñas empresas (PROMYPE)")
    cetip = ProgramFactory(code="CETIP", name="Centros de Tecnología (CETIP)")
    tgn = FundingSourceFactory(code="10", name="Tesoro General de la Nación")
    ext = FundingSourceFactory(code="80", name="Donación Externa")
    lines = {
        "PROLECHE/10": BudgetLineFactory(
            fiscal_year=year, program=prol, source=tgn, amount_in_force=D("1000.00")
        ),
        "PROLECHE/80": BudgetLineFactory(
            fiscal_year=year, program=prol, source=ext, amount_in_force=D("2000.00")
        ),
        "PROMYPE/80": BudgetLineFactory(
            fiscal_year=year, program=promype, source=ext, amount_in_force=D("500.00")
        ),
        "CETIP/10": BudgetLineFactory(fiscal_year=year, program=cetip, source=tgn, amount_in_force=D("0.00")),
    }
    # An initiative reference (the ledger keeps its content type, id and code); no case journey needed.
    case = Initiative(pk=42, code=f"INI-{year}-000042")
    line = lines["PROLECHE/10"]
    budget.reserve(line, D("600.00"), actor=finance, case=case)
    budget.commit(line, D("600.00"), actor=finance, case=case)
    budget.execute(line, D("400.00"), actor=finance, case=case)
    budget.record_expenditure(
        lines["PROLECHE/80"],
        actor=finance,
        amount=D("153.75"),
        date=dt.date(year, 12, 31) if year < current_fiscal_year() else dt.date(year, 1, 1),
        description="Servicios básicos",
    )

    class Ref:  # a case known by its code only (no page of its own)
        case_code = f"TRF-{year}-000007"

    line = lines["PROMYPE/80"]
    for move in (budget.reserve, budget.commit, budget.execute, budget.pay):
        move(line, D("500.00"), actor=finance, case=Ref())
    budget.refund(line, D("100.00"), actor=finance, case=Ref())
    return World(year=year, finance=finance, lines=lines, case=case)


@pytest.fixture
def world(db, finance) -> World:
    """The closed fiscal year (last year)."""
    return make_world(current_fiscal_year() - 1, finance)
