"""Writes on registrations. Every state change goes through ``workflows.services.transition``
(permission, FSM, exit hooks, audit entry and the flow in step, in the caller's transaction); the
officer's review and the applicant's answer are decided via ``approvals.services.complete_task``
whose handlers live in ``registrations.steps``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

import audit
from audit.actions import AuditAction
from cases import documents
from cases.errors import Conflict
from cases.permissions import require
from registry.models import Unit
from registry.services import UNIT_FIELDS, department_from, unit_data_errors
from workflows import answering
from workflows.services import case_action, next_case_code, transition

from . import conditions
from .actions import RegistrationAction
from .models import (
    FINAL_STATES,
    OPEN_STATES,
    Document,
    DocumentKind,
    Registration,
    RegistrationKind,
    RegistrationState,
)

S = RegistrationState
KIND = "registration"


def _lock(registration: Registration | int) -> Registration:
    pk = registration.pk if isinstance(registration, Registration) else registration
    return (
        Registration.objects.select_for_update(of=("self",)).select_related("unit", "department").get(pk=pk)
    )


def _clean_unit_data(raw) -> dict:
    if not isinstance(raw, dict):
        raise ValidationError({"unit_data": [_("Give the unit's data as an object.")]})
    data = {f: str(raw.get(f) or "").strip() for f in UNIT_FIELDS}
    data["department"] = data["department"].upper()
    errors = unit_data_errors(data)
    unknown = sorted(set(raw) - set(UNIT_FIELDS))
    for field in unknown:
        errors[field] = [_("Unknown field.")]
    if errors:
        raise ValidationError({f"unit_data.{field}": msgs for field, msgs in errors.items()})
    return data


@transaction.atomic
def create_registration(*, actor, kind: str, unit: Unit | None = None, unit_data=None) -> Registration:
    """A draft registration: ``new`` (``unit_data``: the unit's tax id, name, legal form,
    department, municipality and sector; the applicant has no unit yet) or ``renewal`` (of the
    applicant's own unit, before or after it lapses). One open registration per unit (or NIT)."""
    if kind not in RegistrationKind.values:
        raise ValidationError({"kind": [_('Choose "new" or "renewal".')]})
    if kind == RegistrationKind.RENEWAL:
        if unit is None:
            raise ValidationError({"unit": [_("Say which unit's registration is renewed.")]})
        require(actor, "registrations.renew", unit)
        if Registration.objects.filter(unit=unit, state__in=OPEN_STATES).exists():
            raise Conflict(_("This unit already has a registration in progress."))
        data: dict = {}
        department = unit.department
    else:
        require(actor, "registrations.create_new")
        data = _clean_unit_data(unit_data)
        if Registration.objects.filter(
            kind=RegistrationKind.NEW, unit_data__tax_id=data["tax_id"], state__in=OPEN_STATES
        ).exists():
            raise Conflict(
                _("A registration of NIT %(nit)s is already in progress.") % {"nit": data["tax_id"]}
            )
        if Registration.objects.filter(
            applicant=actor, kind=RegistrationKind.NEW, state__in=OPEN_STATES
        ).exists():
            raise Conflict(_("You already have a registration of a new unit in progress."))
        department = department_from(data["department"])
        unit = None
    registration = Registration.objects.create(
        code=next_case_code("REG"),
        kind=kind,
        unit=unit,
        unit_data=data,
        department=department,
        applicant=actor,
    )
    audit.record(
        RegistrationAction.CREATED,
        actor=actor,
        subject=registration,
        data={"kind": kind, "unit": unit.pk if unit else None, "unit_data": data},
    )
    return registration


@transaction.atomic
def upload_document(registration: Registration, *, actor, kind: str, uploaded_file) -> Document:
    """Store a PDF/JPEG/PNG (checked by content), size-limited, with its SHA-256 in the trail."""
    registration = _lock(registration)
    require(actor, "registrations.upload", registration)
    if registration.state in FINAL_STATES:
        raise Conflict(_("This case is finished; no more documents can be added."))
    upload = documents.receive(kind, DocumentKind.values, uploaded_file)
    document = documents.store(Document(registration=registration, kind=kind, uploaded_by=actor), upload)
    audit.record(AuditAction.DOCUMENT_UPLOADED, actor=actor, subject=registration, data=document.audit_data())
    return document


def missing_for_submission(registration: Registration) -> dict[str, list[str]]:
    return conditions.submission_problems(registration)


def submit_registration(registration: Registration, *, actor) -> Registration:
    """Send the draft to the registry officers of its department (its review task)."""
    from approvals.notifications import after_case_started

    from .flow import RegistrationFlow

    with transaction.atomic():
        registration = _lock(registration)
        require(actor, "registrations.submit", registration)
        if registration.state != S.DRAFT:
            raise Conflict(_("Registration %(code)s was already submitted.") % {"code": registration.code})
        problems = missing_for_submission(registration)
        if problems:
            raise ValidationError(problems)
        if registration.kind == RegistrationKind.NEW:
            _clean_unit_data(registration.unit_data)  # still a free NIT, a known department…
        transition(registration, "submit", actor=actor)
        RegistrationFlow.start.run(case=registration)
        after_case_started(KIND, registration.pk)
    return registration


def withdraw_registration(registration: Registration, *, actor, reason: str = "") -> Registration:
    with case_action(KIND, registration.pk) as registration:
        require(actor, "registrations.withdraw", registration)
        transition(registration, "withdraw", actor=actor, data={"reason": (reason or "").strip()[:2000]})
    return registration


def no_observation(registration: Registration) -> str:
    return _("Registration %(code)s has no observation waiting for an answer.") % {"code": registration.code}


def open_observation_task(registration: Registration):
    """The applicant's open ``answer_observation`` task of the registration, or ``None``."""
    return answering.open_observation_task(KIND, registration.pk)


def answer_observation(registration: Registration, *, actor, answer: str, files: dict | None = None):
    """The applicant's whole answer to an observation, in ONE transaction (``workflows.answering``):
    the new documents (``upload_document``, ``files``: kind -> uploaded file; each a new document
    beside the earlier ones of its kind, which stay on record) and the answer (the
    ``answer_observation`` task decided through ``approvals.services.complete_task``, which sends the
    registration back to review when it meets every rule of a submission). Any error rolls back all of
    it; a bad file is reported on ``document_<kind>``."""
    return answering.answer_observation(
        KIND,
        registration,
        actor=actor,
        answer=answer,
        files=files,
        upload_document=upload_document,
        no_task=no_observation(registration),
    )
