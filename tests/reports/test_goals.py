"""Goals (metas) of the annual operating plan (POA): written only through ``reports.services``
(administrators; a program's managers for its goals), each write audited in the same transaction;
the Django admin uses the same functions. Progress of a goal entered by hand, with its evidence."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEntry
from cases import documents
from cases.roles import Role
from reports import services
from reports.models import Goal, GoalEvidence, Indicator, ProgressEntry
from reports.selectors import attainment
from tests.factories import ProgramFactory, UserFactory

D = Decimal
pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def admin_user():
    return UserFactory(roles=[Role.ADMIN])


def evidence(name="acta.pdf", content=PDF):
    return documents.read_upload(SimpleUploadedFile(name, content, content_type="application/pdf"))


def test_an_administrator_sets_a_goal_and_the_trail_says_so(admin_user):
    program = ProgramFactory(code="REGISTRO", name="Registro y acreditación")
    goal = services.save_goal(
        actor=admin_user,
        fiscal_year=2020,
        program=None,
        indicator="Mypes nuevas registradas",
        unit="unidades productivas",
        target="1500",
        baseline="0",
        computed_from=Indicator.UNITS_REGISTERED,
        description="1.500 Mypes nuevas registradas",
    )
    assert goal.target == D("1500.00") and goal.program is None and goal.computed_from == "units_registered"
    entry = AuditEntry.objects.get(action=services.GOAL_SAVED)
    assert entry.actor_id == admin_user.pk
    assert entry.data == {
        "before": None,
        "after": {
            "fiscal_year": 2020,
            "program": "",
            "indicator": "Mypes nuevas registradas",
            "unit": "unidades productivas",
            "target": "1500.00",
            "baseline": "0.00",
            "computed_from": "units_registered",
            "description": "1.500 Mypes nuevas registradas",
        },
    }
    values = {
        "fiscal_year": 2020,
        "program": None,
        "indicator": "Mypes nuevas registradas",
        "unit": "unidades productivas",
        "baseline": "0",
        "computed_from": Indicator.UNITS_REGISTERED,
        "description": "1.400 Mypes nuevas registradas",
    }
    changed = services.save_goal(actor=admin_user, goal_id=goal.pk, target=D("1400"), **values)
    assert changed.pk == goal.pk and Goal.objects.get().target == D("1400.00")
    latest = AuditEntry.objects.filter(action=services.GOAL_SAVED).latest("seq")
    assert latest.data["before"]["target"] == "1500.00" and latest.data["after"]["target"] == "1400.00"
    # Saving the same figures again changes nothing and writes nothing.
    services.save_goal(actor=admin_user, goal_id=goal.pk, target="1400", **values)
    assert AuditEntry.objects.filter(action=services.GOAL_SAVED).count() == 2
    report = attainment(2020)
    assert report.total.row("units_registered").target == D("1400.00")
    assert [g.indicator for g in report.total.goals] == ["Mypes nuevas registradas"]

    services.delete_goal(goal.pk, actor=admin_user)
    assert not Goal.objects.exists()
    assert AuditEntry.objects.get(action=services.GOAL_DELETED).data["target"] == "1400.00"
    assert program.code == "REGISTRO"


@pytest.mark.parametrize("role", [Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL, Role.EVALUATOR])
def test_only_administrators_and_the_programs_managers_set_goals(role, admin_user):
    cetip, other = ProgramFactory(code="CETIP"), ProgramFactory(code="PROMYPE")
    user = UserFactory(roles=[role])
    values = {"fiscal_year": 2020, "indicator": "Servicios", "unit": "servicios", "target": "10"}
    for program in (None, cetip):
        with pytest.raises(PermissionDenied):
            services.save_goal(actor=user, program=program, **values)
    assert not Goal.objects.exists() and not AuditEntry.objects.filter(action=services.GOAL_SAVED).exists()
    # A program manager of CETIP: CETIP's goals only (not another program's, not the agency's).
    assert services.assign_program_manager(actor=admin_user, user=user, program=cetip)
    assert AuditEntry.objects.get(action="auth.scope_granted", data__manages=True).data == {
        "program": "CETIP",
        "manages": True,
    }
    goal = services.save_goal(actor=user, program=cetip, **values)
    for program in (None, other):
        with pytest.raises(PermissionDenied):
            services.save_goal(actor=user, program=program, **values)
    with pytest.raises(PermissionDenied):
        services.assign_program_manager(actor=user, user=user, program=other)
    assert list(Goal.objects.values_list("pk", flat=True)) == [goal.pk]
    assert services.remove_program_manager(actor=admin_user, user=user, program=cetip)
    with pytest.raises(PermissionDenied):
        services.record_progress(goal.pk, actor=user, value="1", date=dt.date(2020, 3, 1))
    assert AuditEntry.objects.filter(action="auth.scope_revoked", data__manages=True).count() == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"target": "2.5", "computed_from": Indicator.INITIATIVES_CLOSED}, "target"),  # a count is whole
        ({"target": "0"}, "target"),
        ({"target": 10.0}, "target"),  # never a float
        ({"target": "mil"}, "target"),
        ({"target": "10.005"}, "target"),
        ({"baseline": "x"}, "baseline"),
        ({"fiscal_year": "1999"}, "fiscal_year"),
        ({"indicator": "  "}, "indicator"),
        ({"unit": ""}, "unit"),
        ({"computed_from": "happiness"}, "computed_from"),
        ({"computed_from": Indicator.UNITS_VALID, "with_program": True}, "program"),  # units: no program
    ],
)
def test_bad_goals_are_refused_and_change_nothing(admin_user, fields, field):
    fields = dict(fields)
    program = ProgramFactory(code="PROLECHE") if fields.pop("with_program", False) else None
    values = {
        "fiscal_year": 2026,
        "program": program,
        "indicator": "Cierres de iniciativas",
        "unit": "iniciativas",
        "target": "10",
    }
    with pytest.raises(ValidationError) as refused:
        services.save_goal(actor=admin_user, **{**values, **fields})
    assert field in refused.value.message_dict
    assert not Goal.objects.exists() and not AuditEntry.objects.filter(action=services.GOAL_SAVED).exists()


def test_one_computed_goal_per_year_program_and_figure_but_any_number_by_hand(admin_user):
    program = ProgramFactory(code="PROLECHE")
    values = {"fiscal_year": 2026, "indicator": "Cierres", "unit": "iniciativas", "target": "10"}
    computed = {**values, "computed_from": Indicator.INITIATIVES_CLOSED}
    services.save_goal(actor=admin_user, program=program, **computed)
    services.save_goal(actor=admin_user, program=None, **computed)  # the agency's goal is another one
    with pytest.raises(ValidationError) as refused:
        services.save_goal(actor=admin_user, program=program, **computed)
    assert "computed_from" in refused.value.message_dict
    services.save_goal(actor=admin_user, program=program, **values)
    services.save_goal(actor=admin_user, program=program, **values)
    assert Goal.objects.count() == 4


def test_progress_by_hand_with_evidence_is_summed_and_audited(admin_user):
    cetip = ProgramFactory(code="CETIP")
    goal = services.save_goal(
        actor=admin_user,
        fiscal_year=2020,
        program=cetip,
        indicator="Servicios de desarrollo productivo del CETIP Textil El Alto",
        unit="servicios",
        target="345",
    )
    assert attainment(2020).by_program[0].goals[0].result is None  # nothing entered yet
    first = services.record_progress(
        goal.pk,
        actor=admin_user,
        value="120",
        date=dt.date(2020, 2, 28),
        note="Enero y febrero",
        evidence=evidence(),
    )
    services.record_progress(goal.pk, actor=admin_user, value=D("31.50"), date="2020-03-15", note="Marzo")
    row = attainment(2020).by_program[0].goals[0]
    assert (row.result, row.percent, row.entries) == (D("151.50"), D("43.9"), 2)
    stored = GoalEvidence.objects.get()
    assert stored.entry_id == first.pk and stored.sha256 == evidence().sha256 and stored.size == len(PDF)
    entries = AuditEntry.objects.filter(action=services.PROGRESS_RECORDED).order_by("seq")
    assert [e.data["value"] for e in entries] == ["120.00", "31.50"]
    assert entries[0].data["evidence"]["sha256"] == stored.sha256 and entries[1].data["evidence"] is None
    assert entries[0].actor_id == admin_user.pk and entries[0].data["program"] == "CETIP"
    # A goal with progress keeps its record: it cannot be deleted nor turned into a computed one.
    with pytest.raises(ValidationError):
        services.delete_goal(goal.pk, actor=admin_user)
    with pytest.raises(ValidationError) as refused:
        services.save_goal(
            actor=admin_user,
            goal_id=goal.pk,
            fiscal_year=2020,
            program=cetip,
            indicator=goal.indicator,
            unit="servicios",
            target="345",
            computed_from=Indicator.TRANSFERS_DELIVERED,
        )
    assert "computed_from" in refused.value.message_dict


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"value": "abc"}, "value"),
        ({"value": 1.5}, "value"),
        ({"date": dt.date(2021, 1, 2)}, "date"),  # outside the goal's year
        ({"date": "31/12/2020"}, "date"),
        ({"note": "x" * 501}, "note"),
    ],
)
def test_bad_progress_is_refused_and_changes_nothing(admin_user, fields, field):
    goal = services.save_goal(
        actor=admin_user, fiscal_year=2020, program=None, indicator="Ferias", unit="ferias", target="3"
    )
    values = {"value": "1", "date": dt.date(2020, 5, 1), "note": ""}
    with pytest.raises(ValidationError) as refused:
        services.record_progress(goal.pk, actor=admin_user, **{**values, **fields})
    assert field in refused.value.message_dict
    assert not ProgressEntry.objects.exists()
    assert not AuditEntry.objects.filter(action=services.PROGRESS_RECORDED).exists()


def test_a_computed_goal_takes_no_progress_by_hand(admin_user):
    goal = services.save_goal(
        actor=admin_user,
        fiscal_year=2020,
        program=None,
        indicator="Unidades registradas",
        unit="unidades productivas",
        target="1500",
        computed_from=Indicator.UNITS_REGISTERED,
    )
    with pytest.raises(ValidationError) as refused:
        services.record_progress(goal.pk, actor=admin_user, value="1327", date=dt.date(2020, 12, 31))
    assert refused.value.message_dict["value"] == [
        "Esta meta se calcula con los datos de los casos: su resultado no se registra a mano."
    ]
    assert not ProgressEntry.objects.exists()


def test_the_admin_writes_through_the_service(admin_user):
    program = ProgramFactory(code="PROLECHE")
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/reports/goal/add/",
        {
            "fiscal_year": "2026",
            "program": str(program.pk),
            "indicator": "Cierres de iniciativas",
            "unit": "iniciativas",
            "target": "93",
            "computed_from": "initiatives_closed",
            "description": "93 cierres de iniciativas",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    goal = Goal.objects.get()
    assert (goal.program_id, goal.target, goal.computed_from) == (
        program.pk,
        D("93.00"),
        "initiatives_closed",
    )
    assert AuditEntry.objects.get(action=services.GOAL_SAVED).actor_id == admin_user.pk
    # A count with decimals is refused by the form, nothing saved.
    response = client.post(
        f"/admin/reports/goal/{goal.pk}/change/",
        {
            "fiscal_year": "2026",
            "program": str(program.pk),
            "indicator": "Cierres de iniciativas",
            "unit": "iniciativas",
            "computed_from": "initiatives_closed",
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
    assert client.get("/admin/reports/programmanager/").status_code in (302, 403)
