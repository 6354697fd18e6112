"""Clocks for the simulated switch: a discrete-event clock (a simulated day runs in seconds) and a
real-time clock on an asyncio loop (the demo and the browser test phone).

Both offer ``now()`` (aware UTC) and ``call_later(delay_s, callback)``; the switch takes either.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from .boundary import TimerHandle

SIM_EPOCH = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # a Monday, 08:00 in Beijing


class Clock(Protocol):
    def now(self) -> datetime: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> TimerHandle: ...


class SimTimer:
    """A timer of the discrete-event clock; ``cancel`` marks it (lazy deletion from the heap)."""

    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class SimClock:
    """A deterministic discrete-event clock: timers in a heap, ordered by time and then by the order
    they were set, so two runs with the same inputs produce the same events in the same order.

    Time stands still while callbacks run; ``run_until`` / ``advance`` / ``run`` move it forward
    from one timer to the next."""

    def __init__(self, start: datetime = SIM_EPOCH) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start must be an aware datetime")
        self.start = start.astimezone(UTC)
        self._start_ts = self.start.timestamp()
        self.t = 0.0  # seconds since ``start``
        self._heap: list[tuple[float, int, SimTimer]] = []
        self._seq = 0
        self.events_run = 0
        self._now_t = 0.0
        self._now_dt = self.start

    def now(self) -> datetime:
        if self.t != self._now_t:
            self._now_t = self.t
            self._now_dt = self.start + timedelta(seconds=self.t)
        return self._now_dt

    def timestamp(self) -> float:
        """POSIX seconds of ``now()``, without building a datetime."""
        return self._start_ts + self.t

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> SimTimer:
        timer = SimTimer(self.t + max(0.0, delay_s), callback)
        self._seq += 1
        heapq.heappush(self._heap, (timer.when, self._seq, timer))
        return timer

    def pending(self) -> int:
        return sum(1 for _w, _s, timer in self._heap if not timer.cancelled)

    def next_time(self) -> float | None:
        heap = self._heap
        while heap and heap[0][2].cancelled:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def run_until(self, t: float) -> None:
        """Run every timer due at or before ``t`` seconds since start, then stand at ``t``."""
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= t:
            when, _seq, timer = pop(heap)
            if timer.cancelled:
                continue
            self.t = when
            timer.cancelled = True
            self.events_run += 1
            timer.callback()
        self.t = max(self.t, t)

    def advance(self, seconds: float) -> None:
        self.run_until(self.t + seconds)

    def run(self, *, limit_s: float | None = None) -> None:
        """Run until no timer is left (or until ``limit_s`` seconds since start)."""
        while (when := self.next_time()) is not None:
            if limit_s is not None and when > limit_s:
                self.t = max(self.t, limit_s)
                return
            self.run_until(when)


class AsyncioClock:
    """Wall-clock time on an asyncio loop (for a switch that people talk to)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> float:
        return self.now().timestamp()

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        return self.loop.call_later(max(0.0, delay_s), callback)
