from contextlib import contextmanager

import pytest

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _audit_tables_flushable():
    """The audit tables refuse DELETE/TRUNCATE (database triggers); let the flush that ends each
    transactional test empty them anyway (test databases only, see ``audit.testing``)."""
    from audit.testing import flushable_audit_tables

    with flushable_audit_tables():
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users; the production hasher (Argon2id, expediente/hashers.py) is deliberately
    slow."""
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Uploaded files and checkpoint exports of a test go to its own temporary folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Each test starts with an empty cache, so API throttling (e.g. the login scope of
    ``/api/v1/auth/token/``) counts only that test's requests. The cache is a table of the database
    (the default ``CACHE_URL=dbcache://…``, shared by every web process), so only a test with the
    database has one."""
    from django.core.cache import cache

    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db"} & set(request.fixturenames)
    )
    if uses_db:
        request.getfixturevalue("_django_db_helper")
        cache.clear()
    yield
    if uses_db:
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


@pytest.fixture(scope="module")
def module_db(django_db_setup, django_db_blocker, tmp_path_factory):
    """One transaction around a whole module, rolled back when the module ends, for data that costs too
    much to build for each test (e.g. cases driven through the task API). A module-scoped fixture
    builds it once, through the services, under ``with module_db():``; each test still runs in its own
    savepoint inside this transaction (pytest-django's ``db``), so what a test changes is rolled back
    before the next test. Not for modules with transactional tests. The build gets what the fixtures
    above give each test: a fast hasher, private media and checkpoint folders, eager tasks, an empty
    cache."""
    from django.core.cache import cache
    from django.db import transaction
    from django.test.utils import override_settings

    from expediente.celery import app

    folder = tmp_path_factory.mktemp("module-db")
    previous_eager = app.conf.task_always_eager
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic._from_testcase = True  # as Django's TestCase marks its own: durable blocks may nest in it
        atomic.__enter__()

    @contextmanager
    def building():
        overridden = override_settings(
            PASSWORD_HASHERS=FAST_HASHERS,
            MEDIA_ROOT=str(folder / "media"),
            AUDIT_CHECKPOINT_DIR=str(folder / "checkpoints"),
        )
        with django_db_blocker.unblock(), overridden:
            app.conf.task_always_eager = True
            cache.clear()
            try:
                yield
            finally:
                app.conf.task_always_eager = previous_eager
                cache.clear()

    try:
        yield building
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
