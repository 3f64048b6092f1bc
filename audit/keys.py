"""The Ed25519 key that signs checkpoints, and the public keys that verify them.

The private key never lives in the database: it comes from ``AUDIT_SIGNING_KEY`` (PEM text) or the file
``AUDIT_SIGNING_KEY_FILE``. With ``AUDIT_GENERATE_KEY`` (development default) a missing key file is
created on first use, readable by its owner only; production never generates one. ``AUDIT_SIGNING_KEY_ID``,
when set, must equal the loaded key's id (a guard against deploying the wrong key).

Verification needs only public keys: the signing key's (when this process can read it) plus the PEM
files listed in ``AUDIT_PUBLIC_KEYS`` (keys retired by a rotation, or the signer's key on web servers
that must not hold the private key).
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .verifier import key_id_for, load_public_key, public_key_pem, raw_public_bytes

logger = logging.getLogger(__name__)


class SigningKeyUnavailable(ImproperlyConfigured):
    """No signing key is configured (and generating one is not allowed)."""


def _parse_private(pem: bytes, origin: str) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{origin} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{origin} is not an Ed25519 key")
    return key


def _generate(path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process generated it first
        return _parse_private(path.read_bytes(), str(path))
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    logger.warning(
        "Generated a development audit signing key at %s (key id %s)", path, key_id(key.public_key())
    )
    return key


def signing_key(*, generate: bool | None = None) -> Ed25519PrivateKey:
    """The configured private key. Raises ``SigningKeyUnavailable`` when there is none."""
    text = (settings.AUDIT_SIGNING_KEY or "").strip()
    if text:
        key = _parse_private(text.replace("\\n", "\n").encode("ascii"), "AUDIT_SIGNING_KEY")
    else:
        path = Path(settings.AUDIT_SIGNING_KEY_FILE) if settings.AUDIT_SIGNING_KEY_FILE else None
        if path is not None and path.is_file():
            key = _parse_private(path.read_bytes(), str(path))
        elif path is not None and (settings.AUDIT_GENERATE_KEY if generate is None else generate):
            key = _generate(path)
        else:
            raise SigningKeyUnavailable(
                "No audit signing key: set AUDIT_SIGNING_KEY (PEM) or AUDIT_SIGNING_KEY_FILE to an "
                "Ed25519 private key (openssl genpkey -algorithm ed25519 -out key.pem)."
            )
    expected = (getattr(settings, "AUDIT_SIGNING_KEY_ID", "") or "").strip()
    if expected and expected != key_id(key.public_key()):
        raise ImproperlyConfigured(
            f"AUDIT_SIGNING_KEY_ID is {expected} but the configured key's id is {key_id(key.public_key())}"
        )
    return key


def key_id(public_key: Ed25519PublicKey) -> str:
    return key_id_for(raw_public_bytes(public_key))


def public_key_b64(public_key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public_bytes(public_key)).decode("ascii")


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """``{key_id: key}``: the signing key's public half (if readable) and ``AUDIT_PUBLIC_KEYS``."""
    keys: list[Ed25519PublicKey] = []
    try:
        keys.append(signing_key(generate=False).public_key())
    except (ImproperlyConfigured, OSError) as exc:
        logger.debug("audit signing key not available for verification: %s", exc)
    for path in getattr(settings, "AUDIT_PUBLIC_KEYS", []) or []:
        try:
            keys.append(load_public_key(Path(path).read_bytes()))
        except (OSError, ValueError) as exc:
            raise ImproperlyConfigured(f"AUDIT_PUBLIC_KEYS: cannot read {path}: {exc}") from exc
    return {key_id(k): k for k in keys}


def describe(public_key: Ed25519PublicKey) -> dict:
    return {
        "key_id": key_id(public_key),
        "algorithm": "ed25519",
        "public_key": public_key_b64(public_key),
        "public_key_pem": public_key_pem(public_key),
    }
