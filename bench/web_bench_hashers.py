"""A reference hasher of bench/web_bench.py (see web_bench_settings.py); never configured in production."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspMinimumArgon2idHasher(Argon2PasswordHasher):
    """Argon2id at OWASP's minimum row: 19 MiB, 2 passes, 1 lane."""

    memory_cost = 19_456
    time_cost = 2
    parallelism = 1
