"""Verification and export of the trail stored in the database (``audit_verify``, the API, the pages).

Rows are streamed in ``seq`` order (a server-side cursor on PostgreSQL), re-hashed with the format of
``audit.verifier`` and checked against every signed checkpoint, exactly as the stand-alone verifier
checks an export. The checkpoints are those of the database's table *and* those published in
``AUDIT_CHECKPOINT_DIR`` (plus any copies the caller names, ``audit_verify --checkpoints``): a
database owner can delete or replace rows of the table, not what was published, so a published
checkpoint missing from the table or held there differently is itself reported (``audit.published``).

Large trails are split into ``seq`` ranges verified by forked worker processes (each with its own
connection); the links between ranges are checked when the results are joined.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import multiprocessing
import threading
from hashlib import sha256
from typing import BinaryIO

from django.db import connection, connections
from django.db.models import Count, Max, Min

from . import keys as audit_keys
from . import published as audit_published
from .chain import STORED_COLUMNS, utc_text
from .models import AuditEntry, Checkpoint
from .verifier import (
    FORMAT_VERSION,
    PREAMBLE,
    STAGE_FORMAT,
    STAGE_HASH,
    STAGE_LINK,
    STAGE_SEQ,
    ChunkResult,
    Result,
    canonical_json_fast,
    conclude,
    export_line,
    stitch,
)

logger = logging.getLogger(__name__)

COLUMNS = STORED_COLUMNS  # the row as the chain stores it (one definition, in audit.chain)
PARALLEL_MIN_ENTRIES = 50_000
FETCH_CHUNK = 5_000


def checkpoint_dict(cp: Checkpoint) -> dict:
    return {
        "seq": cp.seq,
        "head": cp.head,
        "signed_at": utc_text(cp.signed_at),
        "key_id": cp.key_id,
        "origin": cp.origin,
        "signature": cp.signature,
        "public_key": cp.public_key,
    }


def stored_checkpoints() -> list[dict]:
    return [checkpoint_dict(cp) for cp in Checkpoint.objects.order_by("seq", "signed_at")]


def scan_range(
    lo: int, hi: int, wanted: frozenset = frozenset(), export: BinaryIO | None = None
) -> ChunkResult:
    """Check the stored entries ``lo <= seq <= hi`` (in seq order); optionally write them as export
    lines. Stops at the first problem, which it reports with the same codes as the file verifier."""
    res = ChunkResult()
    index, expected, last, before_last = 0, 0, "", ""
    rows = (
        AuditEntry.objects.filter(seq__gte=lo, seq__lte=hi)
        .order_by("seq")
        .values_list(*COLUMNS)
        .iterator(chunk_size=FETCH_CHUNK)
    )
    for (
        seq,
        version,
        at,
        actor,
        actor_label,
        action,
        stype,
        sid,
        slabel,
        case,
        data,
        rid,
        ip,
        prev,
        stored,
    ) in rows:
        body = canonical_json_fast(
            {
                "seq": seq,
                "at": utc_text(at),
                "actor": actor,
                "actor_label": actor_label,
                "action": action,
                "subject_type": stype,
                "subject_id": sid,
                "subject_label": slabel,
                "case": case,
                "data": data,
                "request_id": rid,
                "ip": ip,
            }
        )
        if export is not None:
            export.write(export_line(body, prev, stored, version))
        if res.error is not None:
            continue  # keep exporting everything, report the first problem only
        res.head_hash = stored
        if version != FORMAT_VERSION:
            res.error = (index, STAGE_FORMAT, "version", version)
            continue
        if index == 0:
            res.first_seq, res.first_prev, expected = seq, prev, seq
        elif seq != expected:
            res.error = (index, STAGE_SEQ, "seq", seq)
            continue
        elif prev != last:
            inserted = prev == (before_last if index > 1 else res.first_prev)
            res.error = (
                (index - 1, STAGE_LINK, "inserted", None) if inserted else (index, STAGE_LINK, "link", None)
            )
            continue
        if sha256(PREAMBLE + prev.encode("utf-8") + b"\n" + body).hexdigest() != stored:
            res.error = (index, STAGE_HASH, "hash", None)
            continue
        if seq in wanted:
            res.heads[seq] = stored
        before_last = prev if index == 0 else last
        last = stored
        index += 1
        expected += 1
    res.lines = index
    res.last_hash = last
    res.before_last = before_last
    return res


def _split(lo: int, hi: int, parts: int) -> list[tuple[int, int]]:
    size = hi - lo + 1
    bounds = [lo + size * i // parts for i in range(parts)] + [hi + 1]
    return [(a, b - 1) for a, b in itertools.pairwise(bounds) if b > a]


def _can_fork() -> bool:
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() != 1:
        return False
    if connection.in_atomic_block:
        return False  # the caller's transaction (e.g. a test) must not be closed under it
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict.get("NAME") or "")
        return bool(name) and "memory" not in name and not name.startswith("file:")
    return True


def _scan_in_child(lo: int, hi: int, wanted: frozenset) -> ChunkResult:
    try:
        return scan_range(lo, hi, wanted)
    finally:
        connections.close_all()


def verify_database(
    *,
    workers: int = 1,
    export: BinaryIO | None = None,
    public_keys: dict | None = None,
    published: audit_published.Published | None = None,
) -> Result:
    """Recompute the whole stored chain and check it against every checkpoint, stored or published.

    ``public_keys`` (``{key_id: key}``) defaults to ``audit.keys.trusted_public_keys()``; ``published``
    to the checkpoints of ``AUDIT_CHECKPOINT_DIR`` (``audit.published.read_published()``).
    """
    from concurrent.futures import ProcessPoolExecutor

    stats = AuditEntry.objects.aggregate(lo=Min("seq"), hi=Max("seq"), n=Count("seq"))
    stored = stored_checkpoints()
    published = audit_published.read_published() if published is None else published
    checkpoints = audit_published.merge(stored, published.checkpoints)
    keys = audit_keys.trusted_public_keys() if public_keys is None else public_keys
    wanted = frozenset(cp["seq"] for cp in checkpoints if isinstance(cp, dict) and type(cp.get("seq")) is int)
    lo, hi, total = stats["lo"], stats["hi"], stats["n"]
    if not total:
        chunks: list[ChunkResult] = []
    elif export is None and workers > 1 and total >= PARALLEL_MIN_ENTRIES and _can_fork():
        ranges = _split(lo, hi, workers)
        connections.close_all()
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=len(ranges), mp_context=context) as pool:
            futures = [pool.submit(_scan_in_child, a, b, wanted) for a, b in ranges]
            chunks = [f.result() for f in futures]
    else:
        chunks = [scan_range(lo, hi, wanted, export=export)]
    head = AuditEntry.objects.filter(seq=hi).values_list("hash", flat=True).first() if total else ""
    result = conclude(stitch(chunks), checkpoints, keys, total_entries=total, head=head or "")
    problems = published.problems + audit_published.compare_with_table(published.checkpoints, stored)
    return _with_published(result, problems, stored=stored, published=published)


def _with_published(
    result: Result, problems: list[audit_published.Problem], *, stored: list[dict], published
) -> Result:
    """Add what the comparison of the table with the published checkpoints found. A problem of the
    chain at the same seq is named first (it says more: e.g. the rewrite a missing row hid)."""
    warnings = list(result.warnings)
    if stored and not published.checkpoints:
        warnings.append(
            "no published checkpoint was found (AUDIT_CHECKPOINT_DIR is empty and no copy was given): "
            "only the database's own checkpoint table was checked"
        )
    first = result.first_error
    candidates = [(p.seq, 1, p.code, p.reason) for p in problems]
    if first is not None:
        candidates.append((first["seq"], 0, first["code"], first["reason"]))
    if candidates:
        seq, _order, code, reason = min(candidates)
        first = {"seq": seq, "reason": reason, "code": code}
    return dataclasses.replace(result, valid=first is None, first_error=first, warnings=warnings)


def verify_segment(lo: int, hi: int, *, anchor_hash: str | None, head_hash: str) -> str | None:
    """Check that entries ``lo..hi`` chain correctly, that entry ``lo`` has ``anchor_hash`` (the head
    of the previous checkpoint; ``None``: ``lo`` is 1 and links to the genesis) and entry ``hi`` has
    ``head_hash``. Returns a problem description, or ``None`` when the segment is sound."""
    from .verifier import GENESIS_HASH, describe

    chunk = scan_range(lo, hi, frozenset({lo}))
    if chunk.error is not None:
        index, _stage, code, found = chunk.error
        return describe(code, lo + index, found)
    if chunk.first_seq != lo:
        return describe("seq", lo, chunk.first_seq)
    if anchor_hash is None and chunk.first_prev != GENESIS_HASH:
        return describe("link", lo)
    if anchor_hash is not None and chunk.heads.get(lo) != anchor_hash:
        return f"entry {lo} differs from the previous checkpoint's head"
    if chunk.lines != hi - lo + 1:
        return f"entry {lo + chunk.lines} is missing"
    if chunk.last_hash != head_hash:
        return f"entry {hi} changed while it was being verified"
    return None


def missing_trigger_names() -> list[str]:
    from .db import missing_triggers

    try:
        return missing_triggers(connection)
    except Exception:  # pragma: no cover - introspection problems must not hide the result
        logger.exception("could not check the audit triggers")
        return []


def verify_and_describe(
    *, workers: int = 1, export: BinaryIO | None = None, published: audit_published.Published | None = None
) -> dict:
    """The result as the API and pages show it (``first_error`` also carries a stable ``code``).

    ``published``: the published checkpoints to compare (default: those of ``AUDIT_CHECKPOINT_DIR``;
    ``audit.published.read_published(sources)`` adds copies kept elsewhere).
    """
    published = audit_published.read_published() if published is None else published
    result = verify_database(workers=workers, export=export, published=published)
    payload = result.as_dict()
    payload["published_checkpoints"] = len(published.checkpoints)
    missing = missing_trigger_names()
    payload["missing_triggers"] = missing
    payload["warnings"] = list(result.warnings) + [
        f"protection trigger missing or disabled: {n}" for n in missing
    ]
    return payload


def export_to(path: str) -> Result:
    with open(path, "wb") as fh:
        return verify_database(export=fh)
