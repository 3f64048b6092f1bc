"""Published checkpoints read back: the files in ``AUDIT_CHECKPOINT_DIR`` (and copies of them kept
elsewhere, e.g. internal control's off-server copy given to ``audit_verify --checkpoints``), and their
comparison with the database's own checkpoint table.

The table alone cannot be trusted against the database's owner: someone who lifted the triggers can
rewrite and re-hash the chain and delete (or replace) the checkpoint rows that would contradict it.
What has been published cannot be taken back that way, so the signer (``audit.checkpoints``) and the
verification of the stored trail (``audit.verification``) treat every published checkpoint as one of
theirs, and also require each of them to be in the table unchanged. Files are read with the
stand-alone verifier's reader (``audit.verifier.read_checkpoints``), so a folder means the same here as
for an outside auditor.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from .verifier import CHECKPOINT_FIELDS, read_checkpoints

_FILE_SEQ = re.compile(r"checkpoint-0*(\d+)-")


@dataclass(frozen=True)
class Problem:
    """A published checkpoint that the database contradicts (or a published file that is damaged)."""

    seq: int
    code: str
    reason: str


@dataclass
class Published:
    checkpoints: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # damaged files of the checkpoint folder
    folder_files: int = 0  # checkpoint files found in AUDIT_CHECKPOINT_DIR


def identity(cp: dict) -> tuple:
    """What makes two checkpoint documents the same checkpoint (extra fields such as the embedded
    public key do not count)."""
    return tuple(cp.get(name) for name in CHECKPOINT_FIELDS)


def _seq_from_name(name: str) -> int:
    match = _FILE_SEQ.match(name)
    return max(1, int(match.group(1))) if match else 1


def read_folder(folder: str | Path) -> Published:
    """Every ``*.json`` of the server's checkpoint folder (missing folder: nothing published yet). A
    file that cannot be read as checkpoints is a problem of the result, not an exception: the folder
    is written only by the signer, atomically, so a damaged file is itself a finding."""
    path = Path(folder)
    out = Published()
    if not path.is_dir():
        return out
    for file in sorted(path.glob("*.json")):
        out.folder_files += 1
        try:
            out.checkpoints.extend(read_checkpoints(str(file)))
        except (OSError, ValueError) as exc:
            out.problems.append(
                Problem(
                    _seq_from_name(file.name),
                    "checkpoint_malformed",
                    f"the published checkpoint file {file.name} cannot be read ({exc})",
                )
            )
    return out


def read_published(sources: Sequence[str] = (), *, folder: str | None = None) -> Published:
    """The checkpoints published in ``folder`` (default ``AUDIT_CHECKPOINT_DIR``) plus those of
    ``sources`` (files or folders, as the stand-alone verifier's ``--checkpoints``). A source that
    cannot be read raises ``OSError``/``ValueError`` (it was named by the caller: a usage error)."""
    out = read_folder(settings.AUDIT_CHECKPOINT_DIR if folder is None else folder)
    for source in sources:
        if not Path(source).exists():
            raise FileNotFoundError(f"no such checkpoint file or folder: {source}")
        out.checkpoints.extend(read_checkpoints(source))
    out.checkpoints = merge(out.checkpoints)
    return out


def merge(*lists: Iterable[dict]) -> list[dict]:
    """One list of checkpoints without repeats (the first copy of each is kept)."""
    seen: set = set()
    out: list[dict] = []
    for items in lists:
        for cp in items:
            key = identity(cp) if isinstance(cp, dict) else ("?", repr(cp))
            try:
                hash(key)
            except TypeError:  # a malformed document (a list where a string belongs...): keep it
                out.append(cp)
                continue
            if key not in seen:
                seen.add(key)
                out.append(cp)
    return out


def _well_formed(cp) -> bool:
    return (
        isinstance(cp, dict)
        and type(cp.get("seq")) is int
        and all(isinstance(cp.get(name), str) for name in CHECKPOINT_FIELDS if name != "seq")
    )


def compare_with_table(published: Iterable[dict], stored: Sequence[dict]) -> list[Problem]:
    """Published checkpoints that are missing from the table, or that the table holds differently.

    Checkpoints are identified by ``(seq, key_id)`` (unique in the table). A checkpoint in the table
    but not (yet) published is not a problem: its file is written after the commit, and copies kept
    elsewhere lag behind. Malformed documents are left to ``check_checkpoints``.
    """
    by_id = {(cp["seq"], cp["key_id"]): cp for cp in stored}
    problems = []
    for cp in published:
        if not _well_formed(cp):
            continue
        row = by_id.get((cp["seq"], cp["key_id"]))
        if row is None:
            problems.append(
                Problem(
                    cp["seq"],
                    "checkpoint_missing",
                    f"the published checkpoint at seq {cp['seq']} (key {cp['key_id']}, signed at "
                    f"{cp['signed_at']}) is missing from the database's checkpoint table: the table was "
                    "altered",
                )
            )
        elif identity(row) != identity(cp):
            problems.append(
                Problem(
                    cp["seq"],
                    "checkpoint_replaced",
                    f"the database's checkpoint at seq {cp['seq']} (key {cp['key_id']}) differs from the "
                    f"one published (signed at {cp['signed_at']}): the table was altered",
                )
            )
    return problems
