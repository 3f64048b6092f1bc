"""Web pages of transfers (``/transfers/``): the list in the user's scope, a new request (the
beneficiary unit's members, or technical staff for a unit of their department), the case page with
its assets unit by unit (serial, holder, status), follow-up visits, what is awaited and the
history, and the director's annulment.

Reads go through ``transfers.selectors`` (a transfer the user may not see is a 404); every POST
calls ONE service; bad input re-renders the page with the service's messages and changes nothing.
Decisions are taken in the task inbox (``/tasks/``), which shows the same case file.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from approvals.models import Step
from budget.models import Program
from cases.errors import Conflict
from cases.permissions import allowed
from cases.roles import Role, has_role
from registry.models import Unit

from . import selectors, services
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
            for k in ("beneficiary", "modality", "kind", "program", "amount", "purpose")
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
        },
        status=status,
    )


def _case_context(request, transfer: Transfer) -> dict:
    return {
        "transfer": transfer,
        "badge": BADGES.get(transfer.state, "neutral"),
        "history": selectors.history_for(transfer, request.user),
        "pending": _pending(request.user, transfer),
        "is_final": transfer.state in FINAL_STATES,
    }


@require_safe
@login_required
def transfer_detail(request, pk):
    transfer = _visible(request.user, pk)
    context = _case_context(request, transfer)
    context["can_annul"] = (
        transfer.state in ANNULLABLE
        and transfer.executed_amount == 0
        and allowed(request.user, "transfers.annul", transfer)
    )
    return render(request, "transfers/transfer_detail.html", context)


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
