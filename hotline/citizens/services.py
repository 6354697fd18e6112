"""Writes to citizens' profiles."""

from __future__ import annotations

import re
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


def _validate(citizen: Citizen) -> None:
    errors: dict[str, list[str]] = {}
    if not citizen.phone or not PHONE_RE.match(citizen.phone):
        errors["phone"] = ["a phone number of digits, 3 to 20 long"]
    if citizen.id_number and not ID_RE.match(citizen.id_number):
        errors["id_number"] = ["a resident ID number has 15 or 18 characters"]
    if errors:
        raise ValidationFailed("The citizen's details are not valid.", fields=errors)


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
