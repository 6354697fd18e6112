"""Deadlines on the working-day calendar, with a frozen clock: Spring Festival 2026 and its
make-up Saturday, warnings at 70 % and 90 %, overdue, and the clock stopping during arbitration."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hotline.notify.models import Notification
from hotline.workorders import services as s
from hotline.workorders.choices import DeadlineLevel
from hotline.workorders.models import WorkOrder
from hotline.workorders.tasks import deadlines_scan

pytestmark = pytest.mark.django_db
CST = ZoneInfo("Asia/Shanghai")


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


def test_sign_deadline_runs_into_the_make_up_saturday(take: Any, people: Any, city: Any) -> None:
    # Friday 13 Feb 2026, 16:00: 1.5 working hours left that day; Saturday 14 Feb is a make-up
    # working day before the Spring Festival break (15–23 Feb), so the 2 working hours end there.
    with time_machine.travel(cst(2026, 2, 13, 16, 0), tick=False):
        order = take()
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    assert order.due_at.astimezone(CST) == cst(2026, 2, 14, 9, 0)


def test_answer_deadline_skips_the_spring_festival(take: Any, people: Any, city: Any) -> None:
    with time_machine.travel(cst(2026, 2, 13, 10, 0), tick=False):
        order = take()
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    due = order.answer_due_at.astimezone(CST)
    # 5 working days: Sat 14 (make-up), then Tue 24, Wed 25, Thu 26, Fri 27 February
    assert due.date() == cst(2026, 2, 27).date()


def test_warning_urgent_and_overdue_with_notifications(
    take: Any, people: Any, city: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(cst(2026, 3, 2, 9, 0), tick=False):  # Monday
        order = take()
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
        s.order_sign(order=order, actor=people.wang)
    order.refresh_from_db()
    assert order.deadline_level == DeadlineLevel.ON_TIME
    assert order.warn_at < order.urgent_at < order.due_at

    assert deadlines_scan(now=order.warn_at - timedelta(seconds=1)) == {100: 0, 90: 0, 70: 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert deadlines_scan(now=order.warn_at)[70] == 1
    order.refresh_from_db()
    assert order.deadline_level == 70
    with django_capture_on_commit_callbacks(execute=True):
        assert deadlines_scan(now=order.urgent_at)[90] == 1
    assert deadlines_scan(now=order.urgent_at)[90] == 0  # once only
    with django_capture_on_commit_callbacks(execute=True):
        result = deadlines_scan(now=order.due_at + timedelta(seconds=1))
    assert result[100] == 1
    order.refresh_from_db()
    assert order.deadline_level == 100 and order.was_overdue and order.unit_overdue
    assert list(order.events.filter(action="deadline").values_list("data__level", flat=True)) == [70, 90, 100]
    notified = Notification.objects.filter(recipient__in=[people.wang, people.sun])
    assert notified.filter(kind="order_warning").count() == 4  # 70 % and 90 %, two staff each
    assert notified.filter(kind="order_overdue").count() == 2
    assert Notification.objects.filter(recipient=people.zhou, kind="order_overdue").exists()


def test_an_order_past_every_threshold_at_once_gets_overdue_only(take: Any, people: Any, city: Any) -> None:
    with time_machine.travel(cst(2026, 3, 2, 9, 0), tick=False):
        order = take()
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    result = deadlines_scan(now=cst(2026, 4, 1, 9, 0))
    assert result == {100: 1, 90: 0, 70: 0}


def test_clock_stops_while_a_return_is_arbitrated(take: Any, people: Any, city: Any) -> None:
    with time_machine.travel(cst(2026, 3, 2, 9, 0), tick=False):  # Monday 09:00
        order = take()
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
        s.order_sign(order=order, actor=people.wang)
    due_before = WorkOrder.objects.get(pk=order.pk).due_at
    with time_machine.travel(cst(2026, 3, 2, 10, 0), tick=False):
        s.order_return(order=order, actor=people.wang, reason="不属本街道")
    # paused orders are not scanned, however late it gets
    assert deadlines_scan(now=cst(2026, 5, 1, 9, 0)) == {100: 0, 90: 0, 70: 0}
    with time_machine.travel(cst(2026, 3, 3, 10, 0), tick=False):  # one working day later
        s.order_return_decide(order=order, actor=people.zhou, accept=False, reason="属本街道")
    order.refresh_from_db()
    shift = order.due_at.astimezone(CST) - due_before.astimezone(CST)
    assert shift.days == 1  # moved on by the one working day the arbitration took


def test_paused_time_over_a_weekend_counts_working_time_only(take: Any, people: Any, city: Any) -> None:
    with time_machine.travel(cst(2026, 3, 6, 16, 30), tick=False):  # Friday 16:30
        order = take()
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
        s.order_return(order=order, actor=people.wang, reason="x")
    due_before = WorkOrder.objects.get(pk=order.pk).due_at
    with time_machine.travel(cst(2026, 3, 9, 8, 0), tick=False):  # Monday before work: no working time
        s.order_return_decide(order=order, actor=people.zhou, accept=False, reason="属本街道")
    order.refresh_from_db()
    # Friday 16:30–17:30 is one working hour of pause
    assert (order.due_at - due_before).total_seconds() > 0


def test_scan_reads_only_thresholds_passed_since_the_previous_scan(take: Any, people: Any, city: Any) -> None:
    from hotline.workorders.models import DeadlineScanMark

    with time_machine.travel(cst(2026, 3, 2, 9, 0), tick=False):  # Monday
        order = take()
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
        s.order_sign(order=order, actor=people.wang)
    order.refresh_from_db()
    # the first scan of an installation has no mark: it reads every passed threshold, then marks
    assert not DeadlineScanMark.objects.exists()
    assert deadlines_scan(now=order.warn_at - timedelta(minutes=1)) == {100: 0, 90: 0, 70: 0}
    assert DeadlineScanMark.objects.get().scanned_to == order.warn_at - timedelta(minutes=1)
    # an order left behind its threshold *before* the mark is not looked at again: every service
    # that sets a deadline sets its level too, so this only happens when a row is edited by hand
    WorkOrder.objects.filter(pk=order.pk).update(warn_at=order.warn_at - timedelta(hours=1))
    assert deadlines_scan(now=order.warn_at)[70] == 0
    WorkOrder.objects.filter(pk=order.pk).update(warn_at=order.warn_at)  # back inside the range
    DeadlineScanMark.objects.update(scanned_to=order.warn_at - timedelta(minutes=1))
    assert deadlines_scan(now=order.warn_at)[70] == 1
    # a scan at an instant already scanned does nothing and does not move the mark back
    assert deadlines_scan(now=order.warn_at - timedelta(minutes=30)) == {100: 0, 90: 0, 70: 0}
    assert DeadlineScanMark.objects.get().scanned_to == order.warn_at
    # the jobs process was down: the next scan catches up over the whole gap at once
    result = deadlines_scan(now=order.due_at + timedelta(hours=2))
    assert result == {100: 1, 90: 0, 70: 0}  # only the highest level reached, once
    order.refresh_from_db()
    assert order.deadline_level == 100 and order.was_overdue
    assert list(order.events.filter(action="deadline").values_list("data__level", flat=True)) == [70, 100]


def test_scan_notifies_each_unit_once_per_level(
    take: Any, people: Any, city: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with time_machine.travel(cst(2026, 3, 2, 9, 0), tick=False):
        orders = [take(title=f"工单{i}") for i in range(3)]
        for order in orders[:2]:
            s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
        s.order_dispatch(order=orders[2], actor=people.zhou, lead_unit=city.east2_office)
    first = WorkOrder.objects.get(pk=orders[0].pk)
    before = Notification.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        assert deadlines_scan(now=first.warn_at + timedelta(seconds=1))[70] == 3
    digests = Notification.objects.filter(kind="order_warning").order_by("recipient__username")
    # wang and sun (东一, two orders in one digest), qian (东二)
    assert {n.recipient_id for n in digests} == {people.wang.pk, people.sun.pk, people.qian.pk}
    assert Notification.objects.count() - before == digests.count() == 3
    assert "(2)" in digests.get(recipient=people.wang).title


def test_a_refused_return_moves_the_units_time_to_sign_by_the_arbitration(
    take: Any, people: Any, city: Any
) -> None:
    # Monday 2 March 2026: dispatched at 09:00, 2 working hours to sign (11:00); returned unsigned
    # at 09:30 and the return refused at 10:00 — the unit's clock stood still for half an hour.
    with time_machine.travel(cst(2026, 3, 2, 9, 0), tick=False):
        order = take()
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    lead = order.assignments.get()
    assert lead.sign_due_at.astimezone(CST) == cst(2026, 3, 2, 11, 0)
    with time_machine.travel(cst(2026, 3, 2, 9, 30), tick=False):
        s.order_return(order=order, actor=people.wang, reason="不归我们管")
    with time_machine.travel(cst(2026, 3, 2, 10, 0), tick=False):
        s.order_return_decide(order=order, actor=people.zhou, accept=False, reason="权责清单明确属街道")
    lead.refresh_from_db()
    assert lead.sign_due_at.astimezone(CST) == cst(2026, 3, 2, 11, 30)
    assert order.due_at.astimezone(CST) == cst(2026, 3, 2, 11, 30)


def test_the_centres_own_late_step_is_not_the_units(take: Any, people: Any, city: Any) -> None:
    """The unit answered in time; the centre's review then ran past its deadline. The order was
    overdue, but not at the unit: the unit's on-time rate counts it as on time."""
    from hotline.reports.orders import order_measures

    with time_machine.travel(cst(2026, 3, 2, 9, 0), tick=False):  # Monday
        order = take()
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
        s.order_sign(order=order, actor=people.wang)
    with time_machine.travel(cst(2026, 3, 3, 10, 0), tick=False):
        s.order_answer(order=order, actor=people.wang, result="resolved", answer="已处理。")
    order.refresh_from_db()
    assert order.state == "pending_review" and order.due_at is not None
    assert deadlines_scan(now=order.due_at + timedelta(seconds=1))[100] == 1
    order.refresh_from_db()
    assert order.was_overdue and not order.unit_overdue
    table = order_measures(
        start=cst(2026, 3, 1), end=cst(2026, 4, 1), by="total", measures=["on_time_rate", "overdue"]
    )
    assert table.total is not None
    assert (table.total.values["on_time_rate_num"], table.total.values["on_time_rate_den"]) == (1, 1)
    assert table.total.values["overdue"] == 0


def test_a_late_answer_is_overdue_at_the_unit(take: Any, people: Any, city: Any) -> None:
    with time_machine.travel(cst(2026, 3, 2, 9, 0), tick=False):
        order = take()
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
        s.order_sign(order=order, actor=people.wang)
    assert order.answer_due_at is not None
    with time_machine.travel(order.answer_due_at + timedelta(minutes=5), tick=False):
        s.order_answer(order=order, actor=people.wang, result="resolved", answer="已处理。")
    order.refresh_from_db()
    assert order.was_overdue and order.unit_overdue  # answered late, before any scan saw it
