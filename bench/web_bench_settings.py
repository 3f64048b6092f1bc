"""Settings of the reference login servers of bench/web_bench.py: the production settings with one other
password hasher (``WEB_BENCH_HASHER``), to time a burst of logins with it beside the configured Argon2id
in the same run. Only the benchmark uses this module (``gunicorn --pythonpath bench``).

- ``pbkdf2``: PBKDF2-HMAC-SHA256 at Django 6.1's 1,500,000 iterations: what the project used before.
- ``owasp-min``: Argon2id at OWASP's minimum row (19 MiB, 2 passes): weaker than what we had; timed only
  to show whether even that would reach the login target.
- ``floor``: salted MD5, one pass: next to no hashing cost, so the login's own cost. Never for production.
"""

import os

from expediente.settings import *  # noqa: F403

VARIANTS = {
    "pbkdf2": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "owasp-min": "web_bench_hashers.OwaspMinimumArgon2idHasher",
    "floor": "django.contrib.auth.hashers.MD5PasswordHasher",
}
PASSWORD_HASHERS = [VARIANTS[os.environ["WEB_BENCH_HASHER"]]]
