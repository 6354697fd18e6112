"""In-memory ``Recorder``, ``Directory`` and ``Observer`` for tests and the simulator."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotline.callcenter.records import AgentStateChange, CallerInfo, CallRecord, LegRecord, QueueEvent

from .observer import AgentView, OfferView, QueueView


@dataclass(frozen=True, slots=True)
class Voicemail:
    call_id: str
    caller: str
    path: str
    seconds: float
    at: datetime


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    call_id: str
    caller: str
    queue: str
    at: datetime


class MemoryRecorder:
    """Keeps every record in lists (``keep_legs=False`` drops leg rows for long simulations)."""

    def __init__(self, *, keep_legs: bool = True, keep_agent_states: bool = True) -> None:
        self.keep_legs = keep_legs
        self.keep_agent_states = keep_agent_states
        self.agent_states: list[AgentStateChange] = []
        self.queue_events: list[QueueEvent] = []
        self.legs: list[LegRecord] = []
        self.calls: list[CallRecord] = []
        self.voicemails: list[Voicemail] = []
        self.callbacks: list[CallbackRequest] = []
        self.counts: dict[str, int] = {"agent_state": 0, "queue_event": 0, "leg": 0, "call": 0}

    def agent_state(self, change: AgentStateChange) -> None:
        self.counts["agent_state"] += 1
        if self.keep_agent_states:
            self.agent_states.append(change)

    def queue_event(self, event: QueueEvent) -> None:
        self.counts["queue_event"] += 1
        self.queue_events.append(event)

    def leg(self, leg: LegRecord) -> None:
        self.counts["leg"] += 1
        if self.keep_legs:
            self.legs.append(leg)

    def call(self, record: CallRecord) -> None:
        self.counts["call"] += 1
        self.calls.append(record)

    def voicemail(self, *, call_id: str, caller: str, path: str, seconds: float, at: datetime) -> None:
        self.voicemails.append(Voicemail(call_id, caller, path, seconds, at))

    def callback_request(self, *, call_id: str, caller: str, queue: str, at: datetime) -> None:
        self.callbacks.append(CallbackRequest(call_id, caller, queue, at))

    # helpers for tests
    def events(self, kind: str, call_id: str | None = None) -> list[QueueEvent]:
        return [e for e in self.queue_events if e.kind == kind and (call_id is None or e.call_id == call_id)]

    def states_of(self, agent_id: int) -> list[str]:
        return [c.state for c in self.agent_states if c.agent_id == agent_id]

    def call_record(self, call_id: str) -> CallRecord:
        return next(r for r in self.calls if r.call_id == call_id)


class MemoryDirectory:
    """Answers from dicts: caller info by number, order states by tracking number, and a period
    function (``day`` unless told otherwise)."""

    def __init__(
        self,
        *,
        callers: Mapping[str, CallerInfo] | None = None,
        orders: Mapping[str, str] | None = None,
        period: str | Callable[[datetime], str] = "day",
    ) -> None:
        self.callers = dict(callers or {})
        self.orders = dict(orders or {})
        self.period = period

    def caller_info(self, number: str, at: datetime) -> CallerInfo:
        return self.callers.get(number) or CallerInfo(number=number)

    def calendar_period(self, at: datetime) -> str:
        return self.period(at) if callable(self.period) else self.period

    def order_status(self, tracking_number: str) -> str | None:
        return self.orders.get(tracking_number)


@dataclass(slots=True)
class ListObserver:
    """Keeps what screens would have been told, for tests."""

    agents: list[AgentView] = field(default_factory=list)
    queues: list[QueueView] = field(default_factory=list)
    offers: list[OfferView] = field(default_factory=list)
    offers_ended: list[tuple[int, str, bool]] = field(default_factory=list)
    call_changes: list[tuple[str, int | None, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    def agent_changed(self, view: AgentView) -> None:
        self.agents.append(view)

    def queue_changed(self, view: QueueView) -> None:
        self.queues.append(view)

    def offer(self, view: OfferView) -> None:
        self.offers.append(view)

    def offer_ended(self, *, agent_id: int, call_id: str, answered: bool) -> None:
        self.offers_ended.append((agent_id, call_id, answered))

    def call_changed(
        self, *, call_id: str, agent_id: int | None, data: dict[str, Any], draft: dict[str, Any]
    ) -> None:
        self.call_changes.append((call_id, agent_id, dict(data), dict(draft)))
