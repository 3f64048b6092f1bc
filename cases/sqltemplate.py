"""Run a query the ORM builds once per shape.

Some checks are one query whose SQL is long to build: the ORM resolves and compiles every nested
subquery each time (``approvals.selectors.eligible_users`` for one user costs about 20 ms of CPU
that way, for a statement the database answers in well under one). Its SQL changes only with the
*shape* of the inputs (a role, a step, whether a case has a unit yet); the values — ids, a case
code, a date — are parameters. ``run(key, build, values)`` builds the queryset once per ``key`` with
stand-in values, keeps its SQL and the places of the stand-ins among its parameters, and from then
on executes that SQL with the real values in those places. Whether each value is given at all
belongs in ``key`` (the caller's part: it may change the SQL).

A stand-in that does not come out as a parameter of its own (the ORM turned it into part of another
value, say a LIKE pattern) makes that shape uncacheable: it is then built by the ORM every time."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.transaction import TransactionManagementError

_MAX_SHAPES = 512
# Where a shape's compiler keeps its columns' converters (``_converters``).
_CONVERTERS = "_expediente_converters"

# (alias, key) -> (the queryset built with stand-ins, its compiler, sql, params, {param index: value
# name}); None: this shape is built every time. ``run``'s and ``instances``' shapes.
_templates: dict[tuple, tuple | None] = {}


def _stand_in(n: int, value: Any, variant: int) -> Any:
    """The stand-in for the ``n``-th value, in two variants: the query is built with each and kept
    only if both agree. Ids fit the smallest integer column (the ORM answers a value beyond a
    column's range with no query at all, or with a condition that is never true)."""
    if isinstance(value, bool) or value is None:
        raise TypeError("only ids, text and dates are stood in for")
    if isinstance(value, int):
        return (30_000, 31_000)[variant] + n
    if isinstance(value, str):
        return f"\x1fstand-in-{variant}-{n}\x1f"
    if type(value) is dt.date:  # a year no real date has; SQLite takes it as ISO text
        return dt.date(1001 + 100 * variant + n, 1, 1)
    raise TypeError(f"cannot stand in for {type(value).__name__}")


# A place whose value the backend passes as ISO text (dates on SQLite): its name with this prefix.
_ISO = "iso:"


def _same_int(param: Any, stand_in: Any) -> bool:
    """An id the backend wrapped in an ``int`` type of its own (psycopg's ``Int2`` for a small
    integer column)."""
    return isinstance(param, int) and isinstance(stand_in, int) and not isinstance(param, bool)


def _actual(params: list, places: Mapping[int, str], values: Mapping[str, Any]) -> list:
    """The template's parameters with the real values in their places (wrapped as the backend
    wrapped the stand-in)."""
    actual = list(params)
    for index, place in places.items():
        if place.startswith(_ISO):
            actual[index] = values[place[len(_ISO) :]].isoformat()
            continue
        value, template = values[place], params[index]
        if type(template) is not type(value) and _same_int(template, value):
            value = type(template)(value)
        actual[index] = value
    return actual


def _compiled(build: Callable[..., QuerySet], values: Mapping[str, Any], alias: str):
    """``(queryset, compiler, sql, params, places)`` of ``build`` with stand-ins, or ``None`` when
    its SQL cannot be reused with other values: it is built twice, with two sets of stand-ins, and
    the SQL and the places of the values must agree (a stand-in equal to a constant of the query, or
    a value the ORM turned into something else, would make them differ)."""
    built = []
    try:
        for variant in (0, 1):
            stand_ins = {name: _stand_in(n, v, variant) for n, (name, v) in enumerate(values.items())}
            queryset = build(**stand_ins)
            compiler = queryset.query.get_compiler(using=alias)
            sql, params = compiler.as_sql()  # also fills what rows are read with: select, klass_info
            placed = _places(sql, list(params), stand_ins)
            built.append((queryset, compiler, sql, list(params), placed and placed[2]))
    except EmptyResultSet:
        return None  # the ORM answers these values without a query: built every time
    (queryset, compiler, sql, params, places), (_q, _c, other_sql, other_params, other_places) = built
    if places is None or other_places is None or sql != other_sql or places != other_places:
        return None
    if len(params) != len(other_params) or any(
        # by value, or by what it wraps (psycopg's ``Jsonb`` wrappers compare by identity)
        a != b and repr(a) != repr(b)
        for i, (a, b) in enumerate(zip(params, other_params, strict=True))
        if i not in places
    ):
        return None  # a value that changed a parameter it is not the whole of: not reusable
    return queryset, compiler, sql, params, places


def _places(sql: str, params: list, stand_ins: Mapping[str, Any]):
    places: dict[int, str] = {}
    for index, param in enumerate(params):
        for name, stand_in in stand_ins.items():
            if param == stand_in and (type(param) is type(stand_in) or _same_int(param, stand_in)):
                places[index] = name
            elif isinstance(stand_in, dt.date) and param == stand_in.isoformat():
                places[index] = _ISO + name
            elif isinstance(param, str) and isinstance(stand_in, str) and stand_in in param:
                return None  # the stand-in is inside another value: not a parameter of its own
            elif isinstance(param, str) and isinstance(stand_in, int) and str(stand_in) in param:
                return None
    if any(str(stand_in).strip("\x1f") in sql for stand_in in stand_ins.values()):
        return None  # a value written into the SQL's text: it cannot be replaced
    # A value the SQL does not take at all (a program id when the step is not scoped by program) is
    # simply not used; whether a value is given at all is part of the caller's key.
    return sql, params, places


def run(
    key: tuple, build: Callable[..., QuerySet], values: Mapping[str, Any], *, using: str = "default"
) -> list:
    """The rows of ``build(**values)`` (a queryset whose SQL depends on ``values`` only through its
    parameters, for one ``key``), as tuples, converted as the ORM converts them (a date is a date on
    SQLite too, a flow reference its class)."""
    cache_key = (using, key)
    if cache_key not in _templates and len(_templates) < _MAX_SHAPES:
        _templates[cache_key] = _compiled(build, values, using)
    template = _templates.get(cache_key)
    if template is None:
        return [tuple(row) for row in build(**values)]
    _queryset, compiler, sql, params, places = template
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, _actual(params, places, values))
        rows = cursor.fetchall()
    converters = _converters(compiler)
    if converters:
        run = copy.copy(compiler)
        run.connection = connection
        rows = run.apply_converters(rows, converters)
    return [tuple(row) for row in rows]


def _converters(compiler) -> dict:
    """The converters of a shape's columns: they depend on the shape only, worked out once with it."""
    converters = compiler.__dict__.get(_CONVERTERS)
    if converters is None:
        converters = compiler.get_converters([s[0] for s in compiler.select[0 : compiler.col_count]])
        compiler.__dict__[_CONVERTERS] = converters
    return converters


# (alias, key) -> (the queryset built with stand-ins, its compiler, sql, params, places); None: built
# every time.
_instance_templates: dict[tuple, tuple | None] = {}


def instances[M: Model](
    key: tuple, build: Callable[..., QuerySet[M]], values: Mapping[str, Any], *, using: str = "default"
) -> list[M]:
    """The model instances of ``build(**values)`` (with what it ``select_related``), as the ORM
    makes them from its rows, its SQL built once per ``key``: the query is compiled with stand-in
    values once, and each call runs that compiler's SQL with the real values and lets the ORM read
    the rows (converters, related instances). For the reads on a decision's path whose building
    costs more than the database's answer: the case, the task, the budget line, each by its key."""
    cache_key = (using, key)
    if cache_key not in _instance_templates and len(_instance_templates) < _MAX_SHAPES:
        _instance_templates[cache_key] = _compiled(build, values, using)
    template = _instance_templates.get(cache_key)
    if template is None:
        return list(build(**values))
    queryset, compiler, sql, params, places = template
    connection = connections[using]
    if queryset.query.select_for_update and connection.get_autocommit():
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    actual = _actual(params, places, values)
    run = copy.copy(compiler)
    run.connection = connection
    run.as_sql = lambda *args, **kwargs: (sql, actual)  # type: ignore[method-assign]
    converters = _converters(compiler)
    run.get_converters = lambda expressions: converters  # type: ignore[method-assign]
    clone = queryset._chain()
    clone.query.get_compiler = lambda *args, **kwargs: run  # type: ignore[method-assign]
    return list(clone)


def instance[M: Model](
    key: tuple, build: Callable[..., QuerySet[M]], values: Mapping[str, Any], *, using: str = "default"
) -> M:
    """The one instance of ``build(**values)`` (a query by a unique key), as ``QuerySet.get`` gives
    it: ``DoesNotExist`` when there is none."""
    found = instances(key, build, values, using=using)
    if len(found) != 1:
        model: Any = build(**values).model  # only on the failure path
        if not found:
            raise model.DoesNotExist(f"{model._meta.object_name} matching query does not exist.")
        raise model.MultipleObjectsReturned(f"get() returned more than one {model._meta.object_name}")
    return found[0]
