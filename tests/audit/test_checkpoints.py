import base64
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

import audit
from audit import checkpoints
from audit import keys as audit_keys
from audit.models import AuditEntry, Checkpoint
from audit.tasks import sign_checkpoint
from audit.verification import verify_database
from audit.verifier import checkpoint_message, load_public_key, public_key_pem, raw_public_bytes

from .helpers import fill, sql, triggers_lifted

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_signs_the_head_with_ed25519_and_records_the_key_id():
    fill(5)
    cp = checkpoints.sign_checkpoint()
    head = AuditEntry.objects.get(seq=5)
    public = audit_keys.signing_key().public_key()
    raw = raw_public_bytes(public)
    assert (cp.seq, cp.head) == (5, head.hash)
    assert cp.key_id == hashlib.sha256(raw).digest()[:8].hex()
    assert cp.public_key == base64.b64encode(raw).decode()
    assert cp.origin == settings.AUDIT_ORIGIN
    message = checkpoint_message(
        {
            "seq": 5,
            "head": head.hash,
            "signed_at": checkpoints.utc_text(cp.signed_at),
            "key_id": cp.key_id,
            "origin": cp.origin,
        }
    )
    public.verify(base64.b64decode(cp.signature), message)  # raises if invalid
    # A fresh read of the row gives the same signed text (timestamp round trip).
    stored = Checkpoint.objects.get(pk=cp.pk)
    assert checkpoints.utc_text(stored.signed_at) == checkpoints.utc_text(cp.signed_at)


def test_nothing_to_sign_when_nothing_changed_and_no_entry_is_written():
    assert checkpoints.sign_checkpoint() is None  # empty trail
    fill(3)
    assert checkpoints.sign_checkpoint().seq == 3
    assert checkpoints.sign_checkpoint() is None
    assert Checkpoint.objects.count() == 1
    assert AuditEntry.objects.count() == 3  # signing writes no audit entry (the head stays put)
    fill(2)
    assert checkpoints.sign_checkpoint().seq == 5
    assert list(Checkpoint.objects.values_list("seq", flat=True)) == [5, 3]


def test_refuses_to_sign_a_broken_chain():
    fill(4)
    checkpoints.sign_checkpoint()
    fill(3)
    with triggers_lifted():
        sql("""UPDATE audit_auditentry SET data = '{"x": 1}' WHERE seq = 6""")
    with pytest.raises(checkpoints.TrailIntegrityError, match="entry 6"):
        checkpoints.sign_checkpoint()
    with pytest.raises(CommandError) as exc:
        call_command("audit_checkpoint")
    assert exc.value.returncode == 1
    assert Checkpoint.objects.count() == 1


def test_refuses_to_contradict_the_newest_checkpoint():
    fill(4)
    checkpoints.sign_checkpoint()
    with triggers_lifted():
        sql("DELETE FROM audit_auditentry WHERE seq = 4")
    with pytest.raises(checkpoints.TrailIntegrityError, match="removed"):
        checkpoints.sign_checkpoint()
    with triggers_lifted():
        sql("""UPDATE audit_auditentry SET hash = %s WHERE seq = 3""", ["ab" * 32])
        sql("""UPDATE audit_checkpoint SET seq = 3""")  # even a doctored checkpoint row is checked
    with pytest.raises(checkpoints.TrailIntegrityError):
        checkpoints.sign_checkpoint()


def test_key_from_environment_pem(settings, pem_key):
    key, pem = pem_key
    settings.AUDIT_SIGNING_KEY = pem.replace("\n", "\\n")  # one-line form, as in an .env file
    fill(1)
    cp = checkpoints.sign_checkpoint()
    assert cp.key_id == audit_keys.key_id(key.public_key())
    assert not Path(settings.AUDIT_SIGNING_KEY_FILE).exists()  # nothing generated


def test_key_file_generation_and_refusal(settings, tmp_path):
    key_file = Path(settings.AUDIT_SIGNING_KEY_FILE)
    settings.AUDIT_GENERATE_KEY = False
    fill(1)
    with pytest.raises(audit_keys.SigningKeyUnavailable):
        checkpoints.sign_checkpoint()
    with pytest.raises(CommandError) as exc:
        call_command("audit_checkpoint")
    assert exc.value.returncode == 2
    settings.AUDIT_GENERATE_KEY = True
    cp = checkpoints.sign_checkpoint()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert cp.key_id == audit_keys.key_id(audit_keys.signing_key().public_key())
    settings.AUDIT_SIGNING_KEY_ID = "0000000000000000"
    with pytest.raises(ImproperlyConfigured, match="AUDIT_SIGNING_KEY_ID"):
        audit_keys.signing_key()


def test_production_never_generates_a_key():
    env = {
        **os.environ,
        "EXPEDIENTE_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "example.org",
        "AUDIT_GENERATE_KEY": "true",
        "AUDIT_CHECKPOINT_MINUTES": "5",
        "DJANGO_SETTINGS_MODULE": "expediente.settings",
    }
    env.pop("DATABASE_URL", None)
    code = (
        "from django.conf import settings as s; "
        "print(s.AUDIT_GENERATE_KEY, s.CELERY_BEAT_SCHEDULE['audit.sign_checkpoint']['schedule'])"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.split() == ["False", "300.0"], out.stderr


def test_beat_schedule_and_task():
    entry = settings.CELERY_BEAT_SCHEDULE["audit.sign_checkpoint"]
    assert entry["task"] == "audit.tasks.sign_checkpoint"
    assert entry["schedule"] == settings.AUDIT_CHECKPOINT_MINUTES * 60
    fill(2)
    assert sign_checkpoint.apply().get() == {
        "signed": True,
        "seq": 2,
        "head": AuditEntry.objects.get(seq=2).hash,
        "key_id": audit_keys.key_id(audit_keys.signing_key().public_key()),
    }
    assert sign_checkpoint.apply().get() == {"signed": False}


def test_checkpoint_files_carry_the_public_key(django_capture_on_commit_callbacks):
    fill(3)
    with django_capture_on_commit_callbacks(execute=True):
        cp = checkpoints.sign_checkpoint()
    folder = Path(settings.AUDIT_CHECKPOINT_DIR)
    doc = json.loads((folder / checkpoints.checkpoint_file_name(cp)).read_text())
    assert {k: doc[k] for k in ("seq", "head", "key_id", "signature")} == {
        "seq": 3,
        "head": cp.head,
        "key_id": cp.key_id,
        "signature": cp.signature,
    }
    assert doc["public_key_pem"] == public_key_pem(audit_keys.signing_key().public_key())
    assert load_public_key((folder / "public-keys" / f"{cp.key_id}.pem").read_bytes())
    # Lost files are written again on request (copy them off the server again).
    (folder / checkpoints.checkpoint_file_name(cp)).unlink()
    call_command("audit_checkpoint", write_files=True)
    assert (folder / checkpoints.checkpoint_file_name(cp)).exists()


def test_key_rotation_keeps_old_checkpoints_verifiable(settings, tmp_path, pem_key):
    fill(3)
    old = checkpoints.sign_checkpoint()
    old_pem = tmp_path / "old.pem"
    old_pem.write_text(public_key_pem(audit_keys.signing_key().public_key()))
    _new_key, pem = pem_key
    settings.AUDIT_SIGNING_KEY = pem
    fill(2)
    new = checkpoints.sign_checkpoint()
    assert new.key_id != old.key_id and new.seq == 5
    result = verify_database()
    assert not result.valid and "unknown key" in result.first_error["reason"]  # old key not trusted yet
    settings.AUDIT_PUBLIC_KEYS = [str(old_pem)]
    assert verify_database().valid
    assert checkpoints.sign_checkpoint() is None  # this key already signed the head


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_never_covers_an_uncommitted_entry():
    """An append in flight holds the chain lock until it commits: the signer waits for it, so what it
    signs is committed; had the append rolled back, the signer would sign the previous head."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    fill(3)
    appended, release = threading.Event(), threading.Event()
    outcome = {}

    def business_transaction(rollback: bool):
        try:
            with transaction.atomic():
                outcome["seq"] = audit.record("budget.paid", actor=None, data={"amount": "10.00"}).seq
                appended.set()
                release.wait(10)
                if rollback:
                    raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        finally:
            connection.close()

    def signer():
        try:
            outcome["checkpoint"] = checkpoints.sign_checkpoint()
        finally:
            connection.close()

    for rollback, expected_seq in ((False, 4), (True, 4)):
        appended.clear()
        release.clear()
        writer = threading.Thread(target=business_transaction, args=(rollback,))
        writer.start()
        assert appended.wait(10)
        signing = threading.Thread(target=signer)
        signing.start()
        time.sleep(0.5)
        assert signing.is_alive(), "the signer must wait for the append in flight"
        release.set()
        writer.join(10)
        signing.join(10)
        cp = outcome.pop("checkpoint")
        if rollback:
            assert cp is None  # head unchanged (entry 5 rolled back): nothing new to sign
        else:
            assert (cp.seq, cp.head) == (expected_seq, AuditEntry.objects.get(seq=expected_seq).hash)
    assert AuditEntry.objects.count() == 4
    assert verify_database().valid
