"""Staff pages of the annual operating plan (POA): ``/reports/poa/`` — the goals of a fiscal year of
the programs one manages, with the form to set a goal (administrators; program managers for their
programs) — and ``/reports/poa/<id>/`` — one goal: its result, its progress entries with their
evidence (SHA-256) and, for goals entered by hand, the form to record progress. Every write goes
through ``reports.services`` (permission, validation, audit entry in one transaction). Spanish first.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST, require_safe

from budget.models import MAX_FISCAL_YEAR, MIN_FISCAL_YEAR, Program
from budget.selectors import managed_program_ids
from cases import documents
from cases.clock import today
from cases.forms import add_service_errors
from cases.permissions import allowed
from cases.roles import is_admin

from . import services
from .models import Goal, GoalEvidence, ProgressEntry
from .selectors import (
    attainment,
    can_drill_down,
    can_view_execution,
    clean_fiscal_year,
    current_fiscal_year,
    is_drillable,
    metric_choices,
    metric_label,
)


def manageable_programs(user):
    """The programs whose plan ``user`` sets: every program for administrators, else those managed."""
    if is_admin(user):
        return Program.objects.order_by("code")
    return Program.objects.filter(pk__in=managed_program_ids(user)).order_by("code")


def may_plan(user) -> bool:
    return is_admin(user) or bool(managed_program_ids(user))


class GoalForm(forms.Form):
    fiscal_year = forms.IntegerField(
        label=gettext_lazy("Fiscal year"), min_value=MIN_FISCAL_YEAR, max_value=MAX_FISCAL_YEAR
    )
    program = forms.ModelChoiceField(
        label=gettext_lazy("Program"), queryset=Program.objects.none(), to_field_name="code", required=False
    )
    indicator = forms.CharField(
        label=gettext_lazy("Indicator"),
        max_length=300,
        help_text=gettext_lazy("As the annual plan words it, e.g. “Mypes nuevas registradas”."),
    )
    unit = forms.CharField(
        label=gettext_lazy("Unit"),
        max_length=60,
        help_text=gettext_lazy("e.g. unidades productivas, servicios, %, Bs, beneficiarios"),
    )
    target = forms.CharField(label=gettext_lazy("Target"), max_length=30)
    baseline = forms.CharField(label=gettext_lazy("Baseline"), max_length=30, required=False)
    computed_from = forms.ChoiceField(label=gettext_lazy("Result"), required=False)
    description = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        program = self.fields["program"]
        program.queryset = manageable_programs(user)  # type: ignore[attr-defined]
        program.label_from_instance = lambda p: f"{p.code} — {p.name}"  # type: ignore[attr-defined]
        program.empty_label = _("— the whole agency (administrators) —")  # type: ignore[attr-defined]
        self.fields["computed_from"].choices = [  # type: ignore[attr-defined]
            ("", _("Entered by hand, with its evidence")),
            *((code, _("Computed: %(figure)s") % {"figure": label}) for code, label in metric_choices()),
        ]
        for name in ("target", "baseline"):
            self.fields[name].widget.attrs["inputmode"] = "decimal"


class ProgressForm(forms.Form):
    value = forms.CharField(
        label=gettext_lazy("Value"),
        max_length=30,
        help_text=gettext_lazy("What was achieved, in the goal's unit (a correction: a negative value)."),
    )
    date = forms.DateField(
        label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)
    file = forms.FileField(
        label=gettext_lazy("Evidence"),
        required=False,
        help_text=gettext_lazy("PDF, JPEG or PNG; its SHA-256 is kept."),
        widget=forms.ClearableFileInput(attrs={"accept": documents.ACCEPT}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["value"].widget.attrs["inputmode"] = "decimal"


def _year(request) -> int:
    raw = request.GET.get("fiscal_year", "").strip()
    try:
        return clean_fiscal_year(raw) if raw else current_fiscal_year()
    except ValidationError:
        return current_fiscal_year()


def _plan_page(request, fiscal_year: int, *, form=None, status=200):
    user = request.user
    report = attainment(fiscal_year)
    codes = set(manageable_programs(user).values_list("code", flat=True))
    groups = [g for g in report.by_program if g.code in codes and g.goals]
    if is_admin(user) and report.total.goals:
        groups.append(report.total)
    if form is None:
        form = GoalForm(user=user, initial={"fiscal_year": fiscal_year})
    years = sorted(
        {*Goal.objects.values_list("fiscal_year", flat=True).distinct(), current_fiscal_year(), fiscal_year},
        reverse=True,
    )
    return render(
        request,
        "reports/poa.html",
        {
            "fiscal_year": fiscal_year,
            "years": years,
            "groups": groups,
            "form": form,
            "report": report,
            "report_visible": can_view_execution(user, fiscal_year),
        },
        status=status,
    )


@require_safe
@login_required
def plan_page(request):
    if not may_plan(request.user):
        raise Http404
    return _plan_page(request, _year(request))


@require_POST
@login_required
def goal_create(request):
    user = request.user
    if not may_plan(user):
        raise Http404
    form = GoalForm(request.POST, user=user)
    year = current_fiscal_year()
    if form.is_valid():
        data = form.cleaned_data
        year = data["fiscal_year"]
        try:
            goal = services.save_goal(
                actor=user,
                fiscal_year=year,
                program=data["program"],
                indicator=data["indicator"],
                unit=data["unit"],
                target=data["target"],
                baseline=data["baseline"] or None,
                computed_from=data["computed_from"],
                description=data["description"],
            )
        except PermissionDenied:
            form.add_error("program", _("Only administrators set goals of the whole agency."))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Goal “%(goal)s” saved.") % {"goal": goal.indicator})
            return redirect(reverse("reports:goal", args=[goal.pk]))
    elif form.cleaned_data.get("fiscal_year"):
        year = form.cleaned_data["fiscal_year"]
    return _plan_page(request, year, form=form, status=400)


def _goal_for(user, pk: int) -> Goal:
    """The goal if ``user`` may open its page: staff who drill down the reports, and those who set it."""
    goal = get_object_or_404(Goal.objects.select_related("program"), pk=pk)
    if can_drill_down(user) or allowed(user, "reports.manage_goals", goal.program):
        return goal
    raise Http404


def _goal_page(request, goal: Goal, *, form=None, status=200):
    user = request.user
    row = attainment(goal.fiscal_year).goal(goal.pk)
    entries = list(
        ProgressEntry.objects.filter(goal=goal)
        .select_related("evidence", "recorded_by")
        .order_by("date", "pk")
    )
    may_record = not goal.is_computed and allowed(user, "reports.manage_goals", goal.program)
    if may_record and form is None:
        form = ProgressForm(
            initial={"date": min(today(), today().replace(year=goal.fiscal_year, month=12, day=31))}
        )
    cases_url = None
    if goal.is_computed and can_drill_down(user) and is_drillable(goal.computed_from):
        scope = goal.program.code if goal.program is not None else "total"
        cases_url = reverse("reports:attainment-cases", args=[goal.fiscal_year, scope, goal.computed_from])
    return render(
        request,
        "reports/goal.html",
        {
            "goal": goal,
            "row": row,
            "entries": entries,
            "form": form if may_record else None,
            "figure": metric_label(goal.computed_from) if goal.is_computed else "",
            "cases_url": cases_url,
            "fiscal_year": goal.fiscal_year,
            "report_visible": can_view_execution(user, goal.fiscal_year),
            "may_plan": may_plan(user),
        },
        status=status,
    )


@require_safe
@login_required
def goal_page(request, pk: int):
    return _goal_page(request, _goal_for(request.user, pk))


@documents.size_limited
@require_POST
@login_required
def goal_progress(request, pk: int):
    user = request.user
    goal = _goal_for(user, pk)
    if goal.is_computed or not allowed(user, "reports.manage_goals", goal.program):
        raise PermissionDenied(_("Only administrators and the program's managers record progress."))
    form = ProgressForm(request.POST, request.FILES)
    if documents.too_large(request, form):
        return _goal_page(request, goal, form=form, status=400)
    if form.is_valid():
        data = form.cleaned_data
        try:
            upload = documents.read_upload(data["file"]) if data.get("file") else None
            services.record_progress(
                goal.pk,
                actor=user,
                value=data["value"],
                date=data["date"],
                note=data["note"],
                evidence=upload,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Progress recorded."))
            return redirect(reverse("reports:goal", args=[goal.pk]))
    return _goal_page(request, goal, form=form, status=400)


@require_safe
@login_required
def evidence_download(request, pk: int, entry: int):
    goal = _goal_for(request.user, pk)
    document = GoalEvidence.objects.filter(entry_id=entry, entry__goal=goal).first()
    return documents.attachment(document)
