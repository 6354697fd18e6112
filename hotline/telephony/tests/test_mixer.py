"""The audio mixer of supervised and three-way calls: real UDP sockets on 127.0.0.1, legs that send
tones as RTP (encoded by the standard library's ``audioop``, an independent check of the mixer's
tables) and an FFT of what each leg hears; one call through a real rtpengine. No database."""

from __future__ import annotations

import asyncio
import itertools
import os
import random
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from hotline.telephony.mixer import (
    BARGE,
    IDLE_AFTER,
    LINEAR_TO_ALAW,
    LINEAR_TO_ULAW,
    LISTEN_IN,
    MATRICES,
    THREE_WAY,
    WHISPER,
    Counters,
    JitterBuffer,
    Mixer,
    MixerError,
    MixerPortsExhausted,
    endpoint_sdp,
    g711_decode,
    g711_encode,
)
from hotline.telephony.tests.rtp import (
    PCMA,
    PCMU,
    Phone,
    RtpPacket,
    audioop,
    decode,
    dominant_hz,
    encode,
    media_addresses,
    run,
    tone,
    udp_ports_free,
)


@pytest.fixture(scope="module", autouse=True)
def _expected_database() -> None:
    """No test here touches the database: this replaces the root check that would create one."""


# Below the ports of the rtpengine fixture (20000–32000) and Linux's ephemeral range.
LOW_PORT, HIGH_PORT = 10000, 19900
FRAME = 160


def port_block(count: int) -> int:
    rng = random.Random(os.getpid() ^ int.from_bytes(os.urandom(4), "big"))
    for _ in range(50):
        start = rng.randrange(LOW_PORT, HIGH_PORT - count)
        if udp_ports_free(start, count):
            return start
    raise RuntimeError("no free block of UDP ports")


def new_mixer(ports: int = 20) -> Mixer:
    start = port_block(ports)
    return Mixer(port_min=start, port_max=start + ports - 1)


def can_bind(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def frames_of(samples: np.ndarray) -> list[np.ndarray]:
    return [samples[i : i + FRAME] for i in range(0, samples.size - FRAME + 1, FRAME)]


def power_at(samples: np.ndarray, hz: float, *, width_hz: float = 15) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / 8000)
    return float(spectrum[np.abs(freqs - hz) <= width_hz].sum())


class Leg(asyncio.DatagramProtocol):
    """A fake phone leg as rtpengine would forward it: sends RTP to its mixer endpoint and keeps
    what the mixer sends back, with arrival times."""

    def __init__(self, name: str, payload_type: int = PCMA) -> None:
        self.name = name
        self.payload_type = payload_type
        self.ssrc = random.getrandbits(32)
        self.received: list[tuple[float, RtpPacket]] = []
        self.transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls, name: str, payload_type: int = PCMA) -> Leg:
        leg = cls(name, payload_type)
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: leg, local_addr=("127.0.0.1", 0))
        return leg

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.append((asyncio.get_running_loop().time(), RtpPacket.parse(data)))

    @property
    def address(self) -> tuple[str, int]:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")
        return host, port

    def send(
        self, to: tuple[str, int], seq: int, samples: np.ndarray, *, payload_type: int | None = None
    ) -> None:
        pt = self.payload_type if payload_type is None else payload_type
        payload = encode(samples, pt) if pt in (PCMA, PCMU) else samples.tobytes()
        header = struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, (seq * FRAME) & 0xFFFFFFFF, self.ssrc)
        assert self.transport is not None
        self.transport.sendto(header + payload, to)

    async def play(self, to: tuple[str, int], slots: Sequence[Sequence[tuple[int, np.ndarray]]]) -> None:
        """Send ``slots[i]`` (sequence number, samples) 20·i ms after the start, on a fixed schedule."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index, slot in enumerate(slots):
            await asyncio.sleep(max(0.0, start + 0.02 * index - loop.time()))
            for seq, samples in slot:
                self.send(to, seq, samples)

    async def play_tone(
        self, to: tuple[str, int], hz: float, seconds: float, *, amplitude: int = 6000
    ) -> None:
        frames = frames_of(tone(hz, seconds, amplitude=amplitude))
        await self.play(to, [[(1000 + i, frame)] for i, frame in enumerate(frames)])

    def packets(self) -> list[RtpPacket]:
        return [packet for _, packet in self.received]

    def audio(self) -> np.ndarray:
        packets = self.packets()
        assert packets, f"{self.name} received nothing"
        assert {p.payload_type for p in packets} == {self.payload_type}
        return decode(packets, self.payload_type).astype(np.int32)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


# ---------------------------------------------------------------------------------------------
# G.711 tables
# ---------------------------------------------------------------------------------------------

EVERY_SAMPLE = np.arange(65536, dtype=np.uint16).view(np.int16)


def test_encoding_tables_give_the_reference_codes_for_every_sample() -> None:
    raw = EVERY_SAMPLE.astype("<i2").tobytes()
    assert np.array_equal(g711_encode(EVERY_SAMPLE, PCMA), audioop.lin2alaw(raw, 2))
    assert np.array_equal(g711_encode(EVERY_SAMPLE, PCMU), audioop.lin2ulaw(raw, 2))
    assert LINEAR_TO_ALAW.size == LINEAR_TO_ULAW.size == 65536


@pytest.mark.parametrize(
    ("sample", "alaw", "ulaw"),
    [
        (0, 0xD5, 0xFF),  # zero: the smallest positive code (A-law even bits inverted; µ-law all bits)
        (-1, 0x55, 0x7E),  # A-law: the smallest negative code; µ-law: -1 in 14 bits, one above -0
        (32767, 0xAA, 0x80),  # the largest positive code
        (-32768, 0x2A, 0x00),  # the largest negative code
        (1000, 0xFA, 0xCE),
        (-1000, 0x7A, 0x4E),
    ],
)
def test_codes_of_the_standard(sample: int, alaw: int, ulaw: int) -> None:
    samples = np.array([sample], dtype=np.int16)
    assert g711_encode(samples, PCMA) == bytes([alaw])
    assert g711_encode(samples, PCMU) == bytes([ulaw])


def test_decoded_codes_of_the_standard() -> None:
    # G.711 tables: A-law 0xD5 → +8 (half of the first step), 0xAA → +32256; µ-law 0xFF → 0, 0x80 → +32124
    assert g711_decode(bytes([0xD5, 0x55, 0xAA, 0x2A]), PCMA).tolist() == [8, -8, 32256, -32256]
    assert g711_decode(bytes([0xFF, 0x7F, 0x80, 0x00]), PCMU).tolist() == [0, 0, 32124, -32124]


@pytest.mark.parametrize("payload_type", [PCMA, PCMU])
def test_a_round_trip_is_within_half_a_quantisation_step(payload_type: int) -> None:
    linear = EVERY_SAMPLE.astype(np.int32)
    back = g711_decode(g711_encode(EVERY_SAMPLE, payload_type), payload_type).astype(np.int32)
    error = np.abs(back - linear)
    in_range = np.abs(linear) <= 32000
    # the step doubles with each segment: the error stays within 1/32 of the magnitude (+ the first step)
    assert np.all(error[in_range] <= np.abs(linear[in_range]) / 32 + 8)
    # beyond the largest code the value is clipped to it
    top = 32256 if payload_type == PCMA else 32124
    assert np.all(np.abs(back[~in_range]) == top)
    # and encoding a decoded value gives its code back, except µ-law's negative zero (0x7F → 0 → 0xFF)
    codes = bytes(range(256))
    again = g711_encode(g711_decode(codes, payload_type), payload_type)
    changed = [c for c, d in zip(codes, again, strict=True) if c != d]
    assert changed == ([] if payload_type == PCMA else [0x7F])


# ---------------------------------------------------------------------------------------------
# Jitter buffer
# ---------------------------------------------------------------------------------------------


def marked(n: int) -> np.ndarray:
    return np.full(FRAME, n, dtype=np.int16)


def played(buffer: JitterBuffer, ticks: int) -> list[int | None]:
    out: list[int | None] = []
    for _ in range(ticks):
        frame = buffer.pop()
        out.append(None if frame is None else int(frame[0]))
    return out


def test_frames_come_out_in_sequence_order_across_the_wrap() -> None:
    counters = Counters()
    buffer = JitterBuffer(counters=counters)
    assert played(buffer, 2) == [None, None]  # nothing sent yet: silence
    seqs = [65534, 65535, 0, 1, 2, 3]
    buffer.push(seqs[0], marked(0))
    out = played(buffer, 1)  # the stream waits one tick
    buffer.push(seqs[2], marked(2))  # reordered: 2 before 1
    buffer.push(seqs[1], marked(1))
    out += played(buffer, 1)
    buffer.push(seqs[2], marked(2))  # a copy of a buffered frame
    out += played(buffer, 1)
    buffer.push(seqs[3], marked(3))
    buffer.push(seqs[1], marked(1))  # a copy of a played frame: late
    out += played(buffer, 1)
    buffer.push(seqs[5], marked(5))  # 4 is lost
    out += played(buffer, 3)
    assert out == [None, 0, 1, 2, 3, None, 5]
    assert counters.packets_duplicate == 1
    assert counters.packets_late == 1
    assert counters.frames_lost == 1


def test_a_burst_keeps_only_the_newest_frames() -> None:
    counters = Counters()
    buffer = JitterBuffer(depth=3, counters=counters)
    for seq in range(10, 17):
        buffer.push(seq, marked(seq))
    assert len(buffer) == 3
    assert counters.packets_dropped == 4
    assert played(buffer, 5) == [None, 14, 15, 16, None]


def test_a_phone_that_stops_and_resumes_starts_a_new_stream() -> None:
    counters = Counters()
    buffer = JitterBuffer(counters=counters)
    buffer.push(100, marked(1))
    assert played(buffer, 2) == [None, 1]
    assert played(buffer, IDLE_AFTER) == [None] * IDLE_AFTER
    assert counters.underruns == IDLE_AFTER and not buffer.playing
    buffer.push(90, marked(2))  # behind where it stopped (events took sequence numbers, or a restart)
    assert played(buffer, 2) == [None, 2]


def test_a_new_ssrc_or_a_long_jump_restarts_the_stream() -> None:
    buffer = JitterBuffer()
    buffer.push(5, marked(1), ssrc=1)
    assert played(buffer, 2) == [None, 1]
    buffer.push(6000, marked(2), ssrc=1)  # a jump of more than a second
    assert played(buffer, 2) == [None, 2]
    buffer.push(6001, marked(3), ssrc=2)  # another source on the same endpoint
    assert played(buffer, 2) == [None, 3]


# ---------------------------------------------------------------------------------------------
# Rooms over UDP
# ---------------------------------------------------------------------------------------------

TONES = (400, 800, 1200)
CODECS = (PCMA, PCMU, PCMA)


@dataclass
class Call:
    mixer: Mixer
    legs: dict[str, Leg]
    ports: dict[str, int]

    def endpoint(self, name: str) -> tuple[str, int]:
        return (self.mixer.address, self.ports[name])


async def open_call(mixer: Mixer, names: Sequence[str], codecs: Sequence[int] = CODECS) -> Call:
    await mixer.start()
    room = mixer.room("call-1")
    legs: dict[str, Leg] = {}
    ports: dict[str, int] = {}
    for name, codec in zip(names, codecs, strict=False):
        legs[name] = await Leg.open(name, codec)
        ports[name] = await room.add(name)
        room.connect(name, *legs[name].address, codec)
    return Call(mixer, legs, ports)


@pytest.mark.parametrize("mode", sorted(MATRICES))
def test_each_member_hears_exactly_the_tones_of_whom_it_hears(mode: str) -> None:
    matrix = MATRICES[mode]
    roles = sorted(matrix)  # e.g. agent, caller, supervisor
    hz = dict(zip(roles, TONES, strict=True))

    async def scenario() -> dict[str, np.ndarray]:
        mixer = new_mixer()
        call = await open_call(mixer, roles)
        try:
            mixer.room("call-1").set_matrix(matrix, {role: role for role in roles})
            await asyncio.gather(*(call.legs[r].play_tone(call.endpoint(r), hz[r], 1.0) for r in roles))
            await asyncio.sleep(0.1)
            assert mixer.stats["frames_mixed"] > 0
            return {role: call.legs[role].audio() for role in roles}
        finally:
            await mixer.close()
            for leg in call.legs.values():
                leg.close()

    heard = run(scenario())
    for role in roles:
        audio = heard[role]
        expected = [hz[source] for source in matrix[role]]
        absent = [hz[other] for other in roles if other not in matrix[role]]
        assert role not in matrix[role] and hz[role] in absent  # never one's own voice
        floor = min(power_at(audio, f) for f in expected)
        assert floor > 0
        for f in absent:
            assert power_at(audio, f) < 0.01 * floor, f"{mode}: {role} hears {f} Hz"
        # the tones heard are of similar strength (a sum, not one source winning)
        assert max(power_at(audio, f) for f in expected) < 3 * floor
        assert any(abs(dominant_hz(audio) - f) <= 5 for f in expected)


def test_named_matrices() -> None:
    assert LISTEN_IN["caller"] == {"agent"} and "supervisor" not in LISTEN_IN["agent"]
    assert WHISPER["agent"] == {"caller", "supervisor"} and "supervisor" not in WHISPER["caller"]
    assert BARGE["caller"] == {"agent", "supervisor"}
    assert THREE_WAY["department"] == {"caller", "agent"}
    for matrix in MATRICES.values():
        for role, heard in matrix.items():
            assert role not in heard and heard <= matrix.keys()


@pytest.mark.parametrize(
    ("sources", "level", "heard"),
    [
        (2, 20000, 32256),  # 40000 is clipped to the largest A-law value; wrapped it would be negative
        (5, 8000, 32256),  # more sources than the wide table covers: clipped by a separate pass
        (5, -1000, -4992),  # and summed right below the limit (A-law's step there is 128)
        (3, -15000, -32256),
    ],
)
def test_the_sum_is_clipped_not_wrapped(sources: int, level: int, heard: int) -> None:
    names = [f"s{i}" for i in range(sources)]

    async def scenario() -> np.ndarray:
        mixer = new_mixer()
        call = await open_call(mixer, [*names, "ear"], [PCMA] * (sources + 1))
        room = mixer.room("call-1")
        room.set_hears("ear", names)
        frame = np.full(FRAME, level, dtype=np.int16)
        try:
            await asyncio.gather(
                *(call.legs[n].play(call.endpoint(n), [[(i, frame)] for i in range(25)]) for n in names)
            )
            await asyncio.sleep(0.1)
            return call.legs["ear"].audio()
        finally:
            await mixer.close()
            for leg in call.legs.values():
                leg.close()

    audio = run(scenario())
    assert (audio == heard).sum() >= 15 * FRAME
    assert set(np.unique(audio).tolist()) <= {heard, 8}  # the sum, or silence (A-law 0xD5 is +8)


@pytest.mark.parametrize(("payload_type", "silence"), [(PCMA, 0xD5), (PCMU, 0xFF)])
def test_fifty_packets_a_second_with_silence_when_hearing_nobody(payload_type: int, silence: int) -> None:
    async def scenario() -> list[tuple[float, RtpPacket]]:
        mixer = new_mixer()
        await mixer.start()
        room = mixer.room("paced")
        leg, other = await Leg.open("lonely", payload_type), await Leg.open("talker")
        try:
            port = await room.add("lonely")
            other_port = await room.add("talker")
            room.connect("lonely", *leg.address, payload_type)
            # someone is talking in the room, but "lonely" hears nobody
            talking = asyncio.ensure_future(other.play_tone((mixer.address, other_port), 500, 2.4))
            await asyncio.sleep(2.3)
            await talking
            assert port != other_port
            return leg.received
        finally:
            await mixer.close()
            leg.close()
            other.close()

    received = run(scenario())
    times = [t for t, _ in received]
    packets = [p for _, p in received]
    # a 2 s window in the middle holds 100 packets (±2 for where the window falls on a busy machine)
    start = times[0] + 0.1
    assert abs(sum(1 for t in times if start <= t < start + 2.0) - 100) <= 2
    # no drift: first to last packet is 20 ms per packet
    assert (times[-1] - times[0]) / (len(times) - 1) == pytest.approx(0.020, abs=0.0005)
    assert len({p.ssrc for p in packets}) == 1
    assert all((b.seq - a.seq) & 0xFFFF == 1 for a, b in itertools.pairwise(packets))
    assert all((b.timestamp - a.timestamp) & 0xFFFFFFFF == FRAME for a, b in itertools.pairwise(packets))
    assert packets[0].marker and not any(p.marker for p in packets[1:])
    assert all(p.payload_type == payload_type and p.payload == bytes([silence]) * FRAME for p in packets)


def test_reordered_duplicated_and_lost_packets_over_udp() -> None:
    levels = [300 * (k + 1) for k in range(12)]  # farther apart than two G.711 steps
    seq = [(65530 + k) & 0xFFFF for k in range(12)]  # wraps after the sixth

    def frame(k: int) -> tuple[int, np.ndarray]:
        return (seq[k], np.full(FRAME, levels[k], dtype=np.int16))

    slots = [
        [frame(0)],
        [frame(1)],
        [frame(3), frame(2)],  # 3 overtakes 2
        [frame(4)],
        [frame(4)],  # a copy
        [frame(5), frame(5)],  # a copy right behind it
        [],  # 6 is lost
        [frame(7)],
        [frame(8)],
        [frame(9)],
        [frame(10), frame(2)],  # 2 once more, long after it was played
        [frame(11)],
    ]

    async def scenario() -> tuple[np.ndarray, dict[str, int | float]]:
        mixer = new_mixer()
        call = await open_call(mixer, ["a", "b"], (PCMA, PCMU))
        mixer.room("call-1").set_hears("b", ["a"])
        try:
            await call.legs["a"].play(call.endpoint("a"), slots)
            await asyncio.sleep(0.15)
            return call.legs["b"].audio(), mixer.stats
        finally:
            await mixer.close()
            for leg in call.legs.values():
                leg.close()

    audio, stats = run(scenario())
    heard = [int(np.median(f)) for f in frames_of(audio)]
    start = next(i for i, v in enumerate(heard) if v)
    end = max(i for i, v in enumerate(heard) if v) + 1

    def which(value: int) -> int | None:
        if value == 0:
            return None
        return min(range(len(levels)), key=lambda k: abs(levels[k] - value))

    assert [which(v) for v in heard[start:end]] == [0, 1, 2, 3, 4, 5, None, 7, 8, 9, 10, 11], str(heard)
    assert stats["packets_duplicate"] + stats["packets_late"] == 3
    assert stats["frames_lost"] + stats["underruns"] >= 1


def test_a_new_source_address_and_telephone_events_change_nothing() -> None:
    async def scenario() -> tuple[np.ndarray, dict[str, int | float]]:
        mixer = new_mixer()
        call = await open_call(mixer, ["a", "b"], (PCMU, PCMA))
        room = mixer.room("call-1")
        room.set_hears("b", ["a"])
        moved = await Leg.open("a-moved", PCMU)
        moved.ssrc = call.legs["a"].ssrc
        frames = frames_of(tone(600, 1.0, amplitude=6000))
        try:
            loop = asyncio.get_running_loop()
            begin = loop.time()
            for i, samples in enumerate(frames):
                await asyncio.sleep(max(0.0, begin + 0.02 * i - loop.time()))
                sender = call.legs["a"] if i < 25 else moved  # the phone's address changes half-way
                sender.send(call.endpoint("a"), 2000 + i, samples)
                if i % 10 == 5:  # and a key press event (RFC 2833, PT 101) now and then
                    sender.send(call.endpoint("a"), 2000 + i, np.zeros(2, dtype=np.int16), payload_type=101)
            await asyncio.sleep(0.1)
            return call.legs["b"].audio(), mixer.stats
        finally:
            await mixer.close()
            moved.close()
            for leg in call.legs.values():
                leg.close()

    audio, stats = run(scenario())
    assert dominant_hz(audio) == pytest.approx(600, abs=5)
    loud = [f for f in frames_of(audio) if np.abs(f).max() > 3000]
    assert len(loud) >= 45  # the tone from both addresses, not only the first half
    assert stats["packets_ignored"] == 5


def test_csrcs_a_header_extension_and_padding_are_skipped() -> None:
    async def scenario() -> np.ndarray:
        mixer = new_mixer()
        call = await open_call(mixer, ["a", "b"], (PCMA, PCMA))
        mixer.room("call-1").set_hears("b", ["a"])
        leg = call.legs["a"]
        assert leg.transport is not None
        try:
            loop = asyncio.get_running_loop()
            begin = loop.time()
            for i, samples in enumerate(frames_of(tone(700, 0.6, amplitude=6000))):
                await asyncio.sleep(max(0.0, begin + 0.02 * i - loop.time()))
                # version 2, padding, extension, one CSRC; the extension holds one 32-bit word
                header = struct.pack("!BBHII", 0x80 | 0x20 | 0x10 | 1, PCMA, i, i * FRAME, leg.ssrc)
                extension = struct.pack("!IHHI", 0xC5C5C5C5, 0xBEDE, 1, 0x7F7F7F7F)
                padding = b"\xaa\x2a\xaa\x04"  # loud if taken as audio; the last byte is its length
                payload = encode(samples[:-4], PCMA)  # 156 samples: the mixer pads the frame with silence
                leg.transport.sendto(header + extension + payload + padding, call.endpoint("a"))
            await asyncio.sleep(0.1)
            return call.legs["b"].audio()
        finally:
            await mixer.close()
            for each in call.legs.values():
                each.close()

    audio = run(scenario())
    assert dominant_hz(audio) == pytest.approx(700, abs=5)
    assert sum(1 for f in frames_of(audio) if np.abs(f).max() > 3000) >= 25
    assert power_at(audio, 700) > 100 * (power_at(audio, 2000, width_hz=1000))
    assert np.abs(audio).max() < 7000  # neither the CSRC, the extension nor the padding was heard


# ---------------------------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------------------------


def test_remove_and_close_free_the_ports() -> None:
    async def scenario() -> None:
        mixer = new_mixer()
        await mixer.start()
        room = mixer.room("r1")
        ports = [await room.add(name) for name in ("a", "b", "c")]
        assert len(set(ports)) == 3 and not any(can_bind(p) for p in ports)
        assert await room.add("a") == ports[0]  # adding again gives the same endpoint
        room.set_hears("c", ["a", "b"])
        assert mixer.stats["rooms"] == 1 and mixer.stats["members"] == 3
        room.remove("a")
        await asyncio.sleep(0)
        assert can_bind(ports[0])
        assert room.members == ["b", "c"] and room.hears("c") == {"b"}  # nobody hears a removed member
        other = mixer.room("r2")
        other_port = await other.add("x")
        assert mixer.rooms() == ["r1", "r2"]
        await room.close()
        assert can_bind(ports[1]) and can_bind(ports[2])
        assert mixer.rooms() == ["r2"] and mixer.stats["members"] == 1
        with pytest.raises(MixerError, match="closed"):
            await room.add("d")
        await mixer.close()
        assert can_bind(other_port) and mixer.rooms() == [] and not mixer.running

    run(scenario())


def test_a_taken_port_is_skipped_and_an_exhausted_range_is_an_error() -> None:
    async def scenario() -> None:
        start = port_block(3)
        mixer = Mixer(port_min=start, port_max=start + 2)
        taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        taken.bind(("127.0.0.1", start + 1))
        try:
            room = mixer.room("r")
            assert await room.add("a") == start
            assert await room.add("b") == start + 2  # start + 1 belongs to another process
            with pytest.raises(
                MixerPortsExhausted, match=f"no free UDP port on 127.0.0.1 between {start} and"
            ):
                await room.add("c")
            room.remove("a")
            await asyncio.sleep(0)
            assert await room.add("c") == start
        finally:
            taken.close()
            await mixer.close()

    run(scenario())


def test_wrong_use_is_refused() -> None:
    async def scenario() -> None:
        mixer = new_mixer()
        room = mixer.room("r")
        await room.add("a")
        try:
            with pytest.raises(MixerError, match=r"not G\.711"):
                room.connect("a", "127.0.0.1", 9, 18)
            with pytest.raises(MixerError, match="not a member"):
                room.connect("z", "127.0.0.1", 9, PCMA)
            with pytest.raises(MixerError, match="not members of room 'r': y, z"):
                room.set_hears("a", ["z", "y"])
            room.set_hears("a", ["a"])  # one's own voice is never mixed back
            assert room.hears("a") == frozenset()
            with pytest.raises(MixerError, match="no member for agent, supervisor"):
                room.set_matrix(WHISPER, {"caller": "a"})
        finally:
            await mixer.close()

    run(scenario())
    with pytest.raises(MixerError, match="port range"):
        Mixer(port_min=5000, port_max=4999)


# ---------------------------------------------------------------------------------------------
# Through rtpengine
# ---------------------------------------------------------------------------------------------


def test_two_phones_hear_each_other_through_rtpengine_and_the_mixer(ng: Any, rtpengine: Any) -> None:
    """Each phone's leg is paired in rtpengine with a mixer endpoint as its far side (as the switch
    pairs a leg with the other leg or a placeholder), and the mixer sends each the other's voice."""
    call_id = "mix-1@pbx.example"
    a, b = Phone("a", ssrc=0xA1), Phone("b", ssrc=0xB1, payload_type=PCMU)

    async def scenario() -> tuple[np.ndarray, np.ndarray, dict[str, int | float]]:
        mixer = new_mixer()
        await mixer.start()
        room = mixer.room(call_id)
        try:
            async with ng() as client:
                for phone, tag in ((a, "tagA"), (b, "tagB")):
                    port = await room.add(tag)
                    towards_mixer = await client.offer(call_id, tag, phone.sdp(), to_tag=f"mix-{tag}")
                    towards_phone = await client.answer(
                        call_id, tag, f"mix-{tag}", endpoint_sdp(mixer.address, port, phone.payload_type)
                    )
                    phone.send_to(towards_phone)
                    room.connect(tag, *media_addresses(towards_mixer)[0], phone.payload_type)
                room.set_hears("tagA", ["tagB"])
                room.set_hears("tagB", ["tagA"])
                await asyncio.gather(
                    a.send_audio(tone(440, 1.2)),
                    b.send_audio(tone(1000, 1.2, amplitude=6000)),
                )
                await asyncio.sleep(0.1)
                heard_by_a, heard_by_b = a.receive(), b.receive()
                await client.delete(call_id)
            return decode(heard_by_a, PCMA), decode(heard_by_b, PCMU), mixer.stats
        finally:
            await mixer.close()

    try:
        heard_by_a, heard_by_b, stats = run(scenario())
    finally:
        a.close()
        b.close()
    assert heard_by_a.size >= 50 * FRAME and heard_by_b.size >= 50 * FRAME
    assert dominant_hz(heard_by_a) == pytest.approx(1000, abs=5)
    assert dominant_hz(heard_by_b) == pytest.approx(440, abs=5)
    assert power_at(heard_by_a, 440) < 0.01 * power_at(heard_by_a, 1000)  # not A's own voice
    assert power_at(heard_by_b, 1000) < 0.01 * power_at(heard_by_b, 440)
    assert stats["packets_received"] >= 100


def test_a_bridged_call_moves_to_the_mixer_and_a_supervisor_barges_then_whispers(
    ng: Any, rtpengine: Any
) -> None:
    """Caller and agent talk through rtpengine; each leg is re-paired with a mixer endpoint (the
    phones keep their rtpengine ports: no re-INVITE), a supervisor joins with a leg of its own,
    and the room goes from barge to whisper with no SIP or ng request."""
    call_id = "mix-2@pbx.example"
    a, b = Phone("a", ssrc=0xA2), Phone("b", ssrc=0xB2, payload_type=PCMU)
    s = Phone("s", ssrc=0xC2)
    hz = {"a": 440, "b": 1000, "s": 1700}
    phones = {"a": a, "b": b, "s": s}

    async def talk(seconds: float) -> dict[str, np.ndarray]:
        await asyncio.gather(*(p.send_audio(tone(hz[name], seconds)) for name, p in phones.items()))
        await asyncio.sleep(0.1)
        return {name: decode(p.receive(), p.payload_type).astype(np.int32) for name, p in phones.items()}

    async def scenario() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        mixer = new_mixer()
        await mixer.start()
        room = mixer.room(call_id)
        try:
            async with ng() as client:
                for_b = await client.offer(call_id, "tagA", a.sdp())
                for_a = await client.answer(call_id, "tagA", "tagB", b.sdp())
                a.send_to(for_a)
                b.send_to(for_b)
                for phone, tag in ((a, "tagA"), (b, "tagB"), (s, "tagS")):
                    port = await room.add(tag)
                    towards_mixer = await client.offer(call_id, tag, phone.sdp(), to_tag=f"mx-{tag}")
                    facing = await client.answer(
                        call_id, tag, f"mx-{tag}", endpoint_sdp(mixer.address, port, phone.payload_type)
                    )
                    if phone is s:
                        s.send_to(facing)
                    else:  # port latching: the phone goes on sending where it did
                        assert media_addresses(facing)[0] == phone.remote
                    room.connect(tag, *media_addresses(towards_mixer)[0], phone.payload_type)
                roles = {"caller": "tagA", "agent": "tagB", "supervisor": "tagS"}
                room.set_matrix(BARGE, roles)
                barge = await talk(1.0)
                room.set_matrix(WHISPER, roles)
                whisper = await talk(1.0)
                await client.delete(call_id)
            return barge, whisper
        finally:
            await mixer.close()

    try:
        barge, whisper = run(scenario(), timeout_s=30)
    finally:
        for phone in phones.values():
            phone.close()

    def hears(audio: np.ndarray, expected: set[str]) -> None:
        assert audio.size >= 40 * FRAME
        floor = min(power_at(audio, hz[name]) for name in expected)
        for name in set(hz) - expected:
            assert power_at(audio, hz[name]) < 0.01 * floor, f"{name} is heard"

    hears(barge["a"], {"b", "s"})
    hears(barge["b"], {"a", "s"})
    hears(barge["s"], {"a", "b"})
    hears(whisper["a"], {"b"})  # the caller no longer hears the supervisor
    hears(whisper["b"], {"a", "s"})
    hears(whisper["s"], {"a", "b"})
