"""Writing the audit log. Every service that changes data calls ``audit_record`` in its transaction."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.fields.files import FieldFile
from django.utils import timezone

from hotline.core.rows import insert_instance, insert_through

from .context import current
from .models import AuditAction, AuditEvent

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, FieldFile):  # an empty file field has no url: only its name counts
        return value.name or ""
    return value


def snapshot(obj: models.Model, *, exclude: Iterable[str] = ("password",)) -> dict[str, Any]:
    """The concrete field values of ``obj`` as JSON (foreign keys as ids)."""
    skip = set(exclude)
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in skip:
            continue
        data[field.name] = _jsonable(getattr(obj, field.attname))
    return data


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def audit_row(
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
    actor: Any = None,
    ip: str | None = None,
    at: datetime.datetime | None = None,
) -> dict[str, Any]:
    """The row ``audit_record`` appends, as column values keyed by attname (``actor_id``), for a
    service that writes it together with its own rows (``hotline.core.rows.insert_through``).
    Actor and address default to the current request (``context.py``)."""
    ctx = current()
    actor = actor if actor is not None else ctx.actor
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)
    if action == AuditAction.UPDATE and before is not None and after is not None:
        keys = changed_fields(before, after)
        before = {k: before.get(k) for k in keys}
        after = {k: after.get(k) for k in keys}
    return {
        "at": at or timezone.now(),
        "actor_id": actor.pk if actor is not None else None,
        "actor_name": (getattr(actor, "username", "") if actor is not None else "")[:150],
        "ip": ip if ip is not None else ctx.ip,
        "action": action,
        "object_type": object_type[:64],
        "object_id": object_id[:64],
        "object_repr": object_repr[:200],
        "before": _jsonable(before) if before is not None else None,
        "after": _jsonable(after) if after is not None else None,
        "note": note[:500],
        "request_id": ctx.request_id,
    }


# The columns of ``audit_row`` in the order ``audit_rows_insert`` writes them.
AUDIT_COLUMNS = (
    "at", "actor_id", "actor_name", "ip", "action", "object_type", "object_id", "object_repr", "before",
    "after", "note", "request_id",
)  # fmt: skip


def audit_rows_insert(rows: Sequence[dict[str, Any]], *, cursor: CursorWrapper) -> None:
    """Append ``rows`` (``audit_row``) with one statement through the service's own ``cursor``."""
    insert_through(cursor, AuditEvent, AUDIT_COLUMNS, [[row[name] for name in AUDIT_COLUMNS] for row in rows])


def audit_record(
    *,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str = "",
    actor: Any = None,
    ip: str | None = None,
) -> AuditEvent:
    """Append one row. Actor and address default to the current request (``context.py``)."""
    row = audit_row(
        action=action, obj=obj, object_type=object_type, object_id=object_id, object_repr=object_repr,
        before=before, after=after, note=note, actor=actor, ip=ip,
    )  # fmt: skip
    return insert_instance(AuditEvent(**row))


def audit_personal_read(*, obj: models.Model, fields: Iterable[str], purpose: str = "") -> AuditEvent:
    """Record that the current actor saw the named personal-data fields of ``obj`` unmasked."""
    return audit_record(
        action=AuditAction.READ,
        obj=obj,
        after={"fields": sorted(fields)},
        note=purpose,
    )


def audited_save(
    obj: models.Model, *, note: str = "", actor: Any = None, exclude: Iterable[str] = ("password",)
) -> dict[str, Any] | None:
    """Save ``obj`` and append its create or update row (``exclude``: secrets left out of it).
    Returns the snapshot from before the save (None for a new object). Call inside the service's
    transaction."""
    creating = obj.pk is None
    before = None if creating else snapshot(type(obj)._default_manager.get(pk=obj.pk), exclude=exclude)
    obj.save()
    audit_record(
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        obj=obj,
        before=before,
        after=snapshot(obj, exclude=exclude),
        note=note,
        actor=actor,
    )
    return before


def audited_delete(
    obj: models.Model, *, note: str = "", actor: Any = None, exclude: Iterable[str] = ("password",)
) -> None:
    """Delete ``obj`` and append its delete row with the values it had. Call inside the
    service's transaction (a PROTECT refusal leaves nothing behind)."""
    before = snapshot(obj, exclude=exclude)
    repr_, pk = str(obj), obj.pk
    obj.delete()
    audit_record(
        action=AuditAction.DELETE,
        object_type=obj._meta.label_lower,
        object_id=str(pk),
        object_repr=repr_,
        before=before,
        note=note,
        actor=actor,
    )
