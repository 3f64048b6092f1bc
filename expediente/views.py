"""The site's home page: what each role sees first (PRODUCT.md §1).

It only reads, through the selectors of each app; it is site-level code, so it may name every app.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_safe

from budget.selectors import line_summary_for
from cases.clock import today
from cases.listing import OPEN
from cases.permissions import allowed
from cases.roles import Role, is_admin, roles_of
from cases.todo import for_applicant
from iniciativas.models import FINAL_STATES, KIND, InitiativeState
from iniciativas.selectors import call_list_open, initiative_list_for
from registry.models import Unit
from registry.selectors import unit_list_for

# A registration that ends within this many days is shown as "expiring".
REGISTRATION_WARNING_DAYS = 30
# The pages of other apps the home page links to (resolved from their URL names).
TASKS_PATH = reverse_lazy("task-inbox")
INITIATIVES_PATH = reverse_lazy("initiative-list")
NEW_INITIATIVE_PATH = reverse_lazy("initiative-create")
BUDGET_PATH = reverse_lazy("budget-overview")
AUDIT_PATH = reverse_lazy("audit:trail")
AUDIT_VERIFY_PATH = reverse_lazy("audit:verify")
REPORTS_PATH = reverse_lazy("reports:budget-execution")
CASES_PATH = reverse_lazy("case-list")
CALLS_PATH = reverse_lazy("call-list")
NEW_CALL_PATH = reverse_lazy("call-create")
# The configuration pages (approvals.config_views) an administrator works in, before the Django admin.
CONFIG_PAGES = (
    ("config-policy-list", _("Approval policies by amount band")),
    ("config-staff-list", _("Staff: roles, scopes and delegations")),
    ("config-non-working-days", _("Non-working days")),
)

ADMIN_PAGES = (
    ("registry", "user", _("Users")),
    ("auth", "group", _("Roles (groups)")),
    ("registry", "unit", _("Productive units")),
    ("budget", "program", _("Programs")),
    ("budget", "fundingsource", _("Funding sources")),
    ("budget", "budgetline", _("Budget lines")),
    ("iniciativas", "call", _("Calls for proposals")),
    ("approvals", "approvalpolicy", _("Approval policies")),
)


@dataclass(frozen=True)
class UnitStatus:
    unit: Unit
    days_left: int

    @property
    def expired(self) -> bool:
        return self.days_left < 0

    @property
    def expiring(self) -> bool:
        return 0 <= self.days_left <= REGISTRATION_WARNING_DAYS


def unit_statuses(user, on: dt.date) -> list[UnitStatus]:
    return [
        UnitStatus(unit=unit, days_left=(unit.registration_valid_until - on).days)
        for unit in unit_list_for(user).order_by("name")
    ]


def unit_counts(user, on: dt.date) -> dict[str, int]:
    """How many units the user may see, and how many of them are expiring or expired (one query)."""
    warn_until = on + dt.timedelta(days=REGISTRATION_WARNING_DAYS)
    return unit_list_for(user).aggregate(
        total=Count("pk"),
        expiring=Count(
            "pk", filter=Q(registration_valid_until__gte=on, registration_valid_until__lte=warn_until)
        ),
        expired=Count("pk", filter=Q(registration_valid_until__lt=on)),
    )


def admin_links() -> list[tuple[str, str]]:
    links = []
    for app_label, model_name, label in ADMIN_PAGES:
        try:
            links.append((str(label), reverse(f"admin:{app_label}_{model_name}_changelist")))
        except NoReverseMatch:
            continue
    return links


def open_calls(on: dt.date) -> list:
    return list(call_list_open(on).order_by("closes_on", "code")[:5])


def _case_list_url(**filters) -> str:
    """The staff case list filtered as given (``/cases/?kind=initiative&state=open``)."""
    return f"{CASES_PATH}?{urlencode(filters)}"


def initiative_summary(user, *, recent: bool) -> dict:
    """The initiatives the user may see: open ones counted by state, and (for applicants) the latest."""
    initiatives = initiative_list_for(user)
    counts = dict(
        initiatives.exclude(state__in=FINAL_STATES)
        .order_by()
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    return {
        "by_state": [
            (label, counts[value], _case_list_url(kind=KIND, state=value))
            for value, label in InitiativeState.choices
            if counts.get(value)
        ],
        "open": sum(counts.values()),
        "open_url": _case_list_url(kind=KIND, state=OPEN),
        "recent": list(initiatives.order_by("-created_at")[:5]) if recent else [],
    }


@require_safe
@login_required
def home(request):
    user = request.user
    roles = roles_of(user)
    on = today()
    context = {
        "today": on,
        "is_applicant": Role.APPLICANT in roles,
        "is_finance": Role.FINANCE in roles,
        "is_director": Role.DIRECTOR in roles,
        "is_internal_control": Role.INTERNAL_CONTROL in roles,
        "is_admin": is_admin(user),
        "works_cases": bool(roles & {Role.EVALUATOR, Role.LEGAL, Role.FINANCE, Role.DIRECTOR}),
        "warning_days": REGISTRATION_WARNING_DAYS,
        "paths": {
            "tasks": TASKS_PATH,
            "initiatives": INITIATIVES_PATH,
            "new_initiative": NEW_INITIATIVE_PATH,
            "budget": BUDGET_PATH,
            "audit": AUDIT_PATH,
            "audit_verify": AUDIT_VERIFY_PATH,
            "reports": REPORTS_PATH,
            "cases": CASES_PATH,
            "calls": CALLS_PATH,
            "new_call": NEW_CALL_PATH,
        },
    }
    # Administrators and program managers configure calls (a manager's check reads its programs).
    context["manages_calls"] = Role.APPLICANT not in roles and allowed(user, "iniciativas.manage_calls")
    if roles:
        context["cases"] = initiative_summary(user, recent=context["is_applicant"])
    if context["is_applicant"]:
        # "Lo que debe hacer" first: every action due on the applicant's cases, of every kind; the
        # unread notifications are counted below it (not in the banner above the heading).
        context["todo"] = for_applicant(user)
        context["unread_below"] = True
        context["own_units"] = unit_statuses(user, on)
        context["open_calls"] = open_calls(on)
    elif roles:
        context["unit_counts"] = unit_counts(user, on)
    if roles & {Role.FINANCE, Role.DIRECTOR, Role.INTERNAL_CONTROL} or context["is_admin"]:
        context["budget"] = line_summary_for(user, on.year)
    if context["is_admin"]:
        context["admin_links"] = admin_links()
        context["config_links"] = [(label, reverse(name)) for name, label in CONFIG_PAGES]
    return render(request, "home.html", context)
