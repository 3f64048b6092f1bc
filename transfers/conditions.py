"""Who may fire each transition of the transfer FSM, and on which conditions (PRODUCT.md §2: "each
[transition] with who may fire it, its conditions, and one audit entry").

``transfers.models.GUARDS`` names these functions in every ``@transition(conditions=…,
permission=…)``: django-fsm refuses a transition whose condition fails (``TransitionNotAllowed``, a
409 through ``workflows.services.transition``), and ``workflows.services.transition`` — the one way
every transition runs — refuses an actor the transition's permission does not allow
(``django_fsm.has_transition_perm``, a ``PermissionDenied``). The services and step handlers check
what they can first so that a refusal comes with a clear message; the FSM's own check is the law
behind them, whatever the caller.

Reads only. No module-level import of ``transfers.models`` (the models import this module).
"""

from __future__ import annotations

from decimal import Decimal

from cases.roles import Role, has_role, is_system_user

ZERO = Decimal("0.00")


# --- conditions (``conditions=[…]``: each takes the transfer) ----------------------------------------


def reports_favourable(transfer) -> bool:
    """Verify: both the technical and the legal report are in (and favourable: a negative one
    rejects the case instead)."""
    return bool(transfer.technical_report.strip() and transfer.legal_report.strip())


def no_observation_pending(transfer) -> bool:
    """The approval chain goes on only once the beneficiary answered its observation."""
    return not transfer.observation


def observation_pending(transfer) -> bool:
    """Lapse: the case waits for the beneficiary's answer to an observation of the chain."""
    return bool(transfer.observation)


def held_on_line(transfer) -> Decimal:
    """What the transfer holds reserved or committed on its budget line (from its own movements)."""
    from budget.selectors import case_figures

    if transfer.budget_line_id is None:
        return ZERO
    figures = case_figures(transfer.budget_line, transfer.code)
    return figures["reserved"] + figures["committed"]


def budget_certified(transfer) -> bool:
    """Approve / sign the agreement: the whole amount is certified — reserved (or, once the
    agreement is being signed, committed) on a budget line of the transfer's program, according to
    the ledger itself, not only the case row."""
    if transfer.budget_line_id is None or transfer.budget_line.program_id != transfer.program_id:
        return False
    return held_on_line(transfer) >= transfer.grant_amount


def chain_completed(transfer) -> bool:
    """Approve: every step of the policy's approval chain was decided, none awaits an answer."""
    from .flow import chain_steps

    return (
        transfer.policy_id is not None
        and no_observation_pending(transfer)
        and transfer.approval_step >= len(chain_steps(transfer))
    )


def agreement_recorded(transfer) -> bool:
    """Sign the agreement: its number and date are recorded."""
    return bool(transfer.agreement_number.strip()) and transfer.agreement_signed_on is not None


def delivered_as_recorded(transfer) -> bool:
    """Deliver. In kind: the delivery record is recorded and every physical unit carries its serial
    number and is held by the beneficiary. In money: the payment was confirmed with its bank
    reference for the whole amount."""
    if transfer.is_in_kind:
        from .models import AssetItem

        items = AssetItem.objects.filter(asset__transfer=transfer)
        return (
            bool(transfer.delivery_record_number)
            and items.exists()
            and not items.filter(serial="").exists()
            and not items.exclude(holder_id=transfer.beneficiary_id).exists()
        )
    return bool(transfer.payment_reference) and transfer.paid_amount == transfer.grant_amount


def use_verified(transfer) -> bool:
    """Close: the last follow-up visit verified the use as agreed, and no misuse was reported."""
    last = transfer.visits.order_by("-pk").first()
    return last is not None and last.use_verified and not transfer.reversion_reason


def rejection_reason_given(transfer) -> bool:
    return bool(transfer.rejection_reason.strip())


def annulment_reason_given(transfer) -> bool:
    return bool(transfer.annulment_reason.strip())


def reversion_reason_given(transfer) -> bool:
    """Revert: a follow-up visit found misuse and said what it was."""
    return bool(transfer.reversion_reason.strip())


def nothing_executed(transfer) -> bool:
    """Annul / lapse: nothing of the transfer was executed (devengado) or paid yet."""
    return transfer.executed_amount == 0 and transfer.paid_amount == 0


# --- permissions (``permission=``: each takes the transfer and the user) -------------------------------


def _active(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def _staff(transfer, user, roles) -> bool:
    """Staff holding one of ``roles`` — never a member of the beneficiary unit."""
    return _active(user) and has_role(user, *roles) and user.unit_id != transfer.beneficiary_id


def _staff_of(*roles):
    def permission(transfer, user) -> bool:
        return _staff(transfer, user, roles)

    permission.__name__ = "staff:" + ",".join(roles)
    return permission


VERIFIERS = (Role.EVALUATOR, Role.LEGAL)  # the technical report ∥ the legal report

by_verifier = _staff_of(*VERIFIERS)
by_legal = _staff_of(Role.LEGAL)
by_evaluator = _staff_of(Role.EVALUATOR)
by_finance = _staff_of(Role.FINANCE)


def chain_roles(transfer) -> set[str]:
    """The roles of the steps of the transfer's approval chain (its policy version)."""
    from .flow import chain_steps

    if transfer.policy_id is None:
        return set()
    return {s.role for s in chain_steps(transfer)}


def by_chain(transfer, user) -> bool:
    """Approve: staff holding the role of a step of the case's approval chain (its policy version)."""
    roles = chain_roles(transfer)
    return bool(roles) and _staff(transfer, user, roles)


def by_reviewer(transfer, user) -> bool:
    """Reject: in verification, the technical or legal staff; in approval, the chain's roles."""
    if transfer.state == "in_approval":
        return by_chain(transfer, user)
    return by_verifier(transfer, user)


def by_beneficiary(transfer, user) -> bool:
    """A member of the beneficiary unit (its applicant role)."""
    return (
        _active(user)
        and has_role(user, Role.APPLICANT)
        and user.unit_id is not None
        and user.unit_id == transfer.beneficiary_id
    )


def by_receiver(transfer, user) -> bool:
    """Deliver / start the follow-up: in kind, the beneficiary accepting the delivery record; in
    money, finance confirming the payment."""
    if transfer.is_in_kind:
        return by_beneficiary(transfer, user)
    return by_finance(transfer, user)


def by_director(transfer, user) -> bool:
    """Annul: only the agency's highest authority (rule ``transfers.annul``)."""
    from cases.permissions import allowed

    return allowed(user, "transfers.annul", transfer)


def by_system(transfer, user) -> bool:
    """Lapse: only the system (expiry of an unanswered observation)."""
    return is_system_user(user)
