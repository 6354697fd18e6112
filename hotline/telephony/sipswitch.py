"""The SIP switch (SIP 交换机): the switch boundary carried out with SIP (sippy) and rtpengine.

One object on the switch process's asyncio loop. SIP dialogs live on the stack's thread
(``sipstack.py``); media live in rtpengine, driven through the ng protocol (``ng.py``); digits come
from rtpengine's DTMF reports (``dtmf.py``); prompts are files (``prompts.py``).

The media model. An engine call is one rtpengine call (the same call id); every leg is one
rtpengine *monologue* tagged with the leg id. A leg's media is always paired with exactly one
other monologue: another leg (bridged: they hear each other) or the leg's own placeholder
``p-<leg>`` (alone: it hears prompts and music, and what it says goes nowhere). Pairing is an ng
``offer``/``answer`` between the two tags with each side's last SDP; with port latching rtpengine
keeps every leg's ports, so a pairing never needs SIP. Hold and mute block media; listening is a
subscription. See docs/telephony.md for the ladders.

Commands for one call run one after another (a lock per call); events reach the sink in order
and never from inside ``send``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from .boundary import (
    Answer,
    Bridge,
    CallOffered,
    Conference,
    DigitReceived,
    EventSink,
    Hangup,
    Hold,
    LegAnswered,
    LegFailed,
    LegHungUp,
    LegRinging,
    MediaFinished,
    Monitor,
    Mute,
    Originate,
    Play,
    Record,
    StopMedia,
    SwitchCommand,
    SwitchEvent,
    Unbridge,
    Unhold,
)
from .mixer import MATRICES, Mixer, endpoint_sdp
from .ng import NgClient
from .prompts import duration_s
from .sipstack import Dialog, SipStack

log = logging.getLogger(__name__)

LOOP_REPEAT = 100_000  # "forever" for music on hold
FLAGS = ("port latching",)

# What a failed INVITE's status means to the engine.
FAIL_CAUSES = {
    486: "busy",
    600: "busy",
    408: "no_answer",
    480: "unavailable",
    404: "unavailable",
    410: "unavailable",
    503: "unavailable",
    403: "rejected",
    603: "rejected",
    487: "no_answer",
}
# What an engine cause means to a caller we never answered.
REJECT_CODES = {
    "call_rejected": (603, "Decline"),
    "busy": (486, "Busy Here"),
    "closed": (480, "Temporarily Unavailable"),
}


def placeholder_sdp(address: str = "127.0.0.1") -> str:
    """The far side of a leg that is alone: a real address and port 9 (discard), send-receive
    (``c=0.0.0.0`` would read as hold to the caller)."""
    return (
        "v=0\r\n"
        f"o=- 1 1 IN IP4 {address}\r\n"
        "s=-\r\n"
        f"c=IN IP4 {address}\r\n"
        "t=0 0\r\n"
        "m=audio 9 RTP/AVP 8 0 101\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-15\r\n"
        "a=sendrecv\r\n"
    )


def mirror_direction(offer: str, answer: str) -> str:
    """Answering a re-INVITE ourselves: a send-only offer (the caller put us on hold) gets
    receive-only back, an inactive one inactive."""
    if re.search(r"^a=sendonly", offer, re.M):
        want = "a=recvonly"
    elif re.search(r"^a=inactive", offer, re.M):
        want = "a=inactive"
    elif re.search(r"^a=recvonly", offer, re.M):
        want = "a=sendonly"
    else:
        return answer
    return re.sub(r"^a=(sendrecv|sendonly|recvonly|inactive)", want, answer, flags=re.M)


def sdp_media(sdp: str) -> tuple[str, int, int]:
    """The address, port and first G.711 payload type of an SDP's audio stream."""
    host = re.search(r"^c=IN IP[46] (\S+)", sdp, re.M)
    media = re.search(r"^m=audio (\d+) RTP/\S+ ([\d ]+)", sdp, re.M)
    if host is None or media is None:
        raise ValueError("no audio stream in the SDP")
    types = [int(t) for t in media.group(2).split()]
    payload_type = next((t for t in types if t in (0, 8)), 8)
    return host.group(1), int(media.group(1)), payload_type


class Prompts(Protocol):
    """Prompt names → the one audio file rtpengine plays (``prompts.PromptLibrary``)."""

    def play_file_for(self, prompts: tuple[str, ...], *, loop: bool = False) -> Path: ...

    def known_play_file(self, prompts: tuple[str, ...], *, loop: bool = False) -> Path | None: ...


@dataclass(frozen=True, slots=True)
class Route:
    """Where an ``Originate`` target goes: host, port, the user part of the Request-URI."""

    host: str
    port: int
    user: str
    caller_id: str = ""
    username: str = ""
    password: str = ""
    trunk: str = ""
    auto_answer: bool = False


class Router(Protocol):
    """Resolves ``ext:…`` (a seat's registered or fixed phone) and ``tel:…`` (an outbound trunk)."""

    def route(self, target: str, caller_id: str) -> Route | None: ...


@dataclass(frozen=True, slots=True)
class VoicemailTake:
    """A message a caller left during a call: whose, where it goes, when (Unix times)."""

    leg_id: str
    path: str
    since: float
    until: float


@dataclass(frozen=True, slots=True)
class CallMedia:
    """What a finished call left in rtpengine's recording spool, for the archive: the tags of the
    citizen's side (inbound callers, outside numbers) and of the centre's side (agents, supervisors),
    rtpengine's last ``query`` of the call as it came (bencode: the archive's child process decodes
    it and takes each tag's ports), the recorded span and voicemails."""

    call_id: str
    caller: str
    called: str
    trunk: str
    started_at: datetime
    ended_at: datetime
    query: bytes
    citizen_tags: tuple[str, ...]
    centre_tags: tuple[str, ...]
    conversation: tuple[float, float] | None  # Unix times; None = not recorded
    voicemails: tuple[VoicemailTake, ...]


@dataclass(slots=True)
class SipLeg:
    leg_id: str
    call_id: str
    inbound: bool
    centre: bool = False  # a leg to the centre's own phones (ext:…), not to a citizen
    trunk: str = ""  # the trunk an outbound leg left through
    mixed: bool = False  # paired with its endpoint in the call's mixer room, not with a peer
    dialog: Dialog | None = None
    remote_sdp: str = ""
    state: str = "new"  # new → (calling → ringing →) up → ended
    peer: str = ""  # the leg its media is paired with; "" = its placeholder
    held: bool = False
    muted: bool = False
    media_id: str = ""
    media_interrupt: bool = False
    media_record: bool = False
    media_record_path: str = ""
    media_record_since: float = 0.0
    media_timer: asyncio.TimerHandle | None = None
    no_answer_timer: asyncio.TimerHandle | None = None
    cancelled: bool = False  # we gave up on an originated leg: its late SIP events mean nothing

    @property
    def placeholder(self) -> str:
        return f"p-{self.leg_id}"


@dataclass(slots=True)
class SipCall:
    call_id: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    legs: set[str] = field(default_factory=set)
    recording: bool = False  # the conversation is recorded (a bridge asked for it)
    capturing: bool = False  # rtpengine writes the call's pcap (a recording or a voicemail)
    record_since: float = 0.0
    voicemails: list[VoicemailTake] = field(default_factory=list)
    caller: str = ""
    called: str = ""
    trunk: str = ""
    started_at: datetime | None = None


class SipSwitch:
    """The ``Switch`` of the contact-centre engine, on SIP and rtpengine."""

    def __init__(
        self,
        *,
        media: NgClient,
        prompts: Prompts,
        router: Router,
        media_address: str = "127.0.0.1",
        sink: EventSink | None = None,
        in_thread: Callable[..., Awaitable[Any]] = asyncio.to_thread,
        archive: Callable[[CallMedia], Awaitable[None]] | None = None,
        mixer: Mixer | None = None,
    ) -> None:
        self.media = media
        self.mixer = mixer  # whisper, barge and three-way calls (rtpengine does not mix)
        self.archive = archive  # takes a finished call's recordings (``archive.py``)
        self.prompts = prompts
        self.router = router
        self.media_address = media_address
        self.in_thread = in_thread  # blocking work (prompt files read the database)
        self.sink = sink
        self.stack: SipStack | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.legs: dict[str, SipLeg] = {}
        self.calls: dict[str, SipCall] = {}
        self.ignored: list[tuple[SwitchCommand, str]] = []
        self.played: collections.deque[tuple[str, ...]] = collections.deque(maxlen=200)  # recent prompts
        self.counters = {
            "offered": 0,
            "originated": 0,
            "answered": 0,
            "failed": 0,
            "media_errors": 0,
            "archived": 0,
            "aborted": 0,  # calls ended because their media work failed
        }
        self._handlers: dict[type, Callable[[Any], Coroutine[Any, Any, None]]] = {
            Answer: self._answer,
            Play: self._play,
            StopMedia: self._stop_media,
            Record: self._record,
            Originate: self._originate,
            Bridge: self._bridge,
            Unbridge: self._unbridge,
            Hold: self._hold,
            Unhold: self._unhold,
            Mute: self._mute,
            Conference: self._conference,
            Monitor: self._monitor,
            Hangup: self._hangup,
        }

    # --- Switch protocol -----------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        assert self.loop is not None
        return self.loop.call_later(delay_s, callback)

    def send(self, command: SwitchCommand) -> None:
        log.debug("switch: %s", command)
        handler = self._handlers[type(command)]
        self._spawn(self._call_of(command), lambda: handler(command))

    def attach(self, sink: EventSink) -> None:
        self.sink = sink

    def bind(self, stack: SipStack, loop: asyncio.AbstractEventLoop) -> None:
        self.stack = stack
        self.loop = loop

    # --- plumbing ------------------------------------------------------------------------------

    def _call_of(self, command: SwitchCommand) -> str:
        if isinstance(command, Originate):
            return command.call_id
        leg_id = getattr(command, "leg_id", None) or getattr(command, "a_leg", None)
        if leg_id is None and isinstance(command, Monitor):
            leg_id = command.agent_leg
        if leg_id is None and isinstance(command, Conference):
            leg_id = command.leg_ids[0] if command.leg_ids else ""
        leg = self.legs.get(str(leg_id or ""))
        return leg.call_id if leg else ""

    def _spawn(self, call_id: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``work()`` after what the call already has under way (a command for a leg nobody
        knows runs at once and is ignored by its handler)."""
        assert self.loop is not None
        call = self.calls.setdefault(call_id, SipCall(call_id)) if call_id else SipCall("")

        async def run() -> None:
            async with call.lock:
                try:
                    await work()
                except Exception:
                    self.counters["media_errors"] += 1
                    log.exception("switch: work on call %s failed: the call is ended", call_id)
                    await self._abort(call_id)

        self.loop.create_task(run())

    def _emit(self, event: SwitchEvent) -> None:
        log.debug("event: %s", event)
        if self.sink is not None:
            try:
                self.sink.on_event(event)
            except Exception:
                log.exception("the contact centre failed on %s", type(event).__name__)

    def _live(self, leg_id: str, command: SwitchCommand) -> SipLeg | None:
        leg = self.legs.get(leg_id)
        if leg is None or leg.state == "ended":
            self.ignored.append((command, "leg ended" if leg else "no such leg"))
            return None
        return leg

    # --- SIP side (StackHandler) ---------------------------------------------------------------

    def on_invite(self, dialog: Dialog, caller: str, called: str, sdp: str, trunk: str, source: str) -> None:
        if not sdp:
            dialog.reject(488, "Not Acceptable Here")  # late offers are not supported
            return
        call_id = uuid.uuid4().hex[:20]
        leg_id = f"{call_id}-0"
        dialog.key = leg_id
        leg = SipLeg(leg_id, call_id, inbound=True, dialog=dialog, remote_sdp=sdp, state="offered")
        self.legs[leg_id] = leg
        self.calls[call_id] = SipCall(
            call_id, legs={leg_id}, caller=caller, called=called, trunk=trunk, started_at=self.now()
        )
        self.counters["offered"] += 1
        self._emit(CallOffered(call_id, leg_id, caller, called, trunk, self.now()))

    def on_dialog_event(self, dialog: Dialog, kind: str, code: int, reason: str, sdp: str) -> None:
        leg = self.legs.get(dialog.key)
        log.debug("sip: %s %s %s %s", dialog.key, kind, code, reason)
        if leg is None or leg.state == "ended":
            return
        self._spawn(leg.call_id, lambda: self._dialog_event(leg, kind, code, sdp))

    def on_digit(self, call_id: str, tag: str, digit: str) -> None:
        leg = self.legs.get(tag)
        if leg is None or leg.state != "up":
            return
        self._emit(DigitReceived(leg.leg_id, digit, self.now()))
        if leg.media_id and (leg.media_interrupt or (leg.media_record and digit == "#")):
            reason = "done" if leg.media_record else "stopped"
            self._spawn(leg.call_id, lambda: self._end_media(leg, reason, stop=True))

    async def _dialog_event(self, leg: SipLeg, kind: str, code: int, sdp: str) -> None:
        if leg.state == "ended" or leg.cancelled:
            return
        if kind == "ringing":
            if leg.state == "calling":
                leg.state = "ringing"
                self._emit(LegRinging(leg.leg_id, self.now()))
        elif kind == "connected":
            if leg.state in ("calling", "ringing"):
                await self._connected(leg, sdp)
        elif kind == "update":
            await self._reinvite(leg, sdp)
        elif kind == "failed":
            if leg.inbound:
                await self._leg_gone(leg, "normal")
            else:
                cause = FAIL_CAUSES.get(code, "error")
                await self._leg_gone(leg, cause, failed=True, code=code)
        elif kind == "disconnected":
            if not leg.inbound and leg.state in ("calling", "ringing"):
                await self._leg_gone(leg, "error", failed=True)
            else:
                await self._leg_gone(leg, "normal")

    async def _connected(self, leg: SipLeg, sdp: str) -> None:
        if leg.no_answer_timer:
            leg.no_answer_timer.cancel()
        leg.remote_sdp = sdp
        await self.media.answer(leg.call_id, leg.placeholder, leg.leg_id, sdp, flags=FLAGS)
        leg.state = "up"
        self.counters["answered"] += 1
        self._emit(LegAnswered(leg.leg_id, self.now(), leg.trunk))

    async def _reinvite(self, leg: SipLeg, sdp: str) -> None:
        """A re-INVITE (a new address, hold from the phone, a session refresh): run the leg's
        pairing again with the new SDP and answer with rtpengine's, direction mirrored."""
        assert leg.dialog is not None
        if not sdp:
            sdp = leg.remote_sdp
        leg.remote_sdp = sdp
        peer = self.legs.get(leg.peer) if leg.peer else None
        answer = await self._pair(leg, peer)
        leg.dialog.answer(mirror_direction(sdp, answer))

    # --- pairing -------------------------------------------------------------------------------

    async def _pair(self, a: SipLeg, b: SipLeg | None) -> str:
        """Pair ``a`` with ``b`` (or with its placeholder); returns the SDP facing ``a``."""
        for leg in (a, b):
            if leg is not None and leg.mixed:
                self._unmix(leg)
        far_tag = b.leg_id if b else a.placeholder
        far_sdp = b.remote_sdp if b else placeholder_sdp(self.media_address)
        await self.media.offer(a.call_id, a.leg_id, a.remote_sdp, to_tag=far_tag, flags=FLAGS)
        facing_a = await self.media.answer(a.call_id, a.leg_id, far_tag, far_sdp, flags=FLAGS)
        a.peer = b.leg_id if b else ""
        if b is not None:
            b.peer = a.leg_id
        return facing_a

    async def _isolate(self, leg: SipLeg) -> None:
        if leg.state == "up" and leg.peer:
            await self._pair(leg, None)
        leg.peer = ""

    # --- commands ------------------------------------------------------------------------------

    async def _answer(self, cmd: Answer) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is None or leg.state != "offered" or leg.dialog is None:
            return
        await self.media.offer(leg.call_id, leg.leg_id, leg.remote_sdp, flags=FLAGS)
        facing = await self.media.answer(
            leg.call_id, leg.leg_id, leg.placeholder, placeholder_sdp(self.media_address), flags=FLAGS
        )
        leg.state = "up"
        leg.dialog.answer(facing)

    async def _play_file(self, prompts: tuple[str, ...], *, loop: bool) -> Path:
        """The file rtpengine plays for ``prompts``: known already (no thread), or found on a worker
        thread (it may read the prompt rows or render audio)."""
        known = self.prompts.known_play_file(prompts, loop=loop)
        if known is not None:
            return known
        return await self.in_thread(self.prompts.play_file_for, prompts, loop=loop)

    async def _play(self, cmd: Play) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is None or leg.state != "up":
            return
        if leg.media_id:
            await self._end_media(leg, "stopped", stop=True)
        leg.media_id = cmd.media_id
        leg.media_interrupt = cmd.interrupt
        leg.media_record = False
        self.played.append(tuple(cmd.prompts))
        try:
            path = await self._play_file(tuple(cmd.prompts), loop=cmd.loop)
            duration_ms = await self.media.play_media(
                leg.call_id, leg.leg_id, str(path), repeat_times=LOOP_REPEAT if cmd.loop else None
            )
        except Exception:
            log.exception("playing %s on %s", cmd.prompts, leg.leg_id)
            self.counters["media_errors"] += 1
            await self._end_media(leg, "failed")
            return
        if not cmd.loop:
            seconds = duration_ms / 1000 if duration_ms else await asyncio.to_thread(duration_s, path)
            media_id = cmd.media_id
            leg.media_timer = self.call_later(seconds, lambda: self._media_timeout(leg, media_id))

    def _media_timeout(self, leg: SipLeg, media_id: str) -> None:
        if leg.media_id == media_id and leg.state == "up":
            self._spawn(leg.call_id, lambda: self._end_media(leg, "done", only=media_id))

    async def _end_media(
        self, leg: SipLeg, reason: str, *, stop: bool = False, emit: bool = True, only: str = ""
    ) -> None:
        """End what plays on ``leg`` (``only``: if it is still that media)."""
        media_id = leg.media_id
        if not media_id or (only and media_id != only):
            return
        leg.media_id = ""
        if leg.media_timer:
            leg.media_timer.cancel()
            leg.media_timer = None
        path = ""
        if leg.media_record:
            leg.media_record = False
            path, leg.media_record_path = leg.media_record_path, ""
            call = self.calls.get(leg.call_id)
            if call is not None:
                call.voicemails.append(VoicemailTake(leg.leg_id, path, leg.media_record_since, time.time()))
        elif stop and leg.state == "up":
            with contextlib.suppress(Exception):
                await self.media.stop_media(leg.call_id, leg.leg_id)
        if emit:
            self._emit(MediaFinished(leg.leg_id, media_id, reason, self.now(), path))

    async def _stop_media(self, cmd: StopMedia) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is not None:
            await self._end_media(leg, "stopped", stop=True)

    async def _record(self, cmd: Record) -> None:
        """A voicemail: rtpengine captures the call from now on; what the caller says until ``#``,
        the limit or the hang-up becomes ``cmd.path`` when the call is archived."""
        leg = self._live(cmd.leg_id, cmd)
        if leg is None or leg.state != "up":
            if leg is not None:
                self._emit(MediaFinished(leg.leg_id, cmd.media_id, "failed", self.now()))
            return
        if leg.media_id:
            await self._end_media(leg, "stopped", stop=True)
        call = self.calls.get(leg.call_id)
        try:
            if call is not None and not call.capturing:
                await self.media.start_recording(leg.call_id)
                call.capturing = True
        except Exception:
            log.exception("recording a message on %s", leg.leg_id)
            self.counters["media_errors"] += 1
            self._emit(MediaFinished(leg.leg_id, cmd.media_id, "failed", self.now()))
            return
        leg.media_id = cmd.media_id
        leg.media_interrupt = False
        leg.media_record = True
        leg.media_record_path = cmd.path
        leg.media_record_since = time.time()
        media_id = cmd.media_id
        leg.media_timer = self.call_later(cmd.max_seconds, lambda: self._media_timeout(leg, media_id))

    async def _originate(self, cmd: Originate) -> None:
        call = self.calls.setdefault(cmd.call_id, SipCall(cmd.call_id, caller=cmd.caller_id))
        if call.started_at is None:  # a call the centre places (click-to-dial, callback, revisit)
            call.started_at = self.now()
            call.called = cmd.target.partition(":")[2]
        leg = SipLeg(
            cmd.leg_id, cmd.call_id, inbound=False, state="calling", centre=not cmd.target.startswith("tel:")
        )
        self.legs[cmd.leg_id] = leg
        call.legs.add(cmd.leg_id)
        self.counters["originated"] += 1
        route = self.router.route(cmd.target, cmd.caller_id)
        leg.trunk = route.trunk if route is not None else ""
        if route is None or self.stack is None:
            await self._leg_gone(leg, "unavailable", failed=True, code=480)
            return
        sdp = await self.media.offer(
            cmd.call_id, leg.placeholder, placeholder_sdp(self.media_address), to_tag=leg.leg_id, flags=FLAGS
        )
        headers: tuple[tuple[str, str], ...] = ()
        if cmd.auto_answer or route.auto_answer:
            headers = (("Call-Info", "<sip:hotline>;answer-after=0"), ("Alert-Info", "info=alert-autoanswer"))
        leg.dialog = self.stack.invite(
            key=leg.leg_id,
            host=route.host,
            port=route.port,
            user=route.user,
            caller_id=route.caller_id or cmd.caller_id,
            caller_name="",
            sdp=sdp,
            headers=headers,
            username=route.username,
            password=route.password,
        )
        leg.no_answer_timer = self.call_later(cmd.timeout_s, lambda: self._no_answer(leg))

    def _no_answer(self, leg: SipLeg) -> None:
        if leg.state in ("calling", "ringing"):
            self._spawn(leg.call_id, lambda: self._give_up(leg))

    async def _give_up(self, leg: SipLeg) -> None:
        if leg.state not in ("calling", "ringing"):
            return
        leg.cancelled = True
        if leg.dialog is not None:
            leg.dialog.hangup()  # CANCEL
        await self._leg_gone(leg, "no_answer", failed=True, code=408)

    async def _bridge(self, cmd: Bridge) -> None:
        a = self._live(cmd.a_leg, cmd)
        b = self._live(cmd.b_leg, cmd)
        if a is None or b is None or a.state != "up" or b.state != "up":
            return
        for leg in (a, b):
            await self._end_media(leg, "stopped", stop=True)
            if leg.held:
                leg.held = False
                await self.media.unblock_media(leg.call_id, leg.leg_id)
        for leg in (a, b):
            old = self.legs.get(leg.peer) if leg.peer else None
            if old is not None and old.leg_id not in (a.leg_id, b.leg_id):
                await self._isolate(old)
        await self._pair(a, b)
        call = self.calls.get(a.call_id)
        if cmd.record and call is not None and not call.recording:
            try:
                if not call.capturing:
                    await self.media.start_recording(a.call_id)
                    call.capturing = True
                call.recording = True
                call.record_since = time.time()
            except Exception:
                log.exception("starting the recording of %s", a.call_id)

    async def _unbridge(self, cmd: Unbridge) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is None:
            return
        peer = self.legs.get(leg.peer) if leg.peer else None
        await self._isolate(leg)
        if peer is not None:
            await self._isolate(peer)

    async def _hold(self, cmd: Hold) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is None or leg.state != "up" or leg.held:
            return
        await self._end_media(leg, "stopped", stop=True)
        leg.held = True
        await self.media.block_media(leg.call_id, leg.leg_id)
        peer = self.legs.get(leg.peer) if leg.peer else None
        if peer is not None and peer.state == "up":
            await self.media.block_media(peer.call_id, peer.leg_id)
        path = await self._play_file((cmd.music,), loop=True)
        await self.media.play_media(leg.call_id, leg.leg_id, str(path), repeat_times=LOOP_REPEAT)

    async def _unhold(self, cmd: Unhold) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is None or not leg.held:
            return
        leg.held = False
        with contextlib.suppress(Exception):
            await self.media.stop_media(leg.call_id, leg.leg_id)
        if not leg.muted:
            await self.media.unblock_media(leg.call_id, leg.leg_id)
        peer = self.legs.get(leg.peer) if leg.peer else None
        if peer is not None and peer.state == "up" and not peer.muted:
            await self.media.unblock_media(peer.call_id, peer.leg_id)

    async def _mute(self, cmd: Mute) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is None or leg.state != "up" or leg.muted == cmd.muted:
            return
        leg.muted = cmd.muted
        if cmd.muted:
            await self.media.block_media(leg.call_id, leg.leg_id)
        elif not leg.held:
            await self.media.unblock_media(leg.call_id, leg.leg_id)

    # --- mixing (whisper, barge, listen, three-way) --------------------------------------------

    async def _mix(self, leg: SipLeg) -> None:
        """Pair ``leg`` with its endpoint in the call's room: rtpengine sends the leg's audio to the
        mixer and the leg hears what the mixer sends back (port latching keeps the phone's side,
        so no SIP is needed). See docs/telephony.md, "Mixer"."""
        assert self.mixer is not None
        if leg.mixed:
            return
        room = self.mixer.room(leg.call_id)
        port = await room.add(leg.leg_id)
        tag = f"mx-{leg.leg_id}"
        facing_mixer = await self.media.offer(
            leg.call_id, leg.leg_id, leg.remote_sdp, to_tag=tag, flags=FLAGS
        )
        host, rtp_port, payload_type = sdp_media(facing_mixer)
        await self.media.answer(
            leg.call_id, leg.leg_id, tag, endpoint_sdp(self.mixer.address, port, payload_type), flags=FLAGS
        )
        room.connect(leg.leg_id, host, rtp_port, payload_type)
        old = self.legs.get(leg.peer) if leg.peer else None
        if old is not None and old.peer == leg.leg_id:
            old.peer = ""
        leg.peer = ""
        leg.mixed = True

    def _unmix(self, leg: SipLeg) -> None:
        if self.mixer is not None and leg.call_id in self.mixer.rooms():
            self.mixer.room(leg.call_id).remove(leg.leg_id)
        leg.mixed = False

    async def _mix_legs(self, roles: dict[str, SipLeg], mode: str, cmd: SwitchCommand) -> None:
        if self.mixer is None:
            self.ignored.append((cmd, "no mixer in this switch"))
            return
        for leg in roles.values():
            await self._end_media(leg, "stopped", stop=True)
            await self._mix(leg)
        self.mixer.room(next(iter(roles.values())).call_id).set_matrix(
            MATRICES[mode], {role: leg.leg_id for role, leg in roles.items()}
        )

    async def _monitor(self, cmd: Monitor) -> None:
        """A supervisor's answered leg joins the agent's call: ``listen``, ``whisper`` or ``barge``."""
        supervisor = self._live(cmd.supervisor_leg, cmd)
        agent = self._live(cmd.agent_leg, cmd)
        if supervisor is None or agent is None or supervisor.state != "up" or agent.state != "up":
            return
        caller = self._caller_of(agent)
        if caller is None or cmd.mode not in ("listen", "whisper", "barge"):
            self.ignored.append((cmd, "the agent is not talking to a caller"))
            return
        await self._mix_legs({"caller": caller, "agent": agent, "supervisor": supervisor}, cmd.mode, cmd)

    async def _conference(self, cmd: Conference) -> None:
        """Three-way call (三方通话): the caller, the agent and a third leg all hear each other."""
        legs = [self._live(leg_id, cmd) for leg_id in cmd.leg_ids]
        live = [leg for leg in legs if leg is not None and leg.state == "up"]
        if len(live) != 3 or len(cmd.leg_ids) != 3:
            self.ignored.append((cmd, "a conference needs three answered legs"))
            return
        caller, agent, third = live
        await self._mix_legs({"caller": caller, "agent": agent, "department": third}, "three_way", cmd)

    def _caller_of(self, agent: SipLeg) -> SipLeg | None:
        """The leg the agent talks to: its bridge peer, or the other mixed member of the call."""
        if agent.peer:
            return self.legs.get(agent.peer)
        call = self.calls.get(agent.call_id)
        for leg_id in call.legs if call else ():
            leg = self.legs.get(leg_id)
            if leg is not None and leg.mixed and leg.leg_id != agent.leg_id and not leg.centre:
                return leg
        return None

    async def _hangup(self, cmd: Hangup) -> None:
        leg = self._live(cmd.leg_id, cmd)
        if leg is None:
            return
        if leg.dialog is not None:
            if leg.inbound and leg.state == "offered":
                code, reason = REJECT_CODES.get(cmd.cause, (480, "Temporarily Unavailable"))
                leg.dialog.reject(code, reason)
            else:
                if not leg.inbound and leg.state in ("calling", "ringing"):
                    leg.cancelled = True
                leg.dialog.hangup()
        await self._leg_gone(leg, cmd.cause)

    # --- the end of a leg and of a call --------------------------------------------------------

    async def _leg_gone(self, leg: SipLeg, cause: str, *, failed: bool = False, code: int = 0) -> None:
        if leg.state == "ended":
            return
        was_up = leg.state == "up"
        if leg.no_answer_timer:
            leg.no_answer_timer.cancel()
        await self._end_media(leg, "stopped", emit=True)
        leg.state = "ended"
        if leg.mixed:
            self._unmix(leg)
        peer = self.legs.get(leg.peer) if leg.peer else None
        leg.peer = ""
        if peer is not None and peer.peer == leg.leg_id:
            # No re-pairing with its placeholder: nothing comes from the ended leg any more, a
            # prompt reaches the peer anyway, and the next Bridge pairs it afresh (two ng requests
            # fewer at the end of every call).
            peer.peer = ""
        if failed and not was_up:
            self.counters["failed"] += 1
            self._emit(LegFailed(leg.leg_id, cause, self.now(), code, leg.trunk))
        else:
            self._emit(LegHungUp(leg.leg_id, cause, self.now()))
        call = self.calls.get(leg.call_id)
        if call is not None and all(self.legs[x].state == "ended" for x in call.legs if x in self.legs):
            await self._call_over(call)

    async def _call_over(self, call: SipCall) -> None:
        query = b""
        if call.capturing:
            try:
                query = await self.media.query_undecoded(call.call_id)
            except Exception:
                log.exception("querying %s before archiving it", call.call_id)
        with contextlib.suppress(Exception):
            await self.media.delete(call.call_id)
        if self.mixer is not None and call.call_id in self.mixer.rooms():
            await self.mixer.room(call.call_id).close()
        legs = [leg for x in call.legs if (leg := self.legs.pop(x, None)) is not None]
        self.calls.pop(call.call_id, None)
        if call.capturing and self.archive is not None:
            media = CallMedia(
                call_id=call.call_id,
                caller=call.caller,
                called=call.called,
                trunk=call.trunk,
                started_at=call.started_at or self.now(),
                ended_at=self.now(),
                query=query,
                citizen_tags=tuple(leg.leg_id for leg in legs if not leg.centre),
                centre_tags=tuple(leg.leg_id for leg in legs if leg.centre),
                conversation=(call.record_since, time.time()) if call.recording else None,
                voicemails=tuple(call.voicemails),
            )
            self._background(self._archive(media))

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        assert self.loop is not None
        self.loop.create_task(work)

    async def _archive(self, media: CallMedia) -> None:
        assert self.archive is not None
        try:
            await self.archive(media)
            self.counters["archived"] += 1
        except Exception:
            self.counters["media_errors"] += 1
            log.exception("archiving the recordings of %s", media.call_id)

    async def _abort(self, call_id: str) -> None:
        """End every leg of a call whose media work failed (rtpengine did not answer, an error):
        a caller not answered yet gets ``503``, the rest a BYE or CANCEL; the engine hears each
        leg end, so nobody is left waiting on a half-made call."""
        call = self.calls.get(call_id)
        if call is None:
            return
        self.counters["aborted"] += 1
        for leg_id in list(call.legs):
            leg = self.legs.get(leg_id)
            if leg is None or leg.state == "ended":
                continue
            try:
                if leg.dialog is not None:
                    if leg.inbound and leg.state == "offered":
                        leg.dialog.reject(503, "Service Unavailable")
                    else:
                        if not leg.inbound and leg.state in ("calling", "ringing"):
                            leg.cancelled = True
                        leg.dialog.hangup()
                await self._leg_gone(leg, "error", failed=not leg.inbound and leg.state != "up", code=503)
            except Exception:
                log.exception("ending leg %s of the failed call %s", leg_id, call_id)

    # --- reconciliation ------------------------------------------------------------------------

    async def reconcile(self) -> dict[str, int]:
        """Compare the calls rtpengine holds with ours: delete its orphans (left by a restart of
        this process), and end our calls whose media it lost (a restart of rtpengine)."""
        theirs = set(await self.media.list_calls(limit=100_000))
        orphans = theirs - set(self.calls)
        for call_id in orphans:
            with contextlib.suppress(Exception):
                await self.media.delete(call_id)
        lost = 0
        for call_id, call in list(self.calls.items()):
            up = [leg for x in call.legs if (leg := self.legs.get(x)) is not None and leg.state == "up"]
            if not up or call_id in theirs:
                continue
            lost += 1
            for leg in up:
                self._spawn(call_id, partial(self._hangup, Hangup(leg.leg_id, "media_lost")))
        return {"orphans": len(orphans), "lost": lost}
