"""The switch service on an event loop of its own, in a thread, as the ``switch`` process runs it:
for the SIP call tests and ``bench/sip.py``."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connections

from hotline.callcenter import services
from hotline.callcenter.models import CallRecord, IvrFlow
from hotline.callcenter.runtime import LayerBus, SwitchService
from hotline.telephony.mediaserver import MediaServerOptions
from hotline.telephony.sipservice import SipRuntime
from hotline.telephony.tests.sipp import (
    caller_scenario,
    free_udp_port,
    phone_scenario,
    register_scenario,
    run_sipp,
)

PASSWORD = "phone-secret"
MENU = {
    "start": "welcome",
    "human": "queue",
    "nodes": {
        "welcome": {"type": "play", "prompts": ["welcome"], "next": "menu"},
        "menu": {
            "type": "menu",
            "prompts": ["main_menu"],
            "options": {"1": "queue"},
            "timeout_s": 8,
            "invalid_prompts": ["invalid"],
            "on_fail": "queue",
        },
        "queue": {"type": "queue", "queue": "GENERAL"},
    },
}


class Switch:
    """The switch service on a loop of its own, in a thread."""

    def __init__(
        self, media_options: MediaServerOptions, prompt_dir: Path, *, reconcile_s: float = 2.0
    ) -> None:
        from channels.layers import get_channel_layer

        from hotline.telephony.prompts import PromptLibrary, duration_s

        library = PromptLibrary(prompt_dir)
        # rendered before the calls, so a test knows how long the welcome lasts
        self.welcome_s = duration_s(library.file_for(("welcome",)))
        library.warm([("main_menu",), ("moh",)])
        self.port = free_udp_port()
        self.loop = asyncio.new_event_loop()
        self.runtime = SipRuntime(
            media_options=media_options,
            sip={"listen": "127.0.0.1", "port": self.port},
            prompts=library,
            reconcile_s=reconcile_s,
        )
        self.service = SwitchService(
            bus=LayerBus(get_channel_layer()), recorder_delay_s=0.2, sip=self.runtime
        )
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.task: asyncio.Task[Any] | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        ready = asyncio.Event()

        async def main() -> None:
            self.task = asyncio.current_task()
            waiter = asyncio.create_task(ready.wait())
            runner = asyncio.create_task(self.service.run(ready=ready))
            await waiter
            self.ready.set()
            await runner

        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(main())
        # as asyncio.run does: the worker threads end, and their database connections with them
        self.loop.run_until_complete(self.loop.shutdown_default_executor())

    def start(self) -> Switch:
        self.thread.start()
        assert self.ready.wait(20), "the switch did not start"
        return self

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the switch's loop and return its result."""

        async def run() -> Any:
            try:
                return fn()
            finally:
                connections.close_all()  # the test's own reads on the switch's loop

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        if self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(15)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


def register(switch: Switch, workdir: Path, extension: str, phone_port: int) -> None:
    sipp = run_sipp(
        workdir,
        f"register-{extension}",
        register_scenario(extension=extension, contact_port=phone_port),
        target=switch.target,
        port=free_udp_port(),
        extra=["-au", extension, "-ap", PASSWORD],
    )
    assert sipp.wait(20) == 0, sipp.output()


CALLER = "13800138000"


QUEUE = {"start": "q", "nodes": {"q": {"type": "queue", "queue": "GENERAL"}}}


def set_flow(definition: dict[str, Any]) -> None:
    flow = IvrFlow.objects.get(code="DIRECT")
    services.flow_save(actor=None, code="DIRECT", name=flow.name, definition=definition)


def phone(switch: Switch, workdir: Path, extension: str, **behaviour: Any) -> Any:
    """A sipp phone for ``extension``, registered with the switch."""
    port = free_udp_port()
    sipp = run_sipp(workdir, f"phone-{extension}", phone_scenario(**behaviour), port=port)
    register(switch, workdir, extension, port)
    return sipp


def login(switch: Switch, agent: Any, extension: str) -> None:
    switch.call(lambda: switch.service.centre.agent_login(agent_id=agent.id, extension=extension))


def call(switch: Switch, workdir: Path, steps: list[tuple[str, float | str]], **kwargs: Any) -> Any:
    return run_sipp(
        workdir,
        "caller",
        caller_scenario(called="12345", steps=steps, **kwargs),
        target=switch.target,
        port=free_udp_port(),
        caller=CALLER,
    )


def record_of_caller() -> CallRecord:
    return wait_for(lambda: CallRecord.objects.filter(caller=CALLER).first(), what="the call record")
