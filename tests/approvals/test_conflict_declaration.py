"""The declaration of conflict of interest before a technical evaluation (issue 11, item 2): made
before the case's documents open, audited, remembered for the task; a declared conflict hands the
task back and keeps the evaluator away from the case's evaluations (inbox, claim, decision, the
audience of its notifications); forgetting it is a field error that keeps the scores typed."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from approvals import selectors
from approvals import services as approvals
from audit.models import AuditEntry
from iniciativas.models import Evaluation, Initiative
from registry.models import User
from tests.iniciativas.conftest import World, submitted
from workflows.models import CaseTask

from .clock import SCORES, decide

pytestmark = pytest.mark.django_db

TASKS = "/api/v1/tasks/"
# The scores alone, without the declaration that ``SCORES`` carries.
ONLY_SCORES = {k: v for k, v in SCORES.items() if k != "no_conflict"}


def fresh(user) -> User:
    return User.objects.get(pk=user.pk)


def in_evaluation(world: World):
    ini = submitted(world)
    decide(ini, "admissibility", world.staff["evaluador1"])
    first, second = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation").order_by("pk")
    return ini, first, second


def entries_after(code: str, seq: int) -> list[tuple[str, str]]:
    rows = AuditEntry.objects.filter(case=code, seq__gt=seq).order_by("seq")
    return [(r.actor.username, r.action) for r in rows]


def last_seq() -> int:
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- services ----------------------------------------------------------------------------------------


def test_no_conflict_is_declared_once_audited_and_opens_the_documents(client, world: World):
    s = world.staff
    ini, first, _second = in_evaluation(world)
    document = ini.documents.first()
    url = f"/initiatives/{ini.pk}/documents/{document.pk}/"
    ev2 = fresh(s["evaluador2"])
    assert "declare" in selectors.documents_refusal(ev2, ini.code)
    client.force_login(s["evaluador2"])
    refused = client.get(url)
    assert refused.status_code == 403
    assert "conflicto de interés" in refused.content.decode()
    # Staff of other roles read the file; only the evaluation's role must declare first.
    assert selectors.documents_refusal(fresh(s["legal1"]), ini.code) is None

    seq = last_seq()
    approvals.declare_conflict(first.pk, actor=s["evaluador2"], conflict=False)
    approvals.declare_conflict(first.pk, actor=s["evaluador2"], conflict=False)  # again: nothing more
    assert entries_after(ini.code, seq) == [("evaluador2", "task.no_conflict_declared")]
    entry = AuditEntry.objects.get(case=ini.code, action="task.no_conflict_declared")
    assert entry.data["task"] == first.pk and entry.data["step"] == "technical_evaluation"
    assert selectors.declared_no_conflict(ev2, first)
    assert selectors.documents_refusal(fresh(s["evaluador2"]), ini.code) is None
    assert client.get(url).status_code == 200
    first.refresh_from_db()
    assert first.status == "NEW" and first.owner_id is None  # declaring claims nothing

    # The declaration is remembered for the task: the scores alone now decide it.
    approvals.complete_task(first.pk, actor=s["evaluador2"], decision="approve", data=ONLY_SCORES)
    assert Evaluation.objects.get(initiative=ini).evaluator == s["evaluador2"]


def test_a_declared_conflict_hands_the_task_back_and_the_case_is_never_offered_again(world: World):
    s = world.staff
    ini, first, second = in_evaluation(world)
    approvals.claim_task(first.pk, actor=s["evaluador2"])
    seq = last_seq()
    approvals.declare_conflict(
        first.pk, actor=s["evaluador2"], conflict=True, reason="  Mi hermano es socio de la asociación. "
    )
    assert entries_after(ini.code, seq) == [("evaluador2", "task.conflict_declared")]
    entry = AuditEntry.objects.get(case=ini.code, action="task.conflict_declared")
    assert entry.data["reason"] == "Mi hermano es socio de la asociación."
    assert entry.data["task"] == first.pk and entry.data["released"] is True
    first.refresh_from_db()
    assert first.status == "NEW" and first.owner_id is None and first.is_open  # back in the pool

    ev2, ev3 = fresh(s["evaluador2"]), fresh(s["evaluador3"])
    mine = set(selectors.task_list_open(ev2).values_list("pk", flat=True))
    assert first.pk not in mine and second.pk not in mine  # neither slot, ever
    assert {first.pk, second.pk} <= set(selectors.task_list_available(ev3).values_list("pk", flat=True))
    assert s["evaluador2"].pk not in {u.pk for u in selectors.eligible_users(first)}
    assert s["evaluador3"].pk in {u.pk for u in selectors.eligible_users(first)}
    listed = {t["id"] for t in api(ev2).get(TASKS).json()["results"]}
    assert not listed & {first.pk, second.pk}

    # Claim and decision refuse it (403, audited as refusals); nothing changes.
    with pytest.raises(PermissionDenied, match="conflicto de interés"):
        approvals.claim_task(second.pk, actor=fresh(s["evaluador2"]))
    with pytest.raises(PermissionDenied, match="conflicto de interés"):
        approvals.complete_task(first.pk, actor=fresh(s["evaluador2"]), decision="approve", data=SCORES)
    response = api(fresh(s["evaluador2"])).post(f"{TASKS}{second.pk}/claim/")
    assert response.status_code == 403 and "conflicto de interés" in response.json()["detail"]
    refusals = AuditEntry.objects.filter(case=ini.code, action="task.refused", actor=s["evaluador2"])
    assert refusals.count() == 3
    assert not Evaluation.objects.filter(initiative=ini).exists()
    # Its documents stay closed to them, whatever happens to the case.
    assert "conflicto" in selectors.documents_refusal(fresh(s["evaluador2"]), ini.code)
    # A colleague evaluates it.
    approvals.complete_task(first.pk, actor=s["evaluador3"], decision="approve", data=SCORES)
    assert Evaluation.objects.get(initiative=ini).evaluator == s["evaluador3"]


def test_a_conflict_needs_its_reason_and_only_the_holder_declares(world: World):
    s = world.staff
    ini, first, _second = in_evaluation(world)
    approvals.claim_task(first.pk, actor=s["evaluador2"])
    seq = last_seq()
    with pytest.raises(ValidationError) as err:
        approvals.declare_conflict(first.pk, actor=s["evaluador2"], conflict=True, reason="   ")
    assert "reason" in err.value.message_dict
    assert entries_after(ini.code, seq) == []
    first.refresh_from_db()
    assert first.owner_id == s["evaluador2"].pk  # still theirs
    # Someone else cannot declare on a task another evaluator holds (409, audited as a refusal).
    with pytest.raises(approvals.TaskHeldByOther):
        approvals.declare_conflict(first.pk, actor=s["evaluador3"], conflict=True, reason="x")
    assert entries_after(ini.code, seq) == [("evaluador3", "task.refused")]
    # A step that asks for no declaration refuses one.
    other = submitted(world, title="Tanque de frío")
    admissibility = CaseTask.objects.get(case_code=other.code, step="admissibility")
    with pytest.raises(ValidationError, match="no pide"):
        approvals.declare_conflict(admissibility.pk, actor=s["evaluador1"], conflict=False)


def test_deciding_without_the_declaration_is_a_field_error_that_records_nothing(world: World):
    s = world.staff
    ini, first, _second = in_evaluation(world)
    seq = last_seq()
    for data in (ONLY_SCORES, {**ONLY_SCORES, "no_conflict": False}):
        with pytest.raises(ValidationError) as err:
            approvals.complete_task(first.pk, actor=s["evaluador2"], decision="approve", data=data)
        assert list(err.value.message_dict) == ["data.no_conflict"]
        assert "conflicto de interés" in err.value.message_dict["data.no_conflict"][0]
    assert entries_after(ini.code, seq) == []  # no refusal on the record, nothing else either
    first.refresh_from_db()
    assert first.is_open and first.owner_id is None
    assert Initiative.objects.get(pk=ini.pk).state == "in_evaluation"
    # Declaring with the decision itself (API clients): the declaration is written first.
    approvals.complete_task(first.pk, actor=s["evaluador2"], decision="approve", data=SCORES)
    assert entries_after(ini.code, seq) == [
        ("evaluador2", "task.no_conflict_declared"),
        ("evaluador2", "task.completed"),
    ]


# --- API ---------------------------------------------------------------------------------------------


def test_api_declare_and_complete(world: World):
    s = world.staff
    ini, first, second = in_evaluation(world)
    client = api(s["evaluador2"])
    missing = client.post(
        f"{TASKS}{first.pk}/complete/", {"decision": "approve", "data": ONLY_SCORES}, format="json"
    )
    assert missing.status_code == 400
    assert "conflicto de interés" in missing.json()["data.no_conflict"][0]
    assert client.post(f"{TASKS}{first.pk}/declare/", {"conflict": True}, format="json").status_code == 400
    assert client.post(f"{TASKS}{first.pk}/declare/", {"conflict": False}, format="json").status_code == 200
    done = client.post(
        f"{TASKS}{first.pk}/complete/", {"decision": "approve", "data": ONLY_SCORES}, format="json"
    )
    assert done.status_code == 200
    other = api(s["evaluador3"])
    assert other.post(f"{TASKS}{second.pk}/claim/").status_code == 200
    handed = other.post(
        f"{TASKS}{second.pk}/declare/", {"conflict": True, "reason": "Asesoré al solicitante."}, format="json"
    )
    assert handed.status_code == 200 and handed.json()["status"] == "available"
    assert second.pk not in {t["id"] for t in other.get(TASKS).json()["results"]}
    assert AuditEntry.objects.filter(
        case=ini.code, action="task.conflict_declared", actor=s["evaluador3"]
    ).exists()


# --- pages -------------------------------------------------------------------------------------------


def test_the_task_page_asks_the_declaration_before_the_documents_and_the_scores(client, world: World):
    s = world.staff
    ini, first, _second = in_evaluation(world)
    client.force_login(s["evaluador2"])
    html = client.get(f"/tasks/{first.pk}/").content.decode()
    assert f'action="/tasks/{first.pk}/declare/"' in html
    assert "No tengo conflicto de interés con este caso" in html
    assert 'name="data__relevance"' not in html  # no scoring form yet
    assert f"/initiatives/{ini.pk}/documents/" not in html  # no document links
    assert "se abren cuando declare" in html

    # Choosing nothing: the error summary, focused, and nothing recorded.
    seq = last_seq()
    response = client.post(f"/tasks/{first.pk}/declare/", {})
    assert response.status_code == 400
    page = response.content.decode()
    assert re.search(r'class="form-errors error-summary"[^>]*tabindex="-1"[^>]*autofocus', page)
    assert "Elija una de las dos declaraciones." in page
    response = client.post(f"/tasks/{first.pk}/declare/", {"answer": "conflict", "reason": ""})
    assert response.status_code == 400 and 'id="id_reason_error"' in response.content.decode()
    assert entries_after(ini.code, seq) == []

    response = client.post(f"/tasks/{first.pk}/declare/", {"answer": "none"})
    assert response.status_code == 302 and response["Location"].startswith(f"/tasks/{first.pk}/")
    html = client.get(f"/tasks/{first.pk}/").content.decode()
    assert f'action="/tasks/{first.pk}/declare/"' not in html
    assert f"/initiatives/{ini.pk}/documents/" in html
    # The rubric: each criterion's name, text and maximum, the running total and the pass mark.
    assert "¿Resuelve un problema real de la cuenca?" in html
    for label, maximum in (("Pertinencia", 40), ("Factibilidad", 30), ("Impacto", 30)):
        assert label in html and f"hasta {maximum} puntos" in html
    assert re.search(r'<output id="rubric-total"[^>]*>0</output>', html)
    assert "de 100 puntos" in html and "puntaje mínimo para aprobar: 60" in html
    assert 'name="data__no_conflict"' not in html  # declared: no checkbox any more
    assert "rubric.js" in html and "<script nonce=" in html  # ours is a file; the inline one has its nonce


def test_a_decision_sent_without_the_declaration_keeps_the_scores_typed(client, world: World):
    """A stale page (or a crafted POST): the declaration error sits next to its field, the scores
    stay in the form, the running total shows them, no 403 page and no refusal on the record."""
    s = world.staff
    ini, first, _second = in_evaluation(world)
    client.force_login(s["evaluador2"])
    seq = last_seq()
    response = client.post(
        f"/tasks/{first.pk}/",
        {"decision": "approve", "data__relevance": "35", "data__feasibility": "25", "data__impact": "20"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'id="id_data__no_conflict_error"[^>]*>[^<]*conflicto de interés', html)
    for name, value in (("relevance", "35"), ("feasibility", "25"), ("impact", "20")):
        assert re.search(rf'name="data__{name}" value="{value}"', html)
    assert re.search(r'<output id="rubric-total"[^>]*>80</output>', html)
    assert entries_after(ini.code, seq) == []
    # Ticking the declaration in that same form sends it.
    response = client.post(
        f"/tasks/{first.pk}/",
        {
            "decision": "approve",
            "data__no_conflict": "on",
            "data__relevance": "35",
            "data__feasibility": "25",
            "data__impact": "20",
        },
    )
    assert response.status_code == 302
    assert entries_after(ini.code, seq) == [
        ("evaluador2", "task.no_conflict_declared"),
        ("evaluador2", "task.completed"),
    ]


def test_declaring_a_conflict_on_the_page_hands_the_task_back(client, world: World):
    s = world.staff
    ini, first, second = in_evaluation(world)
    approvals.claim_task(first.pk, actor=s["evaluador2"])
    client.force_login(s["evaluador2"])
    response = client.post(
        f"/tasks/{first.pk}/declare/",
        {"answer": "conflict", "reason": "Fui consultor de la asociación."},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/tasks/"
    assert "no se le ofrecerán de nuevo" in response.content.decode()
    assert client.get(f"/tasks/{first.pk}/").status_code == 404
    assert f'href="/tasks/{second.pk}/"' not in client.get("/tasks/available/").content.decode()
    entry = AuditEntry.objects.get(case=ini.code, action="task.conflict_declared")
    assert entry.data["reason"] == "Fui consultor de la asociación."
