"""Web pages of the task inbox, mounted at ``/tasks/``.

- Lists: "Mis tareas" (assigned to me or to whom I stand in for, and my applicant unit's own steps,
  which are every member's and never claimed), "Disponibles" (I may claim), "Realizadas por mí",
  and for staff "Escaladas" (overdue tasks escalated to a role I hold, which I may reassign to a
  colleague). Rows come from ``approvals.selectors`` — role, scope, four eyes and
  delegation are one SQL filter there — and are paged by keyset (no ``COUNT(*)``), so a page costs
  the same few queries whatever the number of tasks or object permissions (see
  ``tests/approvals/test_inbox_queries.py`` and ``bench/inbox_bench.py``).
- The decision page shows the case file beside a form built from the step's ``Field`` specs; a
  POST calls ``approvals.services.complete_task`` once. Claim, release and reassign are POST forms
  calling their services. Refusals are audited by the services; the pages only show the reason.
"""

from __future__ import annotations

import datetime as dt
import operator
from dataclasses import dataclass
from functools import reduce
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from cases import kinds
from cases.errors import Conflict
from cases.roles import STAFF_ROLES, Role, roles_of
from cases.templatetags.expediente_tags import bs, lpz_date
from workflows.models import CaseTask

from . import selectors, services
from .forms import DECISION_LABELS, ConflictDeclarationForm, DecisionForm, ReassignForm, TaskFilterForm
from .models import Step, step_label
from .steps import NO_CONFLICT_FIELD, spec_for
from .todo import action_label as applicant_action_label
from .todo import submit_label as applicant_submit_label

PAGE_SIZE = 25

# (tab, URL name, label)
TABS = (
    ("mine", "task-inbox", gettext_lazy("My tasks")),
    ("available", "task-available", gettext_lazy("Available to claim")),
    ("done", "task-done", gettext_lazy("Done by me")),
    ("escalated", "task-escalated", gettext_lazy("Escalated")),
)
# A unit member has nothing to claim (its unit's steps are all in «Mis tareas») and nothing escalated.
STAFF_ONLY_TABS = frozenset({"available", "escalated"})
TAB_URLS = {tab: url_name for tab, url_name, _label in TABS}

# The reusable case file of the applicant pages, when it exists; ours otherwise.
# --- keyset pagination ---------------------------------------------------------------------------
# No COUNT(*) and no OFFSET: a page is the next PAGE_SIZE + 1 rows after (or before) the cursor row
# in the list's order, so page 400 costs what page 1 costs. Cursors are opaque strings.

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
BY_DUE = (F("due_at").asc(nulls_last=True), "pk")
BY_DUE_REVERSED = (F("due_at").desc(nulls_first=True), "-pk")


@dataclass
class Page:
    rows: list
    next_cursor: str | None
    prev_cursor: str | None


def _due_cursor(task) -> str:
    if task.due_at is None:
        return f"n.{task.pk}"
    delta = task.due_at - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}.{task.pk}"


def _parse_due_cursor(value: str):
    """``(due_at | None, pk)``, or None when the cursor is not one of ours."""
    try:
        due, pk = value.split(".", 1)
        when = None if due == "n" else _EPOCH + dt.timedelta(microseconds=int(due))
        return when, int(pk)
    except (ValueError, OverflowError):
        return None


def _parse_pk_cursor(value: str):
    try:
        return int(value)
    except ValueError:
        return None


def page_by_due(qs, *, after: str = "", before: str = "", size: int = PAGE_SIZE) -> Page:
    """Rows in due order (soonest first; the rare row without a due date last)."""
    back = _parse_due_cursor(before) if before else None
    if back is not None:
        due, pk = back
        if due is None:
            cond = Q(due_at__isnull=False) | Q(due_at__isnull=True, pk__lt=pk)
        else:
            cond = Q(due_at__lte=due) & (Q(due_at__lt=due) | Q(pk__lt=pk))
        rows = list(qs.filter(cond).order_by(*BY_DUE_REVERSED)[: size + 1])
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows,
            _due_cursor(rows[-1]) if rows else None,
            _due_cursor(rows[0]) if rows and more_before else None,
        )
    ordered = qs.order_by(*BY_DUE)
    forward = _parse_due_cursor(after) if after else None
    if forward is None:
        rows = list(ordered[: size + 1])
    elif forward[0] is None:
        rows = list(ordered.filter(due_at__isnull=True, pk__gt=forward[1])[: size + 1])
    else:
        due, pk = forward
        # ``due_at >= d`` first, so the index scan starts at the cursor (a plain OR would not).
        rows = list(ordered.filter(Q(due_at__gte=due) & (Q(due_at__gt=due) | Q(pk__gt=pk)))[: size + 1])
        if len(rows) <= size:  # past the dated rows: the undated ones, if any, come last
            rows += list(ordered.filter(due_at__isnull=True)[: size + 1 - len(rows)])
    more_after = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        _due_cursor(rows[-1]) if rows and more_after else None,
        _due_cursor(rows[0]) if rows and forward is not None else None,
    )


def page_by_newest(qs, *, after: str = "", before: str = "", size: int = PAGE_SIZE) -> Page:
    """Rows newest first (the "done by me" list). The page's ids are picked first by an inner
    query on the task table's own index (``casetask_done_idx``), then only those rows are joined:
    the planner never walks the whole task table backwards looking for someone's old decisions."""

    def take(condition: Q, order: str) -> list:
        ids = qs.filter(condition).order_by(order).values("pk")[: size + 1]
        return list(qs.filter(pk__in=ids).order_by(order))

    back = _parse_pk_cursor(before) if before else None
    if back is not None:
        rows = take(Q(pk__gt=back), "pk")
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows,
            str(rows[-1].pk) if rows else None,
            str(rows[0].pk) if rows and more_before else None,
        )
    forward = _parse_pk_cursor(after) if after else None
    rows = take(Q(pk__lt=forward) if forward is not None else Q(), "-pk")
    more_after = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        str(rows[-1].pk) if rows and more_after else None,
        str(rows[0].pk) if rows and forward is not None else None,
    )


# --- lists ---------------------------------------------------------------------------------------


# A tab counts its tasks up to this many ("99+" beyond): a count never reads a whole history.
COUNT_CAP = 99


def tab_counts(user, tabs, *, reference, delegators=None, facts=None) -> dict[str, str]:
    """How many tasks each tab holds, without the page's filters: ``{"mine": "3", "done": "99+"}``.
    ONE aggregate query over the tabs' own selectors (each tab's rows as a subquery), plus the roles
    and scopes when the caller has not read them (``facts``)."""
    if delegators is None:
        delegators = services.active_delegators(user)
    if facts is None and {"mine", "available"} & set(tabs):
        facts = selectors._roles_and_scopes_of([user, *delegators])
    read = {"delegators": delegators, "pairs": reference.pairs, "facts": facts}
    lists = {
        "mine": lambda: selectors.task_list_assigned(user, **read),
        "available": lambda: selectors.task_list_available(user, **read),
        "done": lambda: selectors.task_list_done(user),
        "escalated": lambda: selectors.task_list_escalated(user, facts=facts),
    }
    subqueries = {tab: Q(pk__in=lists[tab]().order_by().values("pk")) for tab in tabs}
    if not subqueries:
        return {}
    totals = CaseTask.objects.filter(reduce(operator.or_, subqueries.values())).aggregate(
        **{tab: Count("pk", filter=q) for tab, q in subqueries.items()}
    )
    return {tab: f"{COUNT_CAP}+" if n > COUNT_CAP else str(n) for tab, n in totals.items()}


def _list_url(tab: str, params: dict) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in ("", None)})
    return reverse(TAB_URLS[tab]) + (f"?{query}" if query else "")


@login_required
@require_safe
def task_list(request, tab: str = "mine"):
    user = request.user
    reference = selectors.inbox_reference()
    filter_params = {k: v for k, v in request.GET.items() if k not in ("after", "before")}
    form = TaskFilterForm(
        filter_params or None, programs=reference.programs, departments=reference.departments
    )
    filters = form.filters()
    after, before = request.GET.get("after", ""), request.GET.get("before", "")
    # Read once for the list and the tabs' counts: the colleagues whose inbox the user holds, and
    # their roles and scopes with the user's (one query each).
    delegators = services.active_delegators(user)
    facts = selectors._roles_and_scopes_of([user, *delegators])
    if tab == "done":
        qs = selectors.task_list_done(user, filters)
        page = page_by_newest(_row_columns(qs), after=after, before=before)
    elif tab == "escalated":
        qs = selectors.task_list_escalated(user, filters, facts=facts)
        page = page_by_due(_row_columns(qs, with_holder=True), after=after, before=before)
    else:
        read = {"delegators": delegators, "pairs": reference.pairs, "facts": facts}
        if tab == "available":
            qs = selectors.task_list_available(user, filters, **read)
        else:
            qs = selectors.task_list_assigned(user, filters, **read)
        page = page_by_due(_row_columns(qs), after=after, before=before)
    now = timezone.now()
    holders = {d.pk: d for d in delegators}
    detail_url = reverse("task-detail", args=[URL_SENTINEL])  # each row's id goes in its place
    rows = [_row(task, now, holders, detail_url) for task in page.rows]
    staff = bool(roles_of(user) & STAFF_ROLES)  # cached on the user by the list's own read
    shown_tabs = [(key, label) for key, _url_name, label in TABS if staff or key not in STAFF_ONLY_TABS]
    counts = tab_counts(
        user, [key for key, _label in shown_tabs], reference=reference, delegators=delegators, facts=facts
    )
    context = {
        "tab": tab,
        "staff": staff,
        "tabs": [
            {
                "key": key,
                "url": _list_url(key, filter_params),
                "label": label,
                "current": key == tab,
                "count": counts.get(key, ""),
            }
            for key, label in shown_tabs
        ],
        "tab_label": {key: label for key, _u, label in TABS}[tab],
        "form": form,
        "filters_active": form.active,
        "rows": rows,
        "next_url": _list_url(tab, {**filter_params, "after": page.next_cursor}) if page.next_cursor else "",
        "prev_url": _list_url(tab, {**filter_params, "before": page.prev_cursor}) if page.prev_cursor else "",
        "first_url": _list_url(tab, filter_params) if page.prev_cursor else "",
        "clear_url": _list_url(tab, {}),
        "now": now,
    }
    return render(request, "approvals/task_list.html", context)


# What a row shows: no join, no other column (the lists' query stays one narrow indexed read).
ROW_COLUMNS = (
    "case_code",
    "title",
    "beneficiary",
    "step",
    "amount",
    "due_at",
    "is_open",
    "created",
    "finished",
    "owner",
    "data",
)


URL_SENTINEL = "987654321"


def _row_columns(qs, *, with_holder: bool = False):
    if with_holder:  # "Escaladas" shows who holds each task: one join, still one query
        holder = ("owner__username", "owner__first_name", "owner__last_name")
        return qs.select_related(None).select_related("owner").only(*ROW_COLUMNS, *holder)
    return qs.select_related(None).only(*ROW_COLUMNS)


def _step_label(step: str) -> str:
    """``get_step_display()`` without rebuilding the choices dict on every row (registered steps
    of the case kinds included)."""
    try:
        return str(Step(step).label)
    except ValueError:
        return step_label(step)


def _row(task: CaseTask, now, delegators: dict, detail_url: str) -> dict:
    """One row, formatted here rather than by template filters (a list renders on every visit)."""
    decision = (task.data or {}).get("decision", "") if not task.is_open else ""
    age = max((now - task.created).days, 0) if task.created else None
    return {
        "task": task,
        "url": detail_url.replace(URL_SENTINEL, str(task.pk)),
        "step": _step_label(task.step),
        "amount": bs(task.amount),
        "due": lpz_date(task.due_at),
        "due_iso": task.due_at.isoformat() if task.due_at else "",
        "finished": lpz_date(task.finished),
        "overdue": bool(task.is_open and task.due_at and task.due_at < now),
        "age": (
            "—"
            if age is None
            else _("today")
            if age == 0
            else ngettext("%(days)s day", "%(days)s days", age) % {"days": age}
        ),
        # A task held by someone whose inbox the user holds by delegation.
        "on_behalf_of": delegators.get(task.owner_id),
        "decision": DECISION_LABELS.get(decision, decision),
    }


# --- one task ------------------------------------------------------------------------------------


def _case_file_context(task: CaseTask, case, user) -> dict:
    """What the case file shows beside the form: the case, its documents and its history."""
    documents = list(case.documents.all()) if hasattr(case, "documents") else []
    kind = kinds.get(task.case_type)
    history = kind.history_for(case, user)
    template = kind.case_file_template or "approvals/_case_file.html"
    return {
        "case": case,
        kind.code: case,  # the name the kind's own case-file template reads ("initiative", …)
        "documents": documents,
        # Closed until a declaration of no conflict of interest (the download refuses them too).
        "documents_closed": selectors.documents_refusal(user, task.case_code),
        "history": history,
        "case_file_template": template,
    }


def _decision_form(task: CaseTask, case, data=None, *, declared: bool = False) -> DecisionForm:
    """The decision form of the step. A step that asks for the declaration of conflict of interest
    offers its "no conflict" checkbox only to someone who has not declared yet (``declared``)."""
    spec = spec_for(task.case_type, task.step)
    fields = spec.fields(task, case)
    if declared:
        fields = [f for f in fields if f.name != NO_CONFLICT_FIELD]
    scoring = spec.scoring(task, case) if spec.scoring else None
    return DecisionForm(
        data,
        step_fields=fields,
        decisions=spec.decisions,
        score_fields=scoring.fields if scoring else (),
    )


def _declared(user, task: CaseTask) -> bool:
    """Whether ``user`` owes no declaration before working ``task`` (its step asks for none, or they
    declared no conflict of interest for it)."""
    if not task.step or not spec_for(task.case_type, task.step).asks_declaration:
        return True
    return selectors.declared_no_conflict(user, task)


def _render_task(
    request,
    task: CaseTask,
    case,
    form: DecisionForm | None,
    *,
    status: int = 200,
    reassign_form: ReassignForm | None = None,
    declaration_form: ConflictDeclarationForm | None = None,
):
    user = request.user
    holders = {user.pk, *(d.pk for d in services.active_delegators(user))}
    decision = (task.data or {}).get("decision", "")
    unit_task = task.role == Role.APPLICANT
    may_work = form is not None and _may_work(user, task, holders)
    if reassign_form is None and _may_reassign(user, task):
        reassign_form = ReassignForm(candidates=selectors.reassign_candidates(task))
    spec = spec_for(task.case_type, task.step) if task.step else None
    # A step that asks for the declaration: first the declaration; the scores only once "no conflict"
    # is declared — or when a decision was sent without it, to keep what was typed beside the error.
    owes_declaration = bool(may_work and spec and spec.asks_declaration and not _declared(user, task))
    if owes_declaration and declaration_form is None:
        declaration_form = ConflictDeclarationForm()
    scoring = spec.scoring(task, case) if may_work and spec and spec.scoring else None
    show_form = may_work and (not owes_declaration or (form is not None and form.is_bound))
    context = {
        "task": task,
        # An escalation-role user who may not work the task itself sees it to reassign it only.
        "form": form if show_form else None,
        "declaration_form": declaration_form if owes_declaration else None,
        "scoring": scoring,
        # Applicant steps are their unit's: every member answers them, nothing to claim or release.
        "unit_task": unit_task,
        "assigned_to_me": bool(task.is_open and task.owner_id and task.owner_id in holders and not unit_task),
        "claimable": bool(task.is_open and not task.owner_id and not unit_task and may_work),
        "on_behalf_of": task.owner if task.owner_id and task.owner_id != user.pk and not unit_task else None,
        "holder": task.owner if task.owner_id and not unit_task else None,
        "reassign_form": reassign_form,
        "overdue": bool(task.is_open and task.due_at and task.due_at < timezone.now()),
        "decision_label": DECISION_LABELS.get(decision, decision),
        "comment": (task.data or {}).get("comment", ""),
        # The applicant's words for their own step (not the staff's "decide").
        "applicant_action": applicant_action_label(task.step) if unit_task else "",
        "applicant_submit": applicant_submit_label(task.step) if unit_task else "",
        **_case_file_context(task, case, user),
    }
    return render(request, "approvals/task_detail.html", context, status=status)


def _may_work(user, task: CaseTask, holders: set[int]) -> bool:
    """Whether the decision form is offered: the page is also shown to the escalation role, which
    sees an escalated task to reassign it, not to decide it."""
    if task.role == Role.APPLICANT:
        return True  # only members of the unit reach the page of their unit's step
    if task.owner_id and task.owner_id not in holders:
        return False
    try:  # also for a task it holds: never a form whose decision would be refused
        services.acting_principal(user, task)
    except (PermissionDenied, Conflict):
        return False
    return True


def _may_reassign(user, task: CaseTask) -> bool:
    return bool(
        task.is_open
        and task.escalated_at is not None
        and task.escalation_role
        and task.escalation_role in roles_of(user)
        and services.reassign_refusal(user, task) is None
    )


def _refused(request, task, exc: PermissionDenied):
    reason = " ".join(str(arg) for arg in exc.args) or _("You may not do this.")
    return render(
        request,
        "approvals/action_refused.html",
        {"task": task, "title": _("This action is not allowed"), "reason": reason},
        status=403,
    )


def _conflict(request, task, exc: Conflict, title: str):
    return render(
        request,
        "approvals/action_refused.html",
        {
            "task": task,
            "title": title,
            "reason": exc.message,
            "conflict": True,
            # A task held by someone else: the attempt is on the record too.
            "audited": isinstance(exc, services.TaskHeldByOther),
        },
        status=409,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def task_detail(request, pk: int):
    if request.method == "POST":
        return _decide(request, pk)
    try:
        task = selectors.task_get_for(request.user, pk)
    except CaseTask.DoesNotExist as exc:
        raise Http404 from exc
    if task.is_open and task.role == Role.APPLICANT:
        # A step the case kind answers on a page of its own (the initiative's one-page observation
        # answer): the applicant works it there, not split across two pages.
        own_page = kinds.get(task.case_type).applicant_page(task.step, task.case_id)
        if own_page:
            return HttpResponseRedirect(own_page)
    case = services.case_of(task)
    form = _decision_form(task, case, declared=_declared(request.user, task)) if task.is_open else None
    return _render_task(request, task, case, form)


def _decide(request, pk: int):
    """One POST, at most one call to ``complete_task``. A task the inbox does not offer to the user
    (four eyes, scope, held by someone else, already decided) still goes to the service, which
    refuses it and records the attempt, or answers that it was already decided."""
    user = request.user
    try:
        task = selectors.task_for_action(user, pk)
    except CaseTask.DoesNotExist as exc:
        raise Http404 from exc
    try:
        visible = selectors.task_get_for(user, pk)
    except CaseTask.DoesNotExist:
        visible = None
    case = services.case_of(task)
    form = _decision_form(task, case, request.POST, declared=_declared(user, task))
    valid = form.is_valid()
    if visible is not None and visible.is_open and not valid:  # the form is offered: show its errors
        return _render_task(request, visible, case, form, status=400)
    decision = form.cleaned_data.get("decision") or request.POST.get("decision", "")
    try:
        case = services.complete_task(
            task.pk,
            actor=user,
            decision=decision,
            comment=form.cleaned_data.get("comment") or request.POST.get("comment", ""),
            data=form.step_data(decision) if valid else {},
        )
    except services.TaskHeldByOther as exc:  # a refusal (audited) answered with 409
        return _conflict(request, task, exc, _("This task is held by someone else"))
    except PermissionDenied as exc:
        return _refused(request, task, exc)
    except Conflict as exc:
        task.refresh_from_db()
        if task.is_open:  # e.g. a colleague's decision on the same case still being written
            return _conflict(request, task, exc, _("The decision could not be recorded now"))
        return _conflict(request, task, exc, _("This task has already been decided"))
    except ValidationError as exc:
        if visible is None:
            raise Http404 from exc
        visible.refresh_from_db()
        form.add_service_errors(exc)
        return _render_task(request, visible, services.case_of(visible), form, status=400)
    state = case.get_state_display() if hasattr(case, "get_state_display") else getattr(case, "state", "")
    if task.role == Role.APPLICANT:  # the applicant answered: their words, back to their case
        message = _("Answer sent on case %(code)s. The case is now: %(state)s.")
        messages.success(request, message % {"code": task.case_code, "state": state})
        return HttpResponseRedirect(task.case_url or reverse("task-inbox"))
    message = _("Decision recorded on case %(code)s. The case is now: %(state)s.")
    messages.success(request, message % {"code": task.case_code, "state": state})
    return HttpResponseRedirect(reverse("task-inbox"))


@login_required
@require_POST
def task_declare(request, pk: int):
    """The declaration of conflict of interest on a task whose step asks for it (one call to
    ``services.declare_conflict``, which checks, records and, for a conflict, hands the task back)."""
    user = request.user
    try:
        task = selectors.task_for_action(user, pk)
    except CaseTask.DoesNotExist as exc:
        raise Http404 from exc
    form = ConflictDeclarationForm(request.POST)

    def again(status=400):
        try:
            visible = selectors.task_get_for(user, pk)
        except CaseTask.DoesNotExist as exc:
            raise Http404 from exc
        case = services.case_of(visible)
        decision_form = _decision_form(visible, case, declared=_declared(user, visible))
        return _render_task(request, visible, case, decision_form, status=status, declaration_form=form)

    if not form.is_valid():
        return again()
    try:
        services.declare_conflict(
            task.pk, actor=user, conflict=form.conflict, reason=form.cleaned_data.get("reason", "")
        )
    except services.TaskHeldByOther as exc:
        return _conflict(request, task, exc, _("This task is held by someone else"))
    except PermissionDenied as exc:
        return _refused(request, task, exc)
    except Conflict as exc:
        return _conflict(request, task, exc, _("The declaration could not be recorded"))
    except ValidationError as exc:
        form.add_service_errors(exc)
        return again()
    if form.conflict:
        message = _(
            "Your conflict of interest with case %(code)s is recorded. The task went back to your "
            "colleagues and its evaluations will not be offered to you again."
        )
        messages.success(request, message % {"code": task.case_code})
        return HttpResponseRedirect(reverse("task-inbox"))
    message = _("Your declaration of no conflict of interest with case %(code)s is recorded.")
    messages.success(request, message % {"code": task.case_code})
    return HttpResponseRedirect(reverse("task-detail", args=[task.pk]) + "#decide-title")


def _next_or(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@login_required
@require_POST
def task_claim(request, pk: int):
    try:
        task = selectors.task_for_action(request.user, pk)
    except CaseTask.DoesNotExist as exc:
        raise Http404 from exc
    try:
        services.claim_task(task.pk, actor=request.user)
    except services.TaskHeldByOther as exc:
        return _conflict(request, task, exc, _("This task can no longer be claimed"))
    except PermissionDenied as exc:
        return _refused(request, task, exc)
    except Conflict as exc:
        return _conflict(request, task, exc, _("This task can no longer be claimed"))
    message = _("You took the task of case %(code)s: it is now in “My tasks”.")
    messages.success(request, message % {"code": task.case_code})
    return HttpResponseRedirect(_next_or(request, reverse("task-detail", args=[task.pk])))


@login_required
@require_POST
def task_release(request, pk: int):
    try:
        task = selectors.task_for_action(request.user, pk)
    except CaseTask.DoesNotExist as exc:
        raise Http404 from exc
    try:
        services.release_task(task.pk, actor=request.user)
    except services.TaskHeldByOther as exc:
        return _conflict(request, task, exc, _("This task is held by someone else"))
    except PermissionDenied as exc:
        return _refused(request, task, exc)
    except Conflict as exc:
        return _conflict(request, task, exc, _("This task can no longer be released"))
    message = _("You released the task of case %(code)s: colleagues can take it now.")
    messages.success(request, message % {"code": task.case_code})
    return HttpResponseRedirect(_next_or(request, reverse("task-available")))


@login_required
@require_POST
def task_reassign(request, pk: int):
    """The escalation role gives an overdue task to a named colleague (one call to
    ``services.reassign_task``, which checks and audits everything, refusals included)."""
    from django.contrib.auth import get_user_model

    user = request.user
    try:
        task = selectors.task_for_reassign(user, pk)
    except CaseTask.DoesNotExist as exc:
        raise Http404 from exc
    form = ReassignForm(request.POST, candidates=selectors.reassign_candidates(task))
    if not form.is_valid():
        return _render_task(request, task, services.case_of(task), None, status=400, reassign_form=form)
    # Any active user may be named (a crafted POST too): the service refuses and audits the wrong ones.
    to_user = get_user_model().objects.filter(pk=form.cleaned_data["user"], is_active=True).first()
    try:
        services.reassign_task(task.pk, actor=user, to_user=to_user, reason=form.cleaned_data["reason"])
    except services.TaskHeldByOther as exc:
        return _conflict(request, task, exc, _("This task can no longer be reassigned"))
    except PermissionDenied as exc:
        return _refused(request, task, exc)
    except Conflict as exc:
        return _conflict(request, task, exc, _("This task can no longer be reassigned"))
    except ValidationError as exc:
        form.add_service_errors(exc)
        return _render_task(request, task, services.case_of(task), None, status=400, reassign_form=form)
    if to_user is None:  # the service refuses a missing colleague (ValidationError above)
        raise RuntimeError("reassign_task accepted no colleague")
    to_name = to_user.get_full_name() or to_user.get_username()
    message = _("The task of case %(code)s is now held by %(name)s.")
    messages.success(request, message % {"code": task.case_code, "name": to_name})
    return HttpResponseRedirect(reverse("task-escalated"))
