"""Segregation of duties (PRODUCT.md §1), checked against who actually did each earlier step of
the case, as the audit trail records it (``task.completed`` entries carry the step)."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q

from audit.actions import AuditAction
from audit.models import AuditEntry

from .models import IncompatibleSteps


def incompatible_map() -> dict[str, set[str]]:
    """step -> the steps one person may not also have done on the same case (symmetric)."""
    return pairs_map(IncompatibleSteps.objects.values_list("step_a", "step_b"))


def pairs_map(rows) -> dict[str, set[str]]:
    """``incompatible_map`` from ``(step_a, step_b)`` rows read elsewhere (the inbox pages read
    them together with their other reference data, in one query)."""
    pairs: dict[str, set[str]] = defaultdict(set)
    for a, b in rows:
        pairs[a].add(b)
        pairs[b].add(a)
    return pairs


def _decisions_of(user):
    """``task.completed`` entries of ``user``: its own and those a delegate made on its behalf.
    Both branches start from the indexed actor column."""
    from .models import Delegation

    delegates = list(Delegation.objects.filter(delegator=user).values_list("delegate_id", flat=True))
    who = Q(actor=user)
    if delegates:
        who |= Q(actor__in=delegates, data__on_behalf_of=user.pk)
    return AuditEntry.objects.filter(who, action=AuditAction.TASK_COMPLETED)


def steps_done_by(user, case_code: str) -> set[str]:
    """The steps ``user`` decided on ``case_code`` (from the audit trail), as actor or principal."""
    rows = _decisions_of(user).filter(case=case_code)
    return {step for step in rows.values_list("data__step", flat=True) if step}


def violation(user, task, pairs: dict[str, set[str]] | None = None) -> bool:
    """True when ``user`` may not work ``task`` because of what it already did on the case."""
    pairs = incompatible_map() if pairs is None else pairs
    conflicting = pairs.get(task.step, set())
    return bool(conflicting and steps_done_by(user, task.case_code) & conflicting)


def excluded_cases_by_step(user, pairs: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
    """For the inbox query: step -> case codes where ``user`` may not take a task of that step.

    One indexed read of the user's own decisions in the audit trail (bounded by what the user did),
    whatever the number of open tasks.
    """
    from .models import Delegation

    pairs = incompatible_map() if pairs is None else pairs
    # The same rows as ``_decisions_of(user)``, in ONE query (the inbox pages count their queries):
    # its own decisions UNION those its delegates made on its behalf, each branch on the actor index.
    completed = AuditEntry.objects.filter(action=AuditAction.TASK_COMPLETED).order_by()
    own = completed.filter(actor=user)
    for_it = completed.filter(
        actor__in=Delegation.objects.filter(delegator=user).values("delegate_id"),
        data__on_behalf_of=user.pk,
    )
    done = (
        own.values_list("case", "data__step")
        .union(for_it.values_list("case", "data__step"), all=True)
        .order_by()
    )
    by_step: dict[str, set[str]] = defaultdict(set)
    for case, step in done:
        for blocked in pairs.get(step, ()):
            by_step[blocked].add(case)
    return by_step


def excluded_tasks_q(user, pairs: dict[str, set[str]] | None = None) -> Q | None:
    """For the inbox query: the tasks ``user`` may not take (the rows of
    ``excluded_cases_by_step(user)``: a task of step S on a case where the user, or a delegate on
    its behalf, decided a step incompatible with S), as ONE correlated ``EXISTS`` on the audit
    trail joined to the pairs table. Its SQL and its cost per row do not grow with the number of
    decisions the user ever made (an exclusion list of case codes would: thousands of parameters
    for a seasoned evaluator); it probes the audit index on ``case`` only for rows that pass the
    query's other conditions. ``pairs``, when the caller already read them: None when none is
    defined. Without it, nothing is read here (the pairs table is joined in the SQL)."""
    from django.db.models import Exists, OuterRef
    from django.db.models.fields.json import KeyTextTransform

    from .models import Delegation

    if pairs is not None and not any(pairs.values()):
        return None
    incompatible = IncompatibleSteps.objects.filter(
        Q(step_a=OuterRef(OuterRef("step")), step_b=OuterRef("done_step"))
        | Q(step_b=OuterRef(OuterRef("step")), step_a=OuterRef("done_step"))
    )
    delegates = Delegation.objects.filter(delegator=user).values("delegate_id")
    decided = (
        AuditEntry.objects.filter(case=OuterRef("case_code"), action=AuditAction.TASK_COMPLETED)
        .filter(Q(actor=user) | Q(actor__in=delegates, data__on_behalf_of=user.pk))
        .annotate(done_step=KeyTextTransform("step", "data"))
        .filter(Exists(incompatible))
        .order_by()
    )
    return Q(Exists(decided))
