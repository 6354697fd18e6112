"""The portal's writes: a citizen's submission (through ``workorders.services``) and the per-address
rate limits on submissions and tracking lookups.

Limits are counted in the database (``PortalAttempt``), so every web worker shares them. The
defaults can be changed in the settings: ``PORTAL_LIMITS = {"submit": (5, 3600), "track": (20, 3600)}``
(at most so many per address in so many seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from hotline.core.errors import ServiceError
from hotline.workorders.models import WorkOrder
from hotline.workorders.services import Intake, order_submit_by_citizen

from .models import AttemptKind, PortalAttempt

DEFAULT_LIMITS: dict[str, tuple[int, int]] = {
    AttemptKind.SUBMIT: (5, 60 * 60),  # five requests an hour from one address
    AttemptKind.TRACK: (20, 60 * 60),  # twenty lookups an hour from one address
}
KEEP = timedelta(days=1)  # attempts older than this are pruned


class RateLimited(ServiceError):
    """Too many submissions or lookups from one address; try again later."""

    status = 429
    code = "rate_limited"


def limit_for(kind: str) -> tuple[int, int]:
    """(how many, in how many seconds) for ``kind``."""
    configured = getattr(settings, "PORTAL_LIMITS", {}) or {}
    count, seconds = configured.get(kind, DEFAULT_LIMITS[kind])
    return int(count), int(seconds)


def _address(ip: str | None) -> str:
    return (ip or "unknown")[:64]


def attempts_exhausted(*, kind: str, ip: str | None) -> bool:
    count, seconds = limit_for(kind)
    since = timezone.now() - timedelta(seconds=seconds)
    return PortalAttempt.objects.filter(kind=kind, ip=_address(ip), at__gte=since).count() >= count


def attempt_record(*, kind: str, ip: str | None) -> None:
    """Count one attempt from ``ip`` and forget the attempts older than a day."""
    now = timezone.now()
    PortalAttempt.objects.create(kind=kind, ip=_address(ip), at=now)
    PortalAttempt.objects.filter(at__lt=now - KEEP).delete()


@transaction.atomic
def portal_submit(*, intake: Intake, photos: Sequence[UploadedFile], ip: str | None) -> WorkOrder:
    """A citizen's request from the portal: refused past the address's hourly limit; otherwise the
    order is created (``order_submit_by_citizen``) and counted against the address."""
    if attempts_exhausted(kind=AttemptKind.SUBMIT, ip=ip):
        raise RateLimited("Too many requests from this address; try again later.")
    order = order_submit_by_citizen(intake=intake, attachments=photos, address_ip=ip)
    attempt_record(kind=AttemptKind.SUBMIT, ip=ip)
    return order


@transaction.atomic
def portal_track_attempt(*, ip: str | None) -> None:
    """Count a tracking lookup from ``ip``; refused past the address's hourly limit, found or not,
    so numbers and phones cannot be tried in bulk."""
    if attempts_exhausted(kind=AttemptKind.TRACK, ip=ip):
        raise RateLimited("Too many lookups from this address; try again later.")
    attempt_record(kind=AttemptKind.TRACK, ip=ip)
