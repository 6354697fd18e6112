"""Call measures (T13, R3): the queue, number, trunk and agent reports and today's call figures.

Every measure is defined in docs/measures.md ("Calls"); the queue and agent figures are the contact
centre's own (``callcenter.selectors.queue_stats`` / ``agent_stats``, docs/callcenter.md
"Statistics"). A report over ``[start, end)`` adds the roll-up rows of the whole hours already rolled
up (``rollup.py``) and computes the rest — the part of the range after them, and a part hour at
either end — from the raw records with the same selectors. Rates and averages are computed from the
summed parts, never averaged.

Two rates, two names:

- 接通率 ``connection_rate`` is counted per **call** (call records): answered / (calls that asked for
  an agent − short abandons). A call transferred or overflowed between queues is one call.
  GB/T 33358 asks for at least 95 % over any 24 hours (``CONNECTION_TARGET``).
- 队列应答率 ``answer_rate`` is counted per **queue visit**: answered / (offered − short abandons) of a
  queue. A call that waited in two queues is a visit in each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.db.models import Count, Max, Sum
from django.db.models.functions import ExtractHour
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from hotline.callcenter import records as r
from hotline.callcenter.choices import Direction
from hotline.callcenter.models import AgentProfile, CallRecord, PauseReason, Queue, QueueEventLog
from hotline.callcenter.selectors import (
    VISIT_KINDS,
    AgentStats,
    QueueStats,
    agent_stats,
    agent_timelines,
    centre_settings,
    queue_stats,
    visits_of,
)
from hotline.core.localtime import LOCAL_TZ, local_day

from . import rollup
from .models import AgentHour, AgentPauseHour, CallHour, QueueHour, TrunkLegHour
from .rollup import HOUR, CallFigures, ceil_hour, floor_hour
from .tables import Column, Row, Table, rate

CONNECTION_TARGET = 0.95  # GB/T 33358: 接通率 ≥ 95 % over any 24 hours
DAY = timedelta(hours=24)
# A caller still waiting entered a queue at most this long ago (longer waits end by the queues' rules).
WAITING_WINDOW = timedelta(hours=1)
NOT_TAKEN = (r.OUTCOME_FAILED, r.OUTCOME_REFUSED)  # trunk calls the switch did not take

QueueBy = Literal["queue", "hour", "number", "trunk"]


# --- Ranges: rolled-up hours and raw pieces --------------------------------------------------------


@dataclass(frozen=True)
class Pieces:
    """``[start, end)`` cut into whole rolled-up hours (``rolled``) and the rest (``raw``)."""

    rolled: tuple[datetime, datetime] | None
    raw: list[tuple[datetime, datetime]]


def split_range(start: datetime, end: datetime, until: datetime | None) -> Pieces:
    """The whole hours of ``[start, end)`` before ``until`` are read from the roll-ups; a part hour
    at the start, and everything from the last rolled-up hour (or a part hour) to ``end``, from the
    raw records."""
    if end <= start:
        return Pieces(rolled=None, raw=[])
    first, last = ceil_hour(start), floor_hour(end)
    if until is not None:
        last = min(last, until)
    if until is None or last <= first:
        return Pieces(rolled=None, raw=[(start, end)])
    raw = []
    if start < first:
        raw.append((start, first))
    if last < end:
        raw.append((last, end))
    return Pieces(rolled=(first, last), raw=raw)


def _pieces(start: datetime, end: datetime) -> Pieces:
    return split_range(start, end, rollup.rolled_until())


def local_hour(at: datetime) -> int:
    """The hour of the centre's clock (0–23) that ``at`` falls in."""
    return at.astimezone(LOCAL_TZ).hour


def _hour_label(hour: int) -> str:
    return f"{hour:02d}:00–{(hour + 1) % 24:02d}:00"


def _hours_in(start: datetime, end: datetime) -> list[int]:
    """The hours of the clock that ``[start, end)`` touches, in the order of the day."""
    if end - start >= DAY:
        return list(range(24))
    hours, at = set(), floor_hour(start)
    while at < end:
        hours.add(local_hour(at))
        at += HOUR
    return sorted(hours)


# --- Queue figures ---------------------------------------------------------------------------------

QUEUE_SUMS = tuple(name for name in rollup.QUEUE_FIELDS if name != "longest_wait_s")


def _queue_stats_of(values: dict[str, Any], code: str, threshold: int | None) -> QueueStats:
    stats = QueueStats(queue=code, service_level_s=threshold)
    for name in QUEUE_SUMS:
        setattr(stats, name, values[name] or 0)
    stats.longest_wait_s = values["longest_wait_s"] or 0.0
    return stats


def queue_figures(
    *, start: datetime, end: datetime, by: Literal["queue", "hour"] = "queue", now: datetime | None = None
) -> dict[Any, QueueStats]:
    """Queue measures over ``[start, end)`` per queue code (``by="queue"``) or per hour of the clock
    (``by="hour"``, all queues), from the roll-ups and the raw records."""
    pieces = _pieces(start, end)
    thresholds = dict(Queue.objects.values_list("code", "service_level_s"))
    out: dict[Any, QueueStats] = {}

    def add(key: Any, stats: QueueStats) -> None:
        if key not in out:
            code = key if by == "queue" else ""
            out[key] = QueueStats(queue=code, service_level_s=thresholds.get(code) if by == "queue" else None)
        out[key].add(stats)

    sums: dict[str, Any] = {name: Sum(name) for name in QUEUE_SUMS}
    sums["longest_wait_s"] = Max("longest_wait_s")
    if pieces.rolled is not None:
        qs = QueueHour.objects.filter(hour__gte=pieces.rolled[0], hour__lt=pieces.rolled[1]).order_by()
        if by == "queue":
            for values in qs.values("queue").annotate(**sums):
                add(values["queue"], _queue_stats_of(values, values["queue"], None))
        else:
            grouped = qs.annotate(clock=ExtractHour("hour", tzinfo=LOCAL_TZ)).values("clock").annotate(**sums)
            for values in grouped:
                add(values["clock"], _queue_stats_of(values, "", None))
    for lo, hi in pieces.raw:
        if by == "queue":
            for stats in queue_stats(start=lo, end=hi, now=now).queues:
                add(stats.queue, stats)
            continue
        first, last = ceil_hour(lo), floor_hour(hi)
        if first < last:
            index = rollup.HandleIndex(agent_timelines(start=first, end=last, now=now))
            for (hour, _code), stats in rollup.queue_hours(start=first, end=last, index=index).items():
                add(local_hour(hour), stats)
        edges = [(lo, hi)] if last <= first else [(lo, first), (last, hi)]
        for a, b in edges:
            if a < b:
                add(local_hour(a), queue_stats(start=a, end=b, now=now).total)
    return out


# --- Call figures (call records) ---------------------------------------------------------------------

CallBy = Literal["total", "called", "trunk", "hour", "clock_hour"]


def _call_key(by: CallBy, hour: datetime, called: str, trunk: str) -> Any:
    if by == "called":
        return called
    if by == "trunk":
        return trunk
    if by == "hour":
        return local_hour(hour)
    if by == "clock_hour":
        return hour
    return ""


def call_figures(*, start: datetime, end: datetime, by: CallBy = "total") -> dict[Any, CallFigures]:
    """Inbound call records that started in ``[start, end)``: in total (key ``""``), per hotline
    number, per trunk, per hour of the clock (0–23) or per hour (``clock_hour``: its start)."""
    pieces = _pieces(start, end)
    out: dict[Any, CallFigures] = defaultdict(CallFigures)
    if pieces.rolled is not None:
        group = {"called": "called", "trunk": "trunk", "clock_hour": "hour"}.get(by)
        qs = CallHour.objects.filter(
            hour__gte=pieces.rolled[0], hour__lt=pieces.rolled[1], direction=Direction.INBOUND
        ).order_by()
        if by == "hour":
            qs = qs.annotate(clock=ExtractHour("hour", tzinfo=LOCAL_TZ))
            group = "clock"
        fields = [group, "outcome"] if group else ["outcome"]
        for values in qs.values(*fields).annotate(**{name: Sum(name) for name in CallFigures.FIELDS}):
            figures = CallFigures(outcomes={values["outcome"]: values["calls"]})
            for name in CallFigures.FIELDS:
                setattr(figures, name, values[name] or 0)
            key: Any = values[group] if group else ""
            if by == "clock_hour":
                key = floor_hour(values["hour"])
            out[key].add(figures)
    for lo, hi in pieces.raw:
        for (hour, _direction, called, trunk, _outcome), figures in rollup.call_hours(
            start=lo, end=hi, direction=Direction.INBOUND
        ).items():
            out[_call_key(by, hour, called, trunk)].add(figures)
    return dict(out)


def connection_rate_24h(*, end: datetime) -> float | None:
    """接通率 over the 24 hours before ``end`` (``None`` when no call asked for an agent)."""
    return call_figures(start=end - DAY, end=end).get("", CallFigures()).connection_rate


def lowest_connection_rate_24h(*, start: datetime, end: datetime) -> tuple[float, datetime] | None:
    """The lowest 接通率 of the 24-hour windows inside ``[start, end)`` that end on a whole hour, and
    where that window ends; ``None`` when the range is shorter than 24 hours or no window has a call
    that asked for an agent."""
    first, last = ceil_hour(start), floor_hour(end)
    if last - first < DAY:
        return None
    hourly = call_figures(start=first, end=last, by="clock_hour")
    hours = rollup.hours_of(first, last)
    lowest: tuple[float, datetime] | None = None
    window = CallFigures()
    for i, hour in enumerate(hours):
        window.add(hourly.get(hour, CallFigures()))
        if i >= 24:
            dropped = hourly.get(hours[i - 24], CallFigures())
            for name in ("queued", "answered", "abandoned_short"):
                setattr(window, name, getattr(window, name) - getattr(dropped, name))
        if i >= 23:
            value = window.connection_rate
            if value is not None and (lowest is None or value < lowest[0]):
                lowest = (value, hour + HOUR)
    return lowest


# --- Queue report ------------------------------------------------------------------------------------


def _queue_columns() -> list[Column]:
    return [
        Column(
            "offered",
            pgettext_lazy("call report", "Offered"),
            "int",
            help=gettext_lazy("Queue visits that entered"),
        ),
        Column("answered", pgettext_lazy("call report", "Answered"), "int"),
        Column(
            "answer_rate",
            gettext_lazy("Answer rate"),
            "rate",
            help=gettext_lazy("Answered / (offered − short abandons), per queue visit"),
        ),
        Column("answered_in_sl", pgettext_lazy("call report", "Answered within the service level"), "int"),
        Column(
            "service_level",
            gettext_lazy("Service level"),
            "rate",
            help=gettext_lazy("Answered within the threshold / (offered − short abandons)"),
        ),
        Column("asa_s", pgettext_lazy("call report", "Average speed of answer"), "seconds"),
        Column("aht_s", pgettext_lazy("call report", "Average handle time"), "seconds"),
        Column("abandoned", pgettext_lazy("call report", "Abandoned"), "int"),
        Column("abandoned_short", pgettext_lazy("call report", "Short abandons"), "int"),
        Column("all_busy", pgettext_lazy("call report", "All-busy waits"), "int"),
        Column("overflowed", pgettext_lazy("call report", "Overflowed"), "int"),
        Column("timed_out", pgettext_lazy("call report", "Maximum wait reached"), "int"),
        Column("voicemail", pgettext_lazy("call report", "Voicemail"), "int"),
        Column("callback", pgettext_lazy("call report", "Callback"), "int"),
        Column("unanswered_offers", pgettext_lazy("call report", "Unanswered offers"), "int"),
        Column("transfers", pgettext_lazy("call report", "Transfers"), "int"),
        Column("longest_wait_s", pgettext_lazy("call report", "Longest wait"), "seconds"),
        Column("handle_s", pgettext_lazy("call report", "Handle time"), "seconds"),
    ]


def _call_columns() -> list[Column]:
    return [
        Column("calls", pgettext_lazy("call report", "Inbound calls"), "int"),
        Column(
            "connection_rate",
            gettext_lazy("Connection rate"),
            "rate",
            help=gettext_lazy("Answered / (calls that asked for an agent − short abandons), per call"),
        ),
    ]


def _queue_values(stats: QueueStats) -> dict[str, Any]:
    base = stats.offered - stats.abandoned_short
    return {
        "offered": stats.offered,
        "answered": stats.answered,
        "answer_rate": rate(stats.answered, base) if base > 0 else None,
        "answered_in_sl": stats.answered_in_sl,
        "service_level": stats.service_level,
        "asa_s": stats.asa_s,
        "aht_s": stats.aht_s,
        "abandoned": stats.abandoned,
        "abandoned_short": stats.abandoned_short,
        "all_busy": stats.all_busy,
        "overflowed": stats.overflowed,
        "timed_out": stats.timed_out,
        "voicemail": stats.voicemail,
        "callback": stats.callback,
        "unanswered_offers": stats.unanswered_offers,
        "transfers": stats.transfers,
        "longest_wait_s": stats.longest_wait_s,
        "handle_s": stats.handle_s,
    }


def _call_values(figures: CallFigures) -> dict[str, Any]:
    return {"calls": figures.calls, "connection_rate": figures.connection_rate}


def _number_columns() -> list[Column]:
    return [
        Column("calls", pgettext_lazy("call report", "Inbound calls"), "int"),
        Column("queued", pgettext_lazy("call report", "Asked for an agent"), "int"),
        Column("answered", pgettext_lazy("call report", "Answered"), "int"),
        Column(
            "connection_rate",
            gettext_lazy("Connection rate"),
            "rate",
            help=gettext_lazy("Answered / (calls that asked for an agent − short abandons), per call"),
        ),
        Column("answered_in_sl", pgettext_lazy("call report", "Answered within the service level"), "int"),
        Column("service_level", pgettext_lazy("call report", "Service level"), "rate"),
        Column("asa_s", pgettext_lazy("call report", "Average speed of answer"), "seconds"),
        Column("abandoned", pgettext_lazy("call report", "Abandoned"), "int"),
        Column("abandoned_short", pgettext_lazy("call report", "Short abandons"), "int"),
        Column("ivr", pgettext_lazy("call report", "Ended in the IVR"), "int"),
        Column("voicemail", pgettext_lazy("call report", "Voicemail"), "int"),
        Column("callback", pgettext_lazy("call report", "Callback requested"), "int"),
        Column("refused", pgettext_lazy("call report", "Refused"), "int"),
        Column("failed", pgettext_lazy("call report", "Failed"), "int"),
        Column("avg_talk_s", pgettext_lazy("call report", "Average talk time"), "seconds"),
        Column("transfers", pgettext_lazy("call report", "Transfers"), "int"),
    ]


def _number_values(figures: CallFigures) -> dict[str, Any]:
    outcomes = figures.outcomes
    return {
        "calls": figures.calls,
        "queued": figures.queued,
        "answered": figures.answered,
        "connection_rate": figures.connection_rate,
        "answered_in_sl": figures.answered_in_sl,
        "service_level": figures.service_level,
        "asa_s": figures.asa_s,
        "abandoned": figures.abandoned,
        "abandoned_short": figures.abandoned_short,
        "ivr": outcomes.get(r.OUTCOME_IVR, 0),
        "voicemail": outcomes.get(r.OUTCOME_VOICEMAIL, 0),
        "callback": outcomes.get(r.OUTCOME_CALLBACK, 0),
        "refused": outcomes.get(r.OUTCOME_REFUSED, 0),
        "failed": outcomes.get(r.OUTCOME_FAILED, 0),
        "avg_talk_s": figures.talk_s / figures.answered if figures.answered else None,
        "transfers": figures.transfers,
    }


def _total(figures: Iterable[CallFigures]) -> CallFigures:
    total = CallFigures()
    for item in figures:
        total.add(item)
    return total


def queue_report(
    *, start: datetime, end: datetime, by: QueueBy = "queue", now: datetime | None = None
) -> Table:
    """The queue report (T13) over ``[start, end)``: per queue, per hour of the clock, per hotline
    number (``CallRecord.called``) or per trunk. The total row carries the centre's 接通率 over the
    range; ``params`` say whether every 24 hours of the range met the 95 % target."""
    if by not in ("queue", "hour", "number", "trunk"):
        raise ValueError(f"unknown grouping: {by}")
    settings = centre_settings()
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "by": by,
        "service_level_s": settings.service_level_s,
        "short_abandon_s": settings.short_abandon_s,
        "rolled_until": rollup.rolled_until(),
    }
    rows: list[Row] = []
    if by in ("queue", "hour"):
        figures = queue_figures(start=start, end=end, by="queue" if by == "queue" else "hour", now=now)
        total_stats = QueueStats(queue="")
        for stats in figures.values():
            total_stats.add(stats)
        columns = _queue_columns()
        if by == "queue":
            names = dict(Queue.objects.values_list("code", "name"))
            for code in sorted(figures):
                label = f"{code} {names[code]}" if code in names else code
                rows.append(Row(key=code, label=label, values=_queue_values(figures[code])))
            calls_total = call_figures(start=start, end=end).get("", CallFigures())
            title = gettext_lazy("Queue report")
        else:
            by_hour = call_figures(start=start, end=end, by="hour")
            for hour in _hours_in(start, end):
                values = _queue_values(figures.get(hour) or QueueStats(queue=""))
                values.update(_call_values(by_hour.get(hour, CallFigures())))
                rows.append(Row(key=hour, label=_hour_label(hour), values=values))
            calls_total = _total(by_hour.values())
            title = gettext_lazy("Queue report by hour")
        columns += _call_columns()
        total_values = _queue_values(total_stats)
        total_values.update(_call_values(calls_total))
        total = Row(key="", label=_("All queues"), values=total_values)
    else:
        grouped = call_figures(start=start, end=end, by="called" if by == "number" else "trunk")
        columns = _number_columns()
        names = {}
        if by == "number":
            from hotline.callcenter.models import HotlineNumber

            names = dict(HotlineNumber.objects.values_list("number", "name"))
            title = gettext_lazy("Calls by hotline number")
        else:
            title = gettext_lazy("Calls by trunk")
        for key in sorted(grouped):
            label = (f"{key} {names[key]}" if key in names else key) or _("(none)")
            rows.append(Row(key=key, label=label, values=_number_values(grouped[key])))
        calls_total = _total(grouped.values())
        total = Row(key="", label=_("Total"), values=_number_values(calls_total))
    lowest = lowest_connection_rate_24h(start=start, end=end)
    rate_24h = connection_rate_24h(end=end)
    # a range shorter than a day is judged by the 24 hours that end with it
    worst = lowest[0] if lowest is not None else rate_24h
    params.update(
        connection_rate=calls_total.connection_rate,
        connection_rate_24h=rate_24h,
        lowest_connection_rate_24h=lowest[0] if lowest else None,
        lowest_connection_window_end=lowest[1] if lowest else None,
        connection_target=CONNECTION_TARGET,
        connection_target_met=None if worst is None else worst >= CONNECTION_TARGET,
    )
    columns.append(
        Column(
            "target",
            pgettext_lazy("call report", "Connection rate of 95 percent or more in every 24 hours"),
            "text",
        )
    )
    met = params["connection_target_met"]
    total.values["target"] = None if met is None else (_("met") if met else _("not met"))
    return Table(title=title, columns=columns, rows=rows, total=total, params=params)


# --- Trunk report --------------------------------------------------------------------------------------


@dataclass
class TrunkTotals:
    in_offered: int = 0
    in_failed: int = 0
    out_offered: int = 0
    out_answered: int = 0

    def values(self) -> dict[str, int]:
        in_answered = self.in_offered - self.in_failed
        out_failed = self.out_offered - self.out_answered
        return {
            "in_offered": self.in_offered,
            "in_answered": in_answered,
            "in_failed": self.in_failed,
            "out_offered": self.out_offered,
            "out_answered": self.out_answered,
            "out_failed": out_failed,
            "offered": self.in_offered + self.out_offered,
            "answered": in_answered + self.out_answered,
            "failed": self.in_failed + out_failed,
        }

    def add(self, other: TrunkTotals) -> None:
        self.in_offered += other.in_offered
        self.in_failed += other.in_failed
        self.out_offered += other.out_offered
        self.out_answered += other.out_answered


def trunk_figures(*, start: datetime, end: datetime) -> dict[tuple[str, int], TrunkTotals]:
    """Per (trunk, hour of the clock): inbound calls and outbound legs through the trunk that
    started in ``[start, end)``, counted as ``telephony.recordings.trunk_hours`` counts them."""
    out: dict[tuple[str, int], TrunkTotals] = defaultdict(TrunkTotals)
    pieces = _pieces(start, end)
    if pieces.rolled is not None:
        lo, hi = pieces.rolled
        calls = (
            CallHour.objects.filter(hour__gte=lo, hour__lt=hi, direction=Direction.INBOUND)
            .exclude(trunk="")
            .annotate(clock=ExtractHour("hour", tzinfo=LOCAL_TZ))
            .values("trunk", "clock", "outcome")
            .annotate(n=Sum("calls"))
            .order_by()
        )
        for values in calls:
            totals = out[(values["trunk"], values["clock"])]
            totals.in_offered += values["n"]
            if values["outcome"] in NOT_TAKEN:
                totals.in_failed += values["n"]
        legs = (
            TrunkLegHour.objects.filter(hour__gte=lo, hour__lt=hi)
            .annotate(clock=ExtractHour("hour", tzinfo=LOCAL_TZ))
            .values("trunk", "clock")
            .annotate(offered=Sum("offered"), answered=Sum("answered"))
            .order_by()
        )
        for values in legs:
            totals = out[(values["trunk"], values["clock"])]
            totals.out_offered += values["offered"]
            totals.out_answered += values["answered"]
    for lo, hi in pieces.raw:
        for (hour, _direction, _called, trunk, outcome), figures in rollup.call_hours(
            start=lo, end=hi, direction=Direction.INBOUND
        ).items():
            if trunk:
                totals = out[(trunk, local_hour(hour))]
                totals.in_offered += figures.calls
                if outcome in NOT_TAKEN:
                    totals.in_failed += figures.calls
        for (hour, trunk), (offered, answered) in rollup.leg_hours(start=lo, end=hi).items():
            totals = out[(trunk, local_hour(hour))]
            totals.out_offered += offered
            totals.out_answered += answered
    return dict(out)


def trunk_report(*, start: datetime, end: datetime, by: Literal["trunk", "hour"] = "trunk") -> Table:
    """Per trunk (and with ``by="hour"`` each trunk's hours of the clock under it): inbound calls
    offered, answered (taken by the switch) and failed; outbound legs offered, answered and failed;
    both directions together (docs/telephony.md "Trunk records")."""
    if by not in ("trunk", "hour"):
        raise ValueError(f"unknown grouping: {by}")
    figures = trunk_figures(start=start, end=end)
    per_trunk: dict[str, TrunkTotals] = defaultdict(TrunkTotals)
    for (trunk, _hour), totals in figures.items():
        per_trunk[trunk].add(totals)
    rows: list[Row] = []
    grand = TrunkTotals()
    for trunk in sorted(per_trunk):
        rows.append(Row(key=trunk, label=trunk, values=per_trunk[trunk].values()))
        grand.add(per_trunk[trunk])
        if by == "hour":
            for hour in sorted(h for t, h in figures if t == trunk):
                rows.append(
                    Row(
                        key=f"{trunk}@{hour}",
                        label=_hour_label(hour),
                        values=figures[(trunk, hour)].values(),
                        level=1,
                    )
                )
    columns = [
        Column("in_offered", pgettext_lazy("call report", "Inbound offered"), "int"),
        Column("in_answered", pgettext_lazy("call report", "Inbound answered"), "int"),
        Column("in_failed", pgettext_lazy("call report", "Inbound failed"), "int"),
        Column("out_offered", pgettext_lazy("call report", "Outbound offered"), "int"),
        Column("out_answered", pgettext_lazy("call report", "Outbound answered"), "int"),
        Column("out_failed", pgettext_lazy("call report", "Outbound failed"), "int"),
        Column("offered", pgettext_lazy("call report", "Offered"), "int"),
        Column("answered", pgettext_lazy("call report", "Answered"), "int"),
        Column("failed", pgettext_lazy("call report", "Failed"), "int"),
    ]
    return Table(
        title=gettext_lazy("Trunk report"),
        columns=columns,
        rows=rows,
        total=Row(key="", label=_("All trunks"), values=grand.values()),
        params={"start": start, "end": end, "by": by, "rolled_until": rollup.rolled_until()},
    )


# --- Agent report ----------------------------------------------------------------------------------------

AGENT_SUMS = rollup.AGENT_FIELDS


def agent_figures(*, start: datetime, end: datetime, now: datetime | None = None) -> dict[int, AgentStats]:
    """Per agent over ``[start, end)``: the ``agent_stats`` measures from the roll-ups and the raw
    records; agents with nothing in the range are left out."""
    pieces = _pieces(start, end)
    out: dict[int, AgentStats] = {}

    def add(agent_id: int, stats: AgentStats) -> None:
        if agent_id not in out:
            out[agent_id] = AgentStats(agent_id=agent_id)
        out[agent_id].add(stats)

    if pieces.rolled is not None:
        lo, hi = pieces.rolled
        sums = {name: Sum(name) for name in AGENT_SUMS}
        for values in (
            AgentHour.objects.filter(hour__gte=lo, hour__lt=hi).order_by().values("agent_id").annotate(**sums)
        ):
            stats = AgentStats(agent_id=values["agent_id"])
            for name in AGENT_SUMS:
                setattr(stats, name, values[name] or 0)
            add(values["agent_id"], stats)
        pauses = (
            AgentPauseHour.objects.filter(hour__gte=lo, hour__lt=hi)
            .order_by()
            .values("agent_id", "reason")
            .annotate(seconds=Sum("seconds"))
        )
        for values in pauses:
            stats = AgentStats(
                agent_id=values["agent_id"], pause_by_reason={values["reason"]: values["seconds"]}
            )
            add(values["agent_id"], stats)
    for lo, hi in pieces.raw:
        for stats in agent_stats(start=lo, end=hi, now=now).agents:
            assert stats.agent_id is not None
            add(stats.agent_id, stats)
    return {agent_id: stats for agent_id, stats in out.items() if rollup.agent_active(stats)}


def orders_taken(*, start: datetime, end: datetime) -> dict[int, dict[str, int]]:
    """Work orders created in ``[start, end)`` per creating user and request type code."""
    from hotline.workorders.models import WorkOrder

    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        WorkOrder.objects.filter(created_at__gte=start, created_at__lt=end, created_by__isnull=False)
        .order_by()
        .values("created_by", "request_type__code")
        .annotate(n=Count("id"))
    )
    for values in rows:
        counts[values["created_by"]][values["request_type__code"]] = values["n"]
    return dict(counts)


COMPLAINT, CONSULTATION = "complaint", "consultation"


def agent_report(*, start: datetime, end: datetime, now: datetime | None = None) -> Table:
    """The agent monthly report (R3) over ``[start, end)``: per agent, calls answered, orders taken
    (complaints, consultations, others), service time, unanswered offers, off-hook count, pause time
    (in total and per reason), logged-in time, and the quality score (none until quality checks
    exist)."""
    from hotline.accounts.models import User

    figures = agent_figures(start=start, end=end, now=now)
    taken = orders_taken(start=start, end=end)
    agent_ids = set(AgentProfile.objects.filter(user_id__in=list(taken)).values_list("user_id", flat=True))
    ids = sorted(set(figures) | agent_ids)
    users = {u.pk: u for u in User.objects.filter(pk__in=ids)}
    reasons = sorted({reason for stats in figures.values() for reason in stats.pause_by_reason})
    reason_names = dict(PauseReason.objects.values_list("code", "name"))
    columns = [
        Column("answered", pgettext_lazy("call report", "Calls answered"), "int"),
        Column("offered", pgettext_lazy("call report", "Calls offered"), "int"),
        Column("unanswered_offers", pgettext_lazy("call report", "Unanswered offers"), "int"),
        Column("complaints", pgettext_lazy("call report", "Complaints taken"), "int"),
        Column("consultations", pgettext_lazy("call report", "Consultations taken"), "int"),
        Column("other_orders", pgettext_lazy("call report", "Other orders taken"), "int"),
        Column("orders", pgettext_lazy("call report", "Orders taken"), "int"),
        Column("handle_s", pgettext_lazy("call report", "Service time"), "seconds"),
        Column("aht_s", pgettext_lazy("call report", "Average service time"), "seconds"),
        Column("talk_s", pgettext_lazy("call report", "Talk time"), "seconds"),
        Column("wrap_up_s", pgettext_lazy("call report", "Wrap-up time"), "seconds"),
        Column("off_hook_count", pgettext_lazy("call report", "Off-hook count"), "int"),
        Column("locked_count", pgettext_lazy("call report", "Locks"), "int"),
        Column("pause_s", pgettext_lazy("call report", "Pause time"), "seconds"),
        *(
            Column(f"pause:{reason}", reason_names.get(reason, reason) or gettext_lazy("Pause"), "seconds")
            for reason in reasons
        ),
        Column("logged_in_s", pgettext_lazy("call report", "Logged-in time"), "seconds"),
        Column("ready_s", pgettext_lazy("call report", "Ready time"), "seconds"),
        Column("quality_score", pgettext_lazy("call report", "Quality score"), "score"),
    ]

    def values(stats: AgentStats, orders: dict[str, int]) -> dict[str, Any]:
        handle = stats.handle_talk_s + stats.handle_hold_s + stats.handle_wrap_up_s
        complaints, consultations = orders.get(COMPLAINT, 0), orders.get(CONSULTATION, 0)
        total_orders = sum(orders.values())
        data: dict[str, Any] = {
            "answered": stats.answered,
            "offered": stats.offered,
            "unanswered_offers": stats.unanswered_offers,
            "complaints": complaints,
            "consultations": consultations,
            "other_orders": total_orders - complaints - consultations,
            "orders": total_orders,
            "handle_s": handle,
            "aht_s": stats.aht_s,
            "talk_s": stats.talk_s,
            "wrap_up_s": stats.wrap_up_s,
            "off_hook_count": stats.off_hook_count,
            "locked_count": stats.locked_count,
            "pause_s": stats.pause_s,
            "logged_in_s": stats.logged_in_s,
            "ready_s": stats.ready_s,
            "quality_score": None,  # the quality checks (S2) are not built yet
        }
        for reason in reasons:
            data[f"pause:{reason}"] = stats.pause_by_reason.get(reason, 0.0)
        return data

    rows = []
    total_stats = AgentStats(agent_id=None)
    total_orders: dict[str, int] = defaultdict(int)
    for agent_id in ids:
        stats = figures.get(agent_id) or AgentStats(agent_id=agent_id)
        orders = taken.get(agent_id, {})
        total_stats.add(stats)
        for code, n in orders.items():
            total_orders[code] += n
        user = users.get(agent_id)
        rows.append(
            Row(
                key=agent_id, label=user.display_name if user else str(agent_id), values=values(stats, orders)
            )
        )
    return Table(
        title=gettext_lazy("Agent report"),
        columns=columns,
        rows=rows,
        total=Row(key="", label=_("All agents"), values=values(total_stats, dict(total_orders))),
        params={"start": start, "end": end, "rolled_until": rollup.rolled_until()},
    )


# --- Today's figures for the dashboard ---------------------------------------------------------------


def waiting_now(*, now: datetime) -> int:
    """Calls waiting in a queue at ``now``: visits entered in the last hour with no end by ``now``, of
    calls that had not ended by then (no call record ending before ``now``)."""
    events = (
        QueueEventLog.objects.filter(at__gte=now - WAITING_WINDOW, at__lte=now, kind__in=VISIT_KINDS)
        .exclude(queue="")
        .order_by("at", "id")
        .values_list("kind", "at", "queue", "call_id", "agent_id")
    )
    open_calls = {v.call_id for v in visits_of(events) if v.at is None}
    ended = set(
        CallRecord.objects.filter(call_id__in=list(open_calls), ended_at__lte=now).values_list(
            "call_id", flat=True
        )
    )
    return len(open_calls - ended)


def dashboard_calls(*, now: datetime | None = None) -> dict[str, Any]:
    """Today's call figures (the centre's day up to ``now``): queue visits offered and answered,
    service level, abandons, the calls and their 接通率, the 24-hour 接通率 against the target, callers
    waiting now, and the calls per hour of the day so far."""
    now = now or timezone.now()
    start, _end = local_day(now)
    queues = QueueStats(queue="")
    for stats in queue_figures(start=start, end=now, now=now).values():
        queues.add(stats)
    by_hour = call_figures(start=start, end=now, by="hour")
    calls = _total(by_hour.values())
    # the 24 hours before now: today's calls (above) and yesterday's from this time on, so that
    # today's raw tail is read once
    last_24h = call_figures(start=now - DAY, end=start).get("", CallFigures())
    last_24h.add(calls)
    rate_24h = last_24h.connection_rate
    return {
        "start": start,
        "now": now,
        "offered": queues.offered,
        "answered": queues.answered,
        "abandoned": queues.abandoned,
        "abandoned_short": queues.abandoned_short,
        "service_level": queues.service_level,
        "asa_s": queues.asa_s,
        "calls": calls.calls,
        "calls_answered": calls.answered,
        "connection_rate": calls.connection_rate,
        "connection_rate_24h": rate_24h,
        "connection_target": CONNECTION_TARGET,
        "connection_target_met": None if rate_24h is None else rate_24h >= CONNECTION_TARGET,
        "waiting": waiting_now(now=now),
        "hours": [
            {
                "hour": hour,
                "calls": by_hour.get(hour, CallFigures()).calls,
                "answered": by_hour.get(hour, CallFigures()).answered,
            }
            for hour in range(local_hour(now) + 1)
        ],
    }
