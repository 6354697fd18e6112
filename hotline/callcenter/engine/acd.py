"""Queues and routing (自动话务分配, ACD) on indexed structures, so a routing decision costs the
same with 20 agents or 2,000.

Per queue:

- **ready agents**: one heap per skill level (1–5), ordered by the queue's strategy key
  (longest idle: ready since; fewest calls: calls answered; least talk time: seconds talked;
  round robin: the turn the agent was last offered from this queue; top down: member order).
  An entry carries the agent's ``version``; an agent leaving ``ready`` bumps it, so stale entries
  are dropped when they reach the top (lazy deletion). A call that may go to levels ≥ m looks at
  the tops of at most five heaps.
- **waiting calls**: per priority, a heap of calls that may be offered now (ordered by arrival in
  the queue), a deque of every call in the queue (for the longest wait) and a Fenwick tree over
  arrival numbers (a caller's position in O(log n)).

An agent becoming ready asks each of their queues for the best call they may take: for each
priority (highest first) only the oldest available call can be the answer, and it is eligible
when it has waited long enough for the agent's level (tiers widen with the wait). So the cost is
(queues of the agent) × (priorities in use) heap tops. See docs/acd.md.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import TYPE_CHECKING

from hotline.callcenter.records import AGENT_READY

from .config import (
    MAX_LEVEL,
    STRATEGY_FEWEST_CALLS,
    STRATEGY_LEAST_TALK_TIME,
    STRATEGY_ROUND_ROBIN,
    STRATEGY_TOP_DOWN,
    QueueConfig,
)

if TYPE_CHECKING:
    from .agents import AgentSession
    from .calls import Call


# (strategy key, ready since, push number, agent id, agent version)
ReadyEntry = tuple[float, float, int, int, int]


class Fenwick:
    """Counts by index with prefix sums in O(log n); grows by doubling."""

    __slots__ = ("size", "tree")

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self.tree = [0] * (size + 1)

    def add(self, index: int, delta: int) -> None:
        if index > self.size:
            self._grow(index)
        tree, size = self.tree, self.size
        while index <= size:
            tree[index] += delta
            index += index & -index

    def prefix(self, index: int) -> int:
        """Sum of counts at 1..index."""
        index = min(index, self.size)
        tree = self.tree
        total = 0
        while index > 0:
            total += tree[index]
            index -= index & -index
        return total

    def _grow(self, index: int) -> None:
        size = self.size
        counts = [self.prefix(i) - self.prefix(i - 1) for i in range(1, size + 1)]
        while size < index:
            size *= 2
        self.size = size
        self.tree = [0] * (size + 1)
        for i, count in enumerate(counts, start=1):
            if count:
                self.add(i, count)


class PriorityClass:
    """The calls of one priority in one queue."""

    __slots__ = ("available", "count", "in_queue", "positions", "priority")

    def __init__(self, priority: int) -> None:
        self.priority = priority
        self.available: list[tuple[int, int, Call]] = []  # (seq, token, call): may be offered now
        self.in_queue: deque[tuple[int, Call]] = deque()  # every call in the queue, by arrival
        self.positions = Fenwick()
        self.count = 0


class QueueState:
    """One queue's members, ready agents and waiting calls."""

    def __init__(self, config: QueueConfig, agents: dict[int, AgentSession]) -> None:
        self.agents = agents
        self.config = config
        self.code = config.code
        self.members: dict[int, int] = {}  # agent id → level
        self.order: dict[int, int] = {}  # agent id → member order (top down)
        self.ready: list[list[ReadyEntry]] = [[] for _ in range(MAX_LEVEL + 1)]
        self.classes: dict[int, PriorityClass] = {}
        self.priorities: list[int] = []  # in use, highest first
        self.reserved: dict[int, list[Call]] = {}  # agent id → calls kept for them (last agent)
        self.seq = 0
        self.waiting = 0
        self.staffed = 0  # members logged in and not paused
        self.ready_count = 0
        self.rr_turn = 0
        self.aht_s = 180.0  # handle time estimate (talk + wrap-up), moving average
        self._push_seq = 0

    @property
    def config(self) -> QueueConfig:
        return self._config

    @config.setter
    def config(self, config: QueueConfig) -> None:
        self._config = config
        self.needed = config.waits_needed()

    # --- agents --------------------------------------------------------------------------------

    def add_member(self, agent_id: int, level: int) -> None:
        self.members[agent_id] = max(1, min(MAX_LEVEL, level))
        self.order.setdefault(agent_id, len(self.order))

    def strategy_key(self, agent: AgentSession) -> float:
        strategy = self.config.strategy
        if strategy == STRATEGY_FEWEST_CALLS:
            return float(agent.calls)
        if strategy == STRATEGY_LEAST_TALK_TIME:
            return agent.talk_s
        if strategy == STRATEGY_ROUND_ROBIN:
            # the turn this agent was last offered a call from this queue; members never offered
            # one come first, in member order
            return agent.rr_turn.get(self.code, -1) + self.order[agent.agent_id] / (len(self.order) + 1)
        if strategy == STRATEGY_TOP_DOWN:
            return float(self.order[agent.agent_id])
        return agent.ready_since

    def push_ready(self, agent: AgentSession) -> None:
        level = self.members[agent.agent_id]
        self._push_seq += 1
        heap = self.ready[level]
        entry = (self.strategy_key(agent), agent.ready_since, self._push_seq, agent.agent_id, agent.version)
        heapq.heappush(heap, entry)
        if len(heap) > 4 * len(self.members) + 64:
            self._compact(level)

    def _valid(self, entry: ReadyEntry) -> bool:
        agent = self.agents.get(entry[3])
        return agent is not None and agent.state == AGENT_READY and agent.version == entry[4]

    def _compact(self, level: int) -> None:
        """Drop stale entries from a ready heap (keeps memory bounded in long runs)."""
        live = [entry for entry in self.ready[level] if self._valid(entry)]
        heapq.heapify(live)
        self.ready[level] = live

    def top_agent(self, level: int) -> ReadyEntry | None:
        """The best ready agent of one level, dropping stale entries on the way."""
        heap = self.ready[level]
        while heap:
            entry = heap[0]
            if self._valid(entry):
                return entry
            heapq.heappop(heap)
        return None

    def best_agent(self, min_level: int) -> int | None:
        best: ReadyEntry | None = None
        for level in range(min_level, MAX_LEVEL + 1):
            entry = self.top_agent(level)
            if entry is not None and (best is None or entry < best):
                best = entry
        return best[3] if best is not None else None

    def ready_agents(self, min_level: int, limit: int) -> list[int]:
        """Every ready agent of ``min_level`` or more (ring all), best first, at most ``limit``."""
        found: list[ReadyEntry] = []
        for level in range(min_level, MAX_LEVEL + 1):
            heap = self.ready[level]
            popped = []
            while len(found) < limit and (entry := self.top_agent(level)) is not None:
                popped.append(heapq.heappop(heap))
                found.append(entry)
            for entry in popped:  # the engine moves them to ringing; entries go stale then
                heapq.heappush(heap, entry)
        found.sort()
        return [entry[3] for entry in found[:limit]]

    # --- calls ---------------------------------------------------------------------------------

    def _class(self, priority: int) -> PriorityClass:
        pclass = self.classes.get(priority)
        if pclass is None:
            pclass = self.classes[priority] = PriorityClass(priority)
            self.priorities = sorted(self.classes, reverse=True)
        return pclass

    def enter(self, call: Call, at: float) -> None:
        self.seq += 1
        call.q_code = self.code
        call.q_seq = self.seq
        call.q_entered = at
        pclass = self._class(call.priority)
        pclass.in_queue.append((self.seq, call))
        pclass.positions.add(self.seq, 1)
        pclass.count += 1
        self.waiting += 1

    def make_available(self, call: Call) -> None:
        call.q_token += 1
        call.q_available = True
        heapq.heappush(self._class(call.priority).available, (call.q_seq, call.q_token, call))

    def make_unavailable(self, call: Call) -> None:
        call.q_token += 1
        call.q_available = False

    def leave(self, call: Call) -> None:
        pclass = self.classes[call.priority]
        pclass.positions.add(call.q_seq, -1)
        pclass.count -= 1
        self.waiting -= 1
        call.q_token += 1
        call.q_available = False
        call.q_code = ""

    def position(self, call: Call) -> int:
        """1 = the next caller to be served."""
        ahead = 0
        for priority in self.priorities:
            pclass = self.classes[priority]
            if priority > call.priority:
                ahead += pclass.count
            elif priority == call.priority:
                ahead += pclass.positions.prefix(call.q_seq - 1)
        return ahead + 1

    def oldest_entered(self) -> float | None:
        oldest: float | None = None
        for pclass in self.classes.values():
            in_queue = pclass.in_queue
            while in_queue and (in_queue[0][1].q_code != self.code or in_queue[0][1].q_seq != in_queue[0][0]):
                in_queue.popleft()
            if in_queue:
                entered = in_queue[0][1].q_entered
                if oldest is None or entered < oldest:
                    oldest = entered
        return oldest

    def best_call_for(self, level: int, now: float) -> Call | None:
        """The call an agent of ``level`` should take now: highest priority, then longest wait,
        among those that waited long enough for the agent's level."""
        needed = self.needed[level]
        if needed is None:
            return None
        cutoff = now - needed
        for priority in self.priorities:
            heap = self.classes[priority].available
            while heap:
                seq, token, call = heap[0]
                if (
                    call.q_token == token
                    and call.q_available
                    and call.q_seq == seq
                    and call.q_code == self.code
                ):
                    break
                heapq.heappop(heap)
            if heap:
                call = heap[0][2]
                if call.q_entered <= cutoff + 1e-9:
                    return call
        return None

    def expected_wait_s(self, position: int) -> float:
        return position * self.aht_s / max(1, self.staffed)
