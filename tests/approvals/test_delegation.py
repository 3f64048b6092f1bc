"""Delegation of one's inbox during an absence (frozen clock: Monday 3 Aug 2026): the delegate
sees and decides the delegator's tasks of the delegated role, each decision records both names; a
delegation outside its dates or revoked gives nothing; another role is refused (400, Spanish); the
delegate's own four eyes still apply; the delegation itself is audited; the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from approvals import selectors
from approvals import services as approvals
from approvals.models import Delegation, Notification
from audit.models import AuditEntry
from iniciativas.models import Initiative
from tests.factories import UserFactory
from tests.iniciativas.conftest import submitted
from workflows.models import CaseTask

from .clock import SCORES, decide, lpz, open_task, to_approval

pytestmark = pytest.mark.django_db

D = dt.date
PAGE = reverse("delegation-list")


def ids(qs) -> set[int]:
    return set(qs.values_list("pk", flat=True))


@pytest.fixture
def legal_task(agency):
    """An initiative in approval whose legal report legal1 has claimed, then went on leave."""
    ini = submitted(agency)
    to_approval(agency, ini)
    task = open_task(ini, "legal_report")
    approvals.claim_task(task.pk, actor=agency.staff["legal1"])
    return ini, task


def delegate(world, frm, to, role, start, end, **kw):
    return approvals.delegate_inbox(
        actor=world.staff[frm], delegate=world.staff[to], role=role, starts_on=start, ends_on=end, **kw
    )


# --- the delegate acts for the delegator -------------------------------------------------------------


def test_the_delegate_sees_and_decides_the_delegators_task_and_both_names_are_recorded(agency, legal_task):
    ini, task = legal_task
    legal2 = agency.staff["legal2"]
    assert task.pk not in ids(selectors.task_list_open(legal2))
    with pytest.raises(PermissionDenied):
        approvals.complete_task(task.pk, actor=legal2, decision="approve", data={"opinion": "Procedente"})

    delegate(agency, "legal1", "legal2", "legal", D(2026, 8, 3), D(2026, 8, 14), reason="Vacaciones")
    assert task.pk in ids(selectors.task_list_assigned(legal2))
    assert task.pk in ids(selectors.task_list_open(legal2))
    assert selectors.task_get_for(legal2, task.pk).pk == task.pk

    case = approvals.complete_task(task.pk, actor=legal2, decision="approve", data={"opinion": "Procedente"})
    assert case.state == "in_approval"
    entry = AuditEntry.objects.filter(action="task.completed", case=ini.code).order_by("-seq").first()
    assert entry.actor == legal2
    assert entry.data["step"] == "legal_report"
    assert entry.data["on_behalf_of"] == agency.staff["legal1"].pk
    assert entry.data["on_behalf_of_label"] == "legal1"
    task.refresh_from_db()
    assert task.decided_by == legal2 and task.owner == agency.staff["legal1"]


def test_a_delegation_works_only_within_its_dates(clock, agency, legal_task):
    _ini, task = legal_task
    legal2 = agency.staff["legal2"]
    delegate(agency, "legal1", "legal2", "legal", D(2026, 8, 4), D(2026, 8, 5))

    def holds() -> bool:
        return task.pk in ids(selectors.task_list_open(legal2))

    assert not holds()  # Monday: starts tomorrow
    with pytest.raises(PermissionDenied):
        approvals.complete_task(task.pk, actor=legal2, decision="approve", data={"opinion": "Procedente"})
    clock.set(lpz(2026, 8, 4, 9))
    assert holds()
    clock.set(lpz(2026, 8, 5, 23, 59))
    assert holds()
    clock.set(lpz(2026, 8, 6, 0, 1))  # over
    assert not holds()
    with pytest.raises(PermissionDenied):
        approvals.complete_task(task.pk, actor=legal2, decision="approve", data={"opinion": "Procedente"})
    assert AuditEntry.objects.filter(action="task.refused", actor=legal2).count() == 2


def test_a_revoked_delegation_gives_nothing(agency, legal_task):
    _ini, task = legal_task
    legal1, legal2 = agency.staff["legal1"], agency.staff["legal2"]
    d = delegate(agency, "legal1", "legal2", "legal", D(2026, 8, 3), D(2026, 8, 14))
    assert task.pk in ids(selectors.task_list_open(legal2))
    with pytest.raises(PermissionDenied):
        approvals.revoke_delegation(d.pk, actor=legal2)  # only who delegated (or an administrator)
    approvals.revoke_delegation(d.pk, actor=legal1)
    assert task.pk not in ids(selectors.task_list_open(legal2))
    with pytest.raises(PermissionDenied):
        approvals.complete_task(task.pk, actor=legal2, decision="approve", data={"opinion": "Procedente"})
    entries = AuditEntry.objects.filter(action__startswith="delegation.").order_by("seq")
    assert [(e.action, e.actor) for e in entries] == [
        ("delegation.created", legal1),
        ("delegation.revoked", legal1),
    ]
    created = entries[0].data
    assert (created["delegator_label"], created["delegate_label"], created["role"]) == (
        "legal1",
        "legal2",
        "legal",
    )
    assert (created["from"], created["until"]) == ("2026-08-03", "2026-08-14")


def test_a_delegation_covers_only_the_delegated_role(agency):
    """Someone holding legal and finance roles who delegates only finance: the delegate (finance)
    gets nothing of its legal work."""
    both = UserFactory(username="legalfinanzas", roles=["legal", "finance"])
    ini = submitted(agency)
    to_approval(agency, ini)
    task = open_task(ini, "legal_report")
    approvals.claim_task(task.pk, actor=both)
    approvals.delegate_inbox(
        actor=both,
        delegate=agency.staff["finanzas2"],
        role="finance",
        starts_on=D(2026, 8, 3),
        ends_on=D(2026, 8, 7),
    )
    finanzas2 = agency.staff["finanzas2"]
    assert task.pk not in ids(selectors.task_list_open(finanzas2))
    with pytest.raises(PermissionDenied):
        approvals.complete_task(task.pk, actor=finanzas2, decision="approve", data={"opinion": "Procedente"})


def test_four_eyes_still_applies_to_the_delegates_own_history(agency):
    """evaluador2 scored the first evaluation; evaluador3 holds the second and delegates to
    evaluador2: the inbox does not offer it, and deciding it is refused and audited."""
    s = agency.staff
    ini = submitted(agency)
    decide(ini, "admissibility", s["evaluador1"])
    t1, t2 = CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True)
    approvals.complete_task(t1.pk, actor=s["evaluador2"], decision="approve", data=SCORES)
    approvals.claim_task(t2.pk, actor=s["evaluador3"])
    delegate(agency, "evaluador3", "evaluador2", "evaluator", D(2026, 8, 3), D(2026, 8, 7))

    assert t2.pk not in ids(selectors.task_list_open(s["evaluador2"]))
    with pytest.raises(PermissionDenied) as exc:
        approvals.complete_task(t2.pk, actor=s["evaluador2"], decision="approve", data=SCORES)
    assert ini.code in str(exc.value)
    refusal = AuditEntry.objects.get(action="task.refused", actor=s["evaluador2"])
    assert refusal.data["refused_step"] == "technical_evaluation"
    assert Initiative.objects.get(pk=ini.pk).state == "in_evaluation"
    # The holder itself still can.
    approvals.complete_task(t2.pk, actor=s["evaluador3"], decision="approve", data=SCORES)


def test_a_decision_made_for_a_delegator_counts_in_both_persons_four_eyes(agency, legal_task):
    """legal2 writes the legal report for legal1: for segregation of duties, both have now done
    that step of the case (the delegate as actor, the delegator as principal)."""
    from approvals import sod

    ini, task = legal_task
    delegate(agency, "legal1", "legal2", "legal", D(2026, 8, 3), D(2026, 8, 14))
    approvals.complete_task(task.pk, actor=agency.staff["legal2"], decision="approve", data={"opinion": "Ok"})
    assert sod.steps_done_by(agency.staff["legal1"], ini.code) == {"legal_report"}
    assert sod.steps_done_by(agency.staff["legal2"], ini.code) == {"legal_report"}
    assert sod.steps_done_by(agency.staff["legal1"], "INI-OTRO") == set()


# --- what may be delegated -----------------------------------------------------------------------------


def test_delegating_to_someone_of_another_role_is_refused(agency):
    with pytest.raises(ValidationError) as exc:
        delegate(agency, "legal1", "finanzas1", "legal", D(2026, 8, 3), D(2026, 8, 7))
    assert "delegate" in exc.value.message_dict
    for bad in (
        {"to": "legal1"},  # oneself
        {"role": "finance"},  # a role one does not hold
        {"end": D(2026, 8, 2)},  # before it starts
        {"start": D(2026, 7, 1), "end": D(2026, 7, 31)},  # already over
        {"end": D(2026, 12, 31)},  # more than 90 days
    ):
        args = {"to": "legal2", "role": "legal", "start": D(2026, 8, 3), "end": D(2026, 8, 7), **bad}
        with pytest.raises(ValidationError):
            delegate(agency, "legal1", args["to"], args["role"], args["start"], args["end"])
    with pytest.raises(PermissionDenied):  # applicants have no inbox of staff to delegate
        approvals.delegate_inbox(
            actor=agency.applicant,
            delegate=agency.other_applicant,
            role="applicant",
            starts_on=D(2026, 8, 3),
            ends_on=D(2026, 8, 7),
        )
    assert not Delegation.objects.exists()
    assert not AuditEntry.objects.filter(action="delegation.created").exists()


def test_an_administrator_sets_up_a_delegation_for_an_absent_colleague(agency):
    admin = agency.staff["admin1"]
    d = approvals.delegate_inbox(
        actor=admin,
        delegator=agency.staff["director1"],
        delegate=agency.staff["director2"],
        role="director",
        starts_on=D(2026, 8, 3),
        ends_on=D(2026, 8, 10),
        reason="Baja médica",
    )
    assert (d.delegator, d.delegate) == (agency.staff["director1"], agency.staff["director2"])
    entry = AuditEntry.objects.get(action="delegation.created")
    assert entry.actor == admin and entry.data["delegator_label"] == "director1"
    with pytest.raises(PermissionDenied):  # a colleague may not do it for someone else
        approvals.delegate_inbox(
            actor=agency.staff["director2"],
            delegator=agency.staff["director1"],
            delegate=agency.staff["director2"],
            role="director",
            starts_on=D(2026, 8, 3),
            ends_on=D(2026, 8, 10),
        )


# --- the pages -------------------------------------------------------------------------------------------


def test_the_delegation_page_offers_same_role_colleagues_and_delegates(
    agency, client, django_capture_on_commit_callbacks
):
    client.force_login(agency.staff["evaluador1"])
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    for colleague in ("evaluador2", "evaluador3", "evaluador4"):
        assert colleague in html
    assert f'value="{agency.staff["legal1"].pk}"' not in html
    assert "Delegar mi bandeja" in html

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            PAGE,
            {
                "role": "evaluator",
                "delegate": agency.staff["evaluador4"].pk,
                "starts_on": "2026-08-03",
                "ends_on": "2026-08-14",
                "reason": "Comisión a Tarija",
            },
        )
    assert response.status_code == 302
    d = Delegation.objects.get()
    assert (d.delegator.username, d.delegate.username, d.role, d.reason) == (
        "evaluador1",
        "evaluador4",
        "evaluator",
        "Comisión a Tarija",
    )
    assert (
        AuditEntry.objects.filter(action="delegation.created", actor=agency.staff["evaluador1"]).count() == 1
    )
    assert Notification.objects.filter(kind="delegation", user=agency.staff["evaluador4"]).count() == 1

    # The delegate's page lists it as received.
    client.force_login(agency.staff["evaluador4"])
    html = client.get(PAGE).content.decode()
    assert "Bandejas delegadas a mí" in html and "evaluador1" in html and "Vigente" in html


def test_the_banner_tells_the_delegate_whose_inbox_it_holds(agency, rf):
    from django.template.loader import render_to_string

    delegate(agency, "evaluador1", "evaluador4", "evaluator", D(2026, 8, 3), D(2026, 8, 14))
    request = rf.get("/")
    request.user = agency.staff["evaluador4"]
    html = render_to_string("approvals/_delegation_banner.html", request=request)
    assert "Usted atiende la bandeja de:" in html and "evaluador1" in html and "14/08/2026" in html
    request.user = agency.staff["evaluador1"]  # the delegator holds nobody's inbox: no banner
    assert "delegation-banner" not in render_to_string("approvals/_delegation_banner.html", request=request)


def test_the_page_refuses_a_colleague_of_another_role_with_400_in_spanish(agency, client):
    client.force_login(agency.staff["legal1"])
    response = client.post(
        PAGE,
        {
            "role": "legal",
            "delegate": agency.staff["finanzas1"].pk,
            "starts_on": "2026-08-03",
            "ends_on": "2026-08-07",
        },
    )
    assert response.status_code == 400
    assert "El colega debe tener el mismo rol." in response.content.decode()
    assert not Delegation.objects.exists()


def test_the_page_refuses_invalid_dates_with_400_and_applicants_with_403(agency, client):
    client.force_login(agency.staff["legal1"])
    response = client.post(
        PAGE,
        {
            "role": "legal",
            "delegate": agency.staff["legal2"].pk,
            "starts_on": "2026-08-07",
            "ends_on": "2026-08-03",
        },
    )
    assert response.status_code == 400
    client.force_login(agency.applicant)
    assert client.get(PAGE).status_code == 200
    response = client.post(
        PAGE,
        {
            "role": "applicant",
            "delegate": agency.other_applicant.pk,
            "starts_on": "2026-08-03",
            "ends_on": "2026-08-07",
        },
    )
    assert response.status_code == 403
    assert not Delegation.objects.exists()


def test_revoking_from_the_page(agency, client):
    d = delegate(agency, "legal1", "legal2", "legal", D(2026, 8, 3), D(2026, 8, 14))
    url = reverse("delegation-revoke", args=[d.pk])
    client.force_login(agency.staff["legal2"])  # the delegate cannot revoke it: not found
    assert client.post(url).status_code == 404
    client.force_login(agency.staff["legal1"])
    assert client.get(url).status_code == 405
    assert client.post(url).status_code == 302
    d.refresh_from_db()
    assert d.revoked_at == timezone.now()
    assert client.post(url).status_code == 302  # again: a message, nothing changes
    assert AuditEntry.objects.filter(action="delegation.revoked").count() == 1
