"""Transactions inside a decision.

A service that may run on its own (a page registering a unit) opens its transaction with
``transaction.atomic``; nested in a caller's transaction that is a savepoint — two statements — so
that an error inside can be caught by the caller while the rest commits. Inside a task decision
nothing is ever caught and committed halfway: any error rolls the whole decision back
(``approvals.services.complete_task`` runs in ``whole()``). There, ``atomic`` opens no savepoint."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.db import transaction

_WHOLE: ContextVar[bool] = ContextVar("expediente_whole_transaction", default=False)


@contextmanager
def whole() -> Iterator[None]:
    """Mark the block as one unit of work that any error rolls back whole (its caller holds the
    transaction): services nested in it take no savepoint of their own."""
    token = _WHOLE.set(True)
    try:
        yield
    finally:
        _WHOLE.reset(token)


def in_whole() -> bool:
    return _WHOLE.get()


def atomic[F: Callable[..., Any]](func: F) -> F:
    """``transaction.atomic`` for a service: a savepoint when nested in a caller's transaction,
    none inside ``whole()`` (a decision)."""

    @wraps(func)
    def inner(*args, **kwargs):
        with transaction.atomic(savepoint=not _WHOLE.get()):
            return func(*args, **kwargs)

    return inner  # type: ignore[return-value]


def block():
    """``with tx.block():`` — ``atomic`` as a context manager."""
    return transaction.atomic(savepoint=not _WHOLE.get())
