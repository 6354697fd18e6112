"""Writes to the calendar: overrides, working hours, deadline rules. One transaction each, audited.

Saving or deleting an override or a working period drops the process's calendar tables
(``signals.py``); other processes reload within ``engine.CACHE_SECONDS``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from hotline.audit.services import audited_delete, audited_save
from hotline.core.errors import ValidationFailed
from hotline.taxonomy.models import Category

from .choices import CalendarDayKind, DeadlineStep, DurationMeasure, Urgency
from .engine import validate_periods
from .models import CalendarDay, DeadlineRule, WorkingHours

# The editable fields of each model (admin forms use them).
CALENDAR_DAY_FIELDS = ("date", "kind", "name", "note")
WORKING_HOURS_FIELDS = ("start", "end", "note")
DEADLINE_RULE_FIELDS = (
    "step",
    "request_type",
    "category",
    "urgency",
    "complex_case",
    "amount",
    "measure",
    "priority",
    "active",
    "note",
)

# Categories whose answer is due within 24 calendar hours: water, power, gas and heating supply.
UTILITY_CATEGORY_NAMES = ("自来水供应", "电力供应", "燃气供应", "冬季采暖")

# (step, urgency, complex_case, amount, measure) — migration 0002 makes the same rules.
DEFAULT_RULES: tuple[tuple[str, str, bool | None, int, str], ...] = (
    (DeadlineStep.SIGN, "", None, 2, DurationMeasure.WORKING_HOURS),
    (DeadlineStep.ANSWER, "", None, 5, DurationMeasure.WORKING_DAYS),
    (DeadlineStep.ANSWER, "", True, 15, DurationMeasure.WORKING_DAYS),
    (DeadlineStep.ANSWER, Urgency.EMERGENCY, None, 2, DurationMeasure.CALENDAR_HOURS),
    (DeadlineStep.REVIEW, "", None, 1, DurationMeasure.WORKING_DAYS),
    (DeadlineStep.REVISIT, "", None, 3, DurationMeasure.WORKING_DAYS),
    (DeadlineStep.EXTENSION_MAX, "", None, 10, DurationMeasure.WORKING_DAYS),
    (DeadlineStep.SUPERVISE, "", None, 3, DurationMeasure.WORKING_DAYS),
)
# The answer of a utility category is due within 24 calendar hours.
UTILITY_RULE = (DeadlineStep.ANSWER, 24, DurationMeasure.CALENDAR_HOURS)


def _error(field: str, message: str) -> dict[str, list[str]]:
    return {field: [message]}


# --- Calendar days -------------------------------------------------------------------------------


def calendar_day_validate(day: CalendarDay) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if day.kind not in CalendarDayKind.values:
        errors.update(_error("kind", _("Choose a working day or a day off.")))
    if day.date is not None and CalendarDay.objects.filter(date=day.date).exclude(pk=day.pk).exists():
        errors.update(_error("date", _("There is already an entry for this date.")))
    return errors


@transaction.atomic
def calendar_day_save(*, day: CalendarDay, note: str = "") -> CalendarDay:
    """Create or change an administrator's override of a date."""
    errors = calendar_day_validate(day)
    if errors:
        raise ValidationFailed(_("The calendar day is not valid."), fields=errors)
    audited_save(day, note=note)
    return day


# --- Working hours -------------------------------------------------------------------------------


def working_hours_validate(period: WorkingHours) -> dict[str, list[str]]:
    """The period must end after it starts and must not overlap the other periods."""
    if period.start is None or period.end is None:
        return {}
    if period.end <= period.start:
        return _error("end", _("A working period must end after it starts."))
    others = WorkingHours.objects.exclude(pk=period.pk).values_list("start", "end")
    periods = sorted([*others, (period.start, period.end)])
    if validate_periods(periods):
        return _error("start", _("Working periods must not overlap."))
    return {}


@transaction.atomic
def working_hours_save(*, period: WorkingHours, note: str = "") -> WorkingHours:
    """Create or change one working period of the working day."""
    errors = working_hours_validate(period)
    if errors:
        raise ValidationFailed(_("The working period is not valid."), fields=errors)
    audited_save(period, note=note)
    return period


# --- Deadline rules ------------------------------------------------------------------------------


def deadline_rule_validate(rule: DeadlineRule) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if rule.amount is not None and rule.amount <= 0:
        errors.update(_error("amount", _("The amount must be at least 1.")))
    if rule.urgency and rule.urgency not in Urgency.values:
        errors.update(_error("urgency", _("Unknown urgency.")))
    if rule.active and rule.step:
        same = DeadlineRule.objects.filter(
            Q(request_type__isnull=True)
            if rule.request_type_id is None
            else Q(request_type=rule.request_type_id),
            Q(category__isnull=True) if rule.category_id is None else Q(category=rule.category_id),
            Q(complex_case__isnull=True) if rule.complex_case is None else Q(complex_case=rule.complex_case),
            step=rule.step,
            active=True,
            urgency=rule.urgency,
            priority=rule.priority,
        ).exclude(pk=rule.pk)
        if same.exists():
            errors.update(
                _error(
                    "priority",
                    _(
                        "An active rule for the same step, the same requests and the same priority exists. "
                        "Change that rule, deactivate it, or give this one another priority."
                    ),
                )
            )
    return errors


@transaction.atomic
def deadline_rule_save(*, rule: DeadlineRule, note: str = "") -> DeadlineRule:
    errors = deadline_rule_validate(rule)
    if errors:
        raise ValidationFailed(_("The deadline rule is not valid."), fields=errors)
    audited_save(rule, note=note)
    return rule


@transaction.atomic
def deadline_rules_ensure_defaults(*, note: str = "default deadline rules") -> int:
    """Add the default rules that are missing, and the 24-hour answer rule of each utility
    category (自来水供应, 电力供应, 燃气供应, 冬季采暖) that exists. A rule counts as present when
    one for the same step and the same matches exists, active or not. Returns how many were added."""
    added = 0
    for step, urgency, complex_case, amount, measure in DEFAULT_RULES:
        exists = DeadlineRule.objects.filter(
            step=step,
            request_type__isnull=True,
            category__isnull=True,
            urgency=urgency,
            complex_case=complex_case,
        ).exists()
        if not exists:
            rule = DeadlineRule(
                step=step, urgency=urgency, complex_case=complex_case, amount=amount, measure=measure
            )
            audited_save(rule, note=note)
            added += 1
    step, amount, measure = UTILITY_RULE
    for category in Category.objects.filter(name__in=UTILITY_CATEGORY_NAMES).order_by("code"):
        exists = DeadlineRule.objects.filter(
            step=step, request_type__isnull=True, category=category, urgency="", complex_case__isnull=True
        ).exists()
        if not exists:
            rule = DeadlineRule(step=step, category=category, amount=amount, measure=measure)
            audited_save(rule, note=note)
            added += 1
    return added


# --- Deleting ------------------------------------------------------------------------------------


@transaction.atomic
def calendar_object_delete(*, obj: Any, note: str = "") -> None:
    """Delete an override, a working period or a deadline rule. The last working period stays."""
    if isinstance(obj, WorkingHours) and not WorkingHours.objects.exclude(pk=obj.pk).exists():
        raise ValidationFailed(_("The working day needs at least one working period."))
    if not isinstance(obj, CalendarDay | WorkingHours | DeadlineRule):
        raise TypeError(f"not a calendar object: {type(obj).__name__}")
    audited_delete(obj, note=note)
