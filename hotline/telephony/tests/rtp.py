"""Fake phones for media tests: a UDP socket that offers an SDP and sends and receives real RTP.

G.711 is encoded with the standard library's ``audioop`` (still in Python 3.11), which is also an
independent check of the decoding tables in ``pcapwav``.
"""

from __future__ import annotations

import asyncio
import collections
import re
import socket
import struct
import warnings
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

PCMU = 0
PCMA = 8
EVENT_PT = 101
SAMPLES_PER_PACKET = 160  # 20 ms at 8 kHz
T = TypeVar("T")
DIGIT_EVENTS = {digit: index for index, digit in enumerate("0123456789*#ABCD")}


def tone(freq_hz: float, seconds: float, *, amplitude: int = 8000, start_sample: int = 0) -> np.ndarray:
    n = round(seconds * 8000)
    t = (np.arange(n) + start_sample) / 8000
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.int16)


def encode(samples: np.ndarray, payload_type: int) -> bytes:
    raw = samples.astype("<i2").tobytes()
    return audioop.lin2alaw(raw, 2) if payload_type == PCMA else audioop.lin2ulaw(raw, 2)


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    spectrum[0] = 0
    return float(np.fft.rfftfreq(samples.size, 1 / 8000)[int(np.argmax(spectrum))])


@dataclass
class RtpPacket:
    payload_type: int
    marker: bool
    seq: int
    timestamp: int
    ssrc: int
    payload: bytes

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        first, second, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
        start = 12 + 4 * (first & 0x0F)
        return cls(second & 0x7F, bool(second & 0x80), seq, ts, ssrc, data[start:])


def media_addresses(sdp: str) -> list[tuple[str, int]]:
    """(address, port) of every m=audio section, with session- or media-level c= lines."""
    session_host = ""
    result: list[tuple[str, int]] = []
    pending_port: int | None = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            if pending_port is not None:
                result.append((session_host, pending_port))
            pending_port = int(line.split()[1]) if line.startswith("m=audio") else None
        elif line.startswith("c="):
            host = line.split()[-1]
            if pending_port is None:
                session_host = host
            else:
                result.append((host, pending_port))
                pending_port = None
    if pending_port is not None:
        result.append((session_host, pending_port))
    return result


class Phone:
    """One party: a UDP socket on 127.0.0.1 with its own SSRC, sequence and timestamp."""

    def __init__(self, name: str, *, ssrc: int, payload_type: int = PCMA) -> None:
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.ssrc = ssrc
        self.payload_type = payload_type
        self.seq = 1000
        self.timestamp = 160_000
        self.remote: tuple[str, int] | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()
        return host, port

    def sdp(self, *, direction: str = "sendrecv", sections: int = 1) -> str:
        """An offer or answer; ``sections`` audio sections (all on this phone's one port)."""
        codecs = [self.payload_type, PCMU if self.payload_type == PCMA else PCMA]
        media = (
            f"m=audio {self.address[1]} RTP/AVP {codecs[0]} {codecs[1]} {EVENT_PT}\r\n"
            "a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
            f"a=rtpmap:{EVENT_PT} telephone-event/8000\r\na=fmtp:{EVENT_PT} 0-16\r\n"
            f"a=ptime:20\r\na={direction}\r\n"
        )
        return f"v=0\r\no={self.name} 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + (
            media * sections
        )

    def send_to(self, sdp: str) -> None:
        """Send from now on where the SDP (rtpengine's, given to this phone) says."""
        self.remote = media_addresses(sdp)[0]

    def send_packet(
        self, payload_type: int, payload: bytes, *, marker: bool = False, timestamp: int | None = None
    ) -> None:
        assert self.remote is not None, "send_to(sdp) first"
        header = struct.pack(
            "!BBHII",
            0x80,
            payload_type | (0x80 if marker else 0),
            self.seq & 0xFFFF,
            (self.timestamp if timestamp is None else timestamp) & 0xFFFFFFFF,
            self.ssrc,
        )
        self.sock.sendto(header + payload, self.remote)
        self.seq += 1

    async def send_audio(
        self, samples: np.ndarray, *, pace_s: float = 0.02, lose: frozenset[int] = frozenset()
    ) -> int:
        """Send ``samples`` as 20 ms packets (``lose``: packet indexes not sent, as on a bad line)."""
        count = samples.size // SAMPLES_PER_PACKET
        for index in range(count):
            chunk = samples[index * SAMPLES_PER_PACKET : (index + 1) * SAMPLES_PER_PACKET]
            if index not in lose:
                self.send_packet(self.payload_type, encode(chunk, self.payload_type), marker=index == 0)
            else:
                self.seq += 1
            self.timestamp += SAMPLES_PER_PACKET
            if pace_s:
                await asyncio.sleep(pace_s)
        return count

    async def send_digit(self, digit: str, *, packets: int = 4, end_repeats: int = 3) -> None:
        """One key press as RFC 2833 events: ``packets`` updates, then the end packet three times."""
        event = DIGIT_EVENTS[digit]
        for index in range(packets):
            duration = SAMPLES_PER_PACKET * (index + 1)
            self.send_packet(EVENT_PT, struct.pack("!BBH", event, 10, duration), marker=index == 0)
            await asyncio.sleep(0.02)
        for _ in range(end_repeats):
            self.send_packet(EVENT_PT, struct.pack("!BBH", event, 0x80 | 10, SAMPLES_PER_PACKET * packets))
        self.timestamp += SAMPLES_PER_PACKET * (packets + 1)

    def receive(self) -> list[RtpPacket]:
        """Every RTP packet waiting on the socket."""
        packets: list[RtpPacket] = []
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                return packets
            if len(data) >= 12 and data[0] >> 6 == 2 and not 72 <= data[1] & 0x7F <= 76:
                packets.append(RtpPacket.parse(data))

    async def receive_for(self, seconds: float, *, until: int | None = None) -> list[RtpPacket]:
        """Packets received in ``seconds``; with ``until``, as soon as that many have come (a busy
        machine may need longer: then ``seconds`` is multiplied by ten)."""
        packets: list[RtpPacket] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds * (10 if until is not None else 1)
        while loop.time() < deadline:
            packets += self.receive()
            if until is not None and len(packets) >= until:
                await asyncio.sleep(0.02)  # anything more that would come
                break
            await asyncio.sleep(0.01)
        return packets + self.receive()

    def close(self) -> None:
        self.sock.close()


def decode(packets: list[RtpPacket], payload_type: int = PCMA) -> np.ndarray:
    raw = b"".join(p.payload for p in packets if p.payload_type == payload_type)
    pcm = audioop.alaw2lin(raw, 2) if payload_type == PCMA else audioop.ulaw2lin(raw, 2)
    return np.frombuffer(pcm, dtype="<i2")


# Ports free_udp_port handed out lately: free, but maybe not bound yet by whoever asked.
HANDED_OUT: collections.deque[int] = collections.deque(maxlen=64)


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    HANDED_OUT.append(port)
    return port


def udp_ports_free(start: int, count: int) -> bool:
    """Whether ``count`` UDP ports from ``start`` can all be bound on loopback now."""
    socks: list[socket.socket] = []
    try:
        for port in range(start, start + count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(sock)
            sock.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        for sock in socks:
            sock.close()


_PORT_LINE = re.compile(r"^m=audio (\d+)", re.MULTILINE)


def audio_sections(sdp: str) -> int:
    return len(_PORT_LINE.findall(sdp))


def run(coro: Coroutine[Any, Any, T], *, timeout_s: float = 20.0) -> T:
    """Run one async test body on a fresh loop, with a time limit."""
    return asyncio.run(asyncio.wait_for(coro, timeout_s))
