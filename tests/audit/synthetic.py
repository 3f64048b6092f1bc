"""A synthetic, valid chain in the real export format (for tests of the file verifier)."""

from __future__ import annotations

import json

from audit.verifier import GENESIS_HASH, canonical_json_fast, entry_hash_bytes, export_line


def body(seq: int) -> dict:
    return {
        "seq": seq,
        "at": f"2026-11-25T13:{seq // 60 % 60:02d}:{seq % 60:02d}.{seq % 1_000_000:06d}Z",
        "actor": 10 + seq % 7,
        "actor_label": f"evaluador{seq % 7} (Evaluadora Número {seq % 7})",
        "action": "initiative.evaluation_passed",
        "subject_type": "iniciativas.initiative",
        "subject_id": str(seq),
        "subject_label": f"INI-2026-{seq:06d} Lechería San José de Chiquitos",
        "case": f"INI-2026-{seq:06d}",
        "data": {
            "amount": f"{1000 + seq}.50",
            "score": 70 + seq % 30,
            "comment": "Cumple los requisitos técnicos",
        },
        "request_id": f"{seq:032x}",
        "ip": "10.20.30.40",
    }


def write_chain(path, n: int) -> list[bytes]:
    lines, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        raw = canonical_json_fast(body(seq))
        digest = entry_hash_bytes(prev, raw)
        lines.append(export_line(raw, prev, digest))
        prev = digest
    path.write_bytes(b"".join(lines))
    return lines


def forged_after(line: bytes) -> bytes:
    """A well-formed entry linked to the entry of ``line`` (an insertion)."""
    record = json.loads(line)
    forged = body(record["entry"]["seq"] + 1)
    forged["data"] = {"amount": "99999.00"}
    raw = canonical_json_fast(forged)
    return export_line(raw, record["hash"], entry_hash_bytes(record["hash"], raw))
