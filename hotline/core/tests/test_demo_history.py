"""The demo history (``hotline.core.demo_history``): the demo city's past weeks of work orders and
calls, which the reports read."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pytest
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce

from hotline.accounts.models import User
from hotline.audit.context import acting_as
from hotline.callcenter.models import (
    AgentProfile,
    AgentStateLog,
    CallLeg,
    CallOrderLink,
    CallRecord,
    QueueEventLog,
)
from hotline.core.demo import load_demo
from hotline.core.demo_history import CallHistory, OrderHistory, World, load_demo_history
from hotline.core.localtime import local_midnight
from hotline.reports.calls import agent_report, queue_report
from hotline.reports.models import QueueHour
from hotline.reports.orders import assessment, order_drill, order_measures, summary_table, volume
from hotline.reports.rollup import rolled_until
from hotline.taxonomy.models import RequestType
from hotline.workcalendar.choices import DeadlineStep
from hotline.workorders import deadlines, services
from hotline.workorders.choices import OrderAction, OrderState
from hotline.workorders.models import Assignment, DailySequence, Extension, OrderEvent, Revisit, WorkOrder
from hotline.workorders.states import TRANSITIONS

# A Tuesday morning in the centre's time zone. Last month is October 2026, with the National Day
# holidays; the orders reach back to its first day and the calls of the last 30 days into it.
NOW = local_midnight(date(2026, 11, 3)) + timedelta(hours=10, minutes=17)
MONTH = (local_midnight(date(2026, 10, 1)), local_midnight(date(2026, 11, 1)))
DAYS = 34


@pytest.fixture
def history(db: Any) -> dict[str, int]:
    load_demo(history=False)
    return load_demo_history(now=NOW, days=DAYS)


def table_counts() -> dict[str, int]:
    return {
        "orders": WorkOrder.objects.count(),
        "events": OrderEvent.objects.count(),
        "assignments": Assignment.objects.count(),
        "users": User.objects.count(),
        "calls": CallRecord.objects.count(),
        "queue_events": QueueEventLog.objects.count(),
        "agent_states": AgentStateLog.objects.count(),
        "legs": CallLeg.objects.count(),
        "sequences": sum(DailySequence.objects.values_list("last", flat=True)),
        "rolled": QueueHour.objects.count(),
    }


def test_orders_live_their_lives_and_feed_last_months_reports(history: dict[str, int]) -> None:
    orders = WorkOrder.objects.filter(created_at__lt=NOW)
    assert history["orders"] == orders.count()
    assert 25 <= history["orders"] / DAYS <= 50
    assert history["order_events"] == OrderEvent.objects.filter(order__in=orders).count()
    assert not OrderEvent.objects.filter(order__in=orders, at__gt=NOW).exists()
    numbers = list(orders.values_list("number", flat=True))
    assert len(set(numbers)) == len(numbers)

    # every order starts with its intake; each step starts where the one before ended and is one
    # the state table allows; the order is in the state its last step left it in
    events: dict[int, list[OrderEvent]] = defaultdict(list)
    for event in (
        OrderEvent.objects.filter(order__in=orders).exclude(action=OrderAction.MERGED_IN).order_by("at", "id")
    ):
        events[event.order_id].append(event)
    for order in orders:
        steps = events[order.pk]
        assert steps[0].action == OrderAction.INTAKE, order.number
        state = steps[0].to_state
        for event in steps[1:]:
            assert event.from_state == state, (order.number, event.action, event.from_state, state)
            if event.action in TRANSITIONS:
                assert event.from_state in TRANSITIONS[event.action][0], (order.number, event.action)
            state = event.to_state
        assert state == order.state, order.number

    # older orders are mostly closed, recent ones open in every state a unit or the centre holds
    states = dict(orders.values_list("state").annotate(n=Count("id")))
    old = orders.filter(created_at__lt=NOW - timedelta(days=20))
    assert old.filter(state=OrderState.CLOSED).count() > 0.8 * old.count()
    recent = orders.filter(created_at__gte=NOW - timedelta(days=3))
    assert recent.filter(state__in=[OrderState.PENDING_SIGN, OrderState.HANDLING]).exists()
    for state in (OrderState.CANCELLED, OrderState.MERGED, OrderState.PENDING_REVISIT):
        assert states.get(state, 0) > 0, state
    assert (
        orders.filter(state=OrderState.MERGED, merged_into__isnull=False).count() == states[OrderState.MERGED]
    )
    assert orders.filter(
        state__in=[OrderState.PENDING_SIGN, OrderState.HANDLING], deadline_level=100
    ).exists()
    assert orders.filter(was_overdue=True, state=OrderState.CLOSED).exists()
    assert orders.filter(round=2).exists() and Revisit.objects.filter(reopened=True).exists()
    # the revisit that reopens an order is the first row of its new round, as ``order_revisit`` writes it
    reopening = Revisit.objects.filter(reopened=True).first()
    assert reopening is not None and reopening.round == 1
    row = OrderEvent.objects.get(
        order=reopening.order, action=OrderAction.REVISIT, data__revisit=reopening.pk
    )
    assert row.round == 2 and row.to_state == OrderState.PENDING_DISPATCH
    assert set(Revisit.objects.values_list("satisfaction", flat=True)) >= {
        "satisfied",
        "basically",
        "unsatisfied",
    }
    assert set(Extension.objects.values_list("state", flat=True)) >= {"approved", "refused"}
    assert (
        Assignment.objects.filter(state="returned").exists()
        and Assignment.objects.filter(role="assist").exists()
    )
    assert OrderEvent.objects.filter(action=OrderAction.RETURN_REFUSE).exists()
    assert orders.filter(closed_directly=True).exists() and orders.filter(supervised=True).exists()
    # each order keeps what its revisits, extensions and assignments say (the reports count those)
    mine = {"order": OuterRef("pk")}
    latest = Revisit.objects.filter(**mine).order_by("-round", "-id")
    said = orders.annotate(
        r_resolved=Subquery(latest.values("resolved")[:1]),
        r_satisfaction=Coalesce(Subquery(latest.values("satisfaction")[:1]), Value("")),
        r_revisited=Exists(Revisit.objects.filter(~Q(method="unreachable"), **mine)),
        r_extended=Exists(Extension.objects.filter(state="approved", **mine)),
        r_returned=Exists(Assignment.objects.filter(role="lead", state="returned", **mine)),
    )
    wrong = said.exclude(
        Q(resolved=F("r_resolved")) | Q(resolved__isnull=True, r_resolved__isnull=True),
        satisfaction=F("r_satisfaction"),
        revisited=F("r_revisited"),
        extended=F("r_extended"),
        returned=F("r_returned"),
    )
    assert not wrong.exists(), list(wrong.values_list("number", flat=True)[:5])
    assert not orders.filter(unit_overdue=True, was_overdue=False).exists()
    for flag in ("revisited", "extended", "returned", "resolved", "unit_overdue"):
        assert orders.filter(**{flag: True}).exists(), flag
    # phone orders of the call period were taken during an answered call, by the agent on it
    link = CallOrderLink.objects.select_related("order").first()
    assert link is not None
    call = CallRecord.objects.get(call_id=link.call_id)
    assert call.agent_id == link.order.created_by_id and call.ended_at == link.order.created_at

    # deadlines on the working-day calendar: an untroubled order's are the rules' from its dispatch
    untroubled = orders.filter(state=OrderState.CLOSED, round=1, closed_directly=False).exclude(
        events__action__in=[OrderAction.RETURN, OrderAction.EXTENSION_APPROVE]
    )
    for order in untroubled.select_related("request_type", "category")[:40]:
        lead = order.assignments.get(role="lead")
        sign = deadlines.for_step(step=DeadlineStep.SIGN, start=order.dispatched_at, order=order)
        answer = deadlines.for_step(step=DeadlineStep.ANSWER, start=order.dispatched_at, order=order)
        assert sign is not None and answer is not None
        assert (lead.sign_due_at, order.answer_due_at) == (sign.due_at, answer.due_at), order.number

    # last month's assessment, summary table and volume have figures
    table = assessment(start=MONTH[0], end=MONTH[1])
    rated = [row for row in table.rows if row.values.get("on_time_rate") is not None]
    assert len(rated) >= 10
    for name in ("sign_rate", "completion_rate", "satisfaction_rate", "resolution_rate", "revisit_rate"):
        assert 0.5 < table.total.values[name] < 1, name
    assert any(row.values.get("rank") == 1 for row in table.rows)
    summary = summary_table(start=MONTH[0], end=MONTH[1])
    assert summary.rows and summary.total.values["received"] > 500
    by_day = volume(start=MONTH[0], end=MONTH[1], by="day")
    assert len(by_day.rows) == 31 and all(row.values["count"] > 0 for row in by_day.rows)
    holiday, working = by_day.rows[2].values["count"], by_day.rows[13].values["count"]  # 3 and 14 October
    assert holiday < working
    assert volume(start=MONTH[0], end=MONTH[1], by="category").rows

    # a figure and its drill-down list agree, per region and in total
    for measure in (
        "received",
        "overdue",
        "returns",
        "reopened",
        "on_time_rate",
        "satisfaction_rate",
        "sign_rate",
    ):
        measures = order_measures(start=MONTH[0], end=MONTH[1], by="region", measures=[measure])
        assert measures.total.values[
            f"{measure}_num" if f"{measure}_num" in measures.total.values else measure
        ]
        for row, by in [*((row, "region") for row in measures.rows), (measures.total, "total")]:
            figure = row.values.get(f"{measure}_num", row.values[measure])
            drill = order_drill(
                start=MONTH[0], end=MONTH[1], measure=measure, by=by, key=row.key if by != "total" else None
            )
            assert drill.count() == figure, (measure, row.label)


def test_calls_feed_last_months_call_reports(history: dict[str, int]) -> None:
    assert history["calls"] == CallRecord.objects.count()
    assert 200 <= history["calls"] / 30 <= 400
    assert not CallRecord.objects.filter(ended_at__gt=NOW).exists()
    assert not AgentStateLog.objects.filter(at__gt=NOW).exists()
    assert not QueueEventLog.objects.filter(at__gt=NOW).exists()
    # the roll-up has read them: the reports of whole hours come from it
    until = rolled_until()
    assert until is not None and NOW - timedelta(hours=6) < until <= NOW - timedelta(hours=4)
    assert history["rolled_up_hours"] > 24 * 29

    queues = queue_report(start=MONTH[0], end=MONTH[1], now=NOW)
    total = queues.total.values
    assert total["offered"] > total["answered"] > 0
    assert 0.7 <= total["service_level"] <= 0.9, total["service_level"]
    assert total["abandoned"] > 0 and total["abandoned_short"] > 0 and total["transfers"] > 0
    assert {row.key for row in queues.rows} >= {"GENERAL", "ENTERPRISE", "COMPLAINT"}
    # the roll-ups and the raw records agree on the month
    by_hour = queue_report(start=MONTH[0] + timedelta(minutes=1), end=MONTH[1], now=NOW)
    assert by_hour.total.values["offered"] <= total["offered"]

    agents = agent_report(start=MONTH[0], end=MONTH[1], now=NOW)
    busy = [row for row in agents.rows if row.values["answered"] > 0]
    assert {row.key for row in busy} == set(AgentProfile.objects.values_list("user_id", flat=True))
    for row in busy:
        assert row.values["logged_in_s"] > row.values["handle_s"] > 0
        assert row.values["pause_s"] > 0 and row.values["orders"] > 0
        assert row.values["offered"] >= row.values["answered"]


def test_a_second_run_changes_nothing_and_intake_goes_on(history: dict[str, int]) -> None:
    before = table_counts()
    again = load_demo_history(now=NOW, days=DAYS)
    assert set(again) == set(history) and not any(again.values())
    assert table_counts() == before

    # a request taken in on a day of the history gets that day's next number
    day = date(2026, 10, 28)
    taken = set(WorkOrder.objects.filter(number__startswith=f"{day:%Y%m%d}").values_list("number", flat=True))
    assert taken
    agent = User.objects.get(username="agent_li")
    intake = services.Intake(
        channel="phone", request_type=RequestType.objects.get(code="consultation"), title="咨询公积金提取",
        content="市民咨询公积金提取流程。", citizen_phone="13912345678",
    )  # fmt: skip
    with acting_as(agent):
        order = services.order_create(
            actor=agent, intake=intake, received_at=local_midnight(day) + timedelta(hours=15)
        )
    assert order.number not in taken and order.number == f"{day:%Y%m%d}{len(taken) + 1:05d}"


def test_the_same_seed_gives_the_same_history(history: dict[str, int]) -> None:
    def simulate(seed: int) -> tuple[list[Any], list[Any]]:
        world = World.load()
        calls = CallHistory(world, now=NOW, days=3, rng=random.Random(seed))
        calls.run()
        orders = OrderHistory(world, now=NOW, days=3, rng=random.Random(seed), calls=calls)
        orders.run()
        timeline = [(life.order.number, life.order.state, [(e["action"], e["at"]) for e in life.events])
                    for life in orders.lives]  # fmt: skip
        return calls.calls, timeline

    first, second, other = simulate(7), simulate(7), simulate(8)
    assert first[0] and first[1]
    assert first == second
    assert first != other
