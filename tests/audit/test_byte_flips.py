"""Property: change any single byte of an export (or of a signed checkpoint) and the stand-alone
verifier fails -- either a check fails or the input no longer parses."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import checkpoints
from audit import keys as audit_keys
from audit.models import Checkpoint
from audit.verification import checkpoint_dict
from audit.verifier import checkpoint_message, verify_export

from .helpers import export_lines, fill

pytestmark = pytest.mark.django_db
FLIPS = settings(
    max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def trail():
    fill(6)
    checkpoints.sign_checkpoint()
    data = b"".join(export_lines())
    (cp,) = [checkpoint_dict(c) for c in Checkpoint.objects.all()]
    cp.pop("public_key")  # informative only: the verifier trusts the keys it is given
    return data, cp, audit_keys.trusted_public_keys()


@FLIPS
@given(st.data())
def test_any_byte_flip_in_the_export_is_detected(trail, tmp_path, data):
    export, cp, keys = trail
    position = data.draw(st.integers(0, len(export) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda b: b != export[position]), label="byte")
    damaged = export[:position] + bytes([value]) + export[position + 1 :]
    path = tmp_path / "flipped.jsonl"
    path.write_bytes(damaged)
    assert not verify_export(str(path), [cp], keys, workers=1).valid


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_any_byte_flip_in_a_checkpoint_is_detected(trail, tmp_path, data):
    export, cp, keys = trail
    path = tmp_path / "export.jsonl"
    path.write_bytes(export)
    text = json.dumps(cp, sort_keys=True).encode()
    position = data.draw(st.integers(0, len(text) - 1), label="position")
    value = data.draw(st.integers(0, 255).filter(lambda b: b != text[position]), label="byte")
    damaged = text[:position] + bytes([value]) + text[position + 1 :]
    try:
        flipped = json.loads(damaged)
        checkpoint_message(flipped)
    except (ValueError, KeyError, TypeError):
        return  # no longer a checkpoint at all: rejected as input
    if flipped == cp:
        return  # the flip hit JSON syntax only (e.g. a space) and changed nothing
    assert not verify_export(str(path), [flipped], keys, workers=1).valid


def test_a_signature_re_encoded_with_other_padding_bits_is_refused(trail, tmp_path):
    """Regression (found by the property above in CI): base64 ignores the padding bits of the last
    character, so "…WAQ==" and "…WAa==" decode to the same signature. The verifier accepts only the
    canonical encoding, so an altered published checkpoint never passes."""
    import base64

    export, cp, keys = trail
    path = tmp_path / "export.jsonl"
    path.write_bytes(export)
    assert verify_export(str(path), [cp], keys, workers=1).valid
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    signature = cp["signature"]
    assert signature.endswith("==")  # 64 bytes: the last character carries 4 padding bits
    last = signature[-3]
    twin = alphabet[alphabet.index(last) ^ 1]
    altered = {**cp, "signature": signature[:-3] + twin + "=="}
    assert base64.b64decode(altered["signature"]) == base64.b64decode(signature)  # same bytes
    assert not verify_export(str(path), [altered], keys, workers=1).valid
