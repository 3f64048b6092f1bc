"""The inbox offers exactly what the services accept (PRODUCT.md §1: four eyes is "checked against who
actually did each earlier step … and the inbox never even offers such a task").

A property test (Hypothesis, a state machine) draws who stands in for whom, then lets random people
sit at their inboxes and claim, decide and release random tasks they offer (or declare a conflict
of interest with an evaluation they offer) — on an initiative in
technical evaluation, one at its legal report, one drafted by a member of the unit the agency later
hired as an evaluator, and an in-kind transfer. A claim, decision or release of an offered task is
never refused, and after every session, for every person and every open task of a role it holds:
listed as available (``selectors.task_list_available``) ⇔ ``claim_task`` accepts it, listed in «Mis
tareas» (``selectors.task_list_assigned``) ⇔ ``complete_task`` lets it decide it
(``acting_principal``, their who-may-act gate); for the person who moved, ``GET /api/v1/tasks/``
lists the same and each task it offers is claimed for real through the API inside a rolled-back
savepoint. 25 runs of at most four sessions, the same exploration every time (``derandomize``).

Then the regression the property found on the old code: an evaluator who holds one of a case's
technical-evaluation slots was offered, and given, the other (four eyes counted only what it had
decided), and once it decided one, the other was refused only when it submitted its scores."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from rest_framework.test import APIClient

from approvals import selectors
from approvals import services as approvals
from approvals.steps import spec_for
from audit.models import AuditEntry
from cases.errors import Conflict
from cases.roles import Role, roles_of
from iniciativas import services as ini
from registry import services as registry_services
from registry.models import User
from tests.factories import UserFactory
from tests.iniciativas.conftest import REQUIRED, World, pdf, submitted
from transfers import services as transfers
from workflows.models import CaseTask

from .clock import SCORES, decide

pytestmark = pytest.mark.django_db

TASKS = "/api/v1/tasks/"
FOUR_EYES = "Separación de funciones: usted ya decidió un paso incompatible del caso"
# What a careful person types into a step's form (the rest: the form's defaults).
TYPED = {
    **SCORES,
    "opinion": "Procedente conforme a normativa.",
    "report": "Favorable.",
    "answer": "Adjuntamos lo observado.",
    "agreement_number": "CONV-1",
    "resolution_number": "RA-1",
}
# The people who act (the hired applicant and a person holding two staff roles among them), and who
# may stand in for whom (delegator, delegate, role).
CAST = ("evaluador1", "converso", "polivalente", "legal1", "finanzas1", "solicitante1")
DELEGATIONS = (
    ("evaluador1", "polivalente", Role.EVALUATOR),
    ("polivalente", "evaluador1", Role.EVALUATOR),
    ("evaluador4", "converso", Role.EVALUATOR),
    ("evaluador4", "evaluador1", Role.EVALUATOR),
    ("legal1", "polivalente", Role.LEGAL),
    ("finanzas2", "finanzas1", Role.FINANCE),
)
ASSETS = [{"description": "Ordeñadora mecánica de dos puestos", "quantity": 2, "unit_value": "12500.00"}]


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def fresh(user) -> User:
    """The user as a new request sees it (no role or delegation cached on the instance)."""
    return User.objects.get(pk=user.pk)


def ids(qs) -> list[int]:
    return list(qs.values_list("pk", flat=True))


def refusals(case: str) -> list[tuple[str, str]]:
    rows = AuditEntry.objects.filter(action="task.refused", case=case).order_by("seq")
    return [(r.actor.username, r.data["attempt"]) for r in rows]


def may_act(user, task) -> bool:
    """Whether ``complete_task`` (and, for an unassigned task, ``claim_task``) lets ``user`` work
    ``task``: its who-may-act gate (role, scope, four eyes, applicant side, delegation)."""
    try:
        approvals.acting_principal(user, task)
    except PermissionDenied:  # also ``TaskHeldByOther``
        return False
    return True


def form_data(task) -> dict:
    case = approvals.case_of(task)
    data = {}
    for f in spec_for(task.case_type, task.step).fields(task, case):
        if f.default is not None:
            data[f.name] = str(f.default) if isinstance(f.default, Decimal | dt.date) else f.default
        elif f.name in TYPED:
            data[f.name] = TYPED[f.name]
        elif f.type == "string":
            data[f.name] = f"{f.name.upper()}-{task.pk}"
    return data


def hire_as_evaluator(world: World, person) -> User:
    """As ``test_sod_applicant_side``: the administrator revokes the applicant role, takes the person
    out of its unit (the admin site's user page: no service moves a person out of a unit) and grants
    the evaluator role."""
    registry_services.revoke_role(person, "applicant", actor=world.staff["admin1"])
    User.objects.filter(pk=person.pk).update(unit=None)
    registry_services.grant_role(fresh(person), "evaluator", actor=world.staff["admin1"])
    return fresh(person)


@pytest.fixture
def stage(world: World) -> dict:
    """Four cases in the inboxes: one drafted and submitted by ``converso``, a member of the unit the
    agency later hired as an evaluator (the applicant side); one in technical evaluation (two slots);
    one at its legal report, evaluated by ``polivalente`` (evaluator and legal); an in-kind transfer
    (technical ∥ legal reports, which ``polivalente`` could both take)."""
    s = world.staff
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
    ini.submit_initiative(own, actor=converso)
    polivalente = UserFactory(username="polivalente", roles=["evaluator", "legal"])
    decide(submitted(world, title="Ordeñadoras"), "admissibility", s["evaluador3"])
    chain = submitted(world, title="Tanque de frío")
    decide(chain, "admissibility", s["evaluador3"])
    slots = CaseTask.objects.filter(case_code=chain.code, step="technical_evaluation").order_by("pk")
    for task, evaluator in zip(slots, (polivalente, s["evaluador4"]), strict=True):
        approvals.complete_task(task.pk, actor=evaluator, decision="approve", data=SCORES)
    transfers.create_transfer(
        actor=world.applicant,
        beneficiary=world.unit,
        modality="in_kind",
        kind="public_private",
        program=world.call.program,
        assets=ASSETS,
        purpose="Acopio de leche de los socios.",
    )
    cast = {name: fresh(s[name]) for name in CAST if name in s}
    cast.update(
        converso=hire_as_evaluator(world, converso),
        polivalente=fresh(polivalente),
        solicitante1=fresh(world.applicant),
    )
    everyone = {**{name: fresh(user) for name, user in s.items()}, **cast}
    return {"cast": cast, "everyone": everyone}


def check_offers(user, tasks: list, *, thoroughly: bool) -> None:
    """What ``user``'s inbox lists is what the services let it do, both ways, for every open task of
    a role it holds (no one else may even try one): listed as available ⇔ ``claim_task`` accepts;
    listed in «Mis tareas» ⇔ ``complete_task`` lets it decide (``may_act``: their who-may-act
    gate). ``thoroughly``: also ``GET /api/v1/tasks/`` lists the same, and every claim it offers is
    really made through ``POST /api/v1/tasks/{id}/claim/`` (and rolled back)."""
    name, roles = user.username, roles_of(user)
    available = set(ids(selectors.task_list_available(user)))
    mine = set(ids(selectors.task_list_assigned(user)))
    for task in tasks:
        where = (name, task.case_code, task.step, task.pk, task.owner_id)
        if task.role not in roles:
            assert task.pk not in available | mine, where
        elif task.role == Role.APPLICANT:  # the unit's steps: every member's «Mis tareas»
            assert (task.pk in mine) == may_act(user, task), where
        elif task.status == "NEW":
            assert task.pk not in mine, where
            if task.pk in available:
                assert may_act(user, task), (*where, "offered, claim refuses")
            else:
                assert not may_act(user, task), (*where, "claim accepts, not offered")
        else:
            assert task.pk not in available, where
            assert (task.pk in mine) == may_act(user, task), (*where, "«Mis tareas» ≠ may decide")
    if not thoroughly:
        return
    client = api(user)
    listed = {(t["id"], t["status"]) for t in client.get(TASKS).json()["results"]}
    assert listed == {(pk, "available") for pk in available} | {(pk, "assigned") for pk in mine}, name
    for pk in available:  # the selector's list, which the API's equals
        with transaction.atomic():
            response = client.post(f"{TASKS}{pk}/claim/")
            transaction.set_rollback(True)
        assert response.status_code == 200, (name, pk, response.content)


MOVES = st.lists(
    st.tuples(st.sampled_from(["claim", "claim", "decide", "release", "conflict"]), st.integers(0, 7)),
    min_size=1,
    max_size=4,
)


def asks(task) -> bool:
    """The task's step asks for the declaration of conflict of interest (the evaluations)."""
    return spec_for(task.case_type, task.step).asks_declaration


def make_machine(stage: dict):
    cast, everyone = stage["cast"], stage["everyone"]
    people = [cast[name] for name in sorted(cast)]

    class InboxMachine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self._atomic = transaction.atomic()
            self._atomic.__enter__()

        def teardown(self):
            transaction.set_rollback(True)
            self._atomic.__exit__(None, None, None)

        @initialize(delegations=st.lists(st.sampled_from(DELEGATIONS), max_size=3, unique=True))
        def delegate(self, delegations):
            """Who stands in for whom in this run (each delegation for today and a few days)."""
            today = timezone.localdate()
            for delegator, delegate, role in delegations:
                approvals.delegate_inbox(
                    actor=everyone[delegator],
                    delegate=everyone[delegate],
                    role=role,
                    starts_on=today,
                    ends_on=today + dt.timedelta(days=3),
                )
            if delegations:
                self.check(everyone[delegations[-1][1]])

        @rule(who=st.sampled_from(range(len(people))), moves=MOVES)
        def session(self, who, moves):
            """One person at its inbox: claims what «Disponibles» offers, decides what «Mis tareas»
            holds (or, without claiming it, what «Disponibles» offers), releases what it holds —
            none of it ever refused."""
            user, moved = people[who], False
            for action, pick in moves:
                mine = list(selectors.task_list_assigned(user))
                available = list(selectors.task_list_available(user))
                held = [t for t in mine if t.role != Role.APPLICANT]
                if action == "claim" and available:
                    approvals.claim_task(available[pick % len(available)].pk, actor=user)
                elif action == "release" and held:
                    approvals.release_task(held[pick % len(held)].pk, actor=user)
                elif action == "decide" and (mine or available):
                    self.decide(user, (mine + available)[pick % len(mine + available)], pick)
                elif action == "conflict" and (declarable := [t for t in held + available if asks(t)]):
                    # A declared conflict of interest: the task goes back, the case's evaluations
                    # leave this person's inbox (``check`` then compares it with the services).
                    task = declarable[pick % len(declarable)]
                    approvals.declare_conflict(task.pk, actor=user, conflict=True, reason="Parentesco.")
                else:
                    continue
                moved = True
            if moved:
                self.check(user)

        def decide(self, user, task, pick: int) -> None:
            observe = pick == 7 and "observe" in spec_for(task.case_type, task.step).decisions
            try:
                with transaction.atomic():
                    approvals.complete_task(
                        task.pk,
                        actor=user,
                        decision="observe" if observe else "approve",
                        comment="Aclare el presupuesto." if observe else "",
                        data=form_data(task),
                    )
            except (ValidationError, Conflict):
                pass  # the step's own rules (its data, the budget): not a refusal of who acts

        def check(self, mover) -> None:
            """After every session: everyone's inbox, and the mover's thoroughly (API, real claims)."""
            tasks = list(CaseTask.objects.filter(is_open=True).exclude(step="").order_by("pk"))
            for user in people:
                check_offers(user, tasks, thoroughly=user.pk == mover.pk)

    return InboxMachine


@pytest.mark.slow  # about a minute: left out of `make test`, run by .ci/run
def test_the_inbox_offers_exactly_what_claim_and_complete_accept(stage):
    """Each run starts from ``stage`` (its writes are rolled back at the end of the run)."""
    tasks = list(CaseTask.objects.filter(is_open=True).exclude(step="").order_by("pk"))
    for user in stage["cast"].values():  # where every run starts
        check_offers(user, tasks, thoroughly=True)
    run_state_machine_as_test(
        make_machine(stage),
        settings=settings(
            max_examples=25,
            stateful_step_count=4,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            database=None,
            derandomize=True,  # the same exploration on every run and on both databases
        ),
    )


# --- the regression: one evaluation per person per case, from the inbox on ------------------------


def test_an_evaluator_holding_one_evaluation_slot_is_neither_offered_nor_given_the_other(world: World):
    """PRODUCT.md §1 "one evaluation … per person per case": the evaluator who took one of a case's
    technical-evaluation slots is not offered the other, through the API, and a claim or decision of
    it is refused (403) and audited as ``task.refused`` — before and after deciding its own slot."""
    s = world.staff
    ini = submitted(world)
    decide(ini, "admissibility", s["evaluador1"])
    first, second = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation").order_by("pk")
    client = api(s["evaluador2"])

    def listed() -> dict[int, str]:
        return {t["id"]: t["status"] for t in client.get(TASKS).json()["results"]}

    assert listed() == {first.pk: "available", second.pk: "available"}
    assert client.post(f"{TASKS}{first.pk}/claim/").status_code == 200
    assert listed() == {first.pk: "assigned"}  # the other slot is not offered any more
    assert second.pk in ids(selectors.task_list_available(fresh(s["evaluador3"])))  # to colleagues it is

    held = "Separación de funciones: usted ya tiene asignado un paso del caso"
    for url, body in (
        (f"{TASKS}{second.pk}/claim/", {}),
        (f"{TASKS}{second.pk}/complete/", {"decision": "approve", "data": SCORES}),
    ):
        response = client.post(url, body, format="json")
        assert response.status_code == 403
        assert response.json()["detail"].startswith(f"{held} {ini.code}")
    assert refusals(ini.code) == [("evaluador2", "claim"), ("evaluador2", "complete")]
    refusal = AuditEntry.objects.filter(action="task.refused", case=ini.code).order_by("seq").first()
    assert refusal.data["task"] == second.pk and refusal.data["refused_step"] == "technical_evaluation"
    assert refusal.data["reason"].startswith(held)
    second.refresh_from_db()
    assert second.is_open and second.owner_id is None

    # Once its own evaluation is in, the other slot stays out of its inbox: claim is refused (403,
    # audited) for what it decided.
    response = client.post(
        f"{TASKS}{first.pk}/complete/", {"decision": "approve", "data": SCORES}, format="json"
    )
    assert response.status_code == 200
    assert listed() == {}
    response = client.post(f"{TASKS}{second.pk}/claim/")
    assert response.status_code == 403 and response.json()["detail"].startswith(FOUR_EYES)
    assert refusals(ini.code)[-1] == ("evaluador2", "claim")
    second.refresh_from_db()
    assert second.is_open and second.owner_id is None
    assert ini.evaluations.count() == 1


def test_the_pages_do_not_offer_the_other_slot_either(client, world: World):
    """On the pages: «Disponibles» does not list the other slot, its page is not found (404) and a
    crafted claim is refused (403) and audited."""
    s = world.staff
    ini = submitted(world)
    decide(ini, "admissibility", s["evaluador1"])
    first, second = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation").order_by("pk")
    approvals.claim_task(first.pk, actor=s["evaluador2"])
    client.force_login(s["evaluador2"])
    page = client.get("/tasks/available/").content.decode()
    assert f'href="/tasks/{second.pk}/"' not in page
    assert f'href="/tasks/{first.pk}/"' in client.get("/tasks/").content.decode()
    assert client.get(f"/tasks/{second.pk}/").status_code == 404
    response = client.post(f"/tasks/{second.pk}/claim/")
    assert response.status_code == 403
    assert "Separación de funciones: usted ya tiene asignado un paso del caso" in response.content.decode()
    assert refusals(ini.code) == [("evaluador2", "claim")]


def test_standing_in_for_a_colleague_who_holds_the_other_slot(world: World):
    """A delegate holding one slot is not offered, in «Mis tareas», the other slot its absent
    colleague holds (deciding both would be two evaluations by one person), nor may decide it; once
    its own evaluation is in, the colleague's slot stays the colleague's."""
    s = world.staff
    ini = submitted(world)
    decide(ini, "admissibility", s["evaluador1"])
    first, second = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation").order_by("pk")
    approvals.claim_task(second.pk, actor=s["evaluador4"])  # before going on leave
    today = timezone.localdate()
    approvals.delegate_inbox(
        actor=s["evaluador4"], delegate=s["evaluador2"], role="evaluator", starts_on=today, ends_on=today
    )
    delegate = fresh(s["evaluador2"])
    assert ids(selectors.task_list_assigned(delegate)) == [second.pk]  # the colleague's, to decide
    approvals.claim_task(first.pk, actor=delegate)
    assert ids(selectors.task_list_assigned(delegate)) == [first.pk]
    assert ids(selectors.task_list_available(delegate)) == []
    with pytest.raises(PermissionDenied, match="usted ya tiene asignado un paso del caso"):
        approvals.complete_task(second.pk, actor=delegate, decision="approve", data=SCORES)
    approvals.complete_task(first.pk, actor=delegate, decision="approve", data=SCORES)
    assert ids(selectors.task_list_assigned(fresh(s["evaluador2"]))) == []
    assert ids(selectors.task_list_assigned(fresh(s["evaluador4"]))) == [second.pk]
    assert may_act(fresh(s["evaluador4"]), CaseTask.objects.get(pk=second.pk))
