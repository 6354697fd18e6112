"""Work-order deadlines on the working-day calendar (see ``docs/sla.md`` and ``docs/workorders.md``).

A running deadline is four instants: when its time started, when it turns "warning" (70 %),
"urgent" (90 %) and when it is due. They are computed once, when the deadline is set, from the
most specific ``DeadlineRule`` of the step, and stored on the order; the scan only compares them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hotline.workcalendar.choices import DeadlineStep, DurationMeasure
from hotline.workcalendar.selectors import (
    add_working_seconds,
    add_working_time,
    deadline_alert_times,
    deadline_rule_for,
    working_seconds_between,
)

from .choices import DeadlineLevel
from .models import WorkOrder

DEFAULT_EXTENSION_LIMIT_DAYS = 10


@dataclass(frozen=True)
class Deadline:
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    urgent_at: datetime

    def level_at(self, now: datetime) -> int:
        if now > self.due_at:
            return DeadlineLevel.OVERDUE
        if now >= self.urgent_at:
            return DeadlineLevel.URGENT
        if now >= self.warn_at:
            return DeadlineLevel.WARNING
        return DeadlineLevel.ON_TIME


def _rule(step: str, order: WorkOrder):  # type: ignore[no-untyped-def]
    return deadline_rule_for(
        step=step,
        request_type=order.request_type,
        category=order.category,
        urgency=order.urgency,
        complex_case=order.complex_case,
    )


def _measure(step: str, order: WorkOrder) -> str:
    rule = _rule(step, order)
    return rule.measure if rule is not None else DurationMeasure.WORKING_DAYS


def _build(*, start: datetime, due: datetime, measure: str) -> Deadline:
    times = deadline_alert_times(start=start, deadline=due, measure=measure)
    return Deadline(started_at=start, due_at=due, warn_at=times.warning_at, urgent_at=times.critical_at)


def for_step(
    *, step: str, start: datetime, order: WorkOrder, working_days: int | None = None
) -> Deadline | None:
    """The deadline of ``step`` starting at ``start`` for ``order``; ``working_days`` overrides
    the rule (a supervision notice with its own limit). None when no rule applies."""
    if working_days is not None:
        due = add_working_time(start=start, amount=working_days, measure=DurationMeasure.WORKING_DAYS)
        return _build(start=start, due=due, measure=DurationMeasure.WORKING_DAYS)
    rule = _rule(step, order)
    if rule is None:
        return None
    due = add_working_time(start=start, amount=rule.amount, measure=rule.measure)
    return _build(start=start, due=due, measure=rule.measure)


def existing(*, started_at: datetime | None, due_at: datetime | None, order: WorkOrder) -> Deadline | None:
    """The answer deadline already set on the order (at dispatch, or moved by an extension), with
    its warning instants."""
    if started_at is None or due_at is None:
        return None
    return _build(start=started_at, due=due_at, measure=_measure(DeadlineStep.ANSWER, order))


def shift_due(due: datetime | None, *, paused_from: datetime, paused_to: datetime) -> datetime | None:
    """Move ``due`` on by the working time between ``paused_from`` and ``paused_to`` (the clock
    stood still while the order waited on the centre)."""
    if due is None:
        return None
    paused = working_seconds_between(start=paused_from, end=paused_to)
    return add_working_seconds(start=due, seconds=paused) if paused > 0 else due


def shift_for_pause(*, order: WorkOrder, paused_from: datetime, paused_to: datetime) -> Deadline | None:
    """The order's running deadline after a pause: every instant moved on by the paused working
    time."""
    if order.due_at is None or order.due_started_at is None:
        return None
    paused = working_seconds_between(start=paused_from, end=paused_to)

    def move(moment: datetime | None) -> datetime:
        assert moment is not None
        return add_working_seconds(start=moment, seconds=paused) if paused > 0 else moment

    return Deadline(
        started_at=order.due_started_at,
        due_at=move(order.due_at),
        warn_at=move(order.warn_at or order.due_at),
        urgent_at=move(order.urgent_at or order.due_at),
    )


def extend(*, due_at: datetime, working_days: int) -> datetime:
    return add_working_time(start=due_at, amount=working_days, measure=DurationMeasure.WORKING_DAYS)


def extension_limit_days(*, order: WorkOrder) -> int:
    rule = _rule(DeadlineStep.EXTENSION_MAX, order)
    return rule.amount if rule is not None else DEFAULT_EXTENSION_LIMIT_DAYS
