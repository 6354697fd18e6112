"""Working days: the official 2026 holidays and make-up days, administrators' overrides, the
Monday-to-Friday fallback for a year without data, and the per-year cache."""

from __future__ import annotations

import datetime
from typing import Any

import chinese_calendar
import pytest

from hotline.audit.models import AuditAction, AuditEvent
from hotline.workcalendar.choices import CalendarDayKind, YearStatus
from hotline.workcalendar.engine import work_calendar
from hotline.workcalendar.models import CalendarDay
from hotline.workcalendar.selectors import (
    calendar_day_info,
    calendar_missing_years,
    calendar_year_status,
    is_working_day,
    working_days_between,
    working_seconds_between,
)
from hotline.workcalendar.services import calendar_day_save, calendar_object_delete

pytestmark = pytest.mark.django_db

D = datetime.date
SH = datetime.timezone(datetime.timedelta(hours=8))


def test_chinese_calendar_has_the_2026_spring_festival_we_rely_on() -> None:
    # 15–23 February 2026 off; Saturdays 14 and 28 February worked (调休).
    assert chinese_calendar.get_holiday_detail(D(2026, 2, 16)) == (True, "Spring Festival")
    assert chinese_calendar.get_holiday_detail(D(2026, 2, 14)) == (False, "Spring Festival")
    assert chinese_calendar.get_holiday_detail(D(2026, 2, 28)) == (False, "Spring Festival")


def test_spring_festival_2026_is_nine_days_off() -> None:
    off = [D(2026, 2, 15) + datetime.timedelta(days=i) for i in range(9)]  # 15th (Sun) … 23rd (Mon)
    assert [is_working_day(d) for d in off] == [False] * 9
    assert is_working_day(D(2026, 2, 13))  # Friday before
    assert is_working_day(D(2026, 2, 24))  # Tuesday after
    info = calendar_day_info(D(2026, 2, 17))
    assert (info.working, info.name, info.source) == (False, "春节", "official")


def test_make_up_saturdays_are_working_days() -> None:
    for saturday in (D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 10, 10)):
        assert saturday.weekday() == 5
        assert is_working_day(saturday), saturday
    assert calendar_day_info(D(2026, 2, 28)).name == "春节"
    assert not is_working_day(D(2026, 2, 7))  # an ordinary Saturday
    assert is_working_day(D(2026, 9, 20))  # a make-up Sunday for National Day
    assert D(2026, 9, 20).weekday() == 6


def test_national_day_2026() -> None:
    assert [is_working_day(D(2026, 10, day)) for day in range(1, 11)] == [
        False, False, False, False, False, False, False,  # 1–7 October off
        True, True,  # Thursday 8, Friday 9
        True,  # Saturday 10: make-up day
    ]  # fmt: skip
    assert calendar_day_info(D(2026, 10, 1)).name == "国庆节"
    # 30 Sep (Wed) to 12 Oct (Mon): 30 Sep, 8, 9, 10 Oct, and 12 Oct is excluded.
    assert working_days_between(first=D(2026, 9, 30), stop=D(2026, 10, 12)) == 4


def test_an_override_beats_the_official_calendar_both_ways() -> None:
    assert not is_working_day(D(2026, 2, 16))
    assert is_working_day(D(2026, 3, 2))
    calendar_day_save(day=CalendarDay(date=D(2026, 2, 16), kind=CalendarDayKind.WORKDAY, name="值班"))
    calendar_day_save(day=CalendarDay(date=D(2026, 3, 2), kind=CalendarDayKind.HOLIDAY, name="停电检修"))

    assert is_working_day(D(2026, 2, 16))
    assert not is_working_day(D(2026, 3, 2))
    info = calendar_day_info(D(2026, 3, 2))
    assert (info.working, info.name, info.source) == (False, "停电检修", "override")


def test_saving_and_deleting_an_override_are_audited_and_seen_at_once() -> None:
    assert is_working_day(D(2026, 12, 31))  # loads 2026 into the cache
    day = calendar_day_save(day=CalendarDay(date=D(2026, 12, 31), kind=CalendarDayKind.HOLIDAY, name="跨年"))
    assert not is_working_day(D(2026, 12, 31))
    created = AuditEvent.objects.get(object_type="workcalendar.calendarday", action=AuditAction.CREATE)
    assert created.after is not None and created.after["kind"] == "holiday"

    day.kind = CalendarDayKind.WORKDAY
    calendar_day_save(day=day)
    assert is_working_day(D(2026, 12, 31))

    calendar_object_delete(obj=day)
    assert is_working_day(D(2026, 12, 31))  # Thursday, an ordinary working day again
    assert AuditEvent.objects.filter(
        object_type="workcalendar.calendarday", action=AuditAction.DELETE
    ).exists()


def test_a_year_without_official_data_counts_monday_to_friday(caplog: Any) -> None:
    assert calendar_year_status(2026) == YearStatus.OFFICIAL
    assert calendar_year_status(2027) == YearStatus.FALLBACK
    assert calendar_year_status(2003) == YearStatus.FALLBACK
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(D(2027, 2, 8))

    week = [D(2027, 2, 8) + datetime.timedelta(days=i) for i in range(7)]  # Mon 8 … Sun 14 Feb 2027
    assert [is_working_day(d) for d in week] == [True] * 5 + [False] * 2
    assert calendar_day_info(D(2027, 2, 8)).source == "fallback"
    assert 2027 in work_calendar().missing_years_seen
    assert "holidays of 2027 are not loaded" in caplog.text


def test_overrides_are_honoured_in_a_fallback_year() -> None:
    calendar_day_save(day=CalendarDay(date=D(2027, 2, 8), kind=CalendarDayKind.HOLIDAY, name="春节"))
    calendar_day_save(day=CalendarDay(date=D(2027, 2, 20), kind=CalendarDayKind.WORKDAY, name="春节"))

    assert not is_working_day(D(2027, 2, 8))
    assert is_working_day(D(2027, 2, 20))  # a Saturday
    assert calendar_year_status(2027) == YearStatus.FALLBACK  # still not official data
    missing = calendar_missing_years(years=[2026, 2027])
    assert [(m.year, m.overrides) for m in missing] == [(2027, 2)]
    assert "2027" in missing[0].message


def test_a_deadline_into_a_missing_year_does_not_fail() -> None:
    start = datetime.datetime(2026, 12, 30, 9, 0, tzinfo=SH)
    end = datetime.datetime(2027, 1, 5, 9, 0, tzinfo=SH)
    # 30 Dec 8 h minus 30 min, 31 Dec 7.5 h; 1 Jan 2027 counts (fallback: Friday); 4 Jan 7.5 h;
    # 5 Jan 30 min. 2026-01-01 is a holiday officially, but 2027's is unknown.
    assert working_seconds_between(start=start, end=end) == int((7 + 7.5 + 7.5 + 7.5 + 0.5) * 3600)


def test_one_query_per_year_and_none_once_cached(django_assert_num_queries: Any) -> None:
    start = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=SH)
    end = datetime.datetime(2026, 12, 28, 9, 0, tzinfo=SH)
    with django_assert_num_queries(2):  # the working hours, the overrides of 2026
        first = working_seconds_between(start=start, end=end)
    with django_assert_num_queries(0):
        for _ in range(1000):
            assert working_seconds_between(start=start, end=end) == first
    # 2026 has 250 working days (chinese-calendar); from 5 Jan 09:00 to 28 Dec 09:00 misses the
    # first half hour of 5 Jan, and counts half an hour of 28 Dec.
    assert len(chinese_calendar.get_workdays(D(2026, 1, 5), D(2026, 12, 27))) * 7.5 * 3600 == first


def test_cache_expires_for_changes_made_by_other_processes() -> None:
    assert is_working_day(D(2026, 3, 3))
    # Another process writes the override: no signal reaches this one.
    CalendarDay.objects.bulk_create([CalendarDay(date=D(2026, 3, 3), kind=CalendarDayKind.HOLIDAY)])
    calendar = work_calendar()
    assert calendar.is_working_day(D(2026, 3, 3))  # still cached
    saved = calendar.cache_seconds
    calendar.cache_seconds = 0
    try:
        assert not calendar.is_working_day(D(2026, 3, 3))
    finally:
        calendar.cache_seconds = saved
