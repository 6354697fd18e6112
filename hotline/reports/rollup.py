"""Hourly roll-ups of the contact centre's records (docs/measures.md, "Roll-ups").

An hour is *sealed* when nothing can change its figures any more: when the switch's ``RecordMark``
says every record of anything that began before the hour's end is written (no call of the hour is
still going on or being wrapped up: usually minutes after the hour), or at the latest when it ended
more than ``TAIL`` (the statistics' 4 hours: a visit's outcome and a call's handling are read that
far after the end of an interval) plus ``MARGIN`` ago. ``rollup_sealed`` computes each sealed
hour once and stores additive rows (counts, sums of seconds, maxima) in ``QueueHour``,
``AgentHour``, ``AgentPauseHour``, ``CallHour`` and ``TrunkLegHour``; ``RollupMark`` says how far
it got.

The figures of one hour are those of ``callcenter.selectors.queue_stats`` and ``agent_stats`` over that
hour, but a day of hours is computed from one read of the queue events and one set of agent
timelines (``hours_compute``) instead of 24 calls that would each read five hours of events. The
functions that compute hours are also what the reports use for unsealed whole hours grouped by hour.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from hotline.callcenter import records as r
from hotline.callcenter.choices import LegKind
from hotline.callcenter.models import (
    AgentStateLog,
    CallLeg,
    CallRecord,
    CentreSettings,
    Queue,
    QueueEventLog,
)
from hotline.callcenter.selectors import (
    COUNTED_KINDS,
    HANDLE_STATES,
    LOGGED_IN_STATES,
    LOOKBACK,
    STATE_FIELDS,
    TAIL,
    VISIT_KINDS,
    AgentStats,
    QueueStats,
    Segment,
    agent_timelines,
    centre_settings,
    records_settled,
    visit_count,
    visits_of,
)
from hotline.telephony.recordings import CALL_SPAN

from .models import AgentHour, AgentPauseHour, CallHour, QueueHour, RollupMark, TrunkLegHour

HOUR = timedelta(hours=1)
# Records are written in batches when a call or a leg ends; this covers the writers' delay.
MARGIN = timedelta(minutes=10)
# Hours computed and stored in one transaction (one read of the events each).
BATCH_HOURS = 24
MARK = "calls"


_HOURS: dict[int, datetime] = {}


def floor_hour(at: datetime) -> datetime:
    """The start of the hour that contains ``at`` (in UTC; the centre's hours are the same)."""
    # called for every record of a batch: an hour's start is made once and looked up by its number
    number = int(at.timestamp() // 3600)
    hour = _HOURS.get(number)
    if hour is None:
        if len(_HOURS) > 100_000:
            _HOURS.clear()
        hour = _HOURS[number] = datetime.fromtimestamp(number * 3600, UTC)
    return hour


def ceil_hour(at: datetime) -> datetime:
    floor = floor_hour(at)
    return floor if floor == at else floor + HOUR


def seal_boundary(now: datetime, settled: datetime | None = None) -> datetime:
    """Every hour that began before this moment is sealed at ``now``: those that ended ``TAIL`` plus
    ``MARGIN`` ago, and, sooner, those that ended before ``settled`` (the switch's ``RecordMark``:
    every record of anything that began before it is written, so nothing can change those hours)."""
    boundary = floor_hour(now - TAIL - MARGIN)
    if settled is not None:
        boundary = max(boundary, floor_hour(min(settled, now)))
    return boundary


def rolled_until() -> datetime | None:
    """Every hour that began before this moment has its roll-up rows (``None``: none has)."""
    until = RollupMark.objects.filter(name=MARK).values_list("until", flat=True).first()
    return until


def hours_of(start: datetime, end: datetime) -> list[datetime]:
    hours, at = [], floor_hour(start)
    while at < end:
        hours.append(at)
        at += HOUR
    return hours


# --- Agents' handle times ------------------------------------------------------------------------

HANDLE_SLOTS = {r.AGENT_TALKING: 0, r.AGENT_HOLD: 1, r.AGENT_WRAP_UP: 2}


class HandleIndex:
    """Every agent's talk, hold and wrap-up segments by (agent, call), from one set of timelines.

    ``seconds`` gives the handle time of the calls an agent connected, as ``selectors._handle_times``
    does for the timelines of one interval ending at ``interval_end``: the segments of that call from
    each connect on (until the next connect of the same call among ``moments``), cut where that
    interval's timelines stop (``interval_end + TAIL``)."""

    def __init__(self, timelines: dict[int, list[Segment]]) -> None:
        self.segments: dict[tuple[int, str], list[Segment]] = defaultdict(list)
        for agent_id, timeline in timelines.items():
            for seg in timeline:
                if seg.call_id and seg.state in HANDLE_STATES:
                    self.segments[(agent_id, seg.call_id)].append(seg)

    def seconds(
        self, connects: Iterable[tuple[int, str, datetime]], *, interval_end: datetime
    ) -> dict[tuple[int, str, datetime], tuple[float, float, float]]:
        horizon = interval_end + TAIL
        wanted: dict[tuple[int, str], list[datetime]] = defaultdict(list)
        for agent_id, call_id, at in connects:
            wanted[(agent_id, call_id)].append(at)
        result: dict[tuple[int, str, datetime], list[float]] = {}
        for key, moments in wanted.items():
            moments.sort()
            for at in moments:
                result[(key[0], key[1], at)] = [0.0, 0.0, 0.0]
            for seg in self.segments.get(key, ()):
                if seg.start >= horizon:
                    continue
                owner = None
                for at in moments:
                    if at <= seg.start:
                        owner = at
                if owner is None:
                    continue
                slot = HANDLE_SLOTS[seg.state]
                result[(key[0], key[1], owner)][slot] += (min(seg.end, horizon) - seg.start).total_seconds()
        return {key: (v[0], v[1], v[2]) for key, v in result.items()}


# --- Queues --------------------------------------------------------------------------------------


def queue_hours(
    *, start: datetime, end: datetime, index: HandleIndex, settings: CentreSettings | None = None
) -> dict[tuple[datetime, str], QueueStats]:
    """Each queue's figures for each whole hour in ``[start, end)``: what ``queue_stats`` gives for
    that hour alone, from one read of the queue events (``index``: the agents' timelines from
    ``start`` on)."""
    settings = settings or centre_settings()
    short = settings.short_abandon_s
    thresholds = dict(Queue.objects.values_list("code", "service_level_s"))
    events = list(
        QueueEventLog.objects.filter(at__gte=start, at__lt=end + TAIL, kind__in=VISIT_KINDS | COUNTED_KINDS)
        .exclude(queue="")
        .order_by("at", "id")
        .values_list("kind", "at", "queue", "call_id", "agent_id")
    )
    rows: dict[tuple[datetime, str], QueueStats] = {}

    def row(hour: datetime, code: str) -> QueueStats:
        key = (hour, code)
        if key not in rows:
            rows[key] = QueueStats(queue=code, service_level_s=thresholds.get(code, settings.service_level_s))
        return rows[key]

    for kind, at, code, _call, _agent in events:
        if kind in COUNTED_KINDS and at < end:
            stats = row(floor_hour(at), code)
            if kind == r.QE_NO_ANSWER:
                stats.unanswered_offers += 1
            elif kind == r.QE_ALL_BUSY:
                stats.all_busy += 1
            elif kind == r.QE_TRANSFER:
                stats.transfers += 1
    visits = [v for v in visits_of(e for e in events if e[0] in VISIT_KINDS) if start <= v.entered < end]
    answered_by_hour: dict[datetime, list[tuple[int, str, datetime]]] = defaultdict(list)
    for v in visits:
        hour = floor_hour(v.entered)
        if v.at is not None and v.at >= hour + HOUR + TAIL:
            v.kind, v.at, v.agent_id = "", None, None  # the hour's report does not read that far
        if v.kind == r.QE_CONNECT and v.agent_id is not None and v.at is not None:
            answered_by_hour[hour].append((v.agent_id, v.call_id, v.at))
    handle: dict[tuple[int, str, datetime], tuple[float, float, float]] = {}
    for hour, connects in answered_by_hour.items():
        handle.update(index.seconds(connects, interval_end=hour + HOUR))
    for v in visits:
        visit_count(row(floor_hour(v.entered), v.queue), v, short_abandon_s=short, handle=handle)
    return rows


# --- Agents --------------------------------------------------------------------------------------


def agent_active(stats: AgentStats) -> bool:
    """Whether anything happened: an all-zero agent (logged out throughout) is left out."""
    return any(value for name, value in vars(stats).items() if name not in ("agent_id", "name"))


def agent_hours(
    *, start: datetime, end: datetime, timelines: dict[int, list[Segment]], index: HandleIndex
) -> dict[tuple[datetime, int], AgentStats]:
    """Each agent's figures for each whole hour in ``[start, end)``: what ``agent_stats`` gives for
    that hour alone (``timelines``: every agent's from ``start`` to ``end``), less agents with
    nothing in an hour."""
    rows: dict[tuple[datetime, int], AgentStats] = {}

    def row(hour: datetime, agent_id: int) -> AgentStats:
        key = (hour, agent_id)
        if key not in rows:
            rows[key] = AgentStats(agent_id=agent_id)
        return rows[key]

    events = QueueEventLog.objects.filter(
        at__gte=start,
        at__lt=end,
        agent__isnull=False,
        kind__in=[r.QE_OFFER, r.QE_NO_ANSWER, r.QE_CONNECT, r.QE_TRANSFER],
    ).values_list("kind", "at", "call_id", "agent_id")
    connects: dict[datetime, list[tuple[int, str, datetime]]] = defaultdict(list)
    for kind, at, call_id, agent_id in events.iterator(chunk_size=5000):
        hour = floor_hour(at)
        stats = row(hour, agent_id)
        if kind == r.QE_OFFER:
            stats.offered += 1
        elif kind == r.QE_NO_ANSWER:
            stats.unanswered_offers += 1
        elif kind == r.QE_CONNECT:
            stats.answered += 1
            connects[hour].append((agent_id, call_id, at))
        else:
            stats.transfers += 1
    for hour, hour_connects in connects.items():
        for (agent_id, _call, _at), (talk, hold, wrap) in index.seconds(
            hour_connects, interval_end=hour + HOUR
        ).items():
            stats = row(hour, agent_id)
            stats.handle_talk_s += talk
            stats.handle_hold_s += hold
            stats.handle_wrap_up_s += wrap
    for agent_id, segments in timelines.items():
        for seg in segments:
            hour = max(floor_hour(seg.start), start)
            while hour < end and not (hour > seg.start and hour >= seg.end):
                if seg.start < hour - LOOKBACK:
                    break  # an hour's own report starts from a change at most LOOKBACK before it
                hour_end = hour + HOUR
                lo, hi = max(seg.start, hour), min(seg.end, hour_end)
                seconds = (hi - lo).total_seconds() if hi > lo else 0.0
                changed_inside = hour <= seg.start < hour_end
                if seconds or changed_inside:
                    stats = row(hour, agent_id)
                    name = STATE_FIELDS.get(seg.state)
                    if name is not None:
                        setattr(stats, name, getattr(stats, name) + seconds)
                    if seg.state in LOGGED_IN_STATES:
                        stats.logged_in_s += seconds
                    if seg.state == r.AGENT_PAUSED:
                        key = seg.reason or ""
                        stats.pause_by_reason[key] = stats.pause_by_reason.get(key, 0.0) + seconds
                    if changed_inside and seg.state == r.AGENT_LOCKED:
                        stats.locked_count += 1
                    if changed_inside and seg.state == r.AGENT_OFF_HOOK:
                        stats.off_hook_count += 1
                hour = hour_end
    return {key: stats for key, stats in rows.items() if agent_active(stats)}


# --- Call records and trunks ---------------------------------------------------------------------


@dataclass
class CallFigures:
    """Additive figures of a set of call records (docs/measures.md, "Calls")."""

    calls: int = 0
    queued: int = 0  # asked for an agent: entered a queue
    answered: int = 0  # of those, an agent talked to the caller
    answered_in_sl: int = 0  # answered within the centre's service level after entering a queue
    abandoned_short: int = 0  # hung up in the queue within the centre's short abandon time
    answer_wait_s: float = 0.0  # first answer − queued, over the answered
    wait_s: float = 0.0
    talk_s: float = 0.0
    hold_s: float = 0.0
    transfers: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    FIELDS = (
        "calls", "queued", "answered", "answered_in_sl", "abandoned_short", "answer_wait_s", "wait_s",
        "talk_s", "hold_s", "transfers",
    )  # fmt: skip

    def add(self, other: CallFigures) -> None:
        for name in self.FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for outcome, count in other.outcomes.items():
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + count

    @property
    def abandoned(self) -> int:
        """Calls that hung up waiting in a queue after the short abandon time."""
        return self.outcomes.get(r.OUTCOME_ABANDONED, 0) - self.abandoned_short

    @property
    def connection_rate(self) -> float | None:
        """接通率: answered / (asked for an agent − short abandons)."""
        base = self.queued - self.abandoned_short
        return self.answered / base if base > 0 else None

    @property
    def service_level(self) -> float | None:
        base = self.queued - self.abandoned_short
        return self.answered_in_sl / base if base > 0 else None

    @property
    def asa_s(self) -> float | None:
        return self.answer_wait_s / self.answered if self.answered else None


CallKey = tuple[datetime, str, str, str, str]  # hour, direction, called, trunk, outcome


def call_hours(
    *, start: datetime, end: datetime, settings: CentreSettings | None = None, direction: str = ""
) -> dict[CallKey, CallFigures]:
    """The call records that started in ``[start, end)`` by hour, direction, number, trunk and
    outcome."""
    settings = settings or centre_settings()
    sl, short = settings.service_level_s, settings.short_abandon_s
    qs = CallRecord.objects.filter(started_at__gte=start, started_at__lt=end)
    if direction:
        qs = qs.filter(direction=direction)
    rows: dict[CallKey, CallFigures] = {}
    fields = (
        "direction", "called", "trunk", "outcome", "started_at", "queued_at", "answered_at", "wait_s",
        "talk_s", "hold_s", "transfers",
    )  # fmt: skip
    for direction_, called, trunk, outcome, started, queued_at, answered_at, wait, talk, hold, transfers in (
        qs.order_by().values_list(*fields).iterator(chunk_size=5000)
    ):
        key = (floor_hour(started), direction_, called, trunk, outcome)
        figures = rows.get(key)
        if figures is None:
            figures = rows[key] = CallFigures(outcomes={outcome: 0})
        figures.calls += 1
        figures.outcomes[outcome] += 1
        figures.wait_s += wait
        figures.talk_s += talk
        figures.hold_s += hold
        figures.transfers += transfers
        if queued_at is None:
            continue
        figures.queued += 1
        if outcome == r.OUTCOME_ANSWERED:
            figures.answered += 1
            if answered_at is not None:
                first_wait = max(0.0, (answered_at - queued_at).total_seconds())
                figures.answer_wait_s += first_wait
                if first_wait <= sl:
                    figures.answered_in_sl += 1
        elif outcome == r.OUTCOME_ABANDONED and wait <= short:
            figures.abandoned_short += 1
    return rows


def leg_hours(*, start: datetime, end: datetime) -> dict[tuple[datetime, str], tuple[int, int]]:
    """Outbound legs through a trunk that started in ``[start, end)``: (offered, answered) by hour
    and trunk, as ``telephony.recordings.trunk_hours`` counts them."""
    recent_calls = CallRecord.objects.filter(started_at__gte=start - CALL_SPAN, started_at__lt=end).values(
        "call_id"
    )
    legs = (
        CallLeg.objects.filter(
            call_id__in=recent_calls, kind=LegKind.OUTBOUND, started_at__gte=start, started_at__lt=end
        )
        .exclude(trunk="")
        .values_list("trunk", "started_at", "answered_at")
    )
    counts: dict[tuple[datetime, str], list[int]] = defaultdict(lambda: [0, 0])
    for trunk, started, answered_at in legs:
        pair = counts[(floor_hour(started), trunk)]
        pair[0] += 1
        pair[1] += answered_at is not None
    return {key: (v[0], v[1]) for key, v in counts.items()}


# --- Computing and storing hours -----------------------------------------------------------------


@dataclass
class HourRows:
    queues: list[QueueHour]
    agents: list[AgentHour]
    pauses: list[AgentPauseHour]
    calls: list[CallHour]
    legs: list[TrunkLegHour]


AGENT_FIELDS = tuple(
    name for name in vars(AgentStats(agent_id=None)) if name not in ("agent_id", "name", "pause_by_reason")
)
QUEUE_FIELDS = tuple(name for name in vars(QueueStats(queue="")) if name not in ("queue", "service_level_s"))


def hours_compute(*, start: datetime, end: datetime, now: datetime | None = None) -> HourRows:
    """The roll-up rows of every hour in ``[start, end)`` (whole hours), not stored."""
    if floor_hour(start) != start or floor_hour(end) != end:
        raise ValueError("roll-ups are computed on whole hours")
    settings = centre_settings()
    timelines = agent_timelines(start=start, end=end, now=now)
    index = HandleIndex(timelines)
    by_queue = queue_hours(start=start, end=end, index=index, settings=settings)
    queues = [
        QueueHour(
            hour=hour,
            queue=code,
            service_level_s=stats.service_level_s,
            short_abandon_s=settings.short_abandon_s,
            **{name: getattr(stats, name) for name in QUEUE_FIELDS},
        )
        for (hour, code), stats in sorted(by_queue.items())
    ]
    agents: list[AgentHour] = []
    pauses: list[AgentPauseHour] = []
    for (hour, agent_id), stats in sorted(
        agent_hours(start=start, end=end, timelines=timelines, index=index).items()
    ):
        agents.append(
            AgentHour(hour=hour, agent_id=agent_id, **{name: getattr(stats, name) for name in AGENT_FIELDS})
        )
        pauses.extend(
            AgentPauseHour(hour=hour, agent_id=agent_id, reason=reason, seconds=seconds)
            for reason, seconds in sorted(stats.pause_by_reason.items())
        )
    calls = [
        CallHour(
            hour=hour,
            direction=direction,
            called=called,
            trunk=trunk,
            outcome=outcome,
            service_level_s=settings.service_level_s,
            short_abandon_s=settings.short_abandon_s,
            **{name: getattr(figures, name) for name in CallFigures.FIELDS},
        )
        for (hour, direction, called, trunk, outcome), figures in sorted(
            call_hours(start=start, end=end, settings=settings).items()
        )
    ]
    legs = [
        TrunkLegHour(hour=hour, trunk=trunk, offered=offered, answered=answered)
        for (hour, trunk), (offered, answered) in sorted(leg_hours(start=start, end=end).items())
    ]
    return HourRows(queues=queues, agents=agents, pauses=pauses, calls=calls, legs=legs)


ROLLUP_MODELS: tuple[Any, ...] = (QueueHour, AgentHour, AgentPauseHour, CallHour, TrunkLegHour)


def _replace(rows: HourRows, start: datetime, end: datetime) -> None:
    for model in ROLLUP_MODELS:
        model.objects.filter(hour__gte=start, hour__lt=end).delete()
    QueueHour.objects.bulk_create(rows.queues, batch_size=2000)
    AgentHour.objects.bulk_create(rows.agents, batch_size=2000)
    AgentPauseHour.objects.bulk_create(rows.pauses, batch_size=2000)
    CallHour.objects.bulk_create(rows.calls, batch_size=2000)
    TrunkLegHour.objects.bulk_create(rows.legs, batch_size=2000)


def _first_record() -> datetime | None:
    firsts = [
        QueueEventLog.objects.aggregate(first=Min("at"))["first"],
        AgentStateLog.objects.aggregate(first=Min("at"))["first"],
        CallRecord.objects.aggregate(first=Min("started_at"))["first"],
    ]
    known = [at for at in firsts if at is not None]
    return floor_hour(min(known)) if known else None


def rollup_sealed(*, now: datetime | None = None, max_hours: int | None = None) -> int:
    """Roll up every sealed hour not rolled up yet, a batch of ``BATCH_HOURS`` per transaction;
    returns the number of hours stored. Idempotent: a second run finds nothing to do, and two runs
    at once store each hour once (the second one's batch is discarded). ``max_hours`` bounds one run
    (the next run goes on from where it stopped)."""
    now = now or timezone.now()
    boundary = seal_boundary(now, records_settled())
    begin = rolled_until() or _first_record()
    if begin is None:
        return 0
    RollupMark.objects.get_or_create(name=MARK, defaults={"until": begin, "updated_at": now})
    done = 0
    while begin < boundary and (max_hours is None or done < max_hours):
        hours = BATCH_HOURS if max_hours is None else min(BATCH_HOURS, max_hours - done)
        batch_end = min(begin + hours * HOUR, boundary)
        # computed outside the transaction: SQLite writers (the switch) are not held up meanwhile
        rows = hours_compute(start=begin, end=batch_end, now=now)
        with transaction.atomic():
            mark = RollupMark.objects.select_for_update().get(name=MARK)
            if mark.until != begin:
                break  # another run stored these hours meanwhile
            _replace(rows, begin, batch_end)
            mark.until, mark.updated_at = batch_end, now
            mark.save(update_fields=["until", "updated_at"])
        done += int((batch_end - begin) / HOUR)
        begin = batch_end
    return done


def rollup_rebuild(*, start: datetime, end: datetime, now: datetime | None = None) -> int:
    """Compute again the rolled-up hours in ``[start, end)`` (e.g. after records arrived late or a
    queue's service level threshold was corrected); hours not rolled up yet are left to
    ``rollup_sealed``. Returns the number of hours replaced."""
    until = rolled_until()
    if until is None:
        return 0
    start, end = floor_hour(start), min(ceil_hour(end), until)
    done = 0
    while start < end:
        batch_end = min(start + BATCH_HOURS * HOUR, end)
        rows = hours_compute(start=start, end=batch_end, now=now)
        with transaction.atomic():
            _replace(rows, start, batch_end)
        done += int((batch_end - start) / HOUR)
        start = batch_end
    return done
