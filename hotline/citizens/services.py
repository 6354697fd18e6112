"""Writes to citizens' profiles."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record, snapshot
from hotline.core.errors import ValidationFailed
from hotline.core.rows import insert_instance

from .models import Citizen

PHONE_RE = re.compile(r"^\+?[\d\- ]{3,20}$")
ID_RE = re.compile(r"^(\d{15}|\d{17}[\dXx])$")
EDITABLE = ("name", "phone", "id_number", "address", "region", "note")


def _check(phone: str, id_number: str) -> None:
    errors: dict[str, list[str]] = {}
    if not phone or not PHONE_RE.match(phone):
        errors["phone"] = ["a phone number of digits, 3 to 20 long"]
    if id_number and not ID_RE.match(id_number):
        errors["id_number"] = ["a resident ID number has 15 or 18 characters"]
    if errors:
        raise ValidationFailed("The citizen's details are not valid.", fields=errors)


def _validate(citizen: Citizen) -> None:
    _check(citizen.phone, citizen.id_number)


# The columns of ``citizen_row`` in the order of the model's fields (as ``snapshot`` lists them).
CITIZEN_COLUMNS = ("name", "phone", "id_number", "address", "region_id", "note", "created_at", "updated_at")


def citizen_row(
    *, name: str, phone: str, id_number: str = "", address: str = "", region: Any = None, at: datetime
) -> dict[str, Any]:
    """The row ``citizen_create`` writes for a new profile, as column values, checked as it checks
    them (``ValidationFailed``): for intake, which writes it in its own statements
    (``hotline.core.rows.insert_through``); ``citizen_snapshot`` gives its audit row's ``after``."""
    id_number = id_number.upper()
    _check(phone, id_number)
    return {
        "name": name,
        "phone": phone,
        "id_number": id_number,
        "address": address,
        "region_id": region.pk if region is not None else None,
        "note": "",
        "created_at": at,
        "updated_at": at,
    }


def citizen_snapshot(row: dict[str, Any], citizen_id: int) -> dict[str, Any]:
    """``snapshot`` of the profile written from ``row`` (``citizen_row``) as ``citizen_id``."""
    return {
        "id": citizen_id,
        "name": row["name"],
        "phone": row["phone"],
        "id_number": row["id_number"],
        "address": row["address"],
        "region": row["region_id"],
        "note": row["note"],
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


def citizen_create(**fields: Any) -> Citizen:
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={k: ["unknown"] for k in unknown})
    citizen = Citizen(**fields)
    citizen.id_number = citizen.id_number.upper()
    _validate(citizen)
    # Validated before the transaction, so no savepoint is needed: inside the caller's transaction
    # (intake) the two rows are part of it.
    with transaction.atomic(savepoint=False):
        insert_instance(citizen)
        audit_record(action=AuditAction.CREATE, obj=citizen, after=snapshot(citizen))
    return citizen


@transaction.atomic
def citizen_update(*, citizen: Citizen, **changes: Any) -> Citizen:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={k: ["unknown"] for k in unknown})
    before = snapshot(citizen)
    for key, value in changes.items():
        setattr(citizen, key, value)
    citizen.id_number = citizen.id_number.upper()
    _validate(citizen)
    citizen.updated_at = timezone.now()
    citizen.save()
    audit_record(action=AuditAction.UPDATE, obj=citizen, before=before, after=snapshot(citizen))
    return citizen
