"""Request types and categories (reference data for intake)."""

from django.http import HttpRequest
from ninja import Router, Schema

from hotline.core.api import requires

from .models import Category, RequestType

router = Router()


class RequestTypeOut(Schema):
    code: str
    name: str


class CategoryOut(Schema):
    code: str
    name: str
    level: int
    parent_code: str | None
    active: bool


@router.get("/request-types", response=list[RequestTypeOut])
@requires("taxonomy.view_requesttype")
def request_type_list(request: HttpRequest):  # type: ignore[no-untyped-def]
    return RequestType.objects.filter(active=True)


@router.get("/categories", response=list[CategoryOut])
@requires("taxonomy.view_category")
def category_list(  # type: ignore[no-untyped-def]
    request: HttpRequest, under: str | None = None, level: int | None = None, include_retired: bool = False
):
    """The category tree in code order; retired categories only when asked (for old records)."""
    qs = Category.objects.select_related("parent")
    if not include_retired:
        qs = qs.filter(active=True)
    if under:
        qs = qs.filter(code__startswith=under).exclude(code=under)
    if level:
        qs = qs.filter(level=level)
    return [
        {
            "code": c.code,
            "name": c.name,
            "level": c.level,
            "parent_code": c.parent.code if c.parent else None,
            "active": c.active,
        }
        for c in qs
    ]
