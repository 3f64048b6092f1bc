"""What an applicant unit must do on its initiatives (the kind's ``applicant_todo``, read by the
applicant's home through ``cases.todo``): its open steps (answering an observation goes to the
one-page answer, ``initiative-answer``) and its drafts, with what each still lacks before the call
closes."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from approvals.todo import task_todos
from cases.roles import Role, has_role
from cases.templatetags.expediente_tags import lpz_date
from cases.todo import Todo

from .conditions import submission_problems
from .models import KIND, Initiative, InitiativeState


def _draft_todo(initiative: Initiative) -> Todo:
    problems = submission_problems(initiative)
    closes = initiative.call.closes_on
    consequence = _("The call closes on %(due)s: after that the draft can no longer be submitted.") % {
        "due": lpz_date(closes)
    }
    case_url = reverse("initiative-detail", args=[initiative.pk])
    edit_url = reverse("initiative-edit", args=[initiative.pk])
    if not problems:
        return Todo(
            case_code=initiative.code,
            case_url=case_url,
            action=_("Submit the draft"),
            url=reverse("initiative-submit", args=[initiative.pk]),
            due=closes,
            consequence=consequence,
            detail=initiative.title,
        )
    count = sum(len(v) for v in problems.values())
    missing = " ".join(m for msgs in problems.values() for m in msgs)
    return Todo(
        case_code=initiative.code,
        case_url=case_url,
        action=ngettext(
            "Complete the draft: %(n)s item is missing",
            "Complete the draft: %(n)s items are missing",
            count,
        )
        % {"n": count},
        url=edit_url + "#documentos" if "documents" in problems else edit_url,
        due=closes,
        consequence=consequence,
        detail=f"{initiative.title}. {missing}",
    )


def applicant_todo(user) -> list[Todo]:
    """The initiative actions due for ``user`` (a member of an applicant unit)."""
    if not has_role(user, Role.APPLICANT) or not user.unit_id:
        return []
    items = task_todos(user, KIND)
    drafts = (
        Initiative.objects.filter(unit_id=user.unit_id, state=InitiativeState.DRAFT)
        .select_related("call", "unit")
        .order_by("created_at", "pk")
    )
    items.extend(_draft_todo(d) for d in drafts)
    return items
