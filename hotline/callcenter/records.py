"""What the contact-centre engine reports and what it asks: the contract between the engine
(``hotline.callcenter.engine``, pure Python, runs in the switch process or the simulator) and the
Django side (models, services, statistics).

The engine never touches the database. It reports facts through a ``Recorder`` and asks questions
through a ``Directory``; the Django implementations write and read rows, the simulator's keep
them in memory. Every record carries the switch clock's time (aware UTC).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# Agent states (坐席状态). ``locked``: too many unanswered offers in a row (久不应答闭锁).
AGENT_LOGGED_OUT = "logged_out"
AGENT_READY = "ready"
AGENT_RINGING = "ringing"
AGENT_TALKING = "talking"
AGENT_HOLD = "hold"
AGENT_WRAP_UP = "wrap_up"
AGENT_PAUSED = "paused"
AGENT_LOCKED = "locked"
AGENT_OFF_HOOK = "off_hook"  # the phone is busy outside the centre's control (摘机/外线占用)
AGENT_STATES = (
    AGENT_LOGGED_OUT,
    AGENT_READY,
    AGENT_RINGING,
    AGENT_TALKING,
    AGENT_HOLD,
    AGENT_WRAP_UP,
    AGENT_PAUSED,
    AGENT_LOCKED,
    AGENT_OFF_HOOK,
)

# Queue event kinds (队列事件).
QE_ENTER = "enter"
QE_OFFER = "offer"
QE_NO_ANSWER = "no_answer"
QE_CONNECT = "connect"
QE_ABANDON = "abandon"
QE_TRANSFER = "transfer"
QE_COMPLETE = "complete"
QE_OVERFLOW = "overflow"
QE_TIMEOUT = "timeout"  # maximum wait reached
QE_VOICEMAIL = "voicemail"
QE_CALLBACK = "callback"  # the caller accepted a callback offer
QE_ALL_BUSY = "all_busy"  # entered while no agent was ready (全忙)
QE_AGENT_LOGIN = "agent_login"
QE_AGENT_LOGOUT = "agent_logout"
QE_AGENT_PAUSE = "agent_pause"
QE_AGENT_UNPAUSE = "agent_unpause"

# Call outcomes (one per call, in the call detail record).
OUTCOME_ANSWERED = "answered"  # an agent talked to the caller
OUTCOME_ABANDONED = "abandoned"  # hung up waiting in a queue
OUTCOME_IVR = "ivr"  # ended in the IVR (self-service, status lookup, hung up in a menu)
OUTCOME_VOICEMAIL = "voicemail"
OUTCOME_CALLBACK = "callback"
OUTCOME_REFUSED = "refused"  # blacklisted and refused
OUTCOME_FAILED = "failed"  # never reached anyone for a technical reason
OUTCOME_OUTBOUND = "outbound"  # an outbound call (dial out, callback, revisit)


@dataclass(frozen=True, slots=True)
class AgentStateChange:
    """One row of the agent's service log (服务流水)."""

    agent_id: int
    state: str
    at: datetime
    reason: str = ""  # pause reason code, lock reason, "supervisor" …
    call_id: str = ""
    queue: str = ""
    by: int | None = None  # the supervisor who forced the change, if any


@dataclass(frozen=True, slots=True)
class QueueEvent:
    kind: str
    at: datetime
    queue: str = ""  # queue code
    call_id: str = ""
    agent_id: int | None = None
    position: int | None = None  # caller's position when the event happened (1 = first)
    wait_s: float | None = None  # seconds since entering the queue
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LegRecord:
    """One leg of a call, written when the leg ends."""

    call_id: str
    leg_id: str
    kind: str  # caller / agent / outbound / consult / supervisor
    party: str  # number or extension
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    cause: str
    agent_id: int | None = None
    trunk: str = ""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """The call detail record (话单), written when the call ends."""

    call_id: str
    direction: str  # inbound / outbound
    caller: str
    called: str
    trunk: str
    started_at: datetime
    ended_at: datetime
    outcome: str
    queue: str = ""  # last queue the call waited in
    agent_id: int | None = None  # the agent who answered first
    queued_at: datetime | None = None
    answered_at: datetime | None = None  # an agent answered
    wait_s: float = 0.0  # total time waiting in queues
    talk_s: float = 0.0
    hold_s: float = 0.0
    transfers: int = 0
    ivr_path: tuple[str, ...] = ()  # IVR nodes visited
    priority: int = 0
    data: dict[str, Any] = field(default_factory=dict)  # draft order, survey answers, digits …


class Recorder(Protocol):
    """Where the engine reports facts. Implementations must not block for long: the Django one
    buffers and writes in batches."""

    def agent_state(self, change: AgentStateChange) -> None: ...

    def queue_event(self, event: QueueEvent) -> None: ...

    def leg(self, leg: LegRecord) -> None: ...

    def call(self, record: CallRecord) -> None: ...

    def voicemail(self, *, call_id: str, caller: str, path: str, seconds: float, at: datetime) -> None: ...

    def callback_request(self, *, call_id: str, caller: str, queue: str, at: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class CallerInfo:
    """What the centre knows about a number when a call arrives."""

    number: str
    blacklisted: bool = False
    blacklist_action: str = ""  # refuse / flow:<code>
    whitelisted: bool = False
    vip: bool = False
    region_code: str = ""  # the caller's district, if known (profile or number plan)
    last_agent_id: int | None = None  # the agent who last talked to this number, recently
    repeat_within_hours: bool = False  # called within the configured window


class Directory(Protocol):
    """What the engine asks. Answers must be fast (cached on the Django side)."""

    def caller_info(self, number: str, at: datetime) -> CallerInfo: ...

    def calendar_period(self, at: datetime) -> str:
        """``day``, ``night`` or ``holiday`` on the working-day calendar (time condition node)."""
        ...

    def order_status(self, tracking_number: str) -> str | None:
        """The prompt name for the state of the work order with this number, or ``None``."""
        ...
