"""PROLECHE and one dairy company: a budget line, staff of every role (enough for four eyes), the
company's applicant member; everything created through the services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from approvals import services as approvals
from budget import services as budget_services
from compensations import services
from compensations.models import CompensationAgreement, Settlement
from registry import services as registry_services
from tests.factories import UnitFactory, UserFactory
from workflows.models import CaseTask

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name="planilla.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def month_shift(day: dt.date, months: int) -> dt.date:
    m0 = day.month - 1 + months
    return dt.date(day.year + m0 // 12, m0 % 12 + 1, 1)


@dataclass
class Dairy:
    system: object
    line: object
    unit: object
    member: object
    outsider: object
    staff: dict

    @property
    def this_month(self) -> dt.date:
        return timezone.localdate().replace(day=1)

    def past(self, n: int) -> dt.date:
        """The first day of the month ``n`` months ago (ended when n ≥ 1)."""
        return month_shift(self.this_month, -n)


@pytest.fixture
def dairy(db) -> Dairy:
    return make_dairy()


def make_dairy(amount_in_force=Decimal("1000000.00")) -> Dairy:
    system = registry_services.system_user()
    program = budget_services.create_program(actor=system, code="PROLECHE", name="Fondo PROLECHE")
    source = budget_services.create_source(actor=system, code="41", name="Tesoro General de la Nación")
    line = budget_services.create_budget_line(
        actor=system,
        fiscal_year=timezone.localdate().year,
        program=program,
        source=source,
        amount_in_force=amount_in_force,
    )
    unit = UnitFactory(department="LPZ", name="Planta Lechera Achacachi")
    other = UnitFactory(department="LPZ", name="Lácteos Otra")
    staff = {}
    for role, names in {
        "evaluator": ["tecnico1", "tecnico2"],
        "finance": ["finanzas1", "finanzas2"],
        "director": ["director1"],
    }.items():
        for name in names:
            staff[name] = UserFactory(username=name, roles=[role])
    return Dairy(
        system=system,
        line=line,
        unit=unit,
        member=UserFactory(username="lechera1", roles=["applicant"], unit=unit),
        outsider=UserFactory(username="otro1", roles=["applicant"], unit=other),
        staff=staff,
    )


def open_task(case, step: str) -> CaseTask:
    return CaseTask.objects.get(case_code=case.code, step=step, is_open=True)


def decide(case, step: str, actor, decision="approve", comment="", **data):
    return approvals.complete_task(
        open_task(case, step).pk, actor=actor, decision=decision, comment=comment, data=data
    )


def new_agreement(dairy: Dairy, *, rate="0.40", ceiling="10000.00", months_back=6, months_ahead=6):
    return services.create_agreement(
        actor=dairy.staff["tecnico1"],
        unit=dairy.unit,
        budget_line=dairy.line,
        rate=rate,
        first_month=dairy.past(months_back),
        last_month=month_shift(dairy.this_month, months_ahead),
        ceiling=ceiling,
    )


def active_agreement(dairy: Dairy, **kwargs) -> CompensationAgreement:
    agreement = new_agreement(dairy, **kwargs)
    decide(agreement, "budget_certification", dairy.staff["finanzas1"])
    decide(
        agreement, "director_resolution", dairy.staff["director1"], resolution_number="RA-PROLECHE-001/2026"
    )
    agreement.refresh_from_db()
    return agreement


def declared(dairy: Dairy, agreement, months_ago: int = 1, litres="1000.00") -> Settlement:
    return services.declare_settlement(
        agreement, actor=dairy.member, month=dairy.past(months_ago), litres=litres, evidence=pdf()
    )


def verified(dairy: Dairy, agreement, months_ago: int = 1, litres="1000.00") -> Settlement:
    settlement = declared(dairy, agreement, months_ago, litres)
    decide(settlement, "settlement_verification", dairy.staff["tecnico2"])
    settlement.refresh_from_db()
    return settlement
