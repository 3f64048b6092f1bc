from tests.iniciativas.conftest import world  # noqa: F401 - fixture
