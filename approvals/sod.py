"""Segregation of duties (PRODUCT.md §1), checked against who actually did each earlier step of
the case, as the audit trail records it (``task.completed`` entries carry the step); against the
open tasks of the case a person holds (claimed or given to it, not yet decided: a decision it has
taken on — so nobody holds both technical-evaluation slots of a case, to find the second refused
once the first is decided); and against who acted on the applicant side of the case
(``applicant_side_entries``): such a person never acts as staff on it, whatever roles it holds
today.

Each rule has three shapes that must agree: a check of one person and one task for the services
(``conflict``, ``acted_as_applicant``); a correlated SQL condition on tasks for one person's inbox
(``four_eyes_q``, ``acted_as_applicant_q``), so the inbox never offers what a claim or decision would
refuse; and a correlated SQL condition on users for one task (``four_eyes_users_q``,
``acted_as_applicant_users_q``), so whom a new task is notified to (``selectors.eligible_users``) is
exactly who could claim it."""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from django.db.models import Exists, OuterRef, Q, Subquery
from viewflow.workflow.status import STATUS

from audit.actions import AuditAction
from audit.models import AuditEntry
from cases import kinds
from cases.roles import ALL_STAFF_ROLES

from .models import IncompatibleSteps, applicant_steps

# What only a member of the applicant unit can do on its case, and what either side may do (staff
# also upload documents and start direct transfers: on the applicant side when done before the actor
# first held an agency role). Each case kind registers its own (``cases.kinds``).
GENERIC_EITHER_SIDE_ACTIONS = (AuditAction.DOCUMENT_UPLOADED,)


def applicant_only_actions() -> list[str]:
    return sorted({str(a) for kind in kinds.all_kinds() for a in kind.applicant_actions})


def either_side_actions() -> list[str]:
    registered = {str(a) for kind in kinds.all_kinds() for a in kind.either_side_actions}
    return sorted(registered | {str(a) for a in GENERIC_EITHER_SIDE_ACTIONS})


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


def steps_held_by(user, task) -> set[str]:
    """The steps of the other open tasks of ``task``'s case that ``user`` holds (claimed by it or
    for it by a delegate, or given to it by a reassignment), not yet decided."""
    from workflows.models import CaseTask

    held = CaseTask.objects.filter(
        owner_id=user.pk, status=STATUS.ASSIGNED, is_open=True, case_code=task.case_code
    ).exclude(pk=task.pk)
    return set(held.values_list("step", flat=True))


def conflict(user, task, pairs: dict[str, set[str]] | None = None) -> Literal["decided", "held"] | None:
    """Why ``user`` may not work ``task`` on four-eyes grounds: it already decided a step of the
    case incompatible with the task's (``"decided"``), or holds another open task of the case whose
    step is (``"held"``: deciding both would break the rule, so taking the second is refused up
    front — for a step incompatible with itself, one evaluation per person per case, the second
    slot). None: neither. The same rule as ``four_eyes_q``."""
    pairs = incompatible_map() if pairs is None else pairs
    conflicting = pairs.get(task.step, set())
    if not conflicting:
        return None
    if steps_done_by(user, task.case_code) & conflicting:
        return "decided"
    if steps_held_by(user, task) & conflicting:
        return "held"
    return None


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


def held_tasks_q(user, pairs: dict[str, set[str]] | None = None) -> Q | None:
    """For the inbox query: the tasks of a case on which ``user`` holds another open task of a step
    incompatible with theirs (``conflict``'s ``"held"``), as ONE correlated ``EXISTS`` on the task
    table's case index joined to the pairs table; no read of its own. ``pairs``: as
    ``excluded_tasks_q``."""
    from workflows.models import CaseTask

    if pairs is not None and not any(pairs.values()):
        return None
    incompatible = IncompatibleSteps.objects.filter(
        Q(step_a=OuterRef(OuterRef("step")), step_b=OuterRef("step"))
        | Q(step_b=OuterRef(OuterRef("step")), step_a=OuterRef("step"))
    )
    held = (
        CaseTask.objects.filter(
            case_code=OuterRef("case_code"), owner_id=user.pk, status=STATUS.ASSIGNED, is_open=True
        )
        .exclude(pk=OuterRef("pk"))
        .filter(Exists(incompatible))
        .order_by()
    )
    return Q(Exists(held))


def four_eyes_q(user, pairs: dict[str, set[str]] | None = None) -> Q | None:
    """For the inbox query: every task ``user`` may not take on four-eyes grounds — a step
    incompatible with one it decided, itself or through a delegate (``excluded_tasks_q``), or with
    one it holds (``held_tasks_q``). ``conflict`` in SQL; None when no pair is defined."""
    decided = excluded_tasks_q(user, pairs)
    held = held_tasks_q(user, pairs)
    if decided is None or held is None:
        return None
    return decided | held


def _became_staff(user):
    """The ``seq`` of the first ``auth.role_granted`` entry giving ``user`` an agency role (a
    subquery; NULL when the trail records none: then nothing it did counts as applicant-side by
    this test, only by ``applicant_only_actions()``)."""
    return _became_staff_seq(str(user.pk))  # ``user`` may be a request's lazy object: its pk only


def _became_staff_seq(subject_id) -> Subquery:
    """``_became_staff`` of the user whose id, as text, is ``subject_id`` (a value or an
    expression)."""
    from django.contrib.auth import get_user_model

    meta = get_user_model()._meta
    return Subquery(
        AuditEntry.objects.filter(
            action=AuditAction.ROLE_GRANTED,
            subject_type=f"{meta.app_label}.{meta.model_name}",
            subject_id=subject_id,
            data__role__in=sorted(ALL_STAFF_ROLES),
        )
        .order_by("seq")
        .values("seq")[:1]
    )


def _applicant_side_q(became_staff) -> Q:
    """What marks an entry of the trail as done on the applicant side, given the ``seq`` at which
    its actor first held an agency role (``became_staff``, ``_became_staff_seq``): shared by
    ``applicant_side_entries`` (one user) and ``acted_as_applicant_users_q`` (over users)."""
    return (
        Q(action__in=applicant_only_actions())
        | Q(action=AuditAction.TASK_COMPLETED, data__step__in=applicant_steps())
        | Q(action__in=either_side_actions(), seq__lt=became_staff)
    )


def applicant_side_entries(user):
    """``user``'s entries in the audit trail that show it acting on the applicant side of a case
    (filter them by ``case``): what only the applicant unit can do, the applicant steps it decided
    (``applicant_steps()``), and uploads or transfer requests made before it held an agency role —
    e.g. a cooperative member who drafted and submitted the case and was later hired by the agency.
    One indexed probe of the trail (actor, then case)."""
    return AuditEntry.objects.filter(actor=user).filter(_applicant_side_q(_became_staff(user)))


def acted_as_applicant(user, case_code: str) -> bool:
    """True when ``user`` acted on the applicant side of ``case_code`` (it never acts as staff on it)."""
    return bool(case_code) and applicant_side_entries(user).filter(case=case_code).exists()


def acted_as_applicant_q(user) -> Q:
    """For the inbox query: the tasks of cases on whose applicant side ``user`` acted, as ONE
    correlated ``EXISTS`` on the audit trail (no read of its own, so no query is added to a page)."""
    return Q(Exists(applicant_side_entries(user).filter(case=OuterRef("case_code")).order_by()))


# --- over users: who may not work one given task (``selectors.eligible_users``) ------------------------


def decided_users_q(task, pairs: dict[str, set[str]] | None = None) -> Q | None:
    """For a query over users: those who decided a step of ``task``'s case incompatible with the
    task's step, themselves or through a delegate on their behalf (``conflict``'s ``"decided"``;
    ``excluded_tasks_q`` seen from the task), as ONE correlated ``EXISTS`` on the audit trail's
    ``case`` index. ``pairs``: as ``excluded_tasks_q``; without them the pairs table is joined in
    the SQL (nothing is read here). None: no step is incompatible with the task's."""
    from django.db.models import CharField
    from django.db.models.fields.json import KeyTextTransform
    from django.db.models.functions import Cast

    from .models import Delegation

    completed = AuditEntry.objects.filter(case=task.case_code, action=AuditAction.TASK_COMPLETED)
    if pairs is not None:
        conflicting = pairs.get(task.step, set())
        if not conflicting:
            return None
        completed = completed.filter(data__step__in=sorted(conflicting))
    else:
        done = OuterRef("done_step")
        incompatible = IncompatibleSteps.objects.filter(
            Q(step_a=task.step, step_b=done) | Q(step_b=task.step, step_a=done)
        )
        completed = completed.annotate(done_step=KeyTextTransform("step", "data"))
        completed = completed.filter(Exists(incompatible))
    # ``_decisions_of`` of the outer user: its own, and its delegates' on its behalf. The entry's
    # ``on_behalf_of`` (a user id, written by ``complete_task``) is compared as text: SQL has no
    # portable cast of a column to JSON.
    delegates = Delegation.objects.filter(delegator=OuterRef(OuterRef("pk"))).values("delegate_id")
    for_it = Q(
        actor__in=delegates,
        on_behalf_of=Cast(OuterRef("pk"), output_field=CharField()),
    )
    completed = completed.alias(on_behalf_of=KeyTextTransform("on_behalf_of", "data"))
    return Q(Exists(completed.filter(Q(actor=OuterRef("pk")) | for_it).order_by()))


def held_users_q(task, pairs: dict[str, set[str]] | None = None) -> Q | None:
    """For a query over users: those who hold another open task of ``task``'s case whose step is
    incompatible with the task's (``conflict``'s ``"held"``; ``held_tasks_q`` seen from the task),
    as ONE correlated ``EXISTS`` on the task table's case index. ``pairs``: as ``decided_users_q``."""
    from workflows.models import CaseTask

    held = CaseTask.objects.filter(
        case_code=task.case_code, owner_id=OuterRef("pk"), status=STATUS.ASSIGNED, is_open=True
    ).exclude(pk=task.pk)
    if pairs is not None:
        conflicting = pairs.get(task.step, set())
        if not conflicting:
            return None
        held = held.filter(step__in=sorted(conflicting))
    else:
        incompatible = IncompatibleSteps.objects.filter(
            Q(step_a=task.step, step_b=OuterRef("step")) | Q(step_b=task.step, step_a=OuterRef("step"))
        )
        held = held.filter(Exists(incompatible))
    return Q(Exists(held.order_by()))


def four_eyes_users_q(task, pairs: dict[str, set[str]] | None = None) -> Q | None:
    """For a query over users: everyone ``conflict`` stops from working ``task`` (what they decided
    or hold on its case). None: nobody (no step is incompatible with the task's)."""
    decided = decided_users_q(task, pairs)
    held = held_users_q(task, pairs)
    if decided is None or held is None:
        return None
    return decided | held


def acted_as_applicant_users_q(case_code: str) -> Q | None:
    """For a query over users: those who acted on the applicant side of ``case_code``
    (``acted_as_applicant`` for each of them), as ONE correlated ``EXISTS`` on the audit trail's
    ``case`` index, with the same rule as ``applicant_side_entries`` (``_applicant_side_q``); when a
    person first held an agency role is read for the outer user. None: no case code (nobody)."""
    from django.db.models import CharField
    from django.db.models.functions import Cast

    if not case_code:
        return None
    became_staff = _became_staff_seq(Cast(OuterRef(OuterRef("pk")), output_field=CharField()))
    entries = AuditEntry.objects.filter(case=case_code, actor=OuterRef("pk"))
    return Q(Exists(entries.filter(_applicant_side_q(became_staff)).order_by()))


# --- a declared conflict of interest -------------------------------------------------------------------
# Whoever declared a conflict of interest with a case (``services.declare_conflict``: a
# ``task.conflict_declared`` entry of theirs on the case) never works a step of it that asks for the
# declaration (``steps.declaration_steps``: the technical evaluations) again. Three shapes, as above.


def _conflicts_declared():
    return AuditEntry.objects.filter(action=AuditAction.TASK_CONFLICT_DECLARED)


def declared_conflict(user, task) -> bool:
    """True when ``user`` declared a conflict of interest with ``task``'s case and the task's step
    asks for the declaration."""
    from .steps import declaration_steps

    if not task.case_code or task.step not in declaration_steps():
        return False
    return _conflicts_declared().filter(actor=user.pk, case=task.case_code).exists()


def declared_conflict_q(user) -> Q | None:
    """For the inbox query: the tasks of a step asking for the declaration, on cases ``user``
    declared a conflict of interest with, as ONE correlated ``EXISTS`` on the audit trail (actor
    index). None: no step asks for it."""
    from .steps import declaration_steps

    steps = declaration_steps()
    if not steps:
        return None
    declared = _conflicts_declared().filter(actor=user.pk, case=OuterRef("case_code")).order_by()
    return Q(step__in=steps) & Q(Exists(declared))


def declared_conflict_users_q(task) -> Q | None:
    """For a query over users: those who declared a conflict of interest with ``task``'s case, when
    its step asks for the declaration. None: nobody (the step does not ask for it)."""
    from .steps import declaration_steps

    if not task.case_code or task.step not in declaration_steps():
        return None
    declared = _conflicts_declared().filter(case=task.case_code, actor=OuterRef("pk")).order_by()
    return Q(Exists(declared))
