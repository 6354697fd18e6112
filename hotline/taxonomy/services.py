"""Writes to the category tree and request types."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record, audited_save, snapshot
from hotline.core.errors import ValidationFailed

from .models import Category, RequestType

CODE_DIGITS = 2  # per level


def category_next_code(*, parent: Category | None) -> str:
    prefix = parent.code if parent else ""
    level = parent.level + 1 if parent else 1
    siblings = Category.objects.filter(parent=parent, level=level).values_list("code", flat=True)
    used = [int(c[len(prefix) :]) for c in siblings if c[len(prefix) :].isdigit()]
    nxt = max(used, default=0) + 1
    if nxt >= 10**CODE_DIGITS:
        raise ValidationFailed("No free code left under this parent.", fields={"parent": ["full"]})
    return f"{prefix}{nxt:0{CODE_DIGITS}d}"


def category_validate(category: Category) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    parent = category.parent
    expected_level = parent.level + 1 if parent else 1
    if expected_level > Category.MAX_LEVEL:
        errors["parent"] = [f"the tree has {Category.MAX_LEVEL} levels at most"]
    if category.level != expected_level:
        errors.setdefault("level", []).append(f"must be {expected_level}")
    if parent is not None and not category.code.startswith(parent.code):
        errors.setdefault("code", []).append(f"must start with the parent's code {parent.code}")
    if len(category.code) != CODE_DIGITS * category.level or not category.code.isdigit():
        errors.setdefault("code", []).append(f"must be {CODE_DIGITS * category.level} digits")
    return errors


@transaction.atomic
def category_save(*, category: Category, note: str = "") -> Category:
    creating = category.pk is None
    if creating:
        category.level = category.parent.level + 1 if category.parent else 1
        if not category.code:
            category.code = category_next_code(parent=category.parent)
    errors = category_validate(category)
    if errors:
        raise ValidationFailed("The category is not valid.", fields=errors)
    audited_save(category, note=note)
    return category


@transaction.atomic
def category_retire(*, category: Category, note: str = "") -> int:
    """Retire a category and everything under it. Old records keep pointing at them; new intake
    no longer offers them. Returns how many categories were retired."""
    now = timezone.now()
    count = 0
    for node in Category.objects.filter(code__startswith=category.code, active=True):
        before = snapshot(node)
        node.active = False
        node.retired_at = now
        node.save(update_fields=["active", "retired_at"])
        audit_record(action=AuditAction.UPDATE, obj=node, before=before, after=snapshot(node), note=note)
        count += 1
    return count


@transaction.atomic
def category_restore(*, category: Category, note: str = "") -> None:
    if category.parent is not None and not category.parent.active:
        raise ValidationFailed("Restore the parent category first.", fields={"parent": ["retired"]})
    before = snapshot(category)
    category.active = True
    category.retired_at = None
    category.save(update_fields=["active", "retired_at"])
    audit_record(action=AuditAction.UPDATE, obj=category, before=before, after=snapshot(category), note=note)


@transaction.atomic
def request_type_save(*, request_type: RequestType, note: str = "") -> RequestType:
    """Create or update a request type (咨询, 投诉…). Retire one with ``active=False``."""
    errors: dict[str, list[str]] = {}
    if not request_type.code.strip():
        errors["code"] = ["required"]
    if not request_type.name.strip():
        errors["name"] = ["required"]
    if errors:
        raise ValidationFailed("The request type is not valid.", fields=errors)
    audited_save(request_type, note=note)
    return request_type
