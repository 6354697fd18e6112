"""Accounts API: who am I, staff accounts (scoped), personal API tokens."""

from datetime import datetime

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from hotline.core.api import authenticated, requires
from hotline.core.errors import ValidationFailed
from hotline.orgs.models import Unit

from .models import APIToken, User
from .roles import permissions_for
from .scope import DataScope
from .services import token_create, token_revoke, user_create, user_update

router = Router()


class UnitRef(Schema):
    code: str
    name: str


class UserOut(Schema):
    id: int
    username: str
    full_name: str
    role: str
    unit: UnitRef | None
    is_active: bool


class MeOut(UserOut):
    permissions: list[str]
    scope: str


class UserIn(Schema):
    username: str
    password: str
    role: str
    unit_code: str | None = None
    full_name: str = ""
    phone: str = ""
    email: str = ""


class UserPatch(Schema):
    role: str | None = None
    unit_code: str | None = None
    full_name: str | None = None
    phone: str | None = None
    is_active: bool | None = None


class TokenIn(Schema):
    name: str
    days: int | None = 90


class TokenOut(Schema):
    id: int
    name: str
    key_prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    key: str


def _scope_label(scope: DataScope, user: User) -> str:
    if scope.everything:
        return "city"
    if scope.unit_path:
        return f"unit:{user.unit.code}" if user.unit else "none"
    if scope.region_path:
        return f"region:{user.unit.region.code}" if user.unit else "none"
    return "none"


def _unit_by_code(code: str | None, field: str = "unit_code") -> Unit | None:
    if not code:
        return None
    unit = Unit.objects.filter(code=code).first()
    if unit is None:
        raise ValidationFailed("Unknown unit.", fields={field: ["unknown code"]})
    return unit


def _visible_users(request: HttpRequest):  # type: ignore[no-untyped-def]
    return DataScope.for_user(request.user).filter(
        User.objects.select_related("unit", "unit__region"), unit_field="unit"
    )


@router.get("/me", response=MeOut)
@authenticated
def me(request: HttpRequest):  # type: ignore[no-untyped-def]
    user = request.user
    assert isinstance(user, User)
    return {
        "id": user.pk,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "unit": user.unit,
        "is_active": user.is_active,
        "permissions": sorted(permissions_for(user.role)),
        "scope": _scope_label(DataScope.for_user(user), user),
    }


@router.get("/users", response=list[UserOut])
@requires("accounts.view_user")
@paginate(LimitOffsetPagination)
def user_list(request: HttpRequest, role: str | None = None, unit: str | None = None):  # type: ignore[no-untyped-def]
    """Accounts in the caller's scope (a department manager sees their own unit's staff)."""
    qs = _visible_users(request)
    if role:
        qs = qs.filter(role=role)
    if unit:
        qs = qs.filter(unit__code=unit)
    return qs


@router.get("/users/{user_id}", response=UserOut)
@requires("accounts.view_user")
def user_detail(request: HttpRequest, user_id: int):  # type: ignore[no-untyped-def]
    return get_object_or_404(_visible_users(request), pk=user_id)


@router.post("/users", response={201: UserOut})
@requires("accounts.add_user")
def user_add(request: HttpRequest, payload: UserIn):  # type: ignore[no-untyped-def]
    user = user_create(
        actor=request.user,  # type: ignore[arg-type]
        username=payload.username,
        password=payload.password,
        role=payload.role,
        unit=_unit_by_code(payload.unit_code),
        full_name=payload.full_name,
        phone=payload.phone,
        email=payload.email,
    )
    return Status(201, user)


@router.patch("/users/{user_id}", response=UserOut)
@requires("accounts.change_user")
def user_change(request: HttpRequest, user_id: int, payload: UserPatch):  # type: ignore[no-untyped-def]
    user = get_object_or_404(_visible_users(request), pk=user_id)
    changes = payload.dict(exclude_unset=True)
    if "unit_code" in changes:
        changes["unit"] = _unit_by_code(changes.pop("unit_code"))
    return user_update(actor=request.user, user=user, **changes)  # type: ignore[arg-type]


@router.get("/tokens", response=list[TokenOut])
@authenticated
def token_list(request: HttpRequest):  # type: ignore[no-untyped-def]
    """The caller's own API tokens (never the keys)."""
    return APIToken.objects.filter(user_id=request.user.pk or 0).order_by("-created_at")


@router.post("/tokens", response={201: TokenCreated})
@authenticated
def token_add(request: HttpRequest, payload: TokenIn):  # type: ignore[no-untyped-def]
    """Create a token for the caller. The key is shown in this answer only."""
    if payload.days is not None and not 1 <= payload.days <= 366:
        raise ValidationFailed("A token lives 1 to 366 days.", fields={"days": ["1 to 366"]})
    if not payload.name.strip():
        raise ValidationFailed("Name the token.", fields={"name": ["required"]})
    token, key = token_create(user=request.user, name=payload.name.strip(), days=payload.days)  # type: ignore[arg-type]
    return Status(201, {**TokenOut.from_orm(token).dict(), "key": key})


@router.delete("/tokens/{token_id}", response={204: None})
@authenticated
def token_delete(request: HttpRequest, token_id: int):  # type: ignore[no-untyped-def]
    token_revoke(token=get_object_or_404(APIToken, pk=token_id, user_id=request.user.pk))
    return Status(204, None)
