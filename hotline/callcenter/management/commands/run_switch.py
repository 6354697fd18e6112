"""``manage.py run_switch`` — the switch process: the contact-centre engine on a switch, taking
commands from the screens and sending them live events (``hotline/callcenter/runtime.py``).

``HOTLINE_SWITCH`` (or ``--switch``) chooses the switch: ``sip`` runs the SIP switch with rtpengine
(the ``media`` process, ``deploy/rtpengine.sh``), ``sim`` the simulated switch on the wall clock
(calls come from the test phone page), ``auto`` the SIP switch when rtpengine answers on its ng
port within a few seconds, else the simulated one — and says which (docs/telephony.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run the switch process (contact-centre engine on the SIP or the simulated switch)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--recorder-delay", type=float, default=1.0, help="seconds between writes of call records"
        )
        parser.add_argument(
            "--switch", choices=["auto", "sip", "sim"], default=None, help="overrides HOTLINE_SWITCH"
        )
        parser.add_argument(
            "--media-wait", type=float, default=8.0, help="auto: seconds to wait for rtpengine to answer"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The engine is synchronous by design and runs on the loop's thread; its directory reads
        # the database on a cache miss (short, indexed reads). Nothing else shares this loop.
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        logging.basicConfig(level=logging.INFO, format="%(asctime)s switch %(levelname)s %(message)s")
        choice = options["switch"] or settings.HOTLINE_SWITCH
        sip = self._sip_runtime(choice, options["media_wait"])
        asyncio.run(self._serve(options["recorder_delay"], sip))

    def _sip_runtime(self, choice: str, wait_s: float) -> Any:
        """The SIP runtime when the SIP switch is chosen (and, with ``auto``, rtpengine answers)."""
        if choice == "sim":
            return None
        from hotline.telephony.mediaserver import MediaServerOptions, ng_ping, rtpengine_available

        options = MediaServerOptions.from_settings()
        deadline = time.monotonic() + (wait_s if choice == "auto" else 30.0)
        answered = False
        if choice == "sip" or rtpengine_available(options.binary):
            while not (answered := ng_ping(options.ng_host, options.ng_port)) and time.monotonic() < deadline:
                time.sleep(0.25)
        if not answered:
            where = f"{options.ng_host}:{options.ng_port}"
            if choice == "sip":
                raise CommandError(f"rtpengine does not answer on {where}: start it (deploy/rtpengine.sh)")
            reason = (
                "rtpengine is not installed"
                if not rtpengine_available(options.binary)
                else (f"rtpengine does not answer on {where}")
            )
            self.stdout.write(
                f"switch: {reason} — running the simulated switch (calls from the test phone page). "
                "Install rtpengine-daemon for real calls (README)."
            )
            return None
        from hotline.telephony.sipservice import SipRuntime

        return SipRuntime(media_options=options)

    async def _serve(self, recorder_delay: float, sip: Any) -> None:
        from hotline.callcenter.runtime import SwitchService, default_bus, settle_heap

        bus = default_bus()
        service = SwitchService(bus=bus, recorder_delay_s=recorder_delay, sip=sip)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        ready = asyncio.Event()
        runner = asyncio.create_task(service.run(ready=ready))
        started = asyncio.create_task(ready.wait())
        await asyncio.wait({runner, started}, return_when=asyncio.FIRST_COMPLETED)
        if not started.done():  # the service stopped while starting: say why
            started.cancel()
            runner.result()
            return
        settle_heap()
        if sip is not None:
            self.stdout.write(
                f"switch: SIP on {sip.sip['listen']}:{sip.sip['port']}, rtpengine ng on "
                f"{sip.options.ng_host}:{sip.options.ng_port}"
            )
        self.stdout.write(
            f"switch: {service.kind} switch, {len(service.centre.queues)} queues, "
            f"{len(service.centre.agents)} agents, commands via {type(bus).__name__}"
        )
        await stop.wait()
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        self.stdout.write("switch: stopped")
