"""Demo history for the reports: the past weeks of the demo city's hotline.

``load_demo`` takes 80 requests in "now"; the reports default to last month and the call reports
to whole days, which would be empty on a fresh demo. ``load_demo_history`` adds what a running
centre would have left behind by ``now``:

- **work orders** over the past ``days`` days (about 30–50 a day, weekdays and office hours
  busier), on the demo city's streets, categories, request types and duty list, with the real
  citizens' messages and replies of ``demo_orders.DATA``. Each order lives its life step by step —
  intake, dispatch, sign, notes, extensions, answer, review, revisit, close; wrong dispatches
  returned and re-dispatched, refused returns, answers sent back, unsatisfied revisits reopened
  into a second round (二次派单), supervision of late orders, cancelled and merged orders — on the
  working-day calendar and the deadline rules (``workorders.deadlines``). The first step that would
  come after ``now`` ends its life, so recent orders are still open in their states, with the
  deadline that runs in that state and the level it has reached. The rows are those the services
  write (``workorders.services``): ``WorkOrder``, one ``OrderEvent`` per step (the deadline scan's
  rows too), ``Assignment``, ``Extension``, ``Revisit``, ``Supervision``, ``OrderLink``, the
  callers' ``Citizen`` profiles, and the days' ``DailySequence`` so that later intakes go on after
  the history's tracking numbers. Staff: the demo agents take the phone requests, the demo
  dispatcher dispatches, reviews and revisits, the demo supervisor supervises; a unit without a
  demo account acts as the unit (no actor, its unit named on the history row).
- **calls** over the past ``min(days, 30)`` days: about 200–400 inbound calls a day to the demo
  hotline numbers, through the demo flows and queues, answered by the demo agents in their shifts
  with pauses, written as the contact centre's recorder writes them (``callcenter.recorder``):
  ``CallRecord``, ``CallLeg``, ``QueueEventLog``, ``AgentStateLog``, and the callback requests of
  abandoned calls. Phone orders of that period are taken at the end of an answered call of the
  agent who took them (``CallOrderLink``).

Then the sealed hours are rolled up (``reports.rollup``). Nothing happens when history exists
(an order received more than a day before ``now``, or any call record); the same seed gives the
same rows. Everything is written with plain multi-row inserts in one transaction.
"""

from __future__ import annotations

import contextlib
import csv
import math
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from django.utils import timezone

from hotline.accounts.models import User
from hotline.audit.models import AuditAction
from hotline.audit.services import audit_row, audit_rows_insert, snapshot
from hotline.callcenter import records as r
from hotline.callcenter.choices import (
    CalendarPeriod,
    CallbackReason,
    CallbackResult,
    CallbackState,
    Direction,
    LegKind,
)
from hotline.callcenter.models import (
    AgentProfile,
    AgentStateLog,
    CallbackRequest,
    CallLeg,
    CallOrderLink,
    CallRecord,
    HotlineNumber,
    PauseReason,
    Queue,
    QueueEventLog,
    QueueMembership,
)
from hotline.callcenter.selectors import centre_settings
from hotline.citizens.models import Citizen
from hotline.core.demo_orders import DATA, _category, _paths, _request_type, _street_category
from hotline.core.localtime import LOCAL_TZ, local_midnight
from hotline.core.rows import insert_values
from hotline.orgs.models import Region, Unit
from hotline.orgs.selectors import duty_resolve
from hotline.taxonomy.models import Category, RequestType
from hotline.workcalendar.choices import DeadlineStep, Urgency
from hotline.workcalendar.engine import work_calendar
from hotline.workcalendar.selectors import add_working_time, deadline_alert_times, deadline_rule_for
from hotline.workorders import deadlines
from hotline.workorders.choices import (
    UNIT_STATES,
    AssignmentRole,
    AssignmentState,
    Channel,
    DeadlineLevel,
    ExtensionState,
    OrderAction,
    OrderState,
    Result,
    RevisitMethod,
    Satisfaction,
    SupervisionKind,
)
from hotline.workorders.models import (
    Assignment,
    DailySequence,
    Extension,
    OrderEvent,
    OrderLink,
    Revisit,
    Supervision,
    WorkOrder,
)

HOUR = 3600.0
MINUTE = 60.0
CALL_DAYS = 30  # calls are kept for at most this many days back
BATCH = 500  # rows per ``bulk_create`` statement
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# --- Work orders: volumes, shares and texts -------------------------------------------------------

ORDERS_PER_DAY = 40.0  # a working day's mean; weekends and holidays have fewer
WEEKDAY_FACTOR = [1.15, 1.05, 1.0, 1.0, 0.95, 0.6, 0.55]  # Monday … Sunday
# Local hours 0–23: intake and calls by hour of the day (the office hours peak).
HOUR_PROFILE = [0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.5, 1.5, 4.5, 8.5, 9.5, 8.5, 5.5, 5.0, 8.0, 8.5, 7.5, 5.0,
                3.0, 2.2, 1.5, 1.0, 0.7, 0.5]  # fmt: skip
CHANNELS = [
    (Channel.PHONE, 0.66),
    (Channel.WEB, 0.12),
    (Channel.WECHAT, 0.12),
    (Channel.APP, 0.07),
    (Channel.EMAIL, 0.03),
]
PORTAL_CHANNELS = frozenset({Channel.WEB, Channel.WECHAT, Channel.APP})
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = [
    *"伟芳娜敏静磊洋艳勇军杰娟涛明超",
    "秀英",
    "桂英",
    "建华",
    "志强",
    "海燕",
    "丽华",
    "晓东",
    "玉兰",
    "春梅",
]
ROADS = ["人民路", "解放路", "中山路", "建设路", "和平路", "文化路", "滨江大道", "新华路", "学院路", "花园路"]
MOBILE_PREFIXES = [
    f"1{p}"
    for p in ("30", "31", "32", "35", "36", "37", "39", "50", "51", "58", "59", "77", "80", "86", "89")
]

RETURN_REASON = "经核实，该诉求不属于本单位职责范围，请中心改派。"
RETURN_REFUSED = "经审核，该事项属于贵单位职责范围，请继续办理。"
RETURN_ACCEPTED = "退单理由成立，已改派相关单位办理。"
NOTES = [
    "已安排工作人员现场核查。",
    "已联系市民了解详细情况。",
    "已协调相关部门共同处理。",
    "正在办理中，预计近期办结。",
]
EXTENSION_REASONS = [
    "需协调多个部门联合处置，申请延期。",
    "涉及资金审批流程，需要更多时间。",
    "需等待第三方检测结果。",
]
REVIEW_REJECT = "答复内容未回应市民诉求要点，请补充办理情况后重新答复。"
REVISIT_COMMENTS: dict[str, str] = {
    Satisfaction.SATISFIED: "市民对办理结果表示满意。",
    Satisfaction.BASICALLY: "问题基本解决，市民表示认可。",
    Satisfaction.UNSATISFIED: "市民反映问题仍未解决，对答复不满意。",
}
CLOSE_WITHOUT_REVISIT = "市民表示无需回访，予以办结。"
CANCEL_REASONS = ["重复受理，予以撤销。", "市民来电撤回诉求。", "测试工单，予以撤销。"]
MERGE_REASON = "同一事项重复反映，并入主工单办理。"
SUPERVISE_MESSAGE = "该工单已超期，请抓紧办理并于规定时限内答复。"
DIRECT_ANSWER_LIMIT = 1500

# --- Calls ----------------------------------------------------------------------------------------

CALLS_PER_DAY = 280.0  # a working day's mean
DAY_SELF_SERVICE = 0.1  # callers of the main flow who end in the IVR (order status, hung up)
NIGHT_SELF_SERVICE = 0.85
ENTERPRISE_SHARE = 0.07
TRUNK = "LOCAL"  # the demo trunk (``callcenter.demo.seed_telephony``)
# Each demo agent's shift (local hours) and pauses (hours into the shift, minutes, reason code).
SHIFTS: dict[str, tuple[float, float]] = {
    "agent_li": (8.0, 17.0),
    "agent_zhang": (10.0, 19.0),
    "supervisor_chen": (8.5, 17.5),
}
PAUSES = [(4.0, 40, "meal"), (6.0, 12, "rest"), (7.6, 10, "rest")]  # away from the morning peak
TRAINING = (5.0, 45, "training")  # one agent a week
TALK_MEDIAN_S = 110.0
RING_S = (2.0, 6.0)  # an agent picks up after this long
NO_ANSWER_SHARE = 0.015
HOLD_SHARE = 0.08
TRANSFER_SHARE = 0.04
SHORT_HANGUP_SHARE = 0.03  # callers who hang up within a few seconds of entering a queue
PATIENCE_MEAN_S = 130.0

# The tables the history fills (analysed after it on PostgreSQL).
HISTORY_MODELS: tuple[type[models.Model], ...] = (
    WorkOrder, OrderEvent, Assignment, Extension, Revisit, Supervision, Citizen,
    CallRecord, CallLeg, QueueEventLog, AgentStateLog, CallbackRequest, CallOrderLink,
)  # fmt: skip


@dataclass
class Counts:
    """What was written, by kind (the result of ``load_demo_history``)."""

    values: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, kind: str, n: int = 1) -> None:
        self.values[kind] += n


def history_exists(*, now: datetime) -> bool:
    """History is there: an order received more than a day before ``now``, or any call record."""
    return (
        WorkOrder.objects.filter(created_at__lt=now - timedelta(days=1)).exists()
        or CallRecord.objects.exists()
    )


@transaction.atomic
def load_demo_history(*, now: datetime | None = None, days: int = 75, seed: int = 12345) -> dict[str, int]:
    """Write the demo city's past ``days`` days of work orders and ``min(days, 30)`` days of calls
    up to ``now``, then roll up the sealed hours. Does nothing when history exists
    (``history_exists``). Returns the rows written, by kind."""
    from hotline.reports.rollup import rolled_until, rollup_rebuild, rollup_sealed

    now = now or timezone.now()
    kinds = ("unit_staff", "citizens", "orders", "order_events", "assignments", "extensions", "revisits",
             "calls", "call_legs", "queue_events", "agent_states", "rolled_up_hours")  # fmt: skip
    counts = Counts()
    for kind in kinds:
        counts.add(kind, 0)
    if days < 1 or history_exists(now=now):
        return dict(counts.values)
    world = World.load()
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    calls = CallHistory(world, now=now, days=min(days, CALL_DAYS), rng=random.Random(rng.random()))  # noqa: S311
    calls.run()
    orders = OrderHistory(world, now=now, days=days, rng=random.Random(rng.random()), calls=calls)  # noqa: S311
    orders.run()
    orders.write(counts)
    calls.write(counts)
    if connection.vendor == "postgresql":
        # thousands of rows at once: give the planner their statistics now rather than at the next
        # autovacuum (without them it joins a month's revisits to its orders in nested loops)
        with connection.cursor() as cursor:
            for model in HISTORY_MODELS:
                cursor.execute(f"ANALYZE {model._meta.db_table}")
    if calls.first is not None:
        until = rolled_until()
        if until is not None and calls.first < until:  # hours rolled up before these records came
            counts.add("rolled_up_hours", rollup_rebuild(start=calls.first, end=until, now=now))
        counts.add("rolled_up_hours", rollup_sealed(now=now))
    return dict(counts.values)


# ==================================================================================================
# The demo city as the histories need it
# ==================================================================================================


@dataclass
class Agent:
    """A demo agent: the user, the seat's extension and the queues they serve."""

    user_id: int
    username: str
    extension: str
    queues: set[str]


@dataclass
class World:
    centre: Unit
    dispatcher: User
    supervisor: User | None
    staff: dict[int, User]  # unit id → a person who acts for the unit
    agents: list[Agent]
    streets: list[Region]
    paths: dict[tuple[str, ...], Category]
    types: dict[str, RequestType]
    rows: list[dict[str, str]]
    queues: dict[str, Queue]
    numbers: list[str]
    short_abandon_s: float
    pause_reasons: set[str]
    _duty: dict[tuple[int, int], Unit | None] = field(default_factory=dict)

    @classmethod
    def load(cls) -> World:
        staff: dict[int, User] = {}
        for user in User.objects.filter(is_active=True, role__in=["handler", "unit_manager"]).order_by(
            "role", "username"
        ):
            if user.unit_id is not None:
                staff.setdefault(user.unit_id, user)
        agents = []
        profiles = AgentProfile.objects.select_related("user", "default_seat").order_by("user__username")
        memberships: dict[int, set[str]] = defaultdict(set)
        for agent_id, code in QueueMembership.objects.values_list("agent_id", "queue__code"):
            memberships[agent_id].add(code)
        for profile in profiles:
            seat = profile.default_seat
            agents.append(
                Agent(
                    user_id=profile.user_id,
                    username=profile.user.username,
                    extension=seat.extension if seat is not None else str(profile.user_id),
                    queues=memberships[profile.user_id],
                )
            )
        with DATA.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        numbers = list(
            HotlineNumber.objects.filter(active=True).order_by("number").values_list("number", flat=True)
        )
        return cls(
            centre=Unit.objects.get(kind="centre", code="CENTRE"),
            dispatcher=User.objects.get(username="dispatcher_zhou"),
            supervisor=User.objects.filter(username="supervisor_chen").first(),
            staff=staff,
            agents=agents,
            streets=list(
                Region.objects.filter(level="street", active=True).select_related("parent").order_by("code")
            ),
            paths=_paths(),
            types={t.name: t for t in RequestType.objects.filter(active=True)},
            rows=rows,
            queues={q.code: q for q in Queue.objects.filter(active=True)},
            numbers=numbers,
            short_abandon_s=float(centre_settings().short_abandon_s),
            pause_reasons=set(PauseReason.objects.values_list("code", flat=True)),
        )

    def duty(self, category: Category, region: Region) -> Unit | None:
        key = (category.pk, region.pk)
        if key not in self._duty:
            entry = duty_resolve(category=category, region=region)
            self._duty[key] = entry.unit if entry is not None else None
        return self._duty[key]


def _local(at: datetime) -> datetime:
    return at.astimezone(LOCAL_TZ)


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([item for item, _w in weighted], weights=[w for _i, w in weighted])[0]


def _in_day(rng: random.Random, day: date) -> datetime:
    """A moment of the local ``day`` by the hour profile, in UTC."""
    hour = rng.choices(range(24), weights=HOUR_PROFILE)[0]
    moment = local_midnight(day) + timedelta(hours=hour, seconds=rng.random() * HOUR)
    return moment.astimezone(UTC)


def _period(at: datetime) -> str:
    """The IVR's time condition (``callcenter.directory.Directory.calendar_period``)."""
    calendar = work_calendar()
    local = _local(at)
    if not calendar.is_working_day(local.date()):
        return CalendarPeriod.HOLIDAY
    periods = calendar.periods()
    offset = local.replace(tzinfo=None) - datetime.combine(local.date(), time.min)
    return (
        CalendarPeriod.DAY if periods and periods[0][0] <= offset < periods[-1][1] else CalendarPeriod.NIGHT
    )


def _day_factor(day: date) -> float:
    factor = WEEKDAY_FACTOR[day.weekday()]
    working = work_calendar().is_working_day(day)
    if not working and day.weekday() < 5:
        factor *= 0.5  # a public holiday
    if working and day.weekday() >= 5:
        factor = 0.95  # a make-up working day (调休)
    return factor


# ==================================================================================================
# Work orders
# ==================================================================================================


class _Rules:
    """The deadline of a step for an order, as ``workorders.deadlines`` computes it, with the
    rule lookups remembered (a few hundred combinations, thousands of steps)."""

    def __init__(self) -> None:
        self._rules: dict[tuple[Any, ...], tuple[int, str] | None] = {}

    def rule(self, step: str, order: WorkOrder) -> tuple[int, str] | None:
        key = (step, order.request_type_id, order.category_id, order.urgency, order.complex_case)
        if key not in self._rules:
            rule = deadline_rule_for(
                step=step,
                request_type=order.request_type,
                category=order.category,
                urgency=order.urgency,
                complex_case=order.complex_case,
            )
            self._rules[key] = (rule.amount, rule.measure) if rule is not None else None
        return self._rules[key]

    def for_step(self, step: str, start: datetime, order: WorkOrder) -> deadlines.Deadline | None:
        rule = self.rule(step, order)
        if rule is None:
            return None
        due = add_working_time(start=start, amount=rule[0], measure=rule[1])
        return self.build(start, due, rule[1])

    def existing(
        self, started: datetime | None, due: datetime | None, order: WorkOrder
    ) -> deadlines.Deadline | None:
        if started is None or due is None:
            return None
        rule = self.rule(DeadlineStep.ANSWER, order)
        return self.build(started, due, rule[1] if rule else "working_days")

    @staticmethod
    def build(start: datetime, due: datetime, measure: str) -> deadlines.Deadline:
        times = deadline_alert_times(start=start, deadline=due, measure=measure)
        return deadlines.Deadline(
            started_at=start, due_at=due, warn_at=times.warning_at, urgent_at=times.critical_at
        )


class _Stop(Exception):
    """The next step of an order would come after ``now``: its life ends here."""


RUNNING = frozenset(
    {OrderState.PENDING_SIGN, OrderState.HANDLING, OrderState.PENDING_REVIEW, OrderState.PENDING_REVISIT}
)
LEVELS = (
    (DeadlineLevel.WARNING, "warn_at"),
    (DeadlineLevel.URGENT, "urgent_at"),
    (DeadlineLevel.OVERDUE, "due_at"),
)


@dataclass
class _Life:
    """An order while its history is written: the unsaved order, its rows, and the running clock."""

    order: WorkOrder
    row: dict[str, str]
    events: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    revisits: list[Revisit] = field(default_factory=list)
    supervisions: list[Supervision] = field(default_factory=list)
    state_since: datetime | None = None  # when the order entered its state
    deadline: deadlines.Deadline | None = None  # the running deadline
    merged_into: _Life | None = None
    call_id: str = ""

    def state_at(self, at: datetime) -> str:
        state = ""
        for event in self.events:
            if event["at"] <= at and event["to_state"]:
                state = event["to_state"]
        return state


class OrderHistory:
    """Work orders over ``days`` local days up to ``now``; see the module's docstring."""

    def __init__(
        self, world: World, *, now: datetime, days: int, rng: random.Random, calls: CallHistory
    ) -> None:
        self.world = world
        self.now = now
        self.days = days
        self.rng = rng
        self.calls = calls
        self.rules = _Rules()
        self.calendar = work_calendar()
        self.lives: list[_Life] = []
        self.citizens: dict[str, Citizen] = {}
        self.phones: list[str] = []
        self.recent: dict[int, list[_Life]] = defaultdict(list)  # category id → orders (for merges)
        self.sequence: dict[date, int] = {}
        self.links: list[tuple[_Life, _Life]] = []
        self.new_staff: list[User] = []
        self.units = {u.pk: u for u in Unit.objects.filter(active=True).exclude(kind="centre")}
        self.departments = [u for u in self.units.values() if u.kind == "city_department"]

    # --- the days -------------------------------------------------------------------------------

    def run(self) -> None:
        today = _local(self.now).date()
        first = today - timedelta(days=self.days - 1)
        taken = set(DailySequence.objects.filter(day__gte=first, day__lte=today).values_list("day", "last"))
        self.sequence = dict(taken)
        for i in range(self.days):
            day = first + timedelta(days=i)
            mean = ORDERS_PER_DAY * _day_factor(day)
            count = max(0, round(self.rng.gauss(mean, mean * 0.12)))
            moments = sorted(_in_day(self.rng, day) for _ in range(count))
            answered = self.calls.answered_on(day)
            for at in moments:
                if at >= self.now - timedelta(minutes=5):
                    continue
                self._one(at, answered)

    def _number(self, at: datetime) -> str:
        day = _local(at).date()
        self.sequence[day] = self.sequence.get(day, 0) + 1
        return f"{day:%Y%m%d}{self.sequence[day]:05d}"

    def _citizen(self, at: datetime, region: Region, address: str) -> Citizen:
        rng = self.rng
        if self.phones and rng.random() < 0.15:  # a citizen who has called before
            return self.citizens[self.phones[rng.randrange(len(self.phones))]]
        while True:
            phone = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if phone not in self.citizens:
                break
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        citizen = Citizen(
            name=name, phone=phone, address=address, region=region, created_at=at, updated_at=at
        )
        self.citizens[phone] = citizen
        self.phones.append(phone)
        return citizen

    # --- one order --------------------------------------------------------------------------------

    def _one(self, at: datetime, answered: list[CallHistory.Answered]) -> None:
        rng, world = self.rng, self.world
        row = world.rows[rng.randrange(len(world.rows))]
        title = row["title"][:200]
        category = _street_category(title, world.paths)
        street = world.streets[rng.randrange(len(world.streets))]
        if category is None:
            category = _category(title, world.paths)
        kind = _request_type(title)
        roll = rng.random()
        if kind == "投诉" and roll < 0.12:
            kind = "举报" if roll < 0.05 else "求助"
        elif kind == "建议" and roll < 0.1:
            kind = "表扬"
        request_type = world.types.get(kind) or next(iter(world.types.values()))
        channel = _pick(rng, CHANNELS)
        actor: User | None = None
        call_id = ""
        if channel == Channel.PHONE and answered:
            call = answered.pop(rng.randrange(len(answered)))
            at, actor, call_id = call.ended_at, self._agent_user(call.agent_id), call.call_id
        elif channel not in PORTAL_CHANNELS:
            actor = (
                self._agent_user(world.agents[rng.randrange(len(world.agents))].user_id)
                if world.agents
                else None
            )
        address = f"{street.name}{rng.choice(ROADS)}{rng.randint(1, 300)}号"
        citizen = self._citizen(at, street, address)
        u = rng.random()
        urgency = Urgency.EMERGENCY if u < 0.01 else Urgency.URGENT if u < 0.05 else Urgency.NORMAL
        order = WorkOrder(
            number=self._number(at),
            state=OrderState.PENDING_DISPATCH,
            round=1,
            channel=channel,
            request_type=request_type,
            category=category,
            urgency=urgency,
            complex_case=rng.random() < 0.05,
            title=title,
            content=row["body"].strip() or title,
            citizen=citizen,
            citizen_name=citizen.name,
            citizen_phone=citizen.phone,
            anonymous=rng.random() < 0.03,
            address=f"{street.parent.name if street.parent else ''}{address}",
            region=street,
            created_by=actor,
            created_at=at,
            updated_at=at,
        )
        life = _Life(order=order, row=row, call_id=call_id)
        self.lives.append(life)
        portal = channel in PORTAL_CHANNELS
        self._event(
            life,
            OrderAction.INTAKE,
            at,
            actor=actor,
            unit=world.centre if actor else None,
            frm="",
            to=OrderState.PENDING_DISPATCH,
            data={"portal": True} if portal else {},
        )
        with contextlib.suppress(_Stop):
            self._live(life, at, street)
        self._finish(life)
        if category is not None and life.order.state != OrderState.MERGED:
            self.recent[category.pk].append(life)

    def _agent_user(self, user_id: int) -> User:
        if not hasattr(self, "_users"):
            self._users = {
                u.pk: u for u in User.objects.filter(pk__in=[a.user_id for a in self.world.agents])
            }
        return self._users[user_id]

    def _after(self, at: datetime, lo_h: float, hi_h: float) -> datetime:
        """A moment ``lo_h``–``hi_h`` working hours after ``at`` (steps people take at work)."""
        seconds = self.rng.uniform(lo_h, hi_h) * HOUR
        return self.calendar.add_working_time(at, timedelta(seconds=seconds))

    def _after_log(self, at: datetime, median_h: float, sigma: float, cap_h: float) -> datetime:
        seconds = min(self.rng.lognormvariate(math.log(median_h), sigma), cap_h) * HOUR
        return self.calendar.add_working_time(at, timedelta(seconds=seconds))

    def _check(self, at: datetime) -> None:
        if at > self.now:
            raise _Stop

    def _event(
        self,
        life: _Life,
        action: str,
        at: datetime,
        *,
        actor: User | None,
        unit: Unit | None,
        frm: str | None = None,
        to: str | None = None,
        reason: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        """One history row; ``to`` moves the order (the clock of its old state is settled first)."""
        self._check(at)
        order = life.order
        before = order.state if frm is None else frm
        if to is not None and to != order.state:
            self._settle(life, at)
        life.events.append(
            {
                "order": life,
                "at": at,
                "actor": actor,
                "actor_unit": unit,
                "action": action,
                "from_state": before,
                "to_state": to or before,
                "round": order.round,
                "reason": reason,
                "data": data or {},
            }
        )
        if to is not None:
            if to != order.state:
                life.state_since = at
            order.state = to
        order.updated_at = at

    def _settle(self, life: _Life, until: datetime) -> None:
        """The deadline scan's rows for the thresholds the running deadline passed in its state
        before ``until``: the scan raises the level (and marks the order overdue) within a minute."""
        order, deadline = life.order, life.deadline
        if deadline is None or order.state not in RUNNING or life.state_since is None:
            return
        for level, name in LEVELS:
            moment = getattr(deadline, name)
            if level <= order.deadline_level or moment < life.state_since:
                continue
            scanned = moment + timedelta(seconds=self.rng.uniform(1, 59))
            if scanned >= until or scanned > self.now:
                continue
            order.deadline_level = level
            if level == DeadlineLevel.OVERDUE:
                order.was_overdue = True
                if order.state in UNIT_STATES:
                    order.unit_overdue = True
            life.events.append(
                {
                    "order": life,
                    "at": scanned,
                    "actor": None,
                    "actor_unit": None,
                    "action": OrderAction.DEADLINE,
                    "from_state": order.state,
                    "to_state": order.state,
                    "round": order.round,
                    "reason": "",
                    "data": {"level": int(level)},
                }
            )

    def _run_deadline(self, life: _Life, deadline: deadlines.Deadline | None, at: datetime) -> None:
        """``services._set_deadline``: the deadline that runs from ``at`` and the level it has reached."""
        order = life.order
        life.deadline = deadline
        order.due_at = deadline.due_at if deadline else None
        order.due_started_at = deadline.started_at if deadline else None
        order.warn_at = deadline.warn_at if deadline else None
        order.urgent_at = deadline.urgent_at if deadline else None
        order.deadline_level = deadline.level_at(at) if deadline else DeadlineLevel.ON_TIME
        order.clock_paused_at = None
        life.state_since = at

    def _unit_actor(self, unit: Unit) -> User:
        """The person who acts for ``unit``: its demo account, or a handler account made for it."""
        person = self.world.staff.get(unit.pk)
        if person is None:
            person = User(
                username=f"handler_{unit.code.lower().replace('-', '_')}",
                role="handler",
                unit=unit,
                full_name=self.rng.choice(SURNAMES) + self.rng.choice(GIVEN),
                password=make_password(None),
            )
            self.world.staff[unit.pk] = person
            self.new_staff.append(person)
        return person

    def _live(self, life: _Life, at: datetime, street: Region) -> None:
        rng, world, order = self.rng, self.world, life.order
        dispatcher, centre = world.dispatcher, world.centre
        roll = rng.random()
        if order.channel == Channel.PHONE and order.created_by is not None and roll < 0.09:  # 直接办结
            answer = life.row["reply"].strip()[:DIRECT_ANSWER_LIMIT] or "已向市民解释说明。"
            done = at + timedelta(seconds=rng.uniform(1, 4))
            self._event(
                life,
                OrderAction.DIRECT_CLOSE,
                done,
                actor=order.created_by,
                unit=centre,
                to=OrderState.CLOSED,
                data={"answer": answer},
            )
            order.result, order.answer, order.answered_at = Result.EXPLAINED, answer, done
            order.closed_at, order.closed_directly = done, True
            return
        if roll < 0.115:
            self._event(
                life,
                OrderAction.CANCEL,
                self._after(at, 0.1, 2),
                actor=dispatcher,
                unit=centre,
                to=OrderState.CANCELLED,
                reason=rng.choice(CANCEL_REASONS),
            )
            return
        if roll < 0.13 and self._merge(life, self._after(at, 0.1, 3)):
            return
        lead = world.duty(order.category, street) if order.category is not None else None
        if lead is None:
            lead = rng.choice(self.departments)
        t = self._after(at, 0.05, 2.5)
        while True:
            t = self._round(life, lead, t)
            if order.state != OrderState.PENDING_DISPATCH:
                return
            # reopened after an unsatisfied revisit (二次派单): to the same unit, or to its superior
            if lead.parent_id and lead.parent_id in self.units and rng.random() < 0.3:
                lead = self.units[lead.parent_id]
            t = self._after(t, 0.2, 4)

    def _merge(self, life: _Life, at: datetime) -> bool:
        """并单: into an earlier order about the same category from the last three days."""
        order = life.order
        if order.category_id is None or at > self.now:
            return False
        candidates = [
            other for other in self.recent.get(order.category_id, [])[-20:]
            if other.order.created_at > order.created_at - timedelta(days=3)
            and other.state_at(at) not in ("", OrderState.CANCELLED, OrderState.MERGED)
        ]  # fmt: skip
        if not candidates:
            return False
        into = candidates[-1]
        self._event(
            life,
            OrderAction.MERGE,
            at,
            actor=self.world.dispatcher,
            unit=self.world.centre,
            to=OrderState.MERGED,
            reason=MERGE_REASON,
            data={"into": into.order.number},
        )
        state = into.state_at(at)
        into.events.append(
            {
                "order": into,
                "at": at,
                "actor": self.world.dispatcher,
                "actor_unit": self.world.centre,
                "action": OrderAction.MERGED_IN,
                "from_state": state,
                "to_state": state,
                "round": into.order.round,
                "reason": MERGE_REASON,
                "data": {"order": order.number},
            }
        )
        if into.order.updated_at < at:
            into.order.updated_at = at
        life.merged_into = into
        self.links.append((life, into))
        return True

    def _assign(
        self, life: _Life, unit: Unit, role: str, at: datetime, sign_due: datetime | None
    ) -> Assignment:
        assignment = Assignment(
            order=life.order,
            unit=unit,
            role=role,
            state=AssignmentState.PENDING_SIGN,
            round=life.order.round,
            dispatched_at=at,
            dispatched_by=self.world.dispatcher,
            sign_due_at=sign_due,
        )
        life.assignments.append(assignment)
        return assignment

    def _dispatch(
        self,
        life: _Life,
        lead: Unit,
        at: datetime,
        action: str,
        assist: Sequence[Unit] = (),
        data: dict[str, Any] | None = None,
        reason: str = "",
    ) -> Assignment:
        """``services._assign`` and the move: dispatch, or a re-dispatch after an accepted return."""
        order = life.order
        self._check(at)
        sign = self.rules.for_step(DeadlineStep.SIGN, at, order)
        answer = self.rules.for_step(DeadlineStep.ANSWER, at, order)
        self._event(
            life,
            action,
            at,
            actor=self.world.dispatcher,
            unit=self.world.centre,
            to=OrderState.PENDING_SIGN,
            reason=reason,
            data=data if data is not None else {"lead": lead.code, "assist": [u.code for u in assist]},
        )
        lead_assignment = self._assign(life, lead, AssignmentRole.LEAD, at, sign.due_at if sign else None)
        for unit in assist:
            self._assign(life, unit, AssignmentRole.ASSIST, at, sign.due_at if sign else None)
        order.lead_unit, order.dispatched_at = lead, at
        order.answer_due_at = answer.due_at if answer else None
        self._run_deadline(life, sign, at)
        return lead_assignment

    def _withdraw(self, life: _Life, at: datetime, state: str) -> list[Unit]:
        units = []
        for assignment in life.assignments:
            if assignment.state in (AssignmentState.PENDING_SIGN, AssignmentState.SIGNED):
                assignment.state, assignment.closed_at = state, at
                units.append(assignment.unit)
                if state == AssignmentState.RETURNED and assignment.role == AssignmentRole.LEAD:
                    life.order.returned = True
        return units

    def _return(self, life: _Life, unit: Unit, at: datetime) -> None:
        self._event(
            life,
            OrderAction.RETURN,
            at,
            actor=self._unit_actor(unit),
            unit=unit,
            to=OrderState.RETURN_REQUESTED,
            reason=RETURN_REASON,
            data={"returned_from": life.order.state},
        )
        life.order.clock_paused_at = at

    def _other_unit(self, lead: Unit) -> Unit:
        others = [u for u in self.departments if u.pk != lead.pk]
        return self.rng.choice(others)

    def _round(self, life: _Life, lead: Unit, t: datetime) -> datetime:
        """One round: dispatch … revisit. Returns the time of its last step."""
        rng, world, order = self.rng, self.world, life.order
        dispatcher, centre = world.dispatcher, world.centre
        assist: list[Unit] = []
        if rng.random() < 0.08:
            assist = [self._other_unit(lead)]
        if order.round == 1 and rng.random() < 0.05:  # sent to the wrong unit first, which returns it
            wrong = self._other_unit(lead)
            self._dispatch(life, wrong, t, OrderAction.DISPATCH)
            returned = self._after(t, 0.2, 1.5)
            self._return(life, wrong, returned)
            t = self._after(returned, 0.3, 4)
            old = self._withdraw(life, t, AssignmentState.RETURNED)
            if rng.random() < 0.8:  # 改派 at once
                data = {"from": [u.code for u in old], "lead": lead.code}
                assignment = self._dispatch(
                    life, lead, t, OrderAction.RETURN_ACCEPT, assist, data, RETURN_ACCEPTED
                )
            else:  # back to the dispatch queue
                self._event(
                    life,
                    OrderAction.RETURN_ACCEPT,
                    t,
                    actor=dispatcher,
                    unit=centre,
                    to=OrderState.PENDING_DISPATCH,
                    data={"from": [u.code for u in old]},
                )
                order.lead_unit, order.answer_due_at = None, None
                self._run_deadline(life, None, t)
                t = self._after(t, 0.2, 3)
                assignment = self._dispatch(life, lead, t, OrderAction.DISPATCH, assist)
        else:
            assignment = self._dispatch(life, lead, t, OrderAction.DISPATCH, assist)
        actor = self._unit_actor(lead)
        sign_due = assignment.sign_due_at or t
        if rng.random() < 0.03:  # the unit tries to return it from pending_sign; refused
            self._refused_return(life, lead, self._after(t, 0.1, 1), assignment)
            sign_due = assignment.sign_due_at or sign_due
        signed = self._after(t, 0.05, 1.6) if rng.random() < 0.92 else self._after(sign_due, 0.2, 6)
        if order.state == OrderState.PENDING_SIGN and signed < (life.state_since or t):
            signed = self._after(life.state_since or t, 0.05, 1)
        self._event(life, OrderAction.SIGN, signed, actor=actor, unit=lead, to=OrderState.HANDLING)
        assignment.state, assignment.signed_at, assignment.signed_by = AssignmentState.SIGNED, signed, actor
        for other in life.assignments:
            if (
                other.role == AssignmentRole.ASSIST
                and other.state == AssignmentState.PENDING_SIGN
                and other.round == order.round
            ):
                other.state, other.signed_at = AssignmentState.SIGNED, signed
        self._run_deadline(life, self.rules.existing(order.dispatched_at, order.answer_due_at, order), signed)
        answered = self._after_log(signed, 9.0, 0.95, 150.0)
        if order.urgency == Urgency.EMERGENCY:
            answered = signed + timedelta(minutes=rng.uniform(20, 150))
        if rng.random() < 0.02:  # the unit tries to return it while handling; refused
            self._refused_return(
                life, lead, signed + (answered - signed) * rng.uniform(0.05, 0.2), assignment
            )
        if rng.random() < 0.35:
            noted = max(
                signed + (answered - signed) * rng.uniform(0.1, 0.6), _last_at(life) + timedelta(minutes=5)
            )
            if noted < answered:
                self._event(life, OrderAction.NOTE, noted, actor=actor, unit=lead, reason=rng.choice(NOTES))
        answered = self._extension(life, lead, signed, answered)
        answered = self._supervise(life, answered)
        answered = self._answer(life, lead, max(answered, _last_at(life) + timedelta(minutes=10)), assignment)
        reviewed = self._after(answered, 0.2, 5)
        if rng.random() < 0.04:  # the answer goes back to the unit once
            self._event(
                life,
                OrderAction.REVIEW_REJECT,
                reviewed,
                actor=dispatcher,
                unit=centre,
                to=OrderState.HANDLING,
                reason=REVIEW_REJECT,
            )
            assignment.state = AssignmentState.SIGNED
            self._run_deadline(
                life, self.rules.existing(order.dispatched_at, order.answer_due_at, order), reviewed
            )
            again = self._answer(life, lead, self._after(reviewed, 1, 12), assignment)
            reviewed = self._after(again, 0.2, 5)
        self._event(
            life,
            OrderAction.REVIEW_ACCEPT,
            reviewed,
            actor=dispatcher,
            unit=centre,
            to=OrderState.PENDING_REVISIT,
        )
        self._run_deadline(life, self.rules.for_step(DeadlineStep.REVISIT, reviewed, order), reviewed)
        visited = self._after(reviewed, 0.5, 18)
        if rng.random() < 0.03:
            self._event(
                life,
                OrderAction.CLOSE,
                visited,
                actor=dispatcher,
                unit=centre,
                to=OrderState.CLOSED,
                reason=CLOSE_WITHOUT_REVISIT,
            )
            order.closed_at = visited
            self._run_deadline(life, None, visited)
            return visited
        self._revisit(life, visited)
        return visited

    def _refused_return(self, life: _Life, unit: Unit, at: datetime, assignment: Assignment) -> None:
        """退单 refused: back to the unit in the state it returned from, its deadlines moved on by the
        working time the arbitration took (``services.order_return_decide``)."""
        order = life.order
        back_to = order.state
        self._return(life, unit, at)
        decided = self._after(at, 0.3, 4)
        self._check(decided)
        shifted = deadlines.shift_for_pause(order=order, paused_from=at, paused_to=decided)
        order.answer_due_at = deadlines.shift_due(order.answer_due_at, paused_from=at, paused_to=decided)
        self._event(
            life,
            OrderAction.RETURN_REFUSE,
            decided,
            actor=self.world.dispatcher,
            unit=self.world.centre,
            to=back_to,
            reason=RETURN_REFUSED,
        )
        self._run_deadline(life, shifted, decided)
        if assignment.signed_at is None and assignment.sign_due_at is not None:
            assignment.sign_due_at = deadlines.shift_due(
                assignment.sign_due_at, paused_from=at, paused_to=decided
            )

    def _extension(self, life: _Life, unit: Unit, signed: datetime, answered: datetime) -> datetime:
        """延期: asked for while handling; most are approved (the answer deadline moves on)."""
        rng, order = self.rng, life.order
        due = order.answer_due_at
        if due is None or rng.random() > (0.35 if answered > due else 0.03):
            return answered
        asked = min(signed + (answered - signed) * rng.uniform(0.3, 0.7), due - timedelta(minutes=30))
        asked = max(asked, _last_at(life) + timedelta(minutes=10))
        working_days = rng.choice([3, 5, 5, 7, 10])
        actor = self._unit_actor(unit)
        extension = Extension(
            order=order,
            unit=unit,
            working_days=working_days,
            reason=rng.choice(EXTENSION_REASONS),
            requested_by=actor,
            requested_at=asked,
        )
        self._event(
            life,
            OrderAction.EXTENSION_REQUEST,
            asked,
            actor=actor,
            unit=unit,
            reason=extension.reason,
            data={"working_days": working_days, "extension": extension},
        )
        life.extensions.append(extension)
        decided = self._after(asked, 0.3, 6)
        self._check(decided)
        approve = rng.random() < 0.8
        extension.state = ExtensionState.APPROVED if approve else ExtensionState.REFUSED
        extension.decided_by, extension.decided_at = self.world.dispatcher, decided
        data: dict[str, Any] = {"extension": extension, "working_days": working_days}
        if approve:
            new_due = deadlines.extend(due_at=due, working_days=working_days)
            extension.old_due_at, extension.new_due_at = due, new_due
            data.update(old_due_at=due.isoformat(), new_due_at=new_due.isoformat())
            self._settle(life, decided)
            order.answer_due_at, order.extended = new_due, True
            if order.state == OrderState.HANDLING:
                self._run_deadline(life, self.rules.existing(order.dispatched_at, new_due, order), decided)
            answered = min(answered, self._after(decided, 2, 8 * working_days))
        action = OrderAction.EXTENSION_APPROVE if approve else OrderAction.EXTENSION_REFUSE
        self._event(life, action, decided, actor=self.world.dispatcher, unit=self.world.centre, data=data)
        return max(answered, decided + timedelta(minutes=20))

    def _supervise(self, life: _Life, answered: datetime) -> datetime:
        """督办: the supervisor presses a unit whose answer is overdue."""
        order = life.order
        due = order.answer_due_at
        if due is None or answered <= due or self.rng.random() > 0.4 or order.state != OrderState.HANDLING:
            return answered
        at = max(self._after(due, 0.5, 4), _last_at(life) + timedelta(minutes=5))
        if at >= answered or at > self.now:
            return answered
        by = self.world.supervisor or self.world.dispatcher
        deadline = self.rules.for_step(DeadlineStep.SUPERVISE, at, order)
        supervision = Supervision(
            order=order,
            kind=SupervisionKind.SUPERVISE,
            message=SUPERVISE_MESSAGE,
            by=by,
            at=at,
            due_at=deadline.due_at if deadline else None,
        )
        life.supervisions.append(supervision)
        self._event(
            life,
            OrderAction.SUPERVISE,
            at,
            actor=by,
            unit=self.world.centre,
            reason=SUPERVISE_MESSAGE,
            data={
                "supervision": supervision,
                "automatic": False,
                "due_at": deadline.due_at.isoformat() if deadline else None,
            },
        )
        order.supervised = True
        return min(answered, self._after(at, 1, 16))

    def _answer(self, life: _Life, unit: Unit, at: datetime, assignment: Assignment) -> datetime:
        order = life.order
        r = self.rng.random()
        result = Result.RESOLVED if r < 0.62 else Result.EXPLAINED if r < 0.9 else Result.UNRESOLVED
        overdue = bool(order.answer_due_at and at > order.answer_due_at)
        text = life.row["reply"].strip()[:DIRECT_ANSWER_LIMIT] or "已安排人员现场处理并向市民反馈。"
        self._event(
            life,
            OrderAction.ANSWER,
            at,
            actor=self._unit_actor(unit),
            unit=unit,
            to=OrderState.PENDING_REVIEW,
            reason=text,
            data={"result": result, "overdue": overdue},
        )
        order.result, order.answer, order.answered_at = result, text, at
        order.was_overdue = order.was_overdue or overdue
        order.unit_overdue = order.unit_overdue or overdue
        assignment.state = AssignmentState.ANSWERED
        self._run_deadline(life, self.rules.for_step(DeadlineStep.REVIEW, at, order), at)
        return at

    def _revisit(self, life: _Life, at: datetime) -> None:
        """回访: satisfied or basically satisfied closes; unsatisfied or unresolved may reopen."""
        rng, order, world = self.rng, life.order, self.world
        self._check(at)
        m = rng.random()
        method = (
            RevisitMethod.PHONE if m < 0.85 else RevisitMethod.SMS if m < 0.93 else RevisitMethod.UNREACHABLE
        )
        resolved: bool | None = None
        satisfaction = ""
        if method != RevisitMethod.UNREACHABLE:
            resolved = order.result == Result.RESOLVED or (
                order.result == Result.EXPLAINED and rng.random() < 0.7
            )
            s = rng.random()
            if resolved:
                satisfaction = (
                    Satisfaction.SATISFIED
                    if s < 0.74
                    else Satisfaction.BASICALLY
                    if s < 0.95
                    else Satisfaction.UNSATISFIED
                )
            else:
                satisfaction = (
                    Satisfaction.SATISFIED
                    if s < 0.2
                    else Satisfaction.BASICALLY
                    if s < 0.55
                    else Satisfaction.UNSATISFIED
                )
        unhappy = resolved is False or satisfaction == Satisfaction.UNSATISFIED
        reopen = unhappy and order.round < 2 and rng.random() < 0.6
        comment = REVISIT_COMMENTS.get(satisfaction, "") if satisfaction else "多次联系市民未接通。"
        revisit = Revisit(
            order=order,
            round=order.round,
            method=method,
            resolved=resolved,
            satisfaction=satisfaction,
            comment=comment,
            reopened=reopen,
            by=world.dispatcher,
            at=at,
        )
        life.revisits.append(revisit)
        data: dict[str, Any] = {
            "method": method,
            "resolved": resolved,
            "satisfaction": satisfaction,
            "revisit": revisit,
        }
        order.satisfaction, order.resolved = satisfaction, resolved
        order.revisited = order.revisited or method != RevisitMethod.UNREACHABLE
        if reopen:
            self._event(
                life,
                OrderAction.REVISIT,
                at,
                actor=world.dispatcher,
                unit=world.centre,
                to=OrderState.PENDING_DISPATCH,
                reason=comment,
                data={**data, "reopened": True},
            )
            order.round += 1
            life.events[-1]["round"] = order.round  # the row of the move that starts the new round
            order.lead_unit, order.answer_due_at = None, None
        else:
            self._event(
                life,
                OrderAction.REVISIT,
                at,
                actor=world.dispatcher,
                unit=world.centre,
                to=OrderState.CLOSED,
                reason=comment,
                data=data,
            )
            order.closed_at = at
        self._run_deadline(life, None, at)

    def _finish(self, life: _Life) -> None:
        """The order as its last step left it, with the scan's rows up to ``now``."""
        order = life.order
        self._settle(life, self.now)
        if order.state in (OrderState.CANCELLED, OrderState.MERGED):
            at = life.events[-1]["at"]
            self._withdraw(life, at, AssignmentState.WITHDRAWN)
            self._run_deadline(life, None, at)
        life.events.sort(key=lambda e: e["at"])

    # --- writing ----------------------------------------------------------------------------------

    def write(self, counts: Counts) -> None:
        taken = set(
            User.objects.filter(username__in=[u.username for u in self.new_staff]).values_list(
                "username", flat=True
            )
        )
        for person in self.new_staff:
            if person.username in taken:
                person.username = f"{person.username}_{self.rng.randrange(1000, 10000)}"
        User.objects.bulk_create(self.new_staff, batch_size=BATCH)
        if self.new_staff:
            with connection.cursor() as cursor:  # as ``accounts.services.user_create`` records them
                audit_rows_insert(
                    [
                        audit_row(action=AuditAction.CREATE, obj=u, after=snapshot(u), note="demo data")
                        for u in self.new_staff
                    ],
                    cursor=cursor,
                )
        counts.add("unit_staff", len(self.new_staff))
        citizens = list(self.citizens.values())
        Citizen.objects.bulk_create(citizens, batch_size=BATCH)
        counts.add("citizens", len(citizens))
        orders = [life.order for life in self.lives]
        WorkOrder.objects.bulk_create(orders, batch_size=BATCH)
        counts.add("orders", len(orders))
        for life in self.lives:
            if life.merged_into is not None:
                WorkOrder.objects.filter(pk=life.order.pk).update(merged_into=life.merged_into.order)
        rows: dict[str, list[Any]] = {"assignments": [], "extensions": [], "revisits": [], "supervisions": []}
        for life in self.lives:
            rows["assignments"] += life.assignments
            rows["extensions"] += life.extensions
            rows["revisits"] += life.revisits
            rows["supervisions"] += life.supervisions
        Assignment.objects.bulk_create(rows["assignments"], batch_size=BATCH)
        Extension.objects.bulk_create(rows["extensions"], batch_size=BATCH)
        Revisit.objects.bulk_create(rows["revisits"], batch_size=BATCH)
        Supervision.objects.bulk_create(rows["supervisions"], batch_size=BATCH)
        for name in ("assignments", "extensions", "revisits"):
            counts.add(name, len(rows[name]))
        self._write_events(counts)
        OrderLink.objects.bulk_create(
            [
                OrderLink(
                    a=min(x.order, y.order, key=_pk),
                    b=max(x.order, y.order, key=_pk),
                    reason="merged",
                    at=x.events[-1]["at"],
                )
                for x, y in self.links
            ],
            batch_size=BATCH,
        )
        CallOrderLink.objects.bulk_create(
            [
                CallOrderLink(
                    call_id=life.call_id,
                    order=life.order,
                    linked_at=life.order.created_at,
                    linked_by=life.order.created_by,
                )
                for life in self.lives
                if life.call_id
            ],
            batch_size=BATCH,
        )
        self._write_sequence()

    def _write_events(self, counts: Counts) -> None:
        names = (
            "order",
            "at",
            "actor",
            "actor_unit",
            "action",
            "from_state",
            "to_state",
            "round",
            "reason",
            "data",
            "visible_to_units",
        )
        rows = []
        for life in self.lives:
            for e in sorted(life.events, key=lambda e: e["at"]):
                data = {k: (v.pk if isinstance(v, models.Model) else v) for k, v in e["data"].items()}
                rows.append(
                    (
                        e["order"].order.pk,
                        e["at"],
                        _pk(e["actor"]),
                        _pk(e["actor_unit"]),
                        e["action"],
                        e["from_state"],
                        e["to_state"],
                        e["round"],
                        e["reason"],
                        data,
                        True,
                    )
                )
        insert_values(OrderEvent, names, rows)
        counts.add("order_events", len(rows))

    def _write_sequence(self) -> None:
        """Later intakes go on after the history's numbers (``services.order_number_next``)."""
        for day, last in sorted(self.sequence.items()):
            DailySequence.objects.update_or_create(day=day, defaults={"last": last})


def _last_at(life: _Life) -> datetime:
    return max(e["at"] for e in life.events)


def _pk(obj: models.Model | None) -> Any:
    return obj.pk if obj is not None else None


# ==================================================================================================
# Calls
# ==================================================================================================


@dataclass
class _Seat:
    """A demo agent during the simulation: free from ``free_at`` until the end of the shift."""

    agent: Agent
    index: int
    logged_in: bool = False
    free_at: datetime = EPOCH
    shift_end: datetime = EPOCH
    pauses: list[tuple[datetime, float, str]] = field(default_factory=list)


@dataclass
class _Visit:
    """How a queue visit ended: ``kind`` is connect, abandon or callback."""

    kind: str
    at: datetime
    seat: _Seat | None = None


class CallHistory:
    """Inbound calls over ``days`` local days up to ``now``, through the demo flows and queues,
    answered by the demo agents in their shifts; see the module's docstring."""

    @dataclass(frozen=True)
    class Answered:
        call_id: str
        agent_id: int
        ended_at: datetime

    def __init__(self, world: World, *, now: datetime, days: int, rng: random.Random) -> None:
        self.world = world
        self.now = now
        self.days = days
        self.rng = rng
        self.seats = [_Seat(agent=agent, index=i) for i, agent in enumerate(world.agents)]
        self.calls: list[tuple[Any, ...]] = []
        self.legs: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.states: list[tuple[Any, ...]] = []
        self.callbacks: list[CallbackRequest] = []
        self.open_callbacks: set[str] = set()
        self.answered: dict[date, list[CallHistory.Answered]] = defaultdict(list)
        self.waiting: dict[str, list[datetime]] = defaultdict(list)  # queue → when its callers leave
        self.callers: list[str] = []
        self.first: datetime | None = None
        self.serial = 0

    def answered_on(self, day: date) -> list[CallHistory.Answered]:
        """The answered calls of a local day not yet used for an order (the caller removes those it
        takes)."""
        return self.answered.get(day, [])

    # --- rows -------------------------------------------------------------------------------------

    def _seen(self, at: datetime) -> None:
        if self.first is None or at < self.first:
            self.first = at

    def _state(
        self, seat: _Seat, state: str, at: datetime, *, reason: str = "", call: str = "", queue: str = ""
    ) -> None:
        if at <= self.now:
            self._seen(at)
            self.states.append((seat.agent.user_id, state, at, reason, call, queue, None))

    def _qevent(
        self,
        kind: str,
        at: datetime,
        queue: str = "",
        call: str = "",
        seat: _Seat | None = None,
        position: int | None = None,
        wait: float | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        if at <= self.now:
            self._seen(at)
            agent = seat.agent.user_id if seat is not None else None
            wait_s = round(wait, 3) if wait is not None else None
            self.events.append((kind, at, queue, call, agent, position, wait_s, data or {}))

    # --- agents -----------------------------------------------------------------------------------

    def _shifts(self, day: date) -> list[tuple[datetime, _Seat]]:
        """The demo agents' logins of a local day, with their pauses planned."""
        logins = []
        week = day.isocalendar().week
        for seat in self.seats:
            begin, end = SHIFTS.get(seat.agent.username, (9.0, 18.0))
            start = local_midnight(day) + timedelta(hours=begin, seconds=self.rng.uniform(-420, 180))
            seat.shift_end = (
                local_midnight(day) + timedelta(hours=end, seconds=self.rng.uniform(-120, 600))
            ).astimezone(UTC)
            plan = sorted([*PAUSES, TRAINING]) if day.weekday() == (seat.index * 2 + week) % 5 else PAUSES
            seat.pauses = []
            for hours, minutes, reason in plan:
                if reason in self.world.pause_reasons:
                    at = start + timedelta(hours=hours, seconds=self.rng.uniform(-900, 900))
                    seat.pauses.append((at.astimezone(UTC), minutes * self.rng.uniform(0.7, 1.1), reason))
            logins.append((start.astimezone(UTC), seat))
        return sorted(logins, key=lambda item: item[0])

    def _login(self, seat: _Seat, at: datetime) -> None:
        seat.logged_in, seat.free_at = True, at
        self._state(seat, r.AGENT_READY, at)
        self._qevent(r.QE_AGENT_LOGIN, at, seat=seat, data={"extension": seat.agent.extension})

    def _logout(self, seat: _Seat) -> None:
        at = max(seat.free_at, seat.shift_end)
        seat.logged_in = False
        self._state(seat, r.AGENT_LOGGED_OUT, at)
        self._qevent(r.QE_AGENT_LOGOUT, at, seat=seat, data={"by": None})

    def _ready_at(self, seat: _Seat, t: datetime) -> datetime | None:
        """When ``seat`` can take a call that waits from ``t``, after the pauses due by then; None
        when the shift is over by then."""
        if not seat.logged_in:
            return None
        while True:
            start = max(seat.free_at, t)
            if seat.pauses and seat.pauses[0][0] <= start:
                planned, minutes, reason = seat.pauses.pop(0)
                begin = max(seat.free_at, planned)
                if begin >= seat.shift_end:
                    continue
                self._state(seat, r.AGENT_PAUSED, begin, reason=reason)
                self._qevent(r.QE_AGENT_PAUSE, begin, seat=seat, data={"reason": reason, "by": None})
                seat.free_at = begin + timedelta(minutes=minutes)
                self._state(seat, r.AGENT_READY, seat.free_at)
                self._qevent(r.QE_AGENT_UNPAUSE, seat.free_at, seat=seat, data={"by": None})
                continue
            if start >= seat.shift_end:
                self._logout(seat)
                return None
            return start

    # --- the days ---------------------------------------------------------------------------------

    def run(self) -> None:
        if not self.world.numbers or not self.seats:
            return
        today = _local(self.now).date()
        for i in range(self.days):
            day = today - timedelta(days=self.days - 1 - i)
            for seat in self.seats:  # yesterday's shifts are over
                if seat.logged_in:
                    self._ready_at(seat, seat.shift_end)
            logins = self._shifts(day)
            mean = CALLS_PER_DAY * _day_factor(day)
            count = max(0, round(self.rng.gauss(mean, mean * 0.08)))
            for started in sorted(_in_day(self.rng, day) for _ in range(count)):
                if started >= self.now - timedelta(minutes=10):
                    break
                while logins and logins[0][0] <= started:
                    at, seat = logins.pop(0)
                    if seat.logged_in:
                        self._logout(seat)
                    self._login(seat, at)
                self._call(started, day)
            for at, seat in logins:  # shifts that began after the day's last call
                if at <= self.now:
                    if seat.logged_in:
                        self._logout(seat)
                    self._login(seat, at)
        for seat in self.seats:
            if seat.logged_in and max(seat.free_at, seat.shift_end) <= self.now:
                self._ready_at(seat, seat.shift_end)  # the pauses left, then the logout

    def _caller(self) -> str:
        rng = self.rng
        if self.callers and rng.random() < 0.12:  # called before
            return self.callers[rng.randrange(len(self.callers))]
        if rng.random() < 0.1:
            number = f"09998{rng.randrange(10**7):07d}"
        else:
            number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
        self.callers.append(number)
        return number

    def _call(self, started: datetime, day: date) -> None:
        rng, world = self.rng, self.world
        self.serial += 1
        call_id = f"H{day:%Y%m%d}{self.serial:06d}"
        caller = self._caller()
        direct = len(world.numbers) > 1 and rng.random() < 0.15
        called = (
            next((n for n in world.numbers if n != "12345"), world.numbers[0])
            if direct
            else ("12345" if "12345" in world.numbers else world.numbers[0])
        )
        path: list[str] = []
        queue = ""
        outcome = r.OUTCOME_IVR
        ended = started
        roll = rng.random()
        if roll < 0.004:
            outcome, ended = r.OUTCOME_FAILED, started + timedelta(seconds=rng.uniform(1, 4))
        elif direct:
            path, queue = ["q"], "GENERAL"
        else:
            day_time = _period(started) == CalendarPeriod.DAY
            path = ["welcome", "hours", *([] if day_time else ["night_msg"]), "menu"]
            # at night most callers hear the notice and look their order up, or call again by day
            self_service = NIGHT_SELF_SERVICE if not 8 <= _local(started).hour < 19 else DAY_SELF_SERVICE
            if roll < self_service * 0.6:
                path += ["status", "menu"]
                ended = started + timedelta(seconds=rng.uniform(40, 120))
            elif roll < self_service:
                ended = started + timedelta(seconds=rng.uniform(10, 40))  # hung up in the menu
            elif roll < self_service + ENTERPRISE_SHARE and "ENTERPRISE" in world.queues:
                path, queue = [*path, "q_enterprise"], "ENTERPRISE"
            else:
                path, queue = [*path, "q_general"], "GENERAL"
        record: dict[str, Any] = {
            "queue": "",
            "agent": None,
            "queued_at": None,
            "answered_at": None,
            "wait": 0.0,
            "talk": 0.0,
            "hold": 0.0,
            "transfers": 0,
            "data": {},
        }
        if queue in world.queues:
            entered = started + timedelta(seconds=rng.uniform(1, 3) if direct else rng.uniform(14, 32))
            outcome, ended = self._queued(call_id, queue, entered, record)
        if ended > self.now:
            return  # still going on: its record is written when it ends
        self.calls.append(
            (
                call_id,
                Direction.INBOUND,
                caller,
                called,
                TRUNK,
                started,
                ended,
                outcome,
                record["queue"],
                record["agent"],
                record["queued_at"],
                record["answered_at"],
                round(record["wait"], 3),
                round(record["talk"], 3),
                round(record["hold"], 3),
                record["transfers"],
                path,
                0,
                record["data"],
            )
        )
        self.legs.append(
            (
                call_id,
                f"{call_id}-0",
                LegKind.CALLER,
                caller,
                started,
                None if outcome == r.OUTCOME_FAILED else started,
                ended,
                "failed" if outcome == r.OUTCOME_FAILED else "normal",
                None,
                TRUNK,
            )
        )
        if outcome == r.OUTCOME_ANSWERED and record["agent"] is not None:
            self.answered[day].append(CallHistory.Answered(call_id, record["agent"], ended))
        self._callback(call_id, caller, outcome, record, ended)

    def _queued(
        self, call_id: str, queue: str, entered: datetime, record: dict[str, Any]
    ) -> tuple[str, datetime]:
        """The queue part of a call: one visit, and a second one after a transfer."""
        rng = self.rng
        record["queue"], record["queued_at"] = queue, entered
        patience = (
            rng.uniform(1, 5) if rng.random() < SHORT_HANGUP_SHARE else rng.expovariate(1 / PATIENCE_MEAN_S)
        )
        visit = self._visit(call_id, queue, entered, patience, record)
        record["wait"] += (visit.at - entered).total_seconds()
        if visit.kind == r.QE_ABANDON:
            return r.OUTCOME_ABANDONED, visit.at
        if visit.kind == r.QE_CALLBACK:
            record["data"] = {"callback": True}
            return r.OUTCOME_CALLBACK, visit.at + timedelta(seconds=rng.uniform(4, 8))
        assert visit.seat is not None
        seat = visit.seat
        record["agent"], record["answered_at"] = seat.agent.user_id, visit.at
        talk_end = self._talk(call_id, queue, seat, visit.at, record)
        others = [
            q
            for q in ("COMPLAINT", *sorted(c for c in self.world.queues if c.startswith("R-")))
            if q in self.world.queues and q != queue
        ]
        if others and rng.random() < TRANSFER_SHARE:
            target = others[0] if rng.random() < 0.6 else rng.choice(others)
            self._qevent(
                r.QE_TRANSFER, talk_end, queue, call_id, seat, data={"to": f"queue:{target}", "draft": False}
            )
            self._wrap_up(seat, queue, call_id, talk_end)
            record["transfers"] += 1
            record["queue"] = queue = target
            again = talk_end + timedelta(seconds=rng.uniform(1, 3))
            second = self._visit(call_id, target, again, rng.uniform(120, 600), record, transfer=True)
            record["wait"] += (second.at - again).total_seconds()
            if second.kind != r.QE_CONNECT or second.seat is None:
                return r.OUTCOME_ANSWERED, second.at
            seat = second.seat
            talk_end = self._talk(call_id, target, seat, second.at, record)
        ended_by = "caller" if rng.random() < 0.7 else "agent"
        self._qevent(r.QE_COMPLETE, talk_end, queue, call_id, seat, data={"ended_by": ended_by})
        self._wrap_up(seat, queue, call_id, talk_end)
        return r.OUTCOME_ANSWERED, talk_end

    def _talk(
        self, call_id: str, queue: str, seat: _Seat, connect: datetime, record: dict[str, Any]
    ) -> datetime:
        """The conversation (with a hold now and then); returns when it ended."""
        rng = self.rng
        talk = min(rng.lognormvariate(math.log(TALK_MEDIAN_S), 0.55), 1800.0)
        self._state(seat, r.AGENT_TALKING, connect, call=call_id, queue=queue)
        hold = 0.0
        if rng.random() < HOLD_SHARE:
            hold = rng.uniform(15, 90)
            mid = connect + timedelta(seconds=talk / 2)
            self._state(seat, r.AGENT_HOLD, mid, call=call_id, queue=queue)
            self._state(seat, r.AGENT_TALKING, mid + timedelta(seconds=hold), call=call_id, queue=queue)
        record["talk"] += talk
        record["hold"] += hold
        ended = connect + timedelta(seconds=talk + hold)
        self.legs.append(
            (
                call_id,
                f"{call_id}-a{seat.agent.user_id}-{int(connect.timestamp())}",
                LegKind.AGENT,
                f"ext:{seat.agent.extension}",
                connect - timedelta(seconds=rng.uniform(*RING_S)),
                connect,
                ended,
                "normal",
                seat.agent.user_id,
                "",
            )
        )
        return ended

    def _wrap_up(self, seat: _Seat, queue: str, call_id: str, at: datetime) -> None:
        self._state(seat, r.AGENT_WRAP_UP, at, call=call_id, queue=queue)
        limit = float(self.world.queues[queue].wrap_up_s) if queue in self.world.queues else 30.0
        seat.free_at = at + timedelta(seconds=self.rng.uniform(min(5.0, limit), max(limit, 5.0)))
        self._state(seat, r.AGENT_READY, seat.free_at)

    def _visit(
        self,
        call_id: str,
        code: str,
        entered: datetime,
        patience: float,
        record: dict[str, Any],
        *,
        transfer: bool = False,
    ) -> _Visit:
        """One visit of ``code``: enter, offers to the agent free first (the longest idle among those
        free at once), and how it ended."""
        rng, queue = self.rng, self.world.queues[code]
        waiting = [left for left in self.waiting[code] if left > entered]
        position = 1 + len(waiting)
        data: dict[str, Any] = {"priority": 0, **({"transfer": True} if transfer else {})}
        self._qevent(r.QE_ENTER, entered, code, call_id, position=position, wait=0.0, data=data)
        members = [s for s in self.seats if code in s.agent.queues]
        refused: set[int] = set()

        def best(t: datetime) -> tuple[datetime, _Seat] | None:
            options = []
            for seat in members:
                if seat.index in refused:
                    continue
                ready = self._ready_at(seat, t)
                if ready is not None:
                    options.append((ready, seat.free_at, seat.index, seat))
            if not options:
                return None
            ready, _idle, _i, seat = min(options, key=lambda o: (o[0], o[1], o[2]))
            return ready, seat

        t = entered
        first = best(t)
        if first is None or first[0] > entered:
            self._qevent(r.QE_ALL_BUSY, entered, code, call_id, position=position, wait=0.0)
        max_wait = float(queue.max_wait_s or 0)
        if max_wait and queue.max_wait_action != "callback":
            patience = min(patience, max_wait - rng.uniform(5, 30))  # (callers hang up before the voicemail)
        while True:
            option = best(t)
            give_up = entered + timedelta(seconds=patience)
            timeout = entered + timedelta(seconds=max_wait) if max_wait else None
            end = min(give_up, timeout) if timeout is not None else give_up
            if option is None or option[0] > end:
                if timeout is not None and timeout < give_up:
                    wait = max_wait
                    self._qevent(
                        r.QE_TIMEOUT,
                        timeout,
                        code,
                        call_id,
                        position=position,
                        wait=wait,
                        data={"action": queue.max_wait_action},
                    )
                    at = timeout + timedelta(seconds=rng.uniform(5, 12))
                    self._qevent(
                        r.QE_CALLBACK,
                        at,
                        code,
                        call_id,
                        position=position,
                        wait=(at - entered).total_seconds(),
                    )
                    self.waiting[code] = [*waiting, at]
                    return _Visit(r.QE_CALLBACK, at)
                wait = patience
                self._qevent(
                    r.QE_ABANDON,
                    give_up,
                    code,
                    call_id,
                    position=position,
                    wait=wait,
                    data={"short": wait < self.world.short_abandon_s},
                )
                self.waiting[code] = [*waiting, give_up]
                return _Visit(r.QE_ABANDON, give_up)
            offered, seat = option
            wait = (offered - entered).total_seconds()
            self._state(seat, r.AGENT_RINGING, offered, call=call_id, queue=code)
            self._qevent(r.QE_OFFER, offered, code, call_id, seat, position=position, wait=wait)
            if rng.random() < NO_ANSWER_SHARE:
                rang_out = offered + timedelta(seconds=float(queue.ring_timeout_s))
                self._qevent(
                    r.QE_NO_ANSWER,
                    rang_out,
                    code,
                    call_id,
                    seat,
                    position=position,
                    wait=(rang_out - entered).total_seconds(),
                    data={"cause": "no_answer"},
                )
                self._state(seat, r.AGENT_READY, rang_out)
                self.legs.append(
                    (
                        call_id,
                        f"{call_id}-n{seat.agent.user_id}-{int(offered.timestamp())}",
                        LegKind.AGENT,
                        f"ext:{seat.agent.extension}",
                        offered,
                        None,
                        rang_out,
                        "no_answer",
                        seat.agent.user_id,
                        "",
                    )
                )
                seat.free_at = rang_out
                refused.add(seat.index)
                t = rang_out
                continue
            connect = offered + timedelta(seconds=rng.uniform(*RING_S))
            self._qevent(r.QE_CONNECT, connect, code, call_id, seat, wait=(connect - entered).total_seconds())
            seat.free_at = connect + timedelta(hours=1)  # busy until the call's end sets it
            self.waiting[code] = [*waiting, connect]
            return _Visit(r.QE_CONNECT, connect, seat)

    def _callback(
        self, call_id: str, caller: str, outcome: str, record: dict[str, Any], ended: datetime
    ) -> None:
        """回拨: the recorder asks for one after a long abandon (unless the caller has one open), and
        the caller may accept one at the maximum wait. Those older than a day have been worked off."""
        if outcome == r.OUTCOME_CALLBACK:
            reason = CallbackReason.CALLBACK_OFFER
        elif outcome == r.OUTCOME_ABANDONED and record["wait"] > self.world.short_abandon_s:
            reason = CallbackReason.ABANDONED
        else:
            return
        if caller in self.open_callbacks:
            return
        request = CallbackRequest(
            call_id=call_id, caller=caller, queue=record["queue"], reason=reason, requested_at=ended
        )
        if ended < self.now - timedelta(days=1):
            rng = self.rng
            done = work_calendar().add_working_time(ended, timedelta(seconds=rng.uniform(600, 4 * HOUR)))
            reached = rng.random() < 0.85
            request.state = CallbackState.DONE if reached else CallbackState.FAILED
            request.result = CallbackResult.REACHED if reached else CallbackResult.NO_ANSWER
            request.attempts = 1 if reached else 3
            seat = self.seats[rng.randrange(len(self.seats))]
            request.claimed_by_id = seat.agent.user_id
            request.claimed_at = done - timedelta(minutes=rng.uniform(2, 10))
            request.last_attempt_at = request.done_at = done
        else:
            self.open_callbacks.add(caller)
        self.callbacks.append(request)

    # --- writing ----------------------------------------------------------------------------------

    def write(self, counts: Counts) -> None:
        from hotline.callcenter.recorder import CALL_FIELDS

        insert_values(
            AgentStateLog, ("agent", "state", "at", "reason", "call_id", "queue", "by"), self.states
        )
        insert_values(
            QueueEventLog,
            ("kind", "at", "queue", "call_id", "agent", "position", "wait_s", "data"),
            self.events,
        )
        insert_values(
            CallLeg,
            (
                "call_id",
                "leg_id",
                "kind",
                "party",
                "started_at",
                "answered_at",
                "ended_at",
                "cause",
                "agent",
                "trunk",
            ),
            [leg for leg in self.legs if leg[6] <= self.now],
        )
        insert_values(CallRecord, CALL_FIELDS, self.calls)
        CallbackRequest.objects.bulk_create(self.callbacks, batch_size=BATCH)
        counts.add("calls", len(self.calls))
        counts.add("call_legs", len([leg for leg in self.legs if leg[6] <= self.now]))
        counts.add("queue_events", len(self.events))
        counts.add("agent_states", len(self.states))
