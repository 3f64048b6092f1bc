"""Configuration pages for administrators, mounted under ``/config/`` (``approvals/config_urls.py``):

- approval policies by amount band, as versions: the families, one family's versions with their
  steps, a new version (or a new family), and putting an earlier version back in force;
- staff: the staff accounts, and for one person their roles, department and program scopes and the
  delegations of their inbox;
- non-working days of a year: the holidays of the law, and the decreed national and departmental
  days, added and removed.

Administrators only (``approvals.manage_policies``, ``registry.manage_users``): anyone else gets a
403. The project has no "program manager" role yet, so nothing here is offered to one (see
docs/ARCHITECTURE.md). Every POST calls ONE service, which checks permission again, writes and
records its audit entry in one transaction; bad input re-renders the page (400) with the service's
messages next to the fields, and nothing is written.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from budget import services as budget_services
from budget.models import Program
from budget.selectors import managed_program_ids
from cases import params
from cases.errors import Conflict
from cases.forms import add_service_errors
from cases.permissions import allowed
from cases.roles import SYSTEM_USERNAME, Role
from registry import services as registry_services

from . import config_selectors as selectors
from . import services
from .config_forms import (
    DepartmentScopeForm,
    NonWorkingDayForm,
    PolicyForm,
    PolicyStepFormSet,
    ProgramScopeForm,
    RoleChangeForm,
    StaffDelegationForm,
    step_rows,
)
from .models import ApprovalPolicy, Delegation, NonWorkingDay

POLICIES = "approvals.manage_policies"
CALENDAR = "approvals.manage_calendar"
USERS = "registry.manage_users"


def _require(user, permission: str) -> None:
    if not allowed(user, permission):
        raise PermissionDenied(_("Only administrators configure the agency."))


def _managed_programs(user):
    """``None`` for an administrator (every program); else the programs the user manages."""
    from budget.selectors import managed_program_ids

    if allowed(user, "approvals.manage_policy_of", None):
        return None
    return Program.objects.filter(pk__in=managed_program_ids(user)).order_by("code")


def _may_manage_family(user, policy) -> bool:
    return allowed(user, "approvals.manage_policy_of", policy.program)


def _label(user) -> str:
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


@require_safe
@login_required
def config_home(request):
    if not (allowed(request.user, POLICIES) or allowed(request.user, USERS)):
        raise PermissionDenied(_("Only administrators configure the agency."))
    return render(request, "approvals/config/home.html", {"manages_users": allowed(request.user, USERS)})


# --- approval policies -------------------------------------------------------------------------------


@require_safe
@login_required
def policy_list(request):
    _require(request.user, POLICIES)
    families = [f for f in selectors.policy_family_list() if _may_manage_family(request.user, f)]
    return render(request, "approvals/config/policy_list.html", {"families": families})


def _step_initial(policy: ApprovalPolicy | None) -> list[dict]:
    if policy is None:
        return []
    return [
        {
            "step": s.step,
            "role": s.role,
            "scope": s.scope,
            "deadline_days": s.deadline_days,
            "escalation_role": s.escalation_role,
        }
        for s in policy.steps.all()
    ]


def _save_version(request, *, family: str | None, base: ApprovalPolicy | None):
    """Parse the head and the steps, call ``save_policy_version``; (policy, form, formset)."""
    form = PolicyForm(request.POST, new_family=base is None, programs=_managed_programs(request.user))
    formset = PolicyStepFormSet(request.POST, prefix="steps")
    head_ok, steps_ok = form.is_valid(), formset.is_valid()
    if not (head_ok and steps_ok):
        return None, form, formset
    data = form.cleaned_data
    try:
        policy = services.save_policy_version(
            family if family is not None else data["family"],
            actor=request.user,
            name=data["name"],
            case_type=base.case_type if base is not None else data["case_type"],
            program=data.get("program"),
            min_amount=data["min_amount"],
            max_amount=data.get("max_amount"),
            steps=step_rows(formset),
            new_family=base is None,
        )
    except ValidationError as exc:
        step_errors = exc.message_dict.get("steps", []) if hasattr(exc, "error_dict") else []
        if step_errors:
            formset.service_errors = step_errors  # type: ignore[attr-defined]
            exc = ValidationError({k: v for k, v in exc.message_dict.items() if k != "steps"})
        if not hasattr(exc, "error_dict") or exc.error_dict:
            add_service_errors(form, exc)
        return None, form, formset
    except (Conflict, PermissionDenied) as exc:
        form.add_error(None, str(exc))
        return None, form, formset
    return policy, form, formset


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def policy_create(request):
    """A new policy family (its version 1)."""
    _require(request.user, POLICIES)
    if request.method == "POST":
        policy, form, formset = _save_version(request, family=None, base=None)
        if policy is not None:
            messages.success(request, _("Policy %(family)s saved as version 1.") % {"family": policy.family})
            return HttpResponseRedirect(reverse("config-policy-detail", args=[policy.family]))
        status = 400
    else:
        form = PolicyForm(
            new_family=True, initial={"min_amount": 0}, programs=_managed_programs(request.user)
        )
        formset = PolicyStepFormSet(prefix="steps")
        status = 200
    return render(
        request, "approvals/config/policy_create.html", {"form": form, "formset": formset}, status=status
    )


def _family_page(request, family: str, *, form=None, formset=None, status=200):
    versions = selectors.policy_versions(family)
    if not versions:
        raise Http404
    current = next((v for v in versions if v.active), versions[0])
    if not _may_manage_family(request.user, current):
        raise Http404
    if form is None:
        form = PolicyForm(
            programs=_managed_programs(request.user),
            new_family=False,
            initial={
                "name": current.name,
                "program": current.program_id,
                "min_amount": current.min_amount,
                "max_amount": current.max_amount,
            },
        )
        formset = PolicyStepFormSet(prefix="steps", initial=_step_initial(current))
    return render(
        request,
        "approvals/config/policy_detail.html",
        {"family": family, "versions": versions, "current": current, "form": form, "formset": formset},
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def policy_detail(request, family: str):
    """One family: its versions (with their steps) and the form of its next version (POST)."""
    _require(request.user, POLICIES)
    if request.method != "POST":
        return _family_page(request, family)
    base = ApprovalPolicy.objects.filter(family=family).order_by("-version").first()
    if base is None or not _may_manage_family(request.user, base):
        raise Http404
    policy, form, formset = _save_version(request, family=family, base=base)
    if policy is None:
        return _family_page(request, family, form=form, formset=formset, status=400)
    if policy.pk == base.pk and base.active:
        messages.warning(request, _("No changes: version %(v)s kept.") % {"v": policy.version})
    else:
        messages.success(
            request,
            _("Saved as version %(v)s, in force for new cases; running cases keep theirs.")
            % {"v": policy.version},
        )
    return HttpResponseRedirect(reverse("config-policy-detail", args=[family]))


@require_POST
@login_required
def policy_activate(request, family: str, version: int):
    _require(request.user, POLICIES)
    try:
        policy = services.activate_policy_version(family, version, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        raise Http404 from exc
    messages.success(
        request,
        _("Version %(v)s is in force again for new cases; running cases keep theirs.")
        % {"v": policy.version},
    )
    return HttpResponseRedirect(reverse("config-policy-detail", args=[family]))


# --- staff -------------------------------------------------------------------------------------------


@require_safe
@login_required
def staff_list(request):
    _require(request.user, USERS)
    q = (request.GET.get("q") or "").strip()[:60]
    role = request.GET.get("role") or ""
    if role not in Role.values:
        role = ""
    users = list(selectors.staff_user_list(q=q, role=role)[: selectors.STAFF_SHOWN])
    scopes = selectors.staff_scopes(users)
    rows = [(u, scopes[u.pk]) for u in users]
    role_choices = [(r.value, r.label) for r in Role if r != Role.APPLICANT]
    return render(
        request,
        "approvals/config/staff_list.html",
        {"rows": rows, "q": q, "role": role, "role_choices": role_choices, "shown": selectors.STAFF_SHOWN},
    )


def _staff_user(pk):
    user = get_object_or_404(get_user_model().objects.exclude(username=SYSTEM_USERNAME), pk=pk)
    if user.unit_id is not None:  # an applicant: not managed here
        raise Http404
    return user


def _staff_page(request, person, *, forms=None, status=200):
    forms = forms or {}
    scopes = selectors.staff_scopes([person])[person.pk]
    today = timezone.localdate()
    context = {
        "person": person,
        "person_label": _label(person),
        "scopes": scopes,
        "held_roles": [(r, Role(r).label) for r in scopes.roles],
        "held_departments": [(d.pk, d.name) for d in scopes.departments],
        "held_programs": [(p.pk, f"{p.code} — {p.name}") for p in scopes.programs],
        "role_form": forms.get("role") or RoleChangeForm(),
        "department_form": forms.get("department") or DepartmentScopeForm(),
        "program_form": forms.get("program") or ProgramScopeForm(),
        "held_managed": [
            (p.pk, f"{p.code} — {p.name}") for p in Program.objects.filter(pk__in=managed_program_ids(person))
        ],
        "manager_form": forms.get("manager") or ProgramScopeForm(auto_id="mgr_%s"),
        "delegation_form": forms.get("delegation")
        or StaffDelegationForm(
            delegator=person, initial={"starts_on": today, "ends_on": today}, auto_id="deleg_%s"
        ),
        "delegations": selectors.staff_delegations(person),
        "today": today,
    }
    return render(request, "approvals/config/staff_detail.html", context, status=status)


@require_safe
@login_required
def staff_detail(request, pk: int):
    _require(request.user, USERS)
    return _staff_page(request, _staff_user(pk))


def _staff_change(request, pk: int, *, key: str, form_class, apply, describe, done: str):
    """One grant or revoke on the staff page: the form names what, ``apply(person, value, grant)``
    calls the service (True when something changed), ``describe(value)`` names it in the message."""
    _require(request.user, USERS)
    person = _staff_user(pk)
    form = form_class(request.POST)
    grant = request.POST.get("action") != "revoke"
    if form.is_valid():
        value = next(iter(form.cleaned_data.values()))
        try:
            changed = apply(person, value, grant)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if changed:
                messages.success(request, done % {"what": describe(value), "name": _label(person)})
            else:
                messages.info(request, _("Nothing to change."))
            return HttpResponseRedirect(reverse("config-staff-detail", args=[person.pk]))
    return _staff_page(request, person, forms={key: form}, status=400)


@require_POST
@login_required
def staff_role(request, pk: int):
    def apply(person, role, grant):
        change = registry_services.grant_role if grant else registry_services.revoke_role
        return change(person, role, actor=request.user)

    done = (
        _("Role %(what)s given to %(name)s.")
        if request.POST.get("action") != "revoke"
        else _("Role %(what)s taken from %(name)s.")
    )
    return _staff_change(
        request,
        pk,
        key="role",
        form_class=RoleChangeForm,
        apply=apply,
        describe=lambda role: Role(role).label,
        done=done,
    )


@require_POST
@login_required
def staff_department(request, pk: int):
    def apply(person, department, grant):
        change = (
            registry_services.grant_department_scope if grant else registry_services.revoke_department_scope
        )
        return change(person, department, actor=request.user)

    done = (
        _("%(name)s now works on the cases of %(what)s.")
        if request.POST.get("action") != "revoke"
        else _("%(name)s no longer has the scope of %(what)s.")
    )
    return _staff_change(
        request,
        pk,
        key="department",
        form_class=DepartmentScopeForm,
        apply=apply,
        describe=lambda department: department.name,
        done=done,
    )


@require_POST
@login_required
def staff_program(request, pk: int):
    def apply(person, program, grant):
        change = budget_services.grant_program_scope if grant else budget_services.revoke_program_scope
        return change(person, program, actor=request.user)

    done = (
        _("%(name)s now works on the program %(what)s.")
        if request.POST.get("action") != "revoke"
        else _("%(name)s no longer has the scope of the program %(what)s.")
    )
    return _staff_change(
        request,
        pk,
        key="program",
        form_class=ProgramScopeForm,
        apply=apply,
        describe=lambda program: program.code,
        done=done,
    )


@require_POST
@login_required
def staff_program_management(request, pk: int):
    """Make someone the manager of a program (its calls, ``budget.services.grant_program_management``)
    or take it back."""

    def apply(person, program, grant):
        change = (
            budget_services.grant_program_management if grant else budget_services.revoke_program_management
        )
        return change(person, program, actor=request.user)

    done = (
        _("%(name)s now manages the program %(what)s.")
        if request.POST.get("action") != "revoke"
        else _("%(name)s no longer manages the program %(what)s.")
    )
    return _staff_change(
        request,
        pk,
        key="manager",
        form_class=lambda data: ProgramScopeForm(data, auto_id="mgr_%s"),
        apply=apply,
        describe=lambda program: program.code,
        done=done,
    )


@require_POST
@login_required
def staff_delegation(request, pk: int):
    """Delegate the inbox of an absent colleague (``services.delegate_inbox``)."""
    _require(request.user, USERS)
    person = _staff_user(pk)
    form = StaffDelegationForm(request.POST, delegator=person, auto_id="deleg_%s")
    if form.is_valid():
        data = form.cleaned_data
        try:
            delegation = services.delegate_inbox(actor=request.user, delegator=person, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("The %(role)s inbox of %(name)s is delegated to %(to)s from %(from)s to %(until)s.")
                % {
                    "role": delegation.get_role_display(),
                    "name": _label(person),
                    "to": _label(delegation.delegate),
                    "from": delegation.starts_on.strftime("%d/%m/%Y"),
                    "until": delegation.ends_on.strftime("%d/%m/%Y"),
                },
            )
            return HttpResponseRedirect(reverse("config-staff-detail", args=[person.pk]))
    return _staff_page(request, person, forms={"delegation": form}, status=400)


@require_POST
@login_required
def staff_delegation_revoke(request, pk: int, delegation_pk: int):
    _require(request.user, USERS)
    person = _staff_user(pk)
    delegation = get_object_or_404(Delegation, pk=delegation_pk, delegator=person)
    try:
        services.revoke_delegation(delegation.pk, actor=request.user)
    except Conflict as exc:
        messages.warning(request, str(exc))
    else:
        messages.success(request, _("The delegation was revoked."))
    return HttpResponseRedirect(reverse("config-staff-detail", args=[person.pk]))


# --- non-working days --------------------------------------------------------------------------------


def _year(request) -> int:
    asked = request.GET.get("year", "")
    this_year = timezone.localdate().year
    if params.is_number(asked) and 2000 <= int(asked) <= 2100:
        return int(asked)
    return this_year


def _days_page(request, year: int, *, form=None, status=200):
    law, decreed = selectors.non_working_days(year)
    if form is None:
        form = NonWorkingDayForm()
    return render(
        request,
        "approvals/config/non_working_days.html",
        {"year": year, "law": law, "decreed": decreed, "form": form, "years": [year - 1, year + 1]},
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def non_working_day_list(request):
    _require(request.user, CALENDAR)
    year = _year(request)
    if request.method != "POST":
        return _days_page(request, year)
    form = NonWorkingDayForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            day = services.add_non_working_day(
                actor=request.user, date=data["date"], name=data["name"], department=data.get("department")
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(date)s is a non-working day (%(where)s).")
                % {
                    "date": day.date.strftime("%d/%m/%Y"),
                    "where": day.department.name if day.department_id else _("national"),
                },
            )
            return HttpResponseRedirect(f"{reverse('config-non-working-days')}?year={day.date.year}")
        year = data["date"].year if data.get("date") else year
    return _days_page(request, year, form=form, status=400)


@require_POST
@login_required
def non_working_day_remove(request, pk: int):
    _require(request.user, CALENDAR)
    day = get_object_or_404(NonWorkingDay, pk=pk)
    try:
        services.remove_non_working_day(day.pk, actor=request.user)
    except ValidationError as exc:  # removed by someone else meanwhile
        messages.warning(request, " ".join(exc.messages))
    else:
        messages.success(
            request, _("%(date)s is a working day again.") % {"date": day.date.strftime("%d/%m/%Y")}
        )
    return HttpResponseRedirect(f"{reverse('config-non-working-days')}?year={day.date.year}")
