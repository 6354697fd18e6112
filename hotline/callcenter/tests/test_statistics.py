"""Statistics on a small scripted hour, every measure against a value computed by hand.

The records go in through ``DjangoRecorder`` (as the engine reports them) and are flushed; the
interval is [10:00, 11:00) UTC on Monday 3 March 2025. Queues: GENERAL (service level 15 s) and
COMPLAINT (20 s); the centre's short abandon is 5 s. Agents: Li (A) and Chen (B).

    c6  GENERAL   entered 09:59:50 (before the interval), B answers at 10:00:00
    c1  GENERAL   entered 10:00:00, A answers after 10 s; talk 110 s, hold 60 s, talk 130 s, wrap 30 s
    c2  GENERAL   entered 10:10:00; offered to A three times without answer → A locked at 10:10:48;
                  B answers after 52 s, talks 120 s, transfers to COMPLAINT (wrap 30 s)
    c2  COMPLAINT entered 10:12:52 while nobody was ready (all busy); B answers after 38 s, talks 120 s,
                  wraps 30 s
    c3  GENERAL   entered 10:20:00, abandoned after 3 s (short)
    c4  GENERAL   entered 10:30:00, abandoned after 40 s
    c7  —         ended in the IVR at 10:45
    c5  GENERAL   entered 10:59:50, A answers at 11:00:05 (after the end) after 15 s; talk 180 s, wrap 30 s
    A   unlocked by the supervisor at 10:20:00; off hook 10:40:00–10:41:00
    B   paused (meal) from 10:50:00 to 11:20:00 — across the end of the interval
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hotline.callcenter import records as r
from hotline.callcenter.models import CallbackRequest, Queue
from hotline.callcenter.recorder import DjangoRecorder
from hotline.callcenter.selectors import agent_stats, queue_stats

pytestmark = pytest.mark.django_db


def t(h: int, m: int, s: int = 0) -> datetime:
    return datetime(2025, 3, 3, h, m, s, tzinfo=UTC)


START, END, NOW = t(10, 0), t(11, 0), t(23, 0)


def script(rec: DjangoRecorder, a: int, b: int) -> None:
    def st(
        agent: int, at: datetime, state: str, call: str = "", reason: str = "", by: int | None = None
    ) -> None:
        rec.agent_state(
            r.AgentStateChange(agent_id=agent, state=state, at=at, call_id=call, reason=reason, by=by)
        )

    def qe(kind: str, at: datetime, queue: str, call: str, agent: int | None = None, **data: Any) -> None:
        rec.queue_event(r.QueueEvent(kind=kind, at=at, queue=queue, call_id=call, agent_id=agent, data=data))

    def cdr(call: str, start: datetime, end: datetime, outcome: str, queue: str = "", **kw: Any) -> None:
        rec.call(
            r.CallRecord(
                call_id=call, direction="inbound", caller=f"1380000000{call[-1]}", called="12345", trunk="t1",
                started_at=start, ended_at=end, outcome=outcome, queue=queue, **kw,
            )
        )  # fmt: skip

    G, C = "GENERAL", "COMPLAINT"
    # Agent A (Li)
    st(a, t(9, 0), r.AGENT_READY)
    st(a, t(10, 0, 2), r.AGENT_RINGING, "c1")
    st(a, t(10, 0, 10), r.AGENT_TALKING, "c1")
    st(a, t(10, 2, 0), r.AGENT_HOLD, "c1")
    st(a, t(10, 3, 0), r.AGENT_TALKING, "c1")
    st(a, t(10, 5, 10), r.AGENT_WRAP_UP)  # no call named: the call before
    st(a, t(10, 5, 40), r.AGENT_READY)
    for ring, back in (
        (t(10, 10, 1), t(10, 10, 16)),
        (t(10, 10, 17), t(10, 10, 32)),
        (t(10, 10, 33), t(10, 10, 48)),
    ):
        st(a, ring, r.AGENT_RINGING, "c2")
        qe(r.QE_OFFER, ring, G, "c2", a)
        qe(r.QE_NO_ANSWER, back, G, "c2", a)
        if back != t(10, 10, 48):
            st(a, back, r.AGENT_READY)
    st(a, t(10, 10, 48), r.AGENT_LOCKED, reason="no_answer")
    st(a, t(10, 20, 0), r.AGENT_READY, by=b)
    st(a, t(10, 40, 0), r.AGENT_OFF_HOOK)
    st(a, t(10, 41, 0), r.AGENT_READY)
    st(a, t(10, 59, 51), r.AGENT_RINGING, "c5")
    st(a, t(11, 0, 5), r.AGENT_TALKING, "c5")
    st(a, t(11, 3, 5), r.AGENT_WRAP_UP)
    st(a, t(11, 3, 35), r.AGENT_READY)
    # Agent B (Chen)
    st(b, t(9, 30), r.AGENT_READY)
    st(b, t(9, 59, 51), r.AGENT_RINGING, "c6")
    st(b, t(10, 0, 0), r.AGENT_TALKING, "c6")
    st(b, t(10, 3, 0), r.AGENT_WRAP_UP)
    st(b, t(10, 3, 30), r.AGENT_READY)
    st(b, t(10, 10, 48), r.AGENT_RINGING, "c2")
    st(b, t(10, 10, 52), r.AGENT_TALKING, "c2")
    st(b, t(10, 12, 52), r.AGENT_WRAP_UP, "c2")
    st(b, t(10, 13, 22), r.AGENT_RINGING, "c2")
    st(b, t(10, 13, 30), r.AGENT_TALKING, "c2")
    st(b, t(10, 15, 30), r.AGENT_WRAP_UP)
    st(b, t(10, 16, 0), r.AGENT_READY)
    st(b, t(10, 50, 0), r.AGENT_PAUSED, reason="meal")
    st(b, t(11, 20, 0), r.AGENT_READY)
    st(b, t(11, 30, 0), r.AGENT_LOGGED_OUT)
    # Queue events
    qe(r.QE_ENTER, t(9, 59, 50), G, "c6")
    qe(r.QE_OFFER, t(9, 59, 51), G, "c6", b)
    qe(r.QE_CONNECT, t(10, 0, 0), G, "c6", b)
    qe(r.QE_ENTER, t(10, 0, 0), G, "c1")
    qe(r.QE_OFFER, t(10, 0, 2), G, "c1", a)
    qe(r.QE_CONNECT, t(10, 0, 10), G, "c1", a)
    qe(r.QE_ENTER, t(10, 10, 0), G, "c2")
    qe(r.QE_OFFER, t(10, 10, 48), G, "c2", b)
    qe(r.QE_CONNECT, t(10, 10, 52), G, "c2", b)
    qe(r.QE_TRANSFER, t(10, 12, 52), G, "c2", b, to="queue:COMPLAINT")
    qe(r.QE_ENTER, t(10, 12, 52), C, "c2")
    qe(r.QE_ALL_BUSY, t(10, 12, 52), C, "c2")
    qe(r.QE_OFFER, t(10, 13, 22), C, "c2", b)
    qe(r.QE_CONNECT, t(10, 13, 30), C, "c2", b)
    qe(r.QE_ENTER, t(10, 20, 0), G, "c3")
    qe(r.QE_ABANDON, t(10, 20, 3), G, "c3")
    qe(r.QE_ENTER, t(10, 30, 0), G, "c4")
    qe(r.QE_ABANDON, t(10, 30, 40), G, "c4")
    qe(r.QE_ENTER, t(10, 59, 50), G, "c5")
    qe(r.QE_OFFER, t(10, 59, 51), G, "c5", a)
    qe(r.QE_CONNECT, t(11, 0, 5), G, "c5", a)
    # Call records
    cdr("c6", t(9, 59, 40), t(10, 3, 0), r.OUTCOME_ANSWERED, G, agent_id=b, answered_at=t(10, 0))
    cdr("c1", t(9, 59, 55), t(10, 5, 10), r.OUTCOME_ANSWERED, G, agent_id=a, answered_at=t(10, 0, 10))
    cdr("c2", t(10, 9, 50), t(10, 15, 30), r.OUTCOME_ANSWERED, C, agent_id=b, answered_at=t(10, 10, 52))
    cdr("c3", t(10, 19, 50), t(10, 20, 3), r.OUTCOME_ABANDONED, G, wait_s=3.0)
    cdr("c4", t(10, 29, 50), t(10, 30, 40), r.OUTCOME_ABANDONED, G, wait_s=40.0)
    cdr("c7", t(10, 45, 0), t(10, 46, 0), r.OUTCOME_IVR)
    cdr("c5", t(10, 59, 40), t(11, 3, 5), r.OUTCOME_ANSWERED, G, agent_id=a, answered_at=t(11, 0, 5))


@pytest.fixture
def day(people: Any) -> Any:
    Queue.objects.create(code="GENERAL", name="综合", service_level_s=15)
    Queue.objects.create(code="COMPLAINT", name="投诉", service_level_s=20)
    rec = DjangoRecorder(batch_size=7)  # several batches on the way
    script(rec, people.li.pk, people.chen.pk)
    rec.flush()
    return people


def test_queue_measures(day: Any) -> None:
    report = queue_stats(start=START, end=END, now=NOW)
    complaint, general = report.queues
    assert general.queue == "GENERAL" and complaint.queue == "COMPLAINT"
    assert report.short_abandon_s == 5

    # GENERAL: c1, c2, c3, c4, c5 entered in the interval (c6 before it)
    assert general.offered == 5
    assert general.answered == 3  # c1 (10 s), c2 (52 s), c5 (15 s, answered after the end)
    assert general.answered_in_sl == 2  # c1, c5: within 15 s
    assert general.abandoned_short == 1  # c3
    assert general.abandoned == 1  # c4
    assert general.service_level == pytest.approx(2 / (5 - 1))
    assert general.asa_s == pytest.approx((10 + 52 + 15) / 3)
    assert general.talk_s == pytest.approx(110 + 130 + 120 + 180)
    assert general.hold_s == pytest.approx(60)
    assert general.wrap_up_s == pytest.approx(30 + 30 + 30)
    assert general.aht_s == pytest.approx((240 + 60 + 30 + 150 + 210) / 3)  # 230
    assert general.unanswered_offers == 3
    assert general.all_busy == 0
    assert general.transfers == 1
    assert general.longest_wait_s == pytest.approx(52)
    assert (general.overflowed, general.timed_out, general.voicemail, general.callback) == (0, 0, 0, 0)

    # COMPLAINT: c2 after the transfer
    assert (complaint.offered, complaint.answered, complaint.answered_in_sl) == (1, 1, 0)
    assert complaint.service_level == 0.0
    assert complaint.asa_s == pytest.approx(38)
    assert complaint.aht_s == pytest.approx(150)
    assert (complaint.all_busy, complaint.transfers, complaint.unanswered_offers) == (1, 0, 0)

    total = report.total
    assert (total.offered, total.answered, total.answered_in_sl) == (6, 4, 2)
    assert (total.abandoned, total.abandoned_short) == (1, 1)
    assert total.service_level == pytest.approx(2 / 5)
    assert total.asa_s == pytest.approx((10 + 52 + 15 + 38) / 4)
    assert total.aht_s == pytest.approx(210)
    assert (total.unanswered_offers, total.all_busy, total.transfers) == (3, 1, 1)

    # inbound calls that started in the interval, by outcome (c6 and c1 started before it, in the IVR)
    assert report.calls == {"answered": 2, "abandoned": 2, "ivr": 1, "total": 5}


def test_service_level_threshold_per_report(day: Any) -> None:
    report = queue_stats(start=START, end=END, service_level_s=60, now=NOW)
    complaint, general = report.queues
    assert (general.answered_in_sl, complaint.answered_in_sl) == (3, 1)
    assert report.total.service_level == pytest.approx(4 / 5)
    only = queue_stats(start=START, end=END, queues=["COMPLAINT"], now=NOW)
    assert [s.queue for s in only.queues] == ["COMPLAINT"] and only.total.offered == 1


def test_agent_measures(day: Any) -> None:
    report = agent_stats(start=START, end=END, now=NOW)
    a, b = report.agents
    assert (a.agent_id, b.agent_id) == (day.li.pk, day.chen.pk)
    assert a.name == "李晓"

    assert (a.offered, a.answered, a.unanswered_offers, a.transfers) == (5, 1, 3, 0)
    assert (a.locked_count, a.off_hook_count) == (1, 1)
    assert a.ready_s == pytest.approx(2 + 261 + 1 + 1 + 1200 + 1131)
    assert a.ringing_s == pytest.approx(8 + 15 + 15 + 15 + 9)
    assert a.talk_s == pytest.approx(110 + 130)
    assert a.hold_s == pytest.approx(60)
    assert a.wrap_up_s == pytest.approx(30)
    assert a.locked_s == pytest.approx(552)
    assert a.off_hook_s == pytest.approx(60)
    assert a.pause_s == 0
    assert a.logged_in_s == pytest.approx(3600)
    assert a.aht_s == pytest.approx(330)  # c1 only: c5 was answered after the end

    assert (b.offered, b.answered, b.unanswered_offers, b.transfers) == (2, 3, 0, 1)
    assert (b.locked_count, b.off_hook_count) == (0, 0)
    assert b.ringing_s == pytest.approx(4 + 8)
    assert b.talk_s == pytest.approx(180 + 120 + 120)
    assert b.wrap_up_s == pytest.approx(90)
    assert b.ready_s == pytest.approx(438 + 2040)
    assert b.pause_s == pytest.approx(600)  # 10:50 to the end of the interval
    assert b.pause_by_reason == {"meal": pytest.approx(600)}
    assert b.logged_in_s == pytest.approx(3600)
    assert b.aht_s == pytest.approx((210 + 150 + 150) / 3)

    total = report.total
    assert (total.offered, total.answered, total.unanswered_offers) == (7, 4, 3)
    assert total.aht_s == pytest.approx((330 + 510) / 4)
    assert total.pause_by_reason == {"meal": pytest.approx(600)}


def test_state_in_effect_at_the_start_of_the_interval(day: Any) -> None:
    """[10:55, 11:05): Chen's pause began at 10:50, before the interval; Li's call c5 spans 11:00."""
    report = agent_stats(start=t(10, 55), end=t(11, 5), now=NOW)
    a, b = report.agents
    assert b.pause_s == pytest.approx(600) and b.logged_in_s == pytest.approx(600)
    assert a.ready_s == pytest.approx(291 + 85)
    assert a.ringing_s == pytest.approx(14)
    assert (a.talk_s, a.wrap_up_s) == (pytest.approx(180), pytest.approx(30))
    assert (a.answered, a.aht_s) == (1, pytest.approx(210))
    only_li = agent_stats(start=t(10, 55), end=t(11, 5), agents=[day.li.pk], now=NOW)
    assert [s.agent_id for s in only_li.agents] == [day.li.pk]


def test_abandon_after_the_short_time_leaves_a_callback(day: Any) -> None:
    callbacks = list(CallbackRequest.objects.values_list("call_id", "reason", "queue"))
    assert callbacks == [("c4", "abandoned", "GENERAL")]  # c3 hung up within 5 s
