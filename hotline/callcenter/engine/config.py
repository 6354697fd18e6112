"""What the engine is told about the centre: queues, agents, flows and centre-wide settings.

The Django models hold the same fields; the Django side builds these objects from its rows and
hands them to ``ContactCentre``. Nothing here reads a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

STRATEGY_LONGEST_IDLE = "longest_idle"
STRATEGY_FEWEST_CALLS = "fewest_calls"
STRATEGY_LEAST_TALK_TIME = "least_talk_time"
STRATEGY_ROUND_ROBIN = "round_robin"
STRATEGY_RING_ALL = "ring_all"
STRATEGY_TOP_DOWN = "top_down"
STRATEGIES = (
    STRATEGY_LONGEST_IDLE,
    STRATEGY_FEWEST_CALLS,
    STRATEGY_LEAST_TALK_TIME,
    STRATEGY_ROUND_ROBIN,
    STRATEGY_RING_ALL,
    STRATEGY_TOP_DOWN,
)

MAX_WAIT_VOICEMAIL = "voicemail"
MAX_WAIT_CALLBACK = "callback"
MAX_WAIT_OVERFLOW = "overflow"
MAX_WAIT_HANGUP = "hangup"
MAX_WAIT_ACTIONS = (MAX_WAIT_VOICEMAIL, MAX_WAIT_CALLBACK, MAX_WAIT_OVERFLOW, MAX_WAIT_HANGUP)

MIN_LEVEL = 1
MAX_LEVEL = 5


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """A queue (技能队列). ``tiers``: ``(after_wait_s, min_level)`` pairs — after waiting
    ``after_wait_s`` seconds a caller may be offered to members with a skill level of at least
    ``min_level``; the list widens with the wait (``((0, 4), (30, 2), (60, 1))``)."""

    code: str
    name: str = ""
    strategy: str = STRATEGY_LONGEST_IDLE
    ring_timeout_s: int = 15
    wrap_up_s: float = 30
    max_wait_s: float = 0  # 0 = no limit
    max_wait_action: str = MAX_WAIT_HANGUP
    overflow_queue: str = ""
    overflow_after_s: float = 0  # 0 = no overflow by time
    tiers: tuple[tuple[float, int], ...] = ((0, MIN_LEVEL),)
    announce_every_s: float = 0  # 0 = no position announcements
    service_level_s: float = 15
    record_calls: bool = False
    music: str = "moh"
    region_code: str = ""
    vip_priority: int = 10
    repeat_priority: int = 5
    repeat_window_hours: int = 24

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}")
        if self.max_wait_action not in MAX_WAIT_ACTIONS:
            raise ValueError(f"unknown max_wait_action {self.max_wait_action!r}")
        tiers = tuple(sorted((float(after), int(level)) for after, level in self.tiers)) or ((0.0, 1),)
        object.__setattr__(self, "tiers", tiers)

    def min_level_after(self, wait_s: float) -> int:
        """The lowest skill level that may take a caller who has waited ``wait_s``."""
        level = MAX_LEVEL + 1
        for after, min_level in self.tiers:
            if wait_s >= after:
                level = min(level, min_level)
        return level

    def wait_needed(self, level: int) -> float | None:
        """How long a caller must have waited before a member of ``level`` may take them."""
        for after, min_level in self.tiers:  # sorted by after
            if min_level <= level:
                return after
        return None

    def waits_needed(self) -> tuple[float | None, ...]:
        """``wait_needed`` for every level, indexed by level (index 0 unused)."""
        return tuple(self.wait_needed(level) for level in range(MAX_LEVEL + 1))


@dataclass(frozen=True, slots=True)
class AgentConfig:
    """An agent (坐席) and the queues they serve with a skill level 1–5 (5 = most skilled)."""

    agent_id: int
    name: str = ""
    extension: str = ""
    skills: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CentreConfig:
    """Centre-wide settings and the flows. ``hotlines`` maps a dialled number to a flow code."""

    queues: tuple[QueueConfig, ...] = ()
    agents: tuple[AgentConfig, ...] = ()
    flows: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    hotlines: Mapping[str, str] = field(default_factory=dict)
    default_flow: str = ""
    lock_after_no_answers: int = 3
    short_abandon_s: float = 5
    last_agent_wait_s: float = 10  # keep a returning caller for their last agent this long
    caller_id: str = "12345"  # shown on outbound calls
    recordings_dir: str = ""  # prefix of recording paths; "" = relative to HOTLINE_RECORDING_DIR
    voicemail_prompt: str = "leave_message"
    voicemail_max_s: int = 120
    callback_offer_prompt: str = "callback_offer"
    callback_done_prompt: str = "callback_confirmed"
    busy_prompt: str = "all_busy_goodbye"
    emergency_numbers: tuple[str, ...] = ("110", "119", "120", "122")
