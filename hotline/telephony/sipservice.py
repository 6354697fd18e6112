"""The SIP switch's runtime: the stack, rtpengine's ng client and DTMF reports, the router and
the access policy, built from the database and kept up to date (see docs/telephony.md).

``SipRuntime`` is what the ``switch`` process runs when the SIP switch is chosen; the contact-centre
service (``hotline.callcenter.runtime.SwitchService``) drives ``runtime.switch`` exactly as it drives
the simulated switch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import ipaddress
import logging
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import close_old_connections

from .dtmf import DtmfListener
from .mediaserver import MediaServerOptions
from .mixer import Mixer
from .ng import NgClient
from .sipstack import AccessPolicy, Binding, Dialog, SipStack, TrunkAccess
from .sipswitch import CallMedia, Route, SipSwitch

log = logging.getLogger(__name__)

RECONCILE_S = 30.0
REPORT_BATCH_S = 0.5  # recording rows wait this long to be written together
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StaticPhone:
    host: str
    port: int
    user: str
    auto_answer: bool


@dataclass(slots=True)
class Directory:
    """A snapshot of the phones and trunks the router reads (replaced whole on reload)."""

    static: dict[str, StaticPhone] = field(default_factory=dict)
    auto_answer: set[str] = field(default_factory=set)
    outbound: Route | None = None


def parse_contact(contact: str) -> tuple[str, str, int] | None:
    """``sip:1001@10.1.2.3:5062;transport=udp`` → ("1001", "10.1.2.3", 5062)."""
    value = contact.strip().strip("<>")
    if value.startswith("sip:"):
        value = value[4:]
    value = value.split(";", 1)[0]
    user, _, hostport = value.rpartition("@")
    host, _, port = hostport.partition(":")
    if not host:
        return None
    try:
        return user, host, int(port or 5060)
    except ValueError:
        return None


class DjangoRouter:
    """``ext:1001`` → the phone's most recent registration (where its REGISTER came from) or its
    fixed address; ``tel:…`` → the default outbound trunk with its prefix and caller ID."""

    def __init__(self) -> None:
        self.directory = Directory()
        self.stack: SipStack | None = None

    def route(self, target: str, caller_id: str) -> Route | None:
        kind, _, value = target.partition(":")
        if kind == "ext":
            static = self.directory.static.get(value)
            if static is not None:
                return Route(
                    static.host, static.port, static.user or value, caller_id, auto_answer=static.auto_answer
                )
            if self.stack is None:
                return None
            bindings = sorted(self.stack.contacts(value), key=lambda b: b.expires_at, reverse=True)
            if not bindings:
                return None
            b = bindings[0]
            parsed = parse_contact(b.contact)
            user = parsed[0] if parsed and parsed[0] else value
            return Route(b.host, b.port, user, caller_id, auto_answer=value in self.directory.auto_answer)
        if kind == "tel":
            trunk = self.directory.outbound
            if trunk is None or not value:
                return None
            return Route(
                trunk.host,
                trunk.port,
                trunk.user + value,
                trunk.caller_id or caller_id,
                username=trunk.username,
                password=trunk.password,
                trunk=trunk.trunk,
            )
        return None


def load_config(realm: str) -> tuple[AccessPolicy, Directory]:
    """Read the phone accounts and trunks (synchronous: call in a thread)."""
    from .models import PhoneAccount, Trunk

    phones: dict[str, str] = {}
    directory = Directory()
    for account in PhoneAccount.objects.filter(active=True).select_related("seat"):
        extension = account.seat.extension
        if account.ha1 and account.realm == realm:
            phones[extension] = account.ha1
        if account.auto_answer:
            directory.auto_answer.add(extension)
        if account.static_contact:
            parsed = parse_contact(account.static_contact)
            if parsed is not None:
                directory.static[extension] = StaticPhone(
                    parsed[1], parsed[2], parsed[0], account.auto_answer
                )
    trunks: list[TrunkAccess] = []
    for trunk in Trunk.objects.filter(active=True):
        networks = []
        for text in trunk.addresses():
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                log.warning("trunk %s: %r is not an address or network", trunk.code, text)
        trunks.append(TrunkAccess(trunk.code, tuple(networks), trunk.username, trunk.password))
        if trunk.outbound_host and (directory.outbound is None or trunk.outbound_default):
            directory.outbound = Route(
                trunk.outbound_host,
                trunk.outbound_port,
                trunk.dial_prefix,
                trunk.caller_id,
                username=trunk.username,
                password=trunk.password,
                trunk=trunk.code,
            )
    return AccessPolicy(realm=realm, phones=phones, trunks=tuple(trunks)), directory


def load_bindings() -> list[Binding]:
    """The registrations that have not expired: where the phones were when the switch stopped."""
    from .models import Registration

    return [
        Binding(r.extension, r.contact, r.host, r.port, r.expires_at.timestamp(), r.user_agent)
        for r in Registration.objects.filter(expires_at__gt=datetime.now(UTC))
    ]


def store_bindings(extension: str, bindings: list[Binding]) -> None:
    """Keep an extension's registrations in the database (synchronous: call in a thread)."""
    from django.db import transaction

    from .models import Registration

    with transaction.atomic():
        Registration.objects.filter(extension=extension).delete()
        Registration.objects.bulk_create(
            [
                Registration(
                    extension=b.extension,
                    contact=b.contact[:255],
                    host=b.host,
                    port=b.port,
                    user_agent=b.user_agent[:128],
                    registered_at=datetime.now(UTC),
                    expires_at=datetime.fromtimestamp(b.expires_at, UTC),
                )
                for b in bindings
            ]
        )


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn`` on a worker thread, as the project's thread jobs do: the database connection it
    opened is closed after it when it should not be kept (``close_old_connections``)."""

    def job() -> T:
        try:
            return fn(*args, **kwargs)
        finally:
            close_old_connections()

    return await asyncio.to_thread(job)


class SipRuntime:
    """Starts and stops everything the SIP switch needs inside the ``switch`` process."""

    def __init__(
        self,
        *,
        media_options: MediaServerOptions | None = None,
        sip: dict[str, Any] | None = None,
        prompts: Any = None,
        reconcile_s: float = RECONCILE_S,
        mixer: dict[str, Any] | None = None,
    ) -> None:
        self.options = media_options or MediaServerOptions.from_settings()
        mixing = {**settings.HOTLINE_MIXER, **(mixer or {})}
        self.mixer = Mixer(
            address=mixing["address"] or self.options.media_address,
            port_min=int(mixing["port_min"]),
            port_max=int(mixing["port_max"]),
        )
        self.sip = {**settings.HOTLINE_SIP, **(sip or {})}
        self.ng = NgClient(self.options.ng_host, self.options.ng_port)
        self.router = DjangoRouter()
        if prompts is None:
            from .prompts import PromptLibrary

            prompts = PromptLibrary()
        self.prompts = prompts
        self.switch = SipSwitch(
            media=self.ng,
            prompts=prompts,
            router=self.router,
            media_address=self.options.media_address,
            in_thread=in_thread,
            archive=self.archive,
            mixer=self.mixer,
        )
        self.stack: SipStack | None = None
        self.dtmf: DtmfListener | None = None
        self.reconcile_s = reconcile_s
        self._tasks: list[asyncio.Task[Any]] = []
        self._archiver: concurrent.futures.ProcessPoolExecutor | None = None
        self._reports: list[dict[str, Any]] = []
        self._report_flush: asyncio.TimerHandle | None = None
        self.loop_lag = {"samples": 0, "total_ms": 0.0, "max_ms": 0.0, "over_50ms": 0}

    async def archive(self, media: CallMedia) -> None:
        """A finished call's recordings to WAV files (in the archive's child process, so the
        conversion never holds this process's interpreter lock) and its row (a worker thread)."""
        from .archive import conversation_report, convert_call

        convert = functools.partial(
            convert_call,
            media,
            spool_dir=self.options.spool_dir,
            recording_dir=Path(settings.HOTLINE_RECORDING_DIR),
        )
        archived = await asyncio.get_running_loop().run_in_executor(self._archiver_pool(), convert)
        report = conversation_report(media, archived)
        if report is None:
            return
        # rows are written in batches: one database job for the calls of the last half second
        self._reports.append(report)
        if self._report_flush is None:
            self._report_flush = asyncio.get_running_loop().call_later(
                REPORT_BATCH_S, lambda: self._tasks_add(self._store_reports())
            )

    async def _store_reports(self) -> None:
        self._report_flush = None
        reports, self._reports = self._reports, []
        if reports:
            from .archive import store_reports

            try:
                await in_thread(store_reports, reports)
            except Exception:
                log.exception("storing %d recordings", len(reports))

    def _tasks_add(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    def _archiver_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._archiver is None:
            from .archive import lower_priority

            self._archiver = concurrent.futures.ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=lower_priority
            )
        return self._archiver

    # StackHandler: the stack reports to the runtime, which passes calls on to the switch
    def on_invite(self, dialog: Dialog, caller: str, called: str, sdp: str, trunk: str, source: str) -> None:
        self.switch.on_invite(dialog, caller, called, sdp, trunk, source)

    def on_dialog_event(self, dialog: Dialog, kind: str, code: int, reason: str, sdp: str) -> None:
        self.switch.on_dialog_event(dialog, kind, code, reason, sdp)

    def on_bindings(self, extension: str, bindings: list[Binding]) -> None:
        task = asyncio.get_running_loop().create_task(in_thread(store_bindings, extension, bindings))
        self._tasks.append(task)
        task.add_done_callback(self._tasks.remove)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        await self.ng.start()
        if not await self.ng.ping():
            raise RuntimeError("rtpengine did not answer a ping")
        self.dtmf = DtmfListener(
            self.switch.on_digit, host=self.options.dtmf_host, port=self.options.dtmf_port
        )
        await self.dtmf.start()
        await self.mixer.start()
        self.stack = SipStack(
            listen=self.sip["listen"],
            port=int(self.sip["port"]),
            advertise=self.sip.get("advertise", ""),
            handler=self,
            loop=loop,
        )
        self.router.stack = self.stack
        self.switch.bind(self.stack, loop)
        await self.reload()
        self.stack.restore_bindings(await in_thread(load_bindings))
        self.stack.start()
        # the archive's child process starts now (a second or so), not at the first recorded call's end
        from .archive import warm

        self._archiver_pool().submit(warm)
        found = await self.switch.reconcile()
        if found["orphans"]:
            log.info("deleted %d calls left in rtpengine by an earlier switch", found["orphans"])
        self._tasks.append(loop.create_task(self._reconcile_loop(), name="sip-reconcile"))
        self._tasks.append(loop.create_task(self._watch_lag(), name="sip-loop-lag"))
        # render every prompt now (a couple of seconds, in a thread), not during the first calls
        if hasattr(self.prompts, "build_all"):
            self._tasks.append(loop.create_task(self._build_prompts(), name="sip-prompts"))

    async def _build_prompts(self) -> None:
        try:
            files = await in_thread(self.prompts.build_all)
            log.info("prompts ready: %d files", len(files))
        except Exception:
            log.exception("rendering the prompts (they are rendered on first use instead)")

    async def reload(self) -> None:
        policy, directory = await in_thread(load_config, self.sip["realm"])
        self.router.directory = directory
        if self.stack is not None:
            self.stack.set_policy(policy)

    async def _watch_lag(self, every_s: float = 0.05) -> None:
        """How late the loop runs what is due (the health line's ``loop_lag``): every call step
        waits on it."""
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(every_s)
            lag_ms = max(0.0, (loop.time() - start - every_s) * 1000)
            self.loop_lag["samples"] += 1
            self.loop_lag["total_ms"] += lag_ms
            self.loop_lag["max_ms"] = max(self.loop_lag["max_ms"], lag_ms)
            if lag_ms > 50:
                self.loop_lag["over_50ms"] += 1

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(self.reconcile_s)
            try:
                found = await self.switch.reconcile()
                if found["lost"]:
                    log.warning("rtpengine lost the media of %d calls: they were ended", found["lost"])
            except Exception:
                log.exception("reconciling calls with rtpengine")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._report_flush is not None:
            self._report_flush.cancel()
        await self._store_reports()  # the recordings waiting for their batch
        if self.stack is not None:
            self.stack.stop()
        if self.dtmf is not None:
            self.dtmf.close()
        await self.mixer.close()
        self.ng.close()
        if self._archiver is not None:  # conversions under way finish first
            await asyncio.to_thread(self._archiver.shutdown, wait=True)
            self._archiver = None

    def status(self) -> dict[str, Any]:
        return {
            "kind": "sip",
            "listen": f"{self.sip['listen']}:{self.sip['port']}",
            "calls": len(self.switch.calls),
            "legs": len(self.switch.legs),
            "registered": sum(len(v) for v in (self.stack.bindings if self.stack else {}).values()),
            "counters": {**self.switch.counters, **(self.stack.counters if self.stack else {})},
            "mixer": self.mixer.stats,
            "loop_lag": {
                **self.loop_lag,
                "mean_ms": round(self.loop_lag["total_ms"] / max(1, self.loop_lag["samples"]), 2),
            },
            "at": time.time(),
        }
