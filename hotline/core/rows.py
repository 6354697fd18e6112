"""Plain-row inserts for the hottest write paths: taking an order in, history rows, audit rows.

``Model.objects.create()`` builds and compiles its INSERT again on every call, and the compilation
costs several times what the database needs to store the row (see docs/performance.md, intake).
``insert_rows`` builds the statement for a model and a set of columns once, and passes every value
through the field's own ``get_db_prep_save`` — so what reaches the database is exactly what
``save()`` would have written: defaults (callable ones included) for the columns not given, dates
adapted to the engine, JSON encoded, and so on.

Nothing else of ``save()`` happens: no ``pre_save``/``post_save`` signals (the models written this
way have no receivers; the project keeps business logic out of signals) and no ``full_clean`` (the
services validate before writing, as they do for ``create()``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connections, models
from django.utils import timezone

if TYPE_CHECKING:
    from django.db.models.fields import Field

_Statement = tuple[str, list[tuple["Field[Any, Any]", bool]], str, str]
# Fields whose database value is the Python value itself when that is None, a str, an int or a
# bool (what the drivers adapt on their own); every other value goes through the field.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)
_PLAIN_TYPES = frozenset({str, int, bool, type(None)})
_statements: dict[tuple[type[models.Model], tuple[str, ...], bool], _Statement] = {}


def _statement(model: type[models.Model], given: tuple[str, ...], returning: bool) -> _Statement:
    """(``INSERT … VALUES ``, the fields in column order, one row's placeholders, ``RETURNING …``)."""
    key = (model, given, returning)
    found = _statements.get(key)
    if found is None:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key or f.attname in given]
        unknown = set(given) - {f.attname for f in fields}
        if unknown:
            raise TypeError(f"{meta.label} has no column(s) {sorted(unknown)}")
        columns = ", ".join(f'"{f.column}"' for f in fields)
        pk_column = meta.pk.column if meta.pk is not None else "id"
        found = (
            f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ',  # noqa: S608 - names from the model
            [(f, isinstance(f, _PLAIN_FIELDS) and not isinstance(f, models.JSONField)) for f in fields],
            "(" + ", ".join("%s" for _ in fields) + ")",
            f' RETURNING "{pk_column}"' if returning else "",
        )
        _statements[key] = found
    return found


def insert_rows(
    model: type[models.Model],
    rows: Sequence[dict[str, Any]],
    *,
    returning: bool = False,
    using: str = "default",
) -> list[int]:
    """Insert ``rows`` (dicts keyed by attname: ``order_id``, not ``order``): one statement, or
    one statement executed for many rows.
    All rows must give the same keys. Returns the new primary keys when ``returning``, in row
    order (as Django's ``bulk_create`` relies on, on PostgreSQL and SQLite ≥ 3.35)."""
    if not rows:
        return []
    given = tuple(sorted(rows[0]))
    connection = connections[using]
    head, fields, one_row, tail = _statement(model, given, returning)
    values: list[list[Any]] = []
    now = None
    for row in rows:
        params: list[Any] = []
        for field, plain in fields:
            if field.attname in row:
                value = row[field.attname]
            elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                now = now or timezone.now()
                value = now
            else:
                value = field.get_default()
            if plain and type(value) in _PLAIN_TYPES:
                params.append(value)
            else:
                params.append(field.get_db_prep_save(value, connection))
        values.append(params)
    with connection.cursor() as cursor:
        if returning:
            cursor.execute(head + ", ".join(one_row for _ in rows) + tail, [v for row in values for v in row])
            return [row[0] for row in cursor.fetchall()]
        if len(values) == 1:
            cursor.execute(head + one_row, values[0])
        else:  # one prepared statement, many rows (psycopg sends them in one pipeline)
            cursor.executemany(head + one_row, values)
    return []


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
