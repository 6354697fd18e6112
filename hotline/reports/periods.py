"""A report's range: local dates, both included, as ``[start, end)`` of aware datetimes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from hotline.core.localtime import LOCAL_TZ, local_midnight


@dataclass(frozen=True)
class Period:
    """A report range: local dates ``first`` … ``last`` (both included) as ``[start, end)``."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def query(self) -> dict[str, str]:
        return {"start": self.first.isoformat(), "end": self.last.isoformat()}

    @property
    def month_label(self) -> str:
        """``2026-02`` (for a month's report)."""
        return f"{self.first:%Y-%m}"

    def label(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} – {self.last.isoformat()}"


def last_month(now: datetime | None = None) -> Period:
    """The calendar month before the one ``now`` (default: now) falls in, in the centre's time."""
    today = timezone.localtime(now or timezone.now(), LOCAL_TZ).date()
    last = today.replace(day=1) - timedelta(days=1)
    return Period(last.replace(day=1), last)
