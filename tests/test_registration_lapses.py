"""The daily job that records lapsed registrations (``registry.tasks.expire_registrations``)."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied

from audit.actions import AuditAction
from audit.models import AuditEntry
from cases.roles import Role
from registry.lapses import record_lapsed_registrations
from registry.services import create_user, register_unit, renew_registration, system_user, today
from registry.tasks import expire_registrations

pytestmark = pytest.mark.django_db
LAPSED = AuditAction.UNIT_REGISTRATION_LAPSED


def make_unit(tax_id: str, department: str, valid_until: dt.date):
    return register_unit(
        actor=system_user(),
        tax_id=tax_id,
        name=f"Unidad {tax_id}",
        kind="mype",
        department=department,
        municipality="El Alto",
        sector="wood",
        registration_valid_until=valid_until,
    )


def lapse_entries():
    return list(AuditEntry.objects.filter(action=LAPSED).order_by("seq"))


def test_task_records_each_lapse_once_as_the_system_user():
    on = today()
    ends_today = make_unit("1234567", "LPZ", on)
    make_unit("7654321", "ORU", on + dt.timedelta(days=1))
    tomorrow = (on + dt.timedelta(days=1)).isoformat()

    assert expire_registrations.apply(kwargs={"on": on.isoformat()}).get() == 0  # still valid today
    # .delay(): in-process in every test run (tests/conftest.py), even when a broker is configured
    assert expire_registrations.delay(on=tomorrow).get() == 1
    entries = lapse_entries()
    assert [(e.subject_id, e.actor.username) for e in entries] == [(str(ends_today.pk), "system")]
    assert entries[0].data == {
        "tax_id": "1234567",
        "department": "LPZ",
        "valid_until": on.isoformat(),
        "detected_on": tomorrow,
    }
    assert expire_registrations.apply(kwargs={"on": tomorrow}).get() == 0  # a re-run adds nothing
    assert len(lapse_entries()) == 1


def test_a_renewed_registration_that_lapses_again_is_recorded_again():
    on = today()
    unit = make_unit("2233445", "CBB", on)
    assert len(record_lapsed_registrations(actor=system_user(), on=on + dt.timedelta(days=1))) == 1
    renew_registration(unit, actor=system_user(), until=on + dt.timedelta(days=10))
    assert record_lapsed_registrations(actor=system_user(), on=on + dt.timedelta(days=5)) == []
    assert len(record_lapsed_registrations(actor=system_user(), on=on + dt.timedelta(days=11))) == 1
    assert [e.data["valid_until"] for e in lapse_entries()] == [
        on.isoformat(),
        (on + dt.timedelta(days=10)).isoformat(),
    ]


def test_only_the_system_user_or_an_administrator_may_run_it():
    evaluator = create_user(actor=system_user(), username="eva", roles=[Role.EVALUATOR])
    make_unit("3344556", "TJA", today())
    before = AuditEntry.objects.count()
    with pytest.raises(PermissionDenied):
        record_lapsed_registrations(actor=evaluator, on=today() + dt.timedelta(days=1))
    assert AuditEntry.objects.count() == before
