"""A frozen clock for the deadline tests: ``django.utils.timezone.now`` patched (so ``localdate``,
``auto_now_add``, the audit trail and our services all read it), no new dependency.

    with frozen(lpz(2026, 8, 3, 9)) as clock:
        ...
        clock.set(lpz(2026, 8, 12, 0, 30))

viewflow's ``created`` defaults are patched too; its ``started``/``finished`` stamps import ``now``
directly and keep the real time (nothing of ours reads them).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

LA_PAZ = ZoneInfo("America/La_Paz")


def lpz(year, month, day, hour=9, minute=0, second=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=LA_PAZ)


class Clock:
    def __init__(self, start: dt.datetime):
        self.now = start

    def set(self, when: dt.datetime) -> None:
        self.now = when

    def __call__(self) -> dt.datetime:
        return self.now.astimezone(dt.UTC)


@contextmanager
def frozen(start: dt.datetime):
    from workflows.models import CaseProcess, CaseTask

    clock = Clock(start)
    fields = (CaseTask._meta.get_field("created"), CaseProcess._meta.get_field("created"))

    def forget_cached_defaults():
        # Django caches each field's default callable (``Field._get_default`` is a cached_property):
        # drop it, or a default computed before the patch (or the clock itself, after) would stick.
        for field in fields:
            field.__dict__.pop("_get_default", None)

    forget_cached_defaults()
    try:
        with (
            mock.patch("django.utils.timezone.now", clock),
            # viewflow's ``created`` defaults hold the original ``timezone.now`` function itself
            mock.patch.object(fields[0], "default", clock),
            mock.patch.object(fields[1], "default", clock),
        ):
            yield clock
    finally:
        forget_cached_defaults()


# The default frozen moment: Monday 3 August 2026, 09:00 in La Paz (6 August is a holiday).
START = lpz(2026, 8, 3, 9)


@pytest.fixture
def clock():
    with frozen(START) as c:
        yield c


@pytest.fixture
def agency(clock, world):
    """The ``world`` of ``tests.iniciativas.conftest``, built after the clock was frozen."""
    assert world.call.opens_on == START.date() - dt.timedelta(days=10), "world built before the clock froze"
    return world


# --- small helpers shared by the deadline, notification, delegation and policy tests -------------

SCORES = {"no_conflict": True, "relevance": 35, "feasibility": 25, "impact": 20}


def give_emails(world) -> None:
    """Staff and applicants get an address (``UserFactory`` leaves it empty; no service edits it)."""
    from registry.models import User

    people = [*world.staff.values(), world.applicant, world.other_applicant]
    for user in people:
        User.objects.filter(pk=user.pk).update(email=f"{user.username}@probolivia.gob.bo")
        user.email = f"{user.username}@probolivia.gob.bo"


def open_task(initiative, step):
    from workflows.models import CaseTask

    return CaseTask.objects.get(case_code=initiative.code, step=step, is_open=True)


def decide(initiative, step, user, decision="approve", comment="", **data):
    from approvals import services

    task = open_task(initiative, step)
    return services.complete_task(task.pk, actor=user, decision=decision, comment=comment, data=data)


def to_approval(world, initiative):
    """Admit and evaluate an initiative (evaluador1 admits, evaluador2 and evaluador3 score)."""
    from approvals import services
    from workflows.models import CaseTask

    s = world.staff
    decide(initiative, "admissibility", s["evaluador1"])
    t1, t2 = CaseTask.objects.filter(case_code=initiative.code, step="technical_evaluation", is_open=True)
    services.complete_task(t1.pk, actor=s["evaluador2"], decision="approve", data=SCORES)
    return services.complete_task(t2.pk, actor=s["evaluador3"], decision="approve", data=SCORES)
