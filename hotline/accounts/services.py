"""Writes to user accounts and API tokens."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record, snapshot
from hotline.core.errors import Conflict, Forbidden, ValidationFailed
from hotline.orgs.models import Unit

from .choices import CENTRE_ROLES, REGION_ROLES, UNIT_ROLES, Role
from .models import APIToken, User
from .scope import DataScope

# Roles a department manager may hand out inside their own unit.
UNIT_MANAGER_GRANTABLE = frozenset({Role.HANDLER, Role.UNIT_MANAGER})


def _check_role_and_unit(*, role: str, unit: Unit | None) -> None:
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = [f"unknown role {role!r}"]
    elif role in UNIT_ROLES | REGION_ROLES and unit is None:
        errors["unit"] = ["this role needs a unit"]
    elif role in CENTRE_ROLES and unit is not None and unit.kind != "centre":
        errors["unit"] = ["centre roles belong to the hotline centre"]
    if errors:
        raise ValidationFailed("The account is not valid.", fields=errors)


def _check_may_manage(*, actor: User, role: str, unit: Unit | None) -> None:
    """Administrators manage everyone; a department manager only handlers/managers of own unit."""
    if actor.role == Role.ADMIN or actor.is_superuser:
        return
    if actor.role == Role.UNIT_MANAGER:
        scope = DataScope.for_user(actor)
        if role in UNIT_MANAGER_GRANTABLE and unit is not None and scope.contains_unit(unit):
            return
    raise Forbidden("You may not manage this account.")


def user_check(
    *, actor: User | None, role: str, unit: Unit | None, username: str | None, password: str | None
) -> None:
    """Every check ``user_create`` makes (``username``/``password`` None: an update), raising
    ``ServiceError`` — forms call it to show refusals as field errors."""
    _check_role_and_unit(role=role, unit=unit)
    if actor is not None:
        _check_may_manage(actor=actor, role=role, unit=unit)
    if username is not None and User.objects.filter(username=username).exists():
        raise Conflict("That user name is taken.", code="username_taken", fields={"username": ["taken"]})
    if password is not None:
        try:
            validate_password(password, User(username=username or "", role=role))
        except DjangoValidationError as exc:
            raise ValidationFailed("The password is too weak.", fields={"password": exc.messages}) from exc


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    role: str,
    unit: Unit | None = None,
    full_name: str = "",
    phone: str = "",
    email: str = "",
    employee_no: str = "",
) -> User:
    """Create a staff account. ``actor=None`` is the system itself (setup, demo data)."""
    user_check(actor=actor, role=role, unit=unit, username=username, password=None)
    user = User(
        username=username,
        role=role,
        unit=unit,
        full_name=full_name,
        phone=phone,
        email=email,
        employee_no=employee_no,
        is_staff=role == Role.ADMIN,
    )
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed("The password is too weak.", fields={"password": exc.messages}) from exc
    user.set_password(password)
    user.save()
    audit_record(action=AuditAction.CREATE, obj=user, after=snapshot(user), actor=actor)
    return user


@transaction.atomic
def user_update(*, actor: User, user: User, **changes: Any) -> User:
    """Change role, unit, name, contact or active flag of an account."""
    allowed = {"role", "unit", "full_name", "phone", "email", "employee_no", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed("Unknown fields.", fields={k: ["not changeable"] for k in unknown})
    _check_may_manage(actor=actor, role=user.role, unit=user.unit)
    before = snapshot(user)
    for key, value in changes.items():
        setattr(user, key, value)
    _check_role_and_unit(role=user.role, unit=user.unit)
    _check_may_manage(actor=actor, role=user.role, unit=user.unit)
    if user.pk == actor.pk and changes.get("is_active") is False:
        raise ValidationFailed("You cannot deactivate yourself.", fields={"is_active": ["own account"]})
    user.is_staff = user.role == Role.ADMIN
    user.save()
    audit_record(action=AuditAction.UPDATE, obj=user, before=before, after=snapshot(user), actor=actor)
    return user


@transaction.atomic
def user_set_password(*, actor: User, user: User, password: str) -> None:
    if actor.pk != user.pk:
        _check_may_manage(actor=actor, role=user.role, unit=user.unit)
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed("The password is too weak.", fields={"password": exc.messages}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(action=AuditAction.UPDATE, obj=user, after={"password": "changed"}, actor=actor)


@transaction.atomic
def token_create(*, user: User, name: str, days: int | None = 90) -> tuple[APIToken, str]:
    """A new API token; the clear key is returned once and never stored."""
    key = APIToken.PREFIX + secrets.token_urlsafe(32)
    token = APIToken.objects.create(
        user=user,
        name=name,
        key_prefix=key[:10],
        key_hash=APIToken.hash_key(key),
        expires_at=timezone.now() + timedelta(days=days) if days else None,
    )
    audit_record(action=AuditAction.CREATE, obj=token, after={"name": name, "prefix": token.key_prefix})
    return token, key


@transaction.atomic
def token_revoke(*, token: APIToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action=AuditAction.UPDATE, obj=token, after={"revoked": True})


def token_authenticate(*, key: str) -> User | None:
    if not key.startswith(APIToken.PREFIX):
        return None
    token = (
        APIToken.objects.select_related("user", "user__unit").filter(key_hash=APIToken.hash_key(key)).first()
    )
    now = timezone.now()
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        APIToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
