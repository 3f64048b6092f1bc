"""Web pages of the budget (``/budget/``), for staff: the lines of a fiscal year with their figures
and whether each one reconciles with its movements; one line's ledger; and, for finance and
administrators, the forms that open a line, modify its amount in force and record an operating
expenditure.

Reads go through ``budget.selectors`` (applicants and lines outside the user's program scope are a
404); every POST calls ONE service, which checks permission, moves the money and writes the audit
entry in one transaction; bad input re-renders the page with the service's messages and changes
nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Field
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from cases import charts, params
from cases.clock import today
from cases.forms import add_service_errors
from cases.money import ZERO
from cases.permissions import allowed

from . import selectors, services
from .forms import ExpenditureForm, LineCreateForm, LineModifyForm
from .models import LINE_FIGURES, BudgetLine

MOVEMENTS_PAGE = 50


def _figure_label(figure: str) -> str | Promise:
    """The verbose name of one of the ``LINE_FIGURES``: concrete ``DecimalField``s, never relations."""
    field = BudgetLine._meta.get_field(figure)
    if not isinstance(field, Field):
        raise TypeError(f"{figure} is not a concrete field of BudgetLine")
    return field.verbose_name


def _staff_only(user) -> None:
    if not selectors.can_view_budget(user):
        raise Http404


def _line(user, pk) -> BudgetLine:
    try:
        return selectors.line_get_for(user, int(pk))
    except (BudgetLine.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def _fiscal_year(request, years: list[int]) -> int:
    """The year asked for, if the user has lines in it; else the current year (its empty page)."""
    asked = request.GET.get("fiscal_year", "")
    return int(asked) if params.is_number(asked) and int(asked) in years else today().year


STAGE_LABELS = {
    "paid": gettext_lazy("Paid"),
    "executed": gettext_lazy("Executed, not yet paid"),
    "committed": gettext_lazy("Committed"),
    "reserved": gettext_lazy("Reserved (certified)"),
    "available": gettext_lazy("Available"),
}


def _charts(summary: dict | None) -> dict:
    """The year's charts: the amount in force by stage, and executed against in force per
    program and per source (``cases.charts``; the lines table below repeats every figure)."""
    if not summary:
        return {}
    totals = summary["totals"]

    def grouped(key, name):
        groups: dict[str, list] = {}
        for line in summary["lines"]:
            obj = getattr(line, key)
            row = groups.setdefault(obj.code, [obj.code, getattr(obj, name), ZERO, ZERO])
            row[2] += line.amount_in_force
            row[3] += line.executed
        return charts.compare(tuple(r) for r in groups.values())

    return {
        "stages": charts.stages(
            in_force=totals["amount_in_force"],
            reserved=totals["reserved"],
            committed=totals["committed"],
            executed=totals["executed"],
            paid=totals["paid"],
            labels=STAGE_LABELS,
        ),
        "by_program": grouped("program", "name"),
        "by_source": grouped("source", "name"),
    }


def _overview(request, *, create_form=None, status=200):
    user = request.user
    years = sorted(set(selectors.line_list_for(user).values_list("fiscal_year", flat=True)), reverse=True)
    year = _fiscal_year(request, years)
    summary = selectors.line_summary_for(user, year)
    lines = summary["lines"] if summary else []
    unreconciled = {
        m["line"] for m in selectors.ledger_mismatches(BudgetLine.objects.filter(fiscal_year=year))
    }
    can_create = allowed(user, "budget.create_line")
    if can_create and create_form is None:
        create_form = LineCreateForm(initial={"fiscal_year": year})
    return render(
        request,
        "budget/overview.html",
        {
            "years": years,
            "year": year,
            "budget": summary,
            "charts": _charts(summary),
            "unreconciled": unreconciled,
            "all_reconcile": not (unreconciled & {line.pk for line in lines}),
            "create_form": create_form if can_create else None,
        },
        status=status,
    )


@require_safe
@login_required
def budget_overview(request):
    _staff_only(request.user)
    return _overview(request)


@require_POST
@login_required
def line_create(request):
    _staff_only(request.user)
    if not allowed(request.user, "budget.create_line"):
        raise PermissionDenied(_("Only finance staff and administrators open budget lines."))
    form = LineCreateForm(request.POST)
    if form.is_valid():
        try:
            line = services.create_budget_line(actor=request.user, **form.cleaned_data)
        except PermissionDenied:
            form.add_error("program", _("That program is outside your scope."))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Budget line %(line)s opened.") % {"line": line})
            return redirect("budget-line-detail", pk=line.pk)
    return _overview(request, create_form=form, status=400)


def _line_page(request, line: BudgetLine, *, modify_form=None, expenditure_form=None, status=200):
    user = request.user
    paginator = Paginator(selectors.movement_list(line).select_related("actor"), MOVEMENTS_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    recorded = {figure: getattr(line, figure) for figure in LINE_FIGURES}
    derived = selectors.figures_from_movements(line)
    can_modify = allowed(user, "budget.modify_line", line)
    can_spend = allowed(user, "budget.record_expenditure", line)
    if can_modify and modify_form is None:
        modify_form = LineModifyForm(initial={"amount_in_force": line.amount_in_force})
    if can_spend and expenditure_form is None:
        expenditure_form = ExpenditureForm(initial={"date": today()})
    return render(
        request,
        "budget/line_detail.html",
        {
            "line": line,
            "page": page,
            "figures": [
                (figure, _figure_label(figure), recorded[figure], derived[figure]) for figure in LINE_FIGURES
            ],
            "reconciles": all(recorded[f] == derived[f] for f in recorded),
            "modify_form": modify_form if can_modify else None,
            "expenditure_form": expenditure_form if can_spend else None,
        },
        status=status,
    )


@require_safe
@login_required
def line_detail(request, pk):
    _staff_only(request.user)
    return _line_page(request, _line(request.user, pk))


@require_POST
@login_required
def line_modify(request, pk):
    _staff_only(request.user)
    line = _line(request.user, pk)
    if not allowed(request.user, "budget.modify_line", line):
        raise PermissionDenied(_("Only finance staff and administrators modify budget lines."))
    form = LineModifyForm(request.POST)
    if form.is_valid():
        try:
            line = services.modify_line(line, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("The amount in force of %(line)s is now Bs %(amount)s.")
                % {"line": line, "amount": services.bs(line.amount_in_force)},
            )
            return redirect("budget-line-detail", pk=line.pk)
    return _line_page(request, _line(request.user, pk), modify_form=form, status=400)


@require_POST
@login_required
def line_expenditure(request, pk):
    _staff_only(request.user)
    line = _line(request.user, pk)
    if not allowed(request.user, "budget.record_expenditure", line):
        raise PermissionDenied(_("Only finance staff record operating expenditure."))
    form = ExpenditureForm(request.POST)
    if form.is_valid():
        try:
            services.record_expenditure(line, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("Expenditure of Bs %(amount)s recorded on %(line)s.")
                % {"amount": services.bs(form.cleaned_data["amount"]), "line": line},
            )
            return redirect("budget-line-detail", pk=line.pk)
    return _line_page(request, _line(request.user, pk), expenditure_form=form, status=400)
