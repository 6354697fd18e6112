"""Agent sessions (坐席会话): the agent state machine as one transition table.

An event moves a session from one state to another; an event not allowed in the current state
raises ``EngineError("bad_state")``. The engine (``engine.py``) chooses the event (for instance
``no_answer`` or, at the N-th unanswered offer in a row, ``lock``) and reports every change.
The table is in docs/acd.md too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hotline.callcenter.records import (
    AGENT_HOLD,
    AGENT_LOCKED,
    AGENT_LOGGED_OUT,
    AGENT_OFF_HOOK,
    AGENT_PAUSED,
    AGENT_READY,
    AGENT_RINGING,
    AGENT_TALKING,
    AGENT_WRAP_UP,
)

from .config import AgentConfig
from .errors import EngineError

# Events
EV_LOGIN = "login"
EV_LOGIN_PAUSED = "login_paused"
EV_READY = "ready"  # also ends wrap-up early and clears an off-hook phone
EV_PAUSE = "pause"
EV_OFFER = "offer"
EV_ANSWER = "answer"
EV_NO_ANSWER = "no_answer"
EV_LOCK = "lock"  # the unanswered offer that reaches the limit
EV_BUSY = "busy"  # the phone answered an offer with busy (off-hook)
EV_WITHDRAW = "withdraw"  # the offer was taken back (caller left, another agent answered first)
EV_HOLD = "hold"
EV_UNHOLD = "unhold"
EV_DIAL = "dial"  # the agent starts an outbound call
EV_CALL_END = "call_end"
EV_CALL_END_READY = "call_end_ready"  # no wrap-up configured
EV_CALL_END_PAUSE = "call_end_pause"  # a pause was asked for during the call
EV_WRAP_UP_END = "wrap_up_end"
EV_UNLOCK = "unlock"
EV_LOGOUT = "logout"

_IDLE = (AGENT_READY, AGENT_PAUSED, AGENT_WRAP_UP, AGENT_LOCKED, AGENT_OFF_HOOK)

# event → {from state: to state}
TRANSITIONS: dict[str, dict[str, str]] = {
    EV_LOGIN: {AGENT_LOGGED_OUT: AGENT_READY},
    EV_LOGIN_PAUSED: {AGENT_LOGGED_OUT: AGENT_PAUSED},
    EV_READY: {AGENT_PAUSED: AGENT_READY, AGENT_WRAP_UP: AGENT_READY, AGENT_OFF_HOOK: AGENT_READY},
    EV_PAUSE: {
        AGENT_READY: AGENT_PAUSED,
        AGENT_PAUSED: AGENT_PAUSED,
        AGENT_WRAP_UP: AGENT_PAUSED,
        AGENT_OFF_HOOK: AGENT_PAUSED,
    },
    EV_OFFER: {AGENT_READY: AGENT_RINGING},
    EV_ANSWER: {AGENT_RINGING: AGENT_TALKING},
    EV_NO_ANSWER: {AGENT_RINGING: AGENT_READY},
    EV_LOCK: {AGENT_RINGING: AGENT_LOCKED},
    EV_BUSY: {AGENT_RINGING: AGENT_OFF_HOOK},
    EV_WITHDRAW: {AGENT_RINGING: AGENT_READY},
    EV_HOLD: {AGENT_TALKING: AGENT_HOLD},
    EV_UNHOLD: {AGENT_HOLD: AGENT_TALKING},
    EV_DIAL: {AGENT_READY: AGENT_TALKING, AGENT_PAUSED: AGENT_TALKING, AGENT_WRAP_UP: AGENT_TALKING},
    EV_CALL_END: {AGENT_TALKING: AGENT_WRAP_UP, AGENT_HOLD: AGENT_WRAP_UP},
    EV_CALL_END_READY: {AGENT_TALKING: AGENT_READY, AGENT_HOLD: AGENT_READY},
    EV_CALL_END_PAUSE: {AGENT_TALKING: AGENT_PAUSED, AGENT_HOLD: AGENT_PAUSED},
    EV_WRAP_UP_END: {AGENT_WRAP_UP: AGENT_READY},
    EV_UNLOCK: {AGENT_LOCKED: AGENT_READY},
    EV_LOGOUT: {state: AGENT_LOGGED_OUT for state in _IDLE},
}

# States in which an agent counts as staffing their queues (for expected-wait estimates).
STAFFED_STATES = frozenset({AGENT_READY, AGENT_RINGING, AGENT_TALKING, AGENT_HOLD, AGENT_WRAP_UP})
# States with a call on the agent's phone.
ON_CALL_STATES = frozenset({AGENT_TALKING, AGENT_HOLD})


def next_state(state: str, event: str) -> str:
    """The state ``event`` leads to from ``state``, or ``EngineError("bad_state")``."""
    target = TRANSITIONS[event].get(state)
    if target is None:
        raise EngineError("bad_state", f"'{event}' is not allowed while the agent is {state}")
    return target


@dataclass(slots=True, eq=False)
class AgentSession:
    """One agent's live session at a seat (extension)."""

    config: AgentConfig
    state: str = AGENT_LOGGED_OUT
    since: float = 0.0  # POSIX seconds of the last change
    reason: str = ""
    extension: str = ""
    call_id: str = ""
    queue: str = ""
    leg_id: str = ""
    version: int = 0  # bumped at every change: entries of the ready indexes carry it
    ready_since: float = 0.0
    calls: int = 0  # calls answered in this session
    talk_s: float = 0.0
    no_answers_in_row: int = 0
    no_answers: int = 0
    off_hooks: int = 0
    pause_after_call: str = ""  # a pause reason asked for during a call
    rr_turn: dict[str, int] = field(default_factory=dict)  # queue → last turn offered
    wrap_up_timer: object | None = None
    call_started: datetime | None = None  # the start of the call the agent last left (for wrap-up)

    @property
    def agent_id(self) -> int:
        return self.config.agent_id

    def apply(self, event: str, at: float) -> tuple[str, str]:
        """Move by ``event``; returns (old state, new state)."""
        old = self.state
        new = next_state(old, event)
        self.state = new
        self.since = at
        self.version += 1
        if new == AGENT_READY:
            self.ready_since = at
        return old, new
