"""``DjangoRecorder``: batching by size and time, idempotent calls and legs, voicemails and
callbacks, reports from one thread while another flushes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hotline.callcenter import records as r
from hotline.callcenter.models import (
    AgentStateLog,
    CallbackRequest,
    CallLeg,
    CallRecord,
    QueueEventLog,
    RecordMark,
    Voicemail,
)
from hotline.callcenter.recorder import DjangoRecorder

T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def call(
    call_id: str, *, outcome: str = r.OUTCOME_ANSWERED, caller: str = "13800000001", **kw: Any
) -> r.CallRecord:
    return r.CallRecord(
        call_id=call_id, direction="inbound", caller=caller, called="12345", trunk="t1",
        started_at=T0, ended_at=T0 + timedelta(minutes=3), outcome=outcome, **kw,
    )  # fmt: skip


def leg(call_id: str, leg_id: str) -> r.LegRecord:
    return r.LegRecord(
        call_id=call_id, leg_id=leg_id, kind="caller", party="13800000001",
        started_at=T0, answered_at=T0, ended_at=T0 + timedelta(minutes=3), cause="normal",
    )  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.django_db
def test_writes_when_the_batch_is_full() -> None:
    rec = DjangoRecorder(batch_size=3, max_delay_s=1000, clock=Clock())
    rec.agent_state(r.AgentStateChange(agent_id=7, state=r.AGENT_READY, at=T0))
    rec.queue_event(r.QueueEvent(kind=r.QE_ENTER, at=T0, queue="GENERAL", call_id="c1"))
    assert AgentStateLog.objects.count() == 0 and rec.pending() == 2
    rec.leg(leg("c1", "l1"))  # the third report fills the batch
    assert (AgentStateLog.objects.count(), QueueEventLog.objects.count(), CallLeg.objects.count()) == (
        1,
        1,
        1,
    )
    assert rec.pending() == 0


@pytest.mark.django_db
def test_writes_when_the_delay_has_passed() -> None:
    clock = Clock()
    rec = DjangoRecorder(batch_size=1000, max_delay_s=2.0, clock=clock)
    rec.call(call("c1"))
    clock.now = 1.0
    rec.call(call("c2"))
    assert CallRecord.objects.count() == 0
    clock.now = 2.5
    rec.call(call("c3"))
    assert CallRecord.objects.count() == 3


@pytest.mark.django_db
def test_calls_and_legs_reported_twice_are_written_once() -> None:
    rec = DjangoRecorder(batch_size=1000)
    rec.call(call("c1", queue="GENERAL", ivr_path=("welcome", "menu")))
    rec.leg(leg("c1", "l1"))
    rec.flush()
    rec.call(call("c1", queue="GENERAL"))  # a restarted switch reports again
    rec.leg(leg("c1", "l1"))
    rec.leg(leg("c1", "l2"))
    rec.flush()
    assert CallRecord.objects.count() == 1
    assert CallRecord.objects.get().ivr_path == ["welcome", "menu"]
    assert sorted(CallLeg.objects.values_list("leg_id", flat=True)) == ["l1", "l2"]


@pytest.mark.django_db
def test_voicemail_and_callback_rows() -> None:
    rec = DjangoRecorder(batch_size=1000, short_abandon_s=5)
    rec.voicemail(call_id="c1", caller="13800000001", path="vm/c1.wav", seconds=42.5, at=T0)
    rec.voicemail(call_id="c1", caller="13800000001", path="vm/c1.wav", seconds=42.5, at=T0)
    rec.callback_request(call_id="c2", caller="13800000002", queue="GENERAL", at=T0)
    rec.call(call("c3", outcome=r.OUTCOME_ABANDONED, caller="13800000003", wait_s=30.0, queue="GENERAL"))
    rec.call(call("c4", outcome=r.OUTCOME_ABANDONED, caller="13800000003", wait_s=50.0, queue="GENERAL"))
    rec.call(call("c5", outcome=r.OUTCOME_ABANDONED, caller="13800000005", wait_s=4.0, queue="GENERAL"))
    rec.flush()
    voicemail = Voicemail.objects.get()
    assert (voicemail.call_id, voicemail.audio_path, voicemail.seconds, voicemail.state) == (
        "c1",
        "vm/c1.wav",
        42.5,
        "new",
    )
    callbacks = sorted(CallbackRequest.objects.values_list("caller", "reason", "call_id"))
    # one per caller, none for a short abandon
    assert callbacks == [("13800000002", "callback_offer", "c2"), ("13800000003", "abandoned", "c3")]
    rec.call(call("c6", outcome=r.OUTCOME_ABANDONED, caller="13800000003", wait_s=30.0))
    rec.flush()  # the caller already has an open callback request
    assert CallbackRequest.objects.filter(caller="13800000003").count() == 1


@pytest.mark.django_db
def test_recent_calls_are_known_before_they_are_written() -> None:
    rec = DjangoRecorder(batch_size=1000)
    rec.call(call("c1", agent_id=9, answered_at=T0))
    recent = rec.recent_call("13800000001")
    assert recent is not None and recent.agent_id == 9
    rec.flush()
    assert rec.recent_call("13800000001") is None


@pytest.mark.django_db(transaction=True)
def test_reports_from_one_thread_while_the_background_writer_flushes() -> None:
    rec = DjangoRecorder(batch_size=500, max_delay_s=0.05)
    rec.start()
    done = threading.Event()

    def engine() -> None:
        try:
            for i in range(3000):
                at = T0 + timedelta(seconds=i)
                rec.queue_event(r.QueueEvent(kind=r.QE_ENTER, at=at, queue="GENERAL", call_id=f"c{i}"))
                rec.call(call(f"c{i}", outcome=r.OUTCOME_IVR))
        finally:
            done.set()

    worker = threading.Thread(target=engine)
    worker.start()
    worker.join()
    rec.stop()
    assert done.is_set()
    assert QueueEventLog.objects.count() == 3000
    assert CallRecord.objects.count() == 3000
    assert rec.pending() == 0


@pytest.mark.django_db
def test_the_record_mark_is_written_with_the_records_reported_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hotline.callcenter import recorder as module

    rec = DjangoRecorder(batch_size=1000, max_delay_s=1000, clock=Clock())
    rec.call(call("c1"))
    rec.mark(T0 + timedelta(minutes=3))
    real = module.insert_values
    failures = iter([True])

    def failing_once(*args: Any, **kwargs: Any) -> Any:
        if next(failures, False):
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "insert_values", failing_once)
    with pytest.raises(RuntimeError):
        rec.flush()
    assert not RecordMark.objects.exists() and not CallRecord.objects.exists()  # neither without the other
    rec.call(call("c2"))
    rec.mark(T0 + timedelta(minutes=5))  # the latest mark wins
    assert rec.flush() == 3
    assert CallRecord.objects.count() == 2
    mark = RecordMark.objects.get(source="switch")
    assert mark.settled == T0 + timedelta(minutes=5)
    rec.mark(T0 + timedelta(minutes=6))  # a mark alone is written too
    rec.flush()
    assert RecordMark.objects.get(source="switch").settled == T0 + timedelta(minutes=6)
