"""Writes of the workflows layer that are not decisions: case codes."""

from django.db import transaction
from django.utils import timezone

from .models import CaseCounter


@transaction.atomic
def next_case_code(prefix: str) -> str:
    """``PREFIX-YYYY-NNNNNN``, gapless per prefix and year (the counter row is locked)."""
    year = timezone.localdate().year
    CaseCounter.objects.get_or_create(prefix=prefix, year=year)
    counter = CaseCounter.objects.select_for_update().get(prefix=prefix, year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{prefix}-{year}-{counter.last:06d}"
