"""A memo for the span of one decision: what a decision reads once (its case row, the non-working
days) is shared by everything that runs inside it — the step handler, the flow's gateways, each new
task's description — instead of being read again by each. Outside a ``scope`` nothing is kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_MEMO: ContextVar[dict | None] = ContextVar("expediente_memo", default=None)


@contextmanager
def scope(seed: dict | None = None) -> Iterator[dict]:
    """Open a memo (nested scopes share the outer one)."""
    outer = _MEMO.get()
    if outer is not None:
        outer.update(seed or {})
        yield outer
        return
    memo = dict(seed or {})
    token = _MEMO.set(memo)
    try:
        yield memo
    finally:
        _MEMO.reset(token)


def remember(key: Any, factory: Callable[[], Any]) -> Any:
    """The value under ``key`` in the open memo, computed by ``factory`` the first time; without a
    memo, ``factory()`` each time."""
    memo = _MEMO.get()
    if memo is None:
        return factory()
    if key not in memo:
        memo[key] = factory()
    return memo[key]


def peek(key: Any, default: Any = None) -> Any:
    """The value under ``key`` in the open memo, or ``default`` (nothing is computed or stored)."""
    memo = _MEMO.get()
    return default if memo is None else memo.get(key, default)
