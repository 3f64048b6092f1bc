"""A small registry office: officers of two departments, applicants with and without a unit, all
created through the services."""

import datetime as dt
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from approvals import services as approvals
from registrations import services
from registry import services as registry
from tests.factories import UnitFactory, UserFactory
from workflows.models import CaseTask

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
UNIT_DATA = {
    "tax_id": "4567891",
    "name": "Asociación de Lecheros de Achacachi",
    "kind": "association",
    "department": "LPZ",
    "municipality": "Achacachi",
    "sector": "dairy",
}


@dataclass
class Office:
    system: object
    officer: object  # evaluator, La Paz scope
    officer2: object  # evaluator, La Paz scope
    far_officer: object  # evaluator, Santa Cruz only
    director: object
    newcomer: object  # applicant without a unit
    unit: object
    member: object  # applicant member of ``unit`` (La Paz)
    control: object


@pytest.fixture
def office(db) -> Office:
    system = registry.system_user()
    unit = UnitFactory(department="LPZ", name="Taller Textil Illimani", registration_valid_until=None)
    officer = UserFactory(username="registrador1", roles=["evaluator"])
    officer2 = UserFactory(username="registrador2", roles=["evaluator"])
    far = UserFactory(username="registrador_scz", roles=["evaluator"])
    registry.grant_department_scope(officer, "LPZ", actor=system)
    registry.grant_department_scope(officer2, "LPZ", actor=system)
    registry.grant_department_scope(far, "SCZ", actor=system)
    return Office(
        system=system,
        officer=officer,
        officer2=officer2,
        far_officer=far,
        director=UserFactory(username="director1", roles=["director"]),
        newcomer=UserFactory(username="nuevo1", roles=["applicant"]),
        unit=unit,
        member=UserFactory(username="socio1", roles=["applicant"], unit=unit),
        control=UserFactory(username="control1", roles=["internal_control"]),
    )


def pdf(name="doc.pdf"):
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def ready_new(office, **data):
    r = services.create_registration(actor=office.newcomer, kind="new", unit_data={**UNIT_DATA, **data})
    for kind in r.required_documents:
        services.upload_document(r, actor=office.newcomer, kind=kind, uploaded_file=pdf())
    return r


def ready_renewal(office):
    r = services.create_registration(actor=office.member, kind="renewal", unit=office.unit)
    for kind in r.required_documents:
        services.upload_document(r, actor=office.member, kind=kind, uploaded_file=pdf())
    return r


def open_task(registration, step):
    return CaseTask.objects.get(case_code=registration.code, step=step, is_open=True)


def decide(registration, step, user, decision="approve", comment="", **data):
    return approvals.complete_task(
        open_task(registration, step).pk, actor=user, decision=decision, comment=comment, data=data
    )


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)
