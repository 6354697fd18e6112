"""The recording archive (录音归档): what a finished call left in rtpengine's pcap spool becomes WAV
files under ``HOTLINE_RECORDING_DIR`` — the conversation as a stereo WAV (the citizen's side on the
left channel, the centre's on the right) with its SHA-256, and each voicemail as a mono WAV of the
caller — and the conversation gets its ``Recording`` row. The pcap is removed once converted; it
stays in the spool when the conversion fails, so nothing is lost and it can be tried again.

The conversion (``convert_call``) needs no database and runs in a child process of the switch
(``SipRuntime``), so its Python work never holds the switch's interpreter lock; the rows are then
written in batches on a worker thread (``conversation_report``, ``store_reports``). Paths stored
in the database are relative to ``HOTLINE_RECORDING_DIR``.
"""

from __future__ import annotations

import logging
import os
import time
import wave
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .ng import bdecode
from .pcapwav import Party, RecordingError, file_sha256, find_recording, pcap_to_wav, query_ports
from .sipswitch import CallMedia

log = logging.getLogger(__name__)

SPOOL_WAIT_S = 2.0  # rtpengine writes the metadata file when it closes the pcap


@dataclass(frozen=True, slots=True)
class Archived:
    """What ``convert_call`` wrote: the conversation's relative path ("" when the call was not
    recorded) with its SHA-256, length and size, and the voicemails' paths."""

    conversation: str
    voicemails: tuple[str, ...]
    sha256: str = ""
    seconds: float = 0.0
    size_bytes: int = 0


def conversation_path(media: CallMedia) -> str:
    """``YYYY/MM/DD/<call>.wav`` by the call's start (UTC)."""
    return f"{media.started_at:%Y/%m/%d}/{media.call_id}.wav"


def party_of(ports: Mapping[str, frozenset[int]], tags: Iterable[str]) -> Party:
    """One channel's packets: whatever rtpengine received on the ports of any of ``tags`` (a tag
    that never got media is left out)."""
    return Party(local_ports=frozenset().union(*(ports.get(tag, frozenset()) for tag in tags)))


def silent_wav(path: Path, *, channels: int) -> str:
    """A voicemail in which the caller sent no audio still gets its (empty) file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"")
    digest = file_sha256(path)
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    return digest


# The archive's child process runs at this niceness: converting recordings can wait a few seconds,
# the calls going on cannot (rtpengine and the switch come first when the cores are busy).
ARCHIVE_NICENESS = 10


def lower_priority() -> None:
    """The archive's child process's initializer: give way to the live calls' processes."""
    increment = ARCHIVE_NICENESS - os.nice(0)
    if increment > 0:  # never above the switch's own priority
        os.nice(increment)


def warm() -> bool:
    """Run in the archive's child process when it starts: its imports are done by then."""
    return bool(pcap_to_wav)


def conversation_report(media: CallMedia, archived: Archived) -> dict[str, Any] | None:
    """The fields of the conversation's ``Recording`` row (None when the call was not recorded)."""
    if not archived.conversation:
        return None
    return {
        "call_id": media.call_id,
        "path": archived.conversation,
        "sha256": archived.sha256,
        "seconds": archived.seconds,
        "size_bytes": archived.size_bytes,
        "started_at": media.started_at,
        "ended_at": media.ended_at,
        "caller": media.caller,
        "called": media.called,
        "trunk": media.trunk,
    }


def store_reports(reports: list[dict[str, Any]]) -> int:
    """Many conversations' rows at once (database: a worker thread)."""
    from .recordings import recordings_store_many

    return recordings_store_many(reports)


def convert_call(
    media: CallMedia, *, spool_dir: Path, recording_dir: Path, wait_s: float = SPOOL_WAIT_S
) -> Archived:
    """Convert one call's pcap (no database); raises ``RecordingError`` when there is nothing to
    convert."""
    found = find_recording(spool_dir, media.call_id)
    deadline = time.monotonic() + wait_s
    while found is not None and found.metadata is None and time.monotonic() < deadline:
        time.sleep(0.1)
        found = find_recording(spool_dir, media.call_id)
    if found is None:
        raise RecordingError(f"no pcap of call {media.call_id} in {spool_dir}")
    ports = query_ports(bdecode(media.query)) if media.query else {}
    if not ports:
        raise RecordingError(f"call {media.call_id}: no ports known, the pcap is kept as it is")

    conversation, sha256, seconds, size = "", "", 0.0, 0
    if media.conversation is not None:
        conversation = conversation_path(media)
        target = recording_dir / conversation
        result = pcap_to_wav(
            found.pcap,
            target,
            party_a=party_of(ports, media.citizen_tags),
            party_b=party_of(ports, media.centre_tags),
            window=media.conversation,
        )
        sha256, seconds, size = result.sha256, round(result.duration_s, 2), target.stat().st_size
    voicemails = []
    for take in media.voicemails:
        target = recording_dir / take.path
        try:
            pcap_to_wav(
                found.pcap,
                target,
                party_a=party_of(ports, [take.leg_id]),
                party_b=Party(),
                window=(take.since, take.until),
                mono=True,
            )
        except RecordingError as exc:
            if "no G.711 audio" not in str(exc):
                raise
            silent_wav(target, channels=1)
        voicemails.append(take.path)
    found.pcap.unlink(missing_ok=True)
    if found.metadata is not None:
        found.metadata.unlink(missing_ok=True)
    return Archived(conversation, tuple(voicemails), sha256, seconds, size)
