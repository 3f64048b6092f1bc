"""The applicant's answer to an observation, for every kind of case: the engine's half of
``cases.answering`` (the form and ``templates/_observation_answer.html`` are the kernel's).

- ``open_observation_task``: the case's open ``answer_observation`` task, or ``None``;
- ``answer_observation``: the one service a kind's ``answer_observation`` calls: the new documents
  (the kind's own ``upload_document``) and the answer (the task decided through
  ``approvals.services.complete_task``) in ONE transaction; initiatives correct the case's data in it
  too (``correct``);
- ``answer_view``: the one-page view of the kinds whose page is the shared one (transfers,
  registrations), built from what differs (``AnswerPage``); initiatives keep their own page, which
  also corrects the case's data, and use ``too_large`` and ``say_answered`` from here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

import audit
from cases import documents
from cases.answering import DOCUMENT_PREFIX, AnswerForm
from cases.errors import Conflict
from cases.forms import add_service_errors

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# --- the service ------------------------------------------------------------------------------------


def open_observation_task(case_type: str, case_id: int):
    """The applicant's open ``answer_observation`` task of the case, or ``None``."""
    from approvals.models import Step

    from .models import CaseTask

    return (
        CaseTask.objects.filter(
            case_type=case_type, case_id=case_id, step=Step.ANSWER_OBSERVATION, is_open=True
        )
        .order_by("pk")
        .first()
    )


def answer_observation(
    case_type: str,
    case,
    *,
    actor,
    answer: str,
    files: dict | None,
    upload_document: Callable[..., Any],
    no_task: str,
    correct: Callable[[Any], None] | None = None,
):
    """The whole answer to an observation, in ONE transaction under the case's flow lock: ``correct``
    (the locked case; initiatives' data), the new documents (``upload_document(case, actor=, kind=,
    uploaded_file=)`` for each ``files`` kind -> uploaded file) and the answer (the task decided
    through ``approvals.services.complete_task``). Any error rolls back all of it: nothing is
    half-answered. No open task is a ``Conflict`` saying ``no_task``; a bad file is reported on
    ``document_<kind>``, every bad file at once."""
    from approvals.services import complete_task
    from approvals.steps import Decision

    from .services import case_action

    task = open_observation_task(case_type, case.pk)
    if task is None:
        raise Conflict(no_task)
    if not (answer or "").strip():
        raise ValidationError({"answer": [_("Write your answer to the observation.")]})
    with case_action(case_type, case.pk) as locked, audit.batch():
        if correct is not None:
            correct(locked)
        errors: dict[str, list[str]] = {}
        for kind, uploaded in (files or {}).items():
            try:
                upload_document(locked, actor=actor, kind=kind, uploaded_file=uploaded)
            except ValidationError as exc:
                errors[f"{DOCUMENT_PREFIX}{kind}"] = [m for msgs in exc.message_dict.values() for m in msgs]
        if errors:
            raise ValidationError(errors)
        return complete_task(task.pk, actor=actor, decision=Decision.APPROVE, data={"answer": answer.strip()})


# --- the page ---------------------------------------------------------------------------------------


def too_large(request, form) -> bool:
    """Whether a file of the request was over the size limit (``documents.size_limited``); if so,
    the form says it."""
    if not getattr(request, "document_too_large", False):
        return False
    form.add_error(
        None,
        _("A file is larger than %(mb)s MB; reduce it or scan it again.")
        % {"mb": settings.DOCUMENT_MAX_BYTES // (1024 * 1024)},
    )
    return True


def say_answered(request, case) -> None:
    messages.success(
        request,
        _("Answer sent on case %(code)s. The case is now: %(state)s.")
        % {"code": case.code, "state": case.get_state_display()},
    )


@dataclass(frozen=True)
class AnswerPage:
    """What a kind's answer page has of its own. Callables take the case (``user`` first where
    given); URL names take the case's pk (``document_url``: the case's pk and the document's)."""

    visible: Callable[[Any, Any], Any]  # (user, pk) -> the case the user may see, else 404
    may_answer: Callable[[Any, Any], bool]  # (user, case): the applicant of the case
    refusal: StrOrPromise  # what the others are told (403)
    open_task: Callable[[Any], Any]
    no_task: Callable[[Any], str]  # what is said when there is nothing to answer
    answer: Callable[..., Any]  # the kind's ``answer_observation(case, *, actor, answer, files)``
    form: Callable[..., AnswerForm]  # (user, case, data=None, files=None)
    documents: Callable[[Any], Iterable]  # the case's documents, listed beside their inputs
    badge: Callable[[Any], str]
    subtitle: Callable[[Any], str]
    list_url: str
    list_label: StrOrPromise
    detail_url: str
    document_url: str
    answer_url: str


def _page(request, page: AnswerPage, case, task, form: AnswerForm, *, status=200):
    from approvals.todo import consequence

    context = {
        "case": case,
        "badge": page.badge(case),
        "list_url": reverse(page.list_url),
        "list_label": page.list_label,
        "detail_url": reverse(page.detail_url, args=[case.pk]),
        "subtitle": page.subtitle(case),
        "task": task,
        "consequence": consequence(task.step, task.due_at),
        "form": form,
        "document_rows": form.document_rows(page.documents(case)),
        "document_url": page.document_url,
        "action": reverse(page.answer_url, args=[case.pk]),
        "max_mb": settings.DOCUMENT_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "_observation_answer.html", context, status=status)


def answer_view(page: AnswerPage):
    """The view of ``page``: the applicant answers an observation on ONE page, the observation, the
    documents beside it, the answer (the kind's ``answer_observation``, one transaction)."""

    @documents.size_limited
    @require_http_methods(["GET", "POST"])
    @login_required
    def view(request, pk):
        case = page.visible(request.user, pk)
        if not page.may_answer(request.user, case):
            raise PermissionDenied(page.refusal)
        task = page.open_task(case)
        if task is None:
            messages.info(request, page.no_task(case))
            return redirect(page.detail_url, pk=case.pk)
        if request.method == "GET":
            return _page(request, page, case, task, page.form(request.user, case))
        form = page.form(request.user, case, request.POST, request.FILES)
        valid = form.is_valid()
        if too_large(request, form):
            valid = False
        if not valid:
            return _page(request, page, case, task, form, status=400)
        try:
            page.answer(
                case, actor=request.user, answer=form.cleaned_data["answer"], files=form.files_by_kind()
            )
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect(page.detail_url, pk=case.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
            return _page(request, page, case, task, form, status=400)
        case.refresh_from_db()
        say_answered(request, case)
        return redirect(page.detail_url, pk=case.pk)

    return view
