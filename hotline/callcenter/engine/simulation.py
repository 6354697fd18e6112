"""A whole centre on the simulated switch: used by the tests, the benchmark and the demo.

sim = SimCentre(CentreConfig(queues=(...), agents=(...), flows={...}, default_flow="main"))
sim.centre.agent_login(agent_id=1)
call_id, leg_id = sim.switch.incoming("13800000001", script=CallerScript(talk_s=60))
sim.run(120)
"""

from __future__ import annotations

import heapq
import random
import time
from dataclasses import dataclass

from hotline.callcenter.records import Directory
from hotline.telephony.clock import SimClock
from hotline.telephony.simswitch import CallerScript, Endpoint, PromptLengths, SimSwitch

from .config import AgentConfig, CentreConfig, QueueConfig
from .engine import ContactCentre
from .memory import ListObserver, MemoryDirectory, MemoryRecorder
from .observer import NullObserver, Observer


class SimCentre:
    def __init__(
        self,
        config: CentreConfig,
        *,
        directory: Directory | None = None,
        recorder: MemoryRecorder | None = None,
        observer: Observer | None = None,
        prompts: PromptLengths | None = None,
        default_endpoint: Endpoint | None = None,
        keep_commands: bool = True,
    ) -> None:
        self.clock = SimClock()
        self.switch = SimSwitch(
            clock=self.clock, prompts=prompts, default_endpoint=default_endpoint, keep_commands=keep_commands
        )
        self.recorder = recorder if recorder is not None else MemoryRecorder()
        self.directory = directory if directory is not None else MemoryDirectory()
        self.observer = observer if observer is not None else ListObserver()
        self.centre = ContactCentre(
            switch=self.switch,
            config=config,
            recorder=self.recorder,
            directory=self.directory,
            observer=self.observer,
        )
        self.switch.attach(self.centre)

    @classmethod
    def lean(cls, config: CentreConfig) -> SimCentre:
        """A centre for measurements: no per-leg or agent-state records, no observer, far ends
        that answer at once, no command log."""
        return cls(
            config,
            recorder=MemoryRecorder(keep_legs=False, keep_agent_states=False),
            observer=NullObserver(),
            default_endpoint=Endpoint(answer_after_s=0.0),
            keep_commands=False,
        )

    def run(self, seconds: float = 0.0) -> None:
        """Advance the clock by ``seconds`` (0: just deliver what is due now)."""
        self.clock.advance(seconds)

    @property
    def t(self) -> float:
        return self.clock.t


def direct_flow(queue: str) -> dict[str, object]:
    """A flow that sends every caller straight to ``queue`` (no menu before a human)."""
    return {"start": "q", "nodes": {"q": {"type": "queue", "queue": queue}}}


@dataclass(frozen=True, slots=True)
class ErlangRun:
    """One M/M/c run through the engine: waits of the calls after the warm-up, in arrival order,
    and the waits a plain FIFO M/M/c queue gives for the same arrivals and handle times."""

    agents: int
    occupancy: float
    aht_s: float
    waits: tuple[float, ...]
    reference_waits: tuple[float, ...]
    seconds: float  # wall-clock time of the engine run
    events: int

    def service_level(self, within_s: float) -> float:
        return sum(1 for w in self.waits if w <= within_s + 1e-9) / len(self.waits)

    def average_wait(self) -> float:
        return sum(self.waits) / len(self.waits)

    def max_difference_from_reference(self) -> float:
        return max(abs(a - b) for a, b in zip(self.waits, self.reference_waits, strict=True))


def run_erlang(
    *, agents: int, occupancy: float, calls: int, aht_s: float = 180.0, seed: int = 1, warmup: int = 2000
) -> ErlangRun:
    """Poisson arrivals and exponential handle times through the real engine on the simulated
    switch, configured as Erlang C assumes: one FIFO queue, infinite patience, no wrap-up, no ring
    time, no IVR (a direct-to-queue flow)."""
    rng = random.Random(seed)  # noqa: S311 - a simulation, not a secret
    rate = occupancy * agents / aht_s
    total = calls + warmup
    arrivals: list[float] = []
    handle: list[float] = []
    t = 0.0
    for _ in range(total):
        t += rng.expovariate(rate)
        arrivals.append(t)
        handle.append(rng.expovariate(1 / aht_s))
    config = CentreConfig(
        queues=(QueueConfig("Q", wrap_up_s=0, ring_timeout_s=60),),
        agents=tuple(AgentConfig(i, "", str(10000 + i), {"Q": 1}) for i in range(agents)),
        flows={"erlang": direct_flow("Q")},
        default_flow="erlang",
    )
    sim = SimCentre.lean(config)
    for i in range(agents):
        sim.centre.agent_login(agent_id=i)
    index = iter(range(total))

    def arrive() -> None:
        i = next(index)
        sim.switch.incoming(f"1{i:010d}", script=CallerScript(talk_s=handle[i]))
        if i + 1 < total:
            sim.clock.call_later(arrivals[i + 1] - arrivals[i], arrive)

    sim.clock.call_later(arrivals[0], arrive)
    started = time.perf_counter()
    sim.clock.run()
    seconds = time.perf_counter() - started
    by_call = {r.call_id: r for r in sim.recorder.calls}
    waits = []
    for i in range(warmup, total):
        record = by_call[f"C{i + 1}"]
        assert record.answered_at is not None and record.queued_at is not None
        waits.append((record.answered_at - record.queued_at).total_seconds())
    free = [0.0] * agents
    reference = []
    for i in range(total):
        start = max(arrivals[i], heapq.heappop(free))
        heapq.heappush(free, start + handle[i])
        if i >= warmup:
            reference.append(start - arrivals[i])
    return ErlangRun(agents, occupancy, aht_s, tuple(waits), tuple(reference), seconds, sim.clock.events_run)
