"""Reads of the delegation pages (``approvals.delegation_views``)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Delegation


def delegation_list_given(user) -> QuerySet:
    """Delegations of ``user``'s own inbox, newest first."""
    return Delegation.objects.filter(delegator=user).select_related("delegate").order_by("-starts_on", "-pk")


def delegation_list_received(user) -> QuerySet:
    """Delegations by which ``user`` holds (or held, or will hold) a colleague's inbox."""
    return Delegation.objects.filter(delegate=user).select_related("delegator").order_by("-starts_on", "-pk")


def delegation_list_all() -> QuerySet:
    """Every delegation (administrators)."""
    return Delegation.objects.select_related("delegator", "delegate").order_by("-starts_on", "-pk")
