"""The prompt library (语音提示库): one WAV file for each sequence of prompt names a ``Play`` asks for.

rtpengine plays one file per ``play media``; the engine asks for prompt *names*
(``("position:3", "wait_minutes:2")``). ``PromptLibrary.file_for`` turns the names into one file:

- each name becomes a *part*: a ``Prompt`` row's recording (converted once to 8 kHz mono WAV), a
  ``Prompt`` row's text, the built-in text (``defaults.DEFAULT_PROMPTS``), a dynamic form
  (``digits:…``, ``position:N``, ``wait_minutes:N``, ``status:<state>``), or music on hold (a
  recording, else a gentle tune made with sox);
- a part's file is named by a hash of its source version (the row's ``updated_at``, recording and
  text; the synthesiser's settings), so editing a prompt in the admin makes new audio and the old
  file is simply no longer asked for;
- a sequence of several parts is concatenated with sox, named by a hash of the names and the
  parts' versions.

Files are written to a temporary name and renamed into place, so two threads or two processes
may render the same prompt at once and a reader never sees half a file. Rendering costs tens of
milliseconds per part; ``warm`` and ``build_all`` do it ahead of the calls.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct
import tempfile
import threading
import time
import wave
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings

from . import speech
from .defaults import DEFAULT_MUSIC, DEFAULT_PROMPTS, DYNAMIC_TEXTS

PART_TEXT = "text"
PART_RECORDING = "recording"
PART_TUNE = "tune"

PLAYED_MAX = 1024  # names remembered by known_play_file (tracking numbers read out make many)

TUNE_VERSION = "2"
TUNE_NOTE_S = 0.625
# A pentatonic melody in C (MIDI note numbers), 32 notes × 0.625 s = 20 s; it ends where a
# phrase can start again, so the loop does not jar.
TUNE_NOTES = (
    72, 69, 67, 69, 72, 76, 74, 72,
    69, 67, 64, 67, 69, 72, 69, 67,
    64, 67, 69, 72, 74, 72, 69, 67,
    64, 62, 60, 62, 64, 67, 64, 60,
)  # fmt: skip
TUNE_LEVEL_DB = -15.0  # peak level: its loudness (RMS) stays under speech

_STATE = re.compile(r"^[a-z0-9_]{1,48}$")
_KEYS = re.compile(r"^[0-9*#]{1,64}$")


class UnknownPrompt(LookupError):
    """A name that is neither a ``Prompt`` row, a built-in prompt nor a dynamic form."""


@dataclass(frozen=True, slots=True)
class Part:
    """Where one prompt name's audio comes from; ``version`` names its file."""

    kind: str
    version: str
    text: str = ""
    recording: str = ""  # the storage name of an uploaded recording
    loop: bool = False

    @property
    def key(self) -> str:
        return hashlib.sha256(f"{self.kind}\n{self.version}".encode()).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class _Row:
    text: str
    recording: str
    loop: bool
    updated_at: datetime


AU_MAGIC = b".snd"
AU_ALAW = 27  # the .au header's encoding number for 8-bit G.711 A-law


class AuHeader(NamedTuple):
    """The header of a Sun ``.au`` file: where its audio starts, how many bytes (0xFFFFFFFF:
    unknown), the encoding number, the sample rate and the channels."""

    offset: int
    size: int
    encoding: int
    rate: int
    channels: int


def au_header(path: Path | str) -> AuHeader | None:
    """The ``.au`` header of ``path`` (None when it is not an ``.au`` file)."""
    with open(path, "rb") as file:
        head = file.read(24)
    if head[:4] != AU_MAGIC or len(head) < 24:
        return None
    return AuHeader(*struct.unpack(">5I", head[4:]))


def duration_s(path: Path | str) -> float:
    """The length of a WAV file, or of an A-law ``.au`` file, in seconds (``soxi`` for anything
    else)."""
    au = au_header(path)
    if au is not None and au.encoding == AU_ALAW and au.size != 0xFFFFFFFF and au.rate and au.channels:
        return au.size / float(au.rate * au.channels)
    try:
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() / float(wav.getframerate())
    except (wave.Error, EOFError):
        return float(speech.run([speech.SOX, "--i", "-D", str(path)]).decode().strip())


class PromptLibrary:
    """Prompt names → audio files under ``root`` (``settings.HOTLINE_PROMPT_DIR``).

    ``rows_ttl_s``: how long the ``Prompt`` rows read from the database are trusted (the table is
    small and read whole); 0 reads them on every call. ``storage``: where uploaded recordings
    live (the ``Prompt.recording`` field's storage)."""

    def __init__(
        self,
        root: Path | str | None = None,
        *,
        rows_ttl_s: float = 5.0,
        storage: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.root = Path(root if root is not None else settings.HOTLINE_PROMPT_DIR)
        self.rows_ttl_s = rows_ttl_s
        self._storage = storage
        self._clock = clock
        self._rows: dict[str, _Row] = {}
        self._rows_at = -1e18
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        # (names, loop) → (the file rtpengine plays, the reading of the rows it was found with)
        self._played: dict[tuple[tuple[str, ...], bool], tuple[Path, float]] = {}

    # --- Names → parts ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the ``Prompt`` rows again on the next request."""
        with self._lock:
            self._rows_at = -1e18

    def rows(self) -> dict[str, _Row]:
        now = self._clock()
        with self._lock:
            if now - self._rows_at < self.rows_ttl_s:
                return self._rows
        from .models import Prompt

        rows = {
            name: _Row(text=text.strip(), recording=recording or "", loop=loop, updated_at=updated_at)
            for name, text, recording, loop, updated_at in Prompt.objects.values_list(
                "name", "text", "recording", "loop", "updated_at"
            )
        }
        with self._lock:
            self._rows, self._rows_at = rows, now
        return rows

    def names(self) -> list[str]:
        """Every name that can be played without a dynamic value: built-in and the centre's own."""
        return sorted(set(DEFAULT_PROMPTS) | DEFAULT_MUSIC | set(self.rows()))

    def is_loop(self, name: str) -> bool:
        """Whether the name is music (played in a loop)."""
        try:
            return self.part_for(name).loop
        except UnknownPrompt:
            return False

    def part_for(self, name: str) -> Part:
        """Where the audio of one prompt name comes from."""
        family, colon, value = name.partition(":")
        if colon:
            return self._dynamic(family, value, name)
        row = self.rows().get(name)
        if row is not None:
            stamp = f"{name}|{row.updated_at.isoformat()}"
            if row.recording:
                return Part(
                    PART_RECORDING, f"{stamp}|{row.recording}", recording=row.recording, loop=row.loop
                )
            if row.loop:
                return Part(PART_TUNE, f"{TUNE_VERSION}|{speech.SAMPLE_RATE}", loop=True)
            if row.text:
                return self._text(row.text, stamp=stamp)
        if name in DEFAULT_PROMPTS:
            return self._text(DEFAULT_PROMPTS[name])
        if name in DEFAULT_MUSIC:
            return Part(PART_TUNE, f"{TUNE_VERSION}|{speech.SAMPLE_RATE}", loop=True)
        raise UnknownPrompt(name)

    def text_of(self, name: str) -> str:
        """The text a name is read from ("" for a recording or music)."""
        part = self.part_for(name)
        return part.text if part.kind == PART_TEXT else ""

    def _text(self, text: str, *, stamp: str = "") -> Part:
        return Part(PART_TEXT, f"{speech.SPEECH_VERSION}|{stamp}|{text}", text=text)

    def _template(self, name: str) -> str:
        row = self.rows().get(name)
        if row is not None and "{n}" in row.text:
            return row.text
        return DYNAMIC_TEXTS[name]

    def _dynamic(self, family: str, value: str, name: str) -> Part:
        if family == "digits" and _KEYS.match(value):
            groups = speech.group_digits(value)
            return self._text("、".join(speech.read_digits(group) for group in groups))
        if family in ("position", "wait_minutes") and value.isdigit() and len(value) <= 6:
            n = int(value)
            if family == "position" and n <= 1:
                return self._text(self._template("position_first"))
            # The engine's position counts the caller (1 = next); the caller hears who is ahead.
            count = n - 1 if family == "position" else max(n, 1)
            return self._text(self._template(family).replace("{n}", str(count)))
        if family == "status" and _STATE.match(value):
            try:
                return self.part_for(f"status_{value}")
            except UnknownPrompt:
                return self.part_for("status_other")
        raise UnknownPrompt(name)

    # --- Parts → files ---------------------------------------------------------------------------

    def file_for(self, prompts: Sequence[str], *, loop: bool = False) -> Path:
        """One WAV file (8 kHz, mono, 16-bit) that plays ``prompts`` one after the other.

        ``loop``: the file is played as music, so an unknown name falls back to the built-in
        tune instead of raising ``UnknownPrompt`` (a queue must never wait in silence)."""
        names = tuple(prompts)
        if not names:
            raise UnknownPrompt("no prompt names")
        parts: list[Part] = []
        for name in names:
            try:
                parts.append(self.part_for(name))
            except UnknownPrompt:
                if not loop:
                    raise
                parts.append(Part(PART_TUNE, f"{TUNE_VERSION}|{speech.SAMPLE_RATE}", loop=True))
        files = [self._part_file(part) for part in parts]
        if len(files) == 1:
            return files[0]
        signature = "\n".join(f"{name}={part.key}" for name, part in zip(names, parts, strict=True))
        key = hashlib.sha256(signature.encode()).hexdigest()[:40]
        return self._render(self.root / "seq" / f"{key}.wav", lambda out: self._concatenate(files, out))

    def play_file_for(self, prompts: Sequence[str], *, loop: bool = False) -> Path:
        """The file rtpengine plays for ``prompts``: the audio of :meth:`file_for` as G.711 A-law
        in a Sun ``.au`` file (``play/<the WAV's folder>-<the WAV's hash>.au``).

        rtpengine opens a 16-bit WAV at a cost that grows with its length (about 10 ms of its CPU
        for 12 s) and sends it in bursts; it opens this file in well under a millisecond and sends
        it one packet every 20 ms, byte for byte what a G.711 A-law caller receives
        (docs/prompts.md, "What rtpengine plays")."""
        names = tuple(prompts)
        self.rows()  # read them now if they are stale: the result is remembered with this reading
        rows_at = self._rows_at  # (one made by another thread meanwhile leaves it unremembered)
        wav = self.file_for(names, loop=loop)
        path = self.root / "play" / f"{wav.parent.name}-{wav.stem}.au"
        path = self._render(path, lambda out: speech.to_play_file(wav, out))
        with self._lock:
            if len(self._played) >= PLAYED_MAX:
                self._played.clear()
            self._played[(names, loop)] = (path, rows_at)
        return path

    def known_play_file(self, prompts: Sequence[str], *, loop: bool = False) -> Path | None:
        """What :meth:`play_file_for` last gave for the same names, when the ``Prompt`` rows it
        was found with are still the current reading and the file is there; else None (then
        :meth:`play_file_for` may read the rows or render, on a worker thread). The switch asks
        this first, on its loop: most calls hear the same few prompts."""
        with self._lock:
            known = self._played.get((tuple(prompts), loop))
            current = self._rows_at
        if known is None or known[1] != current or self._clock() - current >= self.rows_ttl_s:
            return None
        return known[0] if known[0].exists() else None

    def warm(self, names: Iterable[str | Sequence[str]]) -> list[Path]:
        """Render ahead of the calls: each item is a name or a sequence of names, made as a WAV and
        as the file rtpengine plays. Names that are unknown are skipped; the WAVs made are
        returned."""
        made: list[Path] = []
        for item in names:
            sequence = (item,) if isinstance(item, str) else tuple(item)
            loop = all(self.is_loop(n) for n in sequence)
            try:
                made.append(self.file_for(sequence, loop=loop))
                self.play_file_for(sequence, loop=loop)
            except UnknownPrompt:
                continue
        return made

    def build_all(self, *, positions: int = 10, minutes: int = 15) -> list[Path]:
        """Render every named prompt, every order state, music, and the dynamic queue prompts for
        the first ``positions`` positions and ``minutes`` minutes. Returns the files (unique)."""
        names: list[str] = [*self.names()]
        names += [f"position:{n}" for n in range(1, positions + 1)]
        names += [f"wait_minutes:{n}" for n in range(1, minutes + 1)]
        return list(dict.fromkeys(self.warm(names)))

    def _part_file(self, part: Part) -> Path:
        path = self.root / "parts" / f"{part.key}.wav"
        if part.kind == PART_TEXT:
            return self._render(path, lambda out: speech.synthesise(part.text, out))
        if part.kind == PART_RECORDING:
            return self._render(path, lambda out: self._convert_recording(part.recording, out))
        return self._render(path, self._make_tune)

    def _render(self, path: Path, make: Callable[[Path], object]) -> Path:
        if path.exists():
            return path
        with self._lock:
            lock = self._locks.setdefault(str(path), threading.Lock())
        try:
            with lock:
                if path.exists():  # another thread made it while this one waited
                    return path
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
                os.close(fd)
                temporary = Path(name)
                try:
                    make(temporary)
                    temporary.chmod(0o644)
                    os.replace(temporary, path)  # atomic: readers see no file or the whole file
                finally:
                    temporary.unlink(missing_ok=True)
                return path
        finally:
            with self._lock:
                self._locks.pop(str(path), None)

    def _storage_of(self) -> Any:
        if self._storage is None:
            from .models import Prompt

            self._storage = Prompt._meta.get_field("recording").storage  # type: ignore[attr-defined]
        return self._storage

    def _convert_recording(self, name: str, out: Path) -> None:
        suffix = Path(name).suffix.lower()[:8]
        fd, copy_name = tempfile.mkstemp(dir=out.parent, prefix=".", suffix=suffix or ".audio")
        copy = Path(copy_name)
        try:
            with os.fdopen(fd, "wb") as target, self._storage_of().open(name, "rb") as source:
                shutil.copyfileobj(source, target)
            speech.convert(copy, out)
        finally:
            copy.unlink(missing_ok=True)

    def _concatenate(self, files: Sequence[Path], out: Path) -> None:
        speech.run([speech.SOX, "-q", *map(str, files), *speech.WAV_OUT, str(out)])

    def _make_tune(self, out: Path) -> None:
        """A gentle plucked melody with a little reverb, faded at both ends so that the loop has
        no click."""
        speech.require_tools(speech.SOX)
        melody = out.with_name(out.name + ".melody.wav")
        chains: list[str] = []
        for index, note in enumerate(TUNE_NOTES):
            frequency = 440.0 * 2 ** ((note - 69) / 12)
            if index:
                chains.append(":")
            chains += ["synth", str(TUNE_NOTE_S), "pluck", f"{frequency:.2f}"]
        try:
            speech.run([speech.SOX, "-q", "-n", *speech.WAV_OUT, str(melody), *chains])
            effects = ["reverb", "40", "50", "60", "gain", "-n", str(TUNE_LEVEL_DB)]
            effects += ["fade", "t", "0.05", str(TUNE_NOTE_S * len(TUNE_NOTES)), "0.4"]
            speech.run([speech.SOX, "-q", str(melody), *speech.WAV_OUT, str(out), *effects])
        finally:
            melody.unlink(missing_ok=True)
