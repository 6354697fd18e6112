"""A whole centre on the simulated switch: used by the tests, the benchmark and the demo.

    sim = SimCentre(CentreConfig(queues=(...), agents=(...), flows={...}, default_flow="main"))
    sim.centre.agent_login(agent_id=1)
    call_id, leg_id = sim.switch.incoming("13800000001", script=CallerScript(talk_s=60))
    sim.run(120)
"""

from __future__ import annotations

from hotline.callcenter.records import Directory
from hotline.telephony.clock import SimClock
from hotline.telephony.simswitch import Endpoint, PromptLengths, SimSwitch

from .config import CentreConfig
from .engine import ContactCentre
from .memory import ListObserver, MemoryDirectory, MemoryRecorder
from .observer import Observer


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

    def run(self, seconds: float = 0.0) -> None:
        """Advance the clock by ``seconds`` (0: just deliver what is due now)."""
        self.clock.advance(seconds)

    @property
    def t(self) -> float:
        return self.clock.t


def direct_flow(queue: str) -> dict[str, object]:
    """A flow that sends every caller straight to ``queue`` (no menu before a human)."""
    return {"start": "q", "nodes": {"q": {"type": "queue", "queue": queue}}}
