"""Calls and legs as the engine keeps them (通话与话路).

A call moves through phases; the engine's handlers look at the phase to decide what an event
means (a digit in the IVR picks a menu option, a digit while waiting may accept a callback).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotline.callcenter.records import CallerInfo
from hotline.telephony.boundary import TimerHandle

# Phases of a call
PHASE_NEW = "new"
PHASE_IVR = "ivr"  # the flow interpreter has it
PHASE_QUEUE = "queue"  # waiting in a queue (offers may be ringing)
PHASE_TALK = "talk"  # bridged to an agent
PHASE_CONSULT = "consult"  # the agent consults someone, the caller holds
PHASE_OUTSIDE = "outside"  # transferred to an outside number (or ringing it)
PHASE_VOICEMAIL = "voicemail"
PHASE_BYE = "bye"  # a last prompt plays, then the engine hangs up
PHASE_DIALING = "dialing"  # an outbound call rings the far end
PHASE_ENDED = "ended"

# Leg kinds (LegRecord.kind) and what the engine expects of the leg
LEG_CALLER = "caller"
LEG_AGENT = "agent"
LEG_OUTBOUND = "outbound"
LEG_CONSULT = "consult"
LEG_SUPERVISOR = "supervisor"

ROLE_CALLER = "caller"  # the citizen's leg
ROLE_OFFER = "offer"  # an agent's phone offered the call (becomes the agent's leg)
ROLE_AGENT_PHONE = "agent_phone"  # the agent's phone for an outbound call
ROLE_OUTSIDE = "outside"  # an outside number (transfer, dial out)
ROLE_CONSULT = "consult"
ROLE_PARTY = "party"  # a third party joined in a conference
ROLE_SUPERVISOR = "supervisor"


@dataclass(slots=True, eq=False)
class Leg:
    leg_id: str
    call: Call
    kind: str
    role: str
    party: str
    started_at: datetime
    agent_id: int | None = None
    answered_at: datetime | None = None
    ended: bool = False
    monitor_mode: str = ""
    monitored_leg: str = ""
    by: int | None = None
    trunk: str = ""  # the trunk of a leg to a number outside


@dataclass(slots=True, eq=False)
class IvrState:
    flow_code: str
    node_id: str = ""
    media_id: str = ""
    retries: int = 0
    digits: str = ""
    timer: TimerHandle | None = None
    resume_menu: str = ""  # the menu a caller left with 0 (an agent may send them back)
    waiting_input: bool = False
    pending: str = ""  # the node to enter when the current prompt finishes


@dataclass(slots=True, eq=False)
class Call:
    call_id: str
    direction: str
    caller: str
    called: str
    trunk: str
    started_at: datetime
    caller_leg: str
    info: CallerInfo
    phase: str = PHASE_NEW
    outcome: str = ""
    ivr: IvrState | None = None
    ivr_path: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    draft: dict[str, Any] = field(default_factory=dict)
    legs: dict[str, Leg] = field(default_factory=dict)
    leg_count: int = 0
    # queue
    queue: str = ""  # the last queue the call waited in
    priority: int = 0
    q_code: str = ""  # the queue it waits in now
    q_seq: int = 0
    q_entered: float = 0.0
    q_token: int = 0
    q_available: bool = False
    q_timers: list[TimerHandle] = field(default_factory=list)
    queued_at: datetime | None = None
    wait_s: float = 0.0
    offers: dict[str, int] = field(default_factory=dict)  # ringing leg → agent id
    reserved_for: int | None = None
    callback_offered: bool = False
    media_id: str = ""  # music / announcement on the caller's leg
    announcing: bool = False
    # talk
    agent_id: int | None = None  # the agent talking now
    agent_leg: str = ""
    first_agent_id: int | None = None
    answered_at: datetime | None = None
    talk_started: float | None = None
    talk_s: float = 0.0
    hold_started: float | None = None
    hold_s: float = 0.0
    transfers: int = 0
    consult_leg: str = ""
    consult_agent: int | None = None
    consult_answered: bool = False
    outside_leg: str = ""
    party_leg: str = ""
    after_agent: str = ""  # the IVR node to run when the agent's leg has gone (survey)
    wrap_up_s: float = 0.0
    ended_at: datetime | None = None

    def next_leg_id(self) -> str:
        self.leg_count += 1
        return f"{self.call_id}-{self.leg_count}"
