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
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connections, models
from django.utils import timezone

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


M = TypeVar("M", bound=models.Model)


def insert_instance(obj: M, *, using: str = "default") -> M:
    """Write a new, unsaved instance as ``obj.save()`` would (defaults already applied by the
    model's ``__init__``) and give it its primary key."""
    meta = obj._meta
    # ``pre_save`` as ``save()`` calls it: sets ``auto_now`` dates, commits file fields.
    row = {f.attname: f.pre_save(obj, True) for f in meta.concrete_fields if not f.primary_key}
    obj.pk = insert_row(type(obj), row, using=using)
    obj._state.adding = False
    obj._state.db = using
    return obj
