"""The ledger check of the budget-execution report, kept for closed fiscal years.

The report says whether every line's recorded figures equal the sums of its movements
(``ledger_reconciles``). Summing a year's ledger reads every movement of the year (800,000 at
100,000 cases); a closed year's ledger rarely changes, so its sums are kept per line in
``reports.LedgerSnapshot`` with the version of the line's ledger stamp they were computed at.

How a snapshot can never be stale: ``budget.LedgerStamp`` is bumped by database triggers in the same
transaction as every insert, update or delete of one of the line's movements (a late correction, a
refund recorded into a closed year, a data migration, raw SQL), so a snapshot whose version equals the
line's stamp, read in the same statement, sums exactly the movements the line has now. The lines'
recorded figures are always read live and compared with the snapshot, so a figure changed behind the
services' back still shows as a mismatch. A snapshot is written with the version read in the same
statement as its sums (``budget.selectors.line_ledgers``), and nothing in memory is shared: every
process (web workers, Celery workers, commands) reads the same rows. The year in progress is always
summed afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone

from budget.models import LINE_FIGURES
from budget.selectors import LineLedger, line_ledgers

from .models import LedgerSnapshot

logger = logging.getLogger(__name__)

# What the lines query of the report reads besides its own fields, when the year is kept.
SNAPSHOT_FIELDS = (
    "ledger_stamp__version",
    "report_snapshot__version",
    *(f"report_snapshot__{figure}" for figure in LINE_FIGURES),
)


def _fresh(line: Mapping[str, Any]) -> bool:
    version = line["ledger_stamp__version"]
    return version is not None and line["report_snapshot__version"] == version


def reconciles(lines: Iterable[Mapping[str, Any]], *, keep: bool) -> bool:
    """Whether every line's recorded figures (``LINE_FIGURES`` of each row, with its ``pk``) equal the
    sums of its movements.

    ``keep`` (a closed year; the rows carry ``SNAPSHOT_FIELDS``): lines with a fresh snapshot are
    checked against it, with no read of the ledger; the others are summed in one query and their
    snapshots written. Without ``keep``, every line is summed (one query)."""
    stale: list[int] = []
    ok = True
    for line in lines:
        if keep and _fresh(line):
            ok = ok and all(line[f] == line[f"report_snapshot__{f}"] for f in LINE_FIGURES)
        else:
            stale.append(line["pk"])
    if not stale:
        return ok
    ledgers = line_ledgers(stale)
    if keep:
        _keep(ledgers)
    return ok and not any(ledger.mismatches for ledger in ledgers.values())


def _keep(ledgers: Mapping[int, LineLedger]) -> None:
    """Write (or overwrite) the snapshots of these lines, with the stamp version read beside the sums.

    A cache write: if it fails (e.g. a database that is read-only for this connection), the report is
    still right, only computed again next time."""
    now = timezone.now()
    rows = [
        LedgerSnapshot(line_id=pk, version=ledger.version, computed_at=now, **ledger.movements)
        for pk, ledger in ledgers.items()
        if ledger.version is not None
    ]
    if not rows:
        return
    try:
        with transaction.atomic():
            LedgerSnapshot.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["line"],
                update_fields=["version", *LINE_FIGURES, "computed_at"],
            )
    except DatabaseError:
        logger.warning("ledger snapshots not written; the report will sum the ledger again", exc_info=True)
