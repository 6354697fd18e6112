"""Working-time arithmetic on the working-day calendar (W7). The rules are in ``docs/sla.md``.

A ``WorkCalendar`` answers from per-year tables built once and kept in the process: one byte per
day (working or not) and a running count of working days, so that counting the working time
between two instants or finding the N-th working day costs a few look-ups per year spanned, never
a query per day. A year's table is built from

1. the administrators' overrides (``CalendarDay``, one query per year), which win;
2. otherwise the State Council's holidays and make-up working days (调休) from ``chinese-calendar``;
3. for a year ``chinese-calendar`` does not cover, Monday to Friday. The year is then recorded as
   missing (logged once per process; see ``calendar_missing_years``). A computation never fails
   for want of holiday data.

Every working day has the same working periods (``WorkingHours``, by default 08:30–12:00 and
13:30–17:30), in the centre's time zone (``settings.TIME_ZONE``, Asia/Shanghai). Datetimes go in
aware and come out aware in UTC; all clock arithmetic happens on the centre's wall clock.

The process-wide calendar (``work_calendar()``) drops its tables when an override or a working
period is saved or deleted in this process, and reloads them after ``CACHE_SECONDS`` anyway, so
that a change made in another process (the web admin, while the scan runs in ``jobs``) is picked
up within that time.
"""

from __future__ import annotations

import bisect
import calendar
import datetime
import logging
import threading
import time as monotonic_time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar
from django.conf import settings

from .choices import CalendarDayKind, DurationMeasure, YearStatus

logger = logging.getLogger(__name__)

UTC = datetime.UTC
DEFAULT_PERIODS: tuple[tuple[datetime.time, datetime.time], ...] = (
    (datetime.time(8, 30), datetime.time(12, 0)),
    (datetime.time(13, 30), datetime.time(17, 30)),
)
# Reload a year's table after this long, to pick up changes made by other processes.
CACHE_SECONDS = float(getattr(settings, "HOTLINE_CALENDAR_CACHE_SECONDS", 300))
# A search for working days gives up after this many years without finding enough of them (only
# possible if administrators marked every day a holiday) and counts calendar days instead.
MAX_SCAN_YEARS = 20
_DAY = datetime.timedelta(days=1)
_ZERO = datetime.timedelta(0)
_SECOND = datetime.timedelta(seconds=1)
_HOLIDAY_CHINESE = {h.value: h.chinese for h in chinese_calendar.Holiday}


@dataclass(frozen=True)
class Override:
    """An administrator's decision about one date."""

    working: bool
    name: str = ""


@dataclass(frozen=True)
class YearTable:
    year: int
    status: str  # YearStatus
    first_ordinal: int  # date(year, 1, 1).toordinal()
    working: bytes  # working[i] == 1: the i-th day of the year is a working day
    cumulative: tuple[int, ...]  # cumulative[i]: working days among the first i days of the year
    overrides: Mapping[datetime.date, Override]
    loaded_at: float = field(compare=False)


@dataclass(frozen=True)
class DayInfo:
    date: datetime.date
    working: bool
    name: str  # 春节, 国庆节, an override's name, or ""
    source: str  # "override", "official" or "fallback"


@lru_cache(maxsize=256)
def official_covers(year: int) -> bool:
    """Whether ``chinese-calendar`` has the State Council's holidays of ``year``."""
    try:
        chinese_calendar.is_workday(datetime.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def _official_is_workday(day: datetime.date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:  # not covered after all: fall back rather than fail
        return day.weekday() < 5


def validate_periods(periods: Sequence[tuple[datetime.time, datetime.time]]) -> list[str]:
    """Problems with a day's working periods (empty when they are fine): each must end after it
    starts, and they must be in order without overlapping."""
    problems: list[str] = []
    if not periods:
        problems.append("no working period")
    previous_end: datetime.time | None = None
    for start, end in periods:
        if end <= start:
            problems.append(f"{start:%H:%M}–{end:%H:%M} ends before it starts")
        if previous_end is not None and start < previous_end:
            problems.append(f"{start:%H:%M} starts before the previous period ends at {previous_end:%H:%M}")
        previous_end = end
    return problems


def _as_offset(value: datetime.time) -> datetime.timedelta:
    return datetime.timedelta(
        hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
    )


def _db_overrides(year: int) -> dict[datetime.date, Override]:
    from .models import CalendarDay

    rows = CalendarDay.objects.filter(
        date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31)
    ).values_list("date", "kind", "name")
    return {day: Override(working=kind == CalendarDayKind.WORKDAY, name=name) for day, kind, name in rows}


def _db_periods() -> list[tuple[datetime.time, datetime.time]]:
    from .models import WorkingHours

    return list(WorkingHours.objects.order_by("start", "end").values_list("start", "end"))


class WorkCalendar:
    """Working days and working time. Built on the database by default; tests and tools may pass
    fixed ``periods`` and ``overrides`` (a mapping of dates, or a function of the year)."""

    def __init__(
        self,
        *,
        periods: Sequence[tuple[datetime.time, datetime.time]] | None = None,
        overrides: Mapping[datetime.date, Override]
        | Callable[[int], Mapping[datetime.date, Override]]
        | None = None,
        time_zone: str | None = None,
        cache_seconds: float | None = None,
    ) -> None:
        self.tz = ZoneInfo(time_zone or settings.TIME_ZONE)
        self._fixed_periods = tuple(periods) if periods is not None else None
        if overrides is None:
            self._overrides_for: Callable[[int], Mapping[datetime.date, Override]] = _db_overrides
        elif callable(overrides):
            self._overrides_for = overrides
        else:
            fixed = dict(overrides)
            self._overrides_for = lambda year: {d: o for d, o in fixed.items() if d.year == year}
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._years: dict[int, YearTable] = {}
        self._periods: tuple[tuple[datetime.timedelta, datetime.timedelta], ...] | None = None
        self._periods_loaded_at = 0.0
        self._generation = 0  # bumped by clear(), so that a table built before it is not kept
        self.missing_years_seen: set[int] = set()

    # --- Cache ---------------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget every table; the next question reloads what it needs."""
        with self._lock:
            self._years = {}
            self._periods = None
            self._generation += 1

    def _fresh(self, loaded_at: float) -> bool:
        return self.cache_seconds is None or monotonic_time.monotonic() - loaded_at < self.cache_seconds

    def year(self, year: int) -> YearTable:
        table = self._years.get(year)
        if table is not None and self._fresh(table.loaded_at):
            return table
        generation = self._generation
        table = self._build_year(year)
        with self._lock:
            if generation == self._generation:
                self._years[year] = table
        return table

    def _build_year(self, year: int) -> YearTable:
        overrides = dict(self._overrides_for(year))
        official = official_covers(year)
        first = datetime.date(year, 1, 1)
        length = 366 if calendar.isleap(year) else 365
        flags = bytearray(length)
        cumulative = [0] * (length + 1)
        for i in range(length):
            day = first + datetime.timedelta(days=i)
            override = overrides.get(day)
            if override is not None:
                working = override.working
            elif official:
                working = _official_is_workday(day)
            else:
                working = day.weekday() < 5
            flags[i] = working
            cumulative[i + 1] = cumulative[i] + working
        if not official and year not in self.missing_years_seen:
            self.missing_years_seen.add(year)
            logger.warning(
                "The holidays of %s are not loaded: counting Monday to Friday plus %d administrator "
                "overrides. Add the year's holidays as calendar days or upgrade chinese-calendar.",
                year,
                len(overrides),
            )
        return YearTable(
            year=year,
            status=YearStatus.OFFICIAL if official else YearStatus.FALLBACK,
            first_ordinal=first.toordinal(),
            working=bytes(flags),
            cumulative=tuple(cumulative),
            overrides=overrides,
            loaded_at=monotonic_time.monotonic(),
        )

    def periods(self) -> tuple[tuple[datetime.timedelta, datetime.timedelta], ...]:
        """The working periods of a working day, as offsets from local midnight."""
        if self._periods is not None and self._fresh(self._periods_loaded_at):
            return self._periods
        generation = self._generation
        raw = list(self._fixed_periods) if self._fixed_periods is not None else _db_periods()
        problems = validate_periods(raw)
        if problems:
            if raw:  # none at all is the documented default; bad ones are an error
                logger.error("Working hours are not valid (%s): using the defaults", "; ".join(problems))
            raw = list(DEFAULT_PERIODS)
        periods = tuple((_as_offset(start), _as_offset(end)) for start, end in raw)
        with self._lock:
            if generation == self._generation:
                self._periods = periods
                self._periods_loaded_at = monotonic_time.monotonic()
        return periods

    # --- Days ----------------------------------------------------------------------------------

    def is_working_day(self, day: datetime.date) -> bool:
        table = self.year(day.year)
        return bool(table.working[day.toordinal() - table.first_ordinal])

    def year_status(self, year: int) -> str:
        return YearStatus.OFFICIAL if official_covers(year) else YearStatus.FALLBACK

    def day_info(self, day: datetime.date) -> DayInfo:
        table = self.year(day.year)
        working = bool(table.working[day.toordinal() - table.first_ordinal])
        override = table.overrides.get(day)
        if override is not None:
            return DayInfo(day, working, override.name, "override")
        if table.status == YearStatus.FALLBACK:
            return DayInfo(day, working, "", "fallback")
        _, name = chinese_calendar.get_holiday_detail(day)
        return DayInfo(day, working, _HOLIDAY_CHINESE.get(name, name or ""), "official")

    def working_days_in(self, first: datetime.date, stop: datetime.date) -> int:
        """How many working days there are from ``first`` up to, not including, ``stop``."""
        if stop <= first:
            return 0
        count = 0
        last = stop - _DAY
        for year in range(first.year, last.year + 1):
            table = self.year(year)
            lo = first.toordinal() - table.first_ordinal if year == first.year else 0
            hi = last.toordinal() - table.first_ordinal + 1 if year == last.year else len(table.working)
            count += table.cumulative[hi] - table.cumulative[lo]
        return count

    def nth_working_day_after(self, day: datetime.date, n: int) -> datetime.date:
        """The ``n``-th working day after ``day`` (``day`` itself is not counted); ``n`` ≥ 1."""
        if n < 1:
            raise ValueError("n must be at least 1")
        remaining = n
        year = day.year
        table = self.year(year)
        index = day.toordinal() - table.first_ordinal + 1
        for _ in range(MAX_SCAN_YEARS):
            after = table.cumulative[-1] - table.cumulative[index]
            if remaining <= after:
                target = table.cumulative[index] + remaining
                position = bisect.bisect_left(table.cumulative, target)
                return datetime.date.fromordinal(table.first_ordinal + position - 1)
            remaining -= after
            year += 1
            table = self.year(year)
            index = 0
        logger.error(
            "No working day found within %d years after %s: counting calendar days", MAX_SCAN_YEARS, day
        )
        return day + datetime.timedelta(days=n)

    # --- Instants ------------------------------------------------------------------------------

    def _local(self, value: datetime.datetime) -> datetime.datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("an aware datetime is needed")
        return value.astimezone(self.tz).replace(tzinfo=None)

    def _utc(self, local: datetime.datetime) -> datetime.datetime:
        return local.replace(tzinfo=self.tz).astimezone(UTC)

    def _day_length(self) -> datetime.timedelta:
        return sum((end - start for start, end in self.periods()), _ZERO)

    def _worked_in_day(
        self, day: datetime.date, since: datetime.timedelta, until: datetime.timedelta
    ) -> datetime.timedelta:
        """Working time on ``day`` between two offsets from its midnight."""
        if until <= since or not self.is_working_day(day):
            return _ZERO
        total = _ZERO
        for start, end in self.periods():
            lo, hi = max(start, since), min(end, until)
            if hi > lo:
                total += hi - lo
        return total

    def working_time_between(self, start: datetime.datetime, end: datetime.datetime) -> datetime.timedelta:
        """The working time inside ``[start, end)``; zero if ``end`` is not after ``start``."""
        local_start, local_end = self._local(start), self._local(end)
        if local_end <= local_start:
            return _ZERO
        first, last = local_start.date(), local_end.date()
        since = local_start - datetime.datetime.combine(first, datetime.time())
        until = local_end - datetime.datetime.combine(last, datetime.time())
        if first == last:
            return self._worked_in_day(first, since, until)
        return (
            self._worked_in_day(first, since, _DAY)
            + self._day_length() * self.working_days_in(first + _DAY, last)
            + self._worked_in_day(last, _ZERO, until)
        )

    def working_seconds_between(self, start: datetime.datetime, end: datetime.datetime) -> int:
        return self.working_time_between(start, end) // _SECOND

    def add_working_time(self, start: datetime.datetime, need: datetime.timedelta) -> datetime.datetime:
        """The earliest instant by which ``need`` of working time has passed since ``start``."""
        local = self._local(start)
        if need <= _ZERO:
            return local.replace(tzinfo=self.tz).astimezone(UTC)
        day = local.date()
        midnight = datetime.datetime.combine(day, datetime.time())
        offset = local - midnight
        periods = self.periods()
        if self.is_working_day(day):
            for period_start, period_end in periods:
                lo = max(period_start, offset)
                if lo >= period_end:
                    continue
                if need <= period_end - lo:
                    return self._utc(midnight + lo + need)
                need -= period_end - lo
        day_length = self._day_length()
        whole_days = -(-need // day_length)  # the deadline falls on this working day after ``day``
        rest = need - day_length * (whole_days - 1)  # in (0, day_length]
        target = self.nth_working_day_after(day, whole_days)
        midnight = datetime.datetime.combine(target, datetime.time())
        for period_start, period_end in periods:
            if rest <= period_end - period_start:
                return self._utc(midnight + period_start + rest)
            rest -= period_end - period_start
        raise AssertionError("unreachable: rest never exceeds a day's working time")

    def end_of_nth_working_day(self, start: datetime.datetime, n: int) -> datetime.datetime:
        """Close of business (the end of the last working period) on the ``n``-th working day after
        the local date of ``start``; the date of ``start`` itself is not counted."""
        local = self._local(start)
        if n <= 0:
            return self._utc(local)
        target = self.nth_working_day_after(local.date(), n)
        return self._utc(datetime.datetime.combine(target, datetime.time()) + self.periods()[-1][1])

    def add(self, start: datetime.datetime, amount: int, measure: str) -> datetime.datetime:
        """``start`` plus ``amount`` of ``measure`` (a ``DurationMeasure``), in UTC."""
        if amount < 0:
            raise ValueError("the amount cannot be negative")
        if measure == DurationMeasure.WORKING_HOURS:
            return self.add_working_time(start, datetime.timedelta(hours=amount))
        if measure == DurationMeasure.WORKING_DAYS:
            return self.end_of_nth_working_day(start, amount)
        if measure == DurationMeasure.CALENDAR_HOURS:
            self._local(start)  # refuses a naive datetime
            return (start + datetime.timedelta(hours=amount)).astimezone(UTC)
        raise ValueError(f"unknown measure {measure!r}")

    def missing_years(self, years: Iterable[int]) -> list[int]:
        return sorted({year for year in years if not official_covers(year)})


_process_calendar = WorkCalendar(cache_seconds=CACHE_SECONDS)


def work_calendar() -> WorkCalendar:
    """The calendar shared by this process, on the database."""
    return _process_calendar


def calendar_cache_clear() -> None:
    """Drop the process's calendar tables (after overrides or working hours change)."""
    _process_calendar.clear()


def official_day(day: datetime.date) -> tuple[bool, str] | None:
    """What the State Council's calendar says of ``day``: (working, holiday name in Chinese), or
    None for a year that ``chinese-calendar`` does not cover."""
    if not official_covers(day.year):
        return None
    holiday, name = chinese_calendar.get_holiday_detail(day)
    return not holiday, _HOLIDAY_CHINESE.get(name, name or "")
