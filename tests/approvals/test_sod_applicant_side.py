"""Segregation of duties, applicant side (PRODUCT.md §1: "an applicant never acts as staff on a case
of its own unit", checked from the audit trail, not from today's roles or unit): a person who acted
for the applicant on a case — created, edited or submitted it, uploaded for it or answered its
observations as a member of the unit — and was later made staff is never offered that case's
tasks, and a forced claim, decision, delegated decision or reassignment to it is refused and
audited. What it does on other cases, or uploads once staff, does not count."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from approvals import deadlines, notifications, selectors
from approvals import services as approvals
from audit.models import AuditEntry
from iniciativas import services as ini
from registry import services as registry_services
from registry.models import User
from tests.factories import UserFactory
from tests.iniciativas.conftest import REQUIRED, World, pdf, submitted

from .clock import decide, open_task
from .test_views import AVAILABLE, listed

pytestmark = pytest.mark.django_db

APPLICANT_SIDE = "Separación de funciones: usted actuó por el solicitante en el caso {code}"


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def ids(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


def hire_as_evaluator(world: World, person) -> User:
    """The agency hires a member of the applicant unit as an evaluator: the administrator revokes
    the applicant role, takes the person out of the unit (the user's page of the admin site: no
    registry service moves a person out of a unit yet) and grants the evaluator role."""
    registry_services.revoke_role(person, "applicant", actor=world.staff["admin1"])
    User.objects.filter(pk=person.pk).update(unit=None)
    person = fresh(person)
    registry_services.grant_role(person, "evaluator", actor=world.staff["admin1"])
    return fresh(person)


@pytest.fixture
def history(world: World):
    """``converso``, a member of the applicant unit, works on three of its cases as an applicant;
    a fourth case it never touches; then it is hired as an evaluator."""
    converso = UserFactory(username="converso", roles=["applicant"], unit=world.unit)
    own = ini.create_initiative(
        actor=converso,
        unit=world.unit,
        call=world.call,
        title="Planta de queso",
        summary="Equipamiento de la planta de queso de la asociación.",
        department="SCZ",
        requested_amount="80000.00",
        counterpart_amount="80000.00",
    )
    for kind in REQUIRED:
        ini.upload_document(own, actor=converso, kind=kind, uploaded_file=pdf())
    ini.submit_initiative(own, actor=converso)  # created, uploaded, submitted
    uploaded = submitted(world, title="Tanque")
    ini.upload_document(uploaded, actor=converso, kind=REQUIRED[0], uploaded_file=pdf("anexo.pdf"))
    answered = submitted(world, title="Ordeñadoras")
    decide(answered, "admissibility", world.staff["evaluador1"], "observe", comment="Falta la carta.")
    decide(answered, "answer_observation", converso, answer="Adjuntamos la carta.")
    untouched = submitted(world, title="Caso ajeno")
    converso = hire_as_evaluator(world, converso)
    return {
        "converso": converso,
        "cases": {"own": own, "uploaded": uploaded, "answered": answered, "untouched": untouched},
    }


def test_the_inbox_never_offers_a_case_it_acted_on_for_the_applicant(client, world: World, history):
    converso, cases = history["converso"], history["cases"]
    tasks = {name: open_task(case, "admissibility") for name, case in cases.items()}
    offered = ids(selectors.task_list_available(fresh(converso)))
    assert offered == {tasks["untouched"].pk}
    assert listed(client, converso, AVAILABLE) == [tasks["untouched"].pk]
    # A colleague who never acted for the applicant is offered all four.
    assert ids(selectors.task_list_available(fresh(world.staff["evaluador2"]))) == {
        t.pk for t in tasks.values()
    }
    # Nor is it told about them.
    assert "converso" not in [u.username for u in notifications.claimers_of(tasks["own"])]
    assert "converso" in [u.username for u in notifications.claimers_of(tasks["untouched"])]


def test_uploading_once_staff_is_not_acting_for_the_applicant(world: World, history):
    converso, untouched = history["converso"], history["cases"]["untouched"]
    ini.upload_document(untouched, actor=converso, kind=REQUIRED[0], uploaded_file=pdf("acta.pdf"))
    assert open_task(untouched, "admissibility").pk in ids(selectors.task_list_available(fresh(converso)))


@pytest.mark.parametrize("case", ["own", "uploaded", "answered"])
def test_a_forced_claim_or_decision_is_refused_and_audited(client, world: World, history, case):
    converso, initiative = history["converso"], history["cases"][case]
    task = open_task(initiative, "admissibility")
    message = APPLICANT_SIDE.format(code=initiative.code)
    with pytest.raises(PermissionDenied, match=message):
        approvals.claim_task(task.pk, actor=converso)
    client.force_login(converso)
    response = client.post(f"/tasks/{task.pk}/", {"decision": "approve"})  # a crafted POST
    assert response.status_code == 403 and message in response.content.decode()
    refusals = AuditEntry.objects.filter(action="task.refused", case=initiative.code).order_by("seq")
    assert [(r.actor, r.data["attempt"]) for r in refusals] == [(converso, "claim"), (converso, "complete")]
    assert all(r.data["reason"].startswith("Separación de funciones") for r in refusals)
    task.refresh_from_db()
    assert task.is_open and task.owner_id is None
    assert initiative.__class__.objects.get(pk=initiative.pk).state == "submitted"


def test_standing_in_for_a_colleague_does_not_open_the_door(world: World, history):
    converso, own = history["converso"], history["cases"]["own"]
    today = timezone.localdate()
    approvals.delegate_inbox(
        actor=world.staff["evaluador2"], delegate=converso, role="evaluator", starts_on=today, ends_on=today
    )
    task = open_task(own, "admissibility")
    approvals.claim_task(task.pk, actor=world.staff["evaluador2"])
    assert task.pk not in ids(selectors.task_list_assigned(fresh(converso)))
    with pytest.raises(PermissionDenied, match=APPLICANT_SIDE.format(code=own.code)):
        approvals.complete_task(task.pk, actor=converso, decision="approve")
    assert AuditEntry.objects.filter(action="task.refused", case=own.code, actor=converso).count() == 1


def test_an_escalated_task_cannot_be_reassigned_to_it(world: World, history):
    converso, own = history["converso"], history["cases"]["own"]
    task = open_task(own, "admissibility")
    later = timezone.now() + dt.timedelta(days=30)
    assert deadlines.escalate_overdue(actor=world.system, now=later) != []
    director = world.staff["director1"]
    assert converso not in selectors.reassign_candidates(fresh_task(task))
    with pytest.raises(PermissionDenied, match="converso actuó por el solicitante"):
        approvals.reassign_task(task.pk, actor=director, to_user=converso, reason="Carga de trabajo.")
    refusal = AuditEntry.objects.get(action="task.refused", case=own.code)
    assert (refusal.actor, refusal.data["attempt"]) == (director, "reassign")
    task.refresh_from_db()
    assert task.owner_id is None


def fresh_task(task):
    task.refresh_from_db()
    return task


def test_an_escalation_never_tells_someone_who_acted_for_the_applicant(world: World, history):
    """Escalation notices go to those who may reassign the task: never to someone of the escalation
    role who acted on the case for the applicant (``reassign_refusal`` refuses them)."""
    from django.contrib.auth.models import Group

    from approvals import notifications

    converso, own = history["converso"], history["cases"]["own"]
    task = open_task(own, "admissibility")
    Group.objects.get(name=task.escalation_role).user_set.add(converso)
    audience = notifications.escalation_audience(fresh_task(task))
    assert audience and converso not in audience
    untouched = open_task(history["cases"]["untouched"], "admissibility")
    assert converso in notifications.escalation_audience(fresh_task(untouched))
