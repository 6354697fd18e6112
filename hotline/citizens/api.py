"""Citizens' profiles. Lists are masked; a profile is unmasked (and audited) for desk roles only."""

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status

from hotline.core.api import requires
from hotline.core.errors import ValidationFailed
from hotline.orgs.models import Region

from .models import Citizen
from .selectors import citizen_present, citizen_present_masked
from .services import citizen_create, citizen_update

router = Router()


class CitizenOut(Schema):
    id: int
    name: str
    phone: str
    id_number: str
    address: str
    region_code: str | None
    note: str
    masked: bool


class CitizenIn(Schema):
    name: str = ""
    phone: str
    id_number: str = ""
    address: str = ""
    region_code: str | None = None
    note: str = ""


class CitizenPatch(Schema):
    name: str | None = None
    phone: str | None = None
    id_number: str | None = None
    address: str | None = None
    region_code: str | None = None
    note: str | None = None


def _fields(data: dict[str, object]) -> dict[str, object]:
    if "region_code" in data:
        code = data.pop("region_code")
        region = Region.objects.filter(code=code).first() if code else None
        if code and region is None:
            raise ValidationFailed("Unknown region.", fields={"region_code": ["unknown code"]})
        data["region"] = region
    return data


@router.get("", response=list[CitizenOut])
@requires("citizens.view_citizen")
def citizen_search(request: HttpRequest, phone: str | None = None, name: str | None = None):  # type: ignore[no-untyped-def]
    """Find citizens by exact phone number or by name (at most 50, masked)."""
    if not phone and not name:
        raise ValidationFailed("Search by phone or name.", fields={"phone": ["phone or name required"]})
    qs = Citizen.objects.select_related("region")
    if phone:
        qs = qs.filter(phone=phone.strip())
    if name:
        qs = qs.filter(name__contains=name.strip())
    return [citizen_present_masked(c) for c in qs[:50]]


@router.get("/{citizen_id}", response=CitizenOut)
@requires("citizens.view_citizen")
def citizen_detail(request: HttpRequest, citizen_id: int, purpose: str = ""):  # type: ignore[no-untyped-def]
    citizen = get_object_or_404(Citizen.objects.select_related("region"), pk=citizen_id)
    return citizen_present(citizen=citizen, user=request.user, purpose=purpose)


@router.post("", response={201: CitizenOut})
@requires("citizens.add_citizen")
def citizen_add(request: HttpRequest, payload: CitizenIn):  # type: ignore[no-untyped-def]
    citizen = citizen_create(**_fields(payload.dict()))
    return Status(201, citizen_present(citizen=citizen, user=request.user, audit=False))


@router.patch("/{citizen_id}", response=CitizenOut)
@requires("citizens.change_citizen")
def citizen_change(request: HttpRequest, citizen_id: int, payload: CitizenPatch):  # type: ignore[no-untyped-def]
    citizen = get_object_or_404(Citizen, pk=citizen_id)
    citizen = citizen_update(citizen=citizen, **_fields(payload.dict(exclude_unset=True)))
    return citizen_present(citizen=citizen, user=request.user, audit=False)
