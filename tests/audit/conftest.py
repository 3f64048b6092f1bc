import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat


@pytest.fixture(autouse=True)
def _audit_key(settings, tmp_path):
    """Each test signs with its own key file in its temporary folder (never the repository's var/)."""
    settings.AUDIT_SIGNING_KEY = ""
    settings.AUDIT_SIGNING_KEY_FILE = str(tmp_path / "keys" / "audit-ed25519.pem")
    settings.AUDIT_SIGNING_KEY_ID = ""
    settings.AUDIT_GENERATE_KEY = True
    settings.AUDIT_PUBLIC_KEYS = []


@pytest.fixture
def pem_key():
    key = Ed25519PrivateKey.generate()
    return key, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


@pytest.fixture
def control_user(db):
    from tests.factories import UserFactory

    return UserFactory(
        username="control1", first_name="Carla", last_name="Quispe", roles=["internal_control"]
    )


@pytest.fixture
def admin_user(db):
    from tests.factories import UserFactory

    return UserFactory(username="admin1", roles=["admin"])


@pytest.fixture
def applicant(db):
    from tests.factories import ApplicantFactory

    return ApplicantFactory(username="solicitante1")
