"""The stand-alone verifier: a script with no Django and no database, exit status 0/1/2."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from audit import checkpoints
from audit import keys as audit_keys
from audit.verification import export_to
from audit.verifier import main, public_key_pem

from .helpers import fill, sql, triggers_lifted

pytestmark = pytest.mark.django_db
VERIFIER = Path(__file__).resolve().parents[2] / "audit" / "verifier.py"


@pytest.fixture
def published(tmp_path, django_capture_on_commit_callbacks):
    """An export, the checkpoint files the server wrote, and the public key obtained separately."""
    fill(12)
    with django_capture_on_commit_callbacks(execute=True):  # files are written after commit
        checkpoints.sign_checkpoint()
    fill(3)
    with django_capture_on_commit_callbacks(execute=True):
        checkpoints.sign_checkpoint()
    export = tmp_path / "trail.jsonl"
    call_command("audit_verify", export=str(export), export_checkpoints=str(tmp_path / "cps.json"))
    key = tmp_path / "agency.pem"
    key.write_text(public_key_pem(audit_keys.signing_key().public_key()))
    return export, Path(settings.AUDIT_CHECKPOINT_DIR), key, tmp_path / "cps.json"


def test_cli_accepts_an_intact_export(published, capsys):
    export, folder, key, cps_json = published
    assert sorted(p.name for p in folder.glob("checkpoint-*.json")) == [
        f"checkpoint-{seq:012d}-{audit_keys.key_id(audit_keys.signing_key().public_key())}.json"
        for seq in (12, 15)
    ]
    assert main([str(export), "--checkpoints", str(folder), "--public-key", str(key)]) == 0
    assert "OK: 15 entries" in capsys.readouterr().out
    assert main([str(export), "--checkpoints", str(cps_json), "--public-key", str(key), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["valid"] is True and result["checkpoints"] == 2


def test_cli_names_the_first_bad_entry(published, capsys):
    export, folder, key, _ = published
    lines = export.read_bytes().splitlines(keepends=True)
    export.write_bytes(b"".join(lines[:6] + lines[7:]))
    assert main([str(export), "--checkpoints", str(folder), "--public-key", str(key)]) == 1
    assert "first bad entry seq 7" in capsys.readouterr().out


def test_cli_usage_errors(published, tmp_path):
    export, folder, _key, _ = published
    assert main([str(tmp_path / "missing.jsonl")]) == 2
    assert main([str(export), "--checkpoints", str(folder)]) == 2  # checkpoints need a trusted key
    (tmp_path / "bad.pem").write_text("not a key")
    assert main([str(export), "--checkpoints", str(folder), "--public-key", str(tmp_path / "bad.pem")]) == 2
    # With the keys embedded in the published files (weaker, stated in --help) it also runs.
    assert main([str(export), "--checkpoints", str(folder), "--trust-embedded-keys"]) == 0


def test_runs_in_place_as_documented(published):
    """``python audit/verifier.py ...`` from the project folder (audit/ must not shadow the stdlib)."""
    export, folder, key, _ = published
    args = [str(export), "--checkpoints", str(folder), "--public-key", str(key), "--workers", "2"]
    root = VERIFIER.parents[1]
    done = subprocess.run(
        [sys.executable, "audit/verifier.py", *args], capture_output=True, text=True, cwd=root
    )
    assert done.returncode == 0, done.stderr
    assert "OK: 15 entries" in done.stdout


def test_runs_without_the_application(published, tmp_path):
    """Copied alone to another folder and run in isolated mode: no Django, no project imports."""
    export, folder, key, _ = published
    alone = tmp_path / "elsewhere" / "verifier.py"
    alone.parent.mkdir()
    alone.write_bytes(VERIFIER.read_bytes())
    probe = (
        "import runpy, sys; sys.argv = sys.argv[1:]; "
        "code = 0\n"
        "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit as exc:\n    code = exc.code\n"
        "app = ('django.', 'audit', 'expediente')\n"
        "assert not any(m == 'django' or m.startswith(app) for m in sys.modules), 'imported the app'\n"
        "sys.exit(code)"
    )
    args = [str(alone), str(export), "--checkpoints", str(folder), "--public-key", str(key), "--workers", "2"]
    ok = subprocess.run(
        [sys.executable, "-I", "-c", probe, *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert ok.returncode == 0, ok.stderr + ok.stdout
    with triggers_lifted():
        sql("UPDATE audit_auditentry SET actor_label = 'x' WHERE seq = 9")
    export_to(str(export))
    bad = subprocess.run(
        [sys.executable, "-I", str(alone), *args[1:]], capture_output=True, text=True, cwd=tmp_path
    )
    assert bad.returncode == 1
    assert "first bad entry seq 9" in bad.stdout
