"""The applicant's open steps as items of "what you must do" (``cases.todo``).

A case kind's ``applicant_todo`` hook calls ``task_todos(user, its code)``: the open
applicant steps of ``user``'s unit (or of ``user`` in person, for a case with no unit yet) on cases
of that kind, each with its deadline, what happens when it is missed, and the page where it is done
(the kind's own page when it registered one, ``CaseKind.applicant_pages``, e.g. the initiative's
one-page observation answer; the task page of the inbox otherwise). The same rows the inbox's
«Mis tareas» lists for the applicant.
"""

from __future__ import annotations

from collections.abc import Callable

from django.urls import reverse
from django.utils.translation import gettext as _

from cases import kinds
from cases.templatetags.expediente_tags import lpz_date
from cases.todo import Todo
from workflows.models import CaseTask

from .models import Step, step_label
from .selectors import _unit_tasks_q

# What the applicant does at each of their steps, in their words (not the staff's "decide").
ACTIONS: dict[str, Callable[[], str]] = {
    Step.ANSWER_OBSERVATION: lambda: _("Answer the observation"),
    Step.PROGRESS_REPORT: lambda: _("Send the progress report"),
    Step.FINAL_REPORT: lambda: _("Send the final report"),
    Step.DELIVERY_ACCEPTANCE: lambda: _("Confirm the delivery"),
}

# What happens when the step's deadline passes (``%(due)s``: the deadline, dd/mm/yyyy).
CONSEQUENCES: dict[str, Callable[[], str]] = {
    Step.ANSWER_OBSERVATION: lambda: _("If you do not answer by %(due)s, the case is abandoned."),
    Step.PROGRESS_REPORT: lambda: _(
        "The next tranche is not paid until PRO-BOLIVIA receives and reviews it; after %(due)s it is overdue."
    ),
    Step.FINAL_REPORT: lambda: _(
        "The case cannot be closed until PRO-BOLIVIA receives it; after %(due)s it is overdue."
    ),
    Step.DELIVERY_ACCEPTANCE: lambda: _(
        "The delivery stays unconfirmed until you answer; after %(due)s it is overdue."
    ),
}


def action_label(step: str) -> str:
    make = ACTIONS.get(step)
    return make() if make else step_label(step)


# The button that sends it.
SUBMITS: dict[str, Callable[[], str]] = {
    Step.ANSWER_OBSERVATION: lambda: _("Send the answer"),
    Step.PROGRESS_REPORT: lambda: _("Send the report"),
    Step.FINAL_REPORT: lambda: _("Send the report"),
    Step.DELIVERY_ACCEPTANCE: lambda: _("Send the answer"),
}


def submit_label(step: str) -> str:
    make = SUBMITS.get(step)
    return make() if make else _("Send")


def consequence(step: str, due) -> str:
    make = CONSEQUENCES.get(step)
    if make is None or due is None:
        return ""
    return make() % {"due": lpz_date(due)}


def applicant_tasks(user, case_type: str):
    """The open applicant steps of ``user`` on cases of ``case_type``, soonest first."""
    q = _unit_tasks_q(user)
    if q is None:
        return CaseTask.objects.none()
    return (
        CaseTask.objects.filter(q, case_type=case_type, is_open=True)
        .exclude(step="")
        .order_by("due_at", "pk")
    )


def applicant_task_url(task: CaseTask) -> str:
    """Where the applicant works ``task``: the kind's own page for the step
    (``CaseKind.applicant_pages``), else the task's page in the inbox."""
    page = kinds.get(task.case_type).applicant_page(task.step, task.case_id)
    return page or reverse("task-detail", args=[task.pk])


def task_todos(user, case_type: str) -> list[Todo]:
    """``Todo`` items of the open applicant steps of ``user`` on cases of ``case_type``."""
    items = []
    for task in applicant_tasks(user, case_type):
        url = applicant_task_url(task)
        items.append(
            Todo(
                case_code=task.case_code,
                case_url=task.case_url,
                action=action_label(task.step),
                url=url,
                due=task.due_at,
                consequence=consequence(task.step, task.due_at),
                detail=task.title,
            )
        )
    return items
