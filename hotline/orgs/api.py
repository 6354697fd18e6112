"""Org tree and duty list API (reads are scoped; writes are for administrators)."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from hotline.accounts.scope import SELF, DataScope
from hotline.core.api import requires
from hotline.core.errors import ValidationFailed
from hotline.taxonomy.models import Category

from .models import Region, Unit
from .selectors import duty_resolve
from .services import region_save, unit_save

router = Router()


class RegionOut(Schema):
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    path: str
    active: bool


class UnitOut(Schema):
    id: int
    code: str
    name: str
    short_name: str
    kind: str
    region_id: int
    parent_id: int | None
    phone: str
    active: bool


class RegionIn(Schema):
    code: str
    name: str
    level: str
    parent_code: str | None = None
    active: bool = True


class UnitIn(Schema):
    code: str
    name: str
    kind: str
    region_code: str
    parent_code: str | None = None
    short_name: str = ""
    phone: str = ""
    active: bool = True


class DutyOut(Schema):
    category: str
    region: str
    unit: UnitOut
    matched_category_code: str
    matched_region_code: str


@router.get("/regions", response=list[RegionOut])
@requires("orgs.view_region")
@paginate(LimitOffsetPagination)
def region_list(request: HttpRequest, level: str | None = None, under: str | None = None):  # type: ignore[no-untyped-def]
    """Regions in the caller's scope, optionally one level and/or under the region coded ``under``."""
    scope = DataScope.for_user(request.user)
    qs = Region.objects.all()
    if not scope.everything:
        unit = getattr(request.user, "unit", None)
        region_path = scope.region_path or (unit.region.path if unit else None)
        qs = qs.filter(path__startswith=region_path) if region_path else qs.none()
    if level:
        qs = qs.filter(level=level)
    if under:
        parent = get_object_or_404(Region, code=under)
        qs = qs.filter(path__startswith=parent.path).exclude(pk=parent.pk)
    return qs


@router.post("/regions", response={201: RegionOut})
@requires("orgs.add_region")
def region_create(request: HttpRequest, payload: RegionIn):  # type: ignore[no-untyped-def]
    parent = None
    if payload.parent_code:
        parent = Region.objects.filter(code=payload.parent_code).first()
        if parent is None:
            raise ValidationFailed("Unknown parent region.", fields={"parent_code": ["unknown code"]})
    if Region.objects.filter(code=payload.code).exists():
        raise ValidationFailed("That code is taken.", code="duplicate", fields={"code": ["taken"]})
    region = Region(
        code=payload.code, name=payload.name, level=payload.level, parent=parent, active=payload.active
    )
    if payload.level not in dict(Region._meta.get_field("level").choices):  # type: ignore[arg-type]
        raise ValidationFailed("Unknown level.", fields={"level": ["unknown level"]})
    return Status(201, region_save(region=region))


@router.get("/units", response=list[UnitOut])
@requires("orgs.view_unit")
@paginate(LimitOffsetPagination)
def unit_list(request: HttpRequest, kind: str | None = None, q: str | None = None):  # type: ignore[no-untyped-def]
    """Units in the caller's scope: handlers see their unit and its sub-units, leaders their region."""
    qs = DataScope.for_user(request.user).filter(Unit.objects.all(), unit_field=SELF)
    if kind:
        qs = qs.filter(kind=kind)
    if q:
        qs = qs.filter(name__contains=q)
    return qs


@router.get("/units/{code}", response=UnitOut)
@requires("orgs.view_unit")
def unit_detail(request: HttpRequest, code: str):  # type: ignore[no-untyped-def]
    qs = DataScope.for_user(request.user).filter(Unit.objects.all(), unit_field=SELF)
    return get_object_or_404(qs, code=code)


@router.post("/units", response={201: UnitOut})
@requires("orgs.add_unit")
def unit_create(request: HttpRequest, payload: UnitIn):  # type: ignore[no-untyped-def]
    errors: dict[str, list[str]] = {}
    region = Region.objects.filter(code=payload.region_code).first()
    if region is None:
        errors["region_code"] = ["unknown code"]
    parent = None
    if payload.parent_code:
        parent = Unit.objects.filter(code=payload.parent_code).first()
        if parent is None:
            errors["parent_code"] = ["unknown code"]
    if payload.kind not in dict(Unit._meta.get_field("kind").choices):  # type: ignore[arg-type]
        errors["kind"] = ["unknown kind"]
    if Unit.objects.filter(code=payload.code).exists():
        errors["code"] = ["taken"]
    if errors:
        raise ValidationFailed("The unit is not valid.", fields=errors)
    unit = Unit(
        code=payload.code,
        name=payload.name,
        kind=payload.kind,
        region=region,
        parent=parent,
        short_name=payload.short_name,
        phone=payload.phone,
        active=payload.active,
    )
    return Status(201, unit_save(unit=unit))


@router.get("/duties/resolve", response={200: DutyOut})
@requires("orgs.view_dutyassignment")
def duty_lookup(request: HttpRequest, category: str, region: str):  # type: ignore[no-untyped-def]
    """Who is responsible for a category (code) in a region (code), by the duty list (权责清单)."""
    cat = Category.objects.filter(code=category).first()
    reg = Region.objects.filter(code=region).first()
    errors = {}
    if cat is None:
        errors["category"] = ["unknown code"]
    if reg is None:
        errors["region"] = ["unknown code"]
    if errors:
        raise ValidationFailed("Unknown category or region.", fields=errors)
    assert cat is not None and reg is not None
    duty = duty_resolve(category=cat, region=reg)
    if duty is None:
        raise ValidationFailed(
            "The duty list names no unit for this category and region.", code="no_duty", fields={}
        )
    return {
        "category": cat.code,
        "region": reg.code,
        "unit": duty.unit,
        "matched_category_code": duty.category.code,
        "matched_region_code": duty.region.code,
    }
