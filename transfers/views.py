"""Web pages of transfers (``/transfers/``): the list in the user's scope, a new request (the
beneficiary unit's members, or technical staff for a unit of their department), the case page with
its assets unit by unit (serial, holder, status), its documents, follow-up visits, what is awaited
and the history, the director's annulment, the upload of a document (the beneficiary unit's members
and the staff working the case, while it is open) and the permission-checked download.

Reads go through ``transfers.selectors`` (a transfer the user may not see is a 404); every POST
calls ONE service; bad input re-renders the page with the service's messages and changes nothing.
Decisions are taken in the task inbox (``/tasks/``), which shows the same case file.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from approvals.models import Step
from budget.models import Program
from cases import documents
from cases.answering import AnswerForm
from cases.errors import Conflict
from cases.forms import add_service_errors
from cases.permissions import allowed
from cases.reach import REACH_FIELDS, BeneficiaryKind, DairyBasin, Sector
from cases.roles import Role, has_role
from registry.models import Unit
from workflows import answering
from workflows import official as official_documents

from . import document_rules, selectors, services
from .forms import DocumentForm
from .models import ANNULLABLE, FINAL_STATES, Modality, Transfer, TransferKind, TransferState

S = TransferState
PAGE_SIZE = 25
ASSET_ROWS = 6  # blank asset rows on the request form
BADGES = {
    S.REQUESTED: "info",
    S.IN_VERIFICATION: "info",
    S.IN_APPROVAL: "info",
    S.APPROVED: "ok",
    S.AGREEMENT_SIGNED: "ok",
    S.IN_DELIVERY: "ok",
    S.DELIVERED: "ok",
    S.IN_FOLLOWUP: "ok",
    S.CLOSED: "done",
    S.REJECTED: "bad",
    S.ANNULLED: "bad",
    S.REVERTED: "bad",
}


def _visible(user, pk) -> Transfer:
    try:
        return selectors.transfer_get_for(user, int(pk))
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def _pending(user, transfer: Transfer) -> list[dict]:
    from django.urls import reverse

    own = has_role(user, Role.APPLICANT) and user.unit_id == transfer.beneficiary_id
    rows = []
    for task in selectors.pending_tasks_for([transfer.pk]).get(transfer.pk, []):
        if task.role == Role.APPLICANT:
            who = _("You (the beneficiary unit)") if own else transfer.beneficiary.name
        else:
            who = _("PRO-BOLIVIA — %(role)s") % {"role": Role(task.role).label}
        rows.append(
            {
                "label": str(Step(task.step).label) if task.step in Step.values else task.step,
                "who": who,
                "due_at": task.due_at,
                "mine": own and task.role == Role.APPLICANT,
                "url": reverse("task-detail", args=[task.pk]),
            }
        )
    return rows


def _creatable_units(user):
    """The units the user may request a transfer for (its own, or its department scope as staff)."""
    if has_role(user, Role.APPLICANT) and user.unit_id:
        return Unit.objects.filter(pk=user.unit_id)
    if has_role(user, Role.EVALUATOR, Role.DIRECTOR):
        from registry.selectors import department_scope_ids

        qs = Unit.objects.select_related("department").order_by("name")
        scope = department_scope_ids(user)
        qs = qs if scope is None else qs.filter(department_id__in=scope)
        return qs.exclude(pk=user.unit_id) if user.unit_id else qs
    return Unit.objects.none()


@require_safe
@login_required
def transfer_list(request):
    user = request.user
    qs = selectors.transfer_list_for(user).order_by("-created_at", "-pk")
    state = request.GET.get("state", "")
    if state in S.values:
        qs = qs.filter(state=state)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "transfers/transfer_list.html",
        {
            "page": page,
            "rows": [(t, BADGES.get(t.state, "neutral")) for t in page.object_list],
            "states": S.choices,
            "state": state,
            "can_create": _creatable_units(user).exists(),
        },
    )


def _form_assets(post) -> list[dict]:
    rows = []
    for n in range(ASSET_ROWS):
        row = {k: post.get(f"assets-{n}-{k}", "").strip() for k in ("description", "quantity", "unit_value")}
        if any(row.values()):
            rows.append(row)
    return rows


@require_http_methods(["GET", "POST"])
@login_required
def transfer_create(request):
    user = request.user
    units = list(_creatable_units(user))
    if not units:
        raise PermissionDenied(_("Only a unit's members or the agency's technical staff request transfers."))
    programs = list(Program.objects.order_by("code"))
    values = {"modality": Modality.IN_KIND, "kind": TransferKind.PUBLIC_PRIVATE}
    errors: dict = {}
    asset_rows = [{} for _ in range(ASSET_ROWS)]
    if request.method == "POST":
        post = request.POST
        values = {
            k: post.get(k, "").strip()
            for k in ("beneficiary", "modality", "kind", "program", "amount", "purpose", *REACH_FIELDS)
        }
        assets = _form_assets(post)
        for n in range(ASSET_ROWS):
            asset_rows[n] = {
                k: post.get(f"assets-{n}-{k}", "") for k in ("description", "quantity", "unit_value")
            }
        unit = next((u for u in units if str(u.pk) == values["beneficiary"]), None)
        program = next((p for p in programs if p.code == values["program"]), None)
        if unit is None:
            errors["beneficiary"] = [_("Choose the beneficiary unit.")]
        if program is None:
            errors["program"] = [_("Choose the program.")]
        if not errors:
            try:
                transfer = services.create_transfer(
                    actor=user,
                    beneficiary=unit,
                    modality=values["modality"],
                    kind=values["kind"],
                    program=program,
                    amount=values["amount"] or None,
                    assets=assets if values["modality"] == Modality.IN_KIND else (assets or None),
                    purpose=values["purpose"],
                    # A reach field left blank takes its default from the unit.
                    reach={k: values[k] for k in REACH_FIELDS if values[k]},
                )
            except ValidationError as exc:
                errors = exc.message_dict
            else:
                messages.success(
                    request,
                    _("Transfer %(code)s requested: its verification has begun.") % {"code": transfer.code},
                )
                return redirect("transfer-detail", pk=transfer.pk)
        # Errors of asset rows are keyed by their position among the rows sent; map them back.
        sent = [n for n in range(ASSET_ROWS) if any(asset_rows[n].values())]
        for key, msgs in list(errors.items()):
            if key.startswith("assets[") and "]." in key:
                i, field = int(key[7 : key.index("]")]), key.split("].", 1)[1]
                if i < len(sent):
                    asset_rows[sent[i]].setdefault("errors", {})[field] = msgs
                    del errors[key]
    status = 400 if errors or any(r.get("errors") for r in asset_rows) else 200
    return render(
        request,
        "transfers/transfer_form.html",
        {
            "units": units,
            "programs": programs,
            "values": values,
            "errors": errors,
            "asset_rows": asset_rows,
            "modalities": Modality.choices,
            "kinds": TransferKind.choices,
            "sectors": Sector.choices,
            "basins": DairyBasin.choices,
            "beneficiary_kinds": BeneficiaryKind.choices,
        },
        status=status,
    )


def _case_context(request, transfer: Transfer, *, document_form: DocumentForm | None = None) -> dict:
    user = request.user
    context = {
        "transfer": transfer,
        "badge": BADGES.get(transfer.state, "neutral"),
        "history": selectors.history_for(transfer, user),
        "pending": _pending(user, transfer),
        "documents": selectors.documents_of(transfer),
        **official_documents.page_context(user, transfer),
        "is_final": transfer.state in FINAL_STATES,
        "can_annul": (
            transfer.state in ANNULLABLE
            and transfer.executed_amount == 0
            and allowed(user, "transfers.annul", transfer)
        ),
    }
    if transfer.state not in FINAL_STATES and allowed(user, "transfers.upload", transfer):
        form = document_form or DocumentForm()
        context["document_form"] = form.offer(document_rules.kinds_now(user, transfer))
        context["document_hints"] = document_rules.hints()
        context["max_mb"] = settings.DOCUMENT_MAX_BYTES // (1024 * 1024)
    return context


@require_safe
@login_required
def transfer_detail(request, pk):
    transfer = _visible(request.user, pk)
    return render(request, "transfers/transfer_detail.html", _case_context(request, transfer))


@require_POST
@login_required
def transfer_annul(request, pk):
    transfer = _visible(request.user, pk)
    try:
        services.annul_transfer(transfer, actor=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        for msg in exc.messages:
            messages.error(request, msg)
    except (Conflict, PermissionDenied) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Transfer %(code)s annulled.") % {"code": transfer.code})
    return redirect("transfer-detail", pk=transfer.pk)


# --- documents ------------------------------------------------------------------------------------------


@documents.size_limited
@require_POST
@login_required
def document_upload(request, pk):
    transfer = _visible(request.user, pk)
    form = DocumentForm(request.POST, request.FILES)
    if not documents.too_large(request, form) and form.is_valid():
        try:
            document = services.upload_document(
                transfer,
                actor=request.user,
                kind=form.cleaned_data["kind"],
                uploaded_file=form.cleaned_data["file"],
            )
        except (Conflict, PermissionDenied) as exc:
            if not allowed(request.user, "transfers.upload", transfer):
                raise  # no upload to this case at all: 403
            if transfer.state in FINAL_STATES:
                messages.error(request, str(exc))
                return redirect("transfer-detail", pk=transfer.pk)
            form.add_error("kind", str(exc))  # this kind, now or by this person: said beside the field
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
            return redirect(reverse("transfer-detail", args=[transfer.pk]) + "#documentos")
    context = _case_context(request, transfer, document_form=form)
    if "document_form" not in context:  # the case is finished, or the user may not upload to it
        if transfer.state in FINAL_STATES:
            messages.error(request, _("This case is finished; no more documents can be added."))
            return redirect("transfer-detail", pk=transfer.pk)
        raise PermissionDenied(_("You may not do this on transfer %(code)s.") % {"code": transfer.code})
    return render(request, "transfers/transfer_detail.html", context, status=400)


@require_safe
@login_required
def document_download(request, pk, doc_pk):
    """A document of a transfer the user may see, as an attachment (never rendered inline); 404 for
    anyone who may not see the case, and for a document of another case."""
    transfer = _visible(request.user, pk)
    return documents.attachment(transfer.documents.filter(pk=doc_pk).first())


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
        request, case, number, reverse("transfer-detail", args=[case.pk])
    )


# --- the one-page answer to an observation (cases.answering) ------------------------------------------


def _answer_form(user, transfer: Transfer, data=None, files=None):
    from .models import DocumentKind

    labels = dict(DocumentKind.choices)
    offered = document_rules.kinds_now(user, transfer) if allowed(user, "transfers.upload", transfer) else []
    present = set(transfer.documents.values_list("kind", flat=True))
    return AnswerForm(
        data, files, kinds=[(k, labels[k]) for k in offered], present=present, many={DocumentKind.OTHER}
    )


# The beneficiary answers an observation of the approval chain on ONE page: the observation, the
# documents beside it, the answer (``services.answer_observation``).
transfer_answer = answering.answer_view(
    answering.AnswerPage(
        visible=_visible,
        may_answer=lambda user, transfer: (
            has_role(user, Role.APPLICANT) and user.unit_id == transfer.beneficiary_id
        ),
        refusal=gettext_lazy("Only the beneficiary unit can answer its observations."),
        open_task=services.open_observation_task,
        no_task=services.no_observation,
        answer=services.answer_observation,
        form=_answer_form,
        documents=selectors.documents_of,
        badge=lambda transfer: BADGES.get(transfer.state, "neutral"),
        subtitle=lambda transfer: transfer.beneficiary.name,
        list_url="transfer-list",
        list_label=gettext_lazy("Transfers"),
        detail_url="transfer-detail",
        document_url="transfer-document",
        answer_url="transfer-answer",
    )
)
