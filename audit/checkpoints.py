"""Signed checkpoints: periodic Ed25519 signatures over (entry count, head hash).

``sign_checkpoint`` (Celery beat every ``AUDIT_CHECKPOINT_MINUTES``, and ``manage.py audit_checkpoint``):

1. reads the committed head. On PostgreSQL it first takes the chain's advisory lock, which waits for
   any append in flight to commit; as chain order is commit order, every entry up to the head is then
   committed, so a checkpoint never covers an uncommitted entry. On SQLite a read outside a write
   transaction only sees committed rows and writers are serialised, so the same holds;
2. reads the earlier checkpoints from the table *and* from the files already published in
   ``AUDIT_CHECKPOINT_DIR``, and refuses (``TrailIntegrityError``, logged) when a published
   checkpoint is missing from the table or held there differently, or a checkpoint does not verify
   (forged or altered, two heads for one seq, a later one covering fewer entries) -- the table alone
   is what a database owner could rewrite;
3. skips when the newest checkpoint (of this key) already covers the head;
4. refuses when the head contradicts the newest earlier checkpoint, the trail is shorter than it, or
   the entries since it do not chain: it never signs a checkpoint that contradicts an earlier one;
5. signs and stores the checkpoint (a table as append-only as the entries) and, after commit, writes
   it with the public key to ``AUDIT_CHECKPOINT_DIR`` -- the folder to copy off the server.

No audit entry is written for a checkpoint (it would move the head on every run).
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import keys as audit_keys
from . import published as audit_published
from .chain import _HEAD_SQL, CHAIN_LOCK_KEY, utc_text
from .models import Checkpoint
from .verification import checkpoint_dict, stored_checkpoints, verify_segment
from .verifier import (
    CHECKPOINT_PREAMBLE,
    check_checkpoints,
    checkpoint_message,
    load_public_key,
    public_key_pem,
)

logger = logging.getLogger(__name__)

SIGNER_LOCK_KEY = CHAIN_LOCK_KEY + 1


class TrailIntegrityError(Exception):
    """The stored trail contradicts a signed checkpoint or does not chain: nothing was signed."""


def committed_head() -> tuple[int, str] | None:
    """``(seq, hash)`` of the newest committed entry (see the module docstring for why it is safe)."""
    if connection.vendor == "postgresql":
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            cursor.execute(_HEAD_SQL)
            return cursor.fetchone()
    with connection.cursor() as cursor:
        cursor.execute(_HEAD_SQL)
        return cursor.fetchone()


def _newest() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-seq", "-signed_at", "-pk").first()


def _earlier_checkpoints(trusted: dict) -> list[dict]:
    """Every checkpoint signed so far, from the table and from the published files, after checking
    that they agree; raises ``TrailIntegrityError`` naming the first contradiction."""
    stored = stored_checkpoints()
    published = audit_published.read_published()
    earlier = audit_published.merge(stored, published.checkpoints)
    errors, _good = check_checkpoints(earlier, trusted)
    # A checkpoint of a key this process does not trust (e.g. retired by a rotation and not listed
    # in AUDIT_PUBLIC_KEYS) cannot be checked here; ``audit_verify`` reports it. Anything else is a
    # forged or altered checkpoint, a fork or a rollback: never sign on top of that. Then every
    # published checkpoint must be in the table as it was published.
    problems = [(seq, 0, why) for seq, (code, why) in errors.items() if code != "checkpoint_unknown_key"]
    problems += [
        (p.seq, 1, p.reason)
        for p in published.problems + audit_published.compare_with_table(published.checkpoints, stored)
    ]
    if problems:
        raise TrailIntegrityError(f"refusing to sign: {min(problems)[2]}")
    return earlier


def _check_continuity(previous: dict | None, seq: int, head: str) -> None:
    if previous is not None and previous["seq"] > seq:
        raise TrailIntegrityError(
            f"refusing to sign: the trail ends at entry {seq} but checkpoint {previous['seq']} (signed at "
            f"{previous['signed_at']}) covers {previous['seq']} entries: entries were removed"
        )
    lo = previous["seq"] if previous is not None else 1
    problem = verify_segment(lo, seq, anchor_hash=previous["head"] if previous else None, head_hash=head)
    if problem:
        where = (
            f" (since checkpoint {previous['seq']}, signed at {previous['signed_at']})" if previous else ""
        )
        raise TrailIntegrityError(f"refusing to sign: {problem}{where}")


def sign_checkpoint(*, now=None) -> Checkpoint | None:
    """Sign the committed head if it is not covered yet; returns the new checkpoint (or ``None``).

    Raises ``TrailIntegrityError`` (and logs it) instead of signing anything that would contradict
    an earlier checkpoint, stored or published."""
    try:
        return _sign(now)
    except TrailIntegrityError as exc:
        logger.error("audit checkpoint NOT signed: %s", exc)
        raise


def _sign(now) -> Checkpoint | None:
    key = audit_keys.signing_key()
    public = key.public_key()
    kid = audit_keys.key_id(public)
    trusted = dict(audit_keys.trusted_public_keys())
    trusted.setdefault(kid, public)
    for _attempt in range(3):
        # Earlier checkpoints first, then the head: each of them covers a head committed before it was
        # signed, so a concurrent signer cannot make the trail look shorter than a checkpoint.
        newest_row = _newest()
        earlier = _earlier_checkpoints(trusted)
        head = committed_head()
        if head is None:
            if earlier:
                latest = max(earlier, key=lambda c: (c["seq"], c["signed_at"]))
                raise TrailIntegrityError(
                    f"refusing to sign: the trail is empty but checkpoint {latest['seq']} (signed at "
                    f"{latest['signed_at']}) was signed: entries were removed"
                )
            return None
        seq, head_hash = head
        previous = max(earlier, key=lambda c: (c["seq"], c["signed_at"]), default=None)
        if previous is not None and previous["seq"] == seq:
            if previous["head"] != head_hash:
                raise TrailIntegrityError(
                    f"refusing to sign: entry {seq} differs from the head signed in checkpoint {seq} "
                    f"(signed at {previous['signed_at']})"
                )
            if any(cp["seq"] == seq and cp["key_id"] == kid for cp in earlier):
                ensure_files()
                return None  # nothing changed since the last checkpoint
        _check_continuity(previous, seq, head_hash)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SIGNER_LOCK_KEY])
            newest = _newest()
            if (newest.pk if newest else None) != (newest_row.pk if newest_row else None):
                if newest is not None and newest.seq >= seq:
                    return None  # another signer covered this head meanwhile
                continue  # another signer moved on: verify again from its checkpoint
            signed_at = now or timezone.now()
            payload = {
                "seq": seq,
                "head": head_hash,
                "signed_at": utc_text(signed_at),
                "key_id": kid,
                "origin": settings.AUDIT_ORIGIN,
            }
            signature = base64.b64encode(key.sign(checkpoint_message(payload))).decode("ascii")
            checkpoint = Checkpoint(
                seq=seq,
                head=head_hash,
                signed_at=signed_at,
                origin=settings.AUDIT_ORIGIN,
                key_id=kid,
                public_key=audit_keys.public_key_b64(public),
                signature=signature,
            )
            checkpoint.save()
            transaction.on_commit(functools.partial(_write_file_logged, checkpoint))
        logger.info("audit checkpoint signed: %s entries, head %s, key %s", seq, head_hash, kid)
        return checkpoint
    raise TrailIntegrityError("could not sign: concurrent signers kept moving the newest checkpoint")


# --- Files to copy off the server -------------------------------------------------------------------


def checkpoint_file_name(cp: Checkpoint) -> str:
    return f"checkpoint-{cp.seq:012d}-{cp.key_id}.json"


def checkpoint_document(cp: Checkpoint) -> dict:
    """What is published for one checkpoint (API item and file), public key included."""
    doc = checkpoint_dict(cp)
    doc["format"] = CHECKPOINT_PREAMBLE.decode("ascii").strip()
    try:
        doc["public_key_pem"] = public_key_pem(load_public_key(cp.public_key.encode("ascii")))
    except ValueError:
        doc["public_key_pem"] = ""
    return doc


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_file(cp: Checkpoint, directory: str | None = None) -> Path:
    folder = Path(directory or settings.AUDIT_CHECKPOINT_DIR)
    doc = checkpoint_document(cp)
    path = folder / checkpoint_file_name(cp)
    _atomic_write(path, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    if doc["public_key_pem"]:
        key_path = folder / "public-keys" / f"{cp.key_id}.pem"
        if not key_path.exists():
            _atomic_write(key_path, doc["public_key_pem"].encode("ascii"))
    return path


def _write_file_logged(cp: Checkpoint) -> None:
    try:
        write_file(cp)
    except OSError:
        logger.exception("could not write audit checkpoint %s to %s", cp.seq, settings.AUDIT_CHECKPOINT_DIR)


def ensure_files(*, everything: bool = False, directory: str | None = None) -> int:
    """Write checkpoint files that are missing (the newest only, unless ``everything``)."""
    folder = Path(directory or settings.AUDIT_CHECKPOINT_DIR)
    queryset = Checkpoint.objects.order_by("-seq", "-signed_at")
    written = 0
    for cp in queryset.iterator() if everything else queryset[:1]:
        if everything or not (folder / checkpoint_file_name(cp)).exists():
            try:
                write_file(cp, directory)
                written += 1
            except OSError:
                logger.exception("could not write audit checkpoint %s", cp.seq)
    return written
