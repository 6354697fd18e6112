"""Plain-row inserts for the hottest write paths: taking an order in, history and audit rows, the
contact centre's call records.

``Model.objects.create()`` builds and compiles its INSERT again on every call, and the compilation
costs several times what the database needs to store the row (see docs/performance.md, intake).
``insert_rows`` (dicts, defaults filled in, optionally returning the new keys) and ``insert_values``
(tuples, many rows through one prepared statement) write a plain INSERT and pass every value
through the field's own ``get_db_prep_save`` — so what reaches the database is exactly what
``save()`` would have written: dates adapted to the engine, JSON encoded, and so on.

Nothing else of ``save()`` happens: no ``pre_save``/``post_save`` signals (the models written this
way have no receivers; the project keeps business logic out of signals) and no ``full_clean`` (the
services validate before writing, as they do for ``create()``).

A service that writes several rows in one transaction sends them through one cursor of its own
(``statement_cursor``, ``insert_through``). On PostgreSQL that cursor binds its parameters on the
server and prepares each statement the first time it runs, so that a statement sent again — every
intake sends the same few — is neither parsed nor planned again (docs/performance.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connections, models
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.utils import timezone
from django.utils.asyncio import async_unsafe

if TYPE_CHECKING:
    from django.db.models.fields import Field

# Fields whose database value is the Python value itself when that is None, a str, an int, a
# float or a bool (what the drivers adapt on their own); every other value goes through the field.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.FloatField,
    models.BooleanField,
    models.ForeignKey,
)
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})
_CHUNK = 10_000  # rows per ``executemany``


def _fields(model: type[models.Model], names: Sequence[str]) -> list[Field[Any, Any]]:
    """The concrete fields called ``names`` (names or attnames: ``order`` or ``order_id``)."""
    by_name: dict[str, Field[Any, Any]] = {}
    for f in model._meta.concrete_fields:
        by_name[f.name] = by_name[f.attname] = f
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise TypeError(f"{model._meta.label} has no column(s) {unknown}")
    return [by_name[n] for n in names]


def _converters(fields: Sequence[Field[Any, Any]], connection: Any) -> list[Callable[[Any], Any]]:
    """For each field, how a Python value becomes a query parameter: as ``get_db_prep_save``
    does it, with the common cases (plain values, aware datetimes) taken straight through."""

    def through(field: Field[Any, Any]) -> Callable[[Any], Any]:
        prep = field.get_db_prep_save
        if isinstance(field, _PLAIN_FIELDS) and not isinstance(field, models.JSONField):
            return lambda v: v if type(v) in _PLAIN_TYPES else prep(v, connection)
        if isinstance(field, models.DateTimeField):
            adapt = connection.ops.adapt_datetimefield_value
            return lambda v: None if v is None else adapt(v) if v.tzinfo is not None else prep(v, connection)
        return lambda v: prep(v, connection)

    return [through(f) for f in fields]


def _head(model: type[models.Model], fields: Sequence[Field[Any, Any]]) -> tuple[str, str]:
    """(``INSERT INTO … (columns) VALUES ``, one row's placeholders)."""
    columns = ", ".join(f'"{f.column}"' for f in fields)
    head = f'INSERT INTO "{model._meta.db_table}" ({columns}) VALUES '  # noqa: S608 - names from the model
    return head, "(" + ", ".join("%s" for _ in fields) + ")"


_Plan = tuple[list[Callable[[Any], Any]], str, str]
_plans: dict[tuple[type[models.Model], tuple[str, ...], str], _Plan] = {}


def _plan(model: type[models.Model], names: Sequence[str], using: str) -> _Plan:
    """The converters and statement text for ``model`` and the fields ``names``, built once."""
    key = (model, tuple(names), using)
    plan = _plans.get(key)
    if plan is None:
        fields = _fields(model, names)
        plan = (_converters(fields, connections[using]), *_head(model, fields))
        _plans[key] = plan
    return plan


def insert_values(
    model: type[models.Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
    using: str = "default",
) -> None:
    """Insert ``rows`` of Python values, in the order of the fields ``names``, with one prepared
    statement run over all of them (``executemany``; psycopg sends them in one pipeline).
    ``ignore_conflicts`` skips rows that break a unique constraint (``ON CONFLICT DO NOTHING``,
    on SQLite and PostgreSQL alike). Columns not named take the database's default."""
    if not rows:
        return
    converters, head, one_row = _plan(model, names, using)
    convert = list(enumerate(converters))
    sql = head + one_row + (" ON CONFLICT DO NOTHING" if ignore_conflicts else "")
    with connections[using].cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            cursor.executemany(sql, [[c(row[i]) for i, c in convert] for row in rows[start : start + _CHUNK]])


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    returning: bool = False,
    using: str = "default",
) -> list[int]:
    """Insert ``rows`` (dicts keyed by attname: ``order_id``, not ``order``), every column
    written: the model's defaults (callable ones included) for the columns a row leaves out. All
    rows must give the same keys. Returns the new primary keys when ``returning``, in row order
    (as Django's ``bulk_create`` relies on, on PostgreSQL and SQLite ≥ 3.35)."""
    if not rows:
        return []
    given = set(rows[0])
    _fields(model, sorted(given))  # unknown keys are an error
    fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.attname in given]
    now = timezone.now()
    values = [
        [
            row[f.attname]
            if f.attname in row
            else now
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
            else f.get_default()
            for f in fields
        ]
        for row in rows
    ]
    if not returning:
        insert_values(model, [f.attname for f in fields], values, using=using)
        return []
    convert, head, one_row = _plan(model, [f.attname for f in fields], using)
    pk = model._meta.pk.column if model._meta.pk is not None else "id"
    params = [c(v) for row in values for c, v in zip(convert, row, strict=True)]
    with connections[using].cursor() as cursor:
        cursor.execute(head + ", ".join(one_row for _ in rows) + f' RETURNING "{pk}"', params)
        return [row[0] for row in cursor.fetchall()]


def insert_row(model: type[models.Model], row: dict[str, Any], *, using: str = "default") -> int:
    """Insert one row and return its primary key."""
    return insert_rows(model, [row], returning=True, using=using)[0]


_statements: dict[tuple[type[models.Model], tuple[str, ...], int, bool, str], str] = {}


def insert_through(
    cursor: CursorWrapper,
    model: type[models.Model],
    names: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = False,
    using: str = "default",
) -> list[int]:
    """Insert ``rows`` of Python values, in the order of the fields ``names``, with one statement
    sent through ``cursor`` (a service's own cursor: ``statement_cursor``). Returns the new primary
    keys when ``returning``, in row order. The statement's text is built once per model, columns
    and number of rows, so that a prepared statement is found again."""
    converters, head, one_row = _plan(model, names, using)
    key = (model, names, len(rows), returning, using)
    sql = _statements.get(key)
    if sql is None:
        pk = model._meta.pk.column if model._meta.pk is not None else "id"
        sql = head + ", ".join(one_row for _ in rows) + (f' RETURNING "{pk}"' if returning else "")
        _statements[key] = sql
    cursor.execute(sql, [c(v) for row in rows for c, v in zip(converters, row, strict=True)])
    return [row[0] for row in cursor.fetchall()] if returning else []


@functools.cache
def _insertable(model: type[models.Model]) -> tuple[tuple[Field[Any, Any], ...], tuple[str, ...]]:
    """The fields an INSERT of a new ``model`` instance writes (all but the primary key) and
    their attnames."""
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    return fields, tuple(f.attname for f in fields)


def insert_one(
    cursor: CursorWrapper,
    model: type[models.Model],
    names: tuple[str, ...],
    values: Sequence[Any],
    *,
    pk: int | None = None,
    using: str = "default",
) -> int:
    """Insert one row of ``values`` (in the order of the fields ``names``) through ``cursor`` and
    return its primary key: ``pk`` when the caller took it beforehand from the table's sequence
    (``key_next_sql``: nothing is read back, so the statement can wait in a pipeline,
    ``pipelined``), else the key the database gives the row (``RETURNING``)."""
    if pk is None:
        (pk,) = insert_through(cursor, model, names, [values], returning=True, using=using)
        return pk
    key = model._meta.pk.attname if model._meta.pk is not None else "id"
    insert_through(cursor, model, (key, *names), [[pk, *values]], using=using)
    return pk


def key_next_sql(model: type[models.Model]) -> str:
    """PostgreSQL: the SQL expression that takes the next primary key of ``model``'s table from its
    sequence (an identity column's too), for a statement that reserves the keys of rows written
    later (``insert_one(pk=…)``)."""
    key = model._meta.pk.column if model._meta.pk is not None else "id"
    return f"nextval(pg_get_serial_sequence('\"{model._meta.db_table}\"', '{key}'))"


@contextmanager
def pipelined(cursor: CursorWrapper) -> Iterator[None]:
    """On PostgreSQL the statements sent through ``cursor`` inside the block go out without
    waiting for each answer (psycopg's pipeline mode) and are answered together at its end: one
    round trip instead of one each. A result fetched inside the block first waits for the
    statements before it. For plain statements only — the ORM reads ``rowcount`` right after an
    UPDATE, which pipeline mode gives later. Elsewhere the block just runs."""
    connection = cursor.db
    if connection.vendor != "postgresql":
        yield
        return
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


M = TypeVar("M", bound=models.Model)


def insert_instance(obj: M, *, using: str = "default", cursor: CursorWrapper | None = None) -> M:
    """Write a new, unsaved instance as ``obj.save()`` would (defaults already applied by the
    model's ``__init__``) and give it its primary key, unless it has one already (reserved with
    ``key_next_sql``); through ``cursor`` when given."""
    fields, names = _insertable(type(obj))
    # ``pre_save`` as ``save()`` calls it: sets ``auto_now`` dates, commits file fields.
    values = [f.pre_save(obj, True) for f in fields]
    if cursor is None:
        with connections[using].cursor() as own:
            obj.pk = insert_one(own, type(obj), names, values, pk=obj.pk, using=using)
    else:
        obj.pk = insert_one(cursor, type(obj), names, values, pk=obj.pk, using=using)
    obj._state.adding = False
    obj._state.db = using
    return obj


@functools.cache
def _preparing_cursor() -> type[Any]:
    """psycopg's server-binding cursor (as Django makes it with ``server_side_binding``) that asks
    for every statement to be prepared the first time it runs. psycopg then keeps it for the
    connection (the last ``prepared_max`` = 100 statements) and sends later runs as an execution
    of the prepared statement. It prepares only when the connection's ``prepare_threshold`` is not
    ``None`` (Django's default is ``None``; config/settings/base.py sets it)."""
    from django.db.backends.postgresql.base import ServerBindingCursor  # type: ignore[attr-defined]

    class PreparingCursor(ServerBindingCursor):  # type: ignore[misc,valid-type]
        def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None, **kw: Any) -> Any:
            return super().execute(query, params, prepare=True if prepare is None else prepare, **kw)

    return PreparingCursor


@async_unsafe
def statement_cursor(using: str = "default") -> CursorWrapper:
    """A cursor for a service that sends the same few statements on every call (taking an order
    in), as Django's ``connection.cursor()`` gives it — queries logged, ``execute_wrapper`` hooks
    and error translation included; use it as a context manager.

    On PostgreSQL it binds parameters on the server and prepares each statement on its first run
    (``_preparing_cursor``): Django's own cursor binds on the client and never prepares, so each
    statement is parsed and planned on every run, which costs as much as a round trip. Elsewhere
    it is the ordinary cursor (the ``sqlite3`` module keeps compiled statements itself)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = _preparing_cursor()(connection.connection)
    connection.validate_thread_sharing()
    if connection.queries_logged:
        return _PreparedDebugWrapper(cursor, connection)
    return connection.make_cursor(cursor)


class _PreparedDebugWrapper(CursorDebugWrapper):
    """Logs each statement with its values, as Django logs the statements of its own cursor (its
    ``last_executed_query`` reads them from the client-binding cursor)."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(self.db.ops.compose_sql(sql, params) if params else sql):
            return CursorWrapper.execute(self, sql, params)
