"""Working-time arithmetic: working hours, working days, calendar hours, time zones, and the
agreement of ``add_working_time`` with ``working_seconds_between``."""

from __future__ import annotations

import datetime
import logging
import random
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hotline.workcalendar.choices import CalendarDayKind, DurationMeasure
from hotline.workcalendar.engine import DEFAULT_PERIODS, Override, WorkCalendar
from hotline.workcalendar.models import CalendarDay, WorkingHours
from hotline.workcalendar.selectors import add_working_seconds, add_working_time, working_seconds_between
from hotline.workcalendar.services import calendar_day_save, working_hours_save

SH = ZoneInfo("Asia/Shanghai")
UTC = datetime.UTC
WH, WD, CH = DurationMeasure.WORKING_HOURS, DurationMeasure.WORKING_DAYS, DurationMeasure.CALENDAR_HOURS
T = datetime.time
D = datetime.date


def sh(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)  # type: ignore[misc]


def fixed(periods: Any = DEFAULT_PERIODS, overrides: Any = None) -> WorkCalendar:
    """A calendar without the database: official holidays, the given periods and overrides."""
    return WorkCalendar(periods=periods, overrides=overrides or {})


# --- Against the database calendar (the migration's default hours) -------------------------------


@pytest.mark.django_db
def test_17_00_on_the_last_working_day_before_spring_festival_plus_2_working_hours() -> None:
    # Saturday 14 Feb 2026 is a make-up working day, then nine days off: 17:00–17:30 counts half
    # an hour, the other 1.5 hours run from 08:30 on Tuesday 24 February.
    due = add_working_time(start=sh(2026, 2, 14, 17, 0), amount=2, measure=WH)
    assert due == sh(2026, 2, 24, 10, 0)
    assert due.tzinfo is UTC
    assert due == datetime.datetime(2026, 2, 24, 2, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_5_working_days_across_spring_festival() -> None:
    # Received Friday 13 Feb: the day of receipt does not count; 14 (make-up Saturday), 24, 25,
    # 26, 27 February are working days 1–5; due at close of business on the fifth.
    assert add_working_time(start=sh(2026, 2, 13, 10, 15), amount=5, measure=WD) == sh(2026, 2, 27, 17, 30)
    # Received on the make-up Saturday: 24–27 February and Saturday 28 (make-up again).
    assert add_working_time(start=sh(2026, 2, 14, 9, 0), amount=5, measure=WD) == sh(2026, 2, 28, 17, 30)


@pytest.mark.django_db
def test_working_days_count_from_the_day_after_receipt_whatever_the_hour() -> None:
    due = sh(2026, 3, 9, 17, 30)  # Monday
    for start in (
        sh(2026, 3, 2, 0, 5),  # Monday, before opening
        sh(2026, 3, 2, 12, 30),  # lunch break
        sh(2026, 3, 2, 23, 59),  # after closing
    ):
        assert add_working_time(start=start, amount=5, measure=WD) == due
    # Received on a Saturday: the first working day after it is Monday 9 March.
    assert add_working_time(start=sh(2026, 3, 7, 11, 0), amount=1, measure=WD) == due
    # Received during the holiday: counting starts after it.
    assert add_working_time(start=sh(2026, 10, 3, 11, 0), amount=1, measure=WD) == sh(2026, 10, 8, 17, 30)


@pytest.mark.django_db
def test_working_hours_inside_a_day() -> None:
    monday = (2026, 3, 2)
    assert add_working_time(start=sh(*monday, 9, 0), amount=2, measure=WH) == sh(*monday, 11, 0)
    # 11:00–12:00 then 13:30–14:30 after lunch.
    assert add_working_time(start=sh(*monday, 11, 0), amount=2, measure=WH) == sh(*monday, 14, 30)
    # Exactly filling the morning ends at 12:00, not at 13:30.
    assert add_working_time(start=sh(*monday, 10, 0), amount=2, measure=WH) == sh(*monday, 12, 0)
    # Before opening: from 08:30.
    assert add_working_time(start=sh(*monday, 6, 0), amount=1, measure=WH) == sh(*monday, 9, 30)
    # During lunch: from 13:30.
    assert add_working_time(start=sh(*monday, 12, 45), amount=1, measure=WH) == sh(*monday, 14, 30)
    # A full working day of 7.5 hours, started at opening time, ends at closing time.
    due = add_working_seconds(start=sh(*monday, 8, 30), seconds=int(7.5 * 3600))
    assert due == sh(*monday, 17, 30)
    # Over a weekend: Friday 16:30 + 4 h = 1 h on Friday, 3 h on Monday (08:30–11:30).
    assert add_working_time(start=sh(2026, 3, 6, 16, 30), amount=4, measure=WH) == sh(2026, 3, 9, 11, 30)


@pytest.mark.django_db
def test_calendar_hours_run_day_and_night() -> None:
    start = sh(2026, 2, 16, 23, 0)  # a holiday, at night
    assert add_working_time(start=start, amount=2, measure=CH) == sh(2026, 2, 17, 1, 0)
    assert add_working_time(start=start, amount=24, measure=CH) == sh(2026, 2, 17, 23, 0)


@pytest.mark.django_db
def test_utc_in_and_out() -> None:
    # 09:00 UTC is 17:00 in Shanghai: the same answer as the local start.
    start = datetime.datetime(2026, 2, 14, 9, 0, tzinfo=UTC)
    assert add_working_time(start=start, amount=2, measure=WH) == datetime.datetime(
        2026, 2, 24, 2, 0, tzinfo=UTC
    )
    # 23:00 UTC on Sunday 1 March is 07:00 on Monday 2 March in Shanghai: a working day.
    late = datetime.datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    due = add_working_time(start=late, amount=1, measure=WH)
    assert due == datetime.datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 Shanghai
    assert due.utcoffset() == datetime.timedelta(0)
    # Another zone in, same instant.
    new_york = late.astimezone(ZoneInfo("America/New_York"))
    assert add_working_time(start=new_york, amount=1, measure=WH) == due
    assert working_seconds_between(start=new_york, end=due) == 3600


@pytest.mark.django_db
def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        add_working_time(start=datetime.datetime(2026, 3, 2, 9, 0), amount=1, measure=WH)
    with pytest.raises(ValueError, match="aware"):
        working_seconds_between(start=datetime.datetime(2026, 3, 2, 9, 0), end=sh(2026, 3, 2, 10, 0))


@pytest.mark.django_db
def test_working_seconds_between() -> None:
    monday = (2026, 3, 2)
    assert working_seconds_between(start=sh(*monday, 9, 0), end=sh(*monday, 10, 0)) == 3600
    assert working_seconds_between(start=sh(*monday, 11, 0), end=sh(*monday, 14, 0)) == 5400
    assert working_seconds_between(start=sh(*monday, 12, 0), end=sh(*monday, 13, 30)) == 0
    assert working_seconds_between(start=sh(*monday, 18, 0), end=sh(2026, 3, 3, 8, 30)) == 0
    assert working_seconds_between(start=sh(*monday, 10, 0), end=sh(*monday, 9, 0)) == 0
    # Through the whole Spring Festival: only Friday 13 afternoon, Saturday 14 and Tuesday 24.
    assert working_seconds_between(start=sh(2026, 2, 13, 13, 30), end=sh(2026, 2, 24, 17, 30)) == int(
        (4 + 7.5 + 7.5) * 3600
    )


@pytest.mark.django_db
def test_changed_working_hours_take_effect() -> None:
    monday = (2026, 3, 2)
    assert add_working_time(start=sh(*monday, 17, 0), amount=1, measure=WH) == sh(2026, 3, 3, 9, 0)
    evening = working_hours_save(period=WorkingHours(start=T(18, 0), end=T(20, 0)))
    assert add_working_time(start=sh(*monday, 17, 0), amount=1, measure=WH) == sh(*monday, 18, 30)
    # A working-days deadline ends with the last period of the day.
    assert add_working_time(start=sh(*monday, 9, 0), amount=1, measure=WD) == sh(2026, 3, 3, 20, 0)
    assert evening.pk is not None


@pytest.mark.django_db
def test_an_override_in_the_middle_of_a_count() -> None:
    calendar_day_save(day=CalendarDay(date=D(2026, 3, 3), kind=CalendarDayKind.HOLIDAY))
    calendar_day_save(day=CalendarDay(date=D(2026, 3, 7), kind=CalendarDayKind.WORKDAY))  # Saturday
    # From Monday 2 March: 4, 5, 6, 7 March.
    assert add_working_time(start=sh(2026, 3, 2, 9, 0), amount=4, measure=WD) == sh(2026, 3, 7, 17, 30)


# --- Properties, on calendars without the database ----------------------------------------------


def random_start(rng: random.Random) -> datetime.datetime:
    """Any instant in 2025–2027 (2027: fallback), often on a round minute, sometimes with micros."""
    base = datetime.datetime(2025, 1, 1, tzinfo=UTC)
    seconds = rng.randrange(3 * 365 * 86400)
    start = base + datetime.timedelta(seconds=seconds)
    if rng.random() < 0.5:
        start = start.replace(second=0)
    if rng.random() < 0.2:
        start = start.replace(microsecond=rng.randrange(1_000_000))
    return start.astimezone(SH) if rng.random() < 0.5 else start


@pytest.mark.parametrize(
    "periods",
    [
        DEFAULT_PERIODS,
        ((T(9, 0), T(11, 45)), (T(12, 15), T(12, 40)), (T(14, 5), T(18, 20))),
        ((T(0, 0), T(23, 59, 59)),),
    ],
)
def test_adding_then_measuring_gives_the_amount_back(periods: Any) -> None:
    rng = random.Random(20260214)
    calendar = fixed(periods, {datetime.date(2026, 3, 3): Override(working=False)})
    for _ in range(1500):
        start = random_start(rng)
        hours = rng.choice([0, 1, 2, 3, 7, 8, 15, 24, 40, 100, 500])
        due = calendar.add(start, hours, WH)
        assert due.tzinfo is UTC
        assert calendar.working_seconds_between(start, due) == hours * 3600, (start, hours, due)
        # The earliest such instant: a second earlier, the amount is not reached.
        if hours:
            assert calendar.working_seconds_between(start, due - datetime.timedelta(seconds=1)) < hours * 3600
        seconds = rng.randrange(1, 200_000)
        due = calendar.add_working_time(start, datetime.timedelta(seconds=seconds))
        assert calendar.working_seconds_between(start, due) == seconds


def test_working_days_measure_the_rest_of_the_day_plus_whole_days() -> None:
    rng = random.Random(7)
    calendar = fixed()
    day_seconds = int(7.5 * 3600)
    for _ in range(500):
        start = random_start(rng)
        days = rng.randrange(1, 30)
        due = calendar.add(start, days, WD)
        local = start.astimezone(SH)
        rest_of_day = calendar.working_seconds_between(
            start, datetime.datetime.combine(local.date() + datetime.timedelta(days=1), T(0), tzinfo=SH)
        )
        assert calendar.working_seconds_between(start, due) == rest_of_day + days * day_seconds
        assert due.astimezone(SH).time() == T(17, 30)
        assert calendar.is_working_day(due.astimezone(SH).date())


def brute_force_seconds(calendar: WorkCalendar, start: datetime.datetime, end: datetime.datetime) -> int:
    """Walk day by day through the periods: slow and obviously right."""
    total = datetime.timedelta(0)
    day = start.astimezone(SH).date()
    while datetime.datetime.combine(day, T(0), tzinfo=SH) < end:
        if calendar.is_working_day(day):
            for period_start, period_end in calendar.periods():
                midnight = datetime.datetime.combine(day, T(0), tzinfo=SH)
                lo = max(midnight + period_start, start)
                hi = min(midnight + period_end, end)
                if hi > lo:
                    total += hi - lo
        day += datetime.timedelta(days=1)
    return int(total.total_seconds())


def test_working_seconds_between_agrees_with_a_day_by_day_walk() -> None:
    rng = random.Random(1001)
    calendar = fixed(overrides={datetime.date(2026, 2, 16): Override(working=True)})
    for _ in range(400):
        start = random_start(rng).replace(microsecond=0)
        end = start + datetime.timedelta(seconds=rng.randrange(-3600, 40 * 86400))
        assert calendar.working_seconds_between(start, end) == brute_force_seconds(calendar, start, end)


def test_more_time_never_makes_an_earlier_deadline() -> None:
    rng = random.Random(3)
    calendar = fixed()
    for _ in range(300):
        start = random_start(rng)
        for measure in (WH, WD, CH):
            dues = [calendar.add(start, amount, measure) for amount in range(0, 12)]
            assert dues == sorted(dues)


def test_a_calendar_without_any_working_day_still_answers(caplog: Any) -> None:
    every_day_off = WorkCalendar(
        periods=DEFAULT_PERIODS,
        overrides=lambda year: {
            datetime.date(year, 1, 1) + datetime.timedelta(days=i): Override(working=False)
            for i in range(366)
            if (datetime.date(year, 1, 1) + datetime.timedelta(days=i)).year == year
        },
    )
    start = sh(2026, 3, 2, 9, 0)
    with caplog.at_level(logging.ERROR):
        due = every_day_off.add(start, 5, WD)
    assert due == sh(2026, 3, 7, 17, 30)  # five calendar days later, at closing time
    assert "No working day found" in caplog.text


def test_bad_or_missing_working_hours_fall_back_to_the_defaults(caplog: Any) -> None:
    overlapping = fixed(periods=((T(9, 0), T(12, 0)), (T(11, 0), T(15, 0))))
    with caplog.at_level(logging.ERROR):
        assert overlapping.add(sh(2026, 3, 2, 17, 0), 1, WH) == sh(2026, 3, 3, 9, 0)
    assert "not valid" in caplog.text
    assert fixed(periods=()).add(sh(2026, 3, 2, 17, 0), 1, WH) == sh(2026, 3, 3, 9, 0)


def test_negative_amounts_and_unknown_measures_are_refused() -> None:
    calendar = fixed()
    with pytest.raises(ValueError):
        calendar.add(sh(2026, 3, 2, 9, 0), -1, WH)
    with pytest.raises(ValueError):
        calendar.add(sh(2026, 3, 2, 9, 0), 1, "fortnights")
