"""Bounded waits (cases.contention, docs/ARCHITECTURE.md "Contention"): a lock not granted in time,
a deadlock or a serialization failure during a state-changing request is run again once when the
first run committed nothing, then answered 409 — JSON on the API, a Spanish page elsewhere; a
statement timeout or a cut connection is a 503. Never a 500.

The first tests drive the middleware with views that fail the way the database fails (the driver's
own error classes, wrapped as Django wraps them), on both databases; the PostgreSQL tests hold a
real row lock from another connection and cut the web connection with ``pg_terminate_backend``."""

import json

import psycopg
import pytest
from django.contrib.auth.models import Group
from django.db import OperationalError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import translation

from cases import contention

LOCKED = psycopg.errors.LockNotAvailable
DEADLOCK = psycopg.errors.DeadlockDetected
CANCELED = psycopg.errors.QueryCanceled


def db_error(cause_class):
    """An error as Django raises it from the driver's: ``OperationalError`` caused by the driver's."""
    try:
        raise cause_class("from the database")
    except psycopg.Error as cause:
        try:
            raise OperationalError(str(cause)) from cause
        except OperationalError as exc:
            return exc


class FailingView:
    """A view that fails with ``errors`` (one per call, in order) and then answers 200."""

    def __init__(self, *errors, before=None):
        self.errors = list(errors)
        self.before = before
        self.calls = 0

    def __call__(self, request):
        self.calls += 1
        if self.before is not None:
            self.before()
        if self.errors:
            raise self.errors.pop(0)
        return HttpResponse("ok")


def run(view, method="post", path="/api/v1/tasks/1/complete/", **kwargs):
    factory = RequestFactory()
    if method == "post":
        request = factory.post(path, {"decision": "approve"}, content_type="application/json", **kwargs)
    else:
        request = getattr(factory, method)(path, **kwargs)
    middleware = contention.ContentionMiddleware(lambda r: HttpResponse("unused"))
    with translation.override("es"):
        return middleware.process_view(request, view, (), {})


def test_errors_are_told_apart():
    assert contention.classify(db_error(LOCKED)) == contention.CONTENTION
    assert contention.classify(db_error(DEADLOCK)) == contention.CONTENTION
    assert contention.classify(db_error(psycopg.errors.SerializationFailure)) == contention.CONTENTION
    assert contention.classify(db_error(CANCELED)) == contention.TIMEOUT
    assert contention.classify(db_error(psycopg.errors.AdminShutdown)) == contention.DISCONNECTED
    assert contention.classify(db_error(psycopg.errors.UniqueViolation)) is None
    assert contention.classify(ValueError("not the database")) is None


def test_sqlite_database_is_locked_is_a_409_without_a_second_wait():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's own message")
    assert contention.classify(OperationalError("no such table: x")) is None
    locked = OperationalError("database is locked")
    assert contention.classify(locked) == contention.CONTENTION
    # It already waited SQLITE_TIMEOUT (30 s) for the write lock: no second run.
    view = FailingView(locked)
    response = run(view)
    assert (response.status_code, view.calls) == (409, 1)


def test_contention_once_is_run_again_and_succeeds():
    view = FailingView(db_error(LOCKED))
    response = run(view)
    assert (response.status_code, view.calls) == (200, 2)


def test_contention_twice_is_a_409_in_the_api_error_shape():
    view = FailingView(db_error(LOCKED), db_error(DEADLOCK))
    response = run(view)
    assert (response.status_code, view.calls) == (409, 2)
    assert response["Content-Type"] == "application/json"
    assert "No se guardó nada" in json.loads(response.content)["detail"]


@pytest.mark.django_db
def test_contention_on_a_page_is_a_spanish_409_page(world):
    view = FailingView(db_error(LOCKED), db_error(LOCKED))
    request_user = world.staff["evaluador1"]
    factory = RequestFactory()
    request = factory.post("/tasks/1/", {"decision": "approve"})
    request.user = request_user
    with translation.override("es"):
        response = contention.ContentionMiddleware(lambda r: None).process_view(request, view, (), {})
    # In this test's transaction (no retry inside an open transaction): one call, then the page.
    assert (response.status_code, view.calls) == (409, 1)
    page = response.content.decode()
    assert "Vuelva a intentarlo" in page and "No se guardó nada" in page and "<html" in page


def test_a_read_is_not_run_again():
    view = FailingView(db_error(LOCKED), db_error(LOCKED))
    response = run(view, method="get", path="/api/v1/tasks/")
    assert (response.status_code, view.calls) == (409, 1)


def test_a_statement_timeout_is_a_503_and_not_run_again():
    view = FailingView(db_error(CANCELED))
    response = run(view)
    assert (response.status_code, view.calls) == (503, 1)
    assert json.loads(response.content)["detail"]


def test_other_database_errors_are_not_ours():
    with pytest.raises(OperationalError):
        run(FailingView(db_error(psycopg.errors.UndefinedTable)))


@pytest.mark.django_db(transaction=True)
def test_a_request_that_committed_something_is_never_run_again():
    def commit_a_row():
        with transaction.atomic():
            Group.objects.create(name="escrita")

    view = FailingView(db_error(LOCKED), before=commit_a_row)
    response = run(view)
    assert (response.status_code, view.calls) == (409, 1)
    assert Group.objects.filter(name="escrita").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_request_whose_transaction_rolled_back_is_run_again():
    def roll_back_a_row():
        with transaction.atomic():
            Group.objects.create(name=f"deshecha-{view.calls}")
            if view.calls == 1:
                raise db_error(LOCKED)

    view = FailingView(before=roll_back_a_row)
    response = run(view)
    assert (response.status_code, view.calls) == (200, 2)
    assert list(Group.objects.filter(name__startswith="deshecha").values_list("name", flat=True)) == [
        "deshecha-2"
    ]
