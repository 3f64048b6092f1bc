from tests.iniciativas.conftest import world  # noqa: F401  (the same staff, units and PROLECHE line)
