from tests.registry.conftest import new_audit  # noqa: F401  (shared fixture)
