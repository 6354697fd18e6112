"""The switch boundary (交换机接口): the only way the contact-centre logic and a switch talk.

A switch turns its protocol (SIP + rtpengine, or the in-process simulation) into **events** and
carries out **commands**. The contact-centre logic never sees SIP, SDP or RTP; the switch never
sees agents, queues or IVR flows. See docs/telephony.md.

Identifiers: a *call* is one conversation as the centre sees it (a citizen's call with every leg
it grows: agents, consultations, outside numbers, supervisors); a *leg* is one party's connection
to the switch. The switch names the first leg of an inbound call; the logic names the legs it
originates (so it can match the events that follow).

Times are aware UTC datetimes taken from the switch's clock (``Switch.now``): the simulated switch
runs a deterministic clock, so a whole simulated day can run in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# ---------------------------------------------------------------------------------------------
# Events in: switch -> contact centre
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallOffered:
    """A new inbound call arrives (来电): caller, the number dialled (a hotline number), the trunk."""

    call_id: str
    leg_id: str
    caller: str
    called: str
    trunk: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegRinging:
    """An originated leg is ringing at the far end (振铃)."""

    leg_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegAnswered:
    """An originated leg was answered (an agent picked up, an outside number answered);
    ``trunk``: the trunk it left through, for a number outside."""

    leg_id: str
    at: datetime
    trunk: str = ""


@dataclass(frozen=True, slots=True)
class DigitReceived:
    """One DTMF digit (RFC 2833 on SIP): ``0``–``9``, ``*``, ``#``."""

    leg_id: str
    digit: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MediaFinished:
    """A ``Play`` or ``Record`` on a leg ended. ``reason``: ``done`` (played to the end, or the
    recording reached its limit), ``stopped`` (``StopMedia`` or a digit with ``interrupt``),
    ``failed`` (prompt missing, media server error). For a recording, ``path`` is the file."""

    leg_id: str
    media_id: str
    reason: str
    at: datetime
    path: str = ""


@dataclass(frozen=True, slots=True)
class LegHungUp:
    """The party on a leg hung up, or the switch ended the leg (``cause`` as text, e.g. ``normal``)."""

    leg_id: str
    cause: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegFailed:
    """An originated leg never connected. ``cause``: ``busy``, ``no_answer``, ``unavailable``
    (not registered / unreachable), ``rejected``, ``error``; ``code`` is the SIP status if any;
    ``trunk`` as for ``LegAnswered``."""

    leg_id: str
    cause: str
    at: datetime
    code: int = 0
    trunk: str = ""


SwitchEvent = CallOffered | LegRinging | LegAnswered | DigitReceived | MediaFinished | LegHungUp | LegFailed

# ---------------------------------------------------------------------------------------------
# Commands out: contact centre -> switch
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer an inbound leg (200 OK); media commands need an answered leg."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class Play:
    """Play prompts one after another on a leg, or loop them (music on hold, 等待音乐).

    ``prompts`` are prompt names (``welcome``, ``digits:2026112100123``, ``moh``); the switch maps a
    name to audio. ``interrupt``: a digit stops the playback (the digit is still reported)."""

    leg_id: str
    media_id: str
    prompts: tuple[str, ...]
    loop: bool = False
    interrupt: bool = False


@dataclass(frozen=True, slots=True)
class StopMedia:
    """Stop what plays or records on a leg (a ``MediaFinished`` with ``stopped`` follows)."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class Record:
    """Record what a leg says (voicemail, 留言) to ``path``, at most ``max_seconds``; ``#`` ends it."""

    leg_id: str
    media_id: str
    path: str
    max_seconds: int


@dataclass(frozen=True, slots=True)
class Originate:
    """Place a new leg to ``target`` (an agent's extension ``ext:1001`` or a number ``tel:110``),
    as part of ``call_id``, showing ``caller_id``. ``LegRinging`` / ``LegAnswered`` / ``LegFailed``
    follow; the switch gives up after ``timeout_s`` with ``LegFailed(cause="no_answer")``."""

    call_id: str
    leg_id: str
    target: str
    caller_id: str
    timeout_s: int
    auto_answer: bool = False


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect two answered legs so they hear each other; a leg is in at most one bridge.
    ``record``: record the bridged conversation (one party per channel) to ``record_path``."""

    a_leg: str
    b_leg: str
    record: bool = False
    record_path: str = ""


@dataclass(frozen=True, slots=True)
class Unbridge:
    """Split the bridge a leg is in; both legs stay up."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class Hold:
    """Put a leg on hold with music (保持); ``Unhold`` takes it back."""

    leg_id: str
    music: str = "moh"


@dataclass(frozen=True, slots=True)
class Unhold:
    leg_id: str


@dataclass(frozen=True, slots=True)
class Mute:
    """Stop (or, with ``muted=False``, restore) what a leg sends to its bridge (静音)."""

    leg_id: str
    muted: bool = True


@dataclass(frozen=True, slots=True)
class Conference:
    """Join three or more answered legs so each hears the others (三方通话)."""

    leg_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Monitor:
    """A supervisor's leg joins an agent's call: ``listen`` (监听: hears both parties, heard by
    none), ``whisper`` (强插耳语: heard by the agent only), ``barge`` (强插: heard by both)."""

    supervisor_leg: str
    agent_leg: str
    mode: str


@dataclass(frozen=True, slots=True)
class Hangup:
    """End a leg (BYE, or a final error for an unanswered inbound leg)."""

    leg_id: str
    cause: str = "normal"


SwitchCommand = (
    Answer
    | Play
    | StopMedia
    | Record
    | Originate
    | Bridge
    | Unbridge
    | Hold
    | Unhold
    | Mute
    | Conference
    | Monitor
    | Hangup
)

# ---------------------------------------------------------------------------------------------
# The two sides
# ---------------------------------------------------------------------------------------------


class Switch(Protocol):
    """What the contact-centre logic needs from a switch."""

    def now(self) -> datetime:
        """The switch's clock (aware, UTC)."""
        ...

    def send(self, command: SwitchCommand) -> None:
        """Carry out a command; its outcome arrives later as events."""
        ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` after ``delay_s`` seconds of the switch's clock."""
        ...


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class EventSink(Protocol):
    """The contact-centre side: receives every event of the switch, in order."""

    def on_event(self, event: SwitchEvent) -> None: ...


@dataclass(slots=True)
class CommandLog:
    """Commands a switch received, for tests and the simulator's trace."""

    commands: list[SwitchCommand] = field(default_factory=list)
