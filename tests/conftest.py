import pytest


@pytest.fixture(scope="session", autouse=True)
def _audit_tables_flushable():
    """The audit tables refuse DELETE/TRUNCATE (database triggers); let the flush that ends each
    transactional test empty them anyway (test databases only, see ``audit.testing``)."""
    from audit.testing import flushable_audit_tables

    with flushable_audit_tables():
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users; the production hasher (PBKDF2) is deliberately slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Uploaded files and checkpoint exports of a test go to its own temporary folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache, so API throttling (e.g. the login scope of
    ``/api/v1/auth/token/``) counts only that test's requests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _celery_tasks_in_process(request):
    """Every test runs its Celery tasks in-process (eagerly), as the embedded set-up does, even in the
    CI pass where ``CELERY_BROKER_URL`` is set; only tests marked ``integration`` send them through the
    real broker to the real worker started by ``.ci/run``."""
    from expediente.celery import app

    if request.node.get_closest_marker("integration"):
        yield
        return
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = previous
