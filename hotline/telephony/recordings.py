"""What the switch leaves behind for people to find: call recordings (通话录音), voicemail audio
(留言) and the trunk records (中继话务统计). See docs/telephony.md, "Recordings" and "Trunk records".

Files. Every path in the database (``Recording.path``, ``Voicemail.audio_path``) is relative to
``settings.HOTLINE_RECORDING_DIR`` (``2026/11/21/<call_id>.wav``, ``voicemail/<call_id>.wav``);
``recording_file`` resolves one and refuses anything that would leave that directory.

Writes. ``recording_store`` is what the switch calls once a call's WAV and its ``.sha256`` are on
disk: idempotent on ``(call_id, path)``. The agent, queue and order come from the call record and
the call↔order links; the call record is written by the batching recorder up to two seconds later,
so ``recordings_attach_calls`` (called by the recorder after each batch) fills them in for
recordings that came first, and ``recording_link_order`` when an order is linked later.
``recordings_purge`` deletes the files past the retention time and keeps the rows.

Playback. ``audio_playback`` streams a WAV with HTTP Range support and writes one audit row per
playback: only a request that starts at byte 0 (or has no Range) starts a playback, and a second
start by the same user within ``PLAYBACK_WINDOW_S`` is the same playback (the browser asking again).
The SHA-256 of a recording is checked when a playback starts, once per file version and day.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count, Model, Q, QuerySet
from django.db.models.functions import TruncHour
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record
from hotline.core.errors import ValidationFailed
from hotline.core.localtime import LOCAL_TZ, local_midnight

from .models import Recording

logger = logging.getLogger(__name__)

PLAYBACK_WINDOW_S = 60  # a new start of the same recording by the same user within this is not audited again
CHECKSUM_OK_S = 24 * 3600  # a file whose SHA-256 matched is not hashed again for this long
CHUNK_BYTES = 64 * 1024
ID_CHUNK = 500
SHA256 = re.compile(r"^[0-9a-f]{64}$")
PLAYBACK_NOTE = "playback"
DOWNLOAD_NOTE = "download"


class RecordingPathError(ValueError):
    """A stored path that is not a file name inside the recording directory."""


def recording_dir() -> Path:
    return Path(settings.HOTLINE_RECORDING_DIR)


def recording_file(relative: str, *, base: Path | None = None) -> Path:
    """The file ``relative`` names inside ``HOTLINE_RECORDING_DIR``. Absolute paths, ``..``,
    backslashes and anything that resolves (symbolic links included) outside the directory are
    refused with ``RecordingPathError``. ``base``: the directory already resolved (a batch
    resolves it once)."""
    if not relative or "\x00" in relative or "\\" in relative:
        raise RecordingPathError(f"not a recording path: {relative!r}")
    pure = PurePosixPath(relative)
    if pure.is_absolute() or ".." in pure.parts:
        raise RecordingPathError(f"not a recording path: {relative!r}")
    base = base or recording_dir().resolve()
    target = (base / pure).resolve()
    if target == base or not target.is_relative_to(base):
        raise RecordingPathError(f"not a recording path: {relative!r}")
    return target


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


# --- Writes ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CallFacts:
    agent_id: int | None = None
    agent_name: str = ""
    queue: str = ""
    order_number: str = ""


def _chunks(values: list[str], size: int = ID_CHUNK) -> Iterator[list[str]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _call_facts(call_ids: list[str]) -> dict[str, _CallFacts]:
    """Agent, agent's name and queue from the call records, and the first linked order, of
    ``call_ids`` (only the calls that have any of them)."""
    from hotline.accounts.models import User
    from hotline.callcenter.models import CallOrderLink, CallRecord

    calls = {
        call_id: (agent_id, queue)
        for call_id, agent_id, queue in CallRecord.objects.filter(call_id__in=call_ids).values_list(
            "call_id", "agent_id", "queue"
        )
    }
    orders: dict[str, str] = {}
    for call_id, number in (
        CallOrderLink.objects.filter(call_id__in=call_ids)
        .order_by("linked_at", "id")
        .values_list("call_id", "order__number")
    ):
        orders.setdefault(call_id, number)
    agent_ids = {agent for agent, _queue in calls.values() if agent is not None}
    names = {u.pk: u.display_name for u in User.objects.filter(pk__in=agent_ids)} if agent_ids else {}
    facts: dict[str, _CallFacts] = {}
    for call_id in set(calls) | set(orders):
        agent_id, queue = calls.get(call_id, (None, ""))
        facts[call_id] = _CallFacts(
            agent_id=agent_id,
            agent_name=names.get(agent_id, "")[:64] if agent_id is not None else "",
            queue=queue or "",
            order_number=orders.get(call_id, ""),
        )
    return facts


def recording_store(
    *,
    call_id: str,
    path: str,
    sha256: str,
    seconds: float,
    size_bytes: int,
    started_at: datetime,
    ended_at: datetime,
    caller: str,
    called: str,
    trunk: str,
) -> Recording:
    """The row of one recorded conversation (called by the switch once the WAV and its
    ``.sha256`` are written). ``path`` is relative to ``HOTLINE_RECORDING_DIR``. A second report of
    the same ``(call_id, path)`` returns the first row unchanged (a restarted switch may report a
    call twice). Not audited: it is a record of the switch, like the call records."""
    recording_file(path)  # refuses a path outside the directory
    digest = (sha256 or "").strip().lower()
    if not call_id or len(call_id) > 64:
        raise ValidationFailed("Some fields are not valid.", fields={"call_id": ["1 to 64 characters"]})
    if not SHA256.match(digest):
        raise ValidationFailed("Some fields are not valid.", fields={"sha256": ["64 hexadecimal digits"]})
    existing = Recording.objects.filter(call_id=call_id, path=path).first()
    if existing is not None:
        return existing
    facts = _call_facts([call_id]).get(call_id, _CallFacts())
    row = Recording(
        call_id=call_id,
        path=path,
        sha256=digest,
        seconds=max(0.0, float(seconds)),
        size_bytes=max(0, int(size_bytes)),
        started_at=started_at,
        ended_at=ended_at,
        caller=(caller or "")[:32],
        called=(called or "")[:32],
        trunk=(trunk or "")[:64],
        agent_id=facts.agent_id,
        agent_name=facts.agent_name,
        queue=facts.queue[:32],
        order_number=facts.order_number[:32],
    )
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:  # the same report, written by another thread a moment ago
        return Recording.objects.get(call_id=call_id, path=path)
    return row


def recordings_store_many(reports: Sequence[Mapping[str, Any]]) -> int:
    """``recording_store`` for many reports at once (the switch sends them in batches): one read of
    the calls' facts, one insert (a report already stored is skipped), then the facts once more for
    call records written in between. Returns how many reports were given."""
    rows: list[Recording] = []
    base = recording_dir().resolve()
    for report in reports:
        recording_file(str(report["path"]), base=base)
        digest = str(report.get("sha256") or "").strip().lower()
        call_id = str(report.get("call_id") or "")
        if not call_id or len(call_id) > 64 or not SHA256.match(digest):
            raise ValidationFailed("Some fields are not valid.", fields={"call_id": [call_id[:64]]})
        rows.append(
            Recording(
                call_id=call_id,
                path=str(report["path"]),
                sha256=digest,
                seconds=max(0.0, float(report.get("seconds") or 0.0)),
                size_bytes=max(0, int(report.get("size_bytes") or 0)),
                started_at=report["started_at"],
                ended_at=report["ended_at"],
                caller=str(report.get("caller") or "")[:32],
                called=str(report.get("called") or "")[:32],
                trunk=str(report.get("trunk") or "")[:64],
            )
        )
    if not rows:
        return 0
    call_ids = [row.call_id for row in rows]
    facts = _call_facts(call_ids)
    for row in rows:
        fact = facts.get(row.call_id)
        if fact is not None:
            row.agent_id, row.agent_name = fact.agent_id, fact.agent_name
            row.queue, row.order_number = fact.queue[:32], fact.order_number[:32]
    Recording.objects.bulk_create(rows, ignore_conflicts=True)
    recordings_attach_calls(call_ids)
    return len(rows)


def recordings_attach_calls(call_ids: Iterable[str]) -> int:
    """Fill the agent, queue and order of recordings that were stored before their call record
    (called by the recorder after it writes a batch). One indexed SELECT per 500 calls; then, per
    500 calls that have such a recording, three SELECTs and one UPDATE per agent and queue (and
    per order). Returns the number of recordings changed."""
    ids = list(dict.fromkeys(c for c in call_ids if c))
    waiting: list[str] = []
    for chunk in _chunks(ids):
        waiting.extend(
            Recording.objects.filter(call_id__in=chunk, agent_id__isnull=True, purged_at__isnull=True)
            .order_by()
            .values_list("call_id", flat=True)
            .distinct()
        )
    changed = 0
    for chunk in _chunks(sorted(set(waiting))):
        # one UPDATE per (agent, queue) and per order, not per call
        by_agent: dict[tuple[int | None, str, str], list[str]] = {}
        by_order: dict[str, list[str]] = {}
        for call_id, facts in _call_facts(chunk).items():
            if facts.agent_id is not None or facts.queue:
                by_agent.setdefault((facts.agent_id, facts.agent_name, facts.queue[:32]), []).append(call_id)
            if facts.order_number:
                by_order.setdefault(facts.order_number[:32], []).append(call_id)
        for (agent_id, agent_name, queue), calls in by_agent.items():
            changed += Recording.objects.filter(call_id__in=calls, agent_id__isnull=True).update(
                agent_id=agent_id, agent_name=agent_name, queue=queue
            )
        for number, calls in by_order.items():
            Recording.objects.filter(call_id__in=calls, order_number="").update(order_number=number)
    return changed


def recording_link_order(*, call_id: str, order_number: str) -> int:
    """A work order was linked to ``call_id``: its recordings without an order get its number (the
    first order of a call stays on the row; every order finds the recording through the links)."""
    if not call_id or not order_number:
        return 0
    return Recording.objects.filter(call_id=call_id, order_number="").update(order_number=order_number[:32])


# --- Retention -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PurgeResult:
    recordings: int
    voicemails: int
    cutoff: datetime | None


def _delete_audio(relative: str) -> None:
    try:
        wav = recording_file(relative)
    except RecordingPathError:
        logger.error("Not purging %r: not a path inside the recording directory", relative)
        return
    wav.unlink(missing_ok=True)
    wav.with_name(wav.name + ".sha256").unlink(missing_ok=True)


def recordings_purge(*, now: datetime | None = None, days: int | None = None) -> PurgeResult:
    """Delete the audio past the retention time (``HOTLINE_RECORDING_RETENTION_DAYS``; 0 keeps
    everything): recordings that started before the cutoff lose their WAV and ``.sha256`` and get
    ``purged_at`` (the row stays searchable); voicemails received before the cutoff lose their file
    once they are done, and their ``audio_path`` becomes empty (an open voicemail keeps its file).
    One audit row per run, with the counts."""
    now = now or timezone.now()
    days = settings.HOTLINE_RECORDING_RETENTION_DAYS if days is None else days
    if days <= 0:
        return PurgeResult(recordings=0, voicemails=0, cutoff=None)
    from hotline.callcenter.choices import VoicemailState
    from hotline.callcenter.models import Voicemail

    cutoff = now - timedelta(days=days)
    recordings = 0
    while True:
        batch = list(
            Recording.objects.filter(started_at__lt=cutoff, purged_at__isnull=True)
            .order_by("started_at", "id")
            .values_list("id", "path")[:ID_CHUNK]
        )
        if not batch:
            break
        for _pk, path in batch:
            _delete_audio(path)
        recordings += Recording.objects.filter(
            pk__in=[pk for pk, _path in batch], purged_at__isnull=True
        ).update(purged_at=now)
    voicemails = 0
    old = Voicemail.objects.filter(state=VoicemailState.DONE, received_at__lt=cutoff).exclude(audio_path="")
    for pk, path in old.order_by("received_at", "id").values_list("id", "audio_path").iterator():
        _delete_audio(path)
        voicemails += Voicemail.objects.filter(pk=pk, audio_path=path).update(audio_path="")
    audit_record(
        action=AuditAction.DELETE,
        object_type=Recording._meta.label_lower,
        object_repr="retention purge",
        after={"recordings": recordings, "voicemails": voicemails, "cutoff": cutoff, "days": days},
        note="retention purge",
    )
    return PurgeResult(recordings=recordings, voicemails=voicemails, cutoff=cutoff)


# --- Checks ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verification:
    """The SHA-256 check of one recording's file: ``ok``, or why not."""

    recording_id: int
    ok: bool
    problem: str  # "" | "purged" | "missing" | "bad_path" | "mismatch"
    expected: str
    actual: str


def recording_verify(recording: Recording) -> Verification:
    """Hash the recording's file and compare it with the row (and with the ``.sha256`` beside it,
    when there is one)."""

    def result(problem: str, actual: str = "") -> Verification:
        return Verification(recording.pk, problem == "", problem, recording.sha256, actual)

    if recording.purged_at is not None:
        return result("purged")
    try:
        wav = recording_file(recording.path)
    except RecordingPathError:
        return result("bad_path")
    if not wav.is_file():
        return result("missing")
    actual = file_sha256(wav)
    beside = wav.with_name(wav.name + ".sha256")
    noted = beside.read_text(errors="replace").split()[:1] if beside.is_file() else []
    if actual != recording.sha256 or (noted and noted[0].lower() != actual):
        return result("mismatch", actual)
    return result("", actual)


# --- Reads -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingFilter:
    since: datetime | None = None  # started at or after
    until: datetime | None = None  # started before
    number: str = ""  # caller or called
    caller: str = ""
    called: str = ""
    agent_id: int | None = None
    trunk: str = ""
    queue: str = ""
    order: str = ""  # the order on the row, or any order linked to the call


def recordings_filter(qs: QuerySet[Recording], f: RecordingFilter) -> QuerySet[Recording]:
    from hotline.callcenter.models import CallOrderLink

    if f.since is not None:
        qs = qs.filter(started_at__gte=f.since)
    if f.until is not None:
        qs = qs.filter(started_at__lt=f.until)
    if f.number:
        qs = qs.filter(Q(caller=f.number) | Q(called=f.number))
    if f.caller:
        qs = qs.filter(caller=f.caller)
    if f.called:
        qs = qs.filter(called=f.called)
    if f.agent_id is not None:
        qs = qs.filter(agent_id=f.agent_id)
    if f.trunk:
        qs = qs.filter(trunk=f.trunk)
    if f.queue:
        qs = qs.filter(queue=f.queue)
    if f.order:
        linked = CallOrderLink.objects.filter(order__number=f.order).values("call_id")
        qs = qs.filter(Q(order_number=f.order) | Q(call_id__in=linked))
    return qs


# --- Playback --------------------------------------------------------------------------------------


class RangeNotSatisfiable(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def byte_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range of a ``Range`` header within a file of ``size`` bytes (``None``: the
    whole file). A header in another unit is ignored; several ranges, a range that is not
    numbers, one whose last byte comes before its first, or one starting past the end raise
    ``RangeNotSatisfiable`` (416)."""
    if not header:
        return None
    unit, _sep, spec = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    spec = spec.strip()
    first, dash, last = spec.partition("-")
    first, last = first.strip(), last.strip()
    if "," in spec or not dash or not (first or last):
        raise RangeNotSatisfiable(header)
    if not all(part.isdigit() for part in (first, last) if part):
        raise RangeNotSatisfiable(header)
    if not first:  # the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable(header)
    return ByteRange(start, min(end, size - 1))


def _read(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        left = length
        while left > 0:
            block = handle.read(min(CHUNK_BYTES, left))
            if not block:
                break
            left -= len(block)
            yield block


def _plain(status: int, text: str) -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


def _checksum_ok(obj: Model, wav: Path, expected: str) -> bool:
    stat = wav.stat()
    key = f"hotline:audio-ok:{obj._meta.label_lower}:{obj.pk}:{stat.st_size}:{stat.st_mtime_ns}:{expected}"
    if cache.get(key):
        return True
    if file_sha256(wav) != expected:
        return False
    cache.set(key, True, CHECKSUM_OK_S)
    return True


def playback_audit(request: HttpRequest, obj: Model, *, note: str = PLAYBACK_NOTE) -> bool:
    """One audit row (READ, the object, ``note``) per playback: not again for the same user and
    object within ``PLAYBACK_WINDOW_S``. Returns whether a row was written."""
    user = request.user
    key = f"hotline:playback:{obj._meta.label_lower}:{obj.pk}:{user.pk}:{note}"
    if not cache.add(key, 1, PLAYBACK_WINDOW_S):
        return False
    audit_record(action=AuditAction.READ, obj=obj, note=note, actor=user)
    return True


def audio_playback(
    request: HttpRequest,
    *,
    obj: Model,
    relative_path: str,
    purged: bool,
    filename: str,
    sha256: str = "",
) -> HttpResponseBase:
    """Stream the WAV of ``obj`` (a recording or a voicemail): 410 when purged, 404 when the file
    is missing, 416 for a Range it cannot serve, 409 when the file does not match ``sha256``,
    else 200 or 206 with ``Content-Range``. ``?download=1`` sends it as an attachment."""
    if purged or not relative_path:
        return _plain(410, _("This recording was deleted after the retention period."))
    try:
        wav = recording_file(relative_path)
        size = wav.stat().st_size
    except (RecordingPathError, OSError):
        logger.warning("Audio file of %s %s is missing: %r", obj._meta.label_lower, obj.pk, relative_path)
        return _plain(404, _("The audio file is missing."))
    try:
        wanted = byte_range(request.headers.get("Range"), size)
    except RangeNotSatisfiable:
        response = _plain(416, _("The requested range is not in the file."))
        response["Content-Range"] = f"bytes */{size}"
        return response
    download = request.GET.get("download") == "1"
    starts = request.method == "GET" and (wanted is None or wanted.start == 0)  # HEAD plays nothing
    if starts:
        if sha256 and not _checksum_ok(obj, wav, sha256):
            logger.error("Audio file of %s %s does not match its SHA-256", obj._meta.label_lower, obj.pk)
            return _plain(409, _("The audio file does not match its checksum: it was changed or damaged."))
        playback_audit(request, obj, note=DOWNLOAD_NOTE if download else PLAYBACK_NOTE)
    part = wanted or ByteRange(0, size - 1)
    stream = StreamingHttpResponse(
        _read(wav, part.start, max(0, part.length)) if size and request.method == "GET" else iter(()),
        status=206 if wanted is not None else 200,
        content_type="audio/wav",
    )
    stream["Content-Length"] = str(max(0, part.length) if size else 0)
    stream["Accept-Ranges"] = "bytes"
    stream["Cache-Control"] = "private, no-store"
    stream["X-Content-Type-Options"] = "nosniff"
    if wanted is not None:
        stream["Content-Range"] = f"bytes {part.start}-{part.end}/{size}"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", filename) or "audio.wav"
    stream["Content-Disposition"] = f'{"attachment" if download else "inline"}; filename="{safe}"'
    return stream


# --- Trunk records ---------------------------------------------------------------------------------

MAX_TRUNK_DAYS = 31
CALL_SPAN = timedelta(hours=12)  # an outbound leg starts at most this long after its call


@dataclass
class TrunkFigures:
    """Offered, answered and failed seizures of one trunk (see docs/telephony.md)."""

    offered: int = 0
    answered: int = 0
    failed: int = 0

    def add(self, other: TrunkFigures) -> None:
        self.offered += other.offered
        self.answered += other.answered
        self.failed += other.failed

    def as_dict(self) -> dict[str, int]:
        return {"offered": self.offered, "answered": self.answered, "failed": self.failed}


@dataclass
class TrunkHour:
    trunk: str
    hour: datetime  # the start of the hour in Asia/Shanghai
    inbound: TrunkFigures
    outbound: TrunkFigures

    @property
    def total(self) -> TrunkFigures:
        total = TrunkFigures()
        total.add(self.inbound)
        total.add(self.outbound)
        return total


@dataclass
class TrunkReport:
    date_from: date
    date_to: date  # inclusive
    rows: list[TrunkHour]  # by trunk, then hour; only hours with traffic

    def trunks(self) -> list[str]:
        return list(dict.fromkeys(r.trunk for r in self.rows))

    def totals(self) -> dict[str, dict[str, TrunkFigures]]:
        """Per trunk (and ``""`` for all trunks): the inbound, outbound and total figures."""
        out: dict[str, dict[str, TrunkFigures]] = {}
        for row in self.rows:
            for key in (row.trunk, ""):
                sums = out.setdefault(
                    key, {"inbound": TrunkFigures(), "outbound": TrunkFigures(), "total": TrunkFigures()}
                )
                sums["inbound"].add(row.inbound)
                sums["outbound"].add(row.outbound)
                sums["total"].add(row.total)
        return out


def trunk_hours(*, date_from: date, date_to: date, trunk: str = "") -> TrunkReport:
    """Per trunk and hour of the centre's clock, from ``date_from`` to ``date_to`` (local dates,
    both included): inbound calls from the call records, outbound legs from the call legs.

    - inbound offered: call records of direction inbound with the trunk, by start time;
      answered: those the platform took (any outcome but ``failed`` and ``refused``);
      failed: outcome ``failed`` or ``refused``.
    - outbound offered: call legs of kind ``outbound`` with the trunk, by the leg's start time;
      answered: legs with an answer time; failed: legs without.
    """
    from hotline.callcenter.choices import Direction, LegKind, Outcome
    from hotline.callcenter.models import CallLeg, CallRecord

    if date_to < date_from:
        raise ValidationFailed("The interval is empty.", fields={"date_to": ["on or after date_from"]})
    if (date_to - date_from).days >= MAX_TRUNK_DAYS:
        raise ValidationFailed(
            "The interval is too long.", fields={"date_to": [f"at most {MAX_TRUNK_DAYS} days"]}
        )
    start = local_midnight(date_from)
    end = local_midnight(date_to + timedelta(days=1))
    not_taken = [Outcome.FAILED, Outcome.REFUSED]

    calls = CallRecord.objects.filter(started_at__gte=start, started_at__lt=end, direction=Direction.INBOUND)
    calls = calls.filter(trunk=trunk) if trunk else calls.exclude(trunk="")
    inbound = (
        calls.annotate(hour=TruncHour("started_at", tzinfo=LOCAL_TZ))
        .order_by()
        .values("trunk", "hour")
        .annotate(
            offered=Count("id"),
            answered=Count("id", filter=~Q(outcome__in=not_taken)),
            failed=Count("id", filter=Q(outcome__in=not_taken)),
        )
    )
    # Legs have no index on their start: they are found through the calls that started in the
    # span (or shortly before it), whose ids the legs' unique index begins with.
    recent_calls = CallRecord.objects.filter(started_at__gte=start - CALL_SPAN, started_at__lt=end).values(
        "call_id"
    )
    legs = CallLeg.objects.filter(
        call_id__in=recent_calls, kind=LegKind.OUTBOUND, started_at__gte=start, started_at__lt=end
    )
    legs = legs.filter(trunk=trunk) if trunk else legs.exclude(trunk="")
    outbound = (
        legs.annotate(hour=TruncHour("started_at", tzinfo=LOCAL_TZ))
        .order_by()
        .values("trunk", "hour")
        .annotate(
            offered=Count("id"),
            answered=Count("id", filter=Q(answered_at__isnull=False)),
            failed=Count("id", filter=Q(answered_at__isnull=True)),
        )
    )
    rows: dict[tuple[str, datetime], TrunkHour] = {}

    def row(values: dict[str, Any]) -> TrunkHour:
        hour = timezone.localtime(values["hour"], LOCAL_TZ)
        key = (values["trunk"], hour)
        if key not in rows:
            rows[key] = TrunkHour(values["trunk"], hour, TrunkFigures(), TrunkFigures())
        return rows[key]

    for values in inbound:
        row(values).inbound = TrunkFigures(values["offered"], values["answered"], values["failed"])
    for values in outbound:
        row(values).outbound = TrunkFigures(values["offered"], values["answered"], values["failed"])
    ordered = [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1]))]
    return TrunkReport(date_from=date_from, date_to=date_to, rows=ordered)
