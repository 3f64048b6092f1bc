"""Service: record in the audit trail the productive units whose registration has lapsed.

A unit's registration (registro y acreditación) is valid up to ``registration_valid_until``; from the
next day the unit may not submit new cases until it renews. The daily job
``registry.tasks.expire_registrations`` calls :func:`record_lapsed_registrations` as the system user,
so each lapse is written once, with who detected it and when, and internal control can see which
units were out of registration on any day.

The audit trail itself is the record of which lapses were already reported (one entry per unit and
``valid_until``): a renewal followed by a new lapse is reported again, a re-run of the job is not.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

import audit
from audit.actions import AuditAction
from audit.models import AuditEntry
from cases.clock import today
from cases.permissions import require, rule
from cases.roles import is_admin, is_system_user

from .models import Unit

PERMISSION = "registry.record_lapsed_registrations"


@rule(PERMISSION)
def can_record_lapsed_registrations(user, obj=None) -> bool:
    """The periodic job (system user) and administrators running it by hand."""
    return is_system_user(user) or is_admin(user)


@transaction.atomic
def record_lapsed_registrations(*, actor, on: dt.date | None = None) -> list[Unit]:
    """Write one ``unit.registration_lapsed`` entry per unit whose registration ended before ``on``
    (default: today in La Paz) and has not been reported for that end date yet. Returns those units."""
    require(actor, PERMISSION)
    on = on or today()
    lapsed = list(
        Unit.objects.select_for_update()
        .select_related("department")
        .filter(registration_valid_until__lt=on)
        .order_by("pk")
    )
    if not lapsed:
        return []
    reported = set(
        AuditEntry.objects.filter(
            action=AuditAction.UNIT_REGISTRATION_LAPSED,
            subject_type=Unit._meta.label_lower,
            subject_id__in=[str(unit.pk) for unit in lapsed],
        ).values_list("subject_id", "data__valid_until")
    )
    recorded = []
    for unit in lapsed:
        if (str(unit.pk), unit.registration_valid_until.isoformat()) in reported:
            continue
        audit.record(
            AuditAction.UNIT_REGISTRATION_LAPSED,
            actor=actor,
            subject=unit,
            data={
                "tax_id": unit.tax_id,
                "department": unit.department.code,
                "valid_until": unit.registration_valid_until,
                "detected_on": on,
            },
        )
        recorded.append(unit)
    return recorded
