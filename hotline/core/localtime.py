"""The centre's local time: times are stored in UTC and shown, and cut into days, in
Asia/Shanghai (``settings.TIME_ZONE``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_midnight(day: date) -> datetime:
    """The start of ``day`` in the centre's time zone."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ)


def local_day(now: datetime | None = None) -> tuple[datetime, datetime]:
    """The centre's day that contains ``now`` (default: now) as ``[midnight, next midnight)``."""
    day = (now or timezone.now()).astimezone(LOCAL_TZ).date()
    return local_midnight(day), local_midnight(day + timedelta(days=1))
