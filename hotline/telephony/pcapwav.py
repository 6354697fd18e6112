"""Call recordings (通话录音): rtpengine's pcap of one call → a stereo WAV, one channel per party.

rtpengine's ``pcap`` recording method writes every RTP packet it *receives* from the parties of a
recorded call (not the prompts it plays) into one file per call, with the IP and UDP headers, so
each packet tells who sent it (its source address) and on which of rtpengine's ports it arrived:

- ``<spool>/pcaps/<call-id>-<16 hex>.pcap``, written while the call is recorded (the call id is
  percent-escaped: ``a/b@c`` → ``a%2Fb%40c``);
- ``<spool>/tmp/rtpengine-meta-<same>.tmp`` while the call lasts, moved to
  ``<spool>/metadata/rtpengine-meta-<same>.txt`` when it ends: the pcap's path on the first line,
  then the offer/answer SDPs seen while recording (with ``record call`` on the offer: all of
  them) and the start and end times. Tags are not in it.

A party is picked by the address it sent from or by rtpengine's local port that received its
media; :meth:`Party.from_query` takes the ports of a tag from an ng ``query`` reply, which the
switch asks for when it starts recording a bridge.

Each party's G.711 packets (A-law, µ-law) are decoded and placed by RTP timestamp, a new stream
(new SSRC, or a timestamp jump) anchored at its first packet's arrival time; what is missing is
silence. RFC 2833 events, comfort noise and RTCP are left out. The WAV is 8 kHz, 16-bit, two
channels (0 = party A, 1 = party B); its SHA-256 goes beside it in ``<name>.wav.sha256``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
import urllib.parse
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

SAMPLE_RATE = 8000
PCMU = 0
PCMA = 8
G711_PAYLOAD_TYPES: Mapping[int, str] = {PCMU: "PCMU", PCMA: "PCMA"}
# A stream whose RTP clock strays this far from its arrival times starts a new segment (a phone
# that restarted its timestamps, a re-INVITE); jitter stays far below it.
RESYNC_S = 1.0
MAX_GAP_S = 4 * 3600  # a timestamp further than this from the start is garbage, not a gap


class RecordingError(Exception):
    """The pcap cannot be read, or holds nothing for the parties asked for."""


# ---------------------------------------------------------------------------------------------
# G.711 decoding tables (ITU-T G.711)
# ---------------------------------------------------------------------------------------------


def _ulaw_table() -> npt.NDArray[np.int16]:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> npt.NDArray[np.int16]:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


ULAW_TO_LINEAR = _ulaw_table()
ALAW_TO_LINEAR = _alaw_table()
_TABLES = {"PCMU": ULAW_TO_LINEAR, "PCMA": ALAW_TO_LINEAR}


# ---------------------------------------------------------------------------------------------
# Parties and results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Party:
    """Which packets are one party's: sent from ``address``, or received on one of ``local_ports``."""

    address: tuple[str, int] | None = None
    local_ports: frozenset[int] = frozenset()

    @classmethod
    def from_query(cls, query: Mapping[str, Any], tag: str) -> Party:
        """rtpengine's ports that receive ``tag``'s media, from an ng ``query`` reply."""
        tags = query.get("tags") or {}
        if tag not in tags:
            raise RecordingError(f"tag {tag!r} is not in the call ({', '.join(map(str, tags)) or 'no tags'})")
        ports = {
            stream["local port"]
            for media in tags[tag].get("medias", [])
            for stream in media.get("streams", [])
            if isinstance(stream.get("local port"), int)
        }
        if not ports:
            raise RecordingError(f"tag {tag!r} has no media ports yet")
        return cls(local_ports=frozenset(ports))

    def matches(self, src: tuple[str, int], dst_port: int) -> bool:
        return (self.address is not None and src == self.address) or dst_port in self.local_ports


@dataclass(frozen=True, slots=True)
class ChannelStats:
    packets: int = 0  # audio packets placed
    skipped: int = 0  # the party's other packets: events, comfort noise, RTCP, unknown codecs
    streams: int = 0  # SSRCs / timestamp segments


@dataclass(frozen=True, slots=True)
class WavResult:
    path: Path
    duration_s: float
    sha256: str
    channels: tuple[ChannelStats, ChannelStats] = field(default=(ChannelStats(), ChannelStats()))


@dataclass(frozen=True, slots=True)
class Recording:
    """The files rtpengine wrote for one recorded call."""

    pcap: Path
    metadata: Path | None  # None while the call lasts


def find_recording(spool_dir: Path, call_id: str) -> Recording | None:
    """The newest recording of ``call_id`` in rtpengine's spool (``--recording-dir``)."""
    escaped = urllib.parse.quote(call_id, safe="")
    pcaps = [
        path
        for path in (spool_dir / "pcaps").glob("*.pcap")
        if path.stem.rpartition("-")[0] == escaped and len(path.stem.rpartition("-")[2]) == 16
    ]
    if not pcaps:
        return None
    pcap = max(pcaps, key=lambda path: path.stat().st_mtime)
    metadata = spool_dir / "metadata" / f"rtpengine-meta-{pcap.stem}.txt"
    return Recording(pcap=pcap, metadata=metadata if metadata.exists() else None)


# ---------------------------------------------------------------------------------------------
# Reading the pcap
# ---------------------------------------------------------------------------------------------

_LINK_ETHERNET = 1
_LINK_RAW = (101, 12, 14)
_LINK_IPV4 = 228
_LINK_IPV6 = 229


@dataclass(slots=True)
class _Packets:
    """One party's RTP audio packets in arrival order."""

    arrival: list[float] = field(default_factory=list)
    ssrc: list[int] = field(default_factory=list)
    seq: list[int] = field(default_factory=list)
    timestamp: list[int] = field(default_factory=list)
    table: list[int] = field(default_factory=list)  # 0 µ-law, 1 A-law
    payload: list[bytes] = field(default_factory=list)
    skipped: int = 0


def _read_pcap(
    data: bytes, parties: tuple[Party, Party], payload_types: Mapping[int, str]
) -> tuple[_Packets, _Packets]:
    if len(data) < 24:
        raise RecordingError("not a pcap file (too short)")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise RecordingError("not a pcap file (bad magic)")
    fraction = 1e-9 if magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d") else 1e-6
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    record = struct.Struct(endian + "IIII")
    codecs = {pt: (0 if name == "PCMU" else 1) for pt, name in payload_types.items()}
    out = (_Packets(), _Packets())
    pos = 24
    size = len(data)
    while pos + 16 <= size:
        seconds, frac, caplen, _ = record.unpack_from(data, pos)
        pos += 16
        frame = data[pos : pos + caplen]
        pos += caplen
        parsed = _udp(frame, linktype)
        if parsed is None:
            continue
        src, dst_port, udp = parsed
        for index, party in enumerate(parties):
            if party.matches(src, dst_port):
                _rtp(udp, seconds + frac * fraction, codecs, out[index])
                break
    return out


def _udp(frame: bytes, linktype: int) -> tuple[tuple[str, int], int, bytes] | None:
    offset = 0
    if linktype == _LINK_ETHERNET:
        if len(frame) < 14:
            return None
        ethertype = int.from_bytes(frame[12:14], "big")
        offset = 14
        if ethertype == 0x8100:  # VLAN tag
            ethertype = int.from_bytes(frame[16:18], "big")
            offset = 18
        if ethertype not in (0x0800, 0x86DD):
            return None
    elif linktype not in (*_LINK_RAW, _LINK_IPV4, _LINK_IPV6):
        raise RecordingError(f"pcap link type {linktype} is not supported")
    if len(frame) < offset + 20:
        return None
    version = frame[offset] >> 4
    if version == 4:
        header = (frame[offset] & 0x0F) * 4
        if frame[offset + 9] != 17:  # UDP
            return None
        src_ip = ".".join(str(b) for b in frame[offset + 12 : offset + 16])
        offset += header
    elif version == 6:
        if len(frame) < offset + 40 or frame[offset + 6] != 17:  # no extension headers in RTP
            return None
        src_ip = str(ipaddress.IPv6Address(frame[offset + 8 : offset + 24]))
        offset += 40
    else:
        return None
    if len(frame) < offset + 8:
        return None
    src_port, dst_port = struct.unpack_from("!HH", frame, offset)
    return (src_ip, src_port), dst_port, frame[offset + 8 :]


_RTP_HEADER = struct.Struct("!BBHII")


def _rtp(udp: bytes, arrival: float, codecs: Mapping[int, int], out: _Packets) -> None:
    if len(udp) < 12:
        out.skipped += 1
        return
    first, second, seq, timestamp, ssrc = _RTP_HEADER.unpack_from(udp, 0)
    payload_type = second & 0x7F
    if first >> 6 != 2 or payload_type not in codecs:  # RTCP (72–76), events, CN (13), others
        out.skipped += 1
        return
    start = 12 + 4 * (first & 0x0F)
    if first & 0x10:  # header extension
        if len(udp) < start + 4:
            out.skipped += 1
            return
        start += 4 + 4 * int.from_bytes(udp[start + 2 : start + 4], "big")
    end = len(udp)
    if first & 0x20 and end > start:  # padding
        end -= udp[-1]
    if end <= start:
        out.skipped += 1
        return
    out.arrival.append(arrival)
    out.ssrc.append(ssrc)
    out.seq.append(seq)
    out.timestamp.append(timestamp)
    out.table.append(codecs[payload_type])
    out.payload.append(udp[start:end])


# ---------------------------------------------------------------------------------------------
# Placing samples
# ---------------------------------------------------------------------------------------------


def _positions(packets: _Packets, origin: float) -> tuple[npt.NDArray[np.int64], int]:
    """Sample index of each packet's first sample (−1: dropped) and the number of streams."""
    count = len(packets.payload)
    positions = np.full(count, -1, dtype=np.int64)
    streams = 0
    anchors: dict[int, tuple[int, int]] = {}  # ssrc -> (RTP timestamp, sample index) of the anchor
    limit = MAX_GAP_S * SAMPLE_RATE
    for i in range(count):
        ssrc = packets.ssrc[i]
        arrived_at = round((packets.arrival[i] - origin) * SAMPLE_RATE)
        anchor = anchors.get(ssrc)
        if anchor is not None:
            delta = (packets.timestamp[i] - anchor[0] + 0x80000000) % 0x100000000 - 0x80000000
            position = anchor[1] + delta
            if abs(position - arrived_at) <= RESYNC_S * SAMPLE_RATE:
                if 0 <= position < limit:
                    positions[i] = position
                continue
        anchors[ssrc] = (packets.timestamp[i], arrived_at)
        streams += 1
        if 0 <= arrived_at < limit:
            positions[i] = arrived_at
    return positions, streams


def _channel(packets: _Packets, origin: float) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int16], int]:
    """Destination sample indices and decoded samples of one party."""
    positions, streams = _positions(packets, origin)
    keep = positions >= 0
    if not keep.any():
        return np.empty(0, np.int64), np.empty(0, np.int16), streams
    lengths = np.fromiter((len(p) for p in packets.payload), dtype=np.int64, count=len(packets.payload))
    codes = np.frombuffer(b"".join(packets.payload), dtype=np.uint8)
    tables = np.repeat(np.asarray(packets.table, dtype=np.uint8), lengths)
    samples = np.where(tables == 0, ULAW_TO_LINEAR[codes], ALAW_TO_LINEAR[codes])
    starts = np.cumsum(lengths) - lengths
    destination = np.repeat(positions - starts, lengths) + np.arange(codes.size, dtype=np.int64)
    mask = np.repeat(keep, lengths)
    return destination[mask], samples[mask], streams


def pcap_to_wav(
    pcap_path: Path,
    wav_path: Path,
    *,
    party_a: Party,
    party_b: Party,
    payload_types: Mapping[int, str] = G711_PAYLOAD_TYPES,
) -> WavResult:
    """Write ``wav_path`` (stereo, 8 kHz, 16-bit; channel 0 = ``party_a``) from ``pcap_path``.

    ``payload_types`` maps RTP payload types to ``PCMU``/``PCMA`` (add dynamic ones from the SDP
    if a phone uses them). Returns the path, the duration and the SHA-256 of the WAV, which is
    also written to ``<wav_path>.sha256`` in ``sha256sum`` format.
    """
    unknown = {name for name in payload_types.values() if name not in _TABLES}
    if unknown:
        raise RecordingError(f"codecs {sorted(unknown)} cannot be decoded (G.711 PCMU/PCMA only)")
    try:
        data = Path(pcap_path).read_bytes()
    except OSError as exc:
        raise RecordingError(f"cannot read {pcap_path}: {exc}") from exc
    packets = _read_pcap(data, (party_a, party_b), payload_types)
    arrivals = [p.arrival[0] for p in packets if p.arrival]
    if not arrivals:
        raise RecordingError(f"no G.711 audio from either party in {pcap_path}")
    origin = min(arrivals)
    placed = [_channel(p, origin) for p in packets]
    frames = max((int(dest.max()) + 1 for dest, _, _ in placed if dest.size), default=0)
    audio = np.zeros((frames, 2), dtype="<i2")
    for channel, (destination, samples, _) in enumerate(placed):
        audio[destination, channel] = samples
    wav_path = Path(wav_path)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(wav_path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(audio.tobytes())
    digest = file_sha256(wav_path)
    wav_path.with_name(wav_path.name + ".sha256").write_text(f"{digest}  {wav_path.name}\n")
    stats = tuple(
        ChannelStats(packets=len(p.payload), skipped=p.skipped, streams=streams)
        for p, (_, _, streams) in zip(packets, placed, strict=True)
    )
    return WavResult(
        path=wav_path,
        duration_s=frames / SAMPLE_RATE,
        sha256=digest,
        channels=(stats[0], stats[1]),
    )


def file_sha256(path: Path, *, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sources(pcap_path: Path) -> dict[tuple[str, int], int]:
    """Source addresses in a pcap with their packet counts (to see who is in a recording)."""
    data = Path(pcap_path).read_bytes()
    if len(data) < 24:
        raise RecordingError("not a pcap file (too short)")
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    counts: dict[tuple[str, int], int] = {}
    pos = 24
    while pos + 16 <= len(data):
        caplen = struct.unpack_from(endian + "I", data, pos + 8)[0]
        parsed = _udp(data[pos + 16 : pos + 16 + caplen], linktype)
        pos += 16 + caplen
        if parsed is not None:
            counts[parsed[0]] = counts.get(parsed[0], 0) + 1
    return counts
