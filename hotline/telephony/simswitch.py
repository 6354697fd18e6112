"""The simulated switch (模拟交换机): the ``Switch`` boundary carried out in-process.

Callers and far ends are scripted: a ``CallerScript`` says when a caller presses digits, how long
they wait before giving up and how long they talk; an ``Endpoint`` says whether an extension or a
number answers (after how long), is busy, never answers or is unreachable. Media take time: a
``Play`` ends after the length of its prompts (``PromptLengths``), a looping ``Play`` never ends.
The switch keeps bridges, holds, mutes, conferences and monitors so tests can ask who hears whom.

Events reach the ``EventSink`` through the clock (a zero-delay timer), never from inside ``send``,
so the sink is never re-entered. With ``SimClock`` a run is deterministic; with ``AsyncioClock``
the same switch runs in real time. See docs/telephony.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .boundary import (
    Answer,
    Bridge,
    CallOffered,
    CommandLog,
    Conference,
    DigitReceived,
    EventSink,
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
    StopMedia,
    SwitchCommand,
    SwitchEvent,
    TimerHandle,
    Unbridge,
    Unhold,
)
from .clock import Clock, SimClock

# Leg states
LEG_OFFERED = "offered"  # inbound, not answered yet
LEG_CALLING = "calling"  # originated, no answer yet
LEG_ANSWERED = "answered"
LEG_ENDED = "ended"

# Endpoint behaviours
ANSWER = "answer"
BUSY = "busy"
NO_ANSWER = "no_answer"
UNAVAILABLE = "unavailable"
REJECT = "rejected"
MANUAL = "manual"  # rings until ``far_answer`` (a person answers on a screen) or the timeout


@dataclass(frozen=True, slots=True)
class CallerScript:
    """What a simulated caller does. Times are seconds.

    ``digits``: (seconds after the call was answered, keys) — keys are pressed ``key_gap_s`` apart.
    ``on_prompt``: prompt name → keys pressed ``press_delay_s`` after a ``Play`` with that prompt
    starts (so a caller can answer a menu whatever the IVR took before it).
    ``patience_s``: hangs up if not yet bridged to anyone (or recording) this long after arriving.
    ``talk_s``: hangs up this long after being bridged (a tuple: one value per successive bridge).
    ``hangup_after_s``: hangs up this long after arriving, whatever happens.
    ``message_s``: speaks this long into a recording, then hangs up."""

    digits: tuple[tuple[float, str], ...] = ()
    on_prompt: Mapping[str, str] = field(default_factory=dict)
    press_delay_s: float = 1.0
    key_gap_s: float = 0.2
    patience_s: float | None = None
    talk_s: float | tuple[float, ...] | None = None
    hangup_after_s: float | None = None
    message_s: float = 10.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    """How an extension or a number behaves when the switch calls it."""

    behaviour: str = ANSWER
    answer_after_s: float = 1.0
    ring_after_s: float = 0.0
    talk_s: float | None = None  # hangs up this long after answering; None: stays until hung up
    code: int = 0  # SIP status reported with a failure


EndpointRule = Endpoint | Callable[[Originate], Endpoint]


class PromptLengths:
    """How long a prompt plays, in seconds: a table, then rules for the prompt families the engine
    builds (``digits:…`` per digit, ``position:…``, ``wait_minutes:…``), then a default."""

    def __init__(self, table: Mapping[str, float] | None = None, *, default_s: float = 2.0) -> None:
        self.table = dict(table or {})
        self.default_s = default_s

    def __call__(self, prompt: str) -> float:
        seconds = self.table.get(prompt)
        if seconds is not None:
            return seconds
        family, _, rest = prompt.partition(":")
        if rest:
            if family in self.table:
                return self.table[family]
            if family == "digits":
                return 0.4 * len(rest)
            return 1.5
        return self.default_s


@dataclass(slots=True)
class SimLeg:
    leg_id: str
    call_id: str
    party: str
    inbound: bool
    state: str
    started_at: float
    script: CallerScript | None = None
    endpoint: Endpoint | None = None
    answered_at: float | None = None
    peer: str | None = None  # the leg it is bridged to
    recording_path: str = ""  # the bridge is recorded
    held: bool = False
    hold_music: str = ""
    muted: bool = False
    conference: int | None = None
    monitoring: tuple[str, str] | None = None  # (agent leg, mode) for a supervisor's leg
    media_id: str = ""
    media_prompts: tuple[str, ...] = ()
    media_loop: bool = False
    media_interrupt: bool = False
    media_record_path: str = ""
    media_timer: TimerHandle | None = None
    bridges: int = 0
    timers: list[TimerHandle] = field(default_factory=list)
    patience_timer: TimerHandle | None = None
    talk_timer: TimerHandle | None = None


class SimSwitch:
    """An in-process switch. ``incoming`` places a caller's call; ``endpoint`` scripts how a target
    answers; ``hears`` / ``playing`` tell what a leg hears."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        sink: EventSink | None = None,
        prompts: PromptLengths | None = None,
        default_endpoint: EndpointRule | None = None,
        keep_commands: bool = True,
    ) -> None:
        self.clock: Clock = clock if clock is not None else SimClock()
        self.sink = sink
        self.prompts = prompts or PromptLengths()
        self.default_endpoint: EndpointRule = default_endpoint or Endpoint()
        self.endpoints: dict[str, EndpointRule] = {}
        self.legs: dict[str, SimLeg] = {}
        self.log = CommandLog()
        self.keep_commands = keep_commands
        self.ignored: list[tuple[SwitchCommand, str]] = []  # commands that could not be carried out
        self._calls = 0
        self._conferences = 0
        self._conference_members: dict[int, set[str]] = {}
        self._handlers: dict[type, Callable[[Any], None]] = {
            Answer: self._answer,
            Play: self._play,
            StopMedia: self._stop_media,
            Record: self._record,
            Originate: self._originate,
            Bridge: self._bridge,
            Unbridge: self._unbridge,
            Hold: self._hold,
            Unhold: self._unhold,
            Mute: self._mute,
            Conference: self._conference,
            Monitor: self._monitor,
            Hangup: self._hangup,
        }

    # --- Switch protocol -----------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        return self.clock.call_later(delay_s, callback)

    def send(self, command: SwitchCommand) -> None:
        if self.keep_commands:
            self.log.commands.append(command)
        self._handlers[type(command)](command)

    def attach(self, sink: EventSink) -> None:
        self.sink = sink

    # --- scripting -----------------------------------------------------------------------------

    def endpoint(self, target: str, rule: EndpointRule) -> None:
        """Script how ``target`` (``ext:1001``, ``tel:110``) behaves when called."""
        self.endpoints[target] = rule

    def incoming(
        self,
        caller: str,
        *,
        called: str = "12345",
        trunk: str = "trunk-1",
        script: CallerScript | None = None,
    ) -> tuple[str, str]:
        """A caller's call arrives now; returns (call id, leg id)."""
        self._calls += 1
        call_id = f"C{self._calls}"
        leg_id = f"{call_id}-0"
        script = script or CallerScript()
        leg = SimLeg(leg_id, call_id, caller, True, LEG_OFFERED, self._t(), script=script)
        self.legs[leg_id] = leg
        if script.patience_s is not None:
            leg.patience_timer = self._later(leg, script.patience_s, lambda: self._party_gone(leg, "normal"))
        if script.hangup_after_s is not None:
            self._later(leg, script.hangup_after_s, lambda: self._party_gone(leg, "normal"))
        self._emit(CallOffered(call_id, leg_id, caller, called, trunk, self.clock.now()))
        return call_id, leg_id

    def press(self, leg_id: str, keys: str, *, gap_s: float = 0.2) -> None:
        """The party on ``leg_id`` presses ``keys``, starting now."""
        leg = self.legs[leg_id]
        for i, key in enumerate(keys):
            self._later(leg, i * gap_s, lambda key=key: self._digit(leg, key))  # type: ignore[misc]

    def far_answer(self, leg_id: str) -> bool:
        """The far end of an originated leg that is still ringing answers now (a person pressing
        "answer" on a soft phone); ``False`` if the leg is not ringing any more."""
        leg = self.legs.get(leg_id)
        if leg is None or leg.state != LEG_CALLING:
            return False
        self._far_answers(leg)
        return True

    def party_hangup(self, leg_id: str, cause: str = "normal") -> None:
        """The party on ``leg_id`` hangs up now (reported as ``LegHungUp``)."""
        self._party_gone(self.legs[leg_id], cause)

    # --- what a leg hears ----------------------------------------------------------------------

    def hears(self, leg_id: str) -> frozenset[str]:
        """The legs whose voice reaches ``leg_id``."""
        leg = self.legs[leg_id]
        if leg.state != LEG_ANSWERED or leg.held:
            return frozenset()
        heard: set[str] = set()
        if leg.monitoring is not None:
            agent_leg, _mode = leg.monitoring
            heard.add(agent_leg)
            heard |= self._direct_sources(self.legs[agent_leg])
        else:
            heard |= self._direct_sources(leg)
            for sup in self._monitors_of(leg_id):
                if sup.monitoring and sup.monitoring[1] in ("whisper", "barge"):
                    heard.add(sup.leg_id)
            # a barging supervisor is heard by the agent's peers too
            for peer_id in self._direct_sources(leg, ignore_mute=True):
                for sup in self._monitors_of(peer_id):
                    if sup.monitoring and sup.monitoring[1] == "barge":
                        heard.add(sup.leg_id)
        heard.discard(leg_id)
        return frozenset(x for x in heard if self._sends(x))

    def playing(self, leg_id: str) -> tuple[str, ...]:
        """Prompts or music a leg hears from the switch now (hold music counts)."""
        leg = self.legs[leg_id]
        if leg.held:
            return (leg.hold_music,)
        return leg.media_prompts if leg.media_id and not leg.media_record_path else ()

    def live_legs(self, call_id: str | None = None) -> list[str]:
        return [
            x.leg_id
            for x in self.legs.values()
            if x.state != LEG_ENDED and (call_id is None or x.call_id == call_id)
        ]

    def _sends(self, leg_id: str) -> bool:
        leg = self.legs[leg_id]
        return leg.state == LEG_ANSWERED and not leg.muted and not leg.held

    def _direct_sources(self, leg: SimLeg, *, ignore_mute: bool = False) -> set[str]:
        out: set[str] = set()
        if leg.peer is not None:
            out.add(leg.peer)
        if leg.conference is not None:
            out |= self._conference_members[leg.conference] - {leg.leg_id}
        return out

    def _monitors_of(self, leg_id: str) -> list[SimLeg]:
        return [
            x
            for x in self.legs.values()
            if x.monitoring is not None and x.monitoring[0] == leg_id and x.state == LEG_ANSWERED
        ]

    # --- internals -----------------------------------------------------------------------------

    def _t(self) -> float:
        clock = self.clock
        if isinstance(clock, SimClock):
            return clock.t
        return clock.now().timestamp()

    def _emit(self, event: SwitchEvent) -> None:
        sink = self.sink
        if sink is None:
            raise RuntimeError("the switch has no event sink attached")
        self.clock.call_later(0.0, lambda: sink.on_event(event))

    def _later(self, leg: SimLeg, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        timer = self.clock.call_later(delay_s, callback)
        leg.timers.append(timer)
        return timer

    def _live(self, leg_id: str, command: SwitchCommand) -> SimLeg | None:
        leg = self.legs.get(leg_id)
        if leg is None or leg.state == LEG_ENDED:
            self.ignored.append((command, "no such leg" if leg is None else "leg ended"))
            return None
        return leg

    def _answered(self, leg_id: str, command: SwitchCommand) -> SimLeg | None:
        leg = self._live(leg_id, command)
        if leg is not None and leg.state != LEG_ANSWERED:
            self.ignored.append((command, "leg not answered"))
            return None
        return leg

    def _digit(self, leg: SimLeg, key: str) -> None:
        if leg.state != LEG_ANSWERED:
            return
        self._emit(DigitReceived(leg.leg_id, key, self.clock.now()))
        if leg.media_id and (leg.media_interrupt or (leg.media_record_path and key == "#")):
            reason = "done" if leg.media_record_path else "stopped"
            self._end_media(leg, reason)

    def _end_media(self, leg: SimLeg, reason: str) -> None:
        if not leg.media_id:
            return
        if leg.media_timer is not None:
            leg.media_timer.cancel()
        event = MediaFinished(leg.leg_id, leg.media_id, reason, self.clock.now(), leg.media_record_path)
        leg.media_id = ""
        leg.media_prompts = ()
        leg.media_record_path = ""
        leg.media_timer = None
        self._emit(event)

    def _party_gone(self, leg: SimLeg, cause: str) -> None:
        if leg.state == LEG_ENDED:
            return
        if leg.state == LEG_CALLING:
            self._end_leg(leg)
            self._emit(LegFailed(leg.leg_id, NO_ANSWER, self.clock.now()))
            return
        if leg.media_record_path:
            self._end_media(leg, "done")
        self._end_leg(leg)
        self._emit(LegHungUp(leg.leg_id, cause, self.clock.now()))

    def _end_leg(self, leg: SimLeg) -> None:
        if leg.media_id:
            self._end_media(leg, "stopped")
        leg.state = LEG_ENDED
        for timer in leg.timers:
            timer.cancel()
        leg.timers.clear()
        self._split(leg)
        self._leave_conference(leg)
        leg.monitoring = None

    def _split(self, leg: SimLeg) -> None:
        if leg.peer is not None:
            peer = self.legs[leg.peer]
            peer.peer = None
            peer.recording_path = ""
            leg.peer = None
            leg.recording_path = ""

    def _leave_conference(self, leg: SimLeg) -> None:
        if leg.conference is not None:
            members = self._conference_members[leg.conference]
            members.discard(leg.leg_id)
            if not members:
                del self._conference_members[leg.conference]
            leg.conference = None

    def _connected(self, leg: SimLeg) -> None:
        """A caller's leg was bridged or conferenced: patience no longer counts, talk time does."""
        if leg.script is None:
            return
        if leg.patience_timer is not None:
            leg.patience_timer.cancel()
            leg.patience_timer = None
        talk = leg.script.talk_s
        if isinstance(talk, tuple):
            talk = talk[leg.bridges] if leg.bridges < len(talk) else talk[-1]
        leg.bridges += 1
        if talk is not None:
            if leg.talk_timer is not None:
                leg.talk_timer.cancel()
            leg.talk_timer = self._later(leg, talk, lambda: self._party_gone(leg, "normal"))

    # --- command handlers ----------------------------------------------------------------------

    def _answer(self, cmd: Answer) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is None or leg.state == LEG_ANSWERED:
            return
        leg.state = LEG_ANSWERED
        leg.answered_at = self._t()
        if leg.script is not None:
            for at, keys in leg.script.digits:
                for i, key in enumerate(keys):
                    self._later(leg, at + i * leg.script.key_gap_s, lambda key=key: self._digit(leg, key))  # type: ignore[misc]

    def _play(self, cmd: Play) -> None:
        leg = self._answered(cmd.leg_id, cmd)
        if leg is None:
            return
        if leg.media_id:
            self._end_media(leg, "stopped")
        leg.media_id = cmd.media_id
        leg.media_prompts = cmd.prompts
        leg.media_loop = cmd.loop
        leg.media_interrupt = cmd.interrupt
        if not cmd.loop:
            length = sum(self.prompts(p) for p in cmd.prompts)
            leg.media_timer = self._later(leg, length, lambda: self._end_media(leg, "done"))
        script = leg.script
        if script is not None and script.on_prompt:
            for prompt in cmd.prompts:
                keys = script.on_prompt.get(prompt)
                if keys:
                    for i, key in enumerate(keys):
                        delay = script.press_delay_s + i * script.key_gap_s
                        self._later(leg, delay, lambda key=key: self._digit(leg, key))  # type: ignore[misc]
                    break

    def _stop_media(self, cmd: StopMedia) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is not None and leg.media_id:
            self._end_media(leg, "stopped")

    def _record(self, cmd: Record) -> None:
        leg = self._answered(cmd.leg_id, cmd)
        if leg is None:
            return
        if leg.media_id:
            self._end_media(leg, "stopped")
        leg.media_id = cmd.media_id
        leg.media_prompts = ()
        leg.media_loop = False
        leg.media_interrupt = False
        leg.media_record_path = cmd.path
        if leg.patience_timer is not None:
            leg.patience_timer.cancel()
            leg.patience_timer = None
        speaks = leg.script.message_s if leg.script is not None else float(cmd.max_seconds)
        if speaks < cmd.max_seconds:
            leg.media_timer = self._later(leg, speaks, lambda: self._party_gone(leg, "normal"))
        else:
            leg.media_timer = self._later(leg, cmd.max_seconds, lambda: self._end_media(leg, "done"))

    def _originate(self, cmd: Originate) -> None:
        rule = self.endpoints.get(cmd.target, self.default_endpoint)
        endpoint = rule(cmd) if callable(rule) else rule
        leg = SimLeg(cmd.leg_id, cmd.call_id, cmd.target, False, LEG_CALLING, self._t(), endpoint=endpoint)
        self.legs[cmd.leg_id] = leg
        if cmd.auto_answer:
            self._later(leg, 0.0, lambda: self._far_answers(leg))
            return
        behaviour = endpoint.behaviour
        if behaviour in (BUSY, UNAVAILABLE, REJECT):
            self._later(leg, endpoint.ring_after_s, lambda: self._far_fails(leg, behaviour, endpoint.code))
            return
        self._later(leg, endpoint.ring_after_s, lambda: self._emit(LegRinging(leg.leg_id, self.clock.now())))
        if behaviour == ANSWER and endpoint.answer_after_s < cmd.timeout_s:
            self._later(leg, endpoint.answer_after_s, lambda: self._far_answers(leg))
        else:
            self._later(leg, float(cmd.timeout_s), lambda: self._far_fails(leg, NO_ANSWER, 0))

    def _far_answers(self, leg: SimLeg) -> None:
        if leg.state != LEG_CALLING:
            return
        leg.state = LEG_ANSWERED
        leg.answered_at = self._t()
        for timer in leg.timers:
            timer.cancel()
        leg.timers.clear()
        self._emit(LegAnswered(leg.leg_id, self.clock.now()))
        if leg.endpoint is not None and leg.endpoint.talk_s is not None:
            self._later(leg, leg.endpoint.talk_s, lambda: self._party_gone(leg, "normal"))

    def _far_fails(self, leg: SimLeg, cause: str, code: int) -> None:
        if leg.state != LEG_CALLING:
            return
        self._end_leg(leg)
        self._emit(LegFailed(leg.leg_id, cause, self.clock.now(), code))

    def _bridge(self, cmd: Bridge) -> None:
        a = self._answered(cmd.a_leg, cmd)
        b = self._answered(cmd.b_leg, cmd)
        if a is None or b is None:
            return
        for leg in (a, b):
            self._split(leg)
            self._leave_conference(leg)
            if leg.media_id:
                self._end_media(leg, "stopped")
        a.peer, b.peer = b.leg_id, a.leg_id
        a.recording_path = b.recording_path = cmd.record_path if cmd.record else ""
        self._connected(a)
        self._connected(b)

    def _unbridge(self, cmd: Unbridge) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is not None:
            self._split(leg)

    def _hold(self, cmd: Hold) -> None:
        leg = self._answered(cmd.leg_id, cmd)
        if leg is not None:
            if leg.media_id:
                self._end_media(leg, "stopped")
            leg.held = True
            leg.hold_music = cmd.music

    def _unhold(self, cmd: Unhold) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is not None:
            leg.held = False
            leg.hold_music = ""

    def _mute(self, cmd: Mute) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is not None:
            leg.muted = cmd.muted

    def _conference(self, cmd: Conference) -> None:
        legs = [self._answered(x, cmd) for x in cmd.leg_ids]
        if any(leg is None for leg in legs):
            return
        self._conferences += 1
        room = self._conferences
        members: set[str] = set()
        for leg in legs:
            assert leg is not None
            self._split(leg)
            self._leave_conference(leg)
            if leg.media_id:
                self._end_media(leg, "stopped")
            leg.held = False
            leg.conference = room
            members.add(leg.leg_id)
            self._connected(leg)
        self._conference_members[room] = members

    def _monitor(self, cmd: Monitor) -> None:
        sup = self._answered(cmd.supervisor_leg, cmd)
        agent = self._answered(cmd.agent_leg, cmd)
        if sup is None or agent is None:
            return
        if cmd.mode not in ("listen", "whisper", "barge"):
            self.ignored.append((cmd, "unknown mode"))
            return
        self._split(sup)
        sup.monitoring = (agent.leg_id, cmd.mode)

    def _hangup(self, cmd: Hangup) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is None:
            return
        self._end_leg(leg)
        self._emit(LegHungUp(leg.leg_id, cmd.cause, self.clock.now()))
