"""The hourly roll-ups: what a sealed hour stores, that each hour equals the contact centre's
statistics over that hour, that a run is idempotent and atomic, and how far the seal reaches.

The records are the three scripted hours of ``test_call_measures`` (10:00–13:00 UTC on 3 March 2025).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hotline.callcenter.models import CallRecord, RecordMark
from hotline.callcenter.selectors import agent_stats, queue_stats
from hotline.reports import calls, rollup
from hotline.reports.models import AgentHour, AgentPauseHour, CallHour, QueueHour, RollupMark, TrunkLegHour
from hotline.reports.tests.test_call_measures import NOW, C, G, centre, t

pytestmark = pytest.mark.django_db

__all__ = ["centre"]  # the fixture, used by name


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every roll-up row, without its id."""
    return {
        model.__name__: sorted(
            tuple(v for k, v in row.items() if k != "id") for row in model.objects.values()
        )
        for model in rollup.ROLLUP_MODELS
    }


def test_seal_boundary() -> None:
    # an hour is sealed once it ended more than 4 hours and 10 minutes ago
    assert rollup.seal_boundary(t(16, 10)) == t(12)
    assert rollup.seal_boundary(t(16, 9, 59)) == t(11)
    assert rollup.seal_boundary(NOW) == t(12)
    # sooner when the switch says every record of anything that began before a moment is written
    assert rollup.seal_boundary(t(13, 40), settled=t(13, 35)) == t(13)
    assert rollup.seal_boundary(t(13, 40), settled=t(11, 20)) == t(11)  # a call going on since 11:20
    assert rollup.seal_boundary(NOW, settled=t(9, 5)) == t(12)  # never later than the 4-hour rule
    assert rollup.seal_boundary(t(13, 40), settled=t(15)) == t(13)  # nor beyond now


def mark(settled: Any) -> None:
    RecordMark.objects.update_or_create(source="switch", defaults={"settled": settled, "updated_at": settled})


def test_hours_sealed_early_by_the_switchs_mark_store_what_the_4_hour_rule_stores(centre: Any) -> None:
    # every record of the scripted hours is written by 13:30 (the agents' log-outs)
    mark(t(13, 35))
    assert rollup.rollup_sealed(now=t(13, 40)) == 4  # 09:00–13:00, not 4 h 10 min later
    early = snapshot()
    for model in (*rollup.ROLLUP_MODELS, RollupMark):
        model.objects.all().delete()
    RecordMark.objects.all().delete()
    assert rollup.rollup_sealed(now=t(17, 30)) == 4
    assert snapshot() == early
    assert sum(row.offered for row in QueueHour.objects.all()) > 0


def test_an_hour_with_a_call_still_going_on_is_not_sealed_early(centre: Any) -> None:
    mark(t(11, 20))  # the switch's oldest call began at 11:20
    assert rollup.rollup_sealed(now=t(13, 40)) == 2  # 09:00 and 10:00
    assert rollup.rolled_until() == t(11)
    mark(t(13, 35))
    assert rollup.rollup_sealed(now=t(13, 45)) == 2  # 11:00 and 12:00 once it is over


def test_rollup_stores_the_sealed_hours(centre: Any) -> None:
    li, chen = centre.li.pk, centre.chen.pk
    assert rollup.rolled_until() is None
    assert rollup.rollup_sealed(now=NOW) == 3  # from the first record (09:00) to the seal (12:00)
    assert rollup.rolled_until() == t(12)
    assert not QueueHour.objects.filter(hour__gte=t(12)).exists()

    general = QueueHour.objects.get(hour=t(10), queue=G)
    assert (general.offered, general.answered, general.answered_in_sl) == (4, 2, 1)  # c1 c2 c3 c4; c1, c2
    assert (general.abandoned_short, general.abandoned, general.unanswered_offers, general.transfers) == (
        1,
        1,
        1,
        1,
    )
    assert (general.answer_wait_s, general.abandon_wait_s, general.longest_wait_s) == (35, 40, 40)
    assert (general.talk_s, general.hold_s, general.wrap_up_s) == (240 + 120, 60, 30 + 30)
    assert (general.service_level_s, general.short_abandon_s) == (15, 5)
    complaint = QueueHour.objects.get(hour=t(10), queue=C)
    assert (complaint.offered, complaint.answered, complaint.answered_in_sl, complaint.all_busy) == (
        1,
        1,
        0,
        1,
    )
    assert (complaint.talk_s, complaint.wrap_up_s, complaint.service_level_s) == (180, 30, 20)
    # c6 entered at 11:59:50 and was answered at 12:00:05: its hour is 11:00, with all its handling
    late = QueueHour.objects.get(hour=t(11), queue=G)
    assert (late.offered, late.answered, late.answered_in_sl, late.talk_s, late.wrap_up_s) == (
        2,
        2,
        2,
        480,
        60,
    )

    a10 = AgentHour.objects.get(hour=t(10), agent_id=li)
    assert (a10.offered, a10.answered, a10.unanswered_offers, a10.off_hook_count) == (2, 1, 1, 1)
    assert (a10.handle_talk_s, a10.handle_hold_s, a10.handle_wrap_up_s) == (240, 60, 30)
    assert a10.ready_s == 7 + 261 + 99 + 1500 + 840
    assert (a10.ringing_s, a10.talk_s, a10.hold_s, a10.wrap_up_s) == (23, 240, 60, 30)
    assert (a10.pause_s, a10.off_hook_s, a10.logged_in_s) == (480, 60, 3600)
    a11 = AgentHour.objects.get(hour=t(11), agent_id=li)
    assert (a11.offered, a11.answered, a11.ringing_s, a11.ready_s) == (1, 0, 9, 3591)  # c6 rang from 11:59:51
    assert AgentHour.objects.get(hour=t(9), agent_id=chen).ready_s == 1800  # ready from 09:30
    assert list(AgentPauseHour.objects.values_list("hour", "agent_id", "reason", "seconds")) == [
        (t(10), li, "meal", 480.0)
    ]

    inbound = CallHour.objects.filter(direction="inbound")
    assert sum(inbound.values_list("calls", flat=True)) == 8  # c1–c5, c7, c8, c6
    c1 = inbound.get(hour=t(10), called="12345", trunk="ct", outcome="answered")
    assert (c1.calls, c1.queued, c1.answered, c1.answered_in_sl, c1.answer_wait_s, c1.talk_s) == (
        1,
        1,
        1,
        1,
        10,
        240,
    )
    short = inbound.get(hour=t(10), called="96310", trunk="ct", outcome="abandoned")
    assert (short.calls, short.queued, short.abandoned_short) == (1, 1, 1)
    assert (short.service_level_s, short.short_abandon_s) == (15, 5)
    assert CallHour.objects.get(direction="outbound").trunk == "cu"  # c12
    assert list(TrunkLegHour.objects.values_list("hour", "trunk", "offered", "answered")) == [
        (t(10), "cu", 1, 0)
    ]


def test_each_hour_equals_the_statistics_of_that_hour(centre: Any) -> None:
    rollup.rollup_sealed(now=NOW + timedelta(hours=2))  # 09:00 to 13:00
    assert rollup.rolled_until() == t(14)
    for hour in (t(9), t(10), t(11), t(12), t(13)):
        stored = {row.queue: row for row in QueueHour.objects.filter(hour=hour)}
        raw = queue_stats(start=hour, end=hour + rollup.HOUR, now=NOW + timedelta(hours=2))
        assert set(stored) == {stats.queue for stats in raw.queues}
        for stats in raw.queues:
            for name in rollup.QUEUE_FIELDS:
                assert getattr(stored[stats.queue], name) == pytest.approx(getattr(stats, name)), (hour, name)
        agents = {row.agent_id: row for row in AgentHour.objects.filter(hour=hour)}
        raw_agents = agent_stats(start=hour, end=hour + rollup.HOUR, now=NOW + timedelta(hours=2)).agents
        active = [stats for stats in raw_agents if rollup.agent_active(stats)]
        assert set(agents) == {stats.agent_id for stats in active}
        for stats in active:
            for name in rollup.AGENT_FIELDS:
                assert getattr(agents[stats.agent_id], name) == pytest.approx(getattr(stats, name)), (
                    hour,
                    name,
                )
            pauses = dict(
                AgentPauseHour.objects.filter(hour=hour, agent_id=stats.agent_id).values_list(
                    "reason", "seconds"
                )
            )
            assert pauses == pytest.approx(stats.pause_by_reason)
    # 13:00: both agents logged in until 13:30; Li logged out for the rest of the hour
    assert AgentHour.objects.get(hour=t(13), agent_id=centre.li.pk).logged_in_s == 1800


def test_rollup_is_idempotent(centre: Any) -> None:
    assert rollup.rollup_sealed(now=NOW) == 3
    first = snapshot()
    assert rollup.rollup_sealed(now=NOW) == 0
    assert rollup.rollup_sealed(now=NOW - timedelta(hours=3)) == 0  # a clock that went back
    assert snapshot() == first
    assert rollup.rollup_sealed(now=NOW + timedelta(hours=1)) == 1  # 12:00 is sealed at 17:30
    assert rollup.rollup_sealed(now=NOW + timedelta(hours=1)) == 0
    later = snapshot()
    assert QueueHour.objects.filter(hour=t(12)).count() == 2
    for name, rows in first.items():
        assert set(rows) <= set(later[name])


def test_a_run_in_parts_stores_the_same_rows(centre: Any) -> None:
    assert rollup.rollup_sealed(now=NOW + timedelta(hours=1), max_hours=2) == 2
    assert rollup.rolled_until() == t(11)
    assert rollup.rollup_sealed(now=NOW + timedelta(hours=1), max_hours=1) == 1
    assert rollup.rollup_sealed(now=NOW + timedelta(hours=1)) == 1
    in_parts = snapshot()
    RollupMark.objects.all().delete()
    for model in rollup.ROLLUP_MODELS:
        model.objects.all().delete()
    assert rollup.rollup_sealed(now=NOW + timedelta(hours=1)) == 4
    assert snapshot() == in_parts


def test_a_failed_batch_leaves_no_part_of_it(centre: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk full")

    monkeypatch.setattr(TrunkLegHour.objects, "bulk_create", broken)  # the last table of the batch
    with pytest.raises(RuntimeError):
        rollup.rollup_sealed(now=NOW)
    assert all(not rows for rows in snapshot().values())
    assert rollup.rolled_until() == t(9)  # the mark is there, at the first hour, and did not move
    monkeypatch.undo()
    assert rollup.rollup_sealed(now=NOW) == 3
    assert QueueHour.objects.filter(hour__lt=t(12)).count() == 3


def test_a_batch_stored_meanwhile_by_another_run_is_not_stored_twice(
    centre: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rollup.hours_compute

    def racing(**kwargs: Any) -> rollup.HourRows:
        rows = real(**kwargs)
        # another run stores the same batch while this one computes it
        rollup._replace(real(**kwargs), kwargs["start"], kwargs["end"])
        RollupMark.objects.filter(name=rollup.MARK).update(until=kwargs["end"])
        return rows

    monkeypatch.setattr(rollup, "hours_compute", racing)
    assert rollup.rollup_sealed(now=NOW) == 0  # this run found its batch done and stopped
    assert rollup.rolled_until() == t(12)
    assert QueueHour.objects.filter(hour=t(10)).count() == 2


def test_rebuild_takes_in_records_that_came_late(centre: Any) -> None:
    rollup.rollup_sealed(now=NOW)
    CallRecord.objects.create(
        call_id="late", direction="inbound", caller="13800009999", called="12345", trunk="ct",
        started_at=t(10, 55), ended_at=t(10, 56), outcome="ivr",
    )  # fmt: skip
    assert calls.call_figures(start=t(10), end=t(11))[""].calls == 5  # the roll-up does not know it
    assert rollup.rollup_rebuild(start=t(10, 30), end=t(20)) == 2  # 10:00 and 11:00, not past the mark
    assert calls.call_figures(start=t(10), end=t(11))[""].calls == 6
    assert rollup.rolled_until() == t(12)


def test_nothing_to_roll_up(db: Any) -> None:
    assert rollup.rollup_sealed(now=NOW) == 0
    assert rollup.rolled_until() is None
    assert rollup.rollup_rebuild(start=t(10), end=t(12)) == 0


def test_hours_follow_the_statistics_at_their_limits(people: Any) -> None:
    """Where the statistics of an hour and of a longer range differ, a roll-up hour is the hour's:
    a call's handling is followed 4 hours past the end of its hour, and an agent's state that has
    not changed for more than 24 hours is not known to an hour's report."""
    from hotline.callcenter import records as r
    from hotline.callcenter.recorder import DjangoRecorder

    wang, sun = people.wang.pk, people.sun.pk
    rec = DjangoRecorder()
    for agent, at, state, call in (
        (sun, t(9, day=2), r.AGENT_READY, ""),  # and no change for 27 hours
        (sun, t(12), r.AGENT_LOGGED_OUT, ""),
        (wang, t(10, 30), r.AGENT_RINGING, "c20"),
        (wang, t(10, 30, 10), r.AGENT_TALKING, "c20"),
        (wang, t(10, 40), r.AGENT_WRAP_UP, "c20"),
        (wang, t(16), r.AGENT_READY, ""),  # wrap-up until 16:00, past 11:00 + 4 h
    ):
        rec.agent_state(r.AgentStateChange(agent_id=agent, state=state, at=at, call_id=call))
    rec.queue_event(r.QueueEvent(kind=r.QE_ENTER, at=t(10, 30), queue=G, call_id="c20"))
    rec.queue_event(r.QueueEvent(kind=r.QE_CONNECT, at=t(10, 30, 10), queue=G, call_id="c20", agent_id=wang))
    rec.flush()
    now = t(23)
    rollup.rollup_sealed(now=now)
    stored = QueueHour.objects.get(hour=t(10), queue=G)
    assert stored.wrap_up_s == (15 - 10) * 3600 - 40 * 60  # 10:40 to 15:00
    assert stored.wrap_up_s == queue_stats(start=t(10), end=t(11), now=now).total.wrap_up_s
    assert queue_stats(start=t(10), end=t(13), now=now).total.wrap_up_s == (16 - 10) * 3600 - 40 * 60
    assert AgentHour.objects.get(hour=t(9), agent_id=sun).ready_s == 3600  # changed exactly 24 h before
    assert not AgentHour.objects.filter(hour__gt=t(9), hour__lt=t(12), agent_id=sun).exists()
    assert not agent_stats(start=t(10), end=t(11), agents=[sun], now=now).agents[0].ready_s
