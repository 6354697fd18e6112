"""``DjangoDirectory``: the engine's ``Directory``, answered from the database with short caches.

- Lists (black/white/VIP) are loaded whole every ``list_ttl_s`` seconds (they are small); an
  entry counts while ``expires_at`` is empty or later than the call.
- The caller's district: the region of the newest citizen profile with this phone number, taken
  up to its district (the second level of the region tree: 市 → 区/县). Cached per number.
- The last agent and the repeat flag: the caller's inbound calls that started within
  ``repeat_window_hours`` (centre settings) before the call — from ``CallRecord`` and from the
  recorder's calls not yet written. The last agent is the one who answered the newest answered
  call in that window.
- ``calendar_period``: ``holiday`` on a day that is not a working day of the work calendar;
  ``day`` on a working day from the start of its first working period to the end of its last
  (the centre does not close at lunch); ``night`` otherwise.
- ``order_status``: ``status:<state>`` of the work order with that tracking number
  (``status:handling``), ``None`` if there is none. Cached a few seconds.

Cache ages run on the process's monotonic clock, not on the switch's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection

from hotline.workcalendar.engine import work_calendar

from .choices import CalendarPeriod, Direction, ListKind
from .records import CallerInfo

CACHE_LIMIT = 20_000  # numbers kept per cache before it is emptied
_SQL: dict[str, str] = {}


def _sql(name: str) -> str:
    """The directory's per-call queries, with the tables' names from the models."""
    if not _SQL:
        from hotline.citizens.models import Citizen
        from hotline.orgs.models import Region

        from .models import CallRecord

        citizens, regions, calls = (m._meta.db_table for m in (Citizen, Region, CallRecord))
        _SQL["region"] = (
            f"SELECT r.path FROM {citizens} c JOIN {regions} r ON r.id = c.region_id "  # noqa: S608 - model tables
            "WHERE c.phone = %s AND c.region_id IS NOT NULL ORDER BY c.updated_at DESC, c.id DESC LIMIT 1"
        )
        _SQL["history"] = (
            f"SELECT agent_id, answered_at FROM {calls} WHERE caller = %s AND direction = %s "  # noqa: S608
            "AND started_at >= %s AND started_at < %s ORDER BY started_at DESC LIMIT 20"
        )
    return _SQL[name]


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str
    action: str
    expires_at: datetime | None


class DjangoDirectory:
    def __init__(
        self,
        *,
        recorder: Any = None,
        list_ttl_s: float = 30.0,
        profile_ttl_s: float = 60.0,
        status_ttl_s: float = 10.0,
        settings_ttl_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recorder = recorder  # a DjangoRecorder: calls that ended but are not written yet
        self.list_ttl_s = list_ttl_s
        self.profile_ttl_s = profile_ttl_s
        self.status_ttl_s = status_ttl_s
        self.settings_ttl_s = settings_ttl_s
        self._clock = clock
        self._lists: dict[str, list[_Entry]] = {}
        self._lists_at = -1e18
        self._regions: dict[str, tuple[float, str]] = {}
        self._statuses: dict[str, tuple[float, str | None]] = {}
        self._window: tuple[float, int] | None = None

    def clear(self) -> None:
        """Forget every cached answer."""
        self._lists_at = -1e18
        self._regions.clear()
        self._statuses.clear()
        self._window = None

    # --- Directory ---------------------------------------------------------------------------------

    def caller_info(self, number: str, at: datetime) -> CallerInfo:
        entries = [e for e in self._list_entries(number) if e.expires_at is None or e.expires_at > at]
        black = next((e for e in entries if e.kind == ListKind.BLACK), None)
        last_agent, repeat = self._history(number, at)
        return CallerInfo(
            number=number,
            blacklisted=black is not None,
            blacklist_action=black.action if black is not None else "",
            whitelisted=any(e.kind == ListKind.WHITE for e in entries),
            vip=any(e.kind == ListKind.VIP for e in entries),
            region_code=self._region(number),
            last_agent_id=last_agent,
            repeat_within_hours=repeat,
        )

    def calendar_period(self, at: datetime) -> str:
        calendar = work_calendar()
        local = at.astimezone(calendar.tz)
        if not calendar.is_working_day(local.date()):
            return CalendarPeriod.HOLIDAY.value
        periods = calendar.periods()
        offset = local.replace(tzinfo=None) - datetime.combine(local.date(), datetime.min.time())
        if periods and periods[0][0] <= offset < periods[-1][1]:
            return CalendarPeriod.DAY.value
        return CalendarPeriod.NIGHT.value

    def order_status(self, tracking_number: str) -> str | None:
        from hotline.workorders.models import WorkOrder

        number = (tracking_number or "").strip()
        if not number:
            return None
        now = self._clock()
        cached = self._statuses.get(number)
        if cached is not None and now - cached[0] < self.status_ttl_s:
            return cached[1]
        state = WorkOrder.objects.filter(number=number).values_list("state", flat=True).first()
        answer = f"status:{state}" if state else None
        self._remember(self._statuses, number, (now, answer))
        return answer

    # --- Helpers -----------------------------------------------------------------------------------

    def _remember(self, cache: dict[str, Any], key: str, value: Any) -> None:
        if len(cache) >= CACHE_LIMIT:
            cache.clear()
        cache[key] = value

    def _list_entries(self, number: str) -> list[_Entry]:
        from .models import ListEntry

        now = self._clock()
        if now - self._lists_at >= self.list_ttl_s:
            lists: dict[str, list[_Entry]] = {}
            for kind, phone, action, expires_at in ListEntry.objects.values_list(
                "kind", "number", "action", "expires_at"
            ):
                lists.setdefault(phone, []).append(_Entry(kind=kind, action=action, expires_at=expires_at))
            self._lists, self._lists_at = lists, now
        return self._lists.get(number, [])

    def _region(self, number: str) -> str:
        now = self._clock()
        cached = self._regions.get(number)
        if cached is not None and now - cached[0] < self.profile_ttl_s:
            return cached[1]
        # Plain SQL, built once: every call asks, and the ORM's query building cost more than the
        # query itself (the switch's loop waits on it).
        with connection.cursor() as cursor:
            cursor.execute(_sql("region"), [number])
            row = cursor.fetchone()
        path = row[0] if row else ""
        parts = [p for p in (path or "").split("/") if p]
        code = parts[1] if len(parts) >= 2 else ""  # /city/district/street/…
        self._remember(self._regions, number, (now, code))
        return code

    def _window_hours(self) -> int:
        now = self._clock()
        if self._window is None or now - self._window[0] >= self.settings_ttl_s:
            from .selectors import centre_settings

            self._window = (now, centre_settings().repeat_window_hours)
        return self._window[1]

    def _history(self, number: str, at: datetime) -> tuple[int | None, bool]:
        since = at - timedelta(hours=self._window_hours())
        pending = self.recorder.recent_call(number) if self.recorder is not None else None
        if pending is not None and since <= pending.started_at < at and pending.agent_id is not None:
            return pending.agent_id, True
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.execute(_sql("history"), [number, Direction.INBOUND.value, adapt(since), adapt(at)])
            rows = cursor.fetchall()
        repeat = bool(rows) or (pending is not None and since <= pending.started_at < at)
        last_agent = next(
            (agent for agent, answered in rows if agent is not None and answered is not None), None
        )
        return last_agent, repeat
