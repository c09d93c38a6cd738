"""Querysets compiled to SQL once per process, and statements prepared once per connection:
the usage post's hot path.

Django compiles a queryset to SQL each time it is evaluated. For the two reads of a
single-event usage post (its accounts, locked, and their lots) that compiling cost more than
PostgreSQL's own work. `compiled_rows` builds the queryset with the same code as always, so
what the query states (the spend order, the lock) keeps its one home; it compiles it once
per shape (the length of each list argument) and later calls only bind their values in the
places the build's marker values held.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

# Marker values the build is called with; no real id, amount or moment is one of them. (Inside
# a 32-bit integer's range: Django drops lookups of values an integer column cannot hold.)
_FIRST_MARKER_INT = -1_987_000_000
_FIRST_MARKER_MOMENT = datetime(1901, 2, 3, 4, 5, 6, 7, tzinfo=UTC)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    # (position in params, argument name, index in the argument when it is a list, else None,
    # whether it is a moment: bound as Django adapts moments for this database)
    slots: tuple[tuple[int, str, int | None, bool], ...]
    attnames: tuple[str, ...]
    # (column position, its converters, its expression): Django's from-database conversions
    # (SQLite hands moments back as text), applied as the queryset would apply them.
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]


_compiled: dict[tuple, _Compiled] = {}
_compiling = threading.Lock()


def _markers(values: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[Any, str, int | None]]]:
    """A marker for every value (every item of a list), and what each marker stands for."""
    built: dict[str, Any] = {}
    stands_for: list[tuple[Any, str, int | None]] = []

    def marker(value: Any, name: str, index: int | None) -> Any:
        n = len(stands_for)
        if isinstance(value, datetime):
            made: Any = _FIRST_MARKER_MOMENT + timedelta(microseconds=n)
        elif isinstance(value, int) and not isinstance(value, bool):
            made = _FIRST_MARKER_INT + n
        else:
            raise TypeError(f"compiled_rows binds ints and datetimes, not {type(value).__name__} ({name})")
        stands_for.append((made, name, index))
        return made

    for name, value in values.items():
        if isinstance(value, list):
            built[name] = [marker(item, name, index) for index, item in enumerate(value)]
        else:
            built[name] = marker(value, name, None)
    return built, stands_for


def _compile(build: Callable[..., QuerySet], values: dict[str, Any]) -> _Compiled:
    marked, stands_for = _markers(values)
    queryset = build(**marked)
    compiler = queryset.query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    plain = compiler.klass_info is not None and not compiler.klass_info.get("related_klass_infos")
    if not plain or compiler.annotation_col_map:
        raise ValueError("compiled_rows reads plain model rows (no select_related, no annotations).")
    ops = connection.ops
    slots = []
    for made, name, index in stands_for:
        adapted = ops.adapt_datetimefield_value(made) if isinstance(made, datetime) else made
        found = [
            position
            for position, param in enumerate(params)
            if type(param) is type(adapted) and param == adapted
        ]
        if not found:
            raise ValueError(f"compiled_rows: the build did not use {name!r} as a query value.")
        slots += [(position, name, index, isinstance(made, datetime)) for position in found]
    columns = [column for column, _sql, _alias in compiler.select]
    return _Compiled(
        sql=sql,
        params=tuple(params),
        slots=tuple(slots),
        attnames=tuple(column.target.attname for column in columns),
        converters=tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in compiler.get_converters(columns).items()
        ),
    )


def compiled_rows[M: Model](model: type[M], build: Callable[..., QuerySet[M]], **values: Any) -> list[M]:
    """`list(build(**values))`, with the SQL compiled once per process and shape.

    `build` must be a plain function of its keyword arguments (ints, datetimes, or lists of
    ints) returning a queryset of whole `model` rows; an empty list is not a shape."""
    if any(isinstance(value, list) and not value for value in values.values()):
        return list(build(**values))
    shape = tuple((name, len(value) if isinstance(value, list) else None) for name, value in values.items())
    key = (build, connection.alias, shape)
    compiled = _compiled.get(key)
    if compiled is None:
        with _compiling:
            compiled = _compiled.get(key) or _compile(build, values)
            _compiled[key] = compiled
    params = list(compiled.params)
    for position, name, index, moment in compiled.slots:
        value = values[name] if index is None else values[name][index]
        params[position] = connection.ops.adapt_datetimefield_value(value) if moment else value
    with prepared_cursor() as cursor:
        cursor.execute(compiled.sql, params)
        rows = cursor.fetchall()
    if compiled.converters:
        rows = [list(row) for row in rows]
        for row in rows:
            for position, functions, expression in compiled.converters:
                for function in functions:
                    row[position] = function(row[position], expression, connection)
    return [model.from_db(connection.alias, compiled.attnames, row) for row in rows]


def prepared_cursor():
    """A Django cursor (counted and logged like any other) whose statements PostgreSQL parses
    and plans once per connection, not per execution: the usage post's statements.

    Django's own cursors bind values on the client, so PostgreSQL plans every statement
    afresh; this one binds on the server and prepares each statement the first time the
    connection runs it (psycopg keeps the last 100). Behind a transaction-pooling PgBouncer
    this needs its prepared-statement support (1.21+, `max_prepared_statements`). Elsewhere
    (SQLite) it is a plain cursor."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    raw_connection = connection.connection
    # Only server-binding cursors (these) are ever prepared: Django's are client-binding.
    raw_connection.prepare_threshold = 0
    connection.validate_thread_sharing()
    # (django-stubs types these as taking Django's wrapper; they wrap a driver cursor.)
    raw: Any = psycopg.Cursor(raw_connection)
    return connection.make_debug_cursor(raw) if connection.queries_logged else connection.make_cursor(raw)
