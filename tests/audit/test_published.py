"""The checkpoints already published (files in AUDIT_CHECKPOINT_DIR, or copies kept off the server) are
trusted over the database's own checkpoint table: a database owner who lifted the triggers, rewrote
the chain and deleted or replaced checkpoint rows is caught by ``audit_verify``, the API and the page,
and the signer refuses to sign anything that contradicts what was published."""

import base64
import json
import logging
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from audit import checkpoints
from audit import keys as audit_keys
from audit.chain import utc_text
from audit.models import AuditEntry, Checkpoint
from audit.published import Published
from audit.verification import verify_and_describe, verify_database
from audit.verifier import checkpoint_message

from .helpers import fill, sql, triggers_lifted
from .test_tamper import rehash_from

pytestmark = pytest.mark.django_db


@pytest.fixture
def publish(django_capture_on_commit_callbacks):
    """Sign a checkpoint as production does, its file written to AUDIT_CHECKPOINT_DIR after commit."""

    def sign():
        with django_capture_on_commit_callbacks(execute=True):
            cp = checkpoints.sign_checkpoint()
        assert cp is not None
        assert (folder() / checkpoints.checkpoint_file_name(cp)).exists()
        return cp

    return sign


def folder() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_DIR)


def files() -> list[str]:
    return sorted(p.name for p in folder().glob("checkpoint-*.json"))


def rewrite_entry_2() -> None:
    """What the reproduction did: edit entry 2 and re-hash every later entry consistently."""
    sql("""UPDATE audit_auditentry SET data = '{"amount": "1.00"}' WHERE seq = 2""")
    rehash_from(2)


def assert_refused(match: str) -> None:
    before = list(Checkpoint.objects.values_list("seq", "key_id", "signature"))
    published = files()
    with pytest.raises(checkpoints.TrailIntegrityError, match=match):
        checkpoints.sign_checkpoint()
    with pytest.raises(CommandError) as exc:
        call_command("audit_checkpoint")
    assert exc.value.returncode == 1
    assert list(Checkpoint.objects.values_list("seq", "key_id", "signature")) == before
    assert files() == published


def assert_invalid(seq: int, code: str) -> dict:
    result = verify_database()
    assert not result.valid, "tampering went unnoticed"
    assert (result.first_error["seq"], result.first_error["code"]) == (seq, code), result.first_error
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify")
    assert exc.value.returncode == 1
    assert f"first bad entry seq {seq}" in str(exc.value)
    return result.first_error


def test_an_intact_trail_with_published_checkpoints(publish):
    fill(4)
    publish()
    fill(4)
    publish()
    fill(2)
    payload = verify_and_describe()
    assert payload["valid"], payload["first_error"]
    assert (payload["checkpoints"], payload["published_checkpoints"]) == (2, 2)  # each counted once
    assert not any("published" in w for w in payload["warnings"])
    assert publish().seq == AuditEntry.objects.count()  # the signer goes on as usual
    call_command("audit_verify")  # exit 0


def test_a_checkpoint_not_published_yet_is_not_a_disagreement(publish):
    """Files are written after the commit (and copies kept elsewhere lag behind): a row without its
    file is fine; only a published checkpoint the table lacks or holds differently is a finding."""
    fill(3)
    publish()
    fill(2)
    checkpoints.sign_checkpoint()  # no commit here: no file yet
    assert Checkpoint.objects.count() == 2 and len(files()) == 1
    assert verify_database().valid
    fill(1)
    assert checkpoints.sign_checkpoint().seq == AuditEntry.objects.count()


def test_rewrite_with_the_checkpoint_table_emptied_is_caught(publish, caplog):
    """The reproduction: triggers lifted, entry 2 rewritten, the rest re-hashed, every checkpoint row
    deleted. The table alone would now say "OK"; the published checkpoints do not."""
    fill(4)
    first = publish()
    fill(4)
    publish()
    with triggers_lifted():
        rewrite_entry_2()
        sql("DELETE FROM audit_checkpoint")
    error = assert_invalid(4, "checkpoint_mismatch")
    assert first.signed_at.isoformat()[:19] in error["reason"].replace(" ", "T")
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="audit.checkpoints"):
        assert_refused("missing from the database")
    assert any("NOT signed" in r.getMessage() for r in caplog.records)  # logged for the operators


def test_signer_refuses_a_head_contradicting_a_published_checkpoint(publish):
    """Even with the table made to agree (rows deleted) the signer would have signed a new head over
    a rewritten chain; the published checkpoint stops it."""
    fill(4)
    publish()
    fill(2)
    with triggers_lifted():
        rewrite_entry_2()
        sql("DELETE FROM audit_checkpoint")
    assert_refused("checkpoint at seq 4")
    assert not Checkpoint.objects.exists()


def test_truncation_hidden_by_deleting_the_newest_row(publish):
    """Delete the newest checkpoint row and the tail it covered: the signer must not sign the shorter
    trail, and the verification names the first missing entry."""
    fill(4)
    publish()
    fill(4)
    publish()
    with triggers_lifted():
        sql("DELETE FROM audit_checkpoint WHERE seq = 8")
        sql("DELETE FROM audit_auditentry WHERE seq > 6")
    assert_invalid(7, "truncated")
    assert_refused("missing from the database")
    assert list(Checkpoint.objects.values_list("seq", flat=True)) == [4]


def test_truncation_below_the_newest_published_checkpoint_is_refused_even_with_the_row_back(publish):
    """The rows agree with the files (nothing deleted from the table) but the tail was cut: the signer
    refuses to sign the smaller seq."""
    fill(6)
    publish()
    with triggers_lifted():
        sql("DELETE FROM audit_auditentry WHERE seq > 4")
    assert_refused("entries were removed")
    assert_invalid(5, "truncated")


def test_published_checkpoint_missing_from_the_table(publish):
    fill(4)
    publish()
    fill(3)
    publish()
    with triggers_lifted():
        sql("DELETE FROM audit_checkpoint WHERE seq = 4")
    error = assert_invalid(4, "checkpoint_missing")
    assert "missing from the database's checkpoint table" in error["reason"]
    assert_refused("checkpoint at seq 4")


def test_checkpoint_row_replaced_by_a_re_signed_one(publish):
    """Someone with the database and the signing key replaces a row by another signature of the same
    head (other time): it verifies by itself, but it is not what was published."""
    fill(4)
    cp = publish()
    key = audit_keys.signing_key()
    when = timezone.now()
    forged = {"seq": 4, "head": cp.head, "signed_at": utc_text(when), "key_id": cp.key_id}
    forged["origin"] = cp.origin
    signature = base64.b64encode(key.sign(checkpoint_message(forged))).decode()
    with triggers_lifted():
        sql("DELETE FROM audit_checkpoint")
        sql(
            "INSERT INTO audit_checkpoint (seq, head, signed_at, origin, key_id, public_key, signature) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [4, cp.head, when, cp.origin, cp.key_id, cp.public_key, signature],
        )
    assert verify_database(published=Published()).valid  # by itself, the table looks sound
    error = assert_invalid(4, "checkpoint_replaced")
    assert "differs from the one published" in error["reason"]
    fill(1)
    assert_refused("differs from the one published")


def test_forged_or_damaged_file_in_the_checkpoint_folder(publish):
    fill(5)
    cp = publish()
    doc = json.loads((folder() / checkpoints.checkpoint_file_name(cp)).read_text())
    forged = {**doc, "seq": 3, "head": AuditEntry.objects.get(seq=3).hash}  # signature not redone
    (folder() / "checkpoint-000000000003-forged.json").write_text(json.dumps(forged))
    assert verify_database().first_error["code"] == "checkpoint_signature"
    assert_refused("invalid signature")
    (folder() / "checkpoint-000000000003-forged.json").write_text("{not json")
    result = verify_database()
    assert (result.first_error["seq"], result.first_error["code"]) == (3, "checkpoint_malformed")
    assert "cannot be read" in result.first_error["reason"]
    assert_refused("cannot be read")


def test_off_server_copy_given_to_audit_verify(publish, tmp_path):
    """The owner also emptied the server's checkpoint folder: only the copy internal control kept
    elsewhere (``audit_verify --checkpoints``) still shows the rewrite."""
    fill(4)
    publish()
    fill(4)
    publish()
    offsite = tmp_path / "offsite"
    shutil.copytree(folder(), offsite)
    api_copy = tmp_path / "api.json"
    api_copy.write_text(json.dumps(APIClient().get("/api/v1/audit/checkpoints/").json()))
    with triggers_lifted():
        rewrite_entry_2()
        sql("DELETE FROM audit_checkpoint")
    shutil.rmtree(folder())
    call_command("audit_verify")  # what the server alone can still tell: nothing
    for source in (offsite, api_copy):
        with pytest.raises(CommandError) as exc:
            call_command("audit_verify", checkpoints=[str(source)])
        assert exc.value.returncode == 1
        assert "first bad entry seq 4" in str(exc.value)
        assert "differs from the checkpoint" in str(exc.value)
    with pytest.raises(CommandError) as exc:
        call_command("audit_verify", checkpoints=[str(tmp_path / "nowhere")])
    assert exc.value.returncode == 2


def test_the_api_and_the_verify_page_use_the_published_checkpoints(publish, client, control_user):
    fill(4)
    cp = publish()
    with triggers_lifted():
        rewrite_entry_2()
        sql("DELETE FROM audit_checkpoint")
    api = APIClient()
    api.force_authenticate(control_user)
    body = api.get("/api/v1/audit/verify/").json()
    assert body["valid"] is False and body["published_checkpoints"] == 1
    assert (body["first_error"]["seq"], body["first_error"]["code"]) == (cp.seq, "checkpoint_mismatch")
    client.force_login(control_user)
    html = client.post(reverse("audit:verify")).content.decode()
    assert "ALTERADA" in html and f"#{cp.seq}" in html


def test_verify_page_says_when_nothing_was_published(client, control_user):
    fill(3)
    checkpoints.sign_checkpoint()  # no commit: no file
    client.force_login(control_user)
    html = client.post(reverse("audit:verify")).content.decode()
    assert "No se encontró ningún archivo de puntos de control publicados" in html
    assert any("no published checkpoint" in w for w in verify_and_describe()["warnings"])
