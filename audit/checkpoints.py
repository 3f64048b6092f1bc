"""Signed checkpoints: periodic Ed25519 signatures over (entry count, head hash).

``sign_checkpoint`` (Celery beat every ``AUDIT_CHECKPOINT_MINUTES``, and ``manage.py audit_checkpoint``):

1. reads the committed head. On PostgreSQL it first takes the chain's advisory lock, which waits for
   any append in flight to commit; as chain order is commit order, every entry up to the head is then
   committed, so a checkpoint never covers an uncommitted entry. On SQLite a read outside a write
   transaction only sees committed rows and writers are serialised, so the same holds;
2. skips when the newest checkpoint (of this key) already covers the head;
3. refuses (``TrailIntegrityError``) when the head contradicts the newest checkpoint or the entries
   since it do not chain: it never signs a checkpoint that contradicts an earlier one;
4. signs and stores the checkpoint (a table as append-only as the entries) and, after commit, writes
   it with the public key to ``AUDIT_CHECKPOINT_DIR`` -- the folder to copy off the server.

No audit entry is written for a checkpoint (it would move the head on every run).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from . import keys as audit_keys
from .chain import _HEAD_SQL, CHAIN_LOCK_KEY, utc_text
from .models import Checkpoint
from .verification import checkpoint_dict, verify_segment
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


def _check_continuity(previous: Checkpoint | None, seq: int, head: str, trusted: dict) -> None:
    if previous is not None:
        errors, _good = check_checkpoints([checkpoint_dict(previous)], trusted)
        if previous.key_id in trusted and errors:
            raise TrailIntegrityError(f"the newest checkpoint does not verify: {errors[previous.seq][1]}")
        if previous.seq > seq:
            raise TrailIntegrityError(
                f"the trail ends at entry {seq} but checkpoint {previous.seq} was signed: "
                "entries were removed"
            )
    lo = previous.seq if previous is not None else 1
    problem = verify_segment(lo, seq, anchor_hash=previous.head if previous else None, head_hash=head)
    if problem:
        raise TrailIntegrityError(f"refusing to sign: {problem}")


def sign_checkpoint(*, now=None) -> Checkpoint | None:
    """Sign the committed head if it is not covered yet; returns the new checkpoint (or ``None``)."""
    key = audit_keys.signing_key()
    public = key.public_key()
    kid = audit_keys.key_id(public)
    trusted = dict(audit_keys.trusted_public_keys())
    trusted.setdefault(kid, public)
    for _attempt in range(3):
        head = committed_head()
        if head is None:
            return None
        seq, head_hash = head
        previous = _newest()
        if previous is not None and previous.seq == seq:
            if previous.head != head_hash:
                raise TrailIntegrityError(f"entry {seq} differs from the head signed in checkpoint {seq}")
            if Checkpoint.objects.filter(seq=seq, key_id=kid).exists():
                ensure_files()
                return None  # nothing changed since the last checkpoint
        _check_continuity(previous, seq, head_hash, trusted)
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SIGNER_LOCK_KEY])
            newest = _newest()
            if (newest.pk if newest else None) != (previous.pk if previous else None):
                if newest.seq >= seq:
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
            transaction.on_commit(lambda cp=checkpoint: _write_file_logged(cp))
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
