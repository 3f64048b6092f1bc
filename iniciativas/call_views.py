"""Configuration pages of calls for proposals (``/calls/``), for administrators and program managers:
the list of the calls they configure, a new call, and the edit page of a call (in place while
nobody has submitted to its current version, a new version afterwards).

Reads go through ``iniciativas.selectors.call_list_for`` (a call of a program the user does not
manage is a 404; a user who configures no call at all gets a 403); every POST calls ONE service
(``call_services.create_call`` / ``update_call``), which checks permission, validates and audits in
one transaction; bad input re-renders the page with the messages next to the fields, and nothing
is saved.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from budget.models import Program
from cases.clock import today
from cases.errors import Conflict
from cases.permissions import allowed
from cases.roles import is_admin

from . import call_services, selectors
from .call_forms import (
    CallForm,
    RubricFormSet,
    TrancheFormSet,
    rubric_initial,
    rubric_rows,
    tranche_initial,
    tranche_rows,
)
from .models import Call, TrancheUnlock

NEW_CALL_TRANCHES = [
    {"percent": 40, "unlocked_by": TrancheUnlock.AGREEMENT},
    {"percent": 40, "unlocked_by": TrancheUnlock.PROGRESS_REPORT},
    {"percent": 20, "unlocked_by": TrancheUnlock.PROGRESS_REPORT},
]
NEW_CALL_CRITERIA = 3  # blank rubric rows on a new call (plus the formset's extra rows)


def _configurer(user) -> None:
    if not allowed(user, "iniciativas.manage_calls"):
        raise PermissionDenied(_("Only administrators and program managers configure calls."))


def _programs(user):
    from budget.selectors import managed_program_ids

    programs = Program.objects.order_by("code")
    return programs if is_admin(user) else programs.filter(pk__in=managed_program_ids(user))


def _call(user, code) -> Call:
    try:
        return selectors.call_get_for(user, code)
    except Call.DoesNotExist as exc:
        raise Http404 from exc


def _place_errors(form, rubric, tranches, exc: ValidationError) -> dict:
    """The service's messages next to the fields; the rubric's and the plan's above their rows."""
    extra: dict[str, list[str]] = {"rubric_errors": [], "tranche_errors": []}
    for field, errors in exc.message_dict.items():
        if field == "rubric":
            extra["rubric_errors"].extend(errors)
        elif field in ("tranche_plan", "tranche_unlocks"):
            extra["tranche_errors"].extend(errors)
        elif field == "min_counterpart_share":
            form.add_error("counterpart_percent", errors)
        elif field in form.fields:
            form.add_error(field, errors)
        else:
            form.add_error(None, errors)
    return extra


def _render(request, template, context, status=200):
    return render(request, f"iniciativas/{template}", context, status=status)


@require_safe
@login_required
def call_list(request):
    _configurer(request.user)
    on = today()
    calls = list(selectors.call_list_for(request.user).order_by("-opens_on", "code"))
    return _render(
        request,
        "call_list.html",
        {"rows": [(call, call.status(on)) for call in calls], "today": on},
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def call_create(request):
    user = request.user
    _configurer(user)
    programs = _programs(user)
    errors: dict = {"rubric_errors": [], "tranche_errors": []}
    status = 200
    if request.method == "POST":
        form = CallForm(request.POST, programs=programs)
        rubric = RubricFormSet(request.POST, prefix="rubric")
        tranches = TrancheFormSet(request.POST, prefix="tranche")
        if form.is_valid() & rubric.is_valid() & tranches.is_valid():
            percents, unlocks = tranche_rows(tranches)
            try:
                call = call_services.create_call(
                    actor=user,
                    **form.service_values(),
                    rubric=rubric_rows(rubric),
                    tranche_plan=percents,
                    tranche_unlocks=unlocks,
                )
            except ValidationError as exc:
                errors = _place_errors(form, rubric, tranches, exc)
            else:
                messages.success(request, _("Call %(code)s saved.") % {"code": call.code})
                return redirect("call-edit", code=call.code)
        status = 400
    else:
        first = programs.first() if programs.count() == 1 else None
        form = CallForm(
            programs=programs,
            initial={
                "program": first,
                "opens_on": today(),
                "evaluators": 2,
                "threshold": 60,
                "disagreement_points": 20,
                "observation_days": 10,
                "counterpart_percent": 50,
            },
        )
        rubric = RubricFormSet(prefix="rubric", initial=[{}] * NEW_CALL_CRITERIA)
        tranches = TrancheFormSet(prefix="tranche", initial=NEW_CALL_TRANCHES)
    return _render(
        request,
        "call_form.html",
        {"form": form, "rubric": rubric, "tranches": tranches, "call": None, **errors},
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def call_edit(request, code):
    user = request.user
    _configurer(user)
    call = _call(user, code)
    programs = _programs(user)
    errors: dict = {"rubric_errors": [], "tranche_errors": []}
    status = 200
    if request.method == "POST":
        form = CallForm(request.POST, programs=programs, with_code=False)
        rubric = RubricFormSet(request.POST, prefix="rubric")
        tranches = TrancheFormSet(request.POST, prefix="tranche")
        if form.is_valid() & rubric.is_valid() & tranches.is_valid():
            percents, unlocks = tranche_rows(tranches)
            try:
                saved = call_services.update_call(
                    call,
                    actor=user,
                    **form.service_values(),
                    rubric=rubric_rows(rubric),
                    tranche_plan=percents,
                    tranche_unlocks=unlocks,
                )
            except ValidationError as exc:
                errors = _place_errors(form, rubric, tranches, exc)
            except Conflict as exc:
                form.add_error(None, exc.message)
            else:
                if saved.pk != call.pk:
                    messages.success(
                        request,
                        _(
                            "Version %(version)s of call %(code)s saved: new submissions take it; the "
                            "cases submitted before keep version %(previous)s."
                        )
                        % {"version": saved.version, "code": saved.code, "previous": call.version},
                    )
                else:
                    messages.success(request, _("Call %(code)s saved.") % {"code": saved.code})
                return redirect("call-edit", code=saved.code)
        status = 400
    else:
        form = CallForm(programs=programs, with_code=False, initial=CallForm.initial_from(call))
        rubric = RubricFormSet(prefix="rubric", initial=rubric_initial(call))
        tranches = TrancheFormSet(prefix="tranche", initial=tranche_initial(call))
    return _render(
        request,
        "call_form.html",
        {
            "form": form,
            "rubric": rubric,
            "tranches": tranches,
            "call": call,
            "call_status": call.status(today()),
            "submitted": call_services.has_submissions(call),
            "versions": list(selectors.call_versions(call)),
            **errors,
        },
        status=status,
    )
