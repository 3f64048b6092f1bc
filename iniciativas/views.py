"""Web pages of productive initiatives (``/initiatives/``): the applicant's side — its list, a new
draft, the draft page (data, documents, what is missing, submit), the case page — and the
permission-checked document download. Staff open the case page read-only.

Every page reads through ``iniciativas.selectors`` (an initiative the user may not see is a 404)
and every POST calls ONE service; bad input re-renders the page with the service's messages next
to the fields and changes nothing. The applicant's own steps after submission (answering
observations, progress and final reports) are tasks of the inbox (``/tasks/``): the case page links
to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from approvals.models import Step
from approvals.selectors import documents_refusal
from approvals.todo import applicant_task_url
from budget.services import bs
from cases import documents
from cases.errors import Conflict
from cases.forms import add_service_errors
from cases.permissions import allowed
from cases.reach import reach_of
from cases.roles import Role, has_role
from workflows import answering
from workflows import official as official_documents
from workflows.services import may

from . import selectors, services
from .forms import (
    CancelForm,
    DocumentForm,
    InitiativeForm,
    ObservationAnswerForm,
    RecoveryForm,
    WithdrawForm,
)
from .models import FINAL_STATES, DocumentKind, Initiative, InitiativeState

if TYPE_CHECKING:
    from workflows.models import CaseTask

S = InitiativeState
EDITABLE_STATES = (S.DRAFT, S.OBSERVED)
WITHDRAWABLE_STATES = (S.DRAFT, S.SUBMITTED, S.OBSERVED)
PAGE_SIZE = 25
# Where a content type's download gets its extension from (the stored name may say otherwise).


# --- reading helpers ------------------------------------------------------------------------------


def _visible(user, pk) -> Initiative:
    """The initiative if the user may see it; 404 otherwise (never 403)."""
    try:
        return selectors.initiative_get_for(user, int(pk))
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def _own(user, initiative: Initiative) -> bool:
    """The user is a member of the applicant unit (may edit, submit, withdraw, upload)."""
    return allowed(user, "iniciativas.edit", initiative)


def task_url(task) -> str:
    """Where a task is worked: the inbox page of a task (``/tasks/<id>/``), or for the applicant's
    observation the one-page answer (``initiative-answer``, the kind's ``applicant_pages``)."""
    return applicant_task_url(task)


@dataclass
class Pending:
    """One open step of a case: what is awaited, from whom, by when, and whether it is the user's."""

    task: CaseTask
    step_label: str
    who: str
    due_at: object
    mine: bool
    url: str


def pending_steps(user, initiative: Initiative, tasks: list) -> list[Pending]:
    own = _own(user, initiative)
    staff = has_role(user, Role.EVALUATOR, Role.LEGAL, Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL)
    items = []
    for task in tasks:
        if task.role == Role.APPLICANT:
            who = _("You (the applicant unit)") if own else initiative.unit.name
        else:
            who = _("PRO-BOLIVIA — %(role)s") % {"role": Role(task.role).label}
            if staff and task.owner_id:
                who = _("%(who)s (taken by %(name)s)") % {
                    "who": who,
                    "name": task.owner.get_full_name() or task.owner.get_username(),
                }
        items.append(
            Pending(
                task=task,
                step_label=str(Step(task.step).label) if task.step in Step.values else task.step,
                who=who,
                due_at=task.due_at,
                mine=own and task.role == Role.APPLICANT,
                url=task_url(task),
            )
        )
    return items


@dataclass
class NextThing:
    text: str
    url: str = ""
    link: str = ""
    due_at: object = None
    urgent: bool = False


def next_thing(user, initiative: Initiative, pending: list[Pending]) -> NextThing:
    """The one line "what happens next" of the list page."""
    if initiative.state == S.DRAFT:
        if not _own(user, initiative):
            return NextThing(_("Draft not yet submitted by the unit."))
        missing = services.missing_for_submission(initiative)
        url = reverse("initiative-edit", args=[initiative.pk])
        if missing:
            count = sum(len(v) for v in missing.values())
            text = ngettext(
                "Complete the draft: %(n)s item is missing.",
                "Complete the draft: %(n)s items are missing.",
                count,
            ) % {"n": count}
            return NextThing(text, url, _("Continue the draft"))
        return NextThing(_("Everything is ready: submit it."), url, _("Review and submit"), urgent=True)
    mine = [p for p in pending if p.mine]
    if mine:
        first = mine[0]
        text = (
            _("Answer the observations") if first.task.step == Step.ANSWER_OBSERVATION else first.step_label
        )
        return NextThing(text, first.url, _("Go to the task"), first.due_at, urgent=True)
    if pending:
        first = pending[0]
        return NextThing(_("Waiting for: %(step)s (%(who)s)") % {"step": first.step_label, "who": first.who})
    if initiative.state in FINAL_STATES:
        return NextThing(_("Nothing: the case is finished."))
    return NextThing(_("Waiting for PRO-BOLIVIA."))


def _documents(initiative: Initiative) -> list:
    return list(initiative.documents.select_related("uploaded_by").order_by("uploaded_at", "pk"))


def _checklist(initiative: Initiative, documents: list) -> dict:
    """What stands between the draft and its submission, for the page: the required documents
    ticked off one by one, and the other problems (``services.missing_for_submission``)."""
    missing = services.missing_for_submission(initiative)
    present = {d.kind for d in documents}
    labels = dict(DocumentKind.choices)
    required = [
        {"kind": kind, "label": labels.get(kind, kind), "done": kind in present}
        for kind in initiative.call.required_documents
    ]
    others = [msg for field, msgs in missing.items() if field != "documents" for msg in msgs]
    return {
        "missing": missing,
        "ready": not missing,
        "required": required,
        "others": others,
        "count": sum(len(v) for v in missing.values()),
    }


def _case_context(request, initiative: Initiative) -> dict:
    tasks = selectors.pending_tasks_for([initiative.pk]).get(initiative.pk, [])
    pending = pending_steps(request.user, initiative, tasks)
    return {
        "initiative": initiative,
        "documents": _documents(initiative),
        # Closed to an evaluator until they declare no conflict of interest (``approvals``).
        "documents_closed": documents_refusal(request.user, initiative.code),
        "history": selectors.history_for(initiative, request.user),
        "pending": pending,
        "awaits_me": any(p.mine for p in pending),
        "own": _own(request.user, initiative),
        **official_documents.page_context(request.user, initiative),
    }


# --- list and new ---------------------------------------------------------------------------------


@require_safe
@login_required
def initiative_list(request):
    user = request.user
    qs = selectors.initiative_list_for(user).order_by("-created_at", "-pk")
    state = request.GET.get("state", "")
    if state in S.values:
        qs = qs.filter(state=state)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    tasks = selectors.pending_tasks_for([i.pk for i in rows])
    items = []
    for initiative in rows:
        pending = pending_steps(user, initiative, tasks.get(initiative.pk, []))
        items.append({"initiative": initiative, "next": next_thing(user, initiative, pending)})
    is_applicant = has_role(user, Role.APPLICANT) and user.unit_id is not None
    return render(
        request,
        "iniciativas/initiative_list.html",
        {
            "page": page,
            "items": items,
            "is_applicant": is_applicant,
            "can_create": is_applicant and selectors.call_list_open().exists(),
            "states": S.choices,
            "state": state,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def initiative_create(request):
    user = request.user
    unit = user.unit if has_role(user, Role.APPLICANT) else None
    if unit is None:
        raise PermissionDenied(_("Only members of a registered productive unit can start an initiative."))
    if request.method == "POST":
        form = InitiativeForm(request.POST)
        if form.is_valid():
            try:
                initiative = services.create_initiative(
                    actor=user, unit=unit, call=form.cleaned_data["call"], **form.create_fields()
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("Draft %(code)s saved. Now upload the documents the call requires, then submit it.")
                    % {"code": initiative.code},
                )
                return redirect("initiative-edit", pk=initiative.pk)
    else:
        form = InitiativeForm(
            initial={
                "department": unit.department.code if unit.department_id else "",
                "municipality": unit.municipality,
                "sector": unit.sector,
            }
        )
    return render(
        request,
        "iniciativas/initiative_form.html",
        {
            "form": form,
            "unit": unit,
            "calls": list(form.fields["call"].queryset),
            "registration_expired": not unit.registration_is_valid(),
        },
        status=200,
    )


# --- the draft: data, documents, checklist ----------------------------------------------------------


def _draft_page(request, initiative: Initiative, *, form=None, document_form=None, status=200):
    documents = _documents(initiative)
    if form is None:
        form = InitiativeForm(
            with_call=False,
            initial={
                "title": initiative.title,
                "summary": initiative.summary,
                "department": initiative.department.code,
                "requested_amount": initiative.requested_amount,
                "counterpart_amount": initiative.counterpart_amount,
                **reach_of(initiative),
            },
        )
    if document_form is None:
        document_form = DocumentForm(required_documents=initiative.call.required_documents)
    tasks = selectors.pending_tasks_for([initiative.pk]).get(initiative.pk, [])
    return render(
        request,
        "iniciativas/initiative_draft.html",
        {
            "initiative": initiative,
            "form": form,
            "document_form": document_form,
            "documents": documents,
            "checklist": _checklist(initiative, documents),
            "pending": pending_steps(request.user, initiative, tasks),
            "max_mb": settings.DOCUMENT_MAX_BYTES // (1024 * 1024),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def initiative_edit(request, pk):
    initiative = _visible(request.user, pk)
    if not _own(request.user, initiative):
        raise PermissionDenied(_("Only the applicant unit can edit its initiative."))
    if request.method == "GET":
        if initiative.state == S.OBSERVED and services.open_observation_task(initiative) is not None:
            # Observed: data, documents and the answer go together on one page.
            return redirect("initiative-answer", pk=initiative.pk)
        if initiative.state not in EDITABLE_STATES:
            messages.info(
                request,
                _("Initiative %(code)s was already submitted and can no longer be edited.")
                % {"code": initiative.code},
            )
            return redirect("initiative-detail", pk=initiative.pk)
        return _draft_page(request, initiative)
    form = InitiativeForm(request.POST, with_call=False)
    if not form.is_valid():
        return _draft_page(request, initiative, form=form)
    try:
        initiative = services.update_draft(initiative, actor=request.user, **form.service_fields())
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("initiative-detail", pk=initiative.pk)
    except ValidationError as exc:
        add_service_errors(form, exc)
        return _draft_page(request, initiative, form=form)
    messages.success(request, _("Changes saved."))
    return redirect("initiative-edit", pk=initiative.pk)


@documents.size_limited
@require_POST
@login_required
def document_upload(request, pk):
    initiative = _visible(request.user, pk)
    form = DocumentForm(request.POST, request.FILES, required_documents=initiative.call.required_documents)
    limit_mb = settings.DOCUMENT_MAX_BYTES // (1024 * 1024)
    if not documents.too_large(request, form) and form.is_valid():
        try:
            document = services.upload_document(
                initiative,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                uploaded_file=form.cleaned_data["file"],
            )
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("initiative-detail", pk=initiative.pk)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Document «%(name)s» uploaded as %(kind)s (SHA-256 %(hash)s…).")
                % {
                    "name": document.original_name,
                    "kind": document.get_kind_display(),
                    "hash": document.sha256[:12],
                },
            )
            target = "initiative-edit" if initiative.state in EDITABLE_STATES else "initiative-detail"
            return redirect(reverse(target, args=[initiative.pk]) + "#documentos")
    if initiative.state in EDITABLE_STATES and _own(request.user, initiative):
        return _draft_page(request, initiative, document_form=form)
    return render(
        request,
        "iniciativas/initiative_detail.html",
        {**_case_context(request, initiative), "document_form": form, "max_mb": limit_mb},
    )


# --- the one-page answer to an observation ----------------------------------------------------------


def _answer_kinds(initiative: Initiative) -> list[str]:
    """The document inputs of the answer page: the call's required kinds, those the case already has,
    and "other"."""
    kinds = list(initiative.call.required_documents)
    for kind in initiative.documents.values_list("kind", flat=True).distinct():
        if kind not in kinds:
            kinds.append(kind)
    if DocumentKind.OTHER not in kinds:
        kinds.append(DocumentKind.OTHER)
    return kinds


def _answer_form(initiative: Initiative, data=None, files=None) -> ObservationAnswerForm:
    with_fields = initiative.state == S.OBSERVED
    return ObservationAnswerForm(
        data,
        files,
        with_fields=with_fields,
        document_kinds=_answer_kinds(initiative) if services.documents_may_change(initiative) else (),
        present_kinds=set(initiative.documents.values_list("kind", flat=True)),
        initial={
            "title": initiative.title,
            "summary": initiative.summary,
            "department": initiative.department.code,
            "requested_amount": initiative.requested_amount,
            "counterpart_amount": initiative.counterpart_amount,
        },
    )


def _answer_page(request, initiative: Initiative, task, form: ObservationAnswerForm, *, status=200):
    from approvals.todo import consequence

    docs = _documents(initiative)
    by_kind: dict[str, list] = {}
    for doc in docs:
        by_kind.setdefault(doc.kind, []).append(doc)
    labels = dict(DocumentKind.choices)
    rows = [
        {
            "kind": kind,
            "label": labels.get(kind, kind),
            "field": form.document_field(kind) if services.documents_may_change(initiative) else None,
            # newest first: the current version, then the ones it replaced
            "versions": sorted(by_kind.get(kind, []), key=lambda d: (d.uploaded_at, d.pk), reverse=True),
        }
        for kind in _answer_kinds(initiative)
    ]
    return render(
        request,
        "iniciativas/initiative_answer.html",
        {
            "initiative": initiative,
            "task": task,
            "form": form,
            "document_rows": rows,
            "documents_may_change": services.documents_may_change(initiative),
            "consequence": consequence(task.step, task.due_at),
            "max_mb": settings.DOCUMENT_MAX_BYTES // (1024 * 1024),
        },
        status=status,
    )


@documents.size_limited
@require_http_methods(["GET", "POST"])
@login_required
def initiative_answer(request, pk):
    """The applicant answers an observation on ONE page: the observation at the top, the data to
    correct and the documents side by side, one submit (``services.answer_observation``)."""
    initiative = _visible(request.user, pk)
    if not _own(request.user, initiative):
        raise PermissionDenied(_("Only the applicant unit can answer its observations."))
    task = services.open_observation_task(initiative)
    if task is None:
        messages.info(request, services.no_observation(initiative))
        return redirect("initiative-detail", pk=initiative.pk)
    if request.method == "GET":
        return _answer_page(request, initiative, task, _answer_form(initiative))
    form = _answer_form(initiative, request.POST, request.FILES)
    valid = form.is_valid()
    if answering.too_large(request, form):
        valid = False
    if not valid:
        return _answer_page(request, initiative, task, form, status=400)
    try:
        case = services.answer_observation(
            initiative,
            actor=request.user,
            answer=form.cleaned_data["answer"],
            fields=form.service_fields(),
            files=form.files_by_kind(),
        )
    except Conflict as exc:
        messages.error(request, exc.message)
        return redirect("initiative-detail", pk=initiative.pk)
    except ValidationError as exc:
        add_service_errors(form, exc)
        initiative.refresh_from_db()
        return _answer_page(request, initiative, task, form, status=400)
    answering.say_answered(request, case)
    return redirect("initiative-detail", pk=initiative.pk)


# --- submit and withdraw ------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def initiative_submit(request, pk):
    initiative = _visible(request.user, pk)
    if not _own(request.user, initiative):
        raise PermissionDenied(_("Only the applicant unit can submit its initiative."))
    if request.method == "POST":
        try:
            initiative = services.submit_initiative(initiative, actor=request.user)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("initiative-detail", pk=initiative.pk)
        except ValidationError as exc:
            problems = (
                [m for msgs in exc.message_dict.values() for m in msgs]
                if hasattr(exc, "error_dict")
                else exc.messages
            )
            messages.error(
                request,
                _("The initiative cannot be submitted yet: %(problems)s") % {"problems": " ".join(problems)},
            )
            return redirect("initiative-edit", pk=initiative.pk)
        messages.success(
            request,
            _(
                "Initiative %(code)s was submitted. PRO-BOLIVIA will now check its admissibility; "
                "you can follow every step on this page."
            )
            % {"code": initiative.code},
        )
        return redirect("initiative-detail", pk=initiative.pk)
    if initiative.state != S.DRAFT:
        messages.info(request, _("Initiative %(code)s was already submitted.") % {"code": initiative.code})
        return redirect("initiative-detail", pk=initiative.pk)
    documents = _documents(initiative)
    labels = dict(S.choices)
    return render(
        request,
        "iniciativas/initiative_submit.html",
        {
            "initiative": initiative,
            "documents": documents,
            "checklist": _checklist(initiative, documents),
            # The states after submission in which the call lets documents change (in words).
            "document_states": [
                str(labels[state]).lower()
                for state in initiative.call.document_states or []
                if state in labels
            ],
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def initiative_withdraw(request, pk):
    initiative = _visible(request.user, pk)
    if not _own(request.user, initiative):
        raise PermissionDenied(_("Only the applicant unit can withdraw its initiative."))
    if request.method == "GET" and initiative.state not in WITHDRAWABLE_STATES:
        messages.info(
            request,
            _("Initiative %(code)s is %(state)s: it can no longer be withdrawn.")
            % {"code": initiative.code, "state": initiative.get_state_display()},
        )
        return redirect("initiative-detail", pk=initiative.pk)
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.withdraw_initiative(initiative, actor=request.user, reason=form.cleaned_data["reason"])
        except Conflict as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Initiative %(code)s was withdrawn.") % {"code": initiative.code})
        return redirect("initiative-detail", pk=initiative.pk)
    return render(request, "iniciativas/initiative_withdraw.html", {"initiative": initiative, "form": form})


# --- the case page ------------------------------------------------------------------------------------


@require_safe
@login_required
def initiative_detail(request, pk):
    initiative = _visible(request.user, pk)
    context = _case_context(request, initiative)
    if (
        context["own"]
        and initiative.state not in EDITABLE_STATES
        and services.documents_may_change(initiative)  # the call's states; the service refuses others
    ):
        context["document_form"] = DocumentForm(required_documents=initiative.call.required_documents)
        context["max_mb"] = settings.DOCUMENT_MAX_BYTES // (1024 * 1024)
    context["can_withdraw"] = context["own"] and initiative.state in WITHDRAWABLE_STATES
    context["is_final"] = initiative.state in FINAL_STATES
    _staff_actions(request.user, initiative, context)
    return render(request, "iniciativas/initiative_detail.html", context)


def _staff_actions(user, initiative: Initiative, context: dict, *, cancel_form=None, recovery_form=None):
    """The director's cancellation and finance's recovery, offered to whoever the FSM lets fire them."""
    if may(initiative, "cancel", user):
        context["cancel_form"] = cancel_form or CancelForm()
        context["payment_pending"] = initiative.tranches.filter(state="ordered").exists()
    if may(initiative, "recover", user):
        context["recovery_form"] = recovery_form or RecoveryForm()
    context["recoveries"] = list(initiative.recoveries.all()) if initiative.recovered_amount else []
    context["to_recover"] = (
        services.amount_to_recover(initiative) if initiative.state in (S.IN_RECOVERY, S.RECOVERED) else None
    )


def _detail_with_errors(request, initiative: Initiative, **forms) -> object:
    """The case page again, the refused form showing its errors next to the fields (nothing changed)."""
    context = _case_context(request, initiative)
    context["is_final"] = initiative.state in FINAL_STATES
    _staff_actions(request.user, initiative, context, **forms)
    return render(request, "iniciativas/initiative_detail.html", context, status=400)


@require_POST
@login_required
def initiative_cancel(request, pk):
    initiative = _visible(request.user, pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_initiative(initiative, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("initiative-detail", pk=initiative.pk)
        else:
            initiative.refresh_from_db()
            messages.success(
                request,
                _("Initiative %(code)s was cancelled (%(state)s).")
                % {"code": initiative.code, "state": initiative.get_state_display()},
            )
            return redirect("initiative-detail", pk=initiative.pk)
    if not may(initiative, "cancel", request.user):
        raise PermissionDenied(_("Only the director cancels an initiative."))
    return _detail_with_errors(request, initiative, cancel_form=form)


@require_POST
@login_required
def initiative_recover(request, pk):
    initiative = _visible(request.user, pk)
    form = RecoveryForm(request.POST)
    if form.is_valid():
        try:
            services.record_recovery(
                initiative,
                actor=request.user,
                amount=form.cleaned_data["amount"],
                reference=form.cleaned_data["reference"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            messages.error(request, exc.message)
            return redirect("initiative-detail", pk=initiative.pk)
        else:
            initiative.refresh_from_db()
            messages.success(
                request,
                _("Recovery of Bs %(amount)s recorded for %(code)s (%(state)s).")
                % {
                    "amount": bs(form.cleaned_data["amount"]),
                    "code": initiative.code,
                    "state": initiative.get_state_display(),
                },
            )
            return redirect("initiative-detail", pk=initiative.pk)
    if not may(initiative, "recover", request.user):
        raise PermissionDenied(_("Only finance records a recovery."))
    return _detail_with_errors(request, initiative, recovery_form=form)


# --- documents ------------------------------------------------------------------------------------------


@require_safe
@login_required
def document_download(request, pk, doc_pk):
    """A document of a case the user may see, as an attachment (never rendered inline)."""
    initiative = _visible(request.user, pk)
    closed = documents_refusal(request.user, initiative.code)
    if closed:
        return render(
            request,
            "iniciativas/documents_closed.html",
            {"initiative": initiative, "reason": closed},
            status=403,
        )
    return documents.attachment(initiative.documents.filter(pk=doc_pk).first())


# --- official documents (workflows.official: the same for every kind of case) ----------------------


@require_safe
@login_required
def official_download(request, pk, number):
    """A generated official document of a case the user may see (PDF attachment; 404 otherwise)."""
    return official_documents.pdf_response(_visible(request.user, pk), number)


@require_safe
@login_required
def official_scan(request, pk, number):
    """The signed scan of an official document, for whoever may see the case."""
    return official_documents.scan_response(_visible(request.user, pk), number)


@documents.size_limited
@require_POST
@login_required
def official_scan_upload(request, pk, number):
    case = _visible(request.user, pk)
    return official_documents.scan_upload_view(
        request, case, number, reverse("initiative-detail", args=[case.pk])
    )
