"""Fixtures shared by the approvals tests: ``world`` (the small agency of
``tests.iniciativas.conftest``), ``clock`` (frozen at Monday 3 Aug 2026, 09:00 La Paz) and
``agency`` (the world built under that clock). See ``tests/approvals/clock.py``."""

from tests.approvals.clock import agency, clock  # noqa: F401 - fixtures
from tests.iniciativas.conftest import world  # noqa: F401 - fixture
