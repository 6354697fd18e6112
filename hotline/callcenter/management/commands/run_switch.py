"""``manage.py run_switch`` — the switch process: the contact-centre engine on a switch, taking
commands from the screens and sending them live events (``hotline/callcenter/runtime.py``).

Today the switch is the simulated one, on the wall clock: calls come from the test phone. The SIP
switch takes its place when it is configured (docs/telephony.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the switch process (contact-centre engine, simulated switch)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--recorder-delay", type=float, default=1.0, help="seconds between writes of call records"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The engine is synchronous by design and runs on the loop's thread; its directory reads
        # the database on a cache miss (short, indexed reads). Nothing else shares this loop.
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s switch %(levelname)s %(message)s")
        asyncio.run(self._serve(options["recorder_delay"]))

    async def _serve(self, recorder_delay: float) -> None:
        from hotline.callcenter.runtime import SwitchService, default_bus

        bus = default_bus()
        service = SwitchService(bus=bus, recorder_delay_s=recorder_delay)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        runner = asyncio.create_task(service.run())
        self.stdout.write(
            f"switch: {service.kind} switch, {len(service.centre.queues)} queues, "
            f"{len(service.centre.agents)} agents, commands via {type(bus).__name__}"
        )
        await stop.wait()
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        self.stdout.write("switch: stopped")
