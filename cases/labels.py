"""Labels of stored codes, provided by registration: how a page shows ``in_execution``,
``progress_report``, ``counterpart_letter`` or unit ``1`` to people without the page's app importing
the app that owns the code.

Two registries, filled in the owners' ``AppConfig.ready``:

- **value labels**: ``key -> {code: label}`` (a state, a step, a document kind, a decision). A case
  kind brings its own in ``CaseKind.labels`` (read from ``cases.kinds``); an app that is not a case
  kind (registry, budget, approvals) calls ``register_values``. The same code may mean different
  things in different apps (a document ``kind`` and a unit ``kind``): a lookup names its ``scope``
  (the app label of the subject, e.g. ``"iniciativas"``) and that app's labels win.
- **references**: ``key -> resolve(codes) -> {code: text}`` for codes that point at rows (a unit's
  pk, a department's code): resolved in one query per key for a whole page (``resolve``).

The audit trail's pages (``audit.presentation``) are the first reader: the trail depends on nothing
of the domain and still reads in words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

Choices = Mapping[str, "StrOrPromise"] | Iterable[tuple[Any, "StrOrPromise"]] | Callable[[], Any]

_VALUES: dict[str, list[tuple[str, Choices]]] = {}
_REFERENCES: dict[str, Callable[[set], Mapping[Any, str]]] = {}


def register_values(key: str, choices: Choices, scope: str = "") -> None:
    """Labels of the codes stored under ``key`` (a mapping, ``(code, label)`` pairs, or a callable
    returning either, read at each lookup), for subjects of app ``scope`` (``""``: any)."""
    entries = _VALUES.setdefault(key, [])
    if (scope, choices) not in entries:
        entries.append((scope, choices))


def register_reference(key: str, resolve: Callable[[set], Mapping[Any, str]]) -> None:
    """``resolve(codes) -> {code: text}`` for the codes stored under ``key`` (one query for all)."""
    _REFERENCES[key] = resolve


def _as_dict(choices: Choices) -> dict[str, StrOrPromise]:
    resolved: Any = choices() if callable(choices) else choices
    items = resolved.items() if isinstance(resolved, Mapping) else resolved
    return {str(code): label for code, label in items}


def _candidates(key: str) -> list[tuple[str, Choices]]:
    from . import kinds

    found = list(_VALUES.get(key, []))
    for kind in kinds.all_kinds():
        if key in kind.labels:
            found.append((kind.model.split(".")[0], kind.labels[key]))
    return found


def value_label(key: str, value: Any, scope: str = "") -> str | None:
    """The label of ``value`` stored under ``key`` (the scope's own labels first), or ``None``."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return None
    code = str(value)
    candidates = _candidates(key)
    ordered = [c for s, c in candidates if s == scope] + [c for s, c in candidates if s != scope]
    for choices in ordered:
        label = _as_dict(choices).get(code)
        if label is not None:
            return str(label)
    return None


def has_reference(key: str) -> bool:
    return key in _REFERENCES


def resolve(wanted: Mapping[str, set]) -> dict[tuple[str, str], str]:
    """``{key: {codes}}`` -> ``{(key, str(code)): text}`` (one call of each key's resolver)."""
    out: dict[tuple[str, str], str] = {}
    for key, codes in wanted.items():
        resolver = _REFERENCES.get(key)
        codes = {c for c in codes if c not in (None, "")}
        if resolver is None or not codes:
            continue
        for code, text in resolver(codes).items():
            out[(key, str(code))] = text
    return out
