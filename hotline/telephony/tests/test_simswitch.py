"""The simulated switch on its own: clock, scripted callers and far ends, media, who hears whom."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from hotline.telephony.boundary import (
    Answer,
    Bridge,
    CallOffered,
    Conference,
    DigitReceived,
    Hangup,
    Hold,
    LegAnswered,
    LegFailed,
    LegHungUp,
    LegRinging,
    MediaFinished,
    Monitor,
    Mute,
    Originate,
    Play,
    Record,
    SwitchEvent,
    Unhold,
)
from hotline.telephony.clock import AsyncioClock, SimClock
from hotline.telephony.simswitch import (
    BUSY,
    NO_ANSWER,
    UNAVAILABLE,
    CallerScript,
    Endpoint,
    PromptLengths,
    SimSwitch,
)


@dataclass
class Sink:
    clock: SimClock | None = None
    events: list[tuple[float, SwitchEvent]] = field(default_factory=list)

    def on_event(self, event: SwitchEvent) -> None:
        self.events.append((self.clock.t if self.clock else 0.0, event))

    def of(self, kind: type) -> list[tuple[float, SwitchEvent]]:
        return [(t, e) for t, e in self.events if isinstance(e, kind)]


def make(**kwargs: object) -> tuple[SimClock, SimSwitch, Sink]:
    clock = SimClock()
    sink = Sink(clock)
    switch = SimSwitch(clock=clock, sink=sink, **kwargs)  # type: ignore[arg-type]
    return clock, switch, sink


def test_clock_runs_timers_in_time_then_insertion_order_and_skips_cancelled() -> None:
    clock = SimClock()
    seen: list[str] = []
    clock.call_later(2, lambda: seen.append("b"))
    clock.call_later(1, lambda: seen.append("a"))
    clock.call_later(2, lambda: seen.append("c"))
    clock.call_later(1.5, lambda: seen.append("x")).cancel()
    clock.advance(1.9)
    assert seen == ["a"]
    assert clock.t == 1.9
    clock.run()
    assert seen == ["a", "b", "c"]
    assert clock.now() == clock.start.replace(second=2)


def test_incoming_call_play_and_digits_with_interrupt() -> None:
    clock, switch, sink = make(prompts=PromptLengths({"welcome": 3.0, "menu": 4.0}))
    _call_id, leg = switch.incoming(
        "13800000001", script=CallerScript(on_prompt={"menu": "2"}, press_delay_s=1.0)
    )
    clock.run()
    assert isinstance(sink.events[0][1], CallOffered)
    switch.send(Answer(leg))
    switch.send(Play(leg, "m1", ("welcome",)))
    clock.run()
    assert sink.of(MediaFinished) == [(3.0, MediaFinished(leg, "m1", "done", switch.now()))]
    switch.send(Play(leg, "m2", ("menu",), interrupt=True))
    clock.run()
    digits = sink.of(DigitReceived)
    assert [(t, e.digit) for t, e in digits] == [(4.0, "2")]  # type: ignore[union-attr]
    finished = sink.of(MediaFinished)[-1]
    assert finished[0] == 4.0 and finished[1].reason == "stopped"  # type: ignore[union-attr]


def test_looping_music_never_finishes_and_stop_media_reports_stopped() -> None:
    clock, switch, sink = make()
    _c, leg = switch.incoming("1")
    switch.send(Answer(leg))
    switch.send(Play(leg, "moh", ("moh",), loop=True))
    clock.advance(3600)
    assert not sink.of(MediaFinished)
    assert switch.playing(leg) == ("moh",)


def test_originate_behaviours() -> None:
    clock, switch, sink = make()
    switch.endpoint("ext:1", Endpoint(answer_after_s=3))
    switch.endpoint("ext:2", Endpoint(behaviour=BUSY, code=486))
    switch.endpoint("ext:3", Endpoint(behaviour=NO_ANSWER))
    switch.endpoint("ext:4", Endpoint(behaviour=UNAVAILABLE))
    switch.endpoint("ext:5", Endpoint(answer_after_s=30))  # slower than the timeout
    for n in range(1, 6):
        switch.send(Originate("C9", f"L{n}", f"ext:{n}", "12345", timeout_s=15))
    clock.run()
    answered = {e.leg_id: t for t, e in sink.of(LegAnswered)}  # type: ignore[union-attr]
    failed = {e.leg_id: (t, e.cause, e.code) for t, e in sink.of(LegFailed)}  # type: ignore[union-attr]
    assert answered == {"L1": 3.0}
    assert failed == {
        "L2": (0.0, "busy", 486),
        "L3": (15.0, "no_answer", 0),
        "L4": (0.0, "unavailable", 0),
        "L5": (15.0, "no_answer", 0),
    }
    assert {e.leg_id for _t, e in sink.of(LegRinging)} == {"L1", "L3", "L5"}  # type: ignore[union-attr]


def test_caller_patience_ends_when_bridged_and_talk_time_counts_from_the_bridge() -> None:
    clock, switch, sink = make()
    switch.endpoint("ext:1", Endpoint(answer_after_s=5))
    _c, impatient = switch.incoming("1", script=CallerScript(patience_s=10))
    _c, patient = switch.incoming("2", script=CallerScript(patience_s=10, talk_s=60))
    switch.send(Answer(impatient))
    switch.send(Answer(patient))
    switch.send(Originate("C2", "A1", "ext:1", "2", timeout_s=15))
    clock.advance(5)
    switch.send(Bridge(patient, "A1"))
    clock.run()
    hung = {e.leg_id: t for t, e in sink.of(LegHungUp)}  # type: ignore[union-attr]
    assert hung == {impatient: 10.0, patient: 65.0}


def test_bridge_hold_mute_conference_and_monitor_decide_who_hears_whom() -> None:
    clock, switch, _sink = make(default_endpoint=Endpoint(answer_after_s=0))
    _c, caller = switch.incoming("1")
    switch.send(Answer(caller))
    for leg in ("agent", "dept", "sup"):
        switch.send(Originate("C1", leg, f"ext:{leg}", "1", timeout_s=10))
    clock.run()
    switch.send(Bridge(caller, "agent", record=True, record_path="/r/1.wav"))
    assert switch.hears(caller) == {"agent"} and switch.hears("agent") == {caller}
    assert switch.legs[caller].recording_path == "/r/1.wav"
    switch.send(Mute("agent"))
    assert switch.hears(caller) == frozenset() and switch.hears("agent") == {caller}
    switch.send(Mute("agent", muted=False))
    switch.send(Hold(caller, music="moh"))
    assert switch.hears("agent") == frozenset() and switch.playing(caller) == ("moh",)
    switch.send(Unhold(caller))
    switch.send(Monitor("sup", "agent", "listen"))
    assert switch.hears("sup") == {"agent", caller}
    assert "sup" not in switch.hears("agent") and "sup" not in switch.hears(caller)
    switch.send(Monitor("sup", "agent", "whisper"))
    assert "sup" in switch.hears("agent") and "sup" not in switch.hears(caller)
    switch.send(Monitor("sup", "agent", "barge"))
    assert "sup" in switch.hears("agent") and "sup" in switch.hears(caller)
    switch.send(Hangup("sup"))
    switch.send(Conference((caller, "agent", "dept")))
    assert switch.hears(caller) == {"agent", "dept"} and switch.hears("dept") == {caller, "agent"}
    switch.send(Hangup("dept"))
    clock.run()
    assert switch.hears(caller) == {"agent"}


def test_record_ends_when_the_caller_stops_talking_or_at_the_limit() -> None:
    clock, switch, sink = make()
    _c, short = switch.incoming("1", script=CallerScript(message_s=20))
    _c, long = switch.incoming("2", script=CallerScript(message_s=500))
    for leg in (short, long):
        switch.send(Answer(leg))
        switch.send(Record(leg, f"r-{leg}", f"/vm/{leg}.wav", max_seconds=120))
    clock.run()
    media = {e.leg_id: (t, e.reason, e.path) for t, e in sink.of(MediaFinished)}  # type: ignore[union-attr]
    assert media == {short: (20.0, "done", f"/vm/{short}.wav"), long: (120.0, "done", f"/vm/{long}.wav")}
    assert [e.leg_id for _t, e in sink.of(LegHungUp)] == [short]  # type: ignore[union-attr]


def test_commands_to_ended_legs_are_ignored_and_logged() -> None:
    _clock, switch, _sink = make()
    _c, leg = switch.incoming("1")
    switch.send(Answer(leg))
    switch.party_hangup(leg)
    switch.send(Play(leg, "m1", ("x",)))
    assert switch.ignored and switch.ignored[-1][1] == "leg ended"


def test_the_same_switch_runs_on_a_real_time_asyncio_clock() -> None:
    async def scenario() -> list[SwitchEvent]:
        sink = Sink()
        switch = SimSwitch(clock=AsyncioClock(), sink=sink, prompts=PromptLengths(default_s=0.05))
        _c, leg = switch.incoming("1")
        switch.send(Answer(leg))
        switch.send(Play(leg, "m1", ("hello",)))
        await asyncio.sleep(0.2)
        return [e for _t, e in sink.events]

    events = asyncio.run(scenario())
    assert [type(e) for e in events] == [CallOffered, MediaFinished]
