"""Presentation helpers of the case file (``{% load iniciativas_tags %}``): the state badge, the
history timeline in plain words and the tranche table. Reads only what the view already passed."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.models import Step
from cases.roles import ALL_STAFF_ROLES, roles_of
from cases.templatetags.expediente_tags import bs
from iniciativas.models import DocumentKind, InitiativeState, Tranche

register = template.Library()

S = InitiativeState
_BADGES = {
    S.DRAFT: "neutral",
    S.SUBMITTED: "info",
    S.OBSERVED: "warn",
    S.IN_EVALUATION: "info",
    S.IN_APPROVAL: "info",
    S.APPROVED: "ok",
    S.AGREEMENT_SIGNED: "ok",
    S.IN_EXECUTION: "ok",
    S.IN_CLOSEOUT: "ok",
    S.CLOSED: "done",
    S.REJECTED: "bad",
    S.WITHDRAWN: "bad",
    S.ABANDONED: "bad",
    S.CANCELLED: "bad",
    S.IN_RECOVERY: "bad",
    S.RECOVERED: "done",
}
DECISIONS = {
    "approve": gettext_lazy("approved"),
    "observe": gettext_lazy("observed"),
    "reject": gettext_lazy("rejected"),
    "expire": gettext_lazy("deadline expired"),
}
# Inbox bookkeeping an applicant does not need to read in its case's history.
# A declaration of conflict of interest (and its reason) is the agency's own record, too.
STAFF_ONLY_ACTIONS = frozenset(
    {
        "task.claimed",
        "task.released",
        "task.refused",
        "task.escalated",
        "task.no_conflict_declared",
        "task.conflict_declared",
    }
)
# Data keys shown in the timeline, in this order: (key, label, kind).
_DETAILS = (
    ("observation", gettext_lazy("Observations"), "text"),
    ("answer", gettext_lazy("Answer"), "text"),
    ("reason", gettext_lazy("Reasons"), "text"),
    ("comment", gettext_lazy("Comment"), "text"),
    ("requested_amount", gettext_lazy("Requested"), "money"),
    ("counterpart_amount", gettext_lazy("Counterpart"), "money"),
    ("granted_amount", gettext_lazy("Granted"), "money"),
    ("approved_amount", gettext_lazy("Approved amount"), "money"),
    ("approved_amount_reason", gettext_lazy("Why less was approved"), "text"),
    ("approved_counterpart", gettext_lazy("Counterpart owed"), "money"),
    ("scores", gettext_lazy("Scores"), "scores"),
    ("mean", gettext_lazy("Mean score"), "number"),
    ("agreement_number", gettext_lazy("Agreement"), "plain"),
    ("tranche", gettext_lazy("Tranche"), "plain"),
    ("amount", gettext_lazy("Amount"), "money"),
    ("refund", gettext_lazy("Balance returned"), "money"),
    ("record", gettext_lazy("Close-out record"), "plain"),
    ("kind", gettext_lazy("Kind"), "kind"),
    ("name", gettext_lazy("File"), "plain"),
    ("sha256", gettext_lazy("SHA-256"), "hash"),
)
# What a decided step recorded (``task.completed`` → ``data.data``) worth reading in the history.
_STEP_DETAILS = (
    ("opinion", gettext_lazy("Legal opinion"), "text"),
    ("resolution_number", gettext_lazy("Resolution"), "plain"),
    ("summary", gettext_lazy("Report"), "text"),
    ("physical_progress", gettext_lazy("Physical progress"), "percent"),
    ("amount_spent", gettext_lazy("Grant money spent"), "money"),
    ("counterpart_spent", gettext_lazy("Counterpart spent"), "money"),
    ("counterpart_verified", gettext_lazy("Counterpart verified"), "yes"),
    ("payment_reference", gettext_lazy("Payment reference"), "plain"),
)


@register.filter
def state_badge(state) -> str:
    """CSS modifier of the badge of an initiative state."""
    return _BADGES.get(state, "neutral")


@register.filter
def step_label(step) -> str:
    try:
        return str(Step(step).label)
    except ValueError:
        return str(step or "")


def _detail_value(kind: str, value):
    if kind == "money":
        return bs(value)
    if kind == "number":
        try:
            return formats.number_format(Decimal(str(value)), decimal_pos=2, use_l10n=True)
        except (ArithmeticError, ValueError):
            return str(value)
    if kind == "percent":
        return f"{value} %"
    if kind == "yes":
        return _("yes") if value is True else _("no")
    if kind == "scores" and isinstance(value, list):
        return " · ".join(_detail_value("number", v) for v in value)
    if kind == "kind":
        return str(dict(DocumentKind.choices).get(value, value))
    if kind == "hash":
        return str(value)
    return str(value)


def _has_choice(step: str, decision: str) -> bool:
    """Whether the decision says something: steps with a single way to complete them (a report
    sent, a payment ordered) show no "approved"."""
    from approvals.steps import Decision, spec_for
    from iniciativas.models import KIND

    if decision == Decision.EXPIRE:
        return True
    try:
        decisions = spec_for(KIND, step).decisions
    except KeyError:
        return True
    return len([d for d in decisions if d != Decision.EXPIRE]) > 1


@register.simple_tag
def timeline(history, user) -> list[dict]:
    """The case's audit entries as timeline items: when, who, what, and the details that matter.
    Applicants do not see the inbox's bookkeeping (claims, releases, refusals)."""
    staff = bool(roles_of(user) & ALL_STAFF_ROLES) or getattr(user, "is_superuser", False)
    items = []
    for entry in history:
        if entry.action in STAFF_ONLY_ACTIONS and not staff:
            continue
        data = entry.data if isinstance(entry.data, dict) else {}
        title = entry.action_label
        step = data.get("step")
        if entry.action.startswith("task.") and step:
            title = f"{title}: {step_label(step)}"
            decision = data.get("decision")
            if entry.action == "task.completed" and decision in DECISIONS and _has_choice(step, decision):
                title = f"{title} — {DECISIONS[decision]}"
        to_state = data.get("to") if entry.action.startswith("initiative.") else None
        details = []
        for key, label, kind in _DETAILS:
            value = data.get(key)
            if value in (None, "", [], {}):
                continue
            if key == "amount" and entry.action == "initiative.recovered":
                label = gettext_lazy("Recovered")
            details.append({"label": str(label), "value": _detail_value(kind, value), "kind": kind})
        step_data = data.get("data") if entry.action == "task.completed" else None
        if isinstance(step_data, dict):
            for key, label, kind in _STEP_DETAILS:
                value = step_data.get(key)
                if value not in (None, "", [], {}):
                    details.append({"label": str(label), "value": _detail_value(kind, value), "kind": kind})
        if (
            entry.action == "task.completed"
            and data.get("sealed")
            and "mean" not in data
            and "scores" not in data
        ):
            details.append(
                {"label": _("Scores"), "value": _("sealed until every evaluation is in"), "kind": "plain"}
            )
        items.append(
            {
                "seq": entry.seq,
                "at": entry.at,
                "actor": entry.actor_label,
                "title": title,
                "state": to_state,
                "state_label": str(S(to_state).label) if to_state in S.values else "",
                "details": details,
            }
        )
    return items


@register.simple_tag
def tranche_table(initiative) -> dict:
    """The tranche plan of the call against what was ordered and paid."""
    from iniciativas.services import tranche_amounts

    done = {t.number: t for t in initiative.tranches.all()}
    plan = list(initiative.call.tranche_plan or [100])
    planned = tranche_amounts(initiative) if initiative.approved_amount else [None] * len(plan)
    rows = []
    for number, (percent, amount) in enumerate(zip(plan, planned, strict=False), 1):
        tranche = done.get(number)
        rows.append(
            {
                "number": number,
                "percent": percent,
                "amount": tranche.amount if tranche else amount,
                "tranche": tranche,
                "paid": bool(tranche and tranche.state == Tranche.State.PAID),
                "status": tranche.get_state_display() if tranche else _("Pending"),
            }
        )
    paid = sum((t.amount for t in done.values() if t.state == Tranche.State.PAID), Decimal(0))
    return {"rows": rows, "paid": paid, "any": bool(done), "granted": initiative.approved_amount}


@register.filter
def pct_of(fraction) -> str:
    """``Decimal("0.50")`` → ``50 %``."""
    from cases.templatetags.expediente_tags import percent

    if fraction in (None, ""):
        return "—"
    return percent(Decimal(str(fraction)) * 100, 0)


@register.filter
def kind_labels(kinds) -> list[str]:
    labels = dict(DocumentKind.choices)
    return [str(labels.get(kind, kind)) for kind in kinds or ()]
