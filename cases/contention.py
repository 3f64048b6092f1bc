"""Bounded waits: a request that the database made wait too long, or dropped, is answered with what
happened — never a 500 (docs/ARCHITECTURE.md, "Contention").

PostgreSQL waits at most ``lock_timeout`` for a lock and runs a statement at most
``statement_timeout`` (settings: ``DB_LOCK_TIMEOUT_MS``, ``DB_STATEMENT_TIMEOUT_MS``); SQLite waits
``SQLITE_TIMEOUT`` for its write lock. What that gives up on is one of:

- contention: a lock not granted in time (55P03), a deadlock (40P01), a serialization failure
  (40001), SQLite's "database is locked". A state-changing request that committed nothing is run
  again once (the same as the user pressing the button again: its transaction rolled back whole),
  then answered 409 — except after SQLite's lock, which already waited ``SQLITE_TIMEOUT`` (30 s):
  a second wait would only double it;
- timeout: a statement cancelled by ``statement_timeout`` (57014): 503, not retried (it would only
  run as long again);
- disconnected: the connection was cut (the server terminated it, the network dropped it): the
  connection is closed (the next query opens a new one) and the answer is 503, not retried — a cut
  during COMMIT leaves unknown whether it committed, and only the user can look.

``ContentionMiddleware`` does this for every view, API and pages alike, as the last middleware: it
calls the view itself (``process_view``), after CSRF and authentication ran.
"""

import logging
import random
import time
from contextlib import contextmanager

from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, connection
from django.http import HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)

CONTENTION = "contention"
TIMEOUT = "timeout"
DISCONNECTED = "disconnected"

# PostgreSQL SQLSTATEs: lock_not_available, deadlock_detected, serialization_failure.
CONTENTION_STATES = frozenset({"55P03", "40P01", "40001"})
TIMEOUT_STATES = frozenset({"57014"})  # query_canceled (statement_timeout)
# admin_shutdown (pg_terminate_backend), crash_shutdown, cannot_connect_now; class 08: connection.
DISCONNECTED_STATES = frozenset({"57P01", "57P02", "57P03"})
SQLITE_LOCKED = ("database is locked", "database table is locked")

# Statements that write nothing when run outside a transaction (SQLite's BEGIN IMMEDIATE opens one).
NOT_WRITES = frozenset({"SELECT", "SHOW", "SET", "BEGIN", "ROLLBACK", "SAVEPOINT", "RELEASE"})

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def classify(exc: BaseException) -> str | None:
    """``CONTENTION``, ``TIMEOUT``, ``DISCONNECTED`` or None (any other error: not ours to answer)."""
    if not isinstance(exc, DatabaseError):
        return None
    cause = exc.__cause__ or exc
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if state in CONTENTION_STATES:
        return CONTENTION
    if state in TIMEOUT_STATES:
        return TIMEOUT
    if state in DISCONNECTED_STATES or (state or "").startswith("08"):
        return DISCONNECTED
    if connection.vendor == "sqlite":
        return CONTENTION if _sqlite_locked(exc) else None
    raw = connection.connection
    if raw is not None and (getattr(raw, "closed", False) or getattr(raw, "broken", False)):
        return DISCONNECTED  # psycopg: the socket is gone, whatever the error said
    return None


def _sqlite_locked(exc: BaseException) -> bool:
    return connection.vendor == "sqlite" and any(s in str(exc).lower() for s in SQLITE_LOCKED)


class CommitWatch:
    """Whether anything was committed while it watched: a transaction that committed (an
    ``on_commit`` callback registered in every transaction that ran a statement fires), or a
    statement other than a read run outside any transaction (autocommit)."""

    def __init__(self):
        self.committed = False

    def _mark(self):
        self.committed = True

    def __call__(self, execute, sql, params, many, context):
        conn = context["connection"]
        if conn.in_atomic_block:
            if not any(func is self._mark for _sids, func, _robust in conn.run_on_commit):
                conn.on_commit(self._mark)
        elif (sql.lstrip("( \n\t")[:10].split() or [""])[0].upper() not in NOT_WRITES:
            self.committed = True
        return execute(sql, params, many, context)

    @contextmanager
    def watching(self):
        with connection.execute_wrapper(self):
            yield self


def message(what: str) -> str:
    if what == CONTENTION:
        return _(
            "Other people are changing this at the same moment and it could not wait any longer. "
            "Nothing was saved; try again in a moment."
        )
    if what == TIMEOUT:
        return _("The database took too long to answer and the operation was stopped. Try again in a moment.")
    return _(
        "The connection to the database was cut. Reload the page to see whether your change was "
        "saved before trying again."
    )


def _retryable(request) -> bool:
    """A state-changing request whose body can be read a second time (multipart uploads are not
    kept in memory, so they are never re-run)."""
    if request.method in SAFE_METHODS or request.content_type == "multipart/form-data":
        return False
    try:
        request.body  # noqa: B018 — read and keep it, for the second run
    except (RequestDataTooBig, RawPostDataException):
        return False
    return True


class ContentionMiddleware:
    """Runs the view; on contention retries it once if nothing was committed, then answers 409 (API:
    ``{"detail": …}``; pages: a Spanish page); on a statement timeout or a cut connection, 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        retry = _retryable(request)
        watch = CommitWatch()
        try:
            if not retry:
                return view(request, *args, **kwargs)
            with watch.watching():
                return view(request, *args, **kwargs)
        except DatabaseError as exc:
            what = classify(exc)
            if what is None:
                raise
            failure = exc
        if (
            what == CONTENTION
            and retry
            and not _sqlite_locked(failure)
            and not watch.committed
            and not connection.in_atomic_block
        ):
            log.warning("contention on %s %s, run again: %s", request.method, request.path, failure)
            time.sleep(random.uniform(0.05, 0.2))  # noqa: S311 — jitter, not a secret
            try:
                return view(request, *args, **kwargs)
            except DatabaseError as exc:
                what = classify(exc)
                if what is None:
                    raise
                failure = exc
        return self.answer(request, what, failure)

    def answer(self, request, what: str, failure: Exception):
        log.warning("%s on %s %s: %s", what, request.method, request.path, failure)
        if what == DISCONNECTED:
            connection.close()  # outside any transaction here: the next query reconnects
        status = 409 if what == CONTENTION else 503
        text = message(what)
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": text}, status=status)
        back = request.headers.get("Referer", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            back = ""
        try:
            return render(request, "contention.html", {"message": text, "back": back}, status=status)
        except DatabaseError:  # the page's menu reads the database, which may still be away
            return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
