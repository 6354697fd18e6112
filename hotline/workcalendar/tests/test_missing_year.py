"""A year without official holidays: the system check, the status command, the years to watch."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command

from hotline.workcalendar.checks import next_year_messages
from hotline.workcalendar.choices import CalendarDayKind
from hotline.workcalendar.models import CalendarDay
from hotline.workcalendar.selectors import (
    add_working_time,
    calendar_missing_years,
    calendar_status,
    calendar_years_to_watch,
)
from hotline.workcalendar.services import calendar_day_save

pytestmark = pytest.mark.django_db

D = datetime.date
# chinese-calendar 1.11 covers 2004–2026: 2027 is the first year without data.
FIRST_MISSING = 2027


def test_check_warns_in_november_and_december_when_next_year_is_missing() -> None:
    for today in (D(FIRST_MISSING - 1, 11, 1), D(FIRST_MISSING - 1, 12, 31)):
        messages = next_year_messages(today=today)
        assert [m.id for m in messages] == ["workcalendar.W001"]
        assert str(FIRST_MISSING) in messages[0].msg


def test_check_is_quiet_before_november_and_for_a_covered_year() -> None:
    assert next_year_messages(today=D(FIRST_MISSING - 1, 10, 31)) == []
    assert next_year_messages(today=D(FIRST_MISSING - 2, 11, 15)) == []  # next year is covered


def test_check_is_quiet_once_administrators_entered_next_year() -> None:
    calendar_day_save(day=CalendarDay(date=D(FIRST_MISSING, 1, 1), kind=CalendarDayKind.HOLIDAY, name="元旦"))
    assert next_year_messages(today=D(FIRST_MISSING - 1, 11, 20)) == []


def test_calendar_missing_years_lists_fallback_years_with_their_overrides() -> None:
    calendar_day_save(day=CalendarDay(date=D(2030, 10, 1), kind=CalendarDayKind.HOLIDAY, name="国庆节"))
    missing = calendar_missing_years(years=range(2025, 2031))
    assert [(m.year, m.overrides) for m in missing] == [(y, 1 if y == 2030 else 0) for y in range(2027, 2031)]
    assert calendar_missing_years(years=[2025, 2026]) == []


def test_years_to_watch() -> None:
    assert calendar_years_to_watch(today=D(2026, 6, 1)) == [2026]
    assert calendar_years_to_watch(today=D(2026, 11, 1)) == [2026, 2027]
    # A computation reaching into a missing year puts it on the list at once.
    add_working_time(
        start=datetime.datetime(2029, 12, 31, 9, 0, tzinfo=datetime.UTC), amount=5, measure="working_days"
    )
    assert calendar_years_to_watch(today=D(2026, 6, 1)) == [2026, 2029, 2030]


def test_calendar_status_and_the_command() -> None:
    calendar_day_save(day=CalendarDay(date=D(2027, 2, 8), kind=CalendarDayKind.HOLIDAY))
    assert calendar_status(years=[2026, 2027]) == [(2026, "official", 0), (2027, "fallback", 1)]
    out = io.StringIO()
    call_command("calendar_status", "2026", "2027", "2003", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("2003  fallback")
    assert lines[1].startswith("2026  official  0 override(s)")
    assert lines[2].startswith("2027  fallback  1 override(s)")
    default = io.StringIO()
    call_command("calendar_status", stdout=default)
    assert len(default.getvalue().splitlines()) == 3
