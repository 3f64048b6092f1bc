"""Pages of price compensation (``/compensations/``): the agreements in the user's scope, a new
agreement (PROLECHE technical staff, the director), the agreement's page (rate, period, ceiling, used,
remaining, its settlements month by month), the dairy company's declaration of a month, a
settlement's page. Staff verify and pay in the task inbox, whose case file shows the amount, what is
left of the ceiling and what the line has available. Every POST calls ONE service; bad input
re-renders the page with the service's messages next to the fields and changes nothing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from approvals.models import step_label
from approvals.steps import line_choice_label
from budget.models import BudgetLine
from cases import documents
from cases.errors import Conflict
from cases.forms import add_service_errors
from cases.money import parse_amount
from cases.permissions import allowed
from registry.models import Unit
from workflows import official as official_documents
from workflows.models import CaseTask
from workflows.services import may

from . import selectors, services
from .forms import AgreementForm, CloseForm, DeclareForm
from .models import (
    AgreementState,
    CompensationAgreement,
    Settlement,
    SettlementState,
    month_end,
)

BADGES = {
    AgreementState.REQUESTED: "info",
    AgreementState.CERTIFIED: "info",
    AgreementState.ACTIVE: "ok",
    AgreementState.CLOSED: "done",
    AgreementState.REJECTED: "bad",
    SettlementState.DECLARED: "info",
    SettlementState.VERIFIED: "warn",
    SettlementState.PAID: "ok",
}


def _agreement(user, pk) -> CompensationAgreement:
    try:
        return selectors.agreement_list_for(user).get(pk=int(pk))
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def _settlement(user, pk) -> Settlement:
    try:
        return selectors.settlement_list_for(user).get(pk=int(pk))
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def _open_months(agreement: CompensationAgreement) -> list:
    """The ended months of the period not yet declared (a rejected one may be declared again)."""
    today = timezone.localdate()
    taken = set(agreement.settlements.exclude(state=SettlementState.REJECTED).values_list("month", flat=True))
    return [m for m in agreement.months() if m not in taken and month_end(m) < today]


def _pending(kind: str, pk: int) -> list[dict]:
    tasks = CaseTask.objects.filter(case_type=kind, case_id=pk, is_open=True).exclude(step="").order_by("pk")
    return [{"label": step_label(t.step), "due_at": t.due_at, "task": t} for t in tasks]


@require_safe
@login_required
def agreement_list(request):
    rows = [(a, BADGES.get(a.state, "info")) for a in selectors.agreement_list_for(request.user)[:100]]
    return render(
        request,
        "compensations/agreement_list.html",
        {"rows": rows, "can_create": allowed(request.user, "compensations.create_agreement")},
    )


def _an_id(text) -> bool:
    """A primary key as a form sends it (digits, within the database's range)."""
    text = str(text or "")
    return text.isascii() and text.isdigit() and 0 < int(text) < 2**63


def _typed_amount(text: str) -> str:
    """An amount as people type it (``150.000,00``) as the service takes it; unparseable text is
    passed on for the service to refuse on its field."""
    try:
        return format(parse_amount(text), "f")
    except ValidationError:
        return text


def _typed_number(text: str) -> str:
    """Litres or a rate typed with a decimal comma (``0,40``, ``12500,5``)."""
    text = str(text or "").strip()
    return text.replace(",", ".") if "." not in text else text


def _line_choices():
    year = timezone.localdate().year
    lines = (
        BudgetLine.objects.filter(fiscal_year=year)
        .select_related("program", "source")
        .order_by("program__code")
    )
    return [(ln.pk, line_choice_label(ln)) for ln in lines]


@require_http_methods(["GET", "POST"])
@login_required
def agreement_create(request):
    if not allowed(request.user, "compensations.create_agreement"):
        raise PermissionDenied(_("Only PROLECHE technical staff or the director draw up agreements."))
    units = Unit.objects.filter(sector=Unit.Sector.DAIRY).order_by("name")
    form = AgreementForm(request.POST or None, units=units, lines=_line_choices())
    status = 200
    if request.method == "POST":
        data = request.POST
        try:
            agreement = services.create_agreement(
                actor=request.user,
                unit=units.filter(pk=int(data["unit"])).first() if _an_id(data.get("unit")) else None,
                budget_line=data.get("budget_line") or 0,
                rate=_typed_number(data.get("rate", "")),
                first_month=data.get("first_month", ""),
                last_month=data.get("last_month", ""),
                ceiling=_typed_amount(data.get("ceiling", "")),
                reach=AgreementForm.reach_values(data),
            )
        except ValidationError as exc:
            form.is_valid()
            for field in form.fields:
                form.errors.pop(field, None)
            add_service_errors(form, exc)
        else:
            return redirect("compensation-detail", agreement.pk)
        status = 400
    return render(request, "compensations/agreement_new.html", {"form": form}, status=status)


@require_safe
@login_required
def agreement_detail(request, pk):
    agreement = _agreement(request.user, pk)
    settlements = [(s, BADGES.get(s.state, "info")) for s in agreement.settlements.order_by("month", "pk")]
    user = request.user
    return render(
        request,
        "compensations/agreement_detail.html",
        {
            "agreement": agreement,
            "badge": BADGES.get(agreement.state, "info"),
            "figures": selectors.figures(agreement),
            "settlements": settlements,
            "pending": _pending("compensation", agreement.pk),
            "can_declare": agreement.state == AgreementState.ACTIVE
            and allowed(user, "compensations.declare", agreement)
            and bool(_open_months(agreement)),
            "can_close": may(agreement, "close", user) and agreement.state == AgreementState.ACTIVE,
            "close_form": CloseForm(),
            "history": selectors.history_for(agreement, user),
            **official_documents.page_context(user, agreement),
        },
    )


@require_POST
@login_required
def agreement_close(request, pk):
    agreement = _agreement(request.user, pk)
    form = CloseForm(request.POST)
    form.is_valid()
    try:
        services.close_agreement(agreement, actor=request.user, reason=form.cleaned_data.get("reason", ""))
    except Conflict as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The agreement was closed; what it did not use was released."))
    return redirect("compensation-detail", agreement.pk)


@documents.size_limited
@require_http_methods(["GET", "POST"])
@login_required
def declare(request, pk):
    agreement = _agreement(request.user, pk)
    if not allowed(request.user, "compensations.declare", agreement):
        raise PermissionDenied(_("Only a member of the dairy company declares its litres."))
    months = _open_months(agreement)
    initial = {"month": request.GET.get("month", "")}
    form = DeclareForm(request.POST or None, request.FILES or None, months=months, initial=initial)
    status = 200
    if request.method == "POST" and not documents.too_large(request, form):
        try:
            settlement = services.declare_settlement(
                agreement,
                actor=request.user,
                month=request.POST.get("month", ""),
                litres=_typed_number(request.POST.get("litres", "")),
                evidence=request.FILES.get("file"),
            )
        except ValidationError as exc:
            form.is_valid()
            for field in ("month", "litres", "file"):
                form.errors.pop(field, None)
            add_service_errors(form, exc)
        except Conflict as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("The litres of %(month)s were declared: PROLECHE verifies them next.")
                % {"month": f"{settlement.month:%m/%Y}"},
            )
            return redirect("settlement-detail", settlement.pk)
    if request.method == "POST":
        status = 400
    return render(
        request, "compensations/declare.html", {"agreement": agreement, "form": form}, status=status
    )


@require_safe
@login_required
def settlement_detail(request, pk):
    settlement = _settlement(request.user, pk)
    return render(
        request,
        "compensations/settlement_detail.html",
        {
            "case": settlement,
            "badge": BADGES.get(settlement.state, "info"),
            "documents": list(settlement.documents.select_related("uploaded_by")),
            "pending": _pending("settlement", settlement.pk),
            "history": selectors.history_for(settlement, request.user),
        },
    )


@require_safe
@login_required
def settlement_document(request, pk, doc_pk):
    settlement = _settlement(request.user, pk)
    return documents.attachment(settlement.documents.filter(pk=doc_pk).first())


# --- the agreement's official documents (workflows.official: the same for every kind of case) --------


@require_safe
@login_required
def official_download(request, pk, number):
    """A generated official document of an agreement the user may see (the certificación
    presupuestaria, the resolution; PDF attachment; 404 otherwise)."""
    return official_documents.pdf_response(_agreement(request.user, pk), number)


@require_safe
@login_required
def official_scan(request, pk, number):
    """The signed scan of an official document, for whoever may see the agreement."""
    return official_documents.scan_response(_agreement(request.user, pk), number)


@documents.size_limited
@require_POST
@login_required
def official_scan_upload(request, pk, number):
    agreement = _agreement(request.user, pk)
    return official_documents.scan_upload_view(
        request, agreement, number, reverse("compensation-detail", args=[agreement.pk])
    )
