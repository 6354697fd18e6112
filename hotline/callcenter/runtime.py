"""The switch process (交换进程): the engine on a live switch, wired to the database and the screens.

``SwitchService`` builds a ``ContactCentre`` on a switch (the simulated switch on the wall clock
today; the SIP switch later), with the ``DjangoRecorder`` and ``DjangoDirectory``, and:

- takes commands from browsers (sent by the web process's ``LiveConsumer`` with
  ``events.switch_send``) through a **bus**, runs them on the engine and answers errors to the
  sender;
- turns what the engine tells its observer into websocket events (``cc.agent``, ``cc.queue``,
  ``cc.offer`` …), gathered in an outbox and sent every ``FLUSH_S``: an agent's or a queue's
  successive changes within one flush are sent once, as their latest state;
- reloads its configuration when told (``reload``, sent after an administrator saves a queue, a
  flow, a number or a membership);
- carries the test phone: a person places a simulated call from a browser and presses keys.

Two buses: ``TableBus`` (embedded default: ``LiveEvent`` rows, read every ``COMMAND_POLL_S``) and
``LayerBus`` (a shared channel layer: Redis in production). The message protocol is in
docs/desktop.md; how a call moves through here is in docs/architecture.md.

The engine is synchronous and runs on the event loop's thread; the directory's cache misses read
the database from that thread (``DJANGO_ALLOW_ASYNC_UNSAFE`` is set by ``run_switch``). The
recorder writes from its own thread.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Protocol

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import DEFAULT_DB_ALIAS, connections

from hotline.core.consumers import user_group
from hotline.core.events import SWITCH_GROUP, switch_listens_here
from hotline.telephony.clock import AsyncioClock
from hotline.telephony.simswitch import (
    ANSWER,
    LEG_ANSWERED,
    LEG_ENDED,
    MANUAL,
    CallerScript,
    Endpoint,
    SimSwitch,
)

from .engine import ContactCentre, EngineError
from .engine.calls import PHASE_QUEUE
from .engine.observer import AgentView, OfferView, QueueView

logger = logging.getLogger(__name__)

WALL_GROUP = "cc.wall"
AGENTS_GROUP = "cc.agents"
FLUSH_S = 0.05
COMMAND_POLL_S = 0.1
PHONE_WATCH_S = 0.25
OUTSIDE_ANSWER_S = 3.0  # a simulated outside number (a department, 110) answers after this long
PHONE_TRUNK = "test-phone"
RELOAD_DELAY_S = 0.5
MARK_S = 15.0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# The views' fields are plain values: read them by name (``dataclasses.asdict`` deep-copies each
# one, and the wall's events were 7 % of the switch loop's time at 40 calls a second).
_AGENT_FIELDS = tuple(f.name for f in fields(AgentView))
_QUEUE_FIELDS = tuple(f.name for f in fields(QueueView))


def agent_json(view: AgentView) -> dict[str, Any]:
    out = {name: getattr(view, name) for name in _AGENT_FIELDS}
    out["since"] = _iso(view.since)
    return out


def queue_json(view: QueueView) -> dict[str, Any]:
    out = {name: getattr(view, name) for name in _QUEUE_FIELDS}
    out["longest_wait_since"] = _iso(view.longest_wait_since)
    return out


def offer_json(view: OfferView) -> dict[str, Any]:
    info = view.info
    return {
        "agent_id": view.agent_id,
        "call_id": view.call_id,
        "caller": view.caller,
        "queue": view.queue,
        "marks": list(view.marks),
        "draft": dict(view.draft),
        "data": dict(view.data),
        "wait_s": round(view.wait_s, 1),
        "info": {
            "vip": info.vip,
            "blacklisted": info.blacklisted,
            "whitelisted": info.whitelisted,
            "repeat_within_hours": info.repeat_within_hours,
            "region_code": info.region_code,
        },
    }


def settle_heap() -> None:
    """Called by the switch process once it has started: what it made to start (Django, the
    centre, the SIP stack, the prompt rows) lives as long as the process, so it is moved out of the
    garbage collector's way (``gc.freeze``). Without this every full collection walked all of it,
    holding the interpreter lock (and so the SIP stack and the loop) for up to 200 ms at 40 calls
    a second (docs/performance.md)."""
    gc.collect()
    gc.freeze()


class Outbox:
    """Events waiting to be sent, in order. An event with a ``key`` replaces the earlier unsent
    event with the same key (and moves to the end): screens want an agent's latest state, not
    every step on the way."""

    def __init__(self) -> None:
        self._items: dict[Any, list[tuple[str, dict[str, Any]]]] = {}
        self._seq = 0

    def add(self, events: list[tuple[str, dict[str, Any]]], *, key: Any = None) -> None:
        if key is None:
            self._seq += 1
            key = ("seq", self._seq)
        else:
            self._items.pop(key, None)
        self._items[key] = events

    def take(self) -> list[tuple[str, dict[str, Any]]]:
        items = [event for events in self._items.values() for event in events]
        self._items.clear()
        return items

    def __len__(self) -> int:
        return len(self._items)


class LiveObserver:
    """The engine's ``Observer``: each change becomes websocket events in the outbox."""

    def __init__(self, outbox: Outbox, on_agent: Callable[[AgentView], None] | None = None) -> None:
        self.outbox = outbox
        self.on_agent = on_agent

    def agent_changed(self, view: AgentView) -> None:
        if self.on_agent is not None:
            self.on_agent(view)
        event = {"type": "cc.agent", "agent": agent_json(view)}
        self.outbox.add(
            [(user_group(view.agent_id), event), (WALL_GROUP, event)], key=("agent", view.agent_id)
        )

    def queue_changed(self, view: QueueView) -> None:
        self.outbox.add(
            [(WALL_GROUP, {"type": "cc.queue", "queue": queue_json(view)})], key=("queue", view.code)
        )

    def offer(self, view: OfferView) -> None:
        self.outbox.add([(user_group(view.agent_id), {"type": "cc.offer", "offer": offer_json(view)})])

    def offer_ended(self, *, agent_id: int, call_id: str, answered: bool) -> None:
        event = {"type": "cc.offer_ended", "agent_id": agent_id, "call_id": call_id, "answered": answered}
        self.outbox.add([(user_group(agent_id), event)])

    def call_changed(
        self, *, call_id: str, agent_id: int | None, data: dict[str, Any], draft: dict[str, Any]
    ) -> None:
        if agent_id is None:
            return
        event = {"type": "cc.call", "call_id": call_id, "agent_id": agent_id, "data": data, "draft": draft}
        self.outbox.add([(user_group(agent_id), event)], key=("call", agent_id, call_id))


# --- buses -----------------------------------------------------------------------------------------


class Bus(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def receive(self) -> list[dict[str, Any]]:
        """The next commands (waits until there is at least one)."""
        ...

    async def send(self, events: list[tuple[str, dict[str, Any]]]) -> None: ...


class TableBus:
    """The embedded default: commands are ``LiveEvent`` rows addressed to ``switch``; events are
    ``LiveEvent`` rows the web process relays to its sockets (docs/decisions/0003)."""

    def __init__(self, *, poll_s: float = COMMAND_POLL_S) -> None:
        self.poll_s = poll_s
        self.after = 0

    async def start(self) -> None:
        from hotline.core.models import LiveEvent

        def last() -> int:
            return LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

        self.after = await asyncio.to_thread(last)  # commands older than the start are stale

    async def stop(self) -> None:
        pass

    def _fetch(self) -> list[tuple[int, Any]]:
        from django.db import close_old_connections

        from hotline.core.models import LiveEvent

        close_old_connections()
        return list(
            LiveEvent.objects.filter(id__gt=self.after, group=SWITCH_GROUP)
            .order_by("id")
            .values_list("id", "payload")[:500]
        )

    async def receive(self) -> list[dict[str, Any]]:
        while True:
            try:
                rows = await asyncio.to_thread(self._fetch)
            except Exception:  # a locked or restarting database must not end the switch
                logger.exception("reading switch commands")
                rows = []
            if rows:
                self.after = rows[-1][0]
                return [payload for _id, payload in rows if isinstance(payload, dict)]
            await asyncio.sleep(self.poll_s)

    async def send(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        from hotline.core.models import LiveEvent

        def write() -> None:
            LiveEvent.objects.bulk_create([LiveEvent(group=group, payload=event) for group, event in events])

        await asyncio.to_thread(write)


class LayerBus:
    """A shared channel layer (Redis in production; the in-memory layer when the web side runs in
    the same process, as some tests do): the switch joins the group ``switch``."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        self.channel = ""

    async def start(self) -> None:
        self.channel = await self.layer.new_channel("switch.")
        await self.layer.group_add(SWITCH_GROUP, self.channel)
        if isinstance(self.layer, InMemoryChannelLayer):
            switch_listens_here()  # the web side in this process sends through the layer too

    async def stop(self) -> None:
        await self.layer.group_discard(SWITCH_GROUP, self.channel)
        if isinstance(self.layer, InMemoryChannelLayer):
            switch_listens_here(False)

    async def receive(self) -> list[dict[str, Any]]:
        message = await self.layer.receive(self.channel)
        command = message.get("command")
        return [command] if isinstance(command, dict) else []

    async def send(self, events: list[tuple[str, dict[str, Any]]]) -> None:
        for group, event in events:
            await self.layer.group_send(group, {"type": "live.event", "event": event})


def default_bus() -> Bus:
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return TableBus()
    return LayerBus(layer)


# --- the service -----------------------------------------------------------------------------------


@dataclass
class PhoneWatch:
    """A test-phone call: who placed it, and what their screen was last told."""

    user_id: int
    call_id: str
    caller: str
    called: str
    last: dict[str, Any] = field(default_factory=dict)


def sim_endpoints(originate: Any) -> Endpoint:
    """How far ends behave on the simulated switch: agents' and supervisors' phones ring until the
    person answers on the desk (``answer``); outside numbers answer after a few seconds."""
    if str(originate.target).startswith("ext:"):
        return Endpoint(behaviour=MANUAL)
    return Endpoint(behaviour=ANSWER, answer_after_s=OUTSIDE_ANSWER_S)


Handler = Callable[[Mapping[str, Any], int], Any]


class SwitchService:
    def __init__(
        self,
        *,
        bus: Bus,
        recorder: Any = None,
        directory: Any = None,
        config: Any = None,
        recorder_delay_s: float = 1.0,
        sip: Any = None,
    ) -> None:
        from .config_load import centre_config
        from .directory import DjangoDirectory
        from .recorder import DjangoRecorder

        self.bus = bus
        self.clock = AsyncioClock()
        # ``sip``: a ``hotline.telephony.sipservice.SipRuntime`` (real calls); otherwise the
        # simulated switch, whose calls come from the test phone page
        self.sip = sip
        self.switch: Any = (
            sip.switch
            if sip is not None
            else SimSwitch(clock=self.clock, default_endpoint=sim_endpoints, keep_commands=False)
        )
        self.kind = "sip" if sip is not None else "simulated"
        self.recorder = recorder or DjangoRecorder(
            max_delay_s=recorder_delay_s, on_written=self._records_written
        )
        self.directory = directory or DjangoDirectory(recorder=self.recorder)
        self.outbox = Outbox()
        self.last_call: dict[int, str] = {}  # agent → the call they were last on
        self.observer = LiveObserver(self.outbox, on_agent=self._agent_seen)
        self.centre = ContactCentre(
            switch=self.switch,
            config=config if config is not None else centre_config(),
            recorder=self.recorder,
            directory=self.directory,
            observer=self.observer,
        )
        self.switch.attach(self.centre)
        self.phones: dict[str, PhoneWatch] = {}
        self.pause_reasons: list[dict[str, str]] = []
        self._reload_timer: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.handlers: dict[str, Handler] = {
            "state": self._state,
            "login": lambda m, u: self.centre.agent_login(
                agent_id=u, extension=str(m.get("extension") or "")
            ),
            "ready": lambda m, u: self.centre.agent_ready(agent_id=u),
            "pause": lambda m, u: self.centre.agent_pause(agent_id=u, reason=str(m.get("reason") or "")),
            "logout": lambda m, u: self.centre.agent_logout(agent_id=u),
            "unlock": self._unlock,
            "answer": self._answer,
            "hangup": lambda m, u: self.centre.call_hangup(agent_id=u, survey=bool(m.get("survey"))),
            "hold": lambda m, u: self.centre.call_hold(agent_id=u),
            "unhold": lambda m, u: self.centre.call_unhold(agent_id=u),
            "mute": lambda m, u: self.centre.call_mute(agent_id=u, muted=bool(m.get("muted", True))),
            "transfer": lambda m, u: self.centre.call_transfer(agent_id=u, target=_text(m, "target")),
            "consult": lambda m, u: self.centre.call_consult(agent_id=u, target=_text(m, "target")),
            "consult_complete": lambda m, u: self.centre.call_consult_complete(agent_id=u),
            "consult_cancel": lambda m, u: self.centre.call_consult_cancel(agent_id=u),
            "conference": lambda m, u: self.centre.call_conference(agent_id=u, number=_text(m, "number")),
            "dial": lambda m, u: self.centre.agent_dial(
                agent_id=u, number=_text(m, "number"), data=_dial_data(m)
            ),
            "callback_dial": lambda m, u: self.centre.callback_dial(
                agent_id=u, number=_text(m, "number"), callback_id=_text(m, "callback_id")
            ),
            "emergency": lambda m, u: self.centre.call_emergency(agent_id=u, service=_text(m, "service")),
            "draft": self._draft,
            "link_order": self._link_order,
            "wall": self._wall,
            "monitor": self._monitor,
            "monitor_end": lambda m, u: self.centre.supervise_end(leg_id=_text(m, "leg_id")),
            "force_release": lambda m, u: self.centre.force_release(by=u, agent_id=_int(m, "agent_id")),
            "force_pause": lambda m, u: self.centre.agent_pause(
                agent_id=_int(m, "agent_id"), reason=str(m.get("reason") or "supervisor"), by=u
            ),
            "force_logout": lambda m, u: self.centre.agent_logout(agent_id=_int(m, "agent_id"), by=u),
            "take": lambda m, u: self.centre.call_take(
                by=u, call_id=_text(m, "call_id"), agent_id=_int(m, "agent_id")
            ),
            "phone_call": self._phone_call,
            "phone_press": self._phone_press,
            "phone_hangup": self._phone_hangup,
            "reload": lambda m, u: self._reload_soon(),
        }
        self._load_pause_reasons()

    # --- running -------------------------------------------------------------------------------

    async def run(self, *, ready: asyncio.Event | None = None) -> None:
        """Serve until cancelled."""
        self._loop = asyncio.get_running_loop()
        # Django keeps a database connection per asyncio context: made here, the handle is
        # inherited by every task and timer of the service, so they share one connection
        connections[DEFAULT_DB_ALIAS]  # creates the handle in this context
        if self.sip is not None:
            await self.sip.start()
        await self.bus.start()
        self.recorder.start()
        tasks = [
            asyncio.create_task(self._commands(), name="switch-commands"),
            asyncio.create_task(self._flusher(), name="switch-flush"),
            asyncio.create_task(self._phone_watch(), name="switch-phones"),
            asyncio.create_task(self._marker(), name="switch-mark"),
        ]
        if ready is not None:
            ready.set()
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.bus.stop()
            if self.sip is not None:
                await self.sip.stop()
            await asyncio.to_thread(self.recorder.stop)
            await self.flush()
            connections.close_all()  # the service's connection (see above)

    async def _commands(self) -> None:
        while True:
            for message in await self.bus.receive():
                self.handle(message)

    async def _marker(self) -> None:
        """Tell the records how far they are complete (``RecordMark``), every ``MARK_S``: the
        roll-ups seal an hour as soon as no call of it is still going on."""
        while True:
            self.recorder.mark(self.centre.settled_until())
            await asyncio.sleep(MARK_S)

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_S)
            if len(self.outbox):
                await self.flush()

    async def flush(self) -> None:
        events = self.outbox.take()
        if not events:
            return
        try:
            await self.bus.send(events)
        except Exception:
            logger.exception("sending %d live events", len(events))

    def emit(self, group: str, event: dict[str, Any]) -> None:
        self.outbox.add([(group, event)])

    # --- commands ------------------------------------------------------------------------------

    def handle(self, message: Mapping[str, Any]) -> None:
        """Run one command from the web process: ``{"action", "by", …}``. Errors go back to the
        sender as ``cc.error``; nothing a browser sends can stop the switch."""
        action = str(message.get("action") or "")
        by = message.get("by")
        ref = message.get("ref")
        handler = self.handlers.get(action)
        try:
            if handler is None:
                raise EngineError("unknown_action", f"unknown action {action!r}")
            if not isinstance(by, int) and action != "reload":
                raise EngineError("bad_value", "the sender is missing")
            handler(message, int(by) if isinstance(by, int) else 0)
        except EngineError as exc:
            self._error(by, action, exc.code, exc.message, ref)
        except (KeyError, ValueError, TypeError) as exc:
            self._error(by, action, "bad_value", str(exc), ref)
        except Exception as exc:  # a bug must not take the switch down
            logger.exception("switch command %s", action)
            self._error(by, action, "failed", type(exc).__name__, ref)

    def _error(self, by: Any, action: str, code: str, message: str, ref: Any) -> None:
        if not isinstance(by, int):
            return
        event = {"type": "cc.error", "action": action, "code": code, "message": message}
        if ref is not None:
            event["ref"] = ref
        self.emit(user_group(by), event)

    def _switch_status(self) -> dict[str, Any]:
        return {"type": "cc.switch", "up": True, "kind": self.kind}

    def _state(self, message: Mapping[str, Any], user_id: int) -> None:
        agent = self.centre.agents.get(user_id)
        call_json = None
        if agent is not None and agent.call_id and agent.call_id in self.centre.calls:
            call = self.centre.calls[agent.call_id]
            call_json = {
                "call_id": call.call_id,
                "caller": call.caller if call.direction == "inbound" else call.called,
                "queue": call.queue,
                "draft": dict(call.draft),
                "data": dict(call.data),
            }
        event = {
            "type": "cc.state",
            "agent": agent_json(self.centre.agent_view(user_id)) if agent is not None else None,
            "call": call_json,
            "pause_reasons": self.pause_reasons,
        }
        self.emit(user_group(user_id), self._switch_status())
        self.emit(user_group(user_id), event)

    def _wall(self, message: Mapping[str, Any], user_id: int) -> None:
        snapshot = self.centre.snapshot()
        waiting: dict[str, list[dict[str, Any]]] = {}
        for code in self.centre.queues:
            rows = []
            for call_id in self.centre.waiting_calls(code):
                call = self.centre.calls[call_id]
                since = call.queued_at if call.phase == PHASE_QUEUE else None
                rows.append({"call_id": call_id, "caller": call.caller, "since": _iso(since)})
            waiting[code] = rows
        event = {
            "type": "cc.wall",
            "agents": [agent_json(v) for v in snapshot["agents"]],
            "queues": [queue_json(v) for v in snapshot["queues"]],
            "waiting": waiting,
        }
        self.emit(user_group(user_id), self._switch_status())
        self.emit(user_group(user_id), event)

    def _unlock(self, message: Mapping[str, Any], user_id: int) -> None:
        """An agent unlocks themselves; a supervisor names the agent (the web side checks who may)."""
        target = message.get("agent_id")
        if target is None:
            self.centre.agent_unlock(agent_id=user_id)
        else:
            self.centre.agent_unlock(agent_id=_int(message, "agent_id"), by=user_id)

    def _answer(self, message: Mapping[str, Any], user_id: int) -> None:
        agent = self.centre.agents.get(user_id)
        if agent is None or not agent.leg_id or not self.switch.far_answer(agent.leg_id):
            raise EngineError("no_call", "no call is ringing at this agent's phone")

    def _draft(self, message: Mapping[str, Any], user_id: int) -> None:
        draft = message.get("draft")
        if not isinstance(draft, dict):
            raise EngineError("bad_value", "draft must be an object")
        clean = {
            str(k)[:40]: v for k, v in list(draft.items())[:40] if isinstance(v, str | bool | int | None)
        }
        clean = {k: (v[:4000] if isinstance(v, str) else v) for k, v in clean.items()}
        self.centre.call_set_draft(agent_id=user_id, draft=clean)

    def _link_order(self, message: Mapping[str, Any], user_id: int) -> None:
        number = _text(message, "number")
        try:
            self.centre.call_link_order(agent_id=user_id, number=number)
            return
        except EngineError as exc:
            if exc.code != "no_call":
                raise
        call_id = self.last_call.get(user_id, "")
        if not call_id or call_id in self.centre.calls:
            raise EngineError("no_call", "no recent call to link the order to")
        self._amend_record(call_id, number)

    def _amend_record(self, call_id: str, number: str) -> None:
        """The call has ended (the agent saved the order during wrap-up): add the number to the
        written call record, after the recorder has written it."""
        recorder = self.recorder

        def amend() -> None:
            from django.db import close_old_connections, transaction

            from .models import CallRecord

            close_old_connections()
            recorder.flush()
            with transaction.atomic():
                record = CallRecord.objects.select_for_update().filter(call_id=call_id).first()
                if record is None:
                    return
                orders = list(record.data.get("orders", []))
                if number not in orders:
                    orders.append(number)
                    record.data = {**record.data, "orders": orders}
                    record.save(update_fields=["data"])

        asyncio.get_running_loop().run_in_executor(None, amend)

    def _monitor(self, message: Mapping[str, Any], user_id: int) -> None:
        agent_id = _int(message, "agent_id")
        mode = _text(message, "mode")
        extension = str(message.get("extension") or "")
        if not extension:
            own = self.centre.agents.get(user_id)
            extension = (own.extension or own.config.extension) if own is not None else ""
        if not extension:
            from .models import AgentProfile

            extension = (
                AgentProfile.objects.filter(user_id=user_id)
                .values_list("default_seat__extension", flat=True)
                .first()
                or ""
            )
        if not extension:
            raise EngineError("bad_value", "an extension is needed to listen")
        leg_id = self.centre.supervise(by=user_id, extension=extension, agent_id=agent_id, mode=mode)
        self.emit(
            user_group(user_id),
            {"type": "cc.monitoring", "leg_id": leg_id, "agent_id": agent_id, "mode": mode},
        )

    # --- test phone ----------------------------------------------------------------------------

    def _phone_call(self, message: Mapping[str, Any], user_id: int) -> None:
        if self.sip is not None:
            raise EngineError(
                "unavailable", "the test phone calls the simulated switch; call the SIP switch from a phone"
            )
        caller = _digits(message, "caller")
        called = _digits(message, "called")
        call_id, leg_id = self.switch.incoming(
            caller, called=called, trunk=PHONE_TRUNK, script=CallerScript(message_s=8.0)
        )
        watch = self.phones[leg_id] = PhoneWatch(user_id, call_id, caller, called)
        self._phone_update(leg_id, watch)

    def _phone_leg(self, message: Mapping[str, Any], user_id: int) -> str:
        leg_id = _text(message, "leg_id")
        watch = self.phones.get(leg_id)
        if watch is None or watch.user_id != user_id:
            raise EngineError("unknown_call", "no test call of yours with this leg")
        return leg_id

    def _phone_press(self, message: Mapping[str, Any], user_id: int) -> None:
        leg_id = self._phone_leg(message, user_id)
        keys = _text(message, "keys")
        if len(keys) > 32 or any(k not in "0123456789*#" for k in keys):
            raise EngineError("bad_value", "keys are 0-9, * and #")
        if self.switch.legs[leg_id].state == LEG_ENDED:
            raise EngineError("unknown_call", "the call has ended")
        self.switch.press(leg_id, keys)

    def _phone_hangup(self, message: Mapping[str, Any], user_id: int) -> None:
        leg_id = self._phone_leg(message, user_id)
        if self.switch.legs[leg_id].state != LEG_ENDED:
            self.switch.party_hangup(leg_id)

    def _party_label(self, leg_id: str) -> str:
        party = self.switch.legs[leg_id].party
        if party.startswith("ext:"):
            extension = party[4:]
            for agent in self.centre.agents.values():
                if agent.extension == extension and agent.state != "logged_out":
                    return f"agent:{agent.config.name}"
        return party

    def _phone_update(self, leg_id: str, watch: PhoneWatch) -> bool:
        """Tell the test phone's screen what changed; ``False`` once the call has ended."""
        leg = self.switch.legs[leg_id]
        if leg.state == LEG_ENDED:
            state = "ended"
        elif leg.state == LEG_ANSWERED:
            state = "answered"
        else:
            state = "ringing"
        live = state != "ended"
        body = {
            "state": state,
            "playing": list(self.switch.playing(leg_id)) if live else [],
            "hears": sorted(self._party_label(x) for x in self.switch.hears(leg_id)) if live else [],
        }
        if body != watch.last:
            watch.last = body
            event = {
                "type": "cc.phone",
                "leg_id": leg_id,
                "call_id": watch.call_id,
                "caller": watch.caller,
                "called": watch.called,
                **body,
            }
            self.emit(user_group(watch.user_id), event)
        return live

    def phones_update(self) -> None:
        for leg_id, watch in list(self.phones.items()):
            if not self._phone_update(leg_id, watch):
                del self.phones[leg_id]

    async def _phone_watch(self) -> None:
        while True:
            await asyncio.sleep(PHONE_WATCH_S)
            if self.phones:
                self.phones_update()

    # --- configuration and records -------------------------------------------------------------

    def _load_pause_reasons(self) -> None:
        from .models import PauseReason

        self.pause_reasons = [
            {"code": code, "name": name}
            for code, name in PauseReason.objects.filter(active=True).values_list("code", "name")
        ]

    def _reload_soon(self) -> None:
        if self._reload_timer is None:
            self._reload_timer = self.clock.call_later(RELOAD_DELAY_S, self._reload_now)

    def _reload_now(self) -> None:
        self._reload_timer = None
        try:
            self.reload()
        except Exception:
            logger.exception("reloading the configuration")

    def reload(self) -> None:
        """Read the configuration again: queues and agents change in place (calls and sessions
        stay); a queue or an agent removed from the configuration stays until the switch
        restarts."""
        from .config_load import centre_config

        config = centre_config()
        for queue in config.queues:
            self.centre.queue_configure(queue)
        for agent in config.agents:
            try:
                self.centre.agent_configure(agent)
            except EngineError:
                logger.exception("agent %s", agent.agent_id)
        self.centre.config = config
        self.centre.flows = config.flows
        self._load_pause_reasons()
        if self.sip is not None and self._loop is not None:
            self._loop.create_task(self.sip.reload())
        logger.info("configuration reloaded: %d queues, %d agents", len(config.queues), len(config.agents))

    def _agent_seen(self, view: AgentView) -> None:
        if view.call_id:
            self.last_call[view.agent_id] = view.call_id

    def _records_written(self, voicemails: int, callbacks: int) -> None:
        """Called from the recorder's thread after a write: the callback lists changed."""
        if not (voicemails or callbacks) or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self.emit, AGENTS_GROUP, {"type": "cc.callbacks"})


def _dial_data(message: Mapping[str, Any]) -> dict[str, str]:
    """What an outbound call is for: a revisit of an order (``order``, ``purpose``), kept on its
    call record."""
    data = {
        key: str(message[key]).strip()[:32]
        for key in ("order", "purpose")
        if isinstance(message.get(key), str)
    }
    return {key: value for key, value in data.items() if value}


def _text(message: Mapping[str, Any], key: str) -> str:
    value = message.get(key)
    if value is None or isinstance(value, dict | list):
        raise EngineError("bad_value", f"{key} is needed")
    return str(value).strip()[:64]


def _int(message: Mapping[str, Any], key: str) -> int:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise EngineError("bad_value", f"{key} must be a number")
    return int(value)


def _digits(message: Mapping[str, Any], key: str) -> str:
    value = _text(message, key)
    if not value or len(value) > 32 or not value.replace("+", "", 1).isdigit():
        raise EngineError("bad_value", f"{key} must be a phone number")
    return value
