"""Conditions and permissions of the compensation FSMs (``models.AGREEMENT_GUARDS``,
``models.SETTLEMENT_GUARDS``): plain functions of the row (conditions) and of the row and the acting
user (permissions), so the FSM is the law whoever fires a transition."""

from __future__ import annotations

from cases.roles import Role, has_role, is_system_user


def _staff(user, role: str, unit_id) -> bool:
    """``role`` held by someone who is not a member of the dairy company."""
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and has_role(user, role)
        and not (unit_id and getattr(user, "unit_id", None) == unit_id)
    )


def is_member_of(unit_id, user) -> bool:
    """An applicant member of the dairy company."""
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and has_role(user, Role.APPLICANT)
        and bool(unit_id)
        and user.unit_id == unit_id
    )


# --- agreement ------------------------------------------------------------------------------------


def ceiling_reserved(agreement) -> bool:
    return agreement.certified_at is not None


def resolution_recorded(agreement) -> bool:
    return bool(agreement.resolution_number.strip())


def rejection_reason_given(row) -> bool:
    return bool(row.rejection_reason.strip())


def nothing_open(agreement) -> bool:
    """No settlement of the agreement is still declared or verified (waiting for money)."""
    from .models import SettlementState

    return not agreement.settlements.filter(
        state__in=(SettlementState.DECLARED, SettlementState.VERIFIED)
    ).exists()


def by_finance(agreement, user) -> bool:
    return _staff(user, Role.FINANCE, agreement.unit_id)


def by_director(agreement, user) -> bool:
    return _staff(user, Role.DIRECTOR, agreement.unit_id)


def by_finance_or_director(agreement, user) -> bool:
    return by_finance(agreement, user) or by_director(agreement, user)


def by_director_or_system(agreement, user) -> bool:
    return by_director(agreement, user) or is_system_user(user)


# --- settlement -----------------------------------------------------------------------------------


def amount_positive(settlement) -> bool:
    return settlement.amount is not None and settlement.amount > 0


def payment_recorded(settlement) -> bool:
    return bool(settlement.payment_reference) and settlement.paid_on is not None


def by_verifier(settlement, user) -> bool:
    """PROLECHE technical staff (evaluator role), never a member of the dairy company."""
    return _staff(user, Role.EVALUATOR, settlement.agreement.unit_id)


def by_payer(settlement, user) -> bool:
    return _staff(user, Role.FINANCE, settlement.agreement.unit_id)
