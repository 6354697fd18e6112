"""Writes to the org tree and duty list. Each runs in one transaction and writes the audit log."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record, audited_delete, audited_save, snapshot
from hotline.core.errors import ValidationFailed

from .choices import CHILD_LEVEL, RegionLevel
from .models import DutyAssignment, Region, Unit

# The editable fields of a region and a unit (admin forms use them).
REGION_FIELDS = ("code", "name", "level", "parent", "active", "sort_order")
UNIT_FIELDS = (
    "code",
    "name",
    "short_name",
    "kind",
    "region",
    "parent",
    "phone",
    "email",
    "active",
    "sort_order",
)


def _region_path(region: Region) -> str:
    base = region.parent.path if region.parent_id else "/"  # type: ignore[union-attr]
    return f"{base}{region.code}/"


def _unit_path(unit: Unit) -> str:
    base = unit.parent.path if unit.parent_id else "/"  # type: ignore[union-attr]
    return f"{base}{unit.code}/"


def region_validate(region: Region) -> dict[str, list[str]]:
    """Field errors of a region about to be saved (level must follow its parent's)."""
    errors: dict[str, list[str]] = {}
    if region.parent_id is None:
        if region.level != RegionLevel.CITY:
            errors.setdefault("parent", []).append("only a city may have no parent region")
    else:
        parent = region.parent
        assert parent is not None
        expected = CHILD_LEVEL.get(RegionLevel(parent.level))
        if expected is None:
            errors.setdefault("parent", []).append("a community cannot have sub-regions")
        elif region.level != expected:
            errors.setdefault("level", []).append(f"a region under a {parent.level} must be a {expected}")
        if region.pk and parent.path.startswith(_region_path_of_saved(region)):
            errors.setdefault("parent", []).append("a region cannot sit inside itself")
    return errors


def _region_path_of_saved(region: Region) -> str:
    return Region.objects.filter(pk=region.pk).values_list("path", flat=True).first() or "\0"


def _unit_path_of_saved(unit: Unit) -> str:
    return Unit.objects.filter(pk=unit.pk).values_list("path", flat=True).first() or "\0"


def unit_validate(unit: Unit) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if unit.parent_id is not None and unit.pk:
        assert unit.parent is not None
        if unit.parent.path.startswith(_unit_path_of_saved(unit)):
            errors.setdefault("parent", []).append("a unit cannot sit inside itself")
    return errors


def _repath_descendants(model: type[Region] | type[Unit], old_path: str, new_path: str) -> None:
    if old_path == new_path:
        return
    for node in model.objects.filter(path__startswith=old_path).exclude(path=old_path).order_by("path"):
        node.path = new_path + node.path[len(old_path) :]
        node.save(update_fields=["path"])


@transaction.atomic
def region_save(*, region: Region, note: str = "") -> Region:
    """Create or update a region, keeping the materialised paths of its subtree right."""
    errors = region_validate(region)
    if errors:
        raise ValidationFailed("The region is not valid.", fields=errors)
    creating = region.pk is None
    before = None if creating else snapshot(Region.objects.get(pk=region.pk))
    old_path = "" if creating else before["path"]  # type: ignore[index]
    region.path = _region_path(region)
    region.save()
    if not creating:
        _repath_descendants(Region, old_path, region.path)
    audit_record(
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        obj=region,
        before=before,
        after=snapshot(region),
        note=note,
    )
    return region


@transaction.atomic
def unit_save(*, unit: Unit, note: str = "") -> Unit:
    """Create or update a unit, keeping the materialised paths of its subtree right."""
    errors = unit_validate(unit)
    if errors:
        raise ValidationFailed("The unit is not valid.", fields=errors)
    creating = unit.pk is None
    before = None if creating else snapshot(Unit.objects.get(pk=unit.pk))
    old_path = "" if creating else before["path"]  # type: ignore[index]
    unit.path = _unit_path(unit)
    unit.save()
    if not creating:
        _repath_descendants(Unit, old_path, unit.path)
    audit_record(
        action=AuditAction.CREATE if creating else AuditAction.UPDATE,
        obj=unit,
        before=before,
        after=snapshot(unit),
        note=note,
    )
    return unit


@transaction.atomic
def duty_save(*, duty: DutyAssignment, note: str = "") -> DutyAssignment:
    audited_save(duty, note=note)
    return duty


@transaction.atomic
def object_delete(*, obj: Any, note: str = "") -> None:
    """Delete a region, unit or duty entry (refused by PROTECT while anything refers to it)."""
    audited_delete(obj, note=note)
