"""Reading citizens' profiles: masked unless the role needs the data, and then audited."""

from __future__ import annotations

from typing import Any

from hotline.audit.services import audit_personal_read
from hotline.core.masking import mask_id_number, mask_phone

from .models import Citizen


def may_see_personal_data(user: Any) -> bool:
    return bool(user.has_perm("citizens.view_personal_data"))


def citizen_present(*, citizen: Citizen, user: Any, purpose: str = "", audit: bool = True) -> dict[str, Any]:
    """The citizen as ``user`` may see them. An unmasked read of personal data is audited."""
    unmasked = may_see_personal_data(user)
    data = {
        "id": citizen.pk,
        "name": citizen.name,
        "phone": citizen.phone if unmasked else mask_phone(citizen.phone),
        "id_number": citizen.id_number if unmasked else mask_id_number(citizen.id_number),
        "address": citizen.address,
        "region_code": citizen.region.code if citizen.region_id else None,  # type: ignore[union-attr]
        "note": citizen.note,
        "masked": not unmasked,
    }
    if unmasked and audit:
        read = [f for f in Citizen.PERSONAL_FIELDS if getattr(citizen, f)]
        if read:
            audit_personal_read(obj=citizen, fields=read, purpose=purpose)
    return data


def citizen_present_masked(citizen: Citizen) -> dict[str, Any]:
    """For lists: always masked, so a list never counts as reading everyone's data."""
    return {
        "id": citizen.pk,
        "name": citizen.name,
        "phone": mask_phone(citizen.phone),
        "id_number": mask_id_number(citizen.id_number),
        "address": citizen.address,
        "region_code": citizen.region.code if citizen.region_id else None,  # type: ignore[union-attr]
        "note": citizen.note,
        "masked": True,
    }
