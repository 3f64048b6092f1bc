"""A small agency: one PROLECHE call, a budget line, two applicant units and staff of every role
(enough people for the four-eyes rules), all created through the services."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from budget import services as budget_services
from iniciativas import services as ini
from registry import services as registry_services
from tests.factories import UnitFactory, UserFactory

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
RUBRIC = [
    {
        "code": "relevance",
        "label": "Pertinencia",
        "max": 40,
        "text": "¿Resuelve un problema real de la cuenca?",
    },
    {"code": "feasibility", "label": "Factibilidad", "max": 30},
    {"code": "impact", "label": "Impacto", "max": 30},
]
REQUIRED = ["project_profile", "counterpart_letter"]


@dataclass
class World:
    system: object
    line: object
    call: object
    unit: object
    other_unit: object
    applicant: object
    other_applicant: object
    staff: dict


@pytest.fixture
def world(db) -> World:
    return make_world()


def make_world() -> World:
    """The world of the fixture above, for a module-scoped fixture (see ``module_db``)."""
    system = registry_services.system_user()
    program = budget_services.create_program(actor=system, code="PROLECHE", name="Fondo PROLECHE")
    source = budget_services.create_source(
        actor=system, code="42", name="Transferencias de recursos específicos"
    )
    year = timezone.localdate().year
    line = budget_services.create_budget_line(
        actor=system, fiscal_year=year, program=program, source=source, amount_in_force=Decimal("1000000.00")
    )
    today = timezone.localdate()
    call = ini.create_call(
        actor=system,
        code=f"PROLECHE-{year}-1",
        title="Fondo PROLECHE",
        program=program,
        opens_on=today - dt.timedelta(days=10),
        closes_on=today + dt.timedelta(days=60),
        max_amount=Decimal("150000.00"),
        min_counterpart_share=Decimal("0.50"),
        required_documents=REQUIRED,
        rubric=RUBRIC,
        threshold=Decimal("60"),
        evaluators=2,
        disagreement_points=Decimal("20"),
        tranche_plan=[40, 40, 20],
    )
    unit = UnitFactory(department="SCZ", name="Asociación de Lecheros de Warnes")
    other_unit = UnitFactory(department="PTS", name="Taller Textil Potosí")
    staff = {}
    for role, names in {
        "evaluator": ["evaluador1", "evaluador2", "evaluador3", "evaluador4"],
        "legal": ["legal1", "legal2"],
        "finance": ["finanzas1", "finanzas2", "finanzas3"],
        "director": ["director1", "director2"],
        "internal_control": ["control1"],
        "admin": ["admin1"],
    }.items():
        for name in names:
            staff[name] = UserFactory(username=name, roles=[role])
    return World(
        system=system,
        line=line,
        call=call,
        unit=unit,
        other_unit=other_unit,
        applicant=UserFactory(username="solicitante1", roles=["applicant"], unit=unit),
        other_applicant=UserFactory(username="solicitante2", roles=["applicant"], unit=other_unit),
        staff=staff,
    )


def pdf(name="perfil.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def draft(world: World, **overrides):
    fields = {
        "unit": world.unit,
        "call": world.call,
        "title": "Tanque de enfriamiento para la asociación",
        "summary": "Compra e instalación de un tanque de enfriamiento de 2.000 litros.",
        "department": "SCZ",
        "requested_amount": "100000.00",
        "counterpart_amount": "100000.00",
    }
    fields.update(overrides)
    return ini.create_initiative(actor=world.applicant, **fields)


def submitted(world: World, **overrides):
    initiative = draft(world, **overrides)
    for kind in REQUIRED:
        ini.upload_document(initiative, actor=world.applicant, kind=kind, uploaded_file=pdf())
    return ini.submit_initiative(initiative, actor=world.applicant)
