"""Configuring calls for proposals (issue 13, item 1): ``call_services.create_call`` / ``update_call``
and the pages at ``/calls/`` for administrators and program managers. Edits in place while nobody has
submitted, a new version afterwards (the running cases keep theirs), validation in Spanish next to the
fields with nothing written, audit entries, denials, and the call opening and closing on its dates."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from audit.models import AuditEntry
from budget import services as budget_services
from iniciativas import call_services
from iniciativas import services as ini
from iniciativas.models import Call, Initiative
from tests.factories import UserFactory

from .conftest import RUBRIC, draft, submitted

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def manager_of(world, program, username="gestor1"):
    user = UserFactory(username=username, roles=[])
    budget_services.grant_program_management(user, program, actor=world.system)
    return user


def other_program(world):
    return budget_services.create_program(actor=world.system, code="PROMYPE", name="Fondo PROMYPE")


def call_values(program, **overrides) -> dict:
    today = timezone.localdate()
    values = {
        "code": "PROLECHE-2026-09",
        "title": "Fondo PROLECHE: plantas queseras",
        "program": program,
        "opens_on": today,
        "closes_on": today + dt.timedelta(days=30),
        "max_amount": "200000.00",
        "min_counterpart_share": "0.40",
        "required_documents": ["project_profile"],
        "rubric": RUBRIC,
        "threshold": "65",
        "evaluators": 3,
        "tranche_plan": [50, 50],
        "observation_days": 7,
    }
    values.update(overrides)
    return values


def entries(action, code):
    return list(AuditEntry.objects.filter(action=action, data__code=code).order_by("seq"))


# --- services ---------------------------------------------------------------------------------------


def test_admin_creates_a_call_with_every_field_audited(world):
    admin = world.staff["admin1"]
    call = call_services.create_call(actor=admin, **call_values(world.call.program))
    call.refresh_from_db()
    assert (call.version, call.is_current, call.created_by) == (1, True, admin)
    assert call.max_amount == Decimal("200000.00")
    assert call.min_counterpart_share == Decimal("0.40")
    assert call.tranche_plan == [50, 50]
    assert call.tranche_unlocks == ["agreement_signed", "progress_report_approved"]
    assert call.threshold == Decimal("65.00") and call.evaluators == 3 and call.observation_days == 7
    [entry] = entries("call.opened", call.code)
    assert entry.actor == admin
    assert entry.data["version"] == 1 and entry.data["program"] == "PROLECHE"
    assert entry.data["max_amount"] == "200000.00"


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"tranche_plan": [40, 40]}, "tranche_plan", "add up to 100"),
        ({"threshold": "101"}, "threshold", "cannot exceed"),
        ({"closes_on": timezone.localdate() - dt.timedelta(days=1)}, "closes_on", "close before it opens"),
        ({"rubric": [{"code": "a", "label": "A", "max": 60}]}, "rubric", "add up to 100"),
        ({"required_documents": ["passport"]}, "required_documents", "passport"),
        ({"min_counterpart_share": "1.5"}, "min_counterpart_share", "between 0 and 1"),
        ({"evaluators": 9}, "evaluators", "between 1 and 5"),
        ({"code": "mal código"}, "code", "capital letters"),
        (
            {"tranche_plan": [40, 60], "tranche_unlocks": ["progress_report_approved", "agreement_signed"]},
            "tranche_plan",
            "signed agreement",
        ),
    ],
)
def test_bad_input_is_refused_field_by_field_and_nothing_is_written(world, overrides, field, words):
    before = (Call.objects.count(), AuditEntry.objects.count())
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        call_services.create_call(actor=world.staff["admin1"], **call_values(world.call.program, **overrides))
    assert field in exc.value.message_dict
    assert words in " ".join(exc.value.message_dict[field])
    assert (Call.objects.count(), AuditEntry.objects.count()) == before


def test_messages_are_in_spanish(world):
    with translation.override("es"), pytest.raises(ValidationError) as exc:
        call_services.create_call(
            actor=world.staff["admin1"], **call_values(world.call.program, tranche_plan=[30, 30])
        )
    assert "deben sumar 100" in exc.value.message_dict["tranche_plan"][0]


def test_a_duplicate_code_is_refused(world):
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        call_services.create_call(
            actor=world.staff["admin1"], **call_values(world.call.program, code=world.call.code)
        )
    assert "already exists" in exc.value.message_dict["code"][0]


def test_program_manager_configures_only_its_programs(world):
    promype = other_program(world)
    manager = manager_of(world, world.call.program)
    call = call_services.create_call(actor=manager, **call_values(world.call.program))
    assert call.created_by == manager
    with pytest.raises(PermissionDenied):
        call_services.create_call(actor=manager, **call_values(promype, code="PROMYPE-2026-01"))
    outsider = manager_of(world, promype, username="gestor2")
    with pytest.raises(PermissionDenied):
        call_services.update_call(call, actor=outsider, title="Otro título")
    with pytest.raises(PermissionDenied):
        call_services.create_call(actor=world.staff["evaluador1"], **call_values(world.call.program))
    assert not Call.objects.filter(code="PROMYPE-2026-01").exists()
    assert Call.objects.get(pk=call.pk).title == "Fondo PROLECHE: plantas queseras"
    # granting the management is audited as a scope
    grant = AuditEntry.objects.filter(action="auth.scope_granted", subject_id=str(manager.pk)).get()
    assert grant.data == {"program": "PROLECHE", "manages": True}


def test_edit_in_place_while_nobody_submitted(world):
    admin = world.staff["admin1"]
    a_draft = draft(world)  # a draft is no submission
    call = call_services.update_call(world.call, actor=admin, max_amount="180000.00", evaluators=3)
    assert call.pk == world.call.pk and call.version == 1
    assert call.max_amount == Decimal("180000.00") and call.evaluators == 3
    [entry] = entries("call.updated", call.code)
    assert entry.data["changed"] == ["evaluators", "max_amount"]
    a_draft.refresh_from_db()
    assert a_draft.call_id == call.pk
    # an edit that changes nothing writes nothing
    n = AuditEntry.objects.count()
    call_services.update_call(call, actor=admin, evaluators=3)
    assert AuditEntry.objects.count() == n


def test_after_a_submission_an_edit_makes_a_new_version_and_running_cases_keep_theirs(world):
    admin = world.staff["admin1"]
    running = submitted(world)
    waiting = draft(world, title="Otra iniciativa")
    old = world.call
    new = call_services.update_call(old, actor=admin, max_amount="90000.00", tranche_plan=[100])
    assert new.pk != old.pk and new.code == old.code
    assert (new.version, new.is_current) == (2, True)
    old.refresh_from_db()
    assert (old.version, old.is_current, old.max_amount) == (1, False, Decimal("150000.00"))
    [entry] = entries("call.version_created", new.code)
    assert entry.data["previous_version"] == 1 and entry.data["version"] == 2
    assert entry.data["changed"] == ["max_amount", "tranche_plan", "tranche_unlocks"]
    running.refresh_from_db()
    assert running.call_id == old.pk  # the running case keeps its version
    assert ini.tranche_amounts(running) == [Decimal("40000.00"), Decimal("40000.00"), Decimal("20000.00")]
    # the old version is no longer edited; the current one is
    from cases.errors import Conflict

    with pytest.raises(Conflict):
        call_services.update_call(old, actor=admin, title="x")
    # a draft written under version 1 is submitted under version 2 (and its new ceiling)
    from .conftest import pdf

    for kind in ("project_profile", "counterpart_letter"):
        ini.upload_document(waiting, actor=world.applicant, kind=kind, uploaded_file=pdf())
    with pytest.raises(ValidationError) as exc:
        ini.submit_initiative(waiting, actor=world.applicant)
    assert "requested_amount" in exc.value.message_dict
    ini.update_draft(
        waiting, actor=world.applicant, requested_amount="90000.00", counterpart_amount="90000.00"
    )
    ini.submit_initiative(waiting, actor=world.applicant)
    waiting.refresh_from_db()
    assert waiting.call_id == new.pk and waiting.state == "submitted"
    submit_entry = AuditEntry.objects.filter(case=waiting.code, action="initiative.submitted").get()
    assert submit_entry.data["call_version"] == 2
    # new drafts start under the current version
    assert draft(world, requested_amount="50000.00", counterpart_amount="50000.00").call_id == new.pk


def test_a_call_opens_and_closes_on_its_dates(world, monkeypatch):
    from iniciativas.selectors import call_list_open

    today = timezone.localdate()
    later = call_services.create_call(
        actor=world.staff["admin1"],
        **call_values(
            world.call.program, opens_on=today + dt.timedelta(days=5), closes_on=today + dt.timedelta(days=9)
        ),
    )
    assert later.status() == "scheduled"
    assert later not in call_list_open()
    assert later in call_list_open(today + dt.timedelta(days=5))
    assert later in call_list_open(today + dt.timedelta(days=9))
    assert later not in call_list_open(today + dt.timedelta(days=10))
    assert later.status(today + dt.timedelta(days=10)) == "closed"
    with pytest.raises(ValidationError) as exc:
        draft(world, call=later)
    assert "abre el" in exc.value.message_dict["call"][0]
    # a draft of an open call cannot be submitted once the call has closed
    waiting = draft(world)
    call_services.update_call(
        world.call,
        actor=world.staff["admin1"],
        opens_on=today - dt.timedelta(days=20),
        closes_on=today - dt.timedelta(days=1),
    )
    with pytest.raises(ValidationError) as exc:
        ini.submit_initiative(waiting, actor=world.applicant)
    assert "cerró el" in exc.value.message_dict["call"][0]
    assert Initiative.objects.get(pk=waiting.pk).state == "draft"


# --- pages ------------------------------------------------------------------------------------------


def form_data(call=None, **overrides) -> dict:
    today = timezone.localdate()
    data = {
        "code": "PROLECHE-2026-07",
        "title": "Fondo PROLECHE: queserías",
        "program": "PROLECHE",
        "opens_on": today.isoformat(),
        "closes_on": (today + dt.timedelta(days=45)).isoformat(),
        "max_amount": "250.000,00",
        "counterpart_percent": "50",
        "required_documents": ["project_profile", "counterpart_letter"],
        "evaluators": "2",
        "threshold": "60",
        "disagreement_points": "20",
        "observation_days": "10",
        "rubric-TOTAL_FORMS": "4",
        "rubric-INITIAL_FORMS": "0",
        "rubric-0-code": "relevance",
        "rubric-0-label": "Pertinencia",
        "rubric-0-max": "50",
        "rubric-0-text": "¿Resuelve un problema de la cuenca?",
        "rubric-1-code": "impact",
        "rubric-1-label": "Impacto",
        "rubric-1-max": "50",
        "tranche-TOTAL_FORMS": "3",
        "tranche-INITIAL_FORMS": "0",
        "tranche-0-percent": "60",
        "tranche-0-unlocked_by": "agreement_signed",
        "tranche-1-percent": "40",
        "tranche-1-unlocked_by": "progress_report_approved",
        "tranche-2-unlocked_by": "progress_report_approved",
    }
    data.update(overrides)
    return data


def test_admin_creates_a_call_through_the_page(world):
    client = client_for(world.staff["admin1"])
    page = client.get(reverse("call-create"))
    assert page.status_code == 200
    response = client.post(reverse("call-create"), form_data())
    assert response.status_code == 302
    call = Call.objects.get(code="PROLECHE-2026-07")
    assert response["Location"] == reverse("call-edit", args=[call.code])
    assert call.max_amount == Decimal("250000.00") and call.min_counterpart_share == Decimal("0.50")
    assert [c["code"] for c in call.rubric] == ["relevance", "impact"]
    assert call.rubric[0]["text"] == "¿Resuelve un problema de la cuenca?"
    assert call.tranche_plan == [60, 40]
    assert call.required_documents == ["project_profile", "counterpart_letter"]
    assert entries("call.opened", call.code)[0].actor == world.staff["admin1"]
    listing = client.get(reverse("call-list"))
    assert call.code in listing.content.decode()


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"tranche-1-percent": "30"}, "deben sumar 100"),
        ({"threshold": "120"}, "no puede superar"),
        ({"closes_on": "2020-01-01", "opens_on": "2020-02-01"}, "no puede cerrar antes"),
    ],
)
def test_page_shows_errors_in_spanish_and_saves_nothing(world, overrides, words):
    client = client_for(world.staff["admin1"])
    client.cookies["django_language"] = "es"
    before = (Call.objects.count(), AuditEntry.objects.count())
    response = client.post(reverse("call-create"), form_data(**overrides), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html
    assert "no se guardó nada" in html
    assert (Call.objects.count(), AuditEntry.objects.count()) == before


def test_edit_page_edits_in_place_then_versions(world):
    client = client_for(world.staff["admin1"])
    url = reverse("call-edit", args=[world.call.code])
    page = client.get(url)
    assert page.status_code == 200
    data = {k: v for k, v in form_data().items() if k != "code"}
    response = client.post(url, {**data, "title": "Fondo PROLECHE (corregido)"})
    assert response.status_code == 302
    world.call.refresh_from_db()
    assert world.call.title == "Fondo PROLECHE (corregido)" and world.call.version == 1
    running = submitted(world)
    page = client.get(url)
    assert "versión 2" in page.content.decode() or "version 2" in page.content.decode()
    response = client.post(url, {**data, "title": "Fondo PROLECHE 2", "max_amount": "300000"})
    assert response.status_code == 302
    current = Call.objects.get(code=world.call.code, is_current=True)
    assert current.version == 2 and current.max_amount == Decimal("300000.00")
    running.refresh_from_db()
    assert running.call.version == 1


def test_denials(world):
    promype = other_program(world)
    elsewhere = manager_of(world, promype, username="gestor2")
    url = reverse("call-edit", args=[world.call.code])
    # a manager of another program: the call does not exist for it; it cannot create one for PROLECHE
    client = client_for(elsewhere)
    assert client.get(reverse("call-list")).status_code == 200
    assert world.call.code not in client.get(reverse("call-list")).content.decode()
    assert client.get(url).status_code == 404
    assert client.post(url, form_data()).status_code == 404
    response = client.post(reverse("call-create"), form_data())
    assert response.status_code == 400  # PROLECHE is not among its programs
    assert not Call.objects.filter(code="PROLECHE-2026-07").exists()
    # an evaluator (or an applicant): 403 everywhere
    for user in (world.staff["evaluador1"], world.applicant, world.staff["control1"]):
        client = client_for(user)
        assert client.get(reverse("call-list")).status_code == 403
        assert client.get(reverse("call-create")).status_code == 403
        assert client.post(reverse("call-create"), form_data()).status_code == 403
        assert client.get(url).status_code == 403
    assert Call.objects.count() == 1


def test_program_manager_sees_the_link_and_its_calls(world):
    manager = manager_of(world, world.call.program)
    client = client_for(manager)
    home = client.get(reverse("home")).content.decode()
    assert reverse("call-list") in home
    listing = client.get(reverse("call-list")).content.decode()
    assert world.call.code in listing
    response = client.post(reverse("call-create"), form_data())
    assert response.status_code == 302
    assert Call.objects.get(code="PROLECHE-2026-07").created_by == manager
    # an evaluator's home has no such link
    assert (
        reverse("call-list")
        not in client_for(world.staff["evaluador1"]).get(reverse("home")).content.decode()
    )


def test_a_tranche_unlocked_by_the_agreement_is_ordered_right_after_the_previous_payment(world):
    """The plan's ``unlocked_by``: tranche 2 after the signed agreement (no progress report between),
    tranche 3 after the approved progress report."""
    from workflows.models import CaseTask

    from .test_flow_services import decide, open_tasks

    call_services.update_call(
        world.call,
        actor=world.staff["admin1"],
        tranche_plan=[50, 30, 20],
        tranche_unlocks=["agreement_signed", "agreement_signed", "progress_report_approved"],
    )
    s = world.staff
    case = submitted(world)
    decide(case, "admissibility", s["evaluador1"])
    for task, user in zip(
        open_tasks(case, "technical_evaluation"), (s["evaluador2"], s["evaluador3"]), strict=True
    ):
        from approvals import services as approvals

        approvals.complete_task(
            task.pk,
            actor=user,
            decision="approve",
            data={"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20},
        )
    decide(case, "legal_report", s["legal1"], opinion="Procedente")
    decide(case, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    decide(case, "agreement", s["legal2"], agreement_number="CONV-9", signed_on=str(timezone.localdate()))

    def pay(n, amount):
        decide(case, "payment_order", s["finanzas1"], tranche=n, amount=amount)
        decide(
            case,
            "payment_confirmation",
            s["finanzas2"],
            tranche=n,
            payment_reference=f"TRX-9-{n}",
            paid_on=str(timezone.localdate()),
        )

    pay(1, "50000.00")
    # tranche 2 is unlocked by the agreement: its order is next, no progress report is asked
    assert open_tasks(case, "payment_order") and not open_tasks(case, "progress_report")
    pay(2, "30000.00")
    # tranche 3 waits for the progress report
    assert not open_tasks(case, "payment_order") and open_tasks(case, "progress_report")
    assert CaseTask.objects.filter(case_code=case.code, step="progress_report", is_open=True).count() == 1
