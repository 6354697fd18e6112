"""What screens see live (坐席桌面/监控墙): the engine tells an ``Observer`` about every change.

The Django side turns these calls into websocket events; ``ContactCentre.snapshot()`` gives the
whole picture for a page that just opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hotline.callcenter.records import CallerInfo


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: int
    name: str
    extension: str
    state: str
    since: datetime
    reason: str = ""
    call_id: str = ""
    caller: str = ""
    queue: str = ""
    calls: int = 0
    no_answers_in_row: int = 0


@dataclass(frozen=True, slots=True)
class QueueView:
    code: str
    name: str
    waiting: int
    longest_wait_since: datetime | None
    ready: int
    staffed: int


@dataclass(frozen=True, slots=True)
class OfferView:
    """A call ringing at an agent's phone: the screen pop (弹屏)."""

    agent_id: int
    call_id: str
    caller: str
    queue: str
    info: CallerInfo
    marks: tuple[str, ...] = ()  # vip, repeat, blacklisted, whitelisted, transferred
    draft: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    wait_s: float = 0.0


class Observer(Protocol):
    def agent_changed(self, view: AgentView) -> None: ...

    def queue_changed(self, view: QueueView) -> None: ...

    def offer(self, view: OfferView) -> None: ...

    def offer_ended(self, *, agent_id: int, call_id: str, answered: bool) -> None: ...

    def call_changed(
        self, *, call_id: str, agent_id: int | None, data: dict[str, Any], draft: dict[str, Any]
    ) -> None: ...


class NullObserver:
    """Tells nobody (the benchmark, a switch without screens)."""

    def agent_changed(self, view: AgentView) -> None:
        pass

    def queue_changed(self, view: QueueView) -> None:
        pass

    def offer(self, view: OfferView) -> None:
        pass

    def offer_ended(self, *, agent_id: int, call_id: str, answered: bool) -> None:
        pass

    def call_changed(
        self, *, call_id: str, agent_id: int | None, data: dict[str, Any], draft: dict[str, Any]
    ) -> None:
        pass
