"""The staff case list: every registered kind's cases in one list, searched, filtered and paged.

Built from the case-kind registry only (``cases.kinds``): each kind gives its scope selector
(``list_for``: the cases the user may open — its case page answers 404 for any other), the ORM
paths of its program and department, the columns its list shows (``list_columns``) and its final
states. Nothing here names a case app. A page is two SQL queries: its keys (a ``UNION ALL`` of one
``SELECT`` per kind, each filtered and scoped, merged newest first from each kind's ``created_at``
index), then the rows of those keys with their unit, program and department; one more counts the
cases (up to ``COUNT_CAP``).

Bounds: a page is ``PAGE_SIZE`` rows; pages go up to ``MAX_PAGES`` (``LIMIT``/``OFFSET`` past that
would scan ever more rows for a page nobody reads: the filters narrow a list faster); an export is
at most ``EXPORT_MAX_ROWS`` rows (a larger list is refused with a message asking for filters).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import CharField, DecimalField, F, Q, QuerySet, Value
from django.utils import timezone

from . import kinds

PAGE_SIZE = 25
MAX_PAGES = 200
# As many as the pages offered hold: the count says "more than 5.000" past them, and an export that
# long is interactive still (about 0.8 s of CPU); a longer list is narrowed with the filters.
COUNT_CAP = 5_000
EXPORT_MAX_ROWS = 5_000
EXPORT_CHUNK = 1_000
# The pseudo-state of the "in progress" filter: every state that is not one of the kind's final states.
OPEN = "open"

TEXT = CharField()
MONEY = DecimalField(max_digits=14, decimal_places=2)
# The columns of every row, in this order (the union lines them up by position).
COLUMNS = (
    "list_kind",
    "id",
    "code",
    "state",
    "created_at",
    "list_unit",
    "list_nit",
    "list_amount",
    "list_program",
    "list_department",
)


@dataclass(frozen=True)
class CaseFilters:
    q: str = ""  # part of the code, of the unit's name or of its NIT
    kind: str = ""
    state: str = ""  # a state, or OPEN
    program: int | None = None
    department: int | None = None
    since: dt.date | None = None  # started on or after (La Paz day)
    until: dt.date | None = None  # started on or before (La Paz day)

    @property
    def active(self) -> bool:
        return any((self.q, self.kind, self.state, self.program, self.department, self.since, self.until))


@dataclass(frozen=True)
class CaseRow:
    kind: kinds.CaseKind
    pk: int
    code: str
    state: str
    state_label: str
    started_at: dt.datetime
    unit_name: str
    tax_id: str
    amount: Any  # Decimal | None
    program: str
    department: str

    @property
    def url(self) -> str:
        return self.kind.detail_url(self.pk) or ""


def listed_kinds() -> list[kinds.CaseKind]:
    """The kinds whose cases the list shows (those that registered a scope selector)."""
    return [kind for kind in kinds.all_kinds() if kind.list_for is not None]


def states_of(kind: kinds.CaseKind) -> list[tuple[str, Any]]:
    """``(value, label)`` of the kind's states, in the order its model declares them."""
    return list(kind.model_class._meta.get_field("state").choices)


def state_choices() -> list[tuple[str, Any]]:
    """Every state of every listed kind, once (the first kind's label), in declaration order."""
    seen: dict[str, Any] = {}
    for kind in listed_kinds():
        for value, label in states_of(kind):
            seen.setdefault(value, label)
    return list(seen.items())


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def _column(path_or_expression, output_field):
    if not path_or_expression:
        return Value(None, output_field=output_field)
    if isinstance(path_or_expression, str):
        return F(path_or_expression)
    return path_or_expression


# What the search box holds: a case code (or its beginning), a NIT (digits), or part of a name.
CODE_TEXT = re.compile(r"^[A-Za-z]{2,5}-\d")
NIT_TEXT = re.compile(r"^\d+$")


def _prefix(field: str, prefix: str) -> Q:
    """``field`` starts with ``prefix`` (codes and NITs: ASCII letters, digits and hyphens), also as
    a range the field's index can seek to: SQLite's ``LIKE`` never uses an index (it ignores case,
    and Django adds an ``ESCAPE``), PostgreSQL's uses its pattern index."""
    after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return Q(**{f"{field}__startswith": prefix, f"{field}__gte": prefix, f"{field}__lt": after})


def _search(q: str) -> Q:
    """The search as an indexable condition where it can be: a code is matched from its start
    (``INI-2026-0001…``; the codes' index), a NIT from its start (the units' index), anything else
    anywhere in the unit's name (as given by a new unit's applicant too)."""
    if CODE_TEXT.match(q):
        return _prefix("code", q.upper())
    if NIT_TEXT.match(q):
        return _prefix("list_nit", q)
    return Q(list_unit__icontains=q)


def _branch(
    kind: kinds.CaseKind, user, f: CaseFilters, columns: tuple[str, ...], pks=None
) -> QuerySet | None:
    """The kind's cases the user may open, filtered (or, ``pks``, just those), as rows of
    ``columns`` (None: no case of this kind can match)."""
    if kind.list_for is None or (f.kind and f.kind != kind.code):
        return None
    if f.program and not kind.program_path:
        return None
    qs = kind.list_for(user).order_by()
    if pks is not None:
        qs = qs.filter(pk__in=pks)
    elif f.state == OPEN:
        if kind.final_states:
            qs = qs.exclude(state__in=sorted(kind.final_states))
    elif f.state:
        if f.state not in dict(states_of(kind)):
            return None
        qs = qs.filter(state=f.state)
    if pks is None:
        if f.program:
            qs = qs.filter(**{f"{kind.program_path}_id": f.program})
        if f.department:
            qs = qs.filter(**{f"{kind.department_path}_id": f.department})
        if f.since:
            qs = qs.filter(created_at__gte=_day_start(f.since))
        if f.until:
            qs = qs.filter(created_at__lt=_day_start(f.until + dt.timedelta(days=1)))
    cols = kind.list_columns
    wanted = set(columns)
    search = _search(f.q) if f.q and pks is None else None
    if search is not None:
        wanted |= {"list_unit", "list_nit"}
    annotations = {
        "list_kind": Value(kind.code, output_field=TEXT),
        "list_unit": _column(cols.get("unit_name"), TEXT),
        "list_nit": _column(cols.get("tax_id"), TEXT),
        "list_amount": _column(cols.get("amount"), MONEY),
        "list_program": _column(f"{kind.program_path}__name" if kind.program_path else "", TEXT),
        "list_department": _column(f"{kind.department_path}__name", TEXT),
    }
    qs = qs.annotate(**{name: expr for name, expr in annotations.items() if name in wanted})
    if search is not None:
        qs = qs.filter(search)
    return qs.values(*columns)


def _union(
    user, f: CaseFilters, columns: tuple[str, ...], keys=None, *, first: int | None = None, ordered=False
) -> QuerySet | None:
    """One ``SELECT`` per listed kind, ``UNION ALL``. ``keys``: only those ``(kind, pk)``; ``first``:
    each ``SELECT`` stops after that many rows (newest first when ``ordered``). A limit inside each
    ``SELECT`` lets each use its own table's ``created_at`` index even when a filter or a scope
    needs a join: PostgreSQL merges the ordered scans of a ``UNION ALL`` only when its parts are
    plain single-table scans. SQLite takes no limit inside a part (Django refuses it there), and
    needs none: it merges a compound ``ORDER BY`` from each part read lazily in order."""
    pks: dict[str, list[int]] = {}
    for code, pk in keys or ():
        pks.setdefault(code, []).append(pk)
    branches = [
        b
        for kind in listed_kinds()
        if (keys is None or kind.code in pks)
        and (b := _branch(kind, user, f, columns, pks.get(kind.code) if keys is not None else None))
        is not None
    ]
    if not branches:
        return None
    if (
        first is not None
        and len(branches) > 1
        and connections[branches[0].db].features.supports_slicing_ordering_in_compound
    ):
        branches = [(b.order_by("-created_at", "-id") if ordered else b)[:first] for b in branches]
    head, *rest = branches
    return head.union(*rest, all=True) if rest else head


def case_count(user, f: CaseFilters = CaseFilters(), *, cap: int = COUNT_CAP) -> int:
    """How many cases the user may open match ``f``, counted up to ``cap`` + 1 (one query)."""
    union = _union(user, f, ("list_kind", "id"), first=cap + 1)
    if union is None:
        return 0
    return union.order_by()[: cap + 1].count()


def _keys(user, f: CaseFilters, offset: int, limit: int) -> list[tuple[str, int]]:
    """``(kind, pk)`` of the matching cases ``offset`` to ``offset + limit``, newest first: the
    page's keys, from each kind's ``created_at`` index (merged, no join unless a filter needs one)."""
    union = _union(user, f, ("list_kind", "id", "created_at"), first=offset + limit, ordered=True)
    if union is None:
        return []
    ordered = union.order_by("-created_at", "-id")[offset : offset + limit]
    return [(row["list_kind"], row["id"]) for row in ordered]


def _fetch(user, keys: list[tuple[str, int]]) -> list[CaseRow]:
    """The rows of ``keys``, in that order (one query, joined for those rows only)."""
    union = _union(user, CaseFilters(), COLUMNS, keys=keys)
    if union is None:
        return []
    found = {(row.kind.code, row.pk): row for row in _rows(union.order_by())}
    return [found[key] for key in keys if key in found]


def case_rows(
    user, f: CaseFilters = CaseFilters(), *, offset: int = 0, limit: int = PAGE_SIZE
) -> list[CaseRow]:
    """Rows ``offset`` to ``offset + limit`` of the cases the user may open that match ``f``,
    newest first (two queries: the keys, then their rows)."""
    return _fetch(user, _keys(user, f, offset, limit))


def export_rows(user, f: CaseFilters = CaseFilters(), *, limit: int = EXPORT_MAX_ROWS) -> Iterator[CaseRow]:
    """The first ``limit`` matching cases, newest first: their keys in one query, their rows in
    chunks of ``EXPORT_CHUNK``."""
    keys = _keys(user, f, 0, limit)
    for start in range(0, len(keys), EXPORT_CHUNK):
        yield from _fetch(user, keys[start : start + EXPORT_CHUNK])


def _rows(values) -> Iterator[CaseRow]:
    labels = {kind.code: dict(states_of(kind)) for kind in listed_kinds()}
    for row in values:
        kind = kinds.get(row["list_kind"])
        yield CaseRow(
            kind=kind,
            pk=row["id"],
            code=row["code"],
            state=row["state"],
            state_label=str(labels[kind.code].get(row["state"], row["state"])),
            started_at=row["created_at"],
            unit_name=row["list_unit"] or "",
            tax_id=row["list_nit"] or "",
            amount=row["list_amount"],
            program=row["list_program"] or "",
            department=row["list_department"] or "",
        )
