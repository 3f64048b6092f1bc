"""The optimistic guard of claim, release and decide (issue item 3): a conditional ``UPDATE … WHERE
pk AND status AND version`` on the task, as django-fsm-2's ``ConcurrentTransitionMixin`` does,
because ``select_for_update`` does nothing on SQLite.

Each test gives a second session a stale read of the task — taken before the first session acted —
and takes away everything else that would stop it: the flow lock is bypassed and the task is not
re-read inside the transaction. Only the conditional UPDATE is left, and it alone must turn the
stale write into a ``Conflict`` (409) with nothing changed. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction

from approvals import services as approvals
from audit.models import AuditEntry
from cases.errors import Conflict
from iniciativas.flow import InitiativeFlow
from iniciativas.models import Initiative
from tests.iniciativas.conftest import World, submitted
from workflows.models import CaseTask

from .clock import open_task

pytestmark = pytest.mark.django_db


def stale_read(task_id: int) -> CaseTask:
    """A second session's read of the task, kept while others act on it."""
    return CaseTask.objects.select_related("process").get(pk=task_id)


@pytest.fixture
def only_the_conditional_update(monkeypatch):
    """``act(stale)``: the services run on ``stale`` as their read of the task, without the flow
    lock and without re-reading the task under it."""

    def act(stale: CaseTask):
        # viewflow's lock minus its row lock: the transaction it holds the decision in.
        monkeypatch.setattr(InitiativeFlow, "lock", classmethod(lambda cls, pk: transaction.atomic()))
        monkeypatch.setattr(approvals, "_task_and_flow", lambda task_id: (stale, InitiativeFlow))
        monkeypatch.setattr(stale, "refresh_from_db", lambda *args, **kwargs: None)
        monkeypatch.setattr(approvals, "_read_locked", lambda task_id: stale)

    return act


def entries(case: str, action: str) -> int:
    return AuditEntry.objects.filter(case=case, action=action).count()


def assert_pure_conflict(excinfo) -> None:
    assert isinstance(excinfo.value, Conflict) and not isinstance(excinfo.value, PermissionDenied)


def test_a_decision_on_a_stale_read_is_a_conflict_and_changes_nothing(
    world: World, only_the_conditional_update
):
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    stale = stale_read(task.pk)  # session 2 reads: NEW, version 0
    approvals.complete_task(task.pk, actor=s["evaluador1"], decision="approve")  # session 1 decides
    assert Initiative.objects.get(pk=ini.pk).state == "in_evaluation"

    only_the_conditional_update(stale)
    assert (stale.status, stale.version) == ("NEW", 0)
    with pytest.raises(Conflict) as excinfo:
        approvals.complete_task(task.pk, actor=s["evaluador2"], decision="reject", comment="Incompleto.")
    assert_pure_conflict(excinfo)

    assert Initiative.objects.get(pk=ini.pk).state == "in_evaluation"  # not rejected after all
    assert entries(ini.code, "task.completed") == 1
    assert entries(ini.code, "initiative.rejected") == 0
    assert entries(ini.code, "task.refused") == 0
    task.refresh_from_db()
    assert (task.status, task.decided_by, task.owner) == ("DONE", s["evaluador1"], s["evaluador1"])
    assert CaseTask.objects.filter(case_code=ini.code, step="technical_evaluation", is_open=True).count() == 2


def test_a_claim_on_a_stale_read_is_a_conflict(world: World, only_the_conditional_update):
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    stale = stale_read(task.pk)
    approvals.claim_task(task.pk, actor=s["evaluador1"])

    only_the_conditional_update(stale)
    with pytest.raises(Conflict) as excinfo:
        approvals.claim_task(task.pk, actor=s["evaluador2"])
    assert_pure_conflict(excinfo)
    task.refresh_from_db()
    assert task.owner == s["evaluador1"] and task.status == "ASSIGNED"
    assert entries(ini.code, "task.claimed") == 1


def test_the_version_catches_a_task_claimed_and_released_meanwhile(world: World, only_the_conditional_update):
    """Status alone would not: the task is NEW again, as the stale read says; its version moved on."""
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    stale = stale_read(task.pk)
    approvals.claim_task(task.pk, actor=s["evaluador1"])
    approvals.release_task(task.pk, actor=s["evaluador1"])
    task.refresh_from_db()
    assert (task.status, task.version) == ("NEW", 2)

    only_the_conditional_update(stale)
    with pytest.raises(Conflict) as excinfo:
        approvals.complete_task(task.pk, actor=s["evaluador2"], decision="approve")
    assert_pure_conflict(excinfo)
    task.refresh_from_db()
    assert (task.status, task.owner_id, task.version) == ("NEW", None, 2)
    assert Initiative.objects.get(pk=ini.pk).state == "submitted"
    assert entries(ini.code, "task.completed") == 0


def test_every_write_moves_the_version_and_viewflow_saves_keep_it(world: World):
    s = world.staff
    ini = submitted(world)
    task = open_task(ini, "admissibility")
    assert task.version == 0
    returned = approvals.claim_task(task.pk, actor=s["evaluador1"])
    assert returned.version == 1
    task.refresh_from_db()
    assert task.version == 1  # viewflow's own save after the guard wrote the bumped version back
    approvals.release_task(task.pk, actor=s["evaluador1"])
    approvals.complete_task(task.pk, actor=s["evaluador2"], decision="approve")
    task.refresh_from_db()
    assert (task.status, task.version) == ("DONE", 3)
