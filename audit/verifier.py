#!/usr/bin/env python3
"""Stand-alone verifier of Expediente's audit trail (Python 3.11+ standard library + ``cryptography``).

This module is also the single definition of the trail's formats: the application imports it
(``audit.chain``, ``audit.checkpoints``, ``audit.verification``), so the application and an outside
auditor hash, export and check entries in exactly the same way.

Usage (an auditor's machine; no Django, no database)::

    python verifier.py EXPORT.jsonl --checkpoints CHECKPOINTS --public-key KEY.pem [--workers N] [--json]

``EXPORT.jsonl`` comes from ``python manage.py audit_verify --export FILE``; ``CHECKPOINTS`` is what the
auditor kept of the published checkpoints: the JSON of ``GET /api/v1/audit/checkpoints/`` (a list, or
pages with ``results``), a JSON Lines file, or a folder of ``checkpoint-*.json`` files copied from the
server's checkpoint folder; ``KEY.pem`` is the Ed25519 public key obtained from the agency through a
separate channel (or a folder of ``*.pem`` files for rotated keys). Exit status: 0 the export and every
checkpoint verify; 1 tampering detected (the first bad entry is named); 2 usage or input error.

Format v1
---------
Entry body: a JSON object with exactly the keys of ``BODY_FIELDS``. Its hash is::

    SHA-256( b"expediente-audit/v1\\n" + prev_hash (64 lowercase hex, ASCII) + b"\\n" + JCS(body) )

where JCS is RFC 8785 canonical JSON restricted to the values the trail allows: objects, arrays,
strings, integers within +/-(2**53 - 1), booleans and null -- never floats (amounts are decimal
strings). ``seq`` starts at 1 and has no gaps; the first entry's ``prev_hash`` is 64 zeros.

Export line (JSON Lines; each line is itself the JCS form of the record)::

    {"entry":<JCS(body)>,"hash":"<hex>","prev_hash":"<hex>","v":1}

Checkpoint: ``{"seq","head","signed_at","key_id","origin","signature"}``, an Ed25519 signature
(base64) over::

    b"expediente-audit-checkpoint/v1\\n" + JCS({"head","key_id","origin","seq","signed_at"})

It states that the chain's first ``seq`` entries end in the entry whose hash is ``head``. ``key_id`` is
the hex of the first 8 bytes of SHA-256 over the raw 32-byte public key.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess in the tests
    # Run as a script inside the application's audit/ folder: that folder must not shadow the
    # standard library (audit/selectors.py would hide ``selectors``).
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import base64
import binascii
import contextlib
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

FORMAT_VERSION = 1
PREAMBLE = b"expediente-audit/v1\n"
CHECKPOINT_PREAMBLE = b"expediente-audit-checkpoint/v1\n"
GENESIS_HASH = "0" * 64
BODY_FIELDS = (
    "seq",
    "at",
    "actor",
    "actor_label",
    "action",
    "subject_type",
    "subject_id",
    "subject_label",
    "case",
    "data",
    "request_id",
    "ip",
)
CHECKPOINT_FIELDS = ("seq", "head", "signed_at", "key_id", "origin", "signature")
EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2

MAX_SAFE_INT = 2**53 - 1
_BODY_KEYS = frozenset(BODY_FIELDS)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_LINE_HEAD = b'{"entry":'
_LINE_TAIL = re.compile(rb',"hash":"([0-9a-f]{64})","prev_hash":"([0-9a-f]{64})","v":(0|[1-9][0-9]{0,3})\}\Z')

# Stages of the per-entry checks, in the order a sequential verifier applies them.
STAGE_FORMAT, STAGE_SEQ, STAGE_LINK, STAGE_HASH = 0, 1, 2, 3


# --- Canonical JSON (RFC 8785 for the trail's float-free domain) ----------------------------------


def _canon(value, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise ValueError("integer outside the I-JSON safe range; store it as a string")
        out.append(str(value))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _canon(item, out)
        out.append("]")
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise TypeError("object keys must be strings")
        out.append("{")
        # RFC 8785 section 3.2.3: keys sorted by their UTF-16 code units.
        for i, key in enumerate(sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))):
            if i:
                out.append(",")
            out.append(json.dumps(key, ensure_ascii=False))
            out.append(":")
            _canon(value[key], out)
        out.append("}")
    else:
        raise TypeError(f"value of type {type(value).__name__} is not allowed in the audit trail")


def canonical_json(value) -> bytes:
    """RFC 8785 canonical JSON of ``value`` -- the reference implementation (no floats allowed)."""
    out: list[str] = []
    _canon(value, out)
    return "".join(out).encode("utf-8")


_fast_dumps = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False
).encode


def canonical_json_fast(value) -> bytes:
    """The same bytes as ``canonical_json`` for values already in the trail's domain (no floats,
    integers within +/-(2**53 - 1), string keys), several times faster.

    ``json`` escapes strings exactly as RFC 8785 does (``\\b \\t \\n \\f \\r``, other control characters
    as lowercase ``\\u00xx``, nothing else) and prints integers the same way; it sorts keys by code
    point, which equals RFC 8785's UTF-16 order unless a key holds a character beyond U+FFFF, so any
    such output is redone by the reference implementation.
    """
    text = _fast_dumps(value)
    if not text.isascii() and len(text.encode("utf-16-le", "surrogatepass")) != 2 * len(text):
        return canonical_json(value)
    return text.encode("utf-8")


def entry_hash_bytes(prev_hash: str, body_bytes: bytes) -> str:
    """The hex SHA-256 of an entry whose canonical body is ``body_bytes``, chained to ``prev_hash``."""
    return hashlib.sha256(PREAMBLE + prev_hash.encode("ascii") + b"\n" + body_bytes).hexdigest()


def entry_hash(prev_hash: str, body: dict) -> str:
    """The hex SHA-256 of one entry (its body as a dict) chained to ``prev_hash``."""
    return entry_hash_bytes(prev_hash, canonical_json_fast(body))


def export_line(body_bytes: bytes, prev_hash: str, hash_: str, version: int = FORMAT_VERSION) -> bytes:
    """One line of the JSON Lines export: ``{"entry":<body>,"hash":…,"prev_hash":…,"v":…}\\n``."""
    if _HEX64.fullmatch(hash_) and _HEX64.fullmatch(prev_hash):
        tail = f',"hash":"{hash_}","prev_hash":"{prev_hash}","v":{int(version)}}}\n'
    else:  # a damaged row: keep it valid JSON so the verifier can name it
        tail = f',"hash":{json.dumps(hash_)},"prev_hash":{json.dumps(prev_hash)},"v":{int(version)}}}\n'
    return _LINE_HEAD + body_bytes + tail.encode("ascii")


# --- Checkpoints ------------------------------------------------------------------------------------


def key_id_for(raw_public_key: bytes) -> str:
    """Key id: hex of the first 8 bytes of SHA-256 over the raw 32-byte Ed25519 public key."""
    return hashlib.sha256(raw_public_key).digest()[:8].hex()


def checkpoint_message(cp: dict) -> bytes:
    """The exact bytes an Ed25519 checkpoint signature covers."""
    signed = {
        "head": cp["head"],
        "key_id": cp["key_id"],
        "origin": cp["origin"],
        "seq": cp["seq"],
        "signed_at": cp["signed_at"],
    }
    return CHECKPOINT_PREAMBLE + canonical_json(signed)


def load_public_key(data: bytes):
    """An Ed25519 public key from PEM, or from the raw 32 bytes in base64 or hex text."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        key = load_pem_public_key(text)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    try:
        raw = (
            bytes.fromhex(text.decode("ascii")) if len(text) == 64 else base64.b64decode(text, validate=True)
        )
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("not a PEM, base64 or hex Ed25519 public key") from exc
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key has 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def raw_public_bytes(public_key) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def public_key_pem(public_key) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def keyring(public_keys: Iterable) -> dict:
    """``{key_id: public key}`` for Ed25519 public key objects."""
    return {key_id_for(raw_public_bytes(k)): k for k in public_keys}


def _checkpoint_problem(cp) -> str | None:
    if not isinstance(cp, dict):
        return "a checkpoint is not a JSON object"
    for name in CHECKPOINT_FIELDS:
        if name not in cp:
            return f"checkpoint without {name!r}"
    if type(cp["seq"]) is not int or cp["seq"] < 1:
        return "checkpoint with an invalid seq"
    if not isinstance(cp["head"], str) or not _HEX64.fullmatch(cp["head"]):
        return "checkpoint with an invalid head"
    for name in ("signed_at", "key_id", "origin", "signature"):
        if not isinstance(cp[name], str):
            return f"checkpoint with an invalid {name}"
    return None


def check_checkpoints(
    checkpoints: Sequence[dict], keys: dict
) -> tuple[dict[int, tuple[str, str]], list[dict]]:
    """Check signatures and mutual consistency.

    Returns ``({seq: (code, reason)}`` for every checkpoint position that is bad (the first per seq),
    the list of good checkpoints``)``. A checkpoint is bad when it is malformed, signed by a key not in
    ``keys`` or with a signature that does not verify, contradicts another one (same ``seq``, other
    ``head``), or was signed after a checkpoint that covers more entries (the chain went back).
    """
    from cryptography.exceptions import InvalidSignature

    errors: dict[int, tuple[str, str]] = {}
    good: list[dict] = []

    def bad(seq: int, code: str, reason: str) -> None:
        errors.setdefault(seq, (code, reason))

    for cp in checkpoints:
        problem = _checkpoint_problem(cp)
        if problem:
            raw_seq = cp.get("seq") if isinstance(cp, dict) else None
            seq = raw_seq if type(raw_seq) is int else 0
            bad(max(seq, 1), "checkpoint_malformed", problem)
            continue
        key = keys.get(cp["key_id"])
        if key is None:
            bad(
                cp["seq"],
                "checkpoint_unknown_key",
                f"checkpoint at seq {cp['seq']} is signed by an unknown key ({cp['key_id']})",
            )
            continue
        try:
            signature = base64.b64decode(cp["signature"], validate=True)
            # Only the canonical encoding: base64 ignores the padding bits of its last character,
            # so "…WAQ==" and "…WAa==" decode alike; an altered published checkpoint must not pass.
            if base64.b64encode(signature).decode("ascii") != cp["signature"]:
                raise ValueError("non-canonical base64 signature")
            key.verify(signature, checkpoint_message(cp))
        except (InvalidSignature, ValueError, binascii.Error):
            bad(
                cp["seq"],
                "checkpoint_signature",
                f"checkpoint at seq {cp['seq']} has an invalid signature (forged or altered)",
            )
            continue
        good.append(cp)
    heads: dict[int, str] = {}
    for cp in good:
        seen = heads.setdefault(cp["seq"], cp["head"])
        if seen != cp["head"]:
            bad(
                cp["seq"],
                "checkpoint_fork",
                f"two signed checkpoints at seq {cp['seq']} name different heads (a fork)",
            )
    newest_seq, newest_at = 0, ""
    for cp in sorted(good, key=lambda c: (c["signed_at"], c["seq"])):
        if cp["seq"] < newest_seq:
            bad(
                cp["seq"],
                "checkpoint_rollback",
                f"checkpoint at seq {cp['seq']} was signed ({cp['signed_at']}) after one covering "
                f"{newest_seq} entries ({newest_at}): the trail was rolled back",
            )
        if cp["seq"] >= newest_seq:
            newest_seq, newest_at = cp["seq"], cp["signed_at"]
    return errors, [cp for cp in good if cp["seq"] not in errors]


# --- Chain checks ----------------------------------------------------------------------------------


def error_code(code: str, seq: int, found=None) -> str:
    """The stable code of a problem (``first_error["code"]``), refining ``seq`` problems."""
    if code == "seq":
        if type(found) is int and found > seq:
            return "missing"
        return "out_of_order"
    if code in {"version", "fields", "json", "damaged"}:
        return "damaged"
    return code


def describe(code: str, seq: int, found=None) -> str:
    """The human-readable reason for a problem ``code`` found at entry position ``seq``."""
    if code == "seq":
        if type(found) is not int:
            return f"entry {seq}: seq is not an integer"
        if found > seq:
            if found == seq + 1:
                return f"entry {seq} is missing (the next entry found is seq {found})"
            return f"entries {seq} to {found - 1} are missing (the next entry found is seq {found})"
        return f"entry out of order or duplicated: expected seq {seq}, found seq {found}"
    if code == "link":
        return (
            f"entry {seq}: prev_hash does not match the hash of entry {seq - 1} "
            "(an entry was inserted, removed, reordered or altered before it)"
        )
    if code == "inserted":
        return (
            f"entry {seq} was inserted: the entry after it links to entry {seq - 1} "
            "(later entries were renumbered)"
        )
    if code == "hash":
        return f"entry {seq}: hash mismatch (its content or its hash was altered)"
    if code == "version":
        return f"entry {seq}: unknown format version {found}"
    if code == "fields":
        return f"entry {seq}: the entry does not have the fields of format v1"
    if code == "json":
        return f"entry {seq}: the export line is not valid JSON"
    return f"entry {seq}: the export line is damaged"


@dataclass
class ChunkResult:
    """What one worker found in one contiguous run of entries (a file chunk or a seq range)."""

    lines: int = 0  # entries fully checked (before ``error``)
    first_seq: object = None
    first_prev: str = ""
    last_hash: str = ""
    before_last: str = ""  # hash of the entry before the last checked one (spots an insertion)
    error: tuple[int, int, str, object] | None = None  # (index in chunk, stage, code, found value)
    heads: dict[int, str] = field(default_factory=dict)
    head_hash: str = ""  # hash of the last entry read, even past an error


@dataclass
class Result:
    valid: bool
    entries: int
    head: str
    first_error: dict | None
    checkpoints: int = 0
    latest_checkpoint: dict | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "valid": self.valid,
            "entries": self.entries,
            "head": self.head,
            "first_error": self.first_error,
            "checkpoints": self.checkpoints,
            "latest_checkpoint": self.latest_checkpoint,
            "warnings": list(self.warnings),
        }


def _problem(code: str, seq: int, found=None) -> tuple[str, str]:
    return error_code(code, seq, found), describe(code, seq, found)


def stitch(chunks: Sequence[ChunkResult]) -> tuple[int, tuple[str, str] | None, int, str, dict[int, str]]:
    """Join per-chunk results in order, checking the links between chunks.

    Returns ``(first_bad_seq or 0, (code, reason) or None, entries_before_error_or_total, last_hash,
    heads)``.
    """
    expected, last, before_last = 1, GENESIS_HASH, ""
    heads: dict[int, str] = {}
    for chunk in chunks:
        if chunk.lines == 0 and chunk.error is None:
            continue
        err = chunk.error
        if err is not None and err[0] == 0 and err[1] == STAGE_FORMAT:
            return expected, _problem(err[2], expected, err[3]), expected - 1, last, heads
        if chunk.first_seq != expected or type(chunk.first_seq) is not int:
            return expected, _problem("seq", expected, chunk.first_seq), expected - 1, last, heads
        if chunk.first_prev != last:
            if before_last and chunk.first_prev == before_last:
                return expected - 1, _problem("inserted", expected - 1), expected - 2, "", heads
            return expected, _problem("link", expected), expected - 1, last, heads
        heads.update(chunk.heads)
        if err is not None:
            seq = expected + err[0]
            return seq, _problem(err[2], seq, err[3]), seq - 1, "", heads
        expected += chunk.lines
        last, before_last = chunk.last_hash, chunk.before_last
    return 0, None, expected - 1, last, heads


def conclude(
    chain: tuple[int, tuple[str, str] | None, int, str, dict[int, str]],
    checkpoints: Sequence[dict],
    keys: dict,
    *,
    total_entries: int | None = None,
    head: str | None = None,
) -> Result:
    """Combine the chain scan with the checkpoints into the final result (first error by seq)."""
    bad_seq, problem, valid_entries, last_hash, heads = chain
    cp_errors, good = check_checkpoints(checkpoints, keys)
    candidates: list[tuple[int, int, str, str]] = []  # (seq, order, code, reason): chain errors win ties
    if bad_seq:
        candidates.append((bad_seq, 0, *(problem or ("damaged", "invalid entry"))))
    limit = bad_seq - 1 if bad_seq else valid_entries
    for seq, (code, why) in cp_errors.items():
        candidates.append((seq, 1, code, why))
    covered = 0
    for cp in good:
        if cp["seq"] <= limit:
            if heads.get(cp["seq"]) != cp["head"]:
                candidates.append(
                    (
                        cp["seq"],
                        1,
                        "checkpoint_mismatch",
                        f"entry {cp['seq']} differs from the checkpoint signed at {cp['signed_at']}: "
                        "the chain up to it was rewritten",
                    )
                )
            else:
                covered += 1
        elif not bad_seq:
            candidates.append(
                (
                    valid_entries + 1,
                    2,
                    "truncated",
                    f"entries {valid_entries + 1} to {cp['seq']} are missing: the checkpoint signed at "
                    f"{cp['signed_at']} covers {cp['seq']} entries but the trail ends at {valid_entries}",
                )
            )
    first = min(candidates) if candidates else None
    latest = max(good, key=lambda c: (c["seq"], c["signed_at"]), default=None)
    warnings = []
    if not checkpoints:
        warnings.append("no checkpoints were given: a rewrite of the whole chain would not be detected")
    elif latest is not None and latest["seq"] < valid_entries and first is None:
        warnings.append(
            f"entries after seq {latest['seq']} are not yet covered by a checkpoint: their deletion "
            "could not be detected"
        )
    return Result(
        valid=first is None,
        entries=valid_entries if total_entries is None else total_entries,
        head=head if head is not None else last_hash,
        first_error=None if first is None else {"seq": first[0], "reason": first[3], "code": first[2]},
        checkpoints=covered,
        latest_checkpoint=None if latest is None else {k: latest[k] for k in CHECKPOINT_FIELDS},
        warnings=warnings,
    )


# --- Export files ----------------------------------------------------------------------------------


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed in the audit trail")


def _reject_float(text):
    raise ValueError("floats are not allowed in the audit trail")


_loads = json.JSONDecoder(parse_float=_reject_float, parse_constant=_reject_constant).decode


def _iter_blocks(path: str, start: int, end: int, block: int = 1 << 22) -> Iterator[list[bytes]]:
    """Lists of lines (without their ``\\n``) of ``path`` between byte offsets ``start`` and ``end``.
    A final empty string stands for a last line that lacks its ``\\n`` only if it is not empty."""
    with open(path, "rb") as fh:
        fh.seek(start)
        remaining = end - start
        rest = b""
        while remaining > 0:
            data = fh.read(min(block, remaining))
            if not data:
                break
            remaining -= len(data)
            lines = (rest + data).split(b"\n")
            rest = lines.pop()
            yield lines
        if rest:
            yield [rest]


# Fixed layout of a v1 export line's end: ,"hash":"<64>","prev_hash":"<64>","v":1}
_TAIL_LEN = 160
_SEQ_KEY = b',"seq":'
_SEQ_NEXT = b',"subject_id":'


def _seq_of(body: bytes):
    """The top-level ``seq`` of a canonical v1 body without parsing it: keys are sorted, so the last
    ``,"seq":`` is followed by ``,"subject_id":`` (string values cannot hold an unescaped quote)."""
    i = body.rfind(_SEQ_KEY)
    if i < 0:
        return None
    j = body.find(_SEQ_NEXT, i)
    digits = body[i + 7 : j] if j > 0 else b""
    if not digits.isdigit() or (digits[0] == 48 and len(digits) > 1):  # 48: "0"
        return None
    return int(digits)


def _line_problem(line: bytes) -> tuple[str, object]:
    """Why a line does not have the v1 layout (slow path, only on error)."""
    match = _LINE_TAIL.search(line, max(0, len(line) - 200)) if line.startswith(_LINE_HEAD) else None
    if match is not None and match.group(3) != b"1":
        return "version", match.group(3).decode("ascii")
    return "damaged", None


def verify_chunk(
    path: str, start: int, end: int, wanted: frozenset = frozenset(), strict: bool = False
) -> ChunkResult:
    """Check the export lines between byte offsets ``start`` and ``end`` (line-aligned).

    Every byte of a line is either hashed (the body), compared (``hash``, ``prev_hash``) or fixed
    framing checked here, so any change is caught without parsing the body. ``strict`` also parses
    each body as JSON and checks it has exactly the fields of format v1 (about 3x slower).
    """
    res = ChunkResult()
    index = expected = 0
    last = before_last = ""
    sha256 = hashlib.sha256
    head, tail_len = _LINE_HEAD, _TAIL_LEN
    for lines in _iter_blocks(path, start, end):
        for line in lines:
            if (
                line[:9] != head
                or line[-8:] != b'","v":1}'
                or line[-160:-151] != b',"hash":"'
                or line[-87:-72] != b'","prev_hash":"'
                or len(line) < tail_len + 11
            ):
                code, found = _line_problem(line)
                res.error = (index, STAGE_FORMAT, code, found)
                break
            body = line[9:-tail_len]
            if strict:
                try:
                    parsed = _loads(body.decode("utf-8"))
                except ValueError:
                    res.error = (index, STAGE_FORMAT, "json", None)
                    break
                if type(parsed) is not dict or parsed.keys() != _BODY_KEYS:
                    res.error = (index, STAGE_FORMAT, "fields", None)
                    break
            seq = _seq_of(body)
            if seq is None:
                res.error = (index, STAGE_FORMAT, "fields", None)
                break
            prev_b = line[-72:-8]
            prev = prev_b.decode("ascii", "replace")
            stored = line[-151:-87].decode("ascii", "replace")
            if index == 0:
                res.first_seq, res.first_prev, expected = seq, prev, seq
            elif seq != expected:
                res.error = (index, STAGE_SEQ, "seq", seq)
                break
            elif prev != last:
                inserted = prev == (before_last if index > 1 else res.first_prev)
                res.error = (
                    (index - 1, STAGE_LINK, "inserted", None)
                    if inserted
                    else (index, STAGE_LINK, "link", None)
                )
                break
            if sha256(PREAMBLE + prev_b + b"\n" + body).hexdigest() != stored:
                res.error = (index, STAGE_HASH, "hash", None)
                break
            if seq in wanted:
                res.heads[seq] = stored
            before_last = prev if index == 0 else last
            last = stored
            index += 1
            expected += 1
        if res.error is not None:
            break
    res.lines = index
    res.last_hash = last
    res.before_last = before_last
    res.head_hash = last
    return res


def split_file(path: str, parts: int) -> list[tuple[int, int]]:
    """Byte ranges of about equal size, each starting at the beginning of a line."""
    size = os.path.getsize(path)
    if parts <= 1 or size < (1 << 20):
        return [(0, size)]
    bounds = [0]
    with open(path, "rb") as fh:
        for i in range(1, parts):
            fh.seek(size * i // parts)
            fh.readline()
            pos = fh.tell()
            if bounds[-1] < pos < size:
                bounds.append(pos)
    bounds.append(size)
    return list(itertools.pairwise(bounds))


def run_parallel(func, jobs: Sequence[tuple], workers: int) -> list:
    """``[func(*job) for job in jobs]`` on up to ``workers`` processes, results in job order."""
    if workers <= 1 or len(jobs) <= 1:
        return [func(*job) for job in jobs]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = (
        "fork"
        if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods()
        else "spawn"
    )
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = [pool.submit(func, *job) for job in jobs]
        return [f.result() for f in futures]


def default_workers() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 8))


def verify_export(
    path: str,
    checkpoints: Sequence[dict] = (),
    keys: dict | None = None,
    *,
    workers: int | None = None,
    strict: bool = False,
) -> Result:
    """Verify a JSON Lines export against signed checkpoints (``keys``: ``{key_id: public key}``)."""
    workers = default_workers() if workers is None else max(1, workers)
    wanted = frozenset(cp["seq"] for cp in checkpoints if isinstance(cp, dict) and type(cp.get("seq")) is int)
    ranges = split_file(path, workers)
    chunks = run_parallel(verify_chunk, [(path, a, b, wanted, strict) for a, b in ranges], workers)
    return conclude(stitch(chunks), checkpoints, keys or {})


# --- Input files -----------------------------------------------------------------------------------


def read_checkpoints(source: str) -> list[dict]:
    """Checkpoints from a JSON file (list, API page(s) with ``results``, or one object), a JSON Lines
    file, or a folder of ``*.json`` checkpoint files."""
    path = Path(source)
    if path.is_dir():
        items: list = []
        for file in sorted(path.glob("*.json")):
            items.extend(read_checkpoints(str(file)))
        return items
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text, parse_float=_reject_float)
    except ValueError:
        return [json.loads(line, parse_float=_reject_float) for line in text.splitlines() if line.strip()]
    return _flatten_checkpoints(data)


def _flatten_checkpoints(data) -> list[dict]:
    if isinstance(data, list):
        out: list[dict] = []
        for item in data:
            out.extend(_flatten_checkpoints(item))
        return out
    if isinstance(data, dict) and "results" in data:
        return _flatten_checkpoints(data["results"])
    if isinstance(data, dict) and "checkpoints" in data:
        return _flatten_checkpoints(data["checkpoints"])
    return [data]


def unique_checkpoints(items: Iterable[dict]) -> list[dict]:
    seen, out = set(), []
    for cp in items:
        marker = json.dumps(cp, sort_keys=True, default=str)
        if marker not in seen:
            seen.add(marker)
            out.append(cp)
    return out


def read_public_keys(source: str) -> list:
    path = Path(source)
    files = sorted(path.glob("*.pem")) if path.is_dir() else [path]
    return [load_public_key(f.read_bytes()) for f in files]


def embedded_public_keys(checkpoints: Iterable[dict]) -> list:
    keys = []
    for cp in checkpoints:
        for name in ("public_key_pem", "public_key"):
            value = cp.get(name) if isinstance(cp, dict) else None
            if isinstance(value, str) and value:
                with contextlib.suppress(ValueError):
                    keys.append(load_public_key(value.encode("ascii")))
                break
    return keys


# --- Command line ----------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verifier.py",
        description="Verify an Expediente audit-trail export (JSON Lines) against signed checkpoints.",
    )
    parser.add_argument("export", help="the JSON Lines export (manage.py audit_verify --export FILE)")
    parser.add_argument(
        "--checkpoints",
        action="append",
        default=[],
        metavar="PATH",
        help="checkpoints: JSON/JSON Lines file or folder of checkpoint-*.json (repeatable)",
    )
    parser.add_argument(
        "--public-key",
        action="append",
        default=[],
        metavar="PATH",
        help="trusted Ed25519 public key: PEM file, or a folder of *.pem (repeatable)",
    )
    parser.add_argument(
        "--trust-embedded-keys",
        action="store_true",
        help="also trust public keys embedded in the checkpoint files (weaker: only detects accidents)",
    )
    parser.add_argument("--workers", type=int, default=None, help="processes to use (default: CPUs)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also parse every entry as JSON and check its fields (slower; hashes alone detect tampering)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    try:
        if not os.path.isfile(args.export):
            raise ValueError(f"no such export file: {args.export}")
        checkpoints = unique_checkpoints(cp for src in args.checkpoints for cp in read_checkpoints(src))
        public_keys = [k for src in args.public_key for k in read_public_keys(src)]
        if args.trust_embedded_keys:
            public_keys.extend(embedded_public_keys(checkpoints))
        if checkpoints and not public_keys:
            raise ValueError("checkpoints need a trusted --public-key (or --trust-embedded-keys)")
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    result = verify_export(
        args.export, checkpoints, keyring(public_keys), workers=args.workers, strict=args.strict
    )
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_result(result))
    return EXIT_OK if result.valid else EXIT_INVALID


def format_result(result: Result) -> str:
    lines = []
    if result.valid:
        lines.append(f"OK: {result.entries} entries, head {result.head or '-'}")
        lines.append(f"{result.checkpoints} signed checkpoint(s) match the chain")
    else:
        err = result.first_error or {}
        lines.append(f"INVALID: first bad entry seq {err.get('seq')}: {err.get('reason')}")
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
