# ruff: noqa: S608  (tampering is raw SQL by design; table and column names are constants)
"""Every kind of tampering is detected, and the first bad entry is named -- in the database (what a
database owner who lifted the triggers could do) and in an exported file (stand-alone verifier)."""

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from audit import checkpoints
from audit import keys as audit_keys
from audit.chain import utc_text
from audit.models import AuditEntry, Checkpoint
from audit.verification import checkpoint_dict, verify_database
from audit.verifier import checkpoint_message, key_id_for, keyring, raw_public_bytes, verify_export

from .helpers import export_lines, fill, forged_entry_values, insert_raw, renumber_after, sql, triggers_lifted

pytestmark = pytest.mark.django_db


def first_error(result):
    assert not result.valid, "tampering went unnoticed"
    return result.first_error["seq"], result.first_error["reason"]


def rehash_from(seq: int) -> None:
    """An owner rewriting history consistently: recompute the hashes of ``seq`` and every later entry."""
    from audit.chain import entry_body
    from audit.verifier import entry_hash

    prev = AuditEntry.objects.get(seq=seq - 1).hash if seq > 1 else "0" * 64
    for entry in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
        new = entry_hash(prev, entry_body(entry))
        sql("UPDATE audit_auditentry SET prev_hash = %s, hash = %s WHERE seq = %s", [prev, new, entry.seq])
        prev = new


def test_an_intact_trail_verifies():
    fill(8)
    checkpoints.sign_checkpoint()
    result = verify_database()
    assert result.valid, result.first_error
    assert (result.entries, result.checkpoints) == (8, 1)
    assert result.head == AuditEntry.objects.get(seq=8).hash


# --- In the database ------------------------------------------------------------------------------


def test_edited_data():
    fill(8)
    with triggers_lifted():
        sql("""UPDATE audit_auditentry SET data = '{"amount": "9999999.00"}' WHERE seq = 3""")
    seq, reason = first_error(verify_database())
    assert seq == 3 and "hash mismatch" in reason


def test_edited_label_with_hash_of_the_edit():
    """Changing a column and its own hash still breaks the link from the next entry."""
    from audit.chain import entry_body
    from audit.verifier import entry_hash

    fill(8)
    entry = AuditEntry.objects.get(seq=3)
    entry.actor_label = "otra persona"
    with triggers_lifted():
        sql(
            "UPDATE audit_auditentry SET actor_label = %s, hash = %s WHERE seq = 3",
            ["otra persona", entry_hash(entry.prev_hash, entry_body(entry))],
        )
    seq, reason = first_error(verify_database())
    assert seq == 4 and "prev_hash" in reason


def test_edited_hash():
    fill(8)
    with triggers_lifted():
        sql("UPDATE audit_auditentry SET hash = %s WHERE seq = 5", ["ab" * 32])
    assert first_error(verify_database())[0] == 5


def test_deleted_row():
    fill(8)
    with triggers_lifted():
        sql("DELETE FROM audit_auditentry WHERE seq = 3")
    seq, reason = first_error(verify_database())
    assert seq == 3 and "missing" in reason


def test_deleted_row_with_renumbering():
    fill(8)
    with triggers_lifted():
        sql("DELETE FROM audit_auditentry WHERE seq = 3")
        renumber_after(3, -1)
    assert first_error(verify_database())[0] == 3


def test_inserted_row_is_named():
    """A forged entry slipped in after entry 3 (later entries renumbered), with its own hash right."""
    fill(8)
    with triggers_lifted():
        renumber_after(3, +1)
        insert_raw(forged_entry_values(4, AuditEntry.objects.get(seq=3).hash))
    seq, reason = first_error(verify_database())
    assert seq == 4 and "inserted" in reason


def test_forged_row_appended_with_a_wrong_hash():
    fill(8)
    with triggers_lifted():
        values = forged_entry_values(9, AuditEntry.objects.get(seq=8).hash)
        values["hash"] = "cd" * 32
        insert_raw(values)
    assert first_error(verify_database())[0] == 9


def test_swapped_rows():
    fill(8)
    cols = ["at", "actor_label", "action", "data", "prev_hash", "hash"]
    with triggers_lifted():
        two, five = (
            sql(f"SELECT {', '.join(cols)} FROM audit_auditentry WHERE seq = %s", [s])[0] for s in (2, 5)
        )
        assignments = ", ".join(f"{c} = %s" for c in cols)
        sql("UPDATE audit_auditentry SET hash = %s WHERE seq = 2", ["0" * 63 + "1"])  # unique hash
        for target, row in ((5, two), (2, five)):
            params = [json.dumps(v) if isinstance(v, dict) else v for v in row]
            sql(f"UPDATE audit_auditentry SET {assignments} WHERE seq = %s", [*params, target])
    assert first_error(verify_database())[0] == 2


def test_truncated_tail_after_a_checkpoint():
    fill(8)
    checkpoints.sign_checkpoint()
    with triggers_lifted():
        sql("DELETE FROM audit_auditentry WHERE seq > 6")
    seq, reason = first_error(verify_database())
    assert seq == 7 and "checkpoint" in reason


def test_tail_deleted_after_the_newest_checkpoint_is_not_detectable():
    """The documented limit (docs/AUDIT.md): entries not yet covered by a checkpoint an outsider holds
    can vanish without trace -- the checkpoint interval bounds that window."""
    fill(6)
    checkpoints.sign_checkpoint()
    fill(2)
    with triggers_lifted():
        sql("DELETE FROM audit_auditentry WHERE seq = 8")
    result = verify_database()
    assert result.valid and result.entries == 7


def test_consistent_rewrite_is_caught_by_the_checkpoints():
    fill(4)
    checkpoints.sign_checkpoint()
    fill(4)
    checkpoints.sign_checkpoint()
    with triggers_lifted():
        sql("""UPDATE audit_auditentry SET data = '{"amount": "1.00"}' WHERE seq = 2""")
        rehash_from(2)
    seq, reason = first_error(verify_database())
    assert seq == 4 and "differs from the checkpoint" in reason


def test_forged_checkpoint_signature():
    fill(6)
    checkpoints.sign_checkpoint()
    real = Checkpoint.objects.get()
    with triggers_lifted():
        sql(
            "INSERT INTO audit_checkpoint (seq, head, signed_at, origin, key_id, public_key, signature) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                3,
                AuditEntry.objects.get(seq=3).hash,
                timezone.now(),
                real.origin,
                real.key_id,
                real.public_key,
                base64.b64encode(b"\x01" * 64).decode(),
            ],
        )
    seq, reason = first_error(verify_database())
    assert seq == 3 and "invalid signature" in reason


def test_altered_checkpoint_head():
    fill(6)
    checkpoints.sign_checkpoint()
    with triggers_lifted():
        sql("UPDATE audit_checkpoint SET head = %s", ["ef" * 32])
    seq, reason = first_error(verify_database())
    assert seq == 6 and "signature" in reason


def test_rewrite_resigned_with_an_intruders_key_is_refused():
    """An owner rewrites the chain and replaces the checkpoint with one signed by its own key (public
    key column included): only keys the verifier trusts count."""
    fill(6)
    checkpoints.sign_checkpoint()
    intruder = Ed25519PrivateKey.generate()
    raw = raw_public_bytes(intruder.public_key())
    with triggers_lifted():
        sql("""UPDATE audit_auditentry SET data = '{"amount": "1.00"}' WHERE seq = 2""")
        rehash_from(2)
        head = AuditEntry.objects.get(seq=6).hash
        cp = {"seq": 6, "head": head, "signed_at": utc_text(timezone.now()), "key_id": key_id_for(raw)}
        cp["origin"] = Checkpoint.objects.get().origin
        sql("DELETE FROM audit_checkpoint")
        sql(
            "INSERT INTO audit_checkpoint (seq, head, signed_at, origin, key_id, public_key, signature) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                6,
                head,
                timezone.now(),
                cp["origin"],
                cp["key_id"],
                base64.b64encode(raw).decode(),
                base64.b64encode(intruder.sign(checkpoint_message(cp))).decode(),
            ],
        )
    seq, reason = first_error(verify_database())
    assert seq == 6 and "unknown key" in reason


def test_rolled_back_trail_is_caught_by_checkpoint_order():
    """After a restore from an old backup, a checkpoint signed later covers fewer entries."""
    from audit.verifier import check_checkpoints

    key = Ed25519PrivateKey.generate()
    kid = key_id_for(raw_public_bytes(key.public_key()))

    def signed(seq, head, at):
        cp = {"seq": seq, "head": head, "signed_at": at, "key_id": kid, "origin": "o"}
        cp["signature"] = base64.b64encode(key.sign(checkpoint_message(cp))).decode()
        return cp

    errors, good = check_checkpoints(
        [
            signed(8, "a" * 64, "2026-11-25T10:00:00.000000Z"),
            signed(6, "b" * 64, "2026-11-25T10:15:00.000000Z"),
        ],
        keyring([key.public_key()]),
    )
    assert errors[6][0] == "checkpoint_rollback" and "rolled back" in errors[6][1]
    assert [cp["seq"] for cp in good] == [8]


# --- In an exported file (stand-alone verifier) -----------------------------------------------------


@pytest.fixture
def exported(tmp_path):
    fill(10)
    checkpoints.sign_checkpoint()
    lines = export_lines()
    cps = [checkpoint_dict(cp) for cp in Checkpoint.objects.all()]
    trusted = audit_keys.trusted_public_keys()

    def check(mutated_lines, cps=cps, keys=trusted, workers=1):
        path = tmp_path / "export.jsonl"
        path.write_bytes(b"".join(mutated_lines))
        return verify_export(str(path), cps, keys, workers=workers)

    return lines, check


def test_export_intact(exported):
    lines, check = exported
    result = check(lines)
    assert result.valid and result.entries == 10 and result.checkpoints == 1


def test_export_edited_amount(exported):
    lines, check = exported
    lines[4] = lines[4].replace(b'"amount":"1504.00"', b'"amount":"1594.00"')
    seq, reason = first_error(check(lines))
    assert seq == 5 and "hash" in reason


def test_export_deleted_swapped_duplicated_lines(exported):
    lines, check = exported
    assert first_error(check(lines[:3] + lines[4:]))[0] == 4
    assert first_error(check([lines[0], lines[2], lines[1], *lines[3:]]))[0] == 2
    assert first_error(check([*lines[:5], lines[4], *lines[5:]]))[0] == 6


def test_export_truncated_after_checkpoint(exported):
    lines, check = exported
    seq, reason = first_error(check(lines[:7]))
    assert seq == 8 and "missing" in reason


def test_export_with_forged_or_foreign_checkpoints(exported):
    lines, check = exported
    (cp,) = [checkpoint_dict(c) for c in Checkpoint.objects.all()]
    forged = {**cp, "head": json.loads(lines[5])["hash"], "seq": 6}
    assert "invalid signature" in first_error(check(lines, cps=[forged]))[1]
    other = Ed25519PrivateKey.generate()
    assert "unknown key" in first_error(check(lines, keys=keyring([other.public_key()])))[1]


def test_export_damaged_lines(exported):
    lines, check = exported
    assert first_error(check([*lines[:2], b"not json\n", *lines[3:]]))[0] == 3
    assert first_error(check([*lines[:2], lines[2].rstrip(b"\n") + b" \n", *lines[3:]]))[0] == 3
    assert first_error(check([*lines[:-1], lines[-1].rstrip(b"\n") + b"\t"]))[0] == 10


@pytest.mark.parametrize("position", [1, 700, 1299, 1300, 1301, 2599])
def test_parallel_verification_stitches_chunks_exactly(tmp_path, position):
    """A file split between workers gives the same answer as one pass, wherever the damage is
    (including an entry inserted right at a chunk boundary)."""
    from .synthetic import write_chain

    path = tmp_path / "big.jsonl"
    lines = write_chain(path, 2600)
    assert path.stat().st_size > (1 << 20)
    assert verify_export(str(path), workers=2).valid
    for mutate in ("drop", "swap", "edit", "insert"):
        mutated = list(lines)
        i = position - 1
        if mutate == "drop":
            del mutated[i]
        elif mutate == "swap" and i + 1 < len(mutated):
            mutated[i], mutated[i + 1] = mutated[i + 1], mutated[i]
        elif mutate == "edit":
            mutated[i] = mutated[i].replace(b'"actor_label":"', b'"actor_label":"X', 1)
        elif mutate == "insert":
            from .synthetic import forged_after

            mutated = [*mutated[: i + 1], forged_after(mutated[i]), *list(_renumbered(mutated[i + 1 :], +1))]
        path.write_bytes(b"".join(mutated))
        one, two = verify_export(str(path), workers=1), verify_export(str(path), workers=2)
        assert one.first_error == two.first_error, (mutate, one.first_error, two.first_error)
        if mutated != lines:
            assert not one.valid, mutate


def _renumbered(lines, delta):
    for line in lines:
        record = json.loads(line)
        record["entry"]["seq"] += delta
        from audit.verifier import canonical_json

        yield canonical_json(record) + b"\n"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_database_verification_matches_one_pass(monkeypatch):
    """Worker processes verify seq ranges; the links between ranges are checked when joining."""
    from django.db import connection

    from audit import verification

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    monkeypatch.setattr(verification, "PARALLEL_MIN_ENTRIES", 10)
    fill(200)
    checkpoints.sign_checkpoint()
    assert verify_database(workers=2).valid
    cases = [  # each step damages an earlier entry than the last, so the first error moves down
        ("UPDATE audit_auditentry SET actor_label = 'x' WHERE seq = 150", 150),
        ("DELETE FROM audit_auditentry WHERE seq = 101", 101),  # first of the second range
        ("DELETE FROM audit_auditentry WHERE seq = 100", 100),  # last of the first range
    ]
    for statement, expected in cases:
        with triggers_lifted():
            sql(statement)
        one, two = verify_database(workers=1), verify_database(workers=2)
        assert one.first_error == two.first_error
        assert two.first_error["seq"] == expected
