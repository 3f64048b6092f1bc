"""Who may fire each transition of the initiative FSM, and on which conditions (PRODUCT.md §2: "each
[transition] with who may fire it, its conditions, and one audit entry").

``iniciativas.models.GUARDS`` names these functions in every ``@transition(conditions=…,
permission=…)``: django-fsm refuses a transition whose condition fails (``TransitionNotAllowed``), and
``workflows.services.transition`` — the one way every transition runs — refuses an actor the transition's
permission does not allow (``django_fsm.has_transition_perm``). The services and step handlers check
the same conditions first so that a refusal comes with a clear message (``submission_problems``,
``unspent_balance``…); the FSM's own check is the law behind them, whatever the caller.

Reads only. No module-level import of ``iniciativas.models`` (the models import this module).
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from cases.roles import STAFF_ROLES, Role, has_role, is_system_user

ZERO = Decimal("0.00")


# --- figures of a case ------------------------------------------------------------------------------


def paid_amount(initiative) -> Decimal:
    """What was actually paid to the beneficiary (confirmed tranches)."""
    return sum((t.amount for t in initiative.tranches.all() if t.state == "paid"), ZERO)


def final_report(initiative):
    """The approved final report, or None."""
    return initiative.reports.filter(kind="final", approved=True).order_by("-submitted_at", "-pk").first()


def unspent_balance(initiative) -> Decimal | None:
    """What the beneficiary must give back at close-out: paid minus what the approved final report
    says was spent (None while there is no approved final report)."""
    report = final_report(initiative)
    if report is None:
        return None
    return paid_amount(initiative) - report.amount_spent


def amount_to_recover(initiative) -> Decimal:
    """What a cancelled initiative owes back: everything that was paid, less what it already
    returned at close-out (nothing, as a case in close-out cannot be cancelled)."""
    return paid_amount(initiative) - initiative.refunded_amount


def call_closed_message(call) -> str:
    """Why a call takes no initiative today: it opens later, or it closed (dates in La Paz)."""
    from cases.templatetags.expediente_tags import lpz_date

    if call.status() == "scheduled":
        return _("The call %(code)s opens on %(date)s; it does not take initiatives yet.") % {
            "code": call.code,
            "date": lpz_date(call.opens_on),
        }
    return _("The call %(code)s closed on %(date)s; it no longer takes initiatives.") % {
        "code": call.code,
        "date": lpz_date(call.closes_on),
    }


def submission_problems(initiative) -> dict[str, list[str]]:
    """What stands between a draft (or an observed case) and its (re)submission, as
    field -> messages; empty: ready."""
    from budget.services import bs

    from .models import DocumentKind, InitiativeState

    call, unit = initiative.call, initiative.unit
    problems: dict[str, list[str]] = {}
    if not unit.registration_is_valid():
        problems.setdefault("unit", []).append(
            _("The unit's registration expired on %(date)s; renew it first.")
            % {"date": unit.registration_valid_until.strftime("%d/%m/%Y")}
        )
    # The call's dates bound its submissions, not the answers to an observation of a case submitted
    # while it was open: a case observed near the closing date is answered after it.
    if initiative.state == InitiativeState.DRAFT and not call.is_open():
        problems.setdefault("call", []).append(call_closed_message(call))
    if initiative.requested_amount > call.max_amount:
        problems.setdefault("requested_amount", []).append(
            _("The requested amount exceeds the call's ceiling of Bs %(max)s.") % {"max": bs(call.max_amount)}
        )
    if initiative.counterpart_share < call.min_counterpart_share:
        problems.setdefault("counterpart_amount", []).append(
            _("The counterpart must be at least %(pct)s%% of the total cost.")
            % {"pct": int(call.min_counterpart_share * 100)}
        )
    present = set(initiative.documents.values_list("kind", flat=True))
    labels = dict(DocumentKind.choices)
    for kind in call.required_documents:
        if kind not in present:
            problems.setdefault("documents", []).append(
                _("Missing document: %(kind)s.") % {"kind": labels.get(kind, kind)}
            )
    return problems


# --- conditions (``conditions=[…]``: each takes the case) -------------------------------------------


def ready_for_submission(initiative) -> bool:
    """Submit / answer an observation: everything ``submission_problems`` checks is in order."""
    return not submission_problems(initiative)


def observation_pending(initiative) -> bool:
    """Abandon: the case waits for an answer to an observation (admissibility or approval chain)."""
    return initiative.state == "observed" or bool(initiative.observation)


def evaluation_passed(initiative) -> bool:
    score = initiative.evaluation_score
    return score is not None and score >= initiative.call.threshold


def budget_certified(initiative) -> bool:
    """Approve / sign the agreement: the grant is reserved on a budget line."""
    return initiative.budget_line_id is not None and bool(initiative.approved_amount)


def all_tranches_paid(initiative) -> bool:
    """Start the close-out: every tranche of the call's plan was paid."""
    tranches = list(initiative.tranches.all())
    return len(tranches) == len(initiative.call.tranche_plan or [100]) and all(
        t.state == "paid" for t in tranches
    )


def balance_refunded(initiative) -> bool:
    """Close: the refund recorded is exactly the unspent balance of the final report."""
    unspent = unspent_balance(initiative)
    return unspent is not None and initiative.refunded_amount == unspent


def no_payment_pending(initiative) -> bool:
    """Cancel: no tranche is ordered and awaiting its bank confirmation (its accrued amount has no
    ledger move back; see ``services.cancel_initiative``)."""
    return not initiative.tranches.filter(state="ordered").exists()


def something_paid(initiative) -> bool:
    return amount_to_recover(initiative) > 0


def fully_recovered(initiative) -> bool:
    """Recovered: what was recovered covers everything that was paid."""
    return initiative.recovered_amount >= amount_to_recover(initiative)


# --- permissions (``permission=``: each takes the case and the user) -----------------------------------


def _staff_of(roles):
    def permission(initiative, user) -> bool:
        return (
            user is not None
            and getattr(user, "is_active", False)
            and has_role(user, *roles)
            and user.unit_id != initiative.unit_id
        )

    return permission


def _rule(name: str):
    def permission(initiative, user) -> bool:
        from cases.permissions import allowed

        return allowed(user, name, initiative)

    permission.__name__ = f"rule:{name}"
    return permission


def by_system(initiative, user) -> bool:
    """Only the system (expiry of an unanswered observation)."""
    return is_system_user(user)


by_applicant = _rule("iniciativas.submit")  # a member of the applicant unit
by_withdrawing_applicant = _rule("iniciativas.withdraw")
by_director = _rule("iniciativas.cancel")
by_finance_recovery = _rule("iniciativas.recover")
by_evaluator = _staff_of((Role.EVALUATOR,))
by_legal = _staff_of((Role.LEGAL,))
by_finance = _staff_of((Role.FINANCE,))
# The approval chain's steps belong to whichever staff role the case's policy version names.
by_staff = _staff_of(tuple(STAFF_ROLES))
