"""Reads: working days, working-time arithmetic, deadline rules, deadlines and their warnings.

The calendar functions run on the process's cached calendar (``engine.work_calendar()``): after a
year's table is loaded (one query) they touch no database. See ``docs/sla.md``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import ngettext

from hotline.taxonomy.models import Category, RequestType

from .choices import DeadlineAlert, DurationMeasure, Urgency, YearStatus
from .engine import DayInfo, work_calendar
from .models import CalendarDay, DeadlineRule

# Early warnings: a step is "warning" from 70% of its time, "critical" from 90%.
WARNING_SHARE = (7, 10)
CRITICAL_SHARE = (9, 10)


# --- Calendar ------------------------------------------------------------------------------------


def is_working_day(d: datetime.date) -> bool:
    """Override first, then the official holidays and make-up days, else Monday to Friday."""
    return work_calendar().is_working_day(d)


def calendar_day_info(d: datetime.date) -> DayInfo:
    """Whether ``d`` is a working day, its holiday name and where that comes from."""
    return work_calendar().day_info(d)


def add_working_time(*, start: datetime.datetime, amount: int, measure: str) -> datetime.datetime:
    """``start`` plus ``amount`` working hours, working days or calendar hours (``DurationMeasure``).

    - working hours: the earliest instant by which that much time inside working periods of
      working days has passed;
    - working days: close of business on the ``amount``-th working day after the day of
      ``start`` (the day of receipt is not counted);
    - calendar hours: plain elapsed time.

    ``start`` must be aware; the result is aware, in UTC.
    """
    return work_calendar().add(start, amount, measure)


def add_working_seconds(*, start: datetime.datetime, seconds: int) -> datetime.datetime:
    """The earliest instant by which ``seconds`` of working time have passed since ``start``."""
    return work_calendar().add_working_time(start, datetime.timedelta(seconds=seconds))


def working_seconds_between(*, start: datetime.datetime, end: datetime.datetime) -> int:
    """Working seconds inside ``[start, end)`` (whole seconds, rounded down); 0 if ``end`` ≤ ``start``."""
    return work_calendar().working_seconds_between(start, end)


def working_days_between(*, first: datetime.date, stop: datetime.date) -> int:
    """Working days from ``first`` up to, not including, ``stop``."""
    return work_calendar().working_days_in(first, stop)


# --- Missing years -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MissingYearWarning:
    """A year without official holiday data: it counts Monday to Friday plus the overrides."""

    year: int
    overrides: int  # administrators' calendar days entered for the year

    @property
    def message(self) -> str:
        return ngettext(
            "The public holidays of %(year)d are not loaded: deadlines in %(year)d count Monday to "
            "Friday as working days, with %(count)d calendar day entered by administrators. When the "
            "State Council publishes the holidays (usually in November), add them and the make-up "
            "working days as calendar days, or upgrade chinese-calendar.",
            "The public holidays of %(year)d are not loaded: deadlines in %(year)d count Monday to "
            "Friday as working days, with %(count)d calendar days entered by administrators. When the "
            "State Council publishes the holidays (usually in November), add them and the make-up "
            "working days as calendar days, or upgrade chinese-calendar.",
            self.overrides,
        ) % {"year": self.year, "count": self.overrides}


def calendar_year_status(year: int) -> str:
    """``"official"`` if the State Council's holidays of ``year`` are loaded, else ``"fallback"``."""
    return str(work_calendar().year_status(year))


def calendar_missing_years(
    *, years: list[int] | range | set[int] | tuple[int, ...]
) -> list[MissingYearWarning]:
    """The years among ``years`` that run on the Monday-to-Friday fallback, with their overrides."""
    missing = work_calendar().missing_years(years)
    if not missing:
        return []
    counts: dict[int, int] = dict.fromkeys(missing, 0)
    dates = CalendarDay.objects.filter(
        date__gte=datetime.date(missing[0], 1, 1), date__lte=datetime.date(missing[-1], 12, 31)
    ).values_list("date", flat=True)
    for day in dates:
        if day.year in counts:
            counts[day.year] += 1
    return [MissingYearWarning(year=year, overrides=counts[year]) for year in missing]


def calendar_years_to_watch(*, today: datetime.date) -> list[int]:
    """The years administrators should see warnings about on ``today``: this year, next year from
    November on, and any later year a computation in this process has already reached."""
    years = {today.year}
    if today.month >= 11:
        years.add(today.year + 1)
    years |= {year for year in work_calendar().missing_years_seen if year >= today.year}
    return sorted(years)


def calendar_status(*, years: list[int] | range) -> list[tuple[int, str, int]]:
    """(year, ``YearStatus``, number of overrides) for each year."""
    counts: dict[int, int] = dict.fromkeys(years, 0)
    if counts:
        dates = CalendarDay.objects.filter(
            date__gte=datetime.date(min(counts), 1, 1), date__lte=datetime.date(max(counts), 12, 31)
        ).values_list("date", flat=True)
        for day in dates:
            if day.year in counts:
                counts[day.year] += 1
    return [(year, calendar_year_status(year), counts[year]) for year in years]


# --- Deadline rules ------------------------------------------------------------------------------


def rule_specificity(rule: DeadlineRule) -> tuple[int, int, int, int, int, int]:
    """The sort key of a matching rule; the greatest wins. In order: priority, a named urgency, a
    named complex flag, the depth of the category (0 for any), a named request type, then the
    older rule (lower id)."""
    depth = rule.category.level if rule.category_id is not None and rule.category is not None else 0
    return (
        rule.priority,
        1 if rule.urgency else 0,
        1 if rule.complex_case is not None else 0,
        depth,
        1 if rule.request_type_id is not None else 0,
        -(rule.pk or 0),
    )


def deadline_rules_matching(
    *,
    step: str,
    request_type: RequestType | None = None,
    category: Category | None = None,
    urgency: str = Urgency.NORMAL,
    complex_case: bool = False,
) -> list[DeadlineRule]:
    """Every active rule of ``step`` that matches, the winner first."""
    rules = DeadlineRule.objects.filter(step=step, active=True).select_related("category", "request_type")
    rules = (
        rules.filter(Q(request_type__isnull=True) | Q(request_type=request_type))
        if request_type
        else (rules.filter(request_type__isnull=True))
    )
    if category is not None:
        prefixes = [category.code[:i] for i in range(1, len(category.code) + 1)]
        rules = rules.filter(Q(category__isnull=True) | Q(category__code__in=prefixes))
    else:
        rules = rules.filter(category__isnull=True)
    rules = rules.filter(Q(urgency="") | Q(urgency=urgency))
    rules = rules.filter(Q(complex_case__isnull=True) | Q(complex_case=complex_case))
    return sorted(rules, key=rule_specificity, reverse=True)


def deadline_rule_for(
    *,
    step: str,
    request_type: RequestType | None = None,
    category: Category | None = None,
    urgency: str = Urgency.NORMAL,
    complex_case: bool = False,
) -> DeadlineRule | None:
    """The most specific active rule for a step of a request (``rule_specificity``), or None."""
    matching = deadline_rules_matching(
        step=step, request_type=request_type, category=category, urgency=urgency, complex_case=complex_case
    )
    return matching[0] if matching else None


def deadline_for(
    *,
    step: str,
    start: datetime.datetime,
    request_type: RequestType | None = None,
    category: Category | None = None,
    urgency: str = Urgency.NORMAL,
    complex_case: bool = False,
) -> datetime.datetime | None:
    """When ``step`` is due if it starts at ``start`` (UTC), or None when no rule applies."""
    rule = deadline_rule_for(
        step=step, request_type=request_type, category=category, urgency=urgency, complex_case=complex_case
    )
    if rule is None:
        return None
    return add_working_time(start=start, amount=rule.amount, measure=rule.measure)


# --- Progress and warnings ---------------------------------------------------------------------


_MICROSECOND = datetime.timedelta(microseconds=1)


def _elapsed_and_total(
    *, start: datetime.datetime, deadline: datetime.datetime, now: datetime.datetime, measure: str
) -> tuple[int, int]:
    """Elapsed and total time of a step in microseconds (working time, or plain time for calendar
    hours)."""
    if measure == DurationMeasure.CALENDAR_HOURS:
        zero = datetime.timedelta(0)
        return max(zero, now - start) // _MICROSECOND, max(zero, deadline - start) // _MICROSECOND
    calendar = work_calendar()
    elapsed = calendar.working_time_between(start, now)
    total = calendar.working_time_between(start, deadline)
    return elapsed // _MICROSECOND, total // _MICROSECOND


def deadline_progress(
    *, start: datetime.datetime, deadline: datetime.datetime, now: datetime.datetime, measure: str
) -> float:
    """Elapsed share of a step's time at ``now``: working time for working measures, plain time for
    calendar hours. 1.0 and more once the time is used up."""
    elapsed, total = _elapsed_and_total(start=start, deadline=deadline, now=now, measure=measure)
    if total <= 0:
        return 1.0 if now >= deadline else 0.0
    return elapsed / total


def deadline_alert(
    *, start: datetime.datetime, deadline: datetime.datetime, now: datetime.datetime, measure: str
) -> str:
    """``DeadlineAlert`` at ``now``: overdue after the deadline, else critical from 90% of the time,
    warning from 70%, else on time."""
    if now > deadline:
        return DeadlineAlert.OVERDUE
    elapsed, total = _elapsed_and_total(start=start, deadline=deadline, now=now, measure=measure)
    if total <= 0:
        return DeadlineAlert.ON_TIME
    if elapsed * CRITICAL_SHARE[1] >= total * CRITICAL_SHARE[0]:
        return DeadlineAlert.CRITICAL
    if elapsed * WARNING_SHARE[1] >= total * WARNING_SHARE[0]:
        return DeadlineAlert.WARNING
    return DeadlineAlert.ON_TIME


@dataclass(frozen=True)
class AlertTimes:
    """The instants a step turns "warning" and "critical", and its deadline, in UTC. Store them
    beside the deadline, so that a periodic scan compares indexed columns instead of doing
    arithmetic per order."""

    warning_at: datetime.datetime
    critical_at: datetime.datetime
    deadline: datetime.datetime


def deadline_alert_times(
    *, start: datetime.datetime, deadline: datetime.datetime, measure: str
) -> AlertTimes:
    """The earliest instants at which ``deadline_alert`` says "warning" and "critical"."""
    _, total = _elapsed_and_total(start=start, deadline=deadline, now=start, measure=measure)

    def at(share: tuple[int, int]) -> datetime.datetime:
        need = datetime.timedelta(microseconds=-(-total * share[0] // share[1]))  # rounded up
        if measure == DurationMeasure.CALENDAR_HOURS:
            return (start + need).astimezone(datetime.UTC)
        return work_calendar().add_working_time(start, need)

    return AlertTimes(
        warning_at=at(WARNING_SHARE),
        critical_at=at(CRITICAL_SHARE),
        deadline=deadline.astimezone(datetime.UTC),
    )


__all__ = [
    "AlertTimes",
    "DayInfo",
    "MissingYearWarning",
    "YearStatus",
    "add_working_seconds",
    "add_working_time",
    "calendar_day_info",
    "calendar_missing_years",
    "calendar_status",
    "calendar_year_status",
    "calendar_years_to_watch",
    "deadline_alert",
    "deadline_alert_times",
    "deadline_for",
    "deadline_progress",
    "deadline_rule_for",
    "deadline_rules_matching",
    "is_working_day",
    "rule_specificity",
    "working_days_between",
    "working_seconds_between",
]
