"""Querysets compiled to SQL once per process, and statements prepared once per connection:
the usage post's hot path, the memberships every page reads and the credit page's reads.
Plumbing any layer may use (it imports Django alone; tests/test_layers.py).

Django builds and compiles a queryset to SQL each time it is evaluated. For the reads of a
single-event usage post (its accounts, locked, and their lots), of every page (the viewer's
memberships) and of Billing > Credit that cost more than PostgreSQL's own work.
`compiled_rows` and `compiled_values` build the queryset with the same code as always, so
what the query states (the spend order, the lock, which periods matter) keeps its one home;
they compile it once per shape (the length of each list argument) and later calls only bind
their values in the places the build's marker values held.

A `Read` is such a query with what its rows mean; `read_together` sends several to
PostgreSQL at once (Billing > Credit's reads that follow from the account): one round trip
instead of one each (README, "Usage at scale", for what it saves).
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, overload

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, QuerySet
from django.db.models.query import DEFAULT_FETCH_MODE, ValuesListIterable, get_related_populators

# Marker values the build is called with; no real id, amount, day or moment is one of them.
# (Inside a 32-bit integer's range: Django drops lookups of values an integer column cannot
# hold.)
_FIRST_MARKER_INT = -1_987_000_000
_FIRST_MARKER_MOMENT = datetime(1901, 2, 3, 4, 5, 6, 7, tzinfo=UTC)
_FIRST_MARKER_DAY = date(1801, 2, 3)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    # (position in params, argument name, index in the argument when it is a list, else None,
    # its kind: "moment" and "day" are bound as Django adapts them for this database)
    slots: tuple[tuple[int, str, int | None, str], ...]
    # Model rows: the model, the attribute of each of its columns, where they start and end
    # in a row, and what fills in what select_related() joined (Django's own populators,
    # which a queryset makes at each evaluation: made once here, as they keep nothing of a
    # row, in the default fetch mode, the only one compiled). Value rows: None.
    model: type[Model] | None
    attnames: tuple[str, ...] | None
    model_columns: slice | None
    populators: tuple[Any, ...] | None
    # Value rows: the columns in the order the queryset names them.
    order: tuple[int, ...] | None
    # (column position, its converters, its expression): Django's from-database conversions
    # (SQLite hands moments back as text), applied as the queryset would apply them.
    converters: tuple[tuple[int, tuple[Callable, ...], Any], ...]
    # SELECT ... FOR UPDATE: only ever run alone, in the caller's transaction.
    locks: bool


_compiled: dict[tuple, _Compiled] = {}
_compiling = threading.Lock()


def _kind(value: Any) -> str:
    if isinstance(value, datetime):
        return "moment"
    if isinstance(value, date):
        return "day"
    return "int"


def _markers(
    values: dict[str, Any], *, offset: int = 0
) -> tuple[dict[str, Any], list[tuple[Any, str, int | None]]]:
    """A marker for every value (every item of a list), and what each marker stands for."""
    built: dict[str, Any] = {}
    stands_for: list[tuple[Any, str, int | None]] = []

    def marker(value: Any, name: str, index: int | None) -> Any:
        n = len(stands_for) + offset
        if isinstance(value, datetime):
            made: Any = _FIRST_MARKER_MOMENT + timedelta(microseconds=n)
        elif isinstance(value, date):
            made = _FIRST_MARKER_DAY + timedelta(days=n)
        elif isinstance(value, int) and not isinstance(value, bool):
            made = _FIRST_MARKER_INT + n
        else:
            kind = type(value).__name__
            raise TypeError(f"compiled queries bind ints, days and moments, not {kind} ({name})")
        stands_for.append((made, name, index))
        return made

    for name, value in values.items():
        if isinstance(value, list):
            built[name] = [marker(item, name, index) for index, item in enumerate(value)]
        else:
            built[name] = marker(value, name, None)
    return built, stands_for


def _database() -> BaseDatabaseWrapper:
    """The default database's connection for this thread, looked up once per read:
    `django.db.connection` looks it up again at each use of one of its attributes."""
    return connections[DEFAULT_DB_ALIAS]


def _adapt(db: BaseDatabaseWrapper, value: Any, kind: str) -> Any:
    if kind == "moment":
        return db.ops.adapt_datetimefield_value(value)
    if kind == "day":
        return db.ops.adapt_datefield_value(value)
    return value


def _compile(
    db: BaseDatabaseWrapper, build: Callable[..., QuerySet], values: dict[str, Any], *, as_values: bool
) -> _Compiled:
    marked, stands_for = _markers(values)
    queryset = build(**marked)
    # What a queryset does besides its one query (prefetches, objects known from a related
    # manager, a fetch mode of its own) would not be done here: refused, not skipped.
    # (django-stubs does not declare these.)
    if (
        queryset._prefetch_related_lookups  # type: ignore[attr-defined]
        or queryset._known_related_objects  # type: ignore[attr-defined]
        or queryset._fetch_mode is not DEFAULT_FETCH_MODE  # type: ignore[attr-defined]
    ):
        raise ValueError("compiled queries read one query's rows (no prefetch_related, fetch mode).")
    compiler = queryset.query.get_compiler(connection=db)
    sql, params = compiler.as_sql()
    # Built again with other markers, the query must differ only where the markers stand: a
    # build that computed something from a value (a day from a moment, a branch on it) would
    # otherwise freeze what it computed from the first markers into every later call.
    other_sql, other_params = build(**_markers(values, offset=1_000)[0]).query.get_compiler(
        connection=db
    ).as_sql()
    if as_values:
        if queryset._iterable_class is not ValuesListIterable:
            raise ValueError("compiled_values reads a values_list() queryset (not flat, not named).")
        query = queryset.query
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        # (django-stubs does not declare the fields a values_list() names.)
        fields = list(queryset._fields) or names  # type: ignore[attr-defined]
        order: tuple[int, ...] | None = tuple(names.index(name) for name in fields)
    else:
        if compiler.klass_info is None or compiler.annotation_col_map:
            raise ValueError("compiled_rows reads model rows (select_related allowed, no annotations).")
        order = None
    slots = []
    for made, name, index in stands_for:
        kind = _kind(made)
        adapted = _adapt(db, made, kind)
        found = [
            position
            for position, param in enumerate(params)
            if type(param) is type(adapted) and param == adapted
        ]
        if not found:
            raise ValueError(f"compiled query: the build did not use {name!r} as a query value.")
        slots += [(position, name, index, kind) for position in found]
    bound = {position for position, *_ in slots}
    if other_sql != sql or any(
        position not in bound and other != param
        for position, (param, other) in enumerate(zip(params, other_params, strict=True))
    ):
        raise ValueError("compiled query: the build uses a value other than as a query value.")
    columns = [column for column, _sql, _alias in compiler.select]
    model, model_columns, attnames = None, None, None
    if not as_values:
        model = compiler.klass_info["model"]
        fields = compiler.klass_info["select_fields"]
        model_columns = slice(fields[0], fields[-1] + 1)
        attnames = tuple(column.target.attname for column in columns[model_columns])
    return _Compiled(
        sql=sql,
        params=tuple(params),
        slots=tuple(slots),
        model=model,
        attnames=attnames,
        model_columns=model_columns,
        populators=None
        if as_values or not compiler.klass_info.get("related_klass_infos")
        else tuple(
            get_related_populators(compiler.klass_info, compiler.select, db.alias, DEFAULT_FETCH_MODE)
        ),
        order=order,
        converters=tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in compiler.get_converters(columns).items()
        ),
        locks=queryset.query.select_for_update,
    )


def _bind(db: BaseDatabaseWrapper, compiled: _Compiled, values: dict[str, Any]) -> list:
    params = list(compiled.params)
    for position, name, index, kind in compiled.slots:
        params[position] = _adapt(db, values[name] if index is None else values[name][index], kind)
    return params


def _converted(db: BaseDatabaseWrapper, compiled: _Compiled, rows: list) -> list:
    if not compiled.converters:
        return rows
    rows = [list(row) for row in rows]
    for row in rows:
        for position, functions, expression in compiled.converters:
            for function in functions:
                row[position] = function(row[position], expression, db)
    return rows


def _empty_list(values: dict[str, Any]) -> bool:
    return any(isinstance(value, list) and not value for value in values.values())


def _as_fetched(rows: list) -> list:
    return rows


@dataclass(frozen=True, slots=True)
class Read[T]:
    """One compiled read and what its rows mean (`then`): run alone with `run()`, or with
    other reads in one round trip with `read_together`.

    `build` is as `compiled_rows` and `compiled_values` take it; `model` says which: whole
    rows of that model (what the build select_related()s populated), or None for the rows of
    a `values_list(...)` queryset."""

    build: Callable[..., QuerySet]
    values: dict[str, Any]
    model: type[Model] | None = None
    then: Callable[[list], T] = _as_fetched  # type: ignore[assignment]

    def run(self) -> T:
        if _empty_list(self.values):
            return self.then(list(self.build(**self.values)))
        db = _database()
        compiled = _compiled_for(db, self)
        with prepared_cursor(db) as cursor:
            cursor.execute(compiled.sql, _bind(db, compiled, self.values))
            rows = cursor.fetchall()
        return self.then(_objects(db, self, compiled, _converted(db, compiled, rows)))


def _compiled_for(db: BaseDatabaseWrapper, read: Read) -> _Compiled:
    values = read.values
    shape = tuple((name, len(value) if isinstance(value, list) else None) for name, value in values.items())
    as_values = read.model is None
    key = (read.build, db.alias, shape)
    compiled = _compiled.get(key)
    if compiled is None:
        with _compiling:
            compiled = _compiled.get(key) or _compile(db, read.build, values, as_values=as_values)
            _compiled[key] = compiled
    if not as_values and compiled.model is not read.model:
        raise ValueError(f"compiled read: the build reads {compiled.model}, not {read.model}.")
    return compiled


def _objects(db: BaseDatabaseWrapper, read: Read, compiled: _Compiled, rows: list) -> list:
    """The rows as the queryset would give them: model instances, or value tuples."""
    model = read.model
    if model is None:
        assert compiled.order is not None
        return [tuple(row[index] for index in compiled.order) for row in rows]
    assert compiled.attnames is not None and compiled.model_columns is not None
    alias, attnames, columns = db.alias, compiled.attnames, compiled.model_columns
    objects = [model.from_db(alias, attnames, row[columns]) for row in rows]
    if compiled.populators is not None:
        for row, instance in zip(rows, objects, strict=True):
            for populator in compiled.populators:
                populator.populate(row, instance)
    return objects


def _pipelined(db: BaseDatabaseWrapper, statements: list[tuple[str, list]]) -> list[list]:
    """Each statement's rows, the statements sent to PostgreSQL in one pipeline: sent
    together and answered together, one round trip (in autocommit; inside an atomic block
    whose transaction has not begun yet, psycopg first waits for its BEGIN). They run in one
    transaction (the same now()), but at READ COMMITTED each still takes its own snapshot,
    as one after another would. Each is still a query of its own to Django, counted and
    logged, with no time of its own: the wait is for all of them, at the pipeline's end."""
    cursors = []
    try:
        # An error is raised at the execute() of a later statement or at the pipeline's end:
        # both inside Django's wrapper, which turns it into Django's exception.
        with db.wrap_database_errors:
            with _driver_connection(db).pipeline():
                for sql, params in statements:
                    cursor = prepared_cursor(db)
                    cursors.append(cursor)
                    cursor.execute(sql, params)
            return [cursor.fetchall() for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


@overload
def read_together[A, B](a: Read[A], b: Read[B], /) -> tuple[A, B]: ...
@overload
def read_together[A, B, C](a: Read[A], b: Read[B], c: Read[C], /) -> tuple[A, B, C]: ...
@overload
def read_together[A, B, C, D](a: Read[A], b: Read[B], c: Read[C], d: Read[D], /) -> tuple[A, B, C, D]: ...
@overload
def read_together(*reads: Read[Any]) -> tuple[Any, ...]: ...
def read_together(*reads: Read[Any]) -> tuple[Any, ...]:
    """What each read means (its `then` of its rows), in order, the reads sent to the database
    together: on PostgreSQL in one round trip (see `_pipelined`); elsewhere one after
    another. A read with an empty list is not a shape: it is simply evaluated, on its own."""
    db = _database()
    bound = [
        (read, None if _empty_list(read.values) else _compiled_for(db, read)) for read in reads
    ]
    if any(compiled is not None and compiled.locks for _read, compiled in bound):
        # In autocommit its locks would last only until the pipeline's end.
        raise ValueError("read_together reads without locking: run a locking read alone.")
    if db.vendor != "postgresql":
        return tuple(read.run() for read in reads)
    fetched = iter(
        _pipelined(
            db, [(compiled.sql, _bind(db, compiled, read.values)) for read, compiled in bound if compiled]
        )
    )
    results = []
    for read, compiled in bound:
        if compiled is None:
            rows = list(read.build(**read.values))
        else:
            rows = _objects(db, read, compiled, _converted(db, compiled, next(fetched)))
        results.append(read.then(rows))
    return tuple(results)


def compiled_rows[M: Model](model: type[M], build: Callable[..., QuerySet[M]], **values: Any) -> list[M]:
    """`list(build(**values))`, with the SQL compiled once per process and shape.

    `build` must be a plain function of its keyword arguments (ints, days, moments, or lists
    of ints), each used as a query value as it is (compute a day from a moment before the
    call, not in the build: refused when it is compiled), returning a queryset of whole
    `model` rows, with what it select_related()s; an empty list is not a shape (such a call
    is simply evaluated)."""
    return Read(build, values, model).run()


def compiled_values(build: Callable[..., QuerySet], **values: Any) -> list[tuple]:
    """`list(build(**values))` for a `values_list(...)` queryset (annotations and grouping
    allowed), compiled once per process and shape, as `compiled_rows`."""
    return Read(build, values).run()


def prepared_cursor(db: BaseDatabaseWrapper | None = None):
    """A Django cursor (counted and logged like any other) whose statements PostgreSQL parses
    and plans once per connection, not per execution.

    Django's own cursors bind values on the client, so PostgreSQL plans every statement
    afresh; this one binds on the server and, with settings.DATABASE_PREPARED_STATEMENTS,
    prepares each statement the first time the connection runs it (psycopg keeps the last
    100, and forgets them all at a rollback). Elsewhere (SQLite) it is a plain cursor. On
    `db`, the default database's connection for this thread (itself when not given)."""
    if db is None:
        db = _database()
    if db.vendor != "postgresql":
        return db.cursor()
    import psycopg

    raw_connection = _driver_connection(db)
    if settings.DATABASE_PREPARED_STATEMENTS:
        # Only server-binding cursors (these) are ever prepared: Django's bind on the client.
        raw_connection.prepare_threshold = 0
    # (django-stubs types these as taking Django's wrapper; they wrap a driver cursor.)
    raw: Any = psycopg.Cursor(raw_connection)
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)


def _driver_connection(db: BaseDatabaseWrapper) -> Any:
    """psycopg's connection under Django's (opened if it is not yet), for this thread."""
    db.ensure_connection()
    db.validate_thread_sharing()
    return db.connection
