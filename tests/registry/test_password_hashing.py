"""The production password hasher: Argon2id at the parameters of expediente/hashers.py first, PBKDF2
kept so that hashes stored before the switch verify and are re-hashed at the next login.

The suite's autouse fixture hashes with MD5 for speed; these tests put the configured list back (one
Argon2id hash costs about 70 ms, so they stay fast)."""

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher, get_hasher, identify_hasher
from django.urls import reverse

from expediente import settings as configured
from expediente.hashers import Argon2idPasswordHasher
from registry.models import User
from tests.factories import DEMO_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = configured.PASSWORD_HASHERS


def test_the_configured_first_hasher_is_argon2id_with_the_chosen_parameters(production_hashers):
    assert configured.PASSWORD_HASHERS[0] == "expediente.hashers.Argon2idPasswordHasher"
    assert "django.contrib.auth.hashers.PBKDF2PasswordHasher" in configured.PASSWORD_HASHERS
    hasher = get_hasher("default")
    assert isinstance(hasher, Argon2idPasswordHasher)
    params = hasher.params()
    assert (params.memory_cost, params.time_cost, params.parallelism) == (31_744, 4, 1)
    assert params.type.name == "ID"
    # At least 2.5 times OWASP's largest Argon2id row (46 MiB x 1 pass), as PBKDF2's 1,500,000
    # iterations are 2.5 times OWASP's 600,000 (expediente/hashers.py).
    assert params.memory_cost * params.time_cost >= 2.5 * 47_104
    encoded = hasher.encode("una clave larga", hasher.salt())
    assert encoded.startswith("argon2$argon2id$v=19$m=31744,t=4,p=1$")
    assert hasher.verify("una clave larga", encoded)
    assert not hasher.verify("otra clave", encoded)


def test_a_pbkdf2_hash_is_upgraded_to_argon2id_at_the_next_login(production_hashers, client):
    user = UserFactory(username="evaluador1")
    # A hash stored before the switch (few iterations only to keep the test fast: any PBKDF2 hash is
    # re-hashed, whatever its iterations, because PBKDF2 is no longer the first hasher).
    pbkdf2 = PBKDF2PasswordHasher()
    User.objects.filter(pk=user.pk).update(
        password=pbkdf2.encode(DEMO_PASSWORD, pbkdf2.salt(), iterations=1_000)
    )

    response = client.post(reverse("login"), {"username": "evaluador1", "password": DEMO_PASSWORD})

    assert response.status_code == 302
    stored = User.objects.get(pk=user.pk).password
    assert isinstance(identify_hasher(stored), Argon2idPasswordHasher)
    assert stored.startswith("argon2$argon2id$v=19$m=31744,t=4,p=1$")
    client.post(reverse("logout"))
    # The new hash verifies, and a wrong password still does not (nor re-hashes anything).
    assert client.post(reverse("login"), {"username": "evaluador1", "password": "otra"}).status_code == 200
    assert User.objects.get(pk=user.pk).password == stored
    response = client.post(reverse("login"), {"username": "evaluador1", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).password == stored


def test_an_argon2_hash_with_other_parameters_is_rehashed_too(production_hashers, client):
    """Django's default Argon2 parameters (or earlier ones of ours) are brought to ours on login."""
    user = UserFactory(username="legal1")
    weaker = Argon2idPasswordHasher()
    weaker.memory_cost, weaker.time_cost = 8_192, 1
    User.objects.filter(pk=user.pk).update(password=weaker.encode(DEMO_PASSWORD, weaker.salt()))

    response = client.post(reverse("login"), {"username": "legal1", "password": DEMO_PASSWORD})

    assert response.status_code == 302
    assert User.objects.get(pk=user.pk).password.startswith("argon2$argon2id$v=19$m=31744,t=4,p=1$")
