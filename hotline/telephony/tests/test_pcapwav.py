"""Recordings: rtpengine's pcap → stereo WAV. Hand-made pcaps for exact placement; a real recorded
call between two fake phones for the whole path. No database."""

from __future__ import annotations

import asyncio
import hashlib
import struct
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hotline.telephony.archive import party_of
from hotline.telephony.pcapwav import (
    ALAW_TO_LINEAR,
    ULAW_TO_LINEAR,
    Party,
    RecordingError,
    find_recording,
    pcap_to_wav,
    query_ports,
    sources,
)
from hotline.telephony.tests.rtp import PCMA, PCMU, Phone, audioop, dominant_hz, run, tone


@pytest.fixture(scope="module", autouse=True)
def _expected_database() -> None:
    """No test here touches the database: this replaces the root check that would create one."""


A_ADDR = ("10.0.0.1", 4000)
B_ADDR = ("10.0.0.2", 5000)
RTPENGINE_A_PORT, RTPENGINE_B_PORT = 30010, 30020


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (2, 2, 8000)
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)


def test_g711_tables_match_the_reference_decoder() -> None:
    every_code = bytes(range(256))
    assert np.array_equal(ALAW_TO_LINEAR, np.frombuffer(audioop.alaw2lin(every_code, 2), "<i2"))
    assert np.array_equal(ULAW_TO_LINEAR, np.frombuffer(audioop.ulaw2lin(every_code, 2), "<i2"))


# ---------------------------------------------------------------------------------------------
# Hand-made pcaps
# ---------------------------------------------------------------------------------------------


class PcapWriter:
    """pcap as rtpengine writes it: link type 101 (raw IP) or 1 (Ethernet)."""

    def __init__(self, *, ethernet: bool = False) -> None:
        self.ethernet = ethernet
        self.records: list[bytes] = []

    def udp(self, at: float, src: tuple[str, int], dst_port: int, payload: bytes) -> None:
        ip_src = bytes(int(part) for part in src[0].split("."))
        udp = struct.pack("!HHHH", src[1], dst_port, 8 + len(payload), 0) + payload
        ip = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, ip_src, bytes([127, 0, 0, 1])
        )
        frame = ip + udp
        if self.ethernet:
            frame = b"\x00" * 12 + b"\x08\x00" + frame
        seconds = int(at)
        self.records.append(
            struct.pack("<IIII", 1_700_000_000 + seconds, round((at - seconds) * 1e6), len(frame), len(frame))
            + frame
        )

    def rtp(
        self,
        at: float,
        src: tuple[str, int],
        dst_port: int,
        *,
        pt: int,
        seq: int,
        ts: int,
        ssrc: int,
        payload: bytes,
    ) -> None:
        header = struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
        self.udp(at, src, dst_port, header + payload)

    def write(self, path: Path) -> Path:
        header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1 if self.ethernet else 101)
        path.write_bytes(header + b"".join(self.records))
        return path


def constant(code: int) -> bytes:
    return bytes([code]) * 160


A_CODE, B_CODE = 0x2A, 0x3C  # A-law and µ-law codes of two distinct levels
A_LEVEL, B_LEVEL = int(ALAW_TO_LINEAR[A_CODE]), int(ULAW_TO_LINEAR[B_CODE])


def _two_party_pcap(path: Path, *, ethernet: bool = False) -> Path:
    pcap = PcapWriter(ethernet=ethernet)
    base = 4_294_967_296 - 480  # A's timestamps wrap round after three packets
    for n in range(10):
        if n == 4:
            continue  # lost
        pcap.rtp(
            n * 0.02,
            A_ADDR,
            RTPENGINE_A_PORT,
            pt=PCMA,
            seq=n,
            ts=base + n * 160,
            ssrc=0xA,
            payload=constant(A_CODE),
        )
    pcap.rtp(0.05, A_ADDR, RTPENGINE_A_PORT, pt=101, seq=99, ts=base, ssrc=0xA, payload=b"\x05\x0a\x00\xa0")
    pcap.rtp(0.06, A_ADDR, RTPENGINE_A_PORT, pt=13, seq=98, ts=base, ssrc=0xA, payload=b"\x40")
    pcap.udp(0.07, (A_ADDR[0], A_ADDR[1] + 1), RTPENGINE_A_PORT + 1, b"\x81\xc8\x00\x06" + b"\x00" * 24)
    # A's phone restarts its stream (new SSRC, new timestamps) one second in
    for n in range(5):
        pcap.rtp(
            1.0 + n * 0.02,
            A_ADDR,
            RTPENGINE_A_PORT,
            pt=PCMA,
            seq=500 + n,
            ts=77 + n * 160,
            ssrc=0xAA,
            payload=constant(A_CODE),
        )
    # B starts 100 ms after A, in µ-law, packets arriving out of order
    for n in (0, 2, 1, 3, 4):
        pcap.rtp(
            0.1 + n * 0.02,
            B_ADDR,
            RTPENGINE_B_PORT,
            pt=PCMU,
            seq=n,
            ts=1000 + n * 160,
            ssrc=0xB,
            payload=constant(B_CODE),
        )
    # someone else in the file (a third leg) is left out
    pcap.rtp(0.0, ("10.0.0.3", 6000), 30030, pt=PCMA, seq=0, ts=0, ssrc=0xC, payload=constant(0x00))
    return pcap.write(path)


@pytest.mark.parametrize("ethernet", [False, True])
def test_packets_are_placed_by_timestamp_with_silence_for_what_is_missing(
    tmp_path: Path, ethernet: bool
) -> None:
    pcap = _two_party_pcap(tmp_path / "call.pcap", ethernet=ethernet)
    result = pcap_to_wav(
        pcap,
        tmp_path / "out" / "call.wav",
        party_a=Party(address=A_ADDR),
        party_b=Party(local_ports=frozenset({RTPENGINE_B_PORT})),
    )
    audio = read_wav(result.path)
    a, b = audio[:, 0], audio[:, 1]
    assert result.duration_s == pytest.approx((8000 + 5 * 160) / 8000)
    assert len(audio) == 8000 + 5 * 160
    # A: packets 0–3 and 5–9, the lost packet 4 silent, nothing until its new stream at 1.0 s
    assert np.all(a[0:640] == A_LEVEL) and np.all(a[800:1600] == A_LEVEL)
    assert np.all(a[640:800] == 0)
    assert np.all(a[1600:8000] == 0)
    assert np.all(a[8000:8800] == A_LEVEL)
    # B: 100 ms in, five packets in timestamp order whatever their arrival order
    assert np.all(b[:800] == 0) and np.all(b[800:1600] == B_LEVEL) and np.all(b[1600:] == 0)
    assert result.channels[0].packets == 14 and result.channels[0].streams == 2
    assert result.channels[0].skipped == 2  # the DTMF event and the comfort noise (RTCP is another port)
    assert result.channels[1].packets == 5


def test_a_codec_change_and_a_timestamp_jump_in_one_stream(tmp_path: Path) -> None:
    pcap = PcapWriter()
    for n in range(4):  # A-law, then µ-law (a re-INVITE changed the codec), same SSRC
        pt, code = (PCMA, A_CODE) if n < 2 else (PCMU, B_CODE)
        pcap.rtp(n * 0.02, A_ADDR, RTPENGINE_A_PORT, pt=pt, seq=n, ts=n * 160, ssrc=7, payload=constant(code))
    # the phone's clock jumps ten seconds ahead while the packets keep coming every 20 ms
    for n in range(4, 6):
        pcap.rtp(
            n * 0.02,
            A_ADDR,
            RTPENGINE_A_PORT,
            pt=PCMA,
            seq=n,
            ts=80_000 + n * 160,
            ssrc=7,
            payload=constant(A_CODE),
        )
    pcap.rtp(0.0, B_ADDR, RTPENGINE_B_PORT, pt=PCMA, seq=0, ts=0, ssrc=8, payload=constant(A_CODE))
    result = pcap_to_wav(
        pcap.write(tmp_path / "c.pcap"),
        tmp_path / "c.wav",
        party_a=Party(address=A_ADDR),
        party_b=Party(address=B_ADDR),
    )
    a = read_wav(result.path)[:, 0]
    assert len(a) == 6 * 160  # the jump is not ten seconds of silence
    assert np.all(a[:320] == A_LEVEL) and np.all(a[320:640] == B_LEVEL) and np.all(a[640:] == A_LEVEL)
    assert result.channels[0].streams == 2


def test_the_sha256_is_returned_and_written_beside_the_wav(tmp_path: Path) -> None:
    pcap = _two_party_pcap(tmp_path / "call.pcap")
    result = pcap_to_wav(
        pcap, tmp_path / "call.wav", party_a=Party(address=A_ADDR), party_b=Party(address=B_ADDR)
    )
    digest = hashlib.sha256((tmp_path / "call.wav").read_bytes()).hexdigest()
    assert result.sha256 == digest
    assert (tmp_path / "call.wav.sha256").read_text() == f"{digest}  call.wav\n"


def test_swapping_the_parties_swaps_the_channels(tmp_path: Path) -> None:
    pcap = _two_party_pcap(tmp_path / "call.pcap")
    one = read_wav(
        pcap_to_wav(
            pcap, tmp_path / "1.wav", party_a=Party(address=A_ADDR), party_b=Party(address=B_ADDR)
        ).path
    )
    two = read_wav(
        pcap_to_wav(
            pcap, tmp_path / "2.wav", party_a=Party(address=B_ADDR), party_b=Party(address=A_ADDR)
        ).path
    )
    assert np.array_equal(one, two[:, ::-1])


def test_a_pcap_without_either_party_is_an_error(tmp_path: Path) -> None:
    pcap = _two_party_pcap(tmp_path / "call.pcap")
    nobody = Party(address=("192.0.2.9", 1))
    with pytest.raises(RecordingError, match=r"no G\.711 audio"):
        pcap_to_wav(pcap, tmp_path / "x.wav", party_a=nobody, party_b=nobody)
    (tmp_path / "bad.pcap").write_bytes(b"not a pcap at all, really not")
    with pytest.raises(RecordingError, match="bad magic"):
        pcap_to_wav(tmp_path / "bad.pcap", tmp_path / "x.wav", party_a=nobody, party_b=nobody)
    assert not (tmp_path / "x.wav").exists()


def test_sources_lists_who_sent_what(tmp_path: Path) -> None:
    counts = sources(_two_party_pcap(tmp_path / "call.pcap"))
    assert counts[A_ADDR] == 16 and counts[B_ADDR] == 5 and counts[("10.0.0.3", 6000)] == 1


def test_party_from_query_takes_the_tag_s_ports() -> None:
    query = {
        "tags": {
            "caller": {"medias": [{"streams": [{"local port": 30010}, {"local port": 30011}]}]},
            "agent": {"medias": [{"streams": [{"local port": 30020}, {}]}]},
        }
    }
    assert Party.from_query(query, "caller").local_ports == {30010, 30011}
    assert Party.from_query(query, "agent").local_ports == {30020}
    with pytest.raises(RecordingError, match="not in the call"):
        Party.from_query(query, "supervisor")


def test_query_ports_keeps_only_the_ports_of_tags_that_have_them() -> None:
    query = {
        "tags": {
            "caller": {"medias": [{"streams": [{"local port": 30010}, {"local port": 30011}]}]},
            "agent": {"medias": [{"streams": [{"local port": 30020}, {"local port": "x"}]}]},
            "placeholder": {"medias": [{"streams": [{}]}]},
        },
        "totals": {"RTP": {"packets": 9}},
    }
    ports = query_ports(query)
    assert ports == {"caller": frozenset({30010, 30011}), "agent": frozenset({30020})}
    assert party_of(ports, ["caller", "agent", "placeholder", "gone"]).local_ports == {30010, 30011, 30020}
    assert party_of(ports, ["placeholder"]).local_ports == frozenset()
    assert query_ports({}) == {}


# ---------------------------------------------------------------------------------------------
# A real recorded call
# ---------------------------------------------------------------------------------------------


def test_a_call_recorded_by_rtpengine_becomes_a_stereo_wav(ng: Any, rtpengine: Any, tmp_path: Path) -> None:
    call_id = "rec-1@pbx.example"
    a, b = Phone("a", ssrc=0xA7), Phone("b", ssrc=0xB7, payload_type=PCMU)
    seconds = 1.2
    lost = frozenset(range(20, 30))  # A's packets 20–29 never arrive

    async def scenario() -> dict[str, Any]:
        async with ng() as client:
            offer_for_b = await client.offer(call_id, "tagA", a.sdp())
            answer_for_a = await client.answer(call_id, "tagA", "tagB", b.sdp())
            b.send_to(offer_for_b)
            a.send_to(answer_for_a)
            await client.start_recording(call_id)
            query = await client.query(call_id)
            await asyncio.gather(
                a.send_audio(tone(440, seconds), lose=lost),
                b.send_audio(tone(1000, seconds, amplitude=6000)),
            )
            await asyncio.sleep(0.05)
            found = find_recording(rtpengine.spool_dir, call_id)
            assert found is not None and found.metadata is None  # the call goes on
            await client.stop_recording(call_id)
            await client.delete(call_id)
        return query

    try:
        query = run(scenario())
    finally:
        a.close()
        b.close()
    recording = find_recording(rtpengine.spool_dir, call_id)
    assert recording is not None and recording.metadata is not None
    assert recording.pcap.parent == rtpengine.spool_dir / "pcaps"
    assert recording.pcap.name.startswith("rec-1%40pbx.example-")
    assert recording.metadata.read_text().splitlines()[0] == str(recording.pcap)

    result = pcap_to_wav(
        recording.pcap,
        tmp_path / "rec-1.wav",
        party_a=Party.from_query(query, "tagA"),
        party_b=Party.from_query(query, "tagB"),
    )
    assert result.duration_s == pytest.approx(seconds, abs=0.1)
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert (tmp_path / "rec-1.wav.sha256").read_text().split()[0] == result.sha256
    audio = read_wav(result.path).astype(np.int32)
    a_channel, b_channel = audio[:, 0], audio[:, 1]
    assert dominant_hz(a_channel) == pytest.approx(440, abs=5)
    assert dominant_hz(b_channel) == pytest.approx(1000, abs=5)
    # each channel holds one party only: the other's tone is not in it
    assert _power_at(a_channel, 1000) < 0.01 * _power_at(a_channel, 440)
    assert _power_at(b_channel, 440) < 0.01 * _power_at(b_channel, 1000)
    # A's lost packets are silence, in place: the first sample of A's stream anchors the channel
    start = int(np.flatnonzero(a_channel)[0])
    assert not np.any(a_channel[start + 20 * 160 + 2 : start + 30 * 160 - 2])
    assert np.abs(a_channel[start + 30 * 160 : start + 31 * 160]).max() > 6000  # and A is back
    assert result.channels[0].packets == 60 - len(lost) and result.channels[1].packets == 60


def _power_at(samples: np.ndarray, hz: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    freqs = np.fft.rfftfreq(samples.size, 1 / 8000)
    return float(spectrum[np.abs(freqs - hz) < 5].max())
