"""The public page of the audit trail's signed checkpoints (``/reports/auditoria/``): the checkpoints
with their signatures, the public key to download, the stand-alone verifier, and the ``openssl``
instructions — run here exactly as the page prints them, against a checkpoint this test signs."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client

import audit
import audit.verifier
from audit.actions import AuditAction
from audit.checkpoints import sign_checkpoint
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

COMMAND = re.compile(r'<pre class="command" data-step="(\w+)"><code>(.*?)</code></pre>', re.S)


@pytest.fixture(autouse=True)
def _audit_key(settings, tmp_path):
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "keys" / "audit-ed25519.pem")
    settings.AUDIT_SIGNING_KEY_ID = ""
    settings.AUDIT_GENERATE_KEY = True
    settings.AUDIT_PUBLIC_KEYS = []
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "published")


def signed_checkpoint():
    person = UserFactory(
        username="control1", first_name="Carla", last_name="Quispe", roles=["internal_control"]
    )
    for _ in range(3):
        audit.record(AuditAction.TRAIL_VERIFIED, actor=person, data={"valid": True})
    checkpoint = sign_checkpoint()
    assert checkpoint is not None
    return checkpoint, person


def commands(page: str) -> dict[str, str]:
    return {step: html.unescape(code) for step, code in COMMAND.findall(page)}


def test_the_page_lists_checkpoints_keys_and_the_verifier_to_anyone():
    checkpoint, person = signed_checkpoint()
    public = Client()
    response = public.get("/reports/auditoria/")
    assert response.status_code == 200
    page = response.content.decode()
    for shown in (checkpoint.head, checkpoint.signature, checkpoint.key_id, str(checkpoint.seq)):
        assert shown in page
    assert person.username not in page and "Quispe" not in page  # who did what stays in the trail
    key = public.get(f"/reports/auditoria/claves/{checkpoint.key_id}.pem")
    assert key.status_code == 200 and key.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    assert key.content.decode() in html.unescape(page)
    assert public.get("/reports/auditoria/claves/0000000000000000.pem").status_code == 404
    verifier = public.get("/reports/auditoria/verifier.py")
    assert verifier.status_code == 200
    assert verifier.content == Path(audit.verifier.__file__).read_bytes()
    assert "attachment" in verifier["Content-Disposition"]


def test_the_page_without_checkpoints_says_so():
    page = Client().get("/reports/auditoria/").content.decode()
    assert 'data-step="verify"' not in page


def test_the_openssl_instructions_work_as_printed(tmp_path):
    if not (shutil.which("openssl") and shutil.which("base64") and shutil.which("sha256sum")):
        pytest.skip("openssl, base64 and sha256sum are needed to run the page's instructions")
    checkpoint, _person = signed_checkpoint()
    public = Client()
    steps = commands(public.get("/reports/auditoria/").content.decode())
    assert set(steps) == {"key", "message", "signature", "verify"}
    work = tmp_path / "outsider"
    work.mkdir()
    # Step 1: the page's curl downloads what this URL serves; the rest of the step runs as printed.
    curl, check_id = steps["key"].splitlines()
    url = curl.split()[-1]
    assert url.endswith(f"/reports/auditoria/claves/{checkpoint.key_id}.pem")
    (work / "expediente-audit.pem").write_bytes(public.get(url[url.index("/reports/") :]).content)

    def run(command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    assert run(check_id).stdout.strip() == checkpoint.key_id
    assert run(steps["message"]).returncode == 0
    assert run(steps["signature"]).returncode == 0
    assert len((work / "checkpoint.sig").read_bytes()) == 64
    verified = run(steps["verify"])
    assert verified.returncode == 0 and "Signature Verified Successfully" in verified.stdout, verified

    # The same commands refuse a checkpoint whose head was changed.
    message = (work / "checkpoint.msg").read_bytes()
    flipped = checkpoint.head[:-1] + ("0" if checkpoint.head[-1] != "0" else "1")
    (work / "checkpoint.msg").write_bytes(message.replace(checkpoint.head.encode(), flipped.encode()))
    refused = run(steps["verify"])
    assert refused.returncode != 0 and "Signature Verification Failure" in refused.stdout + refused.stderr
