"""The audio mixer (混音) of supervised calls and three-way calls: whisper (耳语), barge (强插),
listen-in (监听) and a call with a department number (三方通话).

rtpengine 10.5 forwards RTP between the legs of a call but cannot mix audio. For a mixed call each
leg is paired in rtpengine with a *mixer endpoint* instead of with the other leg: rtpengine sends
the leg's audio (as the phone sent it: G.711 A-law or µ-law in 20 ms packets, plus RFC 2833
events, which the mixer ignores) to the endpoint's UDP port, and the endpoint sends back what that
leg hears, from the same port, to rtpengine's port for it.

A :class:`Room` is one mixed call, its members are the legs (each with its own endpoint), and who
hears whom is the room's matrix (:meth:`Room.set_hears`, or :meth:`Room.set_matrix` with one of
the named matrices below). Nobody ever hears their own audio.

One clock drives the whole mixer. Every 20 ms (``loop.call_at`` against a monotonic deadline that
advances by exactly 20 ms, so it does not drift) each member's :class:`JitterBuffer` gives one
frame, and each connected member is sent one RTP packet (its own SSRC, sequence + 1, timestamp
+ 160, marker on the first) with the sum of the frames it hears, clipped to 16 bits and encoded
in its codec — silence when it hears no one, so a phone never gets a gap.

Everything runs on the switch's event loop: asyncio UDP endpoints, no threads. G.711 is done with
numpy lookup tables: the decoding tables of :mod:`hotline.telephony.pcapwav` and 65,536-entry
encoding tables built here once at import (the ITU-T G.711 segment rules, the same codes as the
reference implementation that Python's ``audioop`` carried).
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.telephony.pcapwav import ALAW_TO_LINEAR, PCMA, PCMU, ULAW_TO_LINEAR

logger = logging.getLogger(__name__)

Frame = npt.NDArray[np.int16]

SAMPLE_RATE = 8000
PERIOD_S = 0.020  # one tick, one frame, one packet
SAMPLES_PER_FRAME = 160
JITTER_DEPTH = 3  # frames a jitter buffer holds at most
PREFILL_TICKS = 1  # a stream that starts waits this many ticks, so a packet up to 20 ms late is in time
IDLE_AFTER = 5  # ticks with nothing buffered after which a member counts as not sending
MAX_JUMP = 50  # a sequence number further than this (1 s) from the expected one starts a new stream
MAX_BEHIND_S = 0.2  # a clock later than this skips the ticks it missed instead of sending bursts
PAYLOAD_TYPES = (PCMU, PCMA)
TELEPHONE_EVENT = 101


class MixerError(Exception):
    """The mixer was asked for something it cannot do (an unknown member, a closed room…)."""


class MixerPortsExhausted(MixerError):
    """Every UDP port of the mixer's range is taken."""


# ---------------------------------------------------------------------------------------------
# G.711 (ITU-T G.711): encoding tables, indexed by the 16-bit pattern of a linear sample
# ---------------------------------------------------------------------------------------------

_ALAW_SEGMENT_ENDS = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])
_ULAW_SEGMENT_ENDS = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF])
_ULAW_CLIP = 8159  # largest magnitude of the 14-bit input
_ULAW_BIAS = 0x84 >> 2


def _every_sample() -> npt.NDArray[np.int32]:
    """Every int16 value, at the index of its own bit pattern (0, 1, …, 32767, -32768, …, -1)."""
    return np.arange(65536, dtype=np.uint16).view(np.int16).astype(np.int32)


def _linear_to_alaw_table() -> npt.NDArray[np.uint8]:
    linear = _every_sample() >> 3  # A-law quantises 13 bits
    negative = linear < 0
    magnitude = np.where(negative, -linear - 1, linear)
    segment = np.searchsorted(_ALAW_SEGMENT_ENDS, magnitude)  # the first segment that holds it
    quantised = np.where(segment < 2, magnitude >> 1, magnitude >> segment) & 0x0F
    code = np.where(segment >= 8, 0x7F, (segment << 4) | quantised)
    return (code ^ np.where(negative, 0x55, 0xD5)).astype(np.uint8)  # even bits inverted, sign set


def _linear_to_ulaw_table() -> npt.NDArray[np.uint8]:
    linear = _every_sample() >> 2  # µ-law quantises 14 bits
    negative = linear < 0
    magnitude = np.minimum(np.where(negative, -linear, linear), _ULAW_CLIP) + _ULAW_BIAS
    segment = np.searchsorted(_ULAW_SEGMENT_ENDS, magnitude)
    code = np.where(segment >= 8, 0x7F, (segment << 4) | ((magnitude >> (segment + 1)) & 0x0F))
    return (code ^ np.where(negative, 0x7F, 0xFF)).astype(np.uint8)  # every bit inverted


LINEAR_TO_ALAW = _linear_to_alaw_table()
LINEAR_TO_ULAW = _linear_to_ulaw_table()
_ENCODE: Mapping[int, npt.NDArray[np.uint8]] = {PCMA: LINEAR_TO_ALAW, PCMU: LINEAR_TO_ULAW}
# The sum of up to four sources, clipped to 16 bits and encoded in one lookup (index: sum + offset),
# so a mix needs no separate clipping pass.
WIDE_SOURCES = 4
_WIDE_OFFSET = WIDE_SOURCES * 32768
_WIDE_SAMPLES = np.clip(np.arange(-_WIDE_OFFSET, _WIDE_OFFSET, dtype=np.int32), -32768, 32767).astype(
    np.int16
)
_ENCODE_WIDE: Mapping[int, npt.NDArray[np.uint8]] = {
    pt: table[_WIDE_SAMPLES.view(np.uint16)] for pt, table in _ENCODE.items()
}
_DECODE: Mapping[int, npt.NDArray[np.int16]] = {PCMA: ALAW_TO_LINEAR, PCMU: ULAW_TO_LINEAR}
_SILENCE_FRAME: Frame = np.zeros(SAMPLES_PER_FRAME, dtype=np.int16)
_SILENCE: Mapping[int, bytes] = {
    pt: table[_SILENCE_FRAME.view(np.uint16)].tobytes() for pt, table in _ENCODE.items()
}


def g711_encode(samples: Frame, payload_type: int) -> bytes:
    """16-bit linear samples → G.711 bytes (payload type 8 A-law, 0 µ-law)."""
    table = _ENCODE[payload_type]
    return table[np.ascontiguousarray(samples, dtype=np.int16).view(np.uint16)].tobytes()


def g711_decode(payload: bytes, payload_type: int) -> Frame:
    """G.711 bytes → 16-bit linear samples."""
    return _DECODE[payload_type][np.frombuffer(payload, dtype=np.uint8)]


# ---------------------------------------------------------------------------------------------
# Who hears whom
# ---------------------------------------------------------------------------------------------

Matrix = Mapping[str, frozenset[str]]

# 监听: the supervisor hears both parties and nobody hears the supervisor.
LISTEN_IN: Matrix = {
    "caller": frozenset({"agent"}),
    "agent": frozenset({"caller"}),
    "supervisor": frozenset({"caller", "agent"}),
}
# 耳语: the supervisor coaches the agent; the caller does not hear it.
WHISPER: Matrix = {
    "caller": frozenset({"agent"}),
    "agent": frozenset({"caller", "supervisor"}),
    "supervisor": frozenset({"caller", "agent"}),
}
# 强插: the supervisor joins the call; everybody hears everybody else.
BARGE: Matrix = {
    "caller": frozenset({"agent", "supervisor"}),
    "agent": frozenset({"caller", "supervisor"}),
    "supervisor": frozenset({"caller", "agent"}),
}
# 三方通话: caller, agent and a department number, everybody hears everybody else.
THREE_WAY: Matrix = {
    "caller": frozenset({"agent", "department"}),
    "agent": frozenset({"caller", "department"}),
    "department": frozenset({"caller", "agent"}),
}
MATRICES: Mapping[str, Matrix] = {
    "listen": LISTEN_IN,
    "whisper": WHISPER,
    "barge": BARGE,
    "three_way": THREE_WAY,
}


def endpoint_sdp(address: str, port: int, payload_type: int) -> str:
    """The SDP of a mixer endpoint, for rtpengine's ``answer`` when a leg is paired with it: the
    endpoint's address and port and one G.711 codec (the one the leg's offer prefers), plus
    telephone-event so the phone keeps sending RFC 2833 digits (the DTMF log still sees them)."""
    if payload_type not in PAYLOAD_TYPES:
        raise MixerError(f"payload type {payload_type} is not G.711 (0 PCMU, 8 PCMA)")
    name = "PCMA" if payload_type == PCMA else "PCMU"
    return (
        "v=0\r\n"
        f"o=- 1 1 IN IP4 {address}\r\n"
        "s=-\r\n"
        f"c=IN IP4 {address}\r\n"
        "t=0 0\r\n"
        f"m=audio {port} RTP/AVP {payload_type} {TELEPHONE_EVENT}\r\n"
        f"a=rtpmap:{payload_type} {name}/8000\r\n"
        f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000\r\n"
        f"a=fmtp:{TELEPHONE_EVENT} 0-15\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n"
    )


# ---------------------------------------------------------------------------------------------
# Counters
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Counters:
    """What the mixer did since it was made; :attr:`Mixer.stats` adds rooms and members."""

    ticks: int = 0
    ticks_skipped: int = 0  # ticks not run because the clock fell more than MAX_BEHIND_S behind
    tick_overruns: int = 0  # ticks that ended after the next one was due
    tick_late_max_ms: float = 0.0  # the latest a tick started after its deadline
    tick_work_ms: float = 0.0  # time spent mixing and sending, in total
    tick_work_max_ms: float = 0.0
    packets_received: int = 0  # G.711 packets taken
    packets_ignored: int = 0  # anything else: RFC 2833 events, comfort noise, RTCP, other codecs
    packets_late: int = 0  # arrived after their frame was played (or a copy of a played one)
    packets_duplicate: int = 0  # a copy of a frame still buffered
    packets_dropped: int = 0  # pushed out of a full jitter buffer
    frames_lost: int = 0  # missing when its turn came while later frames were buffered: silence
    underruns: int = 0  # ticks on which a sending member had nothing buffered: silence
    packets_sent: int = 0
    frames_mixed: int = 0  # packets sent that carried someone's audio (the others carry silence)
    send_errors: int = 0


# ---------------------------------------------------------------------------------------------
# Jitter buffer
# ---------------------------------------------------------------------------------------------


class JitterBuffer:
    """One member's incoming frames in sequence order, one taken per tick.

    The first packet of a stream sets the sequence number the next tick takes and the stream
    waits :data:`PREFILL_TICKS` ticks, so a packet up to 20 ms behind its successor is still in
    time. After that each :meth:`pop` takes the next sequence number: a frame that is missing is
    silence (``None``). A packet behind the one to play (late, or a copy of a played one) or a
    copy of a buffered one is dropped; when more than ``depth`` frames would be held, the oldest
    go. Sequence numbers wrap at 65,536; a new SSRC, a jump of more than :data:`MAX_JUMP`, or a
    packet after :data:`IDLE_AFTER` empty ticks starts a new stream.
    """

    __slots__ = ("_frames", "_misses", "_next", "_ssrc", "_wait", "counters", "depth")

    def __init__(self, *, depth: int = JITTER_DEPTH, counters: Counters | None = None) -> None:
        if depth < 1:
            raise ValueError("a jitter buffer holds at least one frame")
        self.depth = depth
        self.counters = counters if counters is not None else Counters()
        self._frames: dict[int, Frame] = {}
        self._next: int | None = None  # sequence number of the frame the next tick takes
        self._ssrc: int | None = None
        self._wait = 0
        self._misses = 0

    @property
    def playing(self) -> bool:
        return self._next is not None

    def __len__(self) -> int:
        return len(self._frames)

    def _restart(self, seq: int, ssrc: int) -> None:
        self._frames.clear()
        self._next = seq
        self._ssrc = ssrc
        self._wait = PREFILL_TICKS
        self._misses = 0

    def push(self, seq: int, frame: Frame, ssrc: int = 0) -> bool:
        """Keep ``frame`` (RTP sequence number ``seq``); False when it was dropped."""
        seq &= 0xFFFF
        if self._next is None or ssrc != self._ssrc:
            self._restart(seq, ssrc)
        assert self._next is not None
        ahead = (seq - self._next) & 0xFFFF
        if ahead >= 0x8000:  # behind the frame to play next
            if 0x10000 - ahead <= MAX_JUMP:
                self.counters.packets_late += 1
                return False
            self._restart(seq, ssrc)
            ahead = 0
        elif ahead > MAX_JUMP:
            self._restart(seq, ssrc)
            ahead = 0
        if seq in self._frames:
            self.counters.packets_duplicate += 1
            return False
        self._frames[seq] = frame
        while ahead >= self.depth:  # keep the newest ``depth`` sequence numbers
            if self._frames.pop(self._next, None) is not None:
                self.counters.packets_dropped += 1
            self._next = (self._next + 1) & 0xFFFF
            ahead -= 1
        return True

    def pop(self) -> Frame | None:
        """This tick's frame; None for silence (nothing sent yet, a lost or a late packet)."""
        if self._next is None:
            return None
        if self._wait:
            self._wait -= 1
            return None
        frame = self._frames.pop(self._next, None)
        self._next = (self._next + 1) & 0xFFFF
        if frame is not None:
            self._misses = 0
            return frame
        if self._frames:
            self.counters.frames_lost += 1
            return None
        self.counters.underruns += 1
        self._misses += 1
        if self._misses >= IDLE_AFTER:  # the phone stopped sending: start afresh when it resumes
            self._next = None
        return None


# ---------------------------------------------------------------------------------------------
# Members and rooms
# ---------------------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Member:
    member_id: str
    port: int
    transport: asyncio.DatagramTransport
    jitter: JitterBuffer
    ssrc: int
    seq: int
    timestamp_offset: int
    hears: frozenset[str] = frozenset()
    remote: tuple[str, int] | None = None
    payload_type: int = PCMA
    sent: int = 0
    frame: Frame | None = None  # this tick's frame
    closed: asyncio.Future[None] | None = field(default=None, repr=False)


def _fit(samples: Frame) -> Frame:
    """A frame of exactly 160 samples (a phone that ignored ``ptime:20`` is cut or padded)."""
    if samples.size == SAMPLES_PER_FRAME:
        return samples
    out = np.zeros(SAMPLES_PER_FRAME, dtype=np.int16)
    n = min(samples.size, SAMPLES_PER_FRAME)
    out[:n] = samples[:n]
    return out


class _Endpoint(asyncio.DatagramProtocol):
    """One member's UDP socket: packets in go to its jitter buffer."""

    def __init__(self, counters: Counters, closed: asyncio.Future[None]) -> None:
        self.counters = counters
        self.closed = closed
        self.member: _Member | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        # The source address does not matter: the mix goes to the connected address.
        member = self.member
        if member is None or len(data) < 12 or data[0] >> 6 != 2:
            self.counters.packets_ignored += 1
            return
        table = _DECODE.get(data[1] & 0x7F)
        if table is None:  # RFC 2833 events, comfort noise, RTCP, other codecs
            self.counters.packets_ignored += 1
            return
        start = 12 + 4 * (data[0] & 0x0F)  # after the CSRCs
        if data[0] & 0x10:  # a header extension: its length is in 32-bit words
            start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")  # cut short: ignored below
        end = len(data) - (data[-1] if data[0] & 0x20 else 0)  # padding
        if end <= start:
            self.counters.packets_ignored += 1
            return
        self.counters.packets_received += 1
        seq = int.from_bytes(data[2:4], "big")
        ssrc = int.from_bytes(data[8:12], "big")
        samples = table[np.frombuffer(data, dtype=np.uint8, count=end - start, offset=start)]
        member.jitter.push(seq, _fit(samples), ssrc)

    def error_received(self, exc: Exception) -> None:
        # An ICMP error for a packet sent (rtpengine's port gone): the next tick sends again.
        self.counters.send_errors += 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


_RTP_HEADER = struct.Struct("!BBHII")


class Room:
    """One mixed call: its members (legs), each with a UDP endpoint, and who hears whom."""

    def __init__(self, mixer: Mixer, room_id: str) -> None:
        self.mixer = mixer
        self.room_id = room_id
        self._members: dict[str, _Member] = {}
        self.closed = False

    def __repr__(self) -> str:
        return f"<Room {self.room_id} {self.members}>"

    @property
    def members(self) -> list[str]:
        return list(self._members)

    def _member(self, member_id: str) -> _Member:
        try:
            return self._members[member_id]
        except KeyError:
            raise MixerError(f"{member_id!r} is not a member of room {self.room_id!r}") from None

    async def add(self, member_id: str) -> int:
        """Give ``member_id`` an endpoint: a UDP socket on the mixer's address and a port of its
        range; returns the port (the same one when the member is already in the room)."""
        if self.closed:
            raise MixerError(f"room {self.room_id!r} is closed")
        if member_id in self._members:
            return self._members[member_id].port
        loop = asyncio.get_running_loop()
        closed: asyncio.Future[None] = loop.create_future()
        protocol = _Endpoint(self.mixer.counters, closed)
        transport, port = await self.mixer._bind(protocol)
        if self.closed or member_id in self._members:  # closed or added meanwhile
            transport.close()
            self.mixer._ports.discard(port)
            if member_id in self._members:
                return self._members[member_id].port
            raise MixerError(f"room {self.room_id!r} is closed")
        rng = self.mixer._random
        member = _Member(
            member_id=member_id,
            port=port,
            transport=transport,
            jitter=JitterBuffer(counters=self.mixer.counters),
            ssrc=rng.getrandbits(32),
            seq=rng.getrandbits(16),
            timestamp_offset=rng.getrandbits(32),
            closed=closed,
        )
        protocol.member = member
        self._members[member_id] = member
        return port

    def port(self, member_id: str) -> int:
        return self._member(member_id).port

    def connect(self, member_id: str, host: str, port: int, payload_type: int) -> None:
        """Send ``member_id``'s mix to ``host:port`` (rtpengine's port for it) in ``payload_type``
        (8 PCMA, 0 PCMU), from the next tick on. Again later: a new address or codec."""
        if payload_type not in PAYLOAD_TYPES:
            raise MixerError(f"payload type {payload_type} is not G.711 (0 PCMU, 8 PCMA)")
        member = self._member(member_id)
        member.remote = (host, port)
        member.payload_type = payload_type

    def set_hears(self, member_id: str, sources: Iterable[str]) -> None:
        """Whom ``member_id`` hears (members of this room; never itself)."""
        member = self._member(member_id)
        heard = frozenset(sources) - {member_id}
        unknown = heard - self._members.keys()
        if unknown:
            raise MixerError(f"not members of room {self.room_id!r}: {', '.join(sorted(unknown))}")
        member.hears = heard

    def hears(self, member_id: str) -> frozenset[str]:
        return self._member(member_id).hears

    def set_matrix(self, matrix: Matrix, roles: Mapping[str, str]) -> None:
        """Apply a named matrix (:data:`WHISPER`…): ``roles`` maps its roles to member ids."""
        missing = matrix.keys() - roles.keys()
        if missing:
            raise MixerError(f"no member for {', '.join(sorted(missing))}")
        for role, heard in matrix.items():
            self.set_hears(roles[role], (roles[source] for source in heard))

    def remove(self, member_id: str) -> None:
        """Close ``member_id``'s endpoint (its port is free from the next loop iteration on);
        nobody hears it any more."""
        member = self._members.pop(member_id, None)
        if member is None:
            return
        member.transport.close()
        self.mixer._ports.discard(member.port)  # a bind before the socket is closed only fails
        for other in self._members.values():
            if member_id in other.hears:
                other.hears = other.hears - {member_id}

    async def close(self) -> None:
        """Remove every member and wait until their ports are free."""
        self.closed = True
        waiting = [m.closed for m in self._members.values() if m.closed is not None]
        for member_id in list(self._members):
            self.remove(member_id)
        self.mixer._forget(self)
        if waiting:
            await asyncio.gather(*waiting)

    # --- one tick ---------------------------------------------------------------------------

    def _take_frames(self) -> None:
        for member in self._members.values():
            member.frame = member.jitter.pop()

    def _send_mixes(self, period: int, counters: Counters) -> None:
        members = self._members
        for member in members.values():
            if member.remote is None:
                continue
            frames = [f for source in member.hears if (f := members[source].frame) is not None]
            pt = member.payload_type
            if not frames:
                payload = _SILENCE[pt]
            else:
                if len(frames) == 1:
                    payload = _ENCODE[pt][frames[0].view(np.uint16)].tobytes()
                else:
                    total = np.add(frames[0], frames[1], dtype=np.int32)  # int32: no wrap-around
                    for frame in frames[2:]:
                        total += frame
                    if len(frames) <= WIDE_SOURCES:
                        total += _WIDE_OFFSET
                        payload = _ENCODE_WIDE[pt][total].tobytes()  # clipped to 16 bits by the table
                    else:
                        np.clip(total, -32768, 32767, out=total)
                        payload = _ENCODE[pt][total.astype(np.int16).view(np.uint16)].tobytes()
                counters.frames_mixed += 1
            header = _RTP_HEADER.pack(
                0x80,
                pt | (0x80 if member.sent == 0 else 0),
                member.seq,
                (member.timestamp_offset + SAMPLES_PER_FRAME * period) & 0xFFFFFFFF,
                member.ssrc,
            )
            member.transport.sendto(header + payload, member.remote)
            member.seq = (member.seq + 1) & 0xFFFF
            member.sent += 1
            counters.packets_sent += 1


class Mixer:
    """The rooms of the switch process and their one 20 ms clock."""

    def __init__(self, *, address: str = "127.0.0.1", port_min: int = 40000, port_max: int = 40999) -> None:
        if not 0 < port_min <= port_max <= 65535:
            raise MixerError(f"bad port range {port_min}–{port_max}")
        self.address = address
        self.port_min = port_min
        self.port_max = port_max
        self.counters = Counters()
        self._rooms: dict[str, Room] = {}
        self._ports: set[int] = set()  # bound, or being bound, by this mixer
        self._cursor = 0  # where the next port search starts, so a freed port is not reused at once
        self._random = random.SystemRandom()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._period = 0  # ticks since start, the skipped ones included: the RTP clock

    # --- API --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the clock (no port is bound before a member is added)."""
        if self._handle is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._deadline = self._loop.time() + PERIOD_S
        self._handle = self._loop.call_at(self._deadline, self._tick)

    async def close(self) -> None:
        """Stop the clock, close every room and wait until every port is free."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        for room in list(self._rooms.values()):
            await room.close()

    def room(self, room_id: str) -> Room:
        """The room ``room_id``, made when it does not exist."""
        room = self._rooms.get(room_id)
        if room is None:
            room = self._rooms[room_id] = Room(self, room_id)
        return room

    def rooms(self) -> list[str]:
        return list(self._rooms)

    @property
    def running(self) -> bool:
        return self._handle is not None

    @property
    def stats(self) -> dict[str, int | float]:
        members = sum(len(room._members) for room in self._rooms.values())
        counters = asdict(self.counters)
        for key in ("tick_late_max_ms", "tick_work_ms", "tick_work_max_ms"):
            counters[key] = round(counters[key], 3)
        return {"rooms": len(self._rooms), "members": members, **counters}

    # --- ports ------------------------------------------------------------------------------

    async def _bind(self, protocol: _Endpoint) -> tuple[asyncio.DatagramTransport, int]:
        loop = asyncio.get_running_loop()
        count = self.port_max - self.port_min + 1
        for step in range(count):
            port = self.port_min + (self._cursor + step) % count
            if port in self._ports:
                continue
            self._ports.add(port)
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: protocol, local_addr=(self.address, port)
                )
            except OSError:  # taken by another process
                self._ports.discard(port)
                continue
            self._cursor = (port - self.port_min + 1) % count
            return transport, port
        raise MixerPortsExhausted(
            f"no free UDP port on {self.address} between {self.port_min} and {self.port_max}"
        )

    def _forget(self, room: Room) -> None:
        if self._rooms.get(room.room_id) is room:
            del self._rooms[room.room_id]

    # --- the clock --------------------------------------------------------------------------

    def _tick(self) -> None:
        loop = self._loop
        assert loop is not None
        counters = self.counters
        started = loop.time()
        late = started - self._deadline
        counters.ticks += 1
        counters.tick_late_max_ms = max(counters.tick_late_max_ms, late * 1000)
        try:
            rooms = list(self._rooms.values())
            for room in rooms:
                room._take_frames()
            for room in rooms:
                room._send_mixes(self._period, counters)
        except Exception:  # one bad tick must not stop the clock of every call
            logger.exception("mixer tick")
        finished = loop.time()
        work = (finished - started) * 1000
        counters.tick_work_ms += work
        counters.tick_work_max_ms = max(counters.tick_work_max_ms, work)
        self._period += 1
        self._deadline += PERIOD_S
        if finished > self._deadline:
            counters.tick_overruns += 1
            behind = finished - self._deadline
            if behind > MAX_BEHIND_S:  # do not send a burst: skip what was missed
                skipped = int(behind / PERIOD_S) + 1
                counters.ticks_skipped += skipped
                self._period += skipped
                self._deadline += skipped * PERIOD_S
        if self._handle is not None:
            self._handle = loop.call_at(self._deadline, self._tick)
