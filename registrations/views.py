"""Web pages of registrations (``/registrations/``): the list in the user's scope, a new
registration or a renewal (applicants), the case page with its documents, what is awaited, the
certificate once approved and the history. Every POST calls ONE service; bad input re-renders the
page with the service's messages and changes nothing. Officers decide in the task inbox."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from approvals.models import step_label
from cases import documents
from cases.answering import AnswerForm
from cases.errors import Conflict
from cases.forms import add_service_errors
from cases.permissions import allowed
from cases.roles import Role
from workflows import answering
from workflows import official as official_documents
from workflows.models import CaseTask

from . import selectors, services
from .conditions import is_applicant_of
from .forms import DocumentForm, NewUnitForm, WithdrawForm
from .models import FINAL_STATES, Registration, RegistrationKind, RegistrationState

S = RegistrationState
BADGES = {
    S.DRAFT: "info",
    S.SUBMITTED: "info",
    S.IN_REVIEW: "info",
    S.OBSERVED: "warn",
    S.APPROVED: "ok",
    S.CLOSED: "done",
    S.REJECTED: "bad",
    S.WITHDRAWN: "bad",
    S.ABANDONED: "bad",
}


def _visible(user, pk) -> Registration:
    try:
        return selectors.registration_get_for(user, int(pk))
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@require_safe
@login_required
def registration_list(request):
    rows = [(r, BADGES.get(r.state, "info")) for r in selectors.registration_list_for(request.user)[:100]]
    user = request.user
    return render(
        request,
        "registrations/registration_list.html",
        {
            "rows": rows,
            "can_create_new": allowed(user, "registrations.create_new"),
            "can_renew": bool(user.unit_id) and allowed(user, "registrations.renew", user.unit),
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def registration_create(request):
    """``?kind=renewal`` renews the applicant's unit; otherwise a new unit's data."""
    user = request.user
    kind = request.POST.get("registration") or request.GET.get("kind") or RegistrationKind.NEW
    if kind == RegistrationKind.RENEWAL:
        if request.method == "POST":
            try:
                registration = services.create_registration(actor=user, kind=kind, unit=user.unit)
            except Conflict as exc:
                messages.error(request, exc.message)
                return redirect("registration-list")
            return redirect("registration-detail", registration.pk)
        if not (user.unit_id and allowed(user, "registrations.renew", user.unit)):
            raise PermissionDenied(_("Only a member of the unit renews its registration."))
        return render(request, "registrations/registration_renew.html", {"unit": user.unit})
    if not allowed(user, "registrations.create_new"):
        raise PermissionDenied(_("Only an applicant who belongs to no unit yet registers a new one."))
    form = NewUnitForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                registration = services.create_registration(
                    actor=user, kind=kind, unit_data=form.cleaned_data
                )
            except ValidationError as exc:
                errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
                for key, msgs in errors.items():
                    field = str(key).removeprefix("unit_data.") if key else None
                    form.add_error(field if field in form.fields else None, msgs)
            except Conflict as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("registration-detail", registration.pk)
        status = 400
    return render(request, "registrations/registration_new.html", {"form": form}, status=status)


def _pending(user, registration: Registration) -> list[dict]:
    own = is_applicant_of(registration, user)
    rows = []
    tasks = CaseTask.objects.filter(case_type="registration", case_id=registration.pk, is_open=True).exclude(
        step=""
    )
    for task in tasks.order_by("due_at", "pk"):
        applicant_step = task.role == Role.APPLICANT
        rows.append(
            {
                "label": step_label(task.step),
                "who": _("You")
                if (own and applicant_step)
                else (
                    registration.unit_name
                    if applicant_step
                    else _("PRO-BOLIVIA — %(role)s") % {"role": Role(task.role).label}
                ),
                "due_at": task.due_at,
                "mine": own and applicant_step,
                "url": reverse("task-detail", args=[task.pk]),
            }
        )
    return rows


def _detail(request, registration: Registration, *, document_form=None, status=200):
    user = request.user
    can_upload = registration.state not in FINAL_STATES and allowed(
        user, "registrations.upload", registration
    )
    context = {
        "registration": registration,
        "case": registration,  # the name the case file (also on the task page) reads
        "badge": BADGES.get(registration.state, "info"),
        "documents": list(registration.documents.select_related("uploaded_by")),
        **official_documents.page_context(user, registration),
        "history": selectors.history_for(registration, user),
        "pending": _pending(user, registration),
        "is_final": registration.state in FINAL_STATES,
        "missing": services.missing_for_submission(registration) if registration.state == S.DRAFT else {},
        "can_upload": can_upload,
        "can_submit": registration.state == S.DRAFT and allowed(user, "registrations.submit", registration),
        "can_withdraw": registration.state in (S.DRAFT, S.SUBMITTED, S.OBSERVED)
        and allowed(user, "registrations.withdraw", registration),
        "document_form": document_form or DocumentForm(required=registration.required_documents),
        "withdraw_form": WithdrawForm(),
        "max_mb": settings.DOCUMENT_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "registrations/registration_detail.html", context, status=status)


@require_safe
@login_required
def registration_detail(request, pk):
    return _detail(request, _visible(request.user, pk))


@documents.size_limited
@require_POST
@login_required
def document_upload(request, pk):
    registration = _visible(request.user, pk)
    form = DocumentForm(request.POST, request.FILES, required=registration.required_documents)
    if not documents.too_large(request, form) and form.is_valid():
        try:
            services.upload_document(
                registration,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                uploaded_file=form.cleaned_data["file"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Document uploaded."))
            return redirect("registration-detail", registration.pk)
    return _detail(request, registration, document_form=form, status=400)


@require_POST
@login_required
def registration_submit(request, pk):
    registration = _visible(request.user, pk)
    try:
        services.submit_registration(registration, actor=request.user)
    except ValidationError as exc:
        for msgs in exc.message_dict.values() if hasattr(exc, "error_dict") else [exc.messages]:
            for message in msgs:
                messages.error(request, message)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Registration sent. A registry officer will review it."))
    return redirect("registration-detail", registration.pk)


@require_POST
@login_required
def registration_withdraw(request, pk):
    registration = _visible(request.user, pk)
    form = WithdrawForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.withdraw_registration(registration, actor=request.user, reason=reason)
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Registration withdrawn."))
    return redirect("registration-detail", registration.pk)


@require_safe
@login_required
def document_download(request, pk, doc_pk):
    registration = _visible(request.user, pk)
    return documents.attachment(registration.documents.filter(pk=doc_pk).first())


# --- official documents (workflows.official: the same for every kind of case) ----------------------


@require_safe
@login_required
def official_download(request, pk, number):
    """The issued certificate (PDF), for whoever may see the case."""
    return official_documents.pdf_response(_visible(request.user, pk), number)


@require_safe
@login_required
def official_scan(request, pk, number):
    """The signed scan of the certificate, for whoever may see the case."""
    return official_documents.scan_response(_visible(request.user, pk), number)


@documents.size_limited
@require_POST
@login_required
def official_scan_upload(request, pk, number):
    case = _visible(request.user, pk)
    return official_documents.scan_upload_view(
        request, case, number, reverse("registration-detail", args=[case.pk])
    )


# --- the one-page answer to an observation (cases.answering) ------------------------------------------


def _answer_form(user, registration: Registration, data=None, files=None):
    """A file for a kind the registration has is a new version beside the earlier ones (every upload is
    a new document: none is replaced or removed); "other" documents are many, each one added."""
    from .models import DocumentKind

    labels = dict(DocumentKind.choices)
    present = list(dict.fromkeys(registration.documents.values_list("kind", flat=True)))
    offered = list(dict.fromkeys([*registration.required_documents, *present, DocumentKind.OTHER]))
    return AnswerForm(
        data,
        files,
        kinds=[(k, labels.get(k, k)) for k in offered],
        present=set(present),
        many={DocumentKind.OTHER},
    )


# The applicant answers an observation on ONE page: the observation, the documents beside it, the
# answer (``services.answer_observation``).
registration_answer = answering.answer_view(
    answering.AnswerPage(
        visible=_visible,
        may_answer=lambda user, registration: is_applicant_of(registration, user),
        refusal=gettext_lazy("Only the applicant can answer the observations of this registration."),
        open_task=services.open_observation_task,
        no_task=services.no_observation,
        answer=services.answer_observation,
        form=_answer_form,
        documents=lambda registration: registration.documents.all(),
        badge=lambda registration: BADGES.get(registration.state, "info"),
        subtitle=lambda registration: registration.unit_name,
        list_url="registration-list",
        list_label=gettext_lazy("Registrations"),
        detail_url="registration-detail",
        document_url="registration-document",
        answer_url="registration-answer",
    )
)
