"""Periodic jobs of the registry (Celery; run in-process when no broker is configured)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task


@shared_task(name="registry.expire_registrations")
def expire_registrations(on: str | None = None) -> int:
    """Record the registrations that lapsed before ``on`` (ISO date; default today in La Paz).

    Scheduled daily by ``CELERY_BEAT_SCHEDULE``; acts as the system user. Returns how many units
    were newly recorded.
    """
    from cases.users import system_user

    from .lapses import record_lapsed_registrations

    day = dt.date.fromisoformat(on) if on else None
    return len(record_lapsed_registrations(actor=system_user(), on=day))
