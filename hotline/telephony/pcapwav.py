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
media; :func:`query_ports` takes every tag's ports from an ng ``query`` reply, which the
switch asks for when the call ends, before it deletes the call (rtpengine 10.5 answers
``delete`` with no statistics), and passes on undecoded.

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
from collections.abc import Iterator, Mapping
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
        ports = query_ports(query).get(tag)
        if not ports:
            raise RecordingError(f"tag {tag!r} has no media ports yet")
        return cls(local_ports=ports)


def query_ports(query: Mapping[str, Any]) -> dict[str, frozenset[int]]:
    """Each tag's ports where rtpengine receives its media, from an ng ``query`` reply (a tag
    without media ports yet is left out). This is all the archive needs of the reply."""
    ports: dict[str, frozenset[int]] = {}
    for tag, monologue in (query.get("tags") or {}).items():
        found = frozenset(
            stream["local port"]
            for media in monologue.get("medias", [])
            for stream in media.get("streams", [])
            if isinstance(stream.get("local port"), int)
        )
        if found:
            ports[str(tag)] = found
    return ports

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
    timestamp: list[int] = field(default_factory=list)
    table: list[int] = field(default_factory=list)  # 0 µ-law, 1 A-law
    payload: list[bytes] = field(default_factory=list)
    skipped: int = 0


def _pcap_header(data: bytes) -> tuple[str, float, int]:
    """Byte order, fraction of a second in a timestamp unit, and link type."""
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
    if linktype != _LINK_ETHERNET and linktype not in (*_LINK_RAW, _LINK_IPV4, _LINK_IPV6):
        raise RecordingError(f"pcap link type {linktype} is not supported")
    return endian, fraction, linktype


def _frames(data: bytes) -> Iterator[tuple[float, bytes, int, int, int, int]]:
    """(arrival, source address as packed bytes, source port, destination port, UDP payload
    start, end) of each UDP packet in the pcap; ``data`` is indexed with the offsets."""
    endian, fraction, linktype = _pcap_header(data)
    record = struct.Struct(endian + "IIII")
    ports = struct.Struct("!HH")
    size = len(data)
    pos = 24
    while pos + 16 <= size:
        seconds, frac, caplen, _ = record.unpack_from(data, pos)
        pos += 16
        offset, end = pos, min(pos + caplen, size)
        pos += caplen
        if linktype == _LINK_ETHERNET:
            ethertype = data[offset + 12 : offset + 14]
            offset += 14
            if ethertype == b"\x81\x00":  # VLAN tag
                ethertype = data[offset + 2 : offset + 4]
                offset += 4
            if ethertype not in (b"\x08\x00", b"\x86\xdd"):
                continue
        if end - offset < 28:
            continue
        version = data[offset] >> 4
        if version == 4:
            if data[offset + 9] != 17:  # not UDP
                continue
            source = data[offset + 12 : offset + 16]
            offset += (data[offset] & 0x0F) * 4
        elif version == 6:
            if end - offset < 48 or data[offset + 6] != 17:  # no extension headers before RTP
                continue
            source = data[offset + 8 : offset + 24]
            offset += 40
        else:
            continue
        if end - offset < 8:
            continue
        src_port, dst_port = ports.unpack_from(data, offset)
        yield seconds + frac * fraction, source, src_port, dst_port, offset + 8, end


def _packed(address: tuple[str, int] | None) -> tuple[bytes, int] | None:
    if address is None:
        return None
    return ipaddress.ip_address(address[0]).packed, address[1]


def _read_pcap(
    data: bytes,
    parties: tuple[Party, Party],
    payload_types: Mapping[int, str],
    window: tuple[float, float] | None = None,
) -> tuple[_Packets, _Packets]:
    codecs = {pt: (0 if name == "PCMU" else 1) for pt, name in payload_types.items()}
    addresses = [_packed(party.address) for party in parties]
    local_ports = [party.local_ports for party in parties]
    out = (_Packets(), _Packets())
    header = struct.Struct("!BBHII")
    since, until = window if window is not None else (float("-inf"), float("inf"))
    for arrival, source, src_port, dst_port, start, end in _frames(data):
        if not since <= arrival <= until:
            continue
        if (source, src_port) == addresses[0] or dst_port in local_ports[0]:
            packets = out[0]
        elif (source, src_port) == addresses[1] or dst_port in local_ports[1]:
            packets = out[1]
        else:
            continue
        if end - start < 12:
            packets.skipped += 1
            continue
        first, second, _, timestamp, ssrc = header.unpack_from(data, start)
        payload_type = second & 0x7F
        if first >> 6 != 2 or payload_type not in codecs:  # RTCP (72–76), events, CN (13), others
            packets.skipped += 1
            continue
        start += 12 + 4 * (first & 0x0F)
        if first & 0x10 and end - start >= 4:  # header extension
            start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
        if first & 0x20:  # padding
            end -= data[end - 1]
        if end <= start:
            packets.skipped += 1
            continue
        packets.arrival.append(arrival)
        packets.ssrc.append(ssrc)
        packets.timestamp.append(timestamp)
        packets.table.append(codecs[payload_type])
        packets.payload.append(data[start:end])
    return out


# ---------------------------------------------------------------------------------------------
# Placing samples
# ---------------------------------------------------------------------------------------------


def _positions(packets: _Packets, origin: float) -> tuple[list[int], int]:
    """Sample index of each packet's first sample (−1: dropped) and the number of streams."""
    positions: list[int] = []
    streams = 0
    anchors: dict[int, tuple[int, int]] = {}  # ssrc -> (RTP timestamp, sample index) of the anchor
    limit = MAX_GAP_S * SAMPLE_RATE
    resync = RESYNC_S * SAMPLE_RATE
    for arrival, ssrc, timestamp in zip(packets.arrival, packets.ssrc, packets.timestamp, strict=True):
        arrived_at = round((arrival - origin) * SAMPLE_RATE)
        anchor = anchors.get(ssrc)
        if anchor is not None:
            position = anchor[1] + (timestamp - anchor[0] + 0x80000000) % 0x100000000 - 0x80000000
            if abs(position - arrived_at) <= resync:
                positions.append(position if 0 <= position < limit else -1)
                continue
        anchors[ssrc] = (timestamp, arrived_at)
        streams += 1
        positions.append(arrived_at if 0 <= arrived_at < limit else -1)
    return positions, streams


def _place(packets: _Packets, positions: list[int], out: npt.NDArray[np.int16]) -> None:
    """Decode one party's packets into ``out`` (one channel) at ``positions``."""
    if not packets.payload:
        return
    codes = np.frombuffer(b"".join(packets.payload), dtype=np.uint8)
    lengths = np.fromiter((len(payload) for payload in packets.payload), np.int64, len(packets.payload))
    if all(packets.table):
        samples = ALAW_TO_LINEAR[codes]
    elif not any(packets.table):
        samples = ULAW_TO_LINEAR[codes]
    else:  # the codec changed during the call
        tables = np.repeat(np.asarray(packets.table, dtype=np.uint8), lengths)
        samples = np.where(tables == 0, ULAW_TO_LINEAR[codes], ALAW_TO_LINEAR[codes])
    # Copy runs of packets that follow one another (all of them, on a clean line) in one go.
    starts = np.cumsum(lengths) - lengths
    position = np.asarray(positions, dtype=np.int64)
    valid = position >= 0
    follows = np.zeros(position.size, dtype=bool)
    follows[1:] = valid[1:] & valid[:-1] & (position[1:] == position[:-1] + lengths[:-1])
    breaks = np.flatnonzero(~follows)  # packets that do not continue the one before
    ends = np.append(breaks[1:], position.size)
    size = out.shape[0]
    for first, after in zip(breaks.tolist(), ends.tolist(), strict=True):
        if not valid[first]:
            continue
        begin = int(position[first])
        stop = min(int(position[after - 1] + lengths[after - 1]), size)
        out[begin:stop] = samples[starts[first] : starts[first] + stop - begin]


def _frames_needed(packets: _Packets, positions: list[int]) -> int:
    return max(
        (
            position + len(payload)
            for position, payload in zip(positions, packets.payload, strict=True)
            if position >= 0
        ),
        default=0,
    )


def pcap_to_wav(
    pcap_path: Path,
    wav_path: Path,
    *,
    party_a: Party,
    party_b: Party,
    payload_types: Mapping[int, str] = G711_PAYLOAD_TYPES,
    window: tuple[float, float] | None = None,
    mono: bool = False,
) -> WavResult:
    """Write ``wav_path`` (stereo, 8 kHz, 16-bit; channel 0 = ``party_a``) from ``pcap_path``.

    ``window``: only packets that arrived between these two Unix times (a voicemail within a
    call); ``mono``: only ``party_a``, in one channel (a voicemail).

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
    packets = _read_pcap(data, (party_a, party_b), payload_types, window)
    arrivals = [p.arrival[0] for p in packets if p.arrival]
    if not arrivals:
        raise RecordingError(f"no G.711 audio from either party in {pcap_path}")
    origin = min(arrivals)
    placed = [_positions(p, origin) for p in packets]
    frames = max(_frames_needed(p, positions) for p, (positions, _) in zip(packets, placed, strict=True))
    audio = np.zeros((frames, 2), dtype="<i2")
    for channel, (p, (positions, _)) in enumerate(zip(packets, placed, strict=True)):
        _place(p, positions, audio[:, channel])
    streams = [count for _, count in placed]
    wav_path = Path(wav_path)
    wav_path.parent.mkdir(parents=True, exist_ok=True)
    if mono:
        audio = np.ascontiguousarray(audio[:, 0])
    with wave.open(str(wav_path), "wb") as out:
        out.setnchannels(1 if mono else 2)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(audio.tobytes())
    digest = file_sha256(wav_path)
    wav_path.with_name(wav_path.name + ".sha256").write_text(f"{digest}  {wav_path.name}\n")
    stats = tuple(
        ChannelStats(packets=len(p.payload), skipped=p.skipped, streams=count)
        for p, count in zip(packets, streams, strict=True)
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
    counts: dict[tuple[str, int], int] = {}
    for _, source, src_port, _, _, _ in _frames(Path(pcap_path).read_bytes()):
        key = (str(ipaddress.ip_address(source)), src_port)
        counts[key] = counts.get(key, 0) + 1
    return counts
