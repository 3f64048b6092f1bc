"""Run a query the ORM builds once per shape.

Some checks are one query whose SQL is long to build: the ORM resolves and compiles every nested
subquery each time (``approvals.selectors.eligible_users`` for one user costs about 20 ms of CPU
that way, for a statement the database answers in well under one). Its SQL changes only with the
*shape* of the inputs (a role, a step, whether a case has a unit yet); the values — ids, a case
code — are parameters. ``run(key, build, values)`` builds the queryset once per ``key`` with
stand-in values, keeps its SQL and the places of the stand-ins among its parameters, and from then
on executes that SQL with the real values in those places. Whether each value is given at all
belongs in ``key`` (the caller's part: it may change the SQL).

A stand-in that does not come out as a parameter of its own (the ORM turned it into part of another
value, say a LIKE pattern) makes that shape uncacheable: it is then built by the ORM every time."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.transaction import TransactionManagementError

# The first stand-in id: beyond any real primary key, and not a value a query would hold otherwise.
_STAND_IN_ID = 7_654_321_000_000
_MAX_SHAPES = 512

# (alias, key) -> (sql, params, {param index: value name}); None: this shape is built every time.
_templates: dict[tuple, tuple[str, list, dict[int, str]] | None] = {}


def _stand_in(n: int, value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        raise TypeError("only ids and text are stood in for")
    if isinstance(value, int):
        return _STAND_IN_ID + n
    if isinstance(value, str):
        return f"\x1fstand-in-{n}\x1f"
    raise TypeError(f"cannot stand in for {type(value).__name__}")


def _template(build: Callable[..., QuerySet], values: Mapping[str, Any], alias: str):
    stand_ins = {name: _stand_in(n, value) for n, (name, value) in enumerate(values.items())}
    sql, params = build(**stand_ins).query.get_compiler(using=alias).as_sql()
    return _places(sql, list(params), stand_ins)


def _places(sql: str, params: list, stand_ins: Mapping[str, Any]):
    places: dict[int, str] = {}
    for index, param in enumerate(params):
        for name, stand_in in stand_ins.items():
            if param == stand_in and type(param) is type(stand_in):
                places[index] = name
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
    parameters, for one ``key``), as tuples."""
    cache_key = (using, key)
    if cache_key not in _templates and len(_templates) < _MAX_SHAPES:
        _templates[cache_key] = _template(build, values, using)
    template = _templates.get(cache_key)
    if template is None:
        return [tuple(row) for row in build(**values)]
    sql, params, places = template
    actual = [values[places[i]] if i in places else p for i, p in enumerate(params)]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, actual)
        return [tuple(row) for row in cursor.fetchall()]


# (alias, key) -> (the queryset built with stand-ins, its compiler, sql, params, places); None: built
# every time.
_instance_templates: dict[tuple, tuple | None] = {}


def _instance_template(build: Callable[..., QuerySet], values: Mapping[str, Any], alias: str):
    stand_ins = {name: _stand_in(n, value) for n, (name, value) in enumerate(values.items())}
    queryset = build(**stand_ins)
    compiler = queryset.query.get_compiler(using=alias)
    sql, params = compiler.as_sql()  # also fills what the rows are read with: select, klass_info
    placed = _places(sql, list(params), stand_ins)
    if placed is None:
        return None
    return queryset, compiler, *placed


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
        _instance_templates[cache_key] = _instance_template(build, values, using)
    template = _instance_templates.get(cache_key)
    if template is None:
        return list(build(**values))
    queryset, compiler, sql, params, places = template
    connection = connections[using]
    if queryset.query.select_for_update and connection.get_autocommit():
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    actual = [values[places[i]] if i in places else p for i, p in enumerate(params)]
    run = copy.copy(compiler)
    run.connection = connection
    run.as_sql = lambda *args, **kwargs: (sql, actual)  # type: ignore[method-assign]
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
