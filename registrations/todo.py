"""What an applicant must do on its registrations (the kind's ``applicant_todo``, read by the
applicant's home through ``cases.todo``): its open steps (answering an observation, on the inbox's
task page) and its drafts, with what each still lacks before it can be submitted."""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from approvals.todo import task_todos
from cases.todo import Todo

from .conditions import submission_problems
from .models import Registration, RegistrationState

KIND = "registration"


def _draft_todo(registration: Registration) -> Todo:
    url = reverse("registration-detail", args=[registration.pk])
    problems = submission_problems(registration)
    if not problems:
        return Todo(
            case_code=registration.code,
            case_url=url,
            action=_("Submit the registration"),
            url=url,
            consequence=_("PRO-BOLIVIA reviews it only once it is submitted."),
        )
    count = sum(len(v) for v in problems.values())
    return Todo(
        case_code=registration.code,
        case_url=url,
        action=ngettext(
            "Complete the registration: %(n)s item is missing",
            "Complete the registration: %(n)s items are missing",
            count,
        )
        % {"n": count},
        url=url,
        consequence=_("PRO-BOLIVIA reviews it only once it is submitted."),
        detail=" ".join(m for msgs in problems.values() for m in msgs),
    )


def applicant_todo(user) -> list[Todo]:
    """The registration actions due for ``user``: the open applicant steps and the drafts they (or
    their unit) started."""
    items = task_todos(user, KIND)
    mine = Q(applicant=user) | (Q(unit_id=user.unit_id) if user.unit_id else Q(pk__in=[]))
    drafts = (
        Registration.objects.filter(mine, state=RegistrationState.DRAFT)
        .select_related("unit", "department")
        .order_by("created_at", "pk")
    )
    items.extend(_draft_todo(r) for r in drafts)
    return items
