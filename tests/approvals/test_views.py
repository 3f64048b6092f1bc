"""The task inbox pages (``/tasks/``): what each tab lists per role, claim/release/decide through
the pages, refusals (403 + audited, nothing changed), conflicts (409, nothing changed), and the
role-by-step permission matrix of the initiative journey."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from approvals import selectors
from approvals import services as approvals
from approvals.models import Step
from audit.models import AuditEntry
from budget import services as budget_services
from iniciativas.models import Initiative
from tests.factories import UserFactory
from tests.iniciativas.conftest import World, submitted
from workflows.models import CaseTask

pytestmark = pytest.mark.django_db

INBOX, AVAILABLE, DONE = reverse("task-inbox"), reverse("task-available"), reverse("task-done")
SCORES = {"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20}


# --- helpers -------------------------------------------------------------------------------------


def open_task(initiative, step) -> CaseTask:
    return CaseTask.objects.get(case_code=initiative.code, step=step, is_open=True)


def decide(initiative, step, user, decision="approve", comment="", **data):
    task = open_task(initiative, step)
    return approvals.complete_task(task.pk, actor=user, decision=decision, comment=comment, data=data)


def listed(client, user, url, **params) -> list[int]:
    """The task ids a page lists for ``user`` (the links of its rows)."""
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r'href="/tasks/(\d+)/" class="code"', response.content.decode())]


def audit_count(action, case=None) -> int:
    qs = AuditEntry.objects.filter(action=action)
    return qs.filter(case=case).count() if case else qs.count()


def claim_url(task) -> str:
    return reverse("task-claim", args=[task.pk])


def detail_url(task) -> str:
    return reverse("task-detail", args=[task.pk])


# --- lists ---------------------------------------------------------------------------------------


def test_tabs_list_exactly_the_tasks_of_each_role(client, world: World):
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")

    for name in ("evaluador1", "evaluador2", "evaluador3", "evaluador4"):
        assert listed(client, s[name], AVAILABLE) == [task.pk], name
        assert listed(client, s[name], INBOX) == [], name
    for user in (s["legal1"], s["finanzas1"], s["director1"], s["control1"], s["admin1"]):
        assert listed(client, user, AVAILABLE) == []
    for user in (world.applicant, world.other_applicant):
        assert listed(client, user, AVAILABLE) == []

    client.force_login(s["evaluador1"])
    response = client.post(claim_url(task))
    assert response.status_code == 302
    assert response["Location"] == detail_url(task)
    assert listed(client, s["evaluador1"], INBOX) == [task.pk]
    assert listed(client, s["evaluador1"], AVAILABLE) == []
    assert listed(client, s["evaluador2"], AVAILABLE) == []  # taken: no longer offered to colleagues

    client.force_login(s["evaluador1"])
    response = client.post(detail_url(task), {"decision": "approve", "comment": ""})
    assert response.status_code == 302
    assert listed(client, s["evaluador1"], INBOX) == []
    assert listed(client, s["evaluador1"], DONE) == [task.pk]
    assert listed(client, s["evaluador2"], DONE) == []


def test_rows_show_code_beneficiary_step_amount_age_and_due(client, world: World):
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    client.force_login(world.staff["evaluador1"])
    html = client.get(AVAILABLE).content.decode()
    assert ini.code in html
    assert "Asociación de Lecheros de Warnes" in html
    with translation.override("es"):
        assert str(Step.ADMISSIBILITY.label) in html
    assert "Bs 100.000,00" in html
    local_due = timezone.localtime(task.due_at).strftime("%d/%m/%Y")
    assert local_due in html
    assert "Vencida" not in html

    CaseTask.objects.filter(pk=task.pk).update(due_at=timezone.now() - timezone.timedelta(days=1))
    html = client.get(AVAILABLE).content.decode()
    assert 'class="badge bad">Vencida</span>' in html
    assert 'class="overdue"' in html


def test_applicant_sees_and_answers_its_own_observation_in_the_same_pages(client, world: World):
    ini = submitted(world)
    decide(ini, "admissibility", world.staff["evaluador1"], "observe", comment="Falta la carta.")
    task = open_task(ini, "answer_observation")
    colleague = UserFactory(username="socio2", roles=["applicant"], unit=world.unit)

    # The unit's step is in "Mis tareas" of every member, never in "Disponibles", nothing to claim.
    for member in (world.applicant, colleague):
        assert listed(client, member, INBOX) == [task.pk]
        assert listed(client, member, AVAILABLE) == []
        assert claim_url(task) not in client.get(INBOX).content.decode()
    assert listed(client, world.other_applicant, INBOX) == []
    assert listed(client, world.staff["evaluador2"], AVAILABLE) == []
    # A crafted claim POST is refused, with the reason, and on the record; nobody holds the task.
    client.force_login(colleague)
    response = client.post(claim_url(task))
    assert response.status_code == 403
    with translation.override("es"):
        assert str(approvals.APPLICANT_TASK_NOT_CLAIMED) in response.content.decode()
    refusal = AuditEntry.objects.get(action="task.refused", case=ini.code)
    assert (refusal.actor, refusal.data["attempt"]) == (colleague, "claim")
    task.refresh_from_db()
    assert task.owner_id is None and task.status == "NEW"

    client.force_login(world.applicant)
    # The initiative answers its observations on a page of its own (one page: observation, data,
    # documents, answer): the inbox's task page sends the applicant there.
    page = client.get(detail_url(task))
    assert page.status_code == 302 and page["Location"] == reverse("initiative-answer", args=[ini.pk])
    html = client.get(page["Location"]).content.decode()
    assert 'name="answer"' in html and "<script" not in html
    # The task page still takes the decision itself (as the API does).
    response = client.post(detail_url(task), {"decision": "approve", "data__answer": "Adjuntamos la carta."})
    assert response.status_code == 302
    assert Initiative.objects.get(pk=ini.pk).state == "submitted"
    assert listed(client, world.applicant, DONE) == [task.pk]
    assert listed(client, colleague, INBOX) == []

    client.force_login(world.other_applicant)
    assert client.get(detail_url(task)).status_code == 404


def test_filters_by_step_department_program_and_due_date(client, world: World):
    s = world.staff
    first = submitted(world)
    second = submitted(world, department="LPZ", title="Planta de yogur")
    decide(second, "admissibility", s["evaluador1"])  # second now has two technical evaluations
    adm = open_task(first, "admissibility")
    evals = sorted(t.pk for t in CaseTask.objects.filter(case_code=second.code, is_open=True))
    ev = s["evaluador2"]

    assert sorted(listed(client, ev, AVAILABLE)) == sorted([adm.pk, *evals])
    assert listed(client, ev, AVAILABLE, step="admissibility") == [adm.pk]
    assert sorted(listed(client, ev, AVAILABLE, step="technical_evaluation")) == evals
    scz = first.department_id
    assert listed(client, ev, AVAILABLE, department=scz) == [adm.pk]
    program = world.call.program_id
    assert len(listed(client, ev, AVAILABLE, program=program)) == 3
    other = budget_services.create_program(actor=world.system, code="PROMYPE", name="PROMYPE")
    assert listed(client, ev, AVAILABLE, program=other.pk) == []
    due = timezone.localtime(adm.due_at).date()  # 5 business days; the evaluations take 10
    assert listed(client, ev, AVAILABLE, due_before=due.isoformat()) == [adm.pk]
    assert listed(client, ev, AVAILABLE, due_before=(due - timezone.timedelta(days=1)).isoformat()) == []
    assert listed(client, ev, AVAILABLE, case=first.code.lower()) == [adm.pk]
    # A nonsense filter value is reported next to its field and ignored, never a 500.
    client.force_login(ev)
    response = client.get(AVAILABLE, {"program": "abc", "due_before": "mañana"})
    assert response.status_code == 200
    assert len(re.findall(r'class="field-error"', response.content.decode())) == 2


def test_filter_selects_offer_programs_and_departments_not_tasks(client, world: World):
    submitted(world)
    client.force_login(world.staff["evaluador1"])
    html = client.get(AVAILABLE).content.decode()
    department_select = re.search(r'<select name="department".*?</select>', html, re.S).group(0)
    assert department_select.count("<option") == 1 + 9  # "All" + the nine departments
    program_select = re.search(r'<select name="program".*?</select>', html, re.S).group(0)
    assert program_select.count("<option") == 1 + 1  # "All" + PROLECHE
    assert ">PROLECHE</option>" in program_select


# --- decision page -------------------------------------------------------------------------------


def test_decision_page_shows_the_case_file_beside_the_form(client, world: World):
    s = world.staff
    ini = submitted(world)
    decide(ini, "admissibility", s["evaluador1"])
    task = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True).first()
    client.force_login(s["evaluador2"])
    # The documents open, and the scores are asked, once the evaluator declared no conflict.
    assert client.post(f"/tasks/{task.pk}/declare/", {"answer": "none"}).status_code == 302
    response = client.get(detail_url(task))
    assert response.status_code == 200
    html = response.content.decode()
    assert ini.code in html and ini.title in html
    assert "perfil.pdf" in html  # the documents...
    assert reverse("initiative-document", kwargs={"pk": ini.pk, "doc_pk": ini.documents.first().pk}) in html
    assert "initiative.admitted" in html or "admitid" in html.lower()  # ...and the history
    for name in ("data__relevance", "data__feasibility", "data__impact"):
        assert f'name="{name}"' in html
    assert 'name="decision"' in html
    assert len(response.content) < 300_000


def test_decision_form_offers_only_the_steps_decisions_with_spanish_labels(client, world: World):
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    client.force_login(world.staff["evaluador1"])
    html = client.get(detail_url(task)).content.decode()
    radios = re.findall(r'<input type="radio" name="decision" value="(\w+)"', html)
    assert radios == ["approve", "observe", "reject"]
    for label in ("Aprobar", "Observar", "Rechazar"):
        assert label in html
    # The observation deadline is asked only for "observe", pre-filled with the call's default.
    assert 'data-decisions="observe"' in html
    assert f'name="data__deadline_days" value="{world.call.observation_days}"' in html


def test_decision_post_changes_the_state_once(client, world: World):
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    client.force_login(world.staff["evaluador1"])
    response = client.post(detail_url(task), {"decision": "approve", "comment": "Completo."}, follow=True)
    assert response.redirect_chain[-1][0] == INBOX
    assert "En evaluación" in response.content.decode() or "in_evaluation" in response.content.decode()
    assert Initiative.objects.get(pk=ini.pk).state == "in_evaluation"
    task.refresh_from_db()
    assert not task.is_open and task.decided_by == world.staff["evaluador1"]
    assert audit_count("task.completed", ini.code) == 1


def test_observe_without_comment_shows_the_error_and_changes_nothing(client, world: World):
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    client.force_login(world.staff["evaluador1"])
    before = AuditEntry.objects.count()
    response = client.post(detail_url(task), {"decision": "observe", "comment": "  "})
    assert response.status_code == 400
    html = response.content.decode()
    comment_block = re.search(r'<div class="field field-invalid">.*?name="comment".*?</div>', html, re.S)
    assert comment_block, "the error must sit next to the comment"
    with translation.override("es"):
        assert translation.gettext("Give the reasons for this decision.") in comment_block.group(0)
    assert re.search(r'<input type="radio" name="decision" value="observe"[^>]*checked', html)  # kept
    assert 'name="comment"' in html
    task.refresh_from_db()
    assert task.is_open and task.owner_id is None
    assert Initiative.objects.get(pk=ini.pk).state == "submitted"
    assert AuditEntry.objects.count() == before


def test_bad_step_data_is_shown_next_to_its_input(client, world: World):
    s = world.staff
    ini = submitted(world)
    decide(ini, "admissibility", s["evaluador1"])
    task = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True).first()
    client.force_login(s["evaluador2"])
    before = AuditEntry.objects.count()
    response = client.post(
        detail_url(task),
        {"decision": "approve", "data__no_conflict": "on", "data__relevance": "99", "data__feasibility": "2"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'id="id_data__relevance_error"[^>]*>[^<]*40', html)  # "at most 40"
    response = client.post(
        detail_url(task),
        {"decision": "approve", "data__no_conflict": "on", "data__relevance": "30", "data__feasibility": "2"},
    )
    assert response.status_code == 400
    assert 'id="id_data__impact_error"' in response.content.decode()  # missing
    task.refresh_from_db()
    assert task.is_open
    assert AuditEntry.objects.count() == before


def test_second_decision_on_the_same_task_gets_the_conflict_message(client, world: World):
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    client.force_login(s["evaluador1"])
    assert client.post(detail_url(task), {"decision": "approve"}).status_code == 302
    entries = AuditEntry.objects.filter(case=ini.code).count()
    for user in (s["evaluador1"], s["evaluador2"]):
        client.force_login(user)
        response = client.post(detail_url(task), {"decision": "reject", "comment": "Tarde."})
        assert response.status_code == 409
        assert "Esta tarea ya fue decidida" in response.content.decode()
        assert reverse("task-inbox") in response.content.decode()
    assert Initiative.objects.get(pk=ini.pk).state == "in_evaluation"
    assert AuditEntry.objects.filter(case=ini.code).count() == entries


def test_claim_and_release(client, world: World):
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    client.force_login(s["evaluador1"])
    assert client.post(claim_url(task)).status_code == 302
    task.refresh_from_db()
    assert task.owner == s["evaluador1"]
    # Someone else cannot take it any more: a clear 409.
    client.force_login(s["evaluador2"])
    response = client.post(claim_url(task))
    assert response.status_code == 409
    # Release: back in everybody's "Disponibles".
    client.force_login(s["evaluador1"])
    response = client.post(reverse("task-release", args=[task.pk]))
    assert response.status_code == 302 and response["Location"] == AVAILABLE
    task.refresh_from_db()
    assert task.owner_id is None and task.is_open
    assert listed(client, s["evaluador2"], AVAILABLE) == [task.pk]
    assert audit_count("task.claimed", ini.code) == 1
    assert audit_count("task.released", ini.code) == 1


def test_claim_release_and_decide_need_post_and_csrf(world: World):
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.staff["evaluador1"])
    assert client.get(claim_url(task)).status_code == 405
    assert client.post(claim_url(task)).status_code == 403  # no CSRF token
    assert client.post(detail_url(task), {"decision": "approve"}).status_code == 403
    task.refresh_from_db()
    assert task.owner_id is None and task.is_open


def test_pages_need_login(client, world: World):
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    for url in (INBOX, AVAILABLE, DONE, detail_url(task)):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    assert client.post(claim_url(task)).status_code == 302
    task.refresh_from_db()
    assert task.owner_id is None


def test_tasks_of_other_roles_or_units_answer_404(client, world: World):
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    for user in (world.staff["legal1"], world.applicant, world.staff["control1"]):
        client.force_login(user)
        assert client.get(detail_url(task)).status_code == 404
        assert client.post(claim_url(task)).status_code == 404
        assert client.post(detail_url(task), {"decision": "approve"}).status_code == 404
    assert client.get(reverse("task-detail", args=[999_999])).status_code == 404
    task.refresh_from_db()
    assert task.owner_id is None and task.is_open
    assert audit_count("task.refused") == 0  # not even an attempt: the task is not of their role


# --- segregation of duties -----------------------------------------------------------------------


def test_four_eyes_task_is_not_offered_and_a_crafted_post_is_refused_and_audited(client, world: World):
    s = world.staff
    ini = submitted(world)
    decide(ini, "admissibility", s["evaluador1"])
    first, second = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True)
    client.force_login(s["evaluador2"])
    assert client.post(detail_url(first), {"decision": "approve", **_form(SCORES)}).status_code == 302

    assert listed(client, s["evaluador2"], AVAILABLE) == []  # not offered at all
    assert listed(client, s["evaluador3"], AVAILABLE) == [second.pk]
    client.force_login(s["evaluador2"])
    assert client.get(detail_url(second)).status_code == 404

    crafted = {"decision": "approve", **_form(SCORES)}
    for url, payload in ((claim_url(second), {}), (detail_url(second), crafted)):
        refusals = audit_count("task.refused", ini.code)
        response = client.post(url, payload)
        assert response.status_code == 403
        html = response.content.decode()
        with translation.override("es"):
            reason = translation.gettext(
                "Segregation of duties: you already decided an incompatible step of case %(code)s."
            ) % {"code": ini.code}
        assert reason in html  # the service's reason, in Spanish when translated
        assert audit_count("task.refused", ini.code) == refusals + 1
        refusal = AuditEntry.objects.filter(action="task.refused", case=ini.code).order_by("-seq").first()
        assert refusal.actor == s["evaluador2"] and refusal.data["task"] == second.pk
    second.refresh_from_db()
    assert second.is_open and second.owner_id is None
    assert ini.evaluations.count() == 1
    assert audit_count("task.completed", ini.code) == 2  # admissibility + the first evaluation only


def test_task_held_by_someone_else_is_a_409_and_audited(client, world: World):
    """API.md: 409 when the task's state does not allow the action; a forced attempt is on the record."""
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    approvals.claim_task(task.pk, actor=s["evaluador1"])
    client.force_login(s["evaluador2"])
    assert client.get(detail_url(task)).status_code == 404
    response = client.post(detail_url(task), {"decision": "reject", "comment": "No."})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Esta tarea está asignada a otra persona." in html
    assert "El intento quedó registrado en la pista de auditoría." in html
    response = client.post(reverse("task-release", args=[task.pk]))  # a forced release, too
    assert response.status_code == 409
    refusals = AuditEntry.objects.filter(action="task.refused", case=ini.code).order_by("seq")
    assert [(r.actor, r.data["attempt"]) for r in refusals] == [
        (s["evaluador2"], "complete"),
        (s["evaluador2"], "release"),
    ]
    task.refresh_from_db()
    assert task.owner == s["evaluador1"]
    assert Initiative.objects.get(pk=ini.pk).state == "submitted"


def _form(data: dict) -> dict:
    """Step data as the decision form posts it."""
    out = {}
    for key, value in data.items():
        if value is True:
            out[f"data__{key}"] = "on"
        elif value is not False:
            out[f"data__{key}"] = str(value)
    return out


# --- role-by-step matrix of the initiative journey ------------------------------------------------

DEMO_USERS = (
    "solicitante1",
    "solicitante2",
    "evaluador1",
    "evaluador2",
    "evaluador3",
    "evaluador4",
    "legal1",
    "legal2",
    "finanzas1",
    "finanzas2",
    "finanzas3",
    "director1",
    "director2",
    "control1",
    "admin1",
)
EVALUATORS = {"evaluador1", "evaluador2", "evaluador3", "evaluador4"}
LEGAL = {"legal1", "legal2"}
FINANCE = {"finanzas1", "finanzas2", "finanzas3"}

# step -> who may take it at that point of the journey below (who decided what so far matters:
# evaluador1 admitted, evaluador2 evaluated first, legal1 reported, finanzas1 certified and orders
# the payments).
MATRIX = {
    "admissibility": EVALUATORS,
    "answer_observation": {"solicitante1"},
    "technical_evaluation (first)": EVALUATORS,
    "technical_evaluation (second)": EVALUATORS - {"evaluador2"},
    "legal_report": LEGAL,
    "budget_certification": FINANCE,
    "agreement": LEGAL,
    "payment_order": FINANCE,
    "payment_confirmation": FINANCE - {"finanzas1"},
    "progress_report": {"solicitante1"},
    "progress_review": EVALUATORS,
    "final_report": {"solicitante1"},
    "final_inspection": EVALUATORS,
    "closeout": FINANCE,
}


def _who_may_take(clients: dict, task: CaseTask) -> set[str]:
    """Ask the inbox who is offered the task ("Disponibles" reads ``task_list_available``; an
    applicant unit's step is in its members' "Mis tareas", ``task_list_assigned``), then try a
    crafted claim POST as every demo user: a staff task is offered exactly to those the service
    lets claim it; the others get 404 (not their role or unit) or 403 (refused and audited). An
    applicant unit's step is claimed by nobody (403 and audited for its members). Nothing changes."""
    offered, allowed = set(), set()
    unit_step = task.role == "applicant"
    for name in DEMO_USERS:
        client, user = clients[name]
        fresh = type(user).objects.get(pk=user.pk)
        inbox = selectors.task_list_assigned(fresh) if unit_step else selectors.task_list_available(fresh)
        if inbox.filter(pk=task.pk).exists():
            offered.add(name)
        refusals = audit_count("task.refused")
        response = client.post(claim_url(task))
        if response.status_code == 302:
            allowed.add(name)
            approvals.release_task(task.pk, actor=user)
        else:
            assert response.status_code in (403, 404), (name, response.status_code)
            assert audit_count("task.refused") == refusals + (response.status_code == 403)
            if unit_step and name in offered:
                assert response.status_code == 403
                allowed.add(name)  # its member: answers it without claiming
        task.refresh_from_db()
        assert task.is_open and task.owner_id is None
    assert offered == allowed, f"{task.step}: offered {sorted(offered)} but claimable by {sorted(allowed)}"
    return allowed


def test_role_by_step_matrix_of_the_initiative_journey(world: World):
    s, today = world.staff, str(timezone.localdate())
    users = {u.username: u for u in [world.applicant, world.other_applicant, *s.values()]}
    clients = {}
    for name in DEMO_USERS:
        clients[name] = (Client(), users[name])
        clients[name][0].force_login(users[name])
    found = {}

    def check(label, ini, step):
        found[label] = _who_may_take(clients, open_task(ini, step))

    ini = submitted(world)
    check("admissibility", ini, "admissibility")
    decide(ini, "admissibility", s["evaluador1"], "observe", comment="Falta un documento.")
    check("answer_observation", ini, "answer_observation")
    decide(ini, "answer_observation", world.applicant, answer="Listo.")
    decide(ini, "admissibility", s["evaluador1"])
    first, second = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True)
    found["technical_evaluation (first)"] = _who_may_take(clients, first)
    approvals.complete_task(first.pk, actor=s["evaluador2"], decision="approve", data=SCORES)
    found["technical_evaluation (second)"] = _who_may_take(clients, second)
    approvals.complete_task(second.pk, actor=s["evaluador3"], decision="approve", data=SCORES)
    check("legal_report", ini, "legal_report")
    decide(ini, "legal_report", s["legal1"], opinion="Procedente")
    check("budget_certification", ini, "budget_certification")
    decide(ini, "budget_certification", s["finanzas1"], budget_line=world.line.pk)
    check("agreement", ini, "agreement")
    decide(ini, "agreement", s["legal2"], agreement_number="CONV-1", signed_on=today)
    check("payment_order", ini, "payment_order")
    decide(ini, "payment_order", s["finanzas1"], tranche=1, amount="40000.00")
    check("payment_confirmation", ini, "payment_confirmation")
    decide(ini, "payment_confirmation", s["finanzas2"], tranche=1, payment_reference="TRX-1", paid_on=today)
    check("progress_report", ini, "progress_report")
    decide(
        ini,
        "progress_report",
        world.applicant,
        summary="Avance",
        physical_progress=40,
        amount_spent="40000.00",
        counterpart_spent="10000.00",
    )
    check("progress_review", ini, "progress_review")
    decide(ini, "progress_review", s["evaluador4"], counterpart_verified=True)
    for n, amount in ((2, "40000.00"), (3, "20000.00")):
        decide(ini, "payment_order", s["finanzas1"], tranche=n, amount=amount)
        decide(
            ini,
            "payment_confirmation",
            s["finanzas2"],
            tranche=n,
            payment_reference=f"TRX-{n}",
            paid_on=today,
        )
        if n == 2:
            decide(
                ini,
                "progress_report",
                world.applicant,
                summary="Avance",
                physical_progress=80,
                amount_spent="80000.00",
                counterpart_spent="50000.00",
            )
            decide(ini, "progress_review", s["evaluador4"], counterpart_verified=True)
    check("final_report", ini, "final_report")
    decide(
        ini,
        "final_report",
        world.applicant,
        summary="Concluido",
        physical_progress=100,
        amount_spent="95000.00",
        counterpart_spent="100000.00",
    )
    check("final_inspection", ini, "final_inspection")
    decide(ini, "final_inspection", s["evaluador4"], counterpart_verified=True)
    check("closeout", ini, "closeout")
    decide(ini, "closeout", s["finanzas3"], refund_amount="5000.00", closeout_record="ACTA-1")

    assert Initiative.objects.get(pk=ini.pk).state == "closed"
    world.line.refresh_from_db()
    assert world.line.paid == Decimal("95000.00")
    assert found == MATRIX


def test_list_claim_buttons_post_to_the_claim_url_with_one_csrf_token(client, world: World):
    first, second = submitted(world, title="Uno"), submitted(world, title="Dos")
    client.force_login(world.staff["evaluador1"])
    html = client.get(AVAILABLE).content.decode()
    for ini in (first, second):
        assert f'formaction="{claim_url(open_task(ini, "admissibility"))}"' in html
    assert html.count('form="claim-form"') == 2
    assert html.count('id="claim-form"') == 1
    header_forms = client.get(INBOX).content.decode().count('name="csrfmiddlewaretoken"')
    assert html.count('name="csrfmiddlewaretoken"') == header_forms + 1  # one token, whatever the rows


def test_applicant_step_has_no_claim_button_and_answers_on_one_page(client, world: World):
    ini = submitted(world)
    decide(ini, "admissibility", world.staff["evaluador1"], "observe", comment="Falta la carta.")
    task = open_task(ini, "answer_observation")
    client.force_login(world.applicant)
    html = client.get(detail_url(task), follow=True).content.decode()
    assert claim_url(task) not in html
    assert "Su respuesta a la observación" in html
    assert "Solo para:" not in html


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_decision_posts_one_wins_the_other_gets_the_conflict_page(world: World):
    """Two evaluators press "Registrar la decisión" on the same task at the same instant (real
    threads, each its own connection): exactly one decision is recorded, the other person gets the
    409 page with the clear message, and nothing is half-done."""
    import threading

    from django.db import close_old_connections, connection

    if connection.vendor != "postgresql":
        pytest.skip("thread races need PostgreSQL; SQLite serialises writers")
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    clients = []
    for name in ("evaluador1", "evaluador2"):
        c = Client()
        c.force_login(world.staff[name])
        clients.append(c)
    barrier, responses = threading.Barrier(2), [None, None]

    def post(n):
        try:
            barrier.wait()
            responses[n] = clients[n].post(detail_url(task), {"decision": "approve", "comment": "Completo."})
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    codes = sorted(r.status_code for r in responses)
    assert codes == [302, 409], codes
    loser = next(r for r in responses if r.status_code == 409)
    assert "Esta tarea ya fue decidida" in loser.content.decode()
    assert Initiative.objects.get(pk=ini.pk).state == "in_evaluation"
    assert audit_count("task.completed", ini.code) == 1
    assert CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True).count() == 2
