"""Reading notifications: always one person's own, never anybody else's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from hotline.accounts.choices import Role
from hotline.accounts.models import User
from hotline.orgs.models import Unit

from .choices import DeliveryStatus
from .models import Delivery, Notification

# Who hears about a unit's orders unless the caller names roles.
UNIT_ROLES = (Role.HANDLER, Role.UNIT_MANAGER)


def inbox(*, user: Any, unread: bool = False) -> QuerySet[Notification]:
    """The user's notifications, newest first (only unread ones when ``unread``)."""
    qs = Notification.objects.filter(recipient_id=user.pk)
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_count(*, user: Any) -> int:
    if user is None or not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True).count()


def unread_counts(*, user_ids: list[int]) -> dict[int, int]:
    """Unread counts of several users in one query (users with none are left out)."""
    rows = (
        Notification.objects.filter(recipient_id__in=user_ids, read_at__isnull=True)
        .values("recipient_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {row["recipient_id"]: row["n"] for row in rows}


def deliveries_due(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Deliveries whose (next) attempt is due, oldest first: never sent yet, or failed and waiting
    for their retry, with tries left."""
    moment = now or timezone.now()
    return list(
        Delivery.objects.filter(
            status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
            next_attempt_at__lte=moment,
            attempts__lt=Delivery.MAX_ATTEMPTS,
        )
        .order_by("next_attempt_at", "id")
        .values_list("id", flat=True)[:limit]
    )


def unit_staff(
    *, unit: Unit, roles: Iterable[str] | None = None, include_children: bool = False
) -> QuerySet[User]:
    """The active accounts of ``unit`` with one of ``roles`` (handlers and managers by default);
    with ``include_children``, also those of the active units under it."""
    wanted = [str(r) for r in (roles if roles is not None else UNIT_ROLES)]
    qs = User.objects.filter(is_active=True, role__in=wanted)
    if include_children:
        qs = qs.filter(Q(unit=unit) | Q(unit__path__startswith=unit.path, unit__active=True))
    else:
        qs = qs.filter(unit=unit)
    return qs.order_by("pk")


def units_staff(*, unit_ids: Iterable[int], roles: Iterable[str] | None = None) -> dict[int, list[User]]:
    """``unit_staff`` of several units in one query, by unit id."""
    wanted = [str(r) for r in (roles if roles is not None else UNIT_ROLES)]
    staff: dict[int, list[User]] = {}
    for user in User.objects.filter(is_active=True, role__in=wanted, unit_id__in=list(unit_ids)).order_by(
        "pk"
    ):
        assert user.unit_id is not None
        staff.setdefault(user.unit_id, []).append(user)
    return staff


def role_staff(*, role: str) -> QuerySet[User]:
    """Every active account with ``role`` (all dispatchers, all supervisors…)."""
    return User.objects.filter(is_active=True, role=role).order_by("pk")
