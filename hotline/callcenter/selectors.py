"""Reads of the contact centre: settings, call record search, and the statistics.

The statistics are computed from the queue event log and the agent state log; every measure is
defined in docs/callcenter.md ("Statistics"). In short: an interval is ``[start, end)``; a queue
visit (a call entering a queue) belongs to the interval in which it entered, with everything that
followed it (answer, abandon, handle time), even if that happened after ``end``; counted events
(offers, unanswered offers, all-busy, transfers, locks, off-hook) belong to the interval of their
own time; times in a state are clipped to the interval.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from . import records as r
from .choices import Direction
from .models import AgentStateLog, CallRecord, CentreSettings, Queue, QueueEventLog, RecordMark

# Events that end a queue visit, first one wins.
VISIT_ENDS = frozenset(
    {r.QE_CONNECT, r.QE_ABANDON, r.QE_OVERFLOW, r.QE_TIMEOUT, r.QE_VOICEMAIL, r.QE_CALLBACK}
)
VISIT_KINDS = VISIT_ENDS | {r.QE_ENTER}
COUNTED_KINDS = frozenset({r.QE_OFFER, r.QE_NO_ANSWER, r.QE_ALL_BUSY, r.QE_TRANSFER})
# What happened after the interval's end is read this far (a wait, a call and its wrap-up).
TAIL = timedelta(hours=4)
# The state an agent was in when the interval began is their last change this long before it.
LOOKBACK = timedelta(hours=24)
HANDLE_STATES = frozenset({r.AGENT_TALKING, r.AGENT_HOLD, r.AGENT_WRAP_UP})
CALL_STATES = HANDLE_STATES | {r.AGENT_RINGING}
LOGGED_IN_STATES = frozenset(set(r.AGENT_STATES) - {r.AGENT_LOGGED_OUT})


def centre_settings() -> CentreSettings:
    """The centre-wide settings row, created with the defaults when first asked."""
    settings, _created = CentreSettings.objects.get_or_create(pk=1)
    return settings


# --- Call records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallFilter:
    since: datetime | None = None
    until: datetime | None = None
    number: str = ""  # caller or called
    agent_id: int | None = None
    queue: str = ""
    outcome: str = ""
    direction: str = ""


def call_records_filter(qs: QuerySet[CallRecord], f: CallFilter) -> QuerySet[CallRecord]:
    """Call detail records by start time ``[since, until)``, number, agent, queue and outcome."""
    if f.since is not None:
        qs = qs.filter(started_at__gte=f.since)
    if f.until is not None:
        qs = qs.filter(started_at__lt=f.until)
    if f.number:
        qs = qs.filter(Q(caller=f.number) | Q(called=f.number))
    if f.agent_id is not None:
        qs = qs.filter(agent_id=f.agent_id)
    if f.queue:
        qs = qs.filter(queue=f.queue)
    if f.outcome:
        qs = qs.filter(outcome=f.outcome)
    if f.direction:
        qs = qs.filter(direction=f.direction)
    return qs


# --- Agent timelines -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Segment:
    """An agent in one state from ``start`` to ``end``."""

    state: str
    start: datetime
    end: datetime
    reason: str
    call_id: str


def _overlap(seg: Segment, start: datetime, end: datetime) -> float:
    lo, hi = max(seg.start, start), min(seg.end, end)
    return (hi - lo).total_seconds() if hi > lo else 0.0


def agent_timelines(
    *, start: datetime, end: datetime, agents: Iterable[int] | None = None, now: datetime | None = None
) -> dict[int, list[Segment]]:
    """Every agent's states from the one in effect at ``start`` to ``end + TAIL``.

    A state lasts until the agent's next change; the last one until ``now`` (or ``end + TAIL``).
    A talk, hold or wrap-up change that names no call continues the call of the change before."""
    horizon = end + TAIL
    stop = min(horizon, now or timezone.now())
    agent_ids = None if agents is None else list(agents)
    before = AgentStateLog.objects.filter(at__lt=start, at__gte=start - LOOKBACK, agent__isnull=False)
    inside = AgentStateLog.objects.filter(at__gte=start, at__lt=horizon, agent__isnull=False)
    if agent_ids is not None:
        before = before.filter(agent_id__in=agent_ids)
        inside = inside.filter(agent_id__in=agent_ids)
    last_before = list(before.values_list("agent_id").annotate(last=Max("at")).order_by())
    rows: list[tuple[Any, ...]] = []
    fields = ("agent_id", "at", "id", "state", "reason", "call_id")
    for i in range(0, len(last_before), 100):
        chunk = last_before[i : i + 100]
        q = Q()
        for agent_id, at in chunk:
            q |= Q(agent_id=agent_id, at=at)
        rows.extend(AgentStateLog.objects.filter(q).values_list(*fields))
    rows.extend(inside.values_list(*fields))
    rows.sort(key=lambda row: (row[0], row[1], row[2]))
    timelines: dict[int, list[Segment]] = {}
    by_agent: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in rows:
        by_agent[row[0]].append(row)
    for agent_id, changes in by_agent.items():
        # of several changes at the last moment before the start, only the last one counts
        while len(changes) > 1 and changes[0][1] < start and changes[1][1] < start:
            changes.pop(0)
        segments: list[Segment] = []
        call = ""
        for i, (_agent, at, _id, state, reason, call_id) in enumerate(changes):
            seg_end = changes[i + 1][1] if i + 1 < len(changes) else max(stop, at)
            call = call_id or (call if state in HANDLE_STATES else "")
            segments.append(Segment(state=state, start=at, end=seg_end, reason=reason, call_id=call))
        timelines[agent_id] = segments
    return timelines


def _handle_times(
    timelines: dict[int, list[Segment]], connects: Iterable[tuple[int, str, datetime]]
) -> dict[tuple[int, str, datetime], tuple[float, float, float]]:
    """(talk, hold, wrap-up) seconds of each answered visit (agent, call, connected at): the
    agent's talk, hold and wrap-up states for that call from the connect on (until the agent
    connects the same call again)."""
    wanted: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    for agent_id, call_id, at in connects:
        wanted[(agent_id, call_id)].append(at)
    segments: dict[tuple[int, str], list[Segment]] = defaultdict(list)
    for agent_id, timeline in timelines.items():
        for seg in timeline:
            if seg.call_id and seg.state in HANDLE_STATES and (agent_id, seg.call_id) in wanted:
                segments[(agent_id, seg.call_id)].append(seg)
    result: dict[tuple[int, str, datetime], list[float]] = {}
    for (agent_id, call_id), moments in wanted.items():
        moments.sort()
        for at in moments:
            result[(agent_id, call_id, at)] = [0.0, 0.0, 0.0]
        for seg in segments.get((agent_id, call_id), ()):
            owner = None
            for at in moments:
                if at <= seg.start:
                    owner = at
            if owner is None:
                continue
            slot = {r.AGENT_TALKING: 0, r.AGENT_HOLD: 1, r.AGENT_WRAP_UP: 2}[seg.state]
            result[(agent_id, call_id, owner)][slot] += (seg.end - seg.start).total_seconds()
    return {key: (v[0], v[1], v[2]) for key, v in result.items()}


# --- Queue statistics ----------------------------------------------------------------------------


@dataclass
class QueueStats:
    """The measures of one queue (``queue``) or of all queues (``queue == ""``) in an interval."""

    queue: str
    service_level_s: int | None = None
    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    abandoned_short: int = 0
    overflowed: int = 0
    timed_out: int = 0
    voicemail: int = 0
    callback: int = 0
    unanswered_offers: int = 0
    all_busy: int = 0
    transfers: int = 0
    answer_wait_s: float = 0.0
    abandon_wait_s: float = 0.0
    longest_wait_s: float = 0.0
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_up_s: float = 0.0

    @property
    def service_level(self) -> float | None:
        """Answered within the threshold / (offered − short abandons)."""
        base = self.offered - self.abandoned_short
        return self.answered_in_sl / base if base > 0 else None

    @property
    def asa_s(self) -> float | None:
        return self.answer_wait_s / self.answered if self.answered else None

    @property
    def handle_s(self) -> float:
        return self.talk_s + self.hold_s + self.wrap_up_s

    @property
    def aht_s(self) -> float | None:
        return self.handle_s / self.answered if self.answered else None

    def add(self, other: QueueStats) -> None:
        for name in (
            "offered", "answered", "answered_in_sl", "abandoned", "abandoned_short", "overflowed",
            "timed_out", "voicemail", "callback", "unanswered_offers", "all_busy", "transfers",
            "answer_wait_s", "abandon_wait_s", "talk_s", "hold_s", "wrap_up_s",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.longest_wait_s = max(self.longest_wait_s, other.longest_wait_s)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items()}
        data.update(
            service_level=self.service_level, asa_s=self.asa_s, aht_s=self.aht_s, handle_s=self.handle_s
        )
        return data


@dataclass
class QueueReport:
    start: datetime
    end: datetime
    short_abandon_s: int
    queues: list[QueueStats]
    total: QueueStats
    calls: dict[str, int] = field(default_factory=dict)  # inbound calls started in the interval, by outcome


@dataclass(slots=True)
class Visit:
    queue: str
    call_id: str
    entered: datetime
    kind: str = ""
    at: datetime | None = None
    agent_id: int | None = None


def visits_of(events: Iterable[tuple[Any, ...]]) -> list[Visit]:
    """Pair each ``enter`` with the first event that ended the visit (events in time order)."""
    open_: dict[tuple[str, str], Visit] = {}
    visits: list[Visit] = []
    for kind, at, queue, call_id, agent_id in events:
        key = (queue, call_id)
        if kind == r.QE_ENTER:
            visit = Visit(queue=queue, call_id=call_id, entered=at)
            open_[key] = visit
            visits.append(visit)
        elif kind in VISIT_ENDS:
            visit_or_none = open_.pop(key, None)
            if visit_or_none is not None:
                visit_or_none.kind, visit_or_none.at, visit_or_none.agent_id = kind, at, agent_id
    return visits


Handle = dict[tuple[int, str, datetime], tuple[float, float, float]]


def visit_count(stats: QueueStats, v: Visit, *, short_abandon_s: float, handle: Handle) -> None:
    """Add one queue visit to its queue's figures (the table in docs/callcenter.md): offered, and by
    its end answered (within the service level or not, with the agent's talk, hold and wrap-up for
    the call from ``handle``), abandoned (short or not), overflowed, timed out, voicemail, callback."""
    stats.offered += 1
    if v.at is None:
        return  # still waiting, or the call ended without telling
    wait = (v.at - v.entered).total_seconds()
    if v.kind == r.QE_CONNECT:
        stats.answered += 1
        stats.answer_wait_s += wait
        stats.longest_wait_s = max(stats.longest_wait_s, wait)
        if stats.service_level_s is not None and wait <= stats.service_level_s:
            stats.answered_in_sl += 1
        if v.agent_id is not None:
            talk, hold, wrap = handle.get((v.agent_id, v.call_id, v.at), (0.0, 0.0, 0.0))
            stats.talk_s += talk
            stats.hold_s += hold
            stats.wrap_up_s += wrap
    elif v.kind == r.QE_ABANDON:
        if wait <= short_abandon_s:
            stats.abandoned_short += 1
        else:
            stats.abandoned += 1
            stats.abandon_wait_s += wait
            stats.longest_wait_s = max(stats.longest_wait_s, wait)
    elif v.kind == r.QE_OVERFLOW:
        stats.overflowed += 1
    elif v.kind == r.QE_TIMEOUT:
        stats.timed_out += 1
    elif v.kind == r.QE_VOICEMAIL:
        stats.voicemail += 1
    elif v.kind == r.QE_CALLBACK:
        stats.callback += 1


def queue_stats(
    *,
    start: datetime,
    end: datetime,
    queues: Sequence[str] | None = None,
    service_level_s: int | None = None,
    short_abandon_s: int | None = None,
    now: datetime | None = None,
) -> QueueReport:
    """Per-queue measures in ``[start, end)`` and their total over the queues reported.

    ``service_level_s`` overrides every queue's own threshold for this report; ``short_abandon_s``
    the centre's."""
    settings = centre_settings()
    short = settings.short_abandon_s if short_abandon_s is None else short_abandon_s
    thresholds = dict(Queue.objects.values_list("code", "service_level_s"))
    qs = QueueEventLog.objects.filter(at__gte=start, at__lt=end + TAIL).exclude(queue="")
    if queues is not None:
        qs = qs.filter(queue__in=list(queues))
    events = list(
        qs.filter(kind__in=VISIT_KINDS | COUNTED_KINDS)
        .order_by("at", "id")
        .values_list("kind", "at", "queue", "call_id", "agent_id")
    )
    rows: dict[str, QueueStats] = {}

    def row(code: str) -> QueueStats:
        if code not in rows:
            limit = (
                service_level_s
                if service_level_s is not None
                else thresholds.get(code, settings.service_level_s)
            )
            rows[code] = QueueStats(queue=code, service_level_s=limit)
        return rows[code]

    for code in queues or ():
        row(code)
    for kind, at, code, _call, _agent in events:
        if kind in COUNTED_KINDS and at < end:
            stats = row(code)
            if kind == r.QE_NO_ANSWER:
                stats.unanswered_offers += 1
            elif kind == r.QE_ALL_BUSY:
                stats.all_busy += 1
            elif kind == r.QE_TRANSFER:
                stats.transfers += 1
    visits = [v for v in visits_of(e for e in events if e[0] in VISIT_KINDS) if start <= v.entered < end]
    answered = [v for v in visits if v.kind == r.QE_CONNECT and v.agent_id is not None]
    handle: dict[tuple[int, str, datetime], tuple[float, float, float]] = {}
    if answered:
        timelines = agent_timelines(
            start=min(v.entered for v in answered),
            end=end,
            agents={v.agent_id for v in answered if v.agent_id},
            now=now,
        )
        handle = _handle_times(
            timelines, ((v.agent_id, v.call_id, v.at) for v in answered if v.agent_id and v.at)
        )
    for v in visits:
        visit_count(row(v.queue), v, short_abandon_s=short, handle=handle)
    total = QueueStats(queue="", service_level_s=service_level_s)
    ordered = [rows[code] for code in sorted(rows)]
    for stats in ordered:
        total.add(stats)
    calls_qs = CallRecord.objects.filter(
        started_at__gte=start, started_at__lt=end, direction=Direction.INBOUND
    )
    calls: dict[str, int] = defaultdict(int)
    for outcome in calls_qs.values_list("outcome", flat=True).iterator(chunk_size=5000):
        calls[outcome] += 1
    calls["total"] = sum(calls.values())
    return QueueReport(
        start=start, end=end, short_abandon_s=short, queues=ordered, total=total, calls=dict(calls)
    )


# --- Agent statistics ----------------------------------------------------------------------------


@dataclass
class AgentStats:
    """The measures of one agent (``agent_id``) or of all agents (``agent_id is None``)."""

    agent_id: int | None
    name: str = ""
    offered: int = 0
    answered: int = 0
    unanswered_offers: int = 0
    transfers: int = 0
    locked_count: int = 0
    off_hook_count: int = 0
    handle_talk_s: float = 0.0
    handle_hold_s: float = 0.0
    handle_wrap_up_s: float = 0.0
    logged_in_s: float = 0.0
    ready_s: float = 0.0
    ringing_s: float = 0.0
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_up_s: float = 0.0
    pause_s: float = 0.0
    locked_s: float = 0.0
    off_hook_s: float = 0.0
    pause_by_reason: dict[str, float] = field(default_factory=dict)

    @property
    def aht_s(self) -> float | None:
        total = self.handle_talk_s + self.handle_hold_s + self.handle_wrap_up_s
        return total / self.answered if self.answered else None

    def add(self, other: AgentStats) -> None:
        for name, value in vars(other).items():
            if name in ("agent_id", "name"):
                continue
            if name == "pause_by_reason":
                for reason, seconds in value.items():
                    self.pause_by_reason[reason] = self.pause_by_reason.get(reason, 0.0) + seconds
            else:
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items()}
        data["aht_s"] = self.aht_s
        return data


@dataclass
class AgentReport:
    start: datetime
    end: datetime
    agents: list[AgentStats]
    total: AgentStats


STATE_FIELDS = {
    r.AGENT_READY: "ready_s",
    r.AGENT_RINGING: "ringing_s",
    r.AGENT_TALKING: "talk_s",
    r.AGENT_HOLD: "hold_s",
    r.AGENT_WRAP_UP: "wrap_up_s",
    r.AGENT_PAUSED: "pause_s",
    r.AGENT_LOCKED: "locked_s",
    r.AGENT_OFF_HOOK: "off_hook_s",
}


def agent_stats(
    *, start: datetime, end: datetime, agents: Sequence[int] | None = None, now: datetime | None = None
) -> AgentReport:
    """Per-agent measures in ``[start, end)`` and their total."""
    from hotline.accounts.models import User

    timelines = agent_timelines(start=start, end=end, agents=agents, now=now)
    qs = QueueEventLog.objects.filter(
        at__gte=start,
        at__lt=end,
        agent__isnull=False,
        kind__in=[r.QE_OFFER, r.QE_NO_ANSWER, r.QE_CONNECT, r.QE_TRANSFER],
    )
    if agents is not None:
        qs = qs.filter(agent_id__in=list(agents))
    rows: dict[int, AgentStats] = {}

    def row(agent_id: int) -> AgentStats:
        if agent_id not in rows:
            rows[agent_id] = AgentStats(agent_id=agent_id)
        return rows[agent_id]

    for agent_id in agents or ():
        row(agent_id)
    connects: list[tuple[int, str, datetime]] = []
    for kind, at, call_id, agent_id in qs.values_list("kind", "at", "call_id", "agent_id"):
        stats = row(agent_id)
        if kind == r.QE_OFFER:
            stats.offered += 1
        elif kind == r.QE_NO_ANSWER:
            stats.unanswered_offers += 1
        elif kind == r.QE_CONNECT:
            stats.answered += 1
            connects.append((agent_id, call_id, at))
        else:
            stats.transfers += 1
    for (agent_id, _call, _at), (talk, hold, wrap) in _handle_times(timelines, connects).items():
        stats = row(agent_id)
        stats.handle_talk_s += talk
        stats.handle_hold_s += hold
        stats.handle_wrap_up_s += wrap
    for agent_id, segments in timelines.items():
        stats_or_none = rows.get(agent_id)
        for seg in segments:
            seconds = _overlap(seg, start, end)
            changed_inside = start <= seg.start < end
            if not seconds and not changed_inside:
                continue
            stats = stats_or_none = stats_or_none or row(agent_id)
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
    names = {
        u.pk: u.display_name
        for u in User.objects.filter(pk__in=list(rows)).only(
            "username", "full_name", "first_name", "last_name"
        )
    }
    ordered = []
    for agent_id in sorted(rows):
        stats = rows[agent_id]
        stats.name = names.get(agent_id, str(agent_id))
        ordered.append(stats)
    total = AgentStats(agent_id=None)
    for stats in ordered:
        total.add(stats)
    return AgentReport(start=start, end=end, agents=ordered, total=total)


def records_settled() -> datetime | None:
    """The moment before which the switch has written every record (``RecordMark``; ``None``: it
    never said)."""
    return RecordMark.objects.filter(source=RecordMark.SWITCH).values_list("settled", flat=True).first()
