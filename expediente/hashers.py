"""The password hasher: Argon2id with parameters stated here, not Django's defaults.

Why these parameters (measured and argued in docs/BENCHMARKS.md, section "Web tier"):

- OWASP's Password Storage Cheat Sheet gives Argon2id rows of equal defence (m=47104 KiB t=1,
  m=19456 KiB t=2, m=12288 KiB t=3, m=9216 KiB t=4, m=7168 KiB t=5, all p=1) as its minimum, beside
  600,000 iterations as its minimum for PBKDF2-HMAC-SHA256. Until now we stored PBKDF2-HMAC-SHA256 at
  Django 6.1's 1,500,000 iterations: 2.5 times that minimum. So we take at least 2.5 times the work of
  the *largest* Argon2id row: memory x passes >= 2.5 x 47,104 = 117,760 KiB. 31,744 KiB x 4 passes =
  126,976 KiB (2.7x the 46 MiB row, 3.3x the 19 MiB row).
- Not equal everywhere: for an attacker guessing on CPUs one guess costs 64 ms instead of PBKDF2's
  336 ms (5x cheaper). The gain is against GPUs and custom hardware, where each guess must hold and
  re-read 31 MiB instead of a few hundred bytes of SHA-256 state.
- 31 MiB, not 32 or more: glibc hands allocations under 32 MiB back to the heap and reuses them, so a
  long-lived web worker does not fault in fresh pages for every hash; from 32 MiB on every hash pays
  ~20 ms of page faults on top of the same work (bench/web_bench.py: 31 MiB x 4 = 64 ms of CPU,
  32 MiB x 4 = 85 ms).
- One lane (p=1): a web worker hashes on one core; more lanes shorten one login's wall time but not
  the CPU a burst of logins needs, and it is the CPU that two cores run out of.

Django's ``Argon2PasswordHasher`` (algorithm ``argon2``, the same encoded form) verifies every
Argon2 hash whatever its parameters, and ``must_update`` re-hashes one with other parameters at the
next successful login, as it re-hashes PBKDF2 hashes (PBKDF2 stays in ``PASSWORD_HASHERS`` for that).
"""

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idPasswordHasher(Argon2PasswordHasher):
    """Argon2id (argon2-cffi), 31 MiB, 4 passes, 1 lane, 16-byte salt, 32-byte hash."""

    memory_cost = 31_744  # KiB
    time_cost = 4
    parallelism = 1
