"""The staff case list: every registered kind's cases in one list, searched, filtered and paged.

Built from the case-kind registry only (``cases.kinds``): each kind gives its scope selector
(``list_for``: the cases the user may open — its case page answers 404 for any other), the ORM
paths of its program and department, the columns its list shows (``list_columns``) and its final
states. Nothing here names a case app. One SQL query gives a page (a ``UNION ALL`` of one
``SELECT`` per kind, each filtered and scoped, sorted newest first), one more the number of cases
(counted up to ``COUNT_CAP``).

Bounds: a page is ``PAGE_SIZE`` rows; pages go up to ``MAX_PAGES`` (``LIMIT``/``OFFSET`` past that
would scan ever more rows for a page nobody reads: the filters narrow a list faster); an export is
at most ``EXPORT_MAX_ROWS`` rows (a larger list is refused with a message asking for filters).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, DecimalField, F, Q, QuerySet, Value
from django.utils import timezone

from . import kinds

PAGE_SIZE = 25
MAX_PAGES = 200
COUNT_CAP = 10_000
EXPORT_MAX_ROWS = 10_000
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


def _branch(kind: kinds.CaseKind, user, f: CaseFilters, columns: tuple[str, ...]) -> QuerySet | None:
    """The kind's cases the user may open, filtered, as rows of ``columns`` (None: no case of this
    kind can match the filters)."""
    if kind.list_for is None or (f.kind and f.kind != kind.code):
        return None
    if f.program and not kind.program_path:
        return None
    qs = kind.list_for(user).order_by()
    if f.state == OPEN:
        if kind.final_states:
            qs = qs.exclude(state__in=sorted(kind.final_states))
    elif f.state:
        if f.state not in dict(states_of(kind)):
            return None
        qs = qs.filter(state=f.state)
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
    if f.q:
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
    if f.q:
        q = f.q.strip()
        qs = qs.filter(Q(code__icontains=q) | Q(list_unit__icontains=q) | Q(list_nit__icontains=q))
    return qs.values(*columns)


def _union(user, f: CaseFilters, columns: tuple[str, ...]) -> QuerySet | None:
    branches = [b for kind in listed_kinds() if (b := _branch(kind, user, f, columns)) is not None]
    if not branches:
        return None
    first, *rest = branches
    return first.union(*rest, all=True) if rest else first


def case_count(user, f: CaseFilters = CaseFilters(), *, cap: int = COUNT_CAP) -> int:
    """How many cases the user may open match ``f``, counted up to ``cap`` + 1 (one query)."""
    union = _union(user, f, ("list_kind", "id"))
    if union is None:
        return 0
    return union.order_by()[: cap + 1].count()


def case_rows(
    user, f: CaseFilters = CaseFilters(), *, offset: int = 0, limit: int = PAGE_SIZE
) -> list[CaseRow]:
    """Rows ``offset`` to ``offset + limit`` of the cases the user may open that match ``f``,
    newest first (one query)."""
    union = _union(user, f, COLUMNS)
    if union is None:
        return []
    ordered = union.order_by("-created_at", "list_kind", "-id")
    return list(_rows(ordered[offset : offset + limit]))


def export_rows(user, f: CaseFilters = CaseFilters(), *, limit: int = EXPORT_MAX_ROWS) -> Iterator[CaseRow]:
    """The first ``limit`` matching cases, newest first, read in chunks (one query per 2,000)."""
    union = _union(user, f, COLUMNS)
    if union is None:
        return iter(())
    ordered = union.order_by("-created_at", "list_kind", "-id")[:limit]
    return _rows(ordered.iterator(chunk_size=2_000))


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
