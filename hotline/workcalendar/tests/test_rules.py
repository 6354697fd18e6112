"""Deadline rules: the defaults, which rule wins, deadlines, and the 70%/90% warnings."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from hotline.audit.models import AuditAction, AuditEvent
from hotline.core.errors import ValidationFailed
from hotline.taxonomy.models import Category, RequestType
from hotline.taxonomy.services import category_save
from hotline.workcalendar.choices import DeadlineAlert, DeadlineStep, DurationMeasure, Urgency
from hotline.workcalendar.models import DeadlineRule, WorkingHours
from hotline.workcalendar.selectors import (
    deadline_alert,
    deadline_alert_times,
    deadline_for,
    deadline_progress,
    deadline_rule_for,
    deadline_rules_matching,
)
from hotline.workcalendar.services import deadline_rule_save, deadline_rules_ensure_defaults

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
ANSWER = DeadlineStep.ANSWER
WH, WD, CH = DurationMeasure.WORKING_HOURS, DurationMeasure.WORKING_DAYS, DurationMeasure.CALENDAR_HOURS


def sh(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)  # type: ignore[misc]


@dataclass
class Tree:
    construction: Category  # level 1
    municipal: Category  # level 2
    water: Category  # level 3, a utility
    sanitation: Category  # level 3
    heating: Category  # level 3, a utility


@pytest.fixture
def tree() -> Tree:
    construction = category_save(category=Category(name="城乡建设"))
    municipal = category_save(category=Category(name="城市建设和市政管理", parent=construction))
    water = category_save(category=Category(name="自来水供应", parent=municipal))
    sanitation = category_save(category=Category(name="环境卫生", parent=municipal))
    heating = category_save(category=Category(name="冬季采暖", parent=municipal))
    return Tree(construction, municipal, water, sanitation, heating)


def rule(**fields: Any) -> DeadlineRule:
    fields.setdefault("step", ANSWER)
    fields.setdefault("measure", WD)
    return deadline_rule_save(rule=DeadlineRule(**fields))


def amount_for(**kwargs: Any) -> tuple[int, str] | None:
    found = deadline_rule_for(step=kwargs.pop("step", ANSWER), **kwargs)
    return (found.amount, found.measure) if found else None


def test_the_migration_made_the_default_hours_and_rules() -> None:
    assert list(WorkingHours.objects.values_list("start", "end")) == [
        (datetime.time(8, 30), datetime.time(12, 0)),
        (datetime.time(13, 30), datetime.time(17, 30)),
    ]
    assert amount_for(step=DeadlineStep.SIGN) == (2, WH)
    assert amount_for() == (5, WD)
    assert amount_for(complex_case=True) == (15, WD)
    assert amount_for(urgency=Urgency.EMERGENCY) == (2, CH)
    assert amount_for(urgency=Urgency.URGENT) == (5, WD)  # no rule of its own
    assert amount_for(step=DeadlineStep.REVIEW) == (1, WD)
    assert amount_for(step=DeadlineStep.REVISIT) == (3, WD)
    assert amount_for(step=DeadlineStep.EXTENSION_MAX) == (10, WD)
    assert amount_for(step=DeadlineStep.SUPERVISE) == (3, WD)
    assert DeadlineRule.objects.count() == 8


def test_ensure_defaults_adds_the_utility_rules_once(tree: Tree) -> None:
    assert amount_for(category=tree.water) == (5, WD)
    assert deadline_rules_ensure_defaults() == 2  # 自来水供应 and 冬季采暖 exist here
    assert amount_for(category=tree.water) == (24, CH)
    assert amount_for(category=tree.heating) == (24, CH)
    assert amount_for(category=tree.sanitation) == (5, WD)
    assert amount_for(category=tree.municipal) == (5, WD)  # a rule on a child does not cover its parent
    assert deadline_rules_ensure_defaults() == 0
    assert (
        AuditEvent.objects.filter(object_type="workcalendar.deadlinerule", action=AuditAction.CREATE).count()
        == 2
    )


def test_ensure_defaults_restores_missing_default_rules() -> None:
    DeadlineRule.objects.filter(step=DeadlineStep.REVISIT).delete()
    assert amount_for(step=DeadlineStep.REVISIT) is None
    assert deadline_rules_ensure_defaults() == 1
    assert amount_for(step=DeadlineStep.REVISIT) == (3, WD)


def test_specificity_urgency_then_complex_then_category_depth_then_type(tree: Tree) -> None:
    deadline_rules_ensure_defaults()
    complaint = RequestType.objects.get(code="complaint")
    rule(category=tree.construction, amount=8)  # level 1
    rule(category=tree.municipal, amount=6)  # level 2
    rule(request_type=complaint, amount=4)

    assert amount_for(category=tree.sanitation) == (6, WD)  # level 2 beats level 1
    assert amount_for(category=tree.water) == (24, CH)  # level 3 beats level 2
    assert amount_for(category=tree.construction) == (8, WD)
    assert amount_for(request_type=complaint) == (4, WD)
    assert amount_for(request_type=complaint, category=tree.sanitation) == (6, WD)  # category beats type
    assert amount_for(category=tree.water, complex_case=True) == (15, WD)  # complex beats category
    assert amount_for(category=tree.water, complex_case=True, urgency=Urgency.EMERGENCY) == (2, CH)

    rule(request_type=complaint, category=tree.sanitation, amount=3)
    assert amount_for(request_type=complaint, category=tree.sanitation) == (3, WD)  # both named
    assert amount_for(category=tree.sanitation) == (6, WD)  # type rule needs the type

    matching = deadline_rules_matching(step=ANSWER, request_type=complaint, category=tree.sanitation)
    assert [r.amount for r in matching] == [3, 6, 8, 4, 5]


def test_priority_beats_specificity_and_inactive_rules_do_not_count(tree: Tree) -> None:
    forced = rule(amount=7, priority=5)
    assert amount_for(urgency=Urgency.EMERGENCY) == (7, WD)
    forced.active = False
    deadline_rule_save(rule=forced)
    assert amount_for(urgency=Urgency.EMERGENCY) == (2, CH)


def test_equal_rules_go_to_the_older_one() -> None:
    # The service refuses the duplicate; a direct insert shows the tie-break.
    older = DeadlineRule.objects.get(step=DeadlineStep.REVIEW)
    DeadlineRule.objects.create(step=DeadlineStep.REVIEW, amount=9, measure=WD)
    assert deadline_rule_for(step=DeadlineStep.REVIEW) == older


def test_a_duplicate_or_empty_rule_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        rule(step=DeadlineStep.REVIEW, amount=2)
    assert "priority" in refused.value.fields
    rule(step=DeadlineStep.REVIEW, amount=2, priority=1)  # another priority is fine
    rule(step=DeadlineStep.REVIEW, amount=2, active=False)  # so is an inactive one
    with pytest.raises(ValidationFailed) as refused:
        rule(step=DeadlineStep.REVIEW, amount=0, priority=2)
    assert "amount" in refused.value.fields


def test_deadline_for(tree: Tree) -> None:
    deadline_rules_ensure_defaults()
    received = sh(2026, 2, 13, 16, 0)  # Friday before Spring Festival
    assert deadline_for(step=DeadlineStep.SIGN, start=received) == sh(2026, 2, 14, 9, 0)  # make-up Saturday
    assert deadline_for(step=ANSWER, start=received) == sh(2026, 2, 27, 17, 30)
    assert deadline_for(step=ANSWER, start=received, urgency=Urgency.EMERGENCY) == sh(2026, 2, 13, 18, 0)
    assert deadline_for(step=ANSWER, start=received, category=tree.water) == sh(2026, 2, 14, 16, 0)
    DeadlineRule.objects.filter(step=DeadlineStep.SUPERVISE).update(active=False)
    assert deadline_for(step=DeadlineStep.SUPERVISE, start=received) is None


def test_description_reads_like_the_rule(tree: Tree) -> None:
    complaint = RequestType.objects.get(code="complaint")
    described = rule(
        request_type=complaint, category=tree.water, urgency=Urgency.URGENT, complex_case=False, amount=3
    )
    with translation.override("en"):
        assert (
            described.description
            == "Complete and answer · 投诉 · 010101 自来水供应 · Urgent · not complex → 3 working days"
        )
        sign = DeadlineRule.objects.get(step=DeadlineStep.SIGN)
        assert sign.description == "Sign for · any request → 2 working hours"


# --- Warnings ------------------------------------------------------------------------------------


def test_warnings_at_70_and_90_percent_of_working_time() -> None:
    start = sh(2026, 3, 2, 9, 0)  # Monday
    deadline = sh(2026, 3, 2, 11, 0)  # 2 working hours

    def alert(hour: int, minute: int, second: int = 0) -> str:
        return deadline_alert(
            start=start, deadline=deadline, now=sh(2026, 3, 2, hour, minute, second), measure=WH
        )

    assert alert(10, 23, 59) == DeadlineAlert.ON_TIME
    assert alert(10, 24) == DeadlineAlert.WARNING
    assert alert(10, 47, 59) == DeadlineAlert.WARNING
    assert alert(10, 48) == DeadlineAlert.CRITICAL
    assert alert(11, 0) == DeadlineAlert.CRITICAL
    assert alert(11, 0, 1) == DeadlineAlert.OVERDUE
    times = deadline_alert_times(start=start, deadline=deadline, measure=WH)
    assert (times.warning_at, times.critical_at, times.deadline) == (
        sh(2026, 3, 2, 10, 24),
        sh(2026, 3, 2, 10, 48),
        deadline,
    )
    assert deadline_progress(start=start, deadline=deadline, now=sh(2026, 3, 2, 10, 0), measure=WH) == 0.5


def test_warnings_stand_still_outside_working_hours() -> None:
    start = sh(2026, 3, 2, 17, 0)  # Monday; 2 working hours: due Tuesday 10:00
    deadline = sh(2026, 3, 3, 10, 0)
    night = sh(2026, 3, 2, 23, 0)
    assert deadline_progress(start=start, deadline=deadline, now=night, measure=WH) == 0.25
    assert deadline_alert(start=start, deadline=deadline, now=night, measure=WH) == DeadlineAlert.ON_TIME
    times = deadline_alert_times(start=start, deadline=deadline, measure=WH)
    assert times.warning_at == sh(2026, 3, 3, 9, 24)  # 30 min on Monday, 54 on Tuesday
    assert times.critical_at == sh(2026, 3, 3, 9, 48)
    # An evening after the deadline is overdue although no working time has passed since.
    assert (
        deadline_alert(start=start, deadline=deadline, now=sh(2026, 3, 3, 19, 0), measure=WH)
        == DeadlineAlert.OVERDUE
    )


def test_calendar_hour_warnings_run_day_and_night() -> None:
    start = sh(2026, 2, 16, 22, 0)
    deadline = sh(2026, 2, 17, 0, 0)
    times = deadline_alert_times(start=start, deadline=deadline, measure=CH)
    assert (times.warning_at, times.critical_at) == (sh(2026, 2, 16, 23, 24), sh(2026, 2, 16, 23, 48))
    assert deadline_alert(start=start, deadline=deadline, now=sh(2026, 2, 16, 23, 30), measure=CH) == (
        DeadlineAlert.WARNING
    )
