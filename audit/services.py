"""Actions of internal control on the trail. Reading the trail writes nothing, but verifying and
exporting it are themselves recorded (who, when, what was found or taken)."""

from __future__ import annotations

from cases.permissions import require

from .actions import AuditAction
from .chain import record
from .selectors import TrailFilters
from .verification import verify_and_describe


def verify_trail(*, actor) -> dict:
    """Recompute the chain and check every checkpoint now; record who did it and the outcome."""
    require(actor, "audit.view_trail")
    result = verify_and_describe(workers=1)
    record(
        AuditAction.TRAIL_VERIFIED,
        actor=actor,
        data={
            "valid": result["valid"],
            "entries": result["entries"],
            "head": result["head"],
            "first_error": result["first_error"],
            "published_checkpoints": result["published_checkpoints"],
        },
    )
    return result


def record_export(*, actor, fmt: str, filters: TrailFilters) -> None:
    """Record that ``actor`` takes a copy of (part of) the trail, before it is sent."""
    require(actor, "audit.view_trail")
    record(AuditAction.TRAIL_EXPORTED, actor=actor, data={"format": fmt, "filters": filters.as_data()})
