"""Call measures on three scripted hours, every figure against a value computed by hand.

Monday 3 March 2025, 10:00–13:00 UTC (18:00–21:00 in the centre). Queues GENERAL (service level
15 s) and COMPLAINT (20 s); the centre's short abandon is 5 s and its service level 15 s. Hotline
numbers 12345 and 96310; trunks ct and cu. Agents Li (A) and Chen (B). The records go in through
``DjangoRecorder`` as the engine reports them.

    c1  12345/ct  GENERAL   entered 10:00:05, A answers after 10 s; talk 110, hold 60, talk 130, wrap 30
    c2  12345/cu  GENERAL   entered 10:10:05, offered to A who does not answer (15 s ringing); B answers
                            after 25 s, talks 120 s, transfers to COMPLAINT (wrap 30 s)
        12345/cu  COMPLAINT entered 10:12:30 while nobody was ready (all busy: A paused, B in wrap-up);
                            B answers after 35 s, talks 180 s, wraps 30 s
    c3  96310/ct  GENERAL   entered 10:20:02, abandoned after 3 s (short)
    c4  96310/cu  GENERAL   entered 10:30:02, abandoned after 40 s
    c5  12345/ct  —         ended in the IVR
    c12 outbound  cu        a callback leg at 10:50:02 that nobody answered
    c7  96310/cu  GENERAL   entered 11:20:01, B answers after 5 s; talk 300, wrap 30
    c8  12345/cu  —         failed at 11:30
    c6  12345/ct  GENERAL   entered 11:59:50, A answers at 12:00:05 (next hour) after 15 s; talk 180, wrap 30
    c9  12345/ct  COMPLAINT entered 12:10:02, B answers after 8 s; talk 240, wrap 30
    c10 96310/ct  GENERAL   entered 12:30:01, abandoned after 3 s (short)
    c11 outbound  ct        a revisit leg at 12:45:05, answered
    A   paused (meal) 10:12–10:20; off hook 10:45–10:46
    B   paused (training) 12:40–12:50

At ``NOW`` (16:30) the hours before 12:00 are sealed: 09:00, 10:00 and 11:00 are rolled up, 12:00 is
read from the raw records.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from hotline.callcenter import records as r
from hotline.callcenter.models import CallRecord, HotlineNumber, IvrFlow, PauseReason, Queue, QueueEventLog
from hotline.callcenter.recorder import DjangoRecorder
from hotline.callcenter.selectors import agent_stats, queue_stats
from hotline.reports import calls, rollup
from hotline.reports.models import QueueHour, RollupMark
from hotline.telephony.recordings import trunk_hours
from hotline.workorders.models import WorkOrder
from hotline.workorders.tests import conftest as order_fixtures

pytestmark = pytest.mark.django_db

tree = order_fixtures.tree
take = order_fixtures.take

G, C = "GENERAL", "COMPLAINT"


def t(h: int, m: int = 0, s: int = 0, day: int = 3) -> datetime:
    return datetime(2025, 3, day, h, m, s, tzinfo=UTC)


NOW = t(16, 30)


def script(rec: DjangoRecorder, a: int, b: int) -> None:
    def st(agent: int, at: datetime, state: str, call: str = "", reason: str = "") -> None:
        rec.agent_state(r.AgentStateChange(agent_id=agent, state=state, at=at, call_id=call, reason=reason))

    def qe(kind: str, at: datetime, queue: str, call: str, agent: int | None = None) -> None:
        rec.queue_event(r.QueueEvent(kind=kind, at=at, queue=queue, call_id=call, agent_id=agent))

    def leg(call: str, trunk: str, start: datetime, answered: datetime | None, end: datetime) -> None:
        rec.leg(
            r.LegRecord(
                call_id=call, leg_id="L1", kind="outbound", party="139000000" + call[1:], started_at=start,
                answered_at=answered, ended_at=end, cause="normal" if answered else "no_answer", trunk=trunk,
            )
        )  # fmt: skip

    def cdr(
        call: str, called: str, trunk: str, start: datetime, end: datetime, outcome: str, **kw: Any
    ) -> None:
        direction = "outbound" if outcome == r.OUTCOME_OUTBOUND else "inbound"
        rec.call(
            r.CallRecord(
                call_id=call, direction=direction, caller=f"1380000{call[1:]:0>4}", called=called,
                trunk=trunk, started_at=start, ended_at=end, outcome=outcome, **kw,
            )
        )  # fmt: skip

    # Agent Li (A)
    for at, state, call, reason in (
        (t(9), r.AGENT_READY, "", ""),
        (t(10, 0, 7), r.AGENT_RINGING, "c1", ""),
        (t(10, 0, 15), r.AGENT_TALKING, "c1", ""),
        (t(10, 2, 5), r.AGENT_HOLD, "c1", ""),
        (t(10, 3, 5), r.AGENT_TALKING, "c1", ""),
        (t(10, 5, 15), r.AGENT_WRAP_UP, "", ""),  # names no call: continues c1
        (t(10, 5, 45), r.AGENT_READY, "", ""),
        (t(10, 10, 6), r.AGENT_RINGING, "c2", ""),
        (t(10, 10, 21), r.AGENT_READY, "", ""),
        (t(10, 12), r.AGENT_PAUSED, "", "meal"),
        (t(10, 20), r.AGENT_READY, "", ""),
        (t(10, 45), r.AGENT_OFF_HOOK, "", ""),
        (t(10, 46), r.AGENT_READY, "", ""),
        (t(11, 59, 51), r.AGENT_RINGING, "c6", ""),
        (t(12, 0, 5), r.AGENT_TALKING, "c6", ""),
        (t(12, 3, 5), r.AGENT_WRAP_UP, "c6", ""),
        (t(12, 3, 35), r.AGENT_READY, "", ""),
        (t(13, 30), r.AGENT_LOGGED_OUT, "", ""),
    ):
        st(a, at, state, call, reason)
    # Agent Chen (B)
    for at, state, call, reason in (
        (t(9, 30), r.AGENT_READY, "", ""),
        (t(10, 10, 22), r.AGENT_RINGING, "c2", ""),
        (t(10, 10, 30), r.AGENT_TALKING, "c2", ""),
        (t(10, 12, 30), r.AGENT_WRAP_UP, "c2", ""),
        (t(10, 13), r.AGENT_RINGING, "c2", ""),
        (t(10, 13, 5), r.AGENT_TALKING, "c2", ""),
        (t(10, 16, 5), r.AGENT_WRAP_UP, "c2", ""),
        (t(10, 16, 35), r.AGENT_READY, "", ""),
        (t(11, 20, 2), r.AGENT_RINGING, "c7", ""),
        (t(11, 20, 6), r.AGENT_TALKING, "c7", ""),
        (t(11, 25, 6), r.AGENT_WRAP_UP, "c7", ""),
        (t(11, 25, 36), r.AGENT_READY, "", ""),
        (t(12, 10, 3), r.AGENT_RINGING, "c9", ""),
        (t(12, 10, 10), r.AGENT_TALKING, "c9", ""),
        (t(12, 14, 10), r.AGENT_WRAP_UP, "c9", ""),
        (t(12, 14, 40), r.AGENT_READY, "", ""),
        (t(12, 40), r.AGENT_PAUSED, "", "training"),
        (t(12, 50), r.AGENT_READY, "", ""),
        (t(13, 30), r.AGENT_LOGGED_OUT, "", ""),
    ):
        st(b, at, state, call, reason)
    # Queue events
    qe(r.QE_ENTER, t(10, 0, 5), G, "c1")
    qe(r.QE_OFFER, t(10, 0, 7), G, "c1", a)
    qe(r.QE_CONNECT, t(10, 0, 15), G, "c1", a)
    qe(r.QE_ENTER, t(10, 10, 5), G, "c2")
    qe(r.QE_OFFER, t(10, 10, 6), G, "c2", a)
    qe(r.QE_NO_ANSWER, t(10, 10, 21), G, "c2", a)
    qe(r.QE_OFFER, t(10, 10, 22), G, "c2", b)
    qe(r.QE_CONNECT, t(10, 10, 30), G, "c2", b)
    qe(r.QE_TRANSFER, t(10, 12, 30), G, "c2", b)
    qe(r.QE_ENTER, t(10, 12, 30), C, "c2")
    qe(r.QE_ALL_BUSY, t(10, 12, 30), C, "c2")
    qe(r.QE_OFFER, t(10, 13), C, "c2", b)
    qe(r.QE_CONNECT, t(10, 13, 5), C, "c2", b)
    qe(r.QE_ENTER, t(10, 20, 2), G, "c3")
    qe(r.QE_ABANDON, t(10, 20, 5), G, "c3")
    qe(r.QE_ENTER, t(10, 30, 2), G, "c4")
    qe(r.QE_ABANDON, t(10, 30, 42), G, "c4")
    qe(r.QE_ENTER, t(11, 20, 1), G, "c7")
    qe(r.QE_OFFER, t(11, 20, 2), G, "c7", b)
    qe(r.QE_CONNECT, t(11, 20, 6), G, "c7", b)
    qe(r.QE_ENTER, t(11, 59, 50), G, "c6")
    qe(r.QE_OFFER, t(11, 59, 51), G, "c6", a)
    qe(r.QE_CONNECT, t(12, 0, 5), G, "c6", a)
    qe(r.QE_ENTER, t(12, 10, 2), C, "c9")
    qe(r.QE_OFFER, t(12, 10, 3), C, "c9", b)
    qe(r.QE_CONNECT, t(12, 10, 10), C, "c9", b)
    qe(r.QE_ENTER, t(12, 30, 1), G, "c10")
    qe(r.QE_ABANDON, t(12, 30, 4), G, "c10")
    # Call records and the outbound legs
    answered = r.OUTCOME_ANSWERED
    cdr("c1", "12345", "ct", t(10), t(10, 5, 15), answered, queue=G, agent_id=a, queued_at=t(10, 0, 5),
        answered_at=t(10, 0, 15), wait_s=10.0, talk_s=240.0, hold_s=60.0)  # fmt: skip
    cdr("c2", "12345", "cu", t(10, 10), t(10, 16, 5), answered, queue=C, agent_id=b, queued_at=t(10, 10, 5),
        answered_at=t(10, 10, 30), wait_s=60.0, talk_s=300.0, transfers=1)  # fmt: skip
    cdr("c3", "96310", "ct", t(10, 20), t(10, 20, 5), r.OUTCOME_ABANDONED, queue=G, queued_at=t(10, 20, 2),
        wait_s=3.0)  # fmt: skip
    cdr("c4", "96310", "cu", t(10, 30), t(10, 30, 42), r.OUTCOME_ABANDONED, queue=G, queued_at=t(10, 30, 2),
        wait_s=40.0)  # fmt: skip
    cdr("c5", "12345", "ct", t(10, 40), t(10, 41), r.OUTCOME_IVR)
    cdr("c12", "13900000012", "cu", t(10, 50), t(10, 50, 32), r.OUTCOME_OUTBOUND)
    leg("c12", "cu", t(10, 50, 2), None, t(10, 50, 32))
    cdr("c7", "96310", "cu", t(11, 20), t(11, 25, 6), answered, queue=G, agent_id=b, queued_at=t(11, 20, 1),
        answered_at=t(11, 20, 6), wait_s=5.0, talk_s=300.0)  # fmt: skip
    cdr("c8", "12345", "cu", t(11, 30), t(11, 30, 1), r.OUTCOME_FAILED)
    cdr("c6", "12345", "ct", t(11, 59, 40), t(12, 3, 5), answered, queue=G, agent_id=a,
        queued_at=t(11, 59, 50), answered_at=t(12, 0, 5), wait_s=15.0, talk_s=180.0)  # fmt: skip
    cdr("c9", "12345", "ct", t(12, 10), t(12, 14, 10), answered, queue=C, agent_id=b, queued_at=t(12, 10, 2),
        answered_at=t(12, 10, 10), wait_s=8.0, talk_s=240.0)  # fmt: skip
    cdr("c10", "96310", "ct", t(12, 30), t(12, 30, 4), r.OUTCOME_ABANDONED, queue=G, queued_at=t(12, 30, 1),
        wait_s=3.0)  # fmt: skip
    cdr("c11", "13900000011", "ct", t(12, 45), t(12, 48), r.OUTCOME_OUTBOUND)
    leg("c11", "ct", t(12, 45, 5), t(12, 45, 15), t(12, 48))


@pytest.fixture
def centre(people: Any) -> Any:
    """The scripted hours, recorded and flushed; returns ``people``."""
    Queue.objects.create(code=G, name="综合", service_level_s=15)
    Queue.objects.create(code=C, name="投诉", service_level_s=20)
    flow = IvrFlow.objects.create(code="MAIN", name="主流程")
    HotlineNumber.objects.create(number="12345", name="12345 热线", flow=flow)
    HotlineNumber.objects.create(number="96310", name="交通热线", flow=flow)
    PauseReason.objects.create(code="meal", name="就餐")
    PauseReason.objects.create(code="training", name="培训")
    rec = DjangoRecorder(batch_size=9)
    script(rec, people.li.pk, people.chen.pk)
    rec.flush()
    return people


@pytest.fixture
def rolled(centre: Any) -> Any:
    """``centre`` with the sealed hours rolled up at ``NOW``."""
    assert rollup.rollup_sealed(now=NOW) == 3  # 09:00, 10:00, 11:00
    return centre


def values(table: Any, key: Any) -> dict[str, Any]:
    if key == "":
        return dict(table.total.values)
    return dict(next(row for row in table.rows if row.key == key).values)


# --- Queue report ------------------------------------------------------------------------------------


def test_queue_report_by_queue(rolled: Any) -> None:
    table = calls.queue_report(start=t(10), end=t(13), now=NOW)
    assert table.params["rolled_until"] == t(12)  # 10:00 and 11:00 from the roll-ups, 12:00 raw
    assert [row.key for row in table.rows] == [C, G]
    assert [row.label for row in table.rows] == ["COMPLAINT 投诉", "GENERAL 综合"]

    general = values(table, G)
    # visits: c1, c2, c3, c4 (10:00), c7, c6 (11:00), c10 (12:00)
    assert general["offered"] == 7
    assert general["answered"] == 4  # c1, c2, c7, c6
    assert general["answered_in_sl"] == 3  # c1 10 s, c7 5 s, c6 15 s (c2 waited 25 s)
    assert (general["abandoned_short"], general["abandoned"]) == (2, 1)  # c3, c10; c4
    assert general["service_level"] == pytest.approx(3 / (7 - 2))
    assert general["answer_rate"] == pytest.approx(4 / (7 - 2))
    assert general["asa_s"] == pytest.approx((10 + 25 + 5 + 15) / 4)
    # handle: c1 240+60+30, c2 120+30 (to the transfer), c7 300+30, c6 180+30 (after 12:00)
    assert general["handle_s"] == pytest.approx(330 + 150 + 330 + 210)
    assert general["aht_s"] == pytest.approx(1020 / 4)
    assert (general["unanswered_offers"], general["transfers"], general["all_busy"]) == (1, 1, 0)
    assert general["longest_wait_s"] == pytest.approx(40)
    assert general.get("calls") is None and general.get("connection_rate") is None  # per call: total only

    complaint = values(table, C)
    assert (complaint["offered"], complaint["answered"], complaint["answered_in_sl"]) == (2, 2, 1)  # c2, c9
    assert complaint["service_level"] == pytest.approx(1 / 2)
    assert complaint["asa_s"] == pytest.approx((35 + 8) / 2)
    assert complaint["aht_s"] == pytest.approx((210 + 270) / 2)
    assert complaint["all_busy"] == 1

    total = values(table, "")
    assert (total["offered"], total["answered"], total["answered_in_sl"]) == (9, 6, 4)
    assert total["service_level"] == pytest.approx(4 / 7)
    assert total["aht_s"] == pytest.approx((1020 + 480) / 6)
    # per call: c2 transferred between queues is one call; 10 inbound calls, 8 asked for an agent,
    # 5 answered, 2 short abandons
    assert total["calls"] == 10
    assert total["connection_rate"] == pytest.approx(5 / 6)
    assert table.params["connection_rate"] == pytest.approx(5 / 6)
    assert table.params["connection_rate_24h"] == pytest.approx(5 / 6)
    assert table.params["connection_target_met"] is False
    assert total["target"] == "未达标"  # the UI speaks Chinese first


def test_queue_report_by_hour(rolled: Any) -> None:
    table = calls.queue_report(start=t(10), end=t(13), by="hour", now=NOW)
    assert [row.key for row in table.rows] == [18, 19, 20]  # the centre's clock
    assert table.rows[0].label == "18:00–19:00"
    h18, h19, h20 = (row.values for row in table.rows)
    assert (h18["offered"], h18["answered"], h18["abandoned_short"], h18["abandoned"]) == (5, 3, 1, 1)
    assert (h19["offered"], h19["answered"], h19["answered_in_sl"]) == (2, 2, 2)
    assert (h20["offered"], h20["answered"], h20["abandoned_short"]) == (2, 1, 1)
    assert h19["aht_s"] == pytest.approx((330 + 210) / 2)
    # calls by their start: 18:00 c1–c5; 19:00 c7, c8, c6; 20:00 c9, c10
    assert (h18["calls"], h19["calls"], h20["calls"]) == (5, 3, 2)
    assert h18["connection_rate"] == pytest.approx(2 / 3)  # c1, c2 of c1–c4, c3 short
    assert h19["connection_rate"] == pytest.approx(1.0)
    assert h20["connection_rate"] == pytest.approx(1.0)  # c9 of c9 and c10 (short)
    assert table.total is not None and table.total.values["offered"] == 9
    # each hour equals the contact centre's statistics over that hour
    for hour, row in zip((10, 11, 12), table.rows, strict=True):
        raw = queue_stats(start=t(hour), end=t(hour + 1), now=NOW).total
        assert (row.values["offered"], row.values["answered"]) == (raw.offered, raw.answered)
        assert row.values["handle_s"] == pytest.approx(raw.handle_s)


def test_queue_report_by_number_and_trunk(rolled: Any) -> None:
    by_number = calls.queue_report(start=t(10), end=t(13), by="number", now=NOW)
    assert [row.label for row in by_number.rows] == ["12345 12345 热线", "96310 交通热线"]
    n12345, n96310 = values(by_number, "12345"), values(by_number, "96310")
    assert (n12345["calls"], n12345["queued"], n12345["answered"]) == (6, 4, 4)  # c1 c2 c5 c8 c6 c9
    assert (n12345["ivr"], n12345["failed"], n12345["transfers"]) == (1, 1, 1)
    assert n12345["connection_rate"] == pytest.approx(1.0)
    assert n12345["answered_in_sl"] == 3  # c1 10 s, c6 15 s, c9 8 s; c2 first answered after 25 s
    assert n12345["asa_s"] == pytest.approx((10 + 25 + 15 + 8) / 4)
    assert n12345["avg_talk_s"] == pytest.approx((240 + 300 + 180 + 240) / 4)
    assert (n96310["calls"], n96310["queued"], n96310["answered"]) == (4, 4, 1)  # c3 c4 c7 c10
    assert (n96310["abandoned_short"], n96310["abandoned"]) == (2, 1)
    assert n96310["connection_rate"] == pytest.approx(1 / (4 - 2))
    assert values(by_number, "")["connection_rate"] == pytest.approx(5 / 6)

    by_trunk = calls.queue_report(start=t(10), end=t(13), by="trunk", now=NOW)
    ct, cu = values(by_trunk, "ct"), values(by_trunk, "cu")
    assert (ct["calls"], ct["queued"], ct["answered"], ct["abandoned_short"]) == (6, 5, 3, 2)
    assert ct["connection_rate"] == pytest.approx(1.0)
    assert (cu["calls"], cu["queued"], cu["answered"], cu["failed"]) == (4, 3, 2, 1)
    assert cu["connection_rate"] == pytest.approx(2 / 3)


def test_rollup_and_tail_equal_the_raw_records(rolled: Any) -> None:
    """Ranges that cross the seal (12:00), start or end inside an hour, or lie before it."""
    fields = rollup.QUEUE_FIELDS
    for start, end in (
        (t(10), t(13)),
        (t(10, 30), t(12, 30)),
        (t(9), t(14)),
        (t(11), t(12)),
        (t(9, 59), t(11, 1)),
    ):
        pieces = calls.split_range(start, end, rollup.rolled_until())
        assert pieces.rolled is not None
        mixed = calls.queue_figures(start=start, end=end, now=NOW)
        raw = {stats.queue: stats for stats in queue_stats(start=start, end=end, now=NOW).queues}
        assert set(mixed) == set(raw)
        for code, stats in raw.items():
            for name in fields:
                assert getattr(mixed[code], name) == pytest.approx(getattr(stats, name)), (
                    start,
                    end,
                    code,
                    name,
                )
        agents = calls.agent_figures(start=start, end=end, now=NOW)
        raw_agents = {
            s.agent_id: s for s in agent_stats(start=start, end=end, now=NOW).agents if rollup.agent_active(s)
        }
        assert set(agents) == set(raw_agents)
        for agent_id, stats in raw_agents.items():
            for name in rollup.AGENT_FIELDS:
                assert getattr(agents[agent_id], name) == pytest.approx(getattr(stats, name)), (
                    start,
                    end,
                    name,
                )
            assert agents[agent_id].pause_by_reason == pytest.approx(stats.pause_by_reason)
        mixed_calls = calls.call_figures(start=start, end=end, by="called")
        raw_calls: dict[str, rollup.CallFigures] = {}
        for (_h, direction, called, _trunk, _outcome), figures in rollup.call_hours(
            start=start, end=end
        ).items():
            if direction == "inbound":
                raw_calls.setdefault(called, rollup.CallFigures()).add(figures)
        assert mixed_calls == raw_calls
        # and against plain counts of the rows
        inbound = CallRecord.objects.filter(started_at__gte=start, started_at__lt=end, direction="inbound")
        assert sum(f.calls for f in mixed_calls.values()) == inbound.count()
        assert (
            sum(f.answered for f in mixed_calls.values())
            == inbound.filter(outcome="answered", queued_at__isnull=False).count()
        )


def test_reports_read_the_rolled_up_hours(rolled: Any) -> None:
    """Once rolled up, the sealed hours' raw rows are not read again."""
    before = calls.queue_report(start=t(10), end=t(13), now=NOW)
    QueueEventLog.objects.filter(at__lt=t(12)).delete()
    CallRecord.objects.filter(started_at__lt=t(12)).delete()
    after = calls.queue_report(start=t(10), end=t(13), now=NOW)
    assert values(after, G)["offered"] == values(before, G)["offered"] == 7
    assert values(after, "")["connection_rate"] == pytest.approx(5 / 6)
    RollupMark.objects.all().delete()  # nothing rolled up: everything from the (now fewer) raw rows
    assert values(calls.queue_report(start=t(10), end=t(13), now=NOW), G)["offered"] == 1  # c10


def test_connection_rate_over_24_hours(rolled: Any) -> None:
    assert calls.connection_rate_24h(end=t(13)) == pytest.approx(5 / 6)
    assert calls.connection_rate_24h(end=t(10)) is None  # no call asked for an agent
    # windows ending 10:00, 11:00 and 12:00 the next day: all calls 5/6; from 11:00 c7 c6 c9 (c10
    # short) 3/3; from 12:00 c9 (c10 short) 1/1
    lowest = calls.lowest_connection_rate_24h(start=t(10), end=t(12, day=4))
    assert lowest == (pytest.approx(5 / 6), t(10, day=4))
    assert calls.lowest_connection_rate_24h(start=t(10), end=t(13)) is None  # shorter than a day
    table = calls.queue_report(start=t(11), end=t(12, day=4), now=NOW)
    assert table.params["lowest_connection_rate_24h"] == pytest.approx(1.0)
    assert table.params["connection_target_met"] is True
    assert table.total is not None and table.total.values["target"] == "达标"


# --- Trunks and agents -----------------------------------------------------------------------------------


def trunk_values(
    *, inbound: tuple[int, ...], outbound: tuple[int, ...], both: tuple[int, ...]
) -> dict[str, int]:
    names = ("offered", "answered", "failed")
    return {
        **{f"in_{name}": n for name, n in zip(names, inbound, strict=True)},
        **{f"out_{name}": n for name, n in zip(names, outbound, strict=True)},
        **dict(zip(names, both, strict=True)),
    }


def test_trunk_report(rolled: Any) -> None:
    table = calls.trunk_report(start=t(10), end=t(13))
    ct, cu = values(table, "ct"), values(table, "cu")
    assert ct == trunk_values(inbound=(6, 6, 0), outbound=(1, 1, 0), both=(7, 7, 0))
    assert cu == trunk_values(inbound=(4, 3, 1), outbound=(1, 0, 1), both=(5, 3, 2))
    assert values(table, "")["offered"] == 12
    by_hour = calls.trunk_report(start=t(10), end=t(13), by="hour")
    assert [(row.key, row.level) for row in by_hour.rows] == [
        ("ct", 0), ("ct@18", 1), ("ct@19", 1), ("ct@20", 1), ("cu", 0), ("cu@18", 1), ("cu@19", 1),
    ]  # fmt: skip
    assert values(by_hour, "ct@20") == trunk_values(inbound=(2, 2, 0), outbound=(1, 1, 0), both=(3, 3, 0))
    # the same figures as the telephony trunk hours of the centre's day
    day = calls.trunk_report(start=t(16, day=2), end=t(16))
    report = trunk_hours(date_from=date(2025, 3, 3), date_to=date(2025, 3, 3))
    for trunk, sums in report.totals().items():
        if trunk:
            row = values(day, trunk)
            assert (row["in_offered"], row["in_answered"], row["in_failed"]) == tuple(
                sums["inbound"].as_dict().values()
            )
            assert (row["out_offered"], row["out_answered"], row["out_failed"]) == tuple(
                sums["outbound"].as_dict().values()
            )


def test_agent_report(rolled: Any, take: Any, tree: Any) -> None:
    li, chen = rolled.li, rolled.chen
    for actor, at, request_type in (
        (li, t(10, 30), tree.complaint),
        (li, t(11, 30), tree.complaint),
        (li, t(12, 30), tree.consultation),
        (li, t(9), tree.complaint),  # before the range
        (chen, t(11), tree.consultation),
    ):
        order = take(actor=actor, request_type=request_type)
        WorkOrder.objects.filter(pk=order.pk).update(created_at=at)
    table = calls.agent_report(start=t(10), end=t(13), now=NOW)
    assert [row.key for row in table.rows] == sorted([li.pk, chen.pk])
    keys = [column.key for column in table.columns]
    assert keys[keys.index("pause_s") + 1 : keys.index("logged_in_s")] == ["pause:meal", "pause:training"]
    assert table.column("pause:meal").label == "就餐"
    a, b = values(table, li.pk), values(table, chen.pk)
    assert (a["answered"], a["offered"], a["unanswered_offers"]) == (2, 3, 1)  # c1, c6; c2 not answered
    assert (a["complaints"], a["consultations"], a["other_orders"], a["orders"]) == (2, 1, 0, 3)
    assert a["handle_s"] == pytest.approx(330 + 210)
    assert a["aht_s"] == pytest.approx(270)
    assert a["talk_s"] == pytest.approx(110 + 130 + 180)
    assert (a["off_hook_count"], a["locked_count"]) == (1, 0)
    assert a["pause_s"] == pytest.approx(480) and a["pause:meal"] == pytest.approx(480)
    assert a["pause:training"] == 0
    assert a["logged_in_s"] == pytest.approx(3 * 3600)
    assert a["ready_s"] == pytest.approx(7 + 261 + 99 + 1500 + 4431 + 3385)
    assert a["quality_score"] is None
    assert (b["answered"], b["offered"], b["unanswered_offers"]) == (4, 4, 0)
    assert (b["complaints"], b["consultations"], b["orders"]) == (0, 1, 1)
    assert b["handle_s"] == pytest.approx(150 + 210 + 330 + 270)
    assert b["aht_s"] == pytest.approx(960 / 4)
    assert b["pause:training"] == pytest.approx(600)
    assert b["ready_s"] == pytest.approx(622 + 3807 + 2667 + 1520 + 600)
    total = values(table, "")
    assert (total["answered"], total["orders"], total["complaints"]) == (6, 4, 2)
    assert total["aht_s"] == pytest.approx((540 + 960) / 6)
    assert total["pause_s"] == pytest.approx(1080)


# --- Today's figures ---------------------------------------------------------------------------------------


def test_dashboard_calls(rolled: Any) -> None:
    now = t(12, 50)  # 20:50 in the centre; its day began at 16:00 UTC the day before
    rec = DjangoRecorder()
    rec.queue_event(r.QueueEvent(kind=r.QE_ENTER, at=t(12, 49), queue=G, call_id="c13"))
    rec.queue_event(r.QueueEvent(kind=r.QE_ABANDON, at=t(12, 51), queue=G, call_id="c13"))
    rec.call(
        r.CallRecord(call_id="c13", direction="inbound", caller="13800000013", called="12345", trunk="ct",
                     started_at=t(12, 48, 50), ended_at=t(12, 51), outcome=r.OUTCOME_ABANDONED, queue=G,
                     queued_at=t(12, 49), wait_s=120.0)
    )  # fmt: skip
    rec.flush()
    figures = calls.dashboard_calls(now=now)
    assert figures["start"] == t(16, day=2)
    assert (figures["offered"], figures["answered"]) == (10, 6)  # c13 is still waiting at 20:50
    assert figures["waiting"] == 1
    assert figures["service_level"] == pytest.approx(4 / (10 - 2))
    assert figures["calls"] == 11 and figures["calls_answered"] == 5
    assert figures["connection_rate"] == pytest.approx(5 / (9 - 2))
    assert figures["connection_rate_24h"] == pytest.approx(5 / 7)
    assert figures["connection_target_met"] is False
    hours = {row["hour"]: (row["calls"], row["answered"]) for row in figures["hours"]}
    assert len(hours) == 21 and hours[17] == (0, 0)
    assert (hours[18], hours[19], hours[20]) == ((5, 2), (3, 2), (3, 1))
    assert calls.waiting_now(now=t(12, 52)) == 0  # abandoned at 12:51
    # the next morning (08:30 UTC = 16:30 in the centre): no call yet today, the 24 hours hold
    # yesterday evening's
    later = calls.dashboard_calls(now=t(8, 30, day=4))
    assert later["start"] == t(16, day=3) and later["calls"] == 0 and later["connection_rate"] is None
    assert later["connection_rate_24h"] == pytest.approx(5 / 7)
    assert later["connection_rate_24h"] == calls.connection_rate_24h(end=t(8, 30, day=4))
    # at 11:30 UTC the day after, the window begins in the middle of yesterday's calls
    split = calls.dashboard_calls(now=t(11, 30, day=4))["connection_rate_24h"]
    assert split is not None and split != pytest.approx(5 / 7)
    assert split == pytest.approx(calls.connection_rate_24h(end=t(11, 30, day=4)))


def test_an_empty_range(centre: Any) -> None:
    table = calls.queue_report(start=t(20), end=t(21), now=NOW)
    assert table.rows == [] and table.total is not None
    assert table.total.values["service_level"] is None and table.total.values["connection_rate"] is None
    assert calls.agent_report(start=t(20), end=t(21), now=NOW).rows == []
    assert QueueHour.objects.count() == 0  # nothing was rolled up in this test
    with pytest.raises(ValueError):
        calls.queue_report(start=t(20), end=t(21), by="agent")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        calls.trunk_report(start=t(20), end=t(21), by="queue")  # type: ignore[arg-type]


def test_split_range() -> None:
    until = t(12)
    assert calls.split_range(t(10), t(13), until) == calls.Pieces(rolled=(t(10), t(12)), raw=[(t(12), t(13))])
    # no whole hour inside: all raw
    assert calls.split_range(t(10, 30), t(11, 30), until) == calls.Pieces(
        rolled=None, raw=[(t(10, 30), t(11, 30))]
    )
    assert calls.split_range(t(9, 30), t(11, 30), until) == calls.Pieces(
        rolled=(t(10), t(11)), raw=[(t(9, 30), t(10)), (t(11), t(11, 30))]
    )
    assert calls.split_range(t(10), t(13), None) == calls.Pieces(rolled=None, raw=[(t(10), t(13))])
    assert calls.split_range(t(13), t(14), until) == calls.Pieces(rolled=None, raw=[(t(13), t(14))])
    assert calls.split_range(t(13), t(13), until) == calls.Pieces(rolled=None, raw=[])
