"""Report benchmark: the standard reports and dashboards over a million work orders with their
histories and five million call records, on PostgreSQL.

    make bench-reports                                       # the sizes of docs/performance.md
    .venv/bin/python bench/reports.py --orders 20000 --calls 100000 --out /tmp/reports.json

The script loads a fresh database (``hotline_bench_reports`` on the server of
``scripts/test-services.sh``) with COPY: the city's units and categories, ``--orders`` work orders
over about 14 months with every step of their history (events, assignments, returns and
re-dispatches, extensions, revisits, orders reopened after an unsatisfied revisit, merged and
cancelled orders), and ``--calls`` inbound calls over 77 days answered by a simulated centre of
about 400 agents (queue events and agent state changes that agree with the call records). It then
runs the hourly roll-up of the calls, times every standard report and dashboard query (p50/p95 of
several runs after a warm-up) and compares a sample of each report's figures with counts written
here in plain SQL over the raw rows (``matches_raw_counts``). Figures go to
``bench/results/reports.json``; what they mean: docs/performance.md.
"""

# ruff: noqa: S311, S608

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import importlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    RESULTS,
    cpu_share,
    cpu_times,
    log,
    machine_info,
    percentile,
    pg_admin,
    pg_reachable,
    with_database,
    write_json,
)
from bench.workorders import (  # noqa: E402
    ASSIGNMENT_COLS,
    CHANNELS,
    DEPARTMENTS,
    GIVEN,
    ORDER_COLS,
    REQUEST_TYPES,
    STREET_NAMES,
    SURNAMES,
    UTILITIES,
    Picker,
    _extra_columns,
    _indexes_to_rebuild,
    git_state,
    size_label,
    zipf,
)
from hotline.core.localtime import LOCAL_TZ, local_day  # noqa: E402

UTC = dt.UTC
LOCAL_OFFSET_S = 8 * 3600  # Asia/Shanghai has no daylight saving time
PG_DEFAULT_URL = "postgres://hotline@127.0.0.1:54329/hotline"
PG_BENCH_DB = "hotline_bench_reports"
TARGETS = {"report_p95_s": "< 2", "matches_raw_counts": "true"}
HOUR = 3600.0
DAY = 86400.0
ORDER_SPAN_DAYS = 425  # about 14 months: last year's same month has data (同比)
CALL_DAYS = 77

# --- The city: 16 districts of 10 streets, 60 city departments, 4 utilities -------------------------

DISTRICTS = [
    "滨江区", "江北区", "江南区", "高新区", "临湖区", "东城区", "西城区", "南湖区",
    "北山区", "新港区", "开发区", "青山县", "云溪县", "石门县", "龙泉县", "桃源县",
]  # fmt: skip
STREETS_PER_DISTRICT = 10
MORE_DEPARTMENTS = [
    "国有资产监督管理委员会", "统计局", "审计局", "外事办公室", "民族宗教事务局", "体育局", "林业局",
    "粮食和物资储备局", "人民防空办公室", "机关事务管理局", "地方金融监督管理局", "医疗保障基金监管局",
    "住房公积金管理中心", "不动产登记中心", "公共资源交易中心", "城市管理行政执法局", "园林绿化局",
    "市容环境卫生管理处", "交通警察支队", "消防救援支队", "出入境管理局", "车辆管理所", "港航管理局",
    "公路管理局", "轨道交通集团", "公交集团", "邮政管理局", "通信管理局", "气象局", "地震局",
    "残疾人联合会", "总工会", "妇女联合会", "红十字会",
]  # fmt: skip
QUEUES = [  # code, name, share of the queued calls
    ("GEN", "综合咨询", 0.66),
    ("BIZ", "营商环境", 0.12),
    ("ELD", "老年人专席", 0.09),
    ("CPL", "投诉举报", 0.10),
    ("FOR", "外语服务", 0.03),
]
NUMBERS = [("12345", "12345政务服务便民热线", 0.86), ("12319", "城建热线", 0.06),
           ("12369", "环保热线", 0.04), ("96196", "旅游热线", 0.04)]  # fmt: skip
TRUNKS = [("CT-01", 0.35), ("CT-02", 0.15), ("CU-01", 0.25), ("CM-01", 0.25)]
# Local hours 0–23: calls and intake by hour of the day.
HOUR_PROFILE = [0.6, 0.35, 0.25, 0.2, 0.2, 0.35, 0.9, 2.2, 4.6, 7.2, 8.0, 7.6, 5.6, 5.4, 7.0, 7.2, 6.8,
                5.8, 4.4, 3.8, 3.4, 2.8, 1.9, 1.1]  # fmt: skip
WEEKDAY_FACTOR = [1.1, 1.0, 1.0, 1.0, 1.0, 0.75, 0.7]  # Monday … Sunday
# Agents' shifts: local start hour, length in hours, share of the agents.
SHIFTS = [(7, 8, 0.27), (9, 8, 0.25), (12, 9, 0.18), (14, 9, 0.18), (22, 9, 0.12)]
PAUSES = [(2.0, 10 * 60, "rest"), (4.0, 30 * 60, "meal"), (6.0, 10 * 60, "rest")]  # hours into the shift

EVENT_COLS = ["id", "order_id", "at", "actor_id", "actor_unit_id", "action", "from_state", "to_state",
              "round", "reason", "data", "visible_to_units"]  # fmt: skip
# what an order's revisits, extensions and returns say, kept on the order (as the services do)
ORDER_FACT_COLS = ["resolved", "revisited", "extended", "returned", "unit_overdue"]
REVISIT_COLS = ["id", "order_id", "round", "method", "resolved", "satisfaction", "comment", "reopened",
                "by_id", "at"]  # fmt: skip
EXTENSION_COLS = ["id", "order_id", "unit_id", "working_days", "reason", "state", "requested_by_id",
                  "requested_at", "decided_by_id", "decided_at", "decision_note", "old_due_at",
                  "new_due_at"]  # fmt: skip
CALL_COLS = ["id", "call_id", "direction", "caller", "called", "trunk", "started_at", "ended_at", "outcome",
             "queue", "agent_id", "queued_at", "answered_at", "wait_s", "talk_s", "hold_s", "transfers",
             "ivr_path", "priority", "data"]  # fmt: skip
QEVENT_COLS = ["id", "kind", "at", "queue", "call_id", "agent_id", "position", "wait_s", "data"]
ASTATE_COLS = ["id", "agent_id", "state", "at", "reason", "call_id", "queue", "by_id"]


def ts(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, UTC)


def local_midnight_epoch(epoch: float) -> float:
    """The start of the local (Asia/Shanghai) day that contains ``epoch``."""
    return (epoch + LOCAL_OFFSET_S) // DAY * DAY - LOCAL_OFFSET_S


# ==================================================================================================
# The world
# ==================================================================================================


def build_world(*, agents: int, seed: int) -> dict[str, Any]:
    """Regions, units (through the services, as an administrator would), the bundled categories,
    the centre's queues and numbers, one handler per unit, a dispatcher and the agents."""
    from django.contrib.auth.hashers import make_password

    from hotline.accounts.models import User
    from hotline.callcenter.models import HotlineNumber, IvrFlow, Queue
    from hotline.orgs.models import Region, Unit
    from hotline.orgs.services import region_save, unit_save
    from hotline.taxonomy.importers import taxonomy_import_bundled
    from hotline.taxonomy.models import Category, RequestType
    from hotline.workcalendar.services import deadline_rules_ensure_defaults

    note = "benchmark data"
    city = region_save(region=Region(code="99", name="滨江市", level="city"), note=note)
    centre = unit_save(unit=Unit(code="CENTRE", name="12345热线中心", kind="centre", region=city), note=note)
    gov = unit_save(unit=Unit(code="GOV", name="滨江市人民政府", kind="other", region=city), note=note)
    units: list[dict[str, Any]] = []
    streets: list[Any] = []
    pairs = [STREET_NAMES[i : i + 2] for i in range(0, len(STREET_NAMES) - 1, 2)]
    for d, d_name in enumerate(DISTRICTS, start=1):
        d_code = f"99{d:02d}"
        district = region_save(
            region=Region(code=d_code, name=d_name, level="district", parent=city), note=note
        )
        dg = unit_save(
            unit=Unit(code=f"DG-{d_code}", name=f"{d_name}人民政府", kind="district_government",
                      region=district),
            note=note,
        )  # fmt: skip
        units.append({"unit": dg, "group": "district", "region": district})
        for s in range(1, STREETS_PER_DISTRICT + 1):
            name = pairs[((d - 1) * STREETS_PER_DISTRICT + s - 1) % len(pairs)]
            street = region_save(
                region=Region(code=f"{d_code}{s:02d}", name=f"{d_name[:2]}{name}街道", level="street",
                              parent=district),
                note=note,
            )  # fmt: skip
            streets.append(street)
            office = unit_save(
                unit=Unit(code=f"ST-{street.code}", name=f"{street.name}办事处", kind="street_office",
                          region=street, parent=dg),
                note=note,
            )  # fmt: skip
            units.append({"unit": office, "group": "street", "region": street})
    for i, name in enumerate(DEPARTMENTS + MORE_DEPARTMENTS, start=1):
        unit = unit_save(
            unit=Unit(code=f"CD-{i:02d}", name=f"市{name}", kind="city_department", region=city, parent=gov),
            note=note,
        )
        units.append({"unit": unit, "group": "department", "region": None})
    for i, name in enumerate(UTILITIES, start=1):
        unit = unit_save(
            unit=Unit(code=f"UT-{i:02d}", name=f"滨江{name}", kind="utility", region=city), note=note
        )
        units.append({"unit": unit, "group": "department", "region": None})

    taxonomy_import_bundled(note=note)
    deadline_rules_ensure_defaults(note=note)

    flow = IvrFlow.objects.create(code="bench", name="压测流程", definition={})
    for number, name, _share in NUMBERS:
        HotlineNumber.objects.create(number=number, name=name, flow=flow)
    for code, name, _share in QUEUES:
        Queue.objects.create(code=code, name=name)

    unusable = make_password(None)
    User.objects.bulk_create(
        [User(username="bench_dispatcher", role="dispatcher", unit=centre, password=unusable,
              full_name="派单员")]
        + [User(username=f"bench_h_{u['unit'].code}", role="handler", unit=u["unit"], password=unusable,
                full_name=f"承办{i}") for i, u in enumerate(units)]
        + [User(username=f"bench_a_{i:04d}", role="agent", unit=centre, password=unusable,
                full_name=f"座席{i:04d}", employee_no=f"A{i:04d}") for i in range(agents)]
    )  # fmt: skip
    handlers = {u.unit_id: u.pk for u in User.objects.filter(role="handler")}
    agent_ids = list(User.objects.filter(role="agent").order_by("username").values_list("pk", flat=True))
    rng = random.Random(seed)
    leaves = list(Category.objects.filter(level=3, active=True).order_by("code").values_list("pk", "name"))
    rng.shuffle(leaves)  # popularity independent of the code order
    return {
        "centre": centre.pk,
        "units": units,
        "streets": [s.pk for s in streets],
        "street_names": {s.pk: s.name for s in streets},
        "dispatcher": User.objects.get(username="bench_dispatcher").pk,
        "handlers": handlers,
        "agents": agent_ids,
        "leaves": leaves,
        "request_types": {rt.code: rt.pk for rt in RequestType.objects.all()},
    }


# ==================================================================================================
# Work orders with their histories
# ==================================================================================================


class _Stop(Exception):
    pass


class _Order:
    """The order's columns as the services would have left them, while its history is written."""

    __slots__ = (
        "answer",
        "answer_due",
        "answered",
        "assignments",
        "closed",
        "closed_directly",
        "dispatched",
        "dl_due",
        "dl_start",
        "extended",
        "extensions",
        "lead",
        "merged_into",
        "paused",
        "resolved",
        "result",
        "returned",
        "revisited",
        "round",
        "satisfaction",
        "state",
        "unit_overdue",
        "updated",
        "was_overdue",
    )  # fmt: skip

    def __init__(self, created: float) -> None:
        self.state = "pending_dispatch"
        self.round = 1
        self.lead: int | None = None
        self.dispatched: float | None = None
        self.answer_due: float | None = None
        self.dl_start: float | None = None
        self.dl_due: float | None = None
        self.paused: float | None = None
        self.was_overdue = self.unit_overdue = False
        self.result = ""
        self.answer = ""
        self.answered: float | None = None
        self.satisfaction = ""
        self.resolved: bool | None = None
        self.revisited = self.extended = self.returned = False
        self.closed: float | None = None
        self.closed_directly = False
        self.merged_into: int | None = None
        self.updated = created
        self.assignments: list[list[Any]] = []
        self.extensions: list[list[Any]] = []


class HistoryGenerator:
    """Rows of the work-order tables for ``n`` orders created over ``ORDER_SPAN_DAYS`` up to ``now``.

    Each order lives its life step by step (intake, dispatch, sign, extension, answer, review,
    revisit, a second round after an unsatisfied revisit …) with plausible delays; the first step
    that would happen after ``now`` ends it, so the order is in the state its last step left it
    in, with the deadline that runs in that state. The rows are those the services write: one
    ``OrderEvent`` per step, ``Assignment`` rows in their final state, ``Extension`` and ``Revisit``
    rows."""

    def __init__(self, world: dict[str, Any], *, n: int, now: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = n
        self.now = now
        self.ids = Counter({"order": 0, "assignment": 0, "event": 0, "extension": 0, "revisit": 0})
        rng = random.Random(seed + 1)
        groups: dict[str, list[dict[str, Any]]] = {}
        for u in world["units"]:
            groups.setdefault(u["group"], []).append(u)
        share = {"street": 0.47, "department": 0.46, "district": 0.07}
        items, weights = [], []
        for group, members in groups.items():
            members = members[:]
            rng.shuffle(members)
            w = zipf(len(members), 0.8)
            for member, weight in zip(members, w, strict=True):
                items.append(member)
                weights.append(share[group] * weight / sum(w))
        self.pick_unit = Picker(items, weights)
        self.unit_ids = [u["unit"].pk for u in world["units"]]
        self.streets = world["streets"]
        self.street_names = world["street_names"]
        self.pick_channel = Picker([c for c, _ in CHANNELS], [w for _, w in CHANNELS])
        rts = world["request_types"]
        self.pick_rt = Picker([rts[c] for c, _ in REQUEST_TYPES], [w for _, w in REQUEST_TYPES])
        leaves = world["leaves"]
        self.pick_leaf = Picker(leaves, zipf(len(leaves), 1.0))
        self.rising = leaves[40:45]  # categories whose intake grows in the last two months
        self.centre = world["centre"]
        self.dispatcher = world["dispatcher"]
        self.handlers = world["handlers"]
        self.agents = world["agents"]
        self.pick_agent = Picker(self.agents, zipf(len(self.agents), 0.3))
        # intake by day (a 12 % yearly growth, weekdays busier) and by hour of the day
        first_day = local_midnight_epoch(now) - (ORDER_SPAN_DAYS - 1) * DAY
        days = [first_day + i * DAY for i in range(ORDER_SPAN_DAYS)]
        day_w = [
            (1 + 0.12 * i / 365)
            * WEEKDAY_FACTOR[dt.datetime.fromtimestamp(d + LOCAL_OFFSET_S, UTC).weekday()]
            for i, d in enumerate(days)
        ]
        self.pick_day = Picker(days, day_w)
        self.pick_hour = Picker(list(range(24)), HOUR_PROFILE)
        # Orders arrive in time order, as in production: ids (and so the table's physical order, and
        # the rows of the history tables) follow the received time. Drawn at random instead, a
        # month's orders lie on every page of the table and each report reads ten times the pages.
        self.times = sorted(self._sample() for _ in range(n))
        self.times.reverse()  # popped from the end
        self.day_seq: Counter[str] = Counter()
        self.rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in self.ids}
        self.states: Counter[str] = Counter()

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def chunks(self, size: int) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        for _ in range(self.n):
            self._one()
            if len(self.rows["order"]) >= size:
                yield self.rows
                self.rows = {k: [] for k in self.ids}
        if self.rows["order"]:
            yield self.rows

    # --- one order --------------------------------------------------------------------------------

    def _created(self) -> float:
        return self.times.pop()

    def _sample(self) -> float:
        while True:
            t = self.pick_day(self.rng) + self.pick_hour(self.rng) * HOUR + self.rng.random() * HOUR
            if t < self.now - 60:
                return t

    def _number(self, created: float) -> str:
        day = dt.datetime.fromtimestamp(created + LOCAL_OFFSET_S, UTC).strftime("%Y%m%d")
        self.day_seq[day] += 1
        return f"{day}{50000 + self.day_seq[day]:05d}"

    def _other_unit(self, unit_id: int) -> int:
        while True:
            other = self.unit_ids[self.rng.randrange(len(self.unit_ids))]
            if other != unit_id:
                return other

    def _ev(self, oid: int, o: _Order, action: str, to: str, at: float, *, actor: int | None,
            unit: int | None, data: str = "{}", frm: str | None = None) -> None:  # fmt: skip
        """One step: written if it happened before ``now``, else the order's life ends here."""
        if at > self.now:
            raise _Stop
        frm = o.state if frm is None else frm
        self.rows["event"].append(
            (self.next_id("event"), oid, ts(at), actor, unit, action, frm, to, o.round, "", data, True)
        )
        o.state = to
        o.updated = at

    def _assign(self, oid: int, o: _Order, unit: int, role: str, at: float, sign_due: float) -> list[Any]:
        row = [self.next_id("assignment"), oid, unit, role, "pending_sign", o.round, at, self.dispatcher,
               sign_due, None, None, None, ""]  # fmt: skip
        o.assignments.append(row)
        return row

    def _one(self) -> None:
        rng = self.rng
        oid = self.next_id("order")
        created = self._created()
        leaf = self.pick_leaf(rng) if rng.random() < 0.96 else None
        if created > self.now - 60 * DAY and rng.random() < 0.03:
            leaf = self.rising[rng.randrange(len(self.rising))]
        urgency = "normal"
        u = rng.random()
        if u < 0.01:
            urgency = "emergency"
        elif u < 0.05:
            urgency = "urgent"
        complex_case = rng.random() < 0.06
        lead = self.pick_unit(rng)
        region = lead["region"].pk if lead["group"] == "street" else None
        if region is None and rng.random() < 0.9:
            region = self.streets[rng.randrange(len(self.streets))]
        channel = self.pick_channel(rng)
        agent = (
            self.pick_agent(rng)
            if channel in ("phone", "walk_in", "letter", "media", "email", "sms")
            else None
        )
        centre = self.centre if agent else None
        o = _Order(created)
        try:
            self._ev(oid, o, "intake", "pending_dispatch", created, actor=agent, unit=centre, frm="")
            r = rng.random()
            if channel == "phone" and r < 0.08:  # 直接办结
                at = created + rng.uniform(120, 900)
                o.result, o.answer, o.answered = "explained", "座席已当场解答。", at
                self._ev(oid, o, "direct_close", "closed", at, actor=agent, unit=centre)
                o.closed, o.closed_directly = at, True
            elif r < 0.095:
                self._ev(oid, o, "cancel", "cancelled", created + rng.uniform(600, 3 * HOUR),
                         actor=self.dispatcher, unit=self.centre)  # fmt: skip
            elif r < 0.103 and oid > 1:
                target = oid - rng.randint(1, min(5000, oid - 1))
                at = created + rng.uniform(600, 6 * HOUR)
                self._ev(oid, o, "merge", "merged", at, actor=self.dispatcher, unit=self.centre,
                         data=json.dumps({"into": target}))  # fmt: skip
                o.merged_into = target
                self.rows["event"].append(
                    (self.next_id("event"), target, ts(at), self.dispatcher, self.centre, "merged_in", "", "",
                     1, "", json.dumps({"order": oid}), True)
                )  # fmt: skip
            else:
                self._rounds(oid, o, lead["unit"].pk, created + rng.uniform(300, 4 * HOUR), urgency,
                             complex_case)  # fmt: skip
        except _Stop:
            pass
        self.states[o.state] += 1
        self._finish(oid, o, created, channel, leaf, urgency, complex_case, region, agent, rng)

    def _rounds(self, oid: int, o: _Order, lead: int, t: float, urgency: str, complex_case: bool) -> None:
        rng = self.rng
        disp, centre = self.dispatcher, self.centre
        while True:
            sign_window = 2 * HOUR if urgency != "normal" else 24 * HOUR
            if o.round == 1 and rng.random() < 0.03:  # sent to the wrong unit first, which returned it
                wrong = self._other_unit(lead)
                a = self._assign(oid, o, wrong, "lead", t, t + sign_window)
                o.lead, o.dispatched, o.dl_start, o.dl_due = wrong, t, t, t + sign_window
                self._ev(oid, o, "dispatch", "pending_sign", t, actor=disp, unit=centre)
                tr = t + rng.uniform(0.5 * HOUR, 20 * HOUR)
                self._ev(oid, o, "return", "return_requested", tr, actor=self.handlers[wrong], unit=wrong)
                o.paused = tr
                t = tr + rng.uniform(0.5 * HOUR, 8 * HOUR)
                self._ev(oid, o, "return_accept", "pending_sign", t, actor=disp, unit=centre)
                a[4], a[11] = "returned", t
                o.paused, o.returned = None, True
            else:
                self._ev(oid, o, "dispatch", "pending_sign", t, actor=disp, unit=centre)
            days = 21 if complex_case else 7
            o.lead, o.dispatched, o.answer_due = lead, t, t + days * DAY
            sign_due = t + sign_window
            o.dl_start, o.dl_due = t, sign_due
            a = self._assign(oid, o, lead, "lead", t, sign_due)
            assist = (
                self._assign(oid, o, self._other_unit(lead), "assist", t, sign_due)
                if rng.random() < 0.1
                else None
            )
            if o.round == 1 and rng.random() < 0.012:  # cancelled after dispatch
                tc = t + rng.uniform(HOUR, 48 * HOUR)
                self._ev(oid, o, "cancel", "cancelled", tc, actor=disp, unit=centre)
                for row in o.assignments:
                    if row[4] == "pending_sign":
                        row[4], row[11] = "withdrawn", tc
                o.dl_start = o.dl_due = None
                return
            if rng.random() < 0.95:
                signed = t + rng.uniform(300, 0.9 * sign_window)
            else:
                signed = sign_due + rng.uniform(60, 12 * HOUR)  # signed late
            self._ev(oid, o, "sign", "handling", signed, actor=self.handlers[lead], unit=lead)
            if signed > sign_due:  # the scan marked it overdue while the unit had not signed
                o.was_overdue = o.unit_overdue = True
            a[4], a[9], a[10] = "signed", signed, self.handlers[lead]
            if assist is not None:
                assist[4], assist[9] = "signed", signed
            o.dl_start, o.dl_due = o.dispatched, o.answer_due
            handle = min(rng.lognormvariate(math.log(2.2 * DAY), 0.75), 40 * DAY)
            if complex_case:
                handle *= 2.5
            if urgency == "emergency":
                handle = rng.uniform(0.5 * HOUR, 6 * HOUR)
            answered = signed + handle
            if rng.random() < 0.05:  # 延期
                tq = signed + handle * rng.uniform(0.3, 0.7)
                self._ev(oid, o, "extension_request", "handling", tq, actor=self.handlers[lead], unit=lead)
                wd = rng.choice([3, 5, 5, 10])
                ext = [self.next_id("extension"), oid, lead, wd, "需要协调多个部门", "pending",
                       self.handlers[lead], tq, None, None, "", None, None]  # fmt: skip
                o.extensions.append(ext)
                td = tq + rng.uniform(2 * HOUR, 30 * HOUR)
                approve = rng.random() < 0.8
                self._ev(oid, o, "extension_approve" if approve else "extension_refuse", "handling", td,
                         actor=disp, unit=centre)  # fmt: skip
                ext[5], ext[8], ext[9] = ("approved" if approve else "refused"), disp, td
                o.extended = o.extended or approve
                if approve and o.answer_due is not None:
                    ext[11], ext[12] = o.answer_due, o.answer_due + wd * 1.4 * DAY
                    o.answer_due = ext[12]
                    o.dl_due = o.answer_due
                answered = max(answered, td + rng.uniform(HOUR, 2 * DAY))
            r = rng.random()
            result = "resolved" if r < 0.62 else "explained" if r < 0.9 else "unresolved"
            self._ev(oid, o, "answer", "pending_review", answered, actor=self.handlers[lead], unit=lead)
            o.result, o.answer, o.answered = result, "经核实，已安排人员现场处理并向市民反馈。", answered
            late = bool(o.answer_due and answered > o.answer_due)
            o.was_overdue, o.unit_overdue = o.was_overdue or late, o.unit_overdue or late
            a[4] = "answered"
            o.dl_start, o.dl_due = answered, answered + 1.4 * DAY
            reviewed = answered + rng.uniform(HOUR, 30 * HOUR)
            if rng.random() < 0.04:  # the answer goes back to the unit once
                self._ev(oid, o, "review_reject", "handling", reviewed, actor=disp, unit=centre)
                a[4] = "signed"
                o.dl_start, o.dl_due = o.dispatched, o.answer_due
                again = reviewed + rng.uniform(4 * HOUR, 3 * DAY)
                self._ev(oid, o, "answer", "pending_review", again, actor=self.handlers[lead], unit=lead)
                o.answered = again
                late = bool(o.answer_due and again > o.answer_due)
                o.was_overdue, o.unit_overdue = o.was_overdue or late, o.unit_overdue or late
                a[4] = "answered"
                o.dl_start, o.dl_due = again, again + 1.4 * DAY
                reviewed = again + rng.uniform(HOUR, 30 * HOUR)
            self._ev(oid, o, "review_accept", "pending_revisit", reviewed, actor=disp, unit=centre)
            o.dl_start, o.dl_due = reviewed, reviewed + 4.2 * DAY
            tv = reviewed + rng.uniform(2 * HOUR, 96 * HOUR)
            if rng.random() < 0.06:  # closed without a revisit
                self._ev(oid, o, "close", "closed", tv, actor=disp, unit=centre)
                o.closed, o.dl_start, o.dl_due = tv, None, None
                return
            m = rng.random()
            method = "phone" if m < 0.85 else "sms" if m < 0.95 else "unreachable"
            if method == "unreachable":
                resolved, satisfaction = None, ""
            else:
                resolved = result == "resolved" or (result == "explained" and rng.random() < 0.6)
                s = rng.random()
                if not resolved:
                    satisfaction = "satisfied" if s < 0.3 else "basically" if s < 0.6 else "unsatisfied"
                else:
                    satisfaction = "satisfied" if s < 0.8 else "basically" if s < 0.96 else "unsatisfied"
            unhappy = resolved is False or satisfaction == "unsatisfied"
            reopen = unhappy and o.round < 3 and rng.random() < 0.55
            if tv > self.now:
                raise _Stop
            self.rows["revisit"].append(
                (
                    self.next_id("revisit"),
                    oid,
                    o.round,
                    method,
                    resolved,
                    satisfaction,
                    "",
                    reopen,
                    disp,
                    ts(tv),
                )
            )
            o.satisfaction, o.resolved = satisfaction, resolved
            o.revisited = o.revisited or method != "unreachable"
            if reopen:  # 二次派单: a new round, to the same unit or another one
                o.round += 1
                self._ev(oid, o, "revisit", "pending_dispatch", tv, actor=disp, unit=centre,
                         data='{"reopened": true}')  # fmt: skip
                o.lead, o.answer_due, o.dl_start, o.dl_due = None, None, None, None
                if rng.random() < 0.3:
                    lead = self._other_unit(lead)
                t = tv + rng.uniform(600, 8 * HOUR)
                continue
            self._ev(oid, o, "revisit", "closed", tv, actor=disp, unit=centre)
            o.closed, o.dl_start, o.dl_due = tv, None, None
            return

    def _finish(
        self,
        oid: int,
        o: _Order,
        created: float,
        channel: str,
        leaf: Any,
        urgency: str,
        complex_case: bool,
        region: int | None,
        agent: int | None,
        rng: random.Random,
    ) -> None:
        now = self.now
        due = started = warn = urgent = None
        level = 0
        running = ("pending_sign", "handling", "pending_review", "pending_revisit", "return_requested")
        if o.state in running and o.dl_start is not None and o.dl_due is not None:
            started, due = o.dl_start, o.dl_due
            span = due - started
            warn, urgent = started + 0.7 * span, started + 0.9 * span
            at = o.paused if o.paused is not None else now
            level = 100 if due <= at else 90 if urgent <= at else 70 if warn <= at else 0
            if level == 100:
                o.was_overdue = True
                o.unit_overdue = o.unit_overdue or o.state in ("pending_sign", "handling")
        name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]
        topic = leaf[1] if leaf is not None else "其他"
        place = self.street_names.get(region, "本市") if region else "本市"
        self.rows["order"].append(
            (
                oid, self._number(created), o.state, o.round, channel, self.pick_rt(rng),
                leaf[0] if leaf is not None else None, urgency, complex_case, f"关于{topic}的诉求",
                f"市民来电反映{place}{rng.randrange(1, 300)}号附近{topic}问题，希望有关部门尽快处理。",
                None, name, f"13{rng.randrange(10**9):09d}", "", rng.random() < 0.03, False,
                f"{place}{rng.randrange(1, 300)}号", region, "", agent, ts(created), ts(o.updated), o.lead,
                _t(o.dispatched), _t(due), _t(started), _t(warn), _t(urgent), level, _t(o.answer_due),
                _t(o.paused), o.was_overdue, o.result, o.answer, _t(o.answered), o.satisfaction, _t(o.closed),
                o.closed_directly, o.merged_into, rng.random() < 0.01,
                o.resolved, o.revisited, o.extended, o.returned, o.unit_overdue,
            )
        )  # fmt: skip
        for row in o.assignments:
            self.rows["assignment"].append(
                tuple(ts(v) if i in (6, 8, 9, 11) and v is not None else v for i, v in enumerate(row))
            )
        for row in o.extensions:
            self.rows["extension"].append(
                tuple(ts(v) if i in (7, 9, 11, 12) and v is not None else v for i, v in enumerate(row))
            )


def _t(epoch: float | None) -> dt.datetime | None:
    return None if epoch is None else ts(epoch)


# ==================================================================================================
# Calls: a simulated centre
# ==================================================================================================


class CallGenerator:
    """Inbound calls over ``days`` local days up to ``now``, answered by ``agents`` agents in shifts.

    Calls arrive by the hour profile; 8 % end in the IVR, a few are refused or fail; the rest wait
    in a queue for the agent who is free first (first come, first served). A caller whose patience
    runs out abandons (some within 5 s); one whose wait would be long may accept a callback. An
    agent may not answer an offer (15 s of ringing, then the next agent); 3 % of answered calls
    are transferred to another queue. Agents log in for their shift (six days of seven), pause
    three times in it, sometimes go off hook after a call, and log out at its end (after the call
    they are in). Every call writes its call record, its queue events and the answering agents'
    state changes, so the three tables agree."""

    RING_TIMEOUT = 15.0
    SHORT_ABANDON = 5.0

    def __init__(self, world: dict[str, Any], *, n: int, days: int, now: float, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = n
        self.now = now
        self.agents = world["agents"]
        self.first_day = local_midnight_epoch(now) - (days - 1) * DAY
        self.days = days
        self.pick_queue = Picker([q for q, _, _ in QUEUES], [w for _, _, w in QUEUES])
        self.pick_number = Picker([q for q, _, _ in NUMBERS], [w for _, _, w in NUMBERS])
        self.pick_trunk = Picker([t for t, _ in TRUNKS], [w for _, w in TRUNKS])
        self.pick_hour = Picker(list(range(24)), HOUR_PROFILE)
        self.ids = Counter({"call": 0, "qevent": 0, "astate": 0})
        self.rows: dict[str, list[tuple[Any, ...]]] = {"call": [], "qevent": [], "astate": []}
        self.outcomes: Counter[str] = Counter()
        self.heap: list[tuple[float, int, float]] = []  # (free at, agent index, shift end)
        self.pauses: dict[int, list[tuple[float, float, str]]] = {}
        # what the switch's record mark would say at ``now``: the calls of the last ten minutes are
        # not loaded (they count as going on), nor are those still going on or wrapped up
        self.settled = now - 600
        self._started = 0.0  # the call being generated

    def _shifts(self) -> list[tuple[float, float, int]]:
        shifts = []
        kinds = Picker(SHIFTS, [w for _, _, w in SHIFTS])
        rng = random.Random(self.rng.random())
        kind_of = [kinds(rng) for _ in self.agents]
        for day in range(-1, self.days):
            midnight = self.first_day + day * DAY
            for a, (start_h, length, _w) in enumerate(kind_of):
                if (day + a) % 7 == 0:
                    continue  # a day off
                start = midnight + start_h * HOUR + rng.uniform(-300, 300)
                shifts.append((start, start + length * HOUR, a))
        shifts.sort()
        return shifts

    def _astate(
        self, a: int, state: str, at: float, *, reason: str = "", call: str = "", queue: str = ""
    ) -> None:
        if at > self.now:
            return  # not yet happened
        self.ids["astate"] += 1
        self.rows["astate"].append(
            (self.ids["astate"], self.agents[a], state, ts(at), reason, call, queue, None)
        )

    def _qevent(self, kind: str, at: float, queue: str, call: str, agent: int | None = None,
                wait: float | None = None, position: int | None = None) -> None:  # fmt: skip
        if at > self.now:
            return
        self.ids["qevent"] += 1
        self.rows["qevent"].append(
            (self.ids["qevent"], kind, ts(at), queue, call, None if agent is None else self.agents[agent],
             position, None if wait is None else round(wait, 3), "{}")
        )  # fmt: skip

    def chunks(self, size: int) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        rng = self.rng
        shifts = self._shifts()
        s_i = 0
        day_w = [
            WEEKDAY_FACTOR[
                dt.datetime.fromtimestamp(self.first_day + d * DAY + LOCAL_OFFSET_S, UTC).weekday()
            ]
            for d in range(self.days)
        ]
        per_day = [self.n * w / sum(day_w) for w in day_w]
        for d in range(self.days):
            midnight = self.first_day + d * DAY
            arrivals = sorted(
                midnight + self.pick_hour(rng) * HOUR + rng.random() * HOUR for _ in range(round(per_day[d]))
            )
            for started in arrivals:
                if started >= self.now - 600:
                    continue  # the day is not over: only what has ended by now
                while s_i < len(shifts) and shifts[s_i][0] <= started + 60:
                    start, end, a = shifts[s_i]
                    s_i += 1
                    self._astate(a, "ready", start)
                    self._qevent("agent_login", start, "", "", a)
                    self.pauses[a] = [(start + h * HOUR, dur, reason) for h, dur, reason in PAUSES]
                    heapq.heappush(self.heap, (start, a, end))
                self._call(started)
                if len(self.rows["astate"]) >= size:
                    yield self.rows
                    self.rows = {"call": [], "qevent": [], "astate": []}
        for free, a, end in self.heap:  # the shifts that are over by now
            out = max(free, end)
            if out < self.now:
                self._astate(a, "logged_out", out)
                self._qevent("agent_logout", out, "", "", a)
        self.heap = []
        yield self.rows

    def _free_agent(self, t: float) -> tuple[float, int, float] | None:
        """The agent free first for a call at ``t`` (still in the heap), after logging out those whose
        shift is over and pausing those whose pause is due."""
        heap = self.heap
        while heap:
            free, a, end = heap[0]
            if max(free, t) >= end:
                heapq.heappop(heap)
                out = max(free, end)
                self._astate(a, "logged_out", out)
                self._qevent("agent_logout", out, "", "", a)
                continue
            pauses = self.pauses.get(a)
            if pauses and pauses[0][0] <= max(free, t):
                p_at, dur, reason = pauses.pop(0)
                heapq.heappop(heap)
                start = max(free, p_at)
                self._astate(a, "paused", start, reason=reason)
                self._astate(a, "ready", start + dur)
                heapq.heappush(heap, (start + dur, a, end))
                continue
            return heap[0]
        return None

    def _serve(self, call: str, queue: str, entered: float, patience: float,
               callback_ok: bool) -> tuple[str, float, int | None, float, float, float]:  # fmt: skip
        """One queue visit: (how it ended, when, agent index, talk, hold, end of the agent's talk)."""
        rng = self.rng
        t = entered
        top = self._free_agent(t)
        self._qevent("enter", entered, queue, call, position=1 + int(top is not None and top[0] > t))
        if top is None or top[0] > entered:
            self._qevent("all_busy", entered, queue, call)
        while True:
            top = self._free_agent(t)
            start = top[0] if top is not None else math.inf
            start = max(start, t)
            if callback_ok and start - entered > 90 and patience > 60 and rng.random() < 0.25:
                at = entered + 60
                self._qevent("callback", at, queue, call, wait=60.0)
                return "callback", at, None, 0.0, 0.0, at
            if top is None or start - entered > patience:
                waited = min(patience, 600.0)
                at = entered + waited
                self._qevent("abandon", at, queue, call, wait=waited)
                return "abandoned", at, None, 0.0, 0.0, at
            heapq.heappop(self.heap)
            a, end = top[1], top[2]
            self._qevent("offer", start, queue, call, a)
            self._astate(a, "ringing", start, call=call, queue=queue)
            if rng.random() < 0.015:  # rang out: the next agent
                t = start + self.RING_TIMEOUT
                self._qevent("no_answer", t, queue, call, a)
                self._astate(a, "ready", t)
                heapq.heappush(self.heap, (t, a, end))
                continue
            connect = start + rng.uniform(2, 5)
            self._qevent("connect", connect, queue, call, a, wait=connect - entered)
            self._astate(a, "talking", connect, call=call, queue=queue)
            talk = min(rng.lognormvariate(math.log(62), 0.5), 1800)
            hold = 0.0
            if rng.random() < 0.1:
                hold = rng.uniform(15, 60)
                mid = connect + talk / 2
                self._astate(a, "hold", mid, call=call, queue=queue)
                self._astate(a, "talking", mid + hold, call=call, queue=queue)
            talk_end = connect + talk + hold
            free = talk_end + rng.uniform(4, 16)
            self._astate(a, "wrap_up", talk_end, call=call, queue=queue)
            if rng.random() < 0.004:  # the phone off hook for a while (摘机)
                self._astate(a, "off_hook", free)
                free += rng.uniform(30, 180)
            self._astate(a, "ready", free)
            if free > self.now:  # still wrapping it up
                self.settled = min(self.settled, self._started)
            heapq.heappush(self.heap, (free, a, end))
            return "answered", connect, a, talk, hold, talk_end

    def _call(self, started: float) -> None:
        rng = self.rng
        self.ids["call"] += 1
        cid = self.ids["call"]
        call = f"bench-{cid:09d}"
        caller = f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
        called, trunk = self.pick_number(rng), self.pick_trunk(rng)
        ivr = rng.uniform(8, 40)
        r = rng.random()
        self._started = started
        queue, agent_id = "", None
        queued = answered = None
        wait = talk = hold = 0.0
        transfers = 0
        if r < 0.004:
            outcome, ended = "failed", started + rng.uniform(1, 5)
        elif r < 0.006:
            outcome, ended = "refused", started + rng.uniform(1, 5)
        elif r < 0.086:
            outcome, ended = "ivr", started + ivr + rng.uniform(10, 90)
        else:
            queue = self.pick_queue(rng)
            queued = started + ivr
            patience = rng.expovariate(1 / 120)
            outcome, at, a, talk, hold, talk_end = self._serve(call, queue, queued, patience, True)
            wait = at - queued
            if outcome == "answered":
                answered = at
                agent_id = self.agents[a]  # type: ignore[index]
                if rng.random() < 0.03:  # transferred to another queue after a first talk
                    other = self.pick_queue(rng)
                    while other == queue:
                        other = self.pick_queue(rng)
                    self._qevent("transfer", talk_end, queue, call, a)
                    transfers = 1
                    second = self._serve(call, other, talk_end, 1e9, False)
                    _outcome2, at2, a2, talk2, hold2, talk_end = second
                    queue = other
                    wait += at2 - talk_end
                    talk += talk2
                    hold += hold2
                    if a2 is not None:
                        agent_id = self.agents[a2]
                        a = a2
                self._qevent("complete", talk_end, queue, call, a)
                ended = talk_end
            else:
                ended = at
        if ended > self.now:
            self.settled = min(self.settled, started)
            return  # still going on: its record is written when it ends
        self.outcomes[outcome] += 1
        self.rows["call"].append(
            (cid, call, "inbound", caller, called, trunk, ts(started), ts(ended), outcome, queue, agent_id,
             _t(queued), _t(answered), round(wait, 3), round(talk, 3), round(hold, 3), transfers, "[]", 0,
             "{}")
        )  # fmt: skip


# ==================================================================================================
# Loading
# ==================================================================================================


def _copy_rows(
    cur: Any, table: str, cols: list[str], rows: list[tuple[Any, ...]], extra: tuple[Any, ...]
) -> None:
    if not rows:
        return
    with cur.copy(f"COPY {table} ({','.join(cols)}) FROM STDIN") as copy:
        if extra:
            for r in rows:
                copy.write_row(r + extra)
        else:
            for r in rows:
                copy.write_row(r)


def load(world: dict[str, Any], *, orders: int, calls: int, now: float, seed: int) -> dict[str, Any]:
    """COPY the orders with their histories and the calls with their logs, the secondary indexes
    dropped during the load and built again after it, then VACUUM ANALYZE."""
    from django.db import connection

    from hotline.callcenter.models import AgentStateLog, CallRecord, QueueEventLog, RecordMark
    from hotline.workorders.models import Assignment, Extension, OrderEvent, Revisit, WorkOrder

    tables = {
        "order": ("workorders_workorder", WorkOrder, ORDER_COLS + ORDER_FACT_COLS),
        "assignment": ("workorders_assignment", Assignment, ASSIGNMENT_COLS),
        "event": ("workorders_orderevent", OrderEvent, EVENT_COLS),
        "extension": ("workorders_extension", Extension, EXTENSION_COLS),
        "revisit": ("workorders_revisit", Revisit, REVISIT_COLS),
        "call": ("callcenter_callrecord", CallRecord, CALL_COLS),
        "qevent": ("callcenter_queueeventlog", QueueEventLog, QEVENT_COLS),
        "astate": ("callcenter_agentstatelog", AgentStateLog, ASTATE_COLS),
    }
    spec: dict[str, tuple[str, list[str], tuple[Any, ...]]] = {}
    for key, (table, model, cols) in tables.items():
        extra_cols, extra = _extra_columns(model, cols)
        spec[key] = (table, cols + extra_cols, extra)
    connection.ensure_connection()
    raw = connection.connection
    cur = raw.cursor()
    out: dict[str, Any] = {}
    names = [t for t, _m, _c in tables.values()]
    indexes = _indexes_to_rebuild(cur, "postgresql", names)
    for name, _sql in indexes:
        cur.execute(f'DROP INDEX "{name}"')

    def copy_chunk(rows: dict[str, list[tuple[Any, ...]]]) -> None:
        with raw.transaction():
            cur.execute("SET LOCAL session_replication_role = replica")  # no FK triggers: rows agree
            for key, chunk in rows.items():
                table, cols, extra = spec[key]
                _copy_rows(cur, table, cols, chunk, extra)

    t0 = time.perf_counter()
    gen = HistoryGenerator(world, n=orders, now=now, seed=seed)
    for i, chunk in enumerate(gen.chunks(20_000)):
        copy_chunk(chunk)
        if i % 10 == 9:
            log(f"  orders: {gen.ids['order']:,} ({time.perf_counter() - t0:.0f} s)")
    out["orders_s"] = round(time.perf_counter() - t0, 1)
    out["rows"] = {f"orders_{k}": v for k, v in gen.ids.items()}
    out["order_states"] = dict(gen.states.most_common())
    log(f"  {orders:,} orders in {out['orders_s']} s: {dict(gen.ids)}")

    t1 = time.perf_counter()
    agents = len(world["agents"])
    cgen = CallGenerator(world, n=calls, days=CALL_DAYS, now=now, seed=seed + 7)
    for i, chunk in enumerate(cgen.chunks(200_000)):
        copy_chunk(chunk)
        if i % 10 == 9:
            log(f"  calls: {cgen.ids['call']:,} ({time.perf_counter() - t1:.0f} s)")
    out["calls_s"] = round(time.perf_counter() - t1, 1)
    out["rows"].update({f"calls_{k}": v for k, v in cgen.ids.items()})
    out["call_outcomes"] = dict(cgen.outcomes.most_common())
    out["agents"] = agents
    settled = dt.datetime.fromtimestamp(cgen.settled, UTC)
    RecordMark.objects.update_or_create(
        source=RecordMark.SWITCH, defaults={"settled": settled, "updated_at": settled}
    )
    out["records_settled"] = settled.isoformat()
    log(f"  {cgen.ids['call']:,} calls in {out['calls_s']} s: {dict(cgen.ids)}")
    for table in names:
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")

    t2 = time.perf_counter()
    cur.execute("SET maintenance_work_mem = '1GB'")
    for _name, sql in indexes:
        cur.execute(sql)
    cur.execute("RESET maintenance_work_mem")
    out["build_indexes_s"] = round(time.perf_counter() - t2, 1)
    t3 = time.perf_counter()
    for table in names:
        cur.execute(f"VACUUM ANALYZE {table}")
    cur.execute("ANALYZE")
    out["analyze_s"] = round(time.perf_counter() - t3, 1)
    cur.close()
    connection.close()
    return out


# ==================================================================================================
# Measuring
# ==================================================================================================


def month_range(now: dt.datetime, months_back: int, count: int = 1) -> tuple[dt.datetime, dt.datetime]:
    """``count`` whole local months ending ``months_back - 1`` months before the month of ``now``."""
    local = now.astimezone(LOCAL_TZ)
    y, m = local.year, local.month - months_back
    while m < 1:
        y, m = y - 1, m + 12
    start = dt.datetime(y, m, 1, tzinfo=LOCAL_TZ)
    ey, em = y, m + count
    while em > 12:
        ey, em = ey + 1, em - 12
    return start, dt.datetime(ey, em, 1, tzinfo=LOCAL_TZ)


def call_month(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The calls' report range: last month if the calls cover all of it, else the last 28 whole
    local days."""

    month = month_range(now, 1)
    if now - dt.timedelta(days=CALL_DAYS - 1) <= month[0]:
        return month
    today, _end = local_day(now)
    return today - dt.timedelta(days=28), today


def timed_runs(fn: Callable[[], Any], *, runs: int, budget_s: float) -> tuple[list[float], Any]:
    """One warm-up call, then up to ``runs`` timed calls (fewer if they exceed ``budget_s``)."""
    result = fn()
    samples: list[float] = []
    spent = 0.0
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - t0
        samples.append(elapsed)
        spent += elapsed
        if spent > budget_s and len(samples) >= 3:
            break
    return samples, result


def _force(value: Any) -> Any:
    """Evaluate what a report returns (a lazy queryset's first page, a table's rows)."""
    from django.db.models import QuerySet

    if isinstance(value, QuerySet):
        return list(value[:50])
    return value


def report_queries(now: dt.datetime) -> list[tuple[str, Callable[[], Any]]]:
    """(name, call) of every standard report and dashboard query that exists in the code."""
    queries: list[tuple[str, Callable[[], Any]]] = []
    try:
        orders = importlib.import_module("hotline.reports.orders")
    except ImportError as exc:
        log(f"hotline.reports.orders: {exc}")
        orders = None
    try:
        calls = importlib.import_module("hotline.reports.calls")
    except ImportError as exc:
        log(f"hotline.reports.calls: {exc}")
        calls = None
    month = month_range(now, 1)
    quarter = month_range(now, 3, 3)
    calls_range = call_month(now)

    def add(module: Any, fn_name: str, name: str, **kwargs: Any) -> None:
        fn = getattr(module, fn_name, None) if module is not None else None
        if fn is None:
            return
        queries.append((name, lambda: _force(fn(**kwargs))))

    if orders is not None:
        from hotline.reports.models import AssessmentScheme

        scheme = AssessmentScheme.objects.filter(active=True).first()
        add(orders, "assessment", "assessment_month", start=month[0], end=month[1], scheme=scheme)
        add(orders, "assessment", "assessment_quarter", start=quarter[0], end=quarter[1], scheme=scheme)
        for by in ("unit", "region", "category", "type", "channel", "total"):
            add(orders, "order_measures", f"order_measures_{by}", start=month[0], end=month[1], by=by)
        for by in ("channel", "type", "category", "region", "hour", "day"):
            add(orders, "volume", f"volume_{by}", start=month[0], end=month[1], by=by)
        add(orders, "rising_categories", "rising_categories", start=month[0], end=month[1])
        add(
            orders, "summary_table", "summary_complaints", start=month[0], end=month[1], type_code="complaint"
        )
        add(orders, "summary_table", "summary_consultations", start=month[0], end=month[1],
            type_code="consultation")  # fmt: skip
        add(orders, "dashboard_orders", "dashboard_orders", now=now)
        add(orders, "order_drill", "order_drill_first_page", start=month[0], end=month[1],
            measure="received", by="total", key="")  # fmt: skip
    if calls is not None:
        for by in ("queue", "hour", "number", "trunk"):
            add(calls, "queue_report", f"queue_report_{by}", start=calls_range[0], end=calls_range[1], by=by)
        add(calls, "agent_report", "agent_report", start=calls_range[0], end=calls_range[1])
        add(calls, "trunk_report", "trunk_report", start=calls_range[0], end=calls_range[1])
        add(calls, "dashboard_calls", "dashboard_calls", now=now)
        add(calls, "connection_rate_24h", "connection_rate_24h", end=now)
        add(
            calls,
            "lowest_connection_rate_24h",
            "lowest_connection_rate_24h_month",
            start=calls_range[0],
            end=calls_range[1],
        )
    return queries


def measure_reports(now: dt.datetime, *, runs: int, budget_s: float) -> dict[str, Any]:
    from django.db import connection

    out: dict[str, Any] = {}
    for name, fn in report_queries(now):
        try:
            samples, _result = timed_runs(fn, runs=runs, budget_s=budget_s)
        except Exception as exc:
            traceback.print_exc()
            out[name] = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            log(f"  {name}: failed: {out[name]['error'][:200]}")
            connection.close()
            continue
        out[name] = {
            "n": len(samples),
            "p50_s": round(percentile(samples, 50), 3),
            "p95_s": round(percentile(samples, 95), 3),
            "max_s": round(max(samples), 3),
        }
        log(f"  {name}: p50 {out[name]['p50_s']} s, p95 {out[name]['p95_s']} s")
    return out


def measure_rollup(now: dt.datetime) -> dict[str, Any]:
    try:
        rollup = importlib.import_module("hotline.reports.rollup")
    except ImportError as exc:
        return {"error": f"ImportError: {exc}"}
    t0 = time.perf_counter()
    hours = rollup.rollup_sealed(now=now)
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    again = rollup.rollup_sealed(now=now)
    second = time.perf_counter() - t1
    return {"hours": hours, "seconds": round(first, 2), "second_run_hours": again,
            "second_run_seconds": round(second, 3)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000, help="work orders with their histories")
    parser.add_argument("--calls", type=int, default=5_000_000, help="inbound calls over 77 days")
    parser.add_argument("--agents", type=int, default=None,
                        help="agents (default: 400, fewer in proportion for fewer calls)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each query after a warm-up")
    parser.add_argument("--budget", type=float, default=60, help="seconds at most per query's timed runs")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--out", default=str(RESULTS / "reports.json"))
    parser.add_argument("--now", default="peak",
                        help='the moment the data runs up to and the reports are read at: "peak" (default: '
                             "the last Monday, the busiest day, at 11:08 in the centre's time, when the "
                             "busiest hour is over but not sealed, so the call dashboard reads the most raw "
                             'records), "wall" (when the benchmark runs) or a time such as 2026-11-16T11:08 '
                             "(the centre's time unless it has an offset)")  # fmt: skip
    parser.add_argument("--keep", action="store_true",
                        help="keep the database; reuse one loaded with the same sizes")  # fmt: skip
    args = parser.parse_args()
    agents = args.agents or max(10, round(400 * min(1.0, args.calls / 5_000_000)))

    started = time.perf_counter()
    cpu_before = cpu_times()
    pg_url = os.environ.get("DATABASE_URL") or PG_DEFAULT_URL
    if not pg_url.startswith("postgres"):
        pg_url = PG_DEFAULT_URL
    if not pg_reachable(pg_url):
        print(
            f"PostgreSQL is not reachable at {pg_url}: start it with scripts/test-services.sh",
            file=sys.stderr,
        )
        return 2
    pg_version = pg_admin(pg_url, "SHOW server_version")[0]
    url = with_database(pg_url, PG_BENCH_DB)
    params = {"orders": args.orders, "calls": args.calls, "agents": agents, "seed": args.seed}
    try:
        chosen_now = pick_now(args.now, dt.datetime.now(UTC))
    except ValueError as exc:
        print(f"--now: {exc}", file=sys.stderr)
        return 2
    loaded = _loaded_meta(pg_url, url) if args.keep else None
    reuse = loaded is not None and (loaded.get("parameters"), loaded.get("now")) == (
        params,
        chosen_now.isoformat(),
    )
    if not reuse:
        pg_admin(
            pg_url, f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)", f"CREATE DATABASE {PG_BENCH_DB}"
        )
    workdir = Path(tempfile.mkdtemp(prefix="hotline-bench-reports-", dir="/tmp"))
    os.environ.pop("REDIS_URL", None)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        HOTLINE_DEBUG="false",
        DATABASE_URL=url,
        HOTLINE_VAR_DIR=str(workdir),
        HOTLINE_LOG_LEVEL="WARNING",
        HOTLINE_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    results: dict[str, Any] = {
        "benchmark": "reports",
        "date": dt.datetime.now(UTC).isoformat(timespec="seconds"),
        "code": git_state(),
        "machine": machine_info(pg_version),
        "parameters": {
            **params,
            "call_days": CALL_DAYS,
            "order_span_days": ORDER_SPAN_DAYS,
            "runs_per_query": args.runs,
            "database": PG_BENCH_DB,
            "settings": "config.settings.local, HOTLINE_DEBUG=false",
        },
        "targets": TARGETS,
        "figures": {},
        "details": {},
    }
    try:
        if reuse:
            assert loaded is not None
            log(f"reusing the loaded database {PG_BENCH_DB}; the roll-up starts again")
            now = dt.datetime.fromisoformat(loaded["now"])
            results["details"]["load"] = loaded["load"]
            call_command("migrate", interactive=False, verbosity=0)
            reset_rollups()
        else:
            log("migrate")
            t = time.perf_counter()
            call_command("migrate", interactive=False, verbosity=0)
            migrate_s = round(time.perf_counter() - t, 1)
            log(f"the city, categories, queues and {agents} agents")
            world = build_world(agents=agents, seed=args.seed)
            now = chosen_now
            log(f"loading {args.orders:,} orders and {args.calls:,} calls up to {now.astimezone(LOCAL_TZ)}")
            t = time.perf_counter()
            detail = load(world, orders=args.orders, calls=args.calls, now=now.timestamp(), seed=args.seed)
            detail["migrate_s"] = migrate_s
            detail["total_s"] = round(time.perf_counter() - t, 1)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
                detail["database_size"] = cursor.fetchone()[0]
                cursor.execute("CREATE TABLE bench_meta (data jsonb)")
                cursor.execute(
                    "INSERT INTO bench_meta VALUES (%s::jsonb)",
                    [json.dumps({"parameters": params, "now": now.isoformat(), "load": detail})],
                )
            results["details"]["load"] = detail
            log(f"loaded in {detail['total_s']} s ({detail['database_size']})")
        results["parameters"]["now"] = now.isoformat()
        results["parameters"]["now_local"] = now.astimezone(LOCAL_TZ).strftime("%A %Y-%m-%d %H:%M")
        results["parameters"]["now_option"] = args.now

        log("roll-up of the sealed hours")
        results["details"]["rollup"] = rollup = _guarded(lambda: measure_rollup(now))
        log(f"  {rollup}")
        log("reports")
        results["details"]["reports"] = reports = measure_reports(now, runs=args.runs, budget_s=args.budget)
        log("figures against counts over the raw rows")
        results["details"]["raw_counts"] = raw = _guarded(lambda: check_raw_counts(now))
        p95 = [v["p95_s"] for v in reports.values() if "p95_s" in v]
        figures = results["figures"]
        size = f"{size_label(args.orders)}_orders_{size_label(args.calls)}_calls"
        figures["size"] = size
        figures["report_p95_s"] = max(p95) if p95 else None
        figures["report_p95_worst_query"] = (
            max(reports, key=lambda k: reports[k].get("p95_s", -1)) if p95 else None
        )
        figures["report_queries_timed"] = len(p95)
        figures["report_queries_failed"] = sorted(k for k, v in reports.items() if "error" in v)
        figures["matches_raw_counts"] = raw.get("matches") if isinstance(raw, dict) else None
        figures["raw_counts_compared"] = raw.get("compared") if isinstance(raw, dict) else None
        figures["rollup_s"] = rollup.get("seconds") if isinstance(rollup, dict) else None
        figures["load_s"] = results["details"]["load"].get("total_s")
        figures["per_query_p95_s"] = {k: v.get("p95_s") for k, v in reports.items()}
    finally:
        connection.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep:
            pg_admin(pg_url, f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["machine"]["cpu_during_run"] = cpu_share(cpu_before, cpu_times())
    results["duration_s"] = round(time.perf_counter() - started, 1)
    write_json(Path(args.out), results)
    print()
    print(f"Report benchmark, {results['date']}, {results['duration_s']} s — {args.out}")
    for key, value in results["figures"].items():
        if key != "per_query_p95_s":
            print(f"  {key:28s} {value}")
    for key, value in results["figures"].get("per_query_p95_s", {}).items():
        print(f"    {key:32s} p95 {value} s")
    return 0


PEAK_TIME = dt.time(11, 8)  # the busiest hour (10:00–11:00) is over; its last calls are going on


def pick_now(option: str, wall: dt.datetime) -> dt.datetime:
    """The benchmark's "now" for ``--now`` (see its help), in UTC, whole seconds."""
    if option == "wall":
        return wall.replace(microsecond=0)
    if option == "peak":
        local = wall.astimezone(LOCAL_TZ)
        day = local.date() - dt.timedelta(days=local.weekday() or 7)  # the last Monday before today
        return dt.datetime.combine(day, PEAK_TIME, LOCAL_TZ).astimezone(UTC)
    at = dt.datetime.fromisoformat(option)
    if at.tzinfo is None:
        at = at.replace(tzinfo=LOCAL_TZ)
    if at > wall:
        raise ValueError("the benchmark's now cannot be in the future")
    return at.astimezone(UTC).replace(microsecond=0)


def reset_rollups() -> None:
    """Empty the roll-up tables of a kept database, so that the roll-up is measured again with the
    code as it is now."""
    from django.apps import apps
    from django.db import connection

    tables = [
        m._meta.db_table
        for m in apps.get_app_config("reports").get_models()
        if m.__name__.endswith("Hour") or m.__name__ == "RollupMark"
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"TRUNCATE {table}")


def _guarded(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A measurement whose failure is recorded in the results, so that the next one still runs."""
    from django.db import connection

    try:
        return fn()
    except Exception as exc:
        traceback.print_exc()
        connection.close()
        return {"error": f"{type(exc).__name__}: {exc}"[:1000]}


def _loaded_meta(admin_url: str, url: str) -> dict[str, Any] | None:
    """What a kept database was loaded with, or None if there is none."""
    import psycopg

    from bench._common import pg_connect_params

    if not pg_admin(admin_url, f"SELECT 1 FROM pg_database WHERE datname = '{PG_BENCH_DB}'")[0]:
        return None
    try:
        with psycopg.connect(**pg_connect_params(url)) as conn:
            row = conn.execute("SELECT data FROM bench_meta").fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


# --- Figures against counts over the raw rows ----------------------------------------------------------
#
# Each count below is written from the definitions in docs/measures.md and docs/callcenter.md, in
# plain SQL over the raw tables, without the report code: a report that pre-aggregates, caches or
# joins differently must still give the same numbers.

UNIT_TREE = """
WITH RECURSIVE tree(root, id) AS (
    SELECT id, id FROM orgs_unit WHERE parent_id IS NULL AND kind <> 'centre'
    UNION ALL SELECT t.root, u.id FROM orgs_unit u JOIN tree t ON u.parent_id = t.id)
"""
REGION_TREE = """
WITH RECURSIVE tree(root, id) AS (
    SELECT r.id, r.id FROM orgs_region r JOIN orgs_region p ON r.parent_id = p.id WHERE p.parent_id IS NULL
    UNION ALL SELECT t.root, r.id FROM orgs_region r JOIN tree t ON r.parent_id = t.id)
"""
CATEGORY_TREE = """
WITH RECURSIVE tree(root, id) AS (
    SELECT id, id FROM taxonomy_category WHERE parent_id IS NULL
    UNION ALL SELECT t.root, c.id FROM taxonomy_category c JOIN tree t ON c.parent_id = t.id)
"""
LATEST_REVISITS = """
latest AS (
    SELECT DISTINCT ON (v.order_id) v.order_id, v.resolved, v.satisfaction
    FROM workorders_revisit v ORDER BY v.order_id, v.round DESC, v.id DESC)
"""


def raw_order_counts(start: dt.datetime, end: dt.datetime) -> dict[str, dict[Any, dict[str, int]]]:
    """Per top unit (with its sub-units), per district, per channel and per level-1 category."""
    from django.db import connection

    period = "o.created_at >= %(start)s AND o.created_at < %(end)s"
    p = {"start": start, "end": end}
    out: dict[str, dict[Any, dict[str, int]]] = {}

    def fetch(key: str, sql: str, params: dict[str, Any]) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            names = [c.name for c in cursor.description]
            out[key] = {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in cursor.fetchall()}

    fetch(
        "unit_orders",
        UNIT_TREE
        + f"""
        SELECT t.root,
               count(*) AS received,
               count(*) FILTER (WHERE o.dispatched_at IS NOT NULL) AS dispatched,
               count(*) FILTER (WHERE o.state = 'closed') AS closed,
               count(*) FILTER (WHERE o.state = 'cancelled') AS cancelled,
               count(*) FILTER (WHERE o.round > 1) AS reopened,
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM workorders_extension e
                                              WHERE e.order_id = o.id AND e.state = 'approved'))
                   AS extensions,
               count(*) FILTER (WHERE EXISTS (SELECT 1 FROM workorders_revisit v
                                              WHERE v.order_id = o.id AND v.method <> 'unreachable'))
                   AS revisited,
               count(*) FILTER (WHERE o.state = 'closed' AND o.round = 1 AND NOT EXISTS (
                   SELECT 1 FROM workorders_assignment a
                   WHERE a.order_id = o.id AND a.role = 'lead' AND a.state = 'returned'))
                   AS first_contact_rate_num
        FROM workorders_workorder o JOIN tree t ON t.id = o.lead_unit_id
        WHERE {period} AND o.state <> 'merged' GROUP BY t.root""",
        p,
    )
    fetch(
        "unit_assignments",
        UNIT_TREE
        + f"""
        SELECT t.root,
               count(*) FILTER (WHERE a.signed_at IS NOT NULL
                                   OR (a.state = 'pending_sign' AND o.deadline_level = 100)) AS sign_rate_den,
               count(*) FILTER (WHERE a.signed_at IS NOT NULL
                                AND (a.sign_due_at IS NULL OR a.signed_at <= a.sign_due_at)) AS sign_rate_num,
               count(*) FILTER (WHERE a.state = 'returned') AS returns
        FROM workorders_assignment a JOIN workorders_workorder o ON o.id = a.order_id
        JOIN tree t ON t.id = a.unit_id
        WHERE {period} AND o.state <> 'merged' AND a.role = 'lead' GROUP BY t.root""",
        p,
    )
    fetch(
        "unit_revisits",
        UNIT_TREE
        + ", "
        + LATEST_REVISITS
        + f"""
        SELECT t.root,
               count(*) FILTER (WHERE l.satisfaction = 'satisfied') AS satisfied,
               count(*) FILTER (WHERE l.satisfaction <> '') AS satisfaction_rate_den,
               count(*) FILTER (WHERE l.satisfaction IN ('satisfied', 'basically')) AS satisfaction_rate_num,
               count(*) FILTER (WHERE l.resolved IS NOT NULL) AS resolution_rate_den,
               count(*) FILTER (WHERE l.resolved) AS resolution_rate_num
        FROM latest l JOIN workorders_workorder o ON o.id = l.order_id JOIN tree t ON t.id = o.lead_unit_id
        WHERE {period} AND o.state <> 'merged' GROUP BY t.root""",
        p,
    )
    fetch(
        "region_orders",
        REGION_TREE
        + f"""
        SELECT t.root, count(*) AS received, count(*) FILTER (WHERE o.state = 'closed') AS closed
        FROM workorders_workorder o JOIN tree t ON t.id = o.region_id
        WHERE {period} AND o.state <> 'merged' GROUP BY t.root""",
        p,
    )
    prev_start, prev_end = month_range(start, 1)
    last_start, last_end = month_range(start, 12)
    fetch("channel_volume", """
        SELECT o.channel,
               count(*) FILTER (WHERE o.created_at >= %(start)s AND o.created_at < %(end)s) AS count,
               count(*) FILTER (WHERE o.created_at >= %(ps)s AND o.created_at < %(pe)s) AS previous,
               count(*) FILTER (WHERE o.created_at >= %(ls)s AND o.created_at < %(le)s) AS last_year
        FROM workorders_workorder o WHERE o.state <> 'merged' GROUP BY o.channel""",
          {**p, "ps": prev_start, "pe": prev_end, "ls": last_start, "le": last_end})  # fmt: skip
    for code in ("complaint", "consultation"):
        fetch(f"summary_{code}", CATEGORY_TREE + f"""
            SELECT t.root,
                   count(*) FILTER (WHERE o.state IN ('pending_dispatch', 'pending_sign', 'return_requested',
                                    'handling', 'pending_review', 'pending_revisit')) AS open,
                   count(*) FILTER (WHERE o.state = 'closed') AS closed,
                   count(*) FILTER (WHERE o.state = 'cancelled') AS cancelled,
                   count(*) AS received
            FROM workorders_workorder o JOIN tree t ON t.id = o.category_id
            JOIN taxonomy_requesttype rt ON rt.id = o.request_type_id
            WHERE {period} AND o.state <> 'merged' AND rt.code = %(code)s GROUP BY t.root""",
              {**p, "code": code})  # fmt: skip
    return out


def raw_dashboard_orders(now: dt.datetime) -> dict[str, int]:
    from django.db import connection

    day_start, _end = local_day(now)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT
                 count(*) FILTER (WHERE created_at >= %(d)s AND created_at < %(n)s AND state <> 'merged'),
                 count(*) FILTER (WHERE state IN ('pending_sign', 'handling')),
                 count(*) FILTER (WHERE state = 'closed' AND closed_at >= %(d)s AND closed_at < %(n)s)
               FROM workorders_workorder""",
            {"d": day_start, "n": now},
        )
        intake, handling, completed = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM workorders_assignment WHERE role = 'lead'"
            " AND dispatched_at >= %(d)s AND dispatched_at < %(n)s",
            {"d": day_start, "n": now},
        )
        dispatched = cursor.fetchone()[0]
    return {"intake": intake, "dispatched": dispatched, "handling": handling, "completed": completed}


def raw_call_counts(start: dt.datetime, end: dt.datetime) -> dict[str, dict[Any, dict[str, int]]]:
    """Per queue (visits: an ``enter`` and the first event that ended it), per trunk and per
    number (inbound call records by start), per agent (``connect`` and ``offer`` events)."""
    from django.db import connection

    p = {"start": start, "end": end}
    out: dict[str, dict[Any, dict[str, int]]] = {}

    def fetch(key: str, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql, p)
            names = [c.name for c in cursor.description]
            out[key] = {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in cursor.fetchall()}

    fetch("queues", """
        SELECT e.queue, count(*) AS offered,
               count(*) FILTER (WHERE x.kind = 'connect') AS answered,
               count(*) FILTER (WHERE x.kind = 'abandon' AND x.at - e.at > make_interval(secs => s.short))
                   AS abandoned,
               count(*) FILTER (WHERE x.kind = 'abandon' AND x.at - e.at <= make_interval(secs => s.short))
                   AS abandoned_short
        FROM callcenter_queueeventlog e
        CROSS JOIN (SELECT coalesce((SELECT short_abandon_s FROM callcenter_centresettings WHERE id = 1), 5)
                    AS short) s
        LEFT JOIN LATERAL (
            SELECT x.kind, x.at FROM callcenter_queueeventlog x
            WHERE x.call_id = e.call_id AND x.queue = e.queue AND x.at >= e.at
              AND x.kind IN ('connect', 'abandon', 'overflow', 'timeout', 'voicemail', 'callback')
            ORDER BY x.at, x.id LIMIT 1) x ON true
        WHERE e.kind = 'enter' AND e.at >= %(start)s AND e.at < %(end)s AND e.queue <> ''
        GROUP BY e.queue""")  # fmt: skip
    fetch("trunks", """
        SELECT trunk, count(*) AS calls,
               count(*) FILTER (WHERE outcome NOT IN ('failed', 'refused')) AS answered,
               count(*) FILTER (WHERE outcome IN ('failed', 'refused')) AS failed
        FROM callcenter_callrecord
        WHERE direction = 'inbound' AND started_at >= %(start)s AND started_at < %(end)s AND trunk <> ''
        GROUP BY trunk""")  # fmt: skip
    fetch(
        "numbers",
        """
        SELECT called, count(*) AS calls, count(*) FILTER (WHERE outcome = 'answered') AS answered
        FROM callcenter_callrecord
        WHERE direction = 'inbound' AND started_at >= %(start)s AND started_at < %(end)s GROUP BY called""",
    )
    fetch("agents", """
        SELECT agent_id, count(*) FILTER (WHERE kind = 'connect') AS answered,
               count(*) FILTER (WHERE kind = 'offer') AS offered,
               count(*) FILTER (WHERE kind = 'no_answer') AS unanswered_offers
        FROM callcenter_queueeventlog
        WHERE at >= %(start)s AND at < %(end)s AND agent_id IS NOT NULL
          AND kind IN ('connect', 'offer', 'no_answer') GROUP BY agent_id""")  # fmt: skip
    fetch("agent_orders", """
        SELECT o.created_by_id, count(*) FILTER (WHERE rt.code = 'complaint') AS complaints,
               count(*) FILTER (WHERE rt.code = 'consultation') AS consultations
        FROM workorders_workorder o JOIN taxonomy_requesttype rt ON rt.id = o.request_type_id
        JOIN accounts_user u ON u.id = o.created_by_id AND u.role = 'agent'
        WHERE o.created_at >= %(start)s AND o.created_at < %(end)s GROUP BY o.created_by_id""")  # fmt: skip
    return out


class Comparison:
    """Figures of the reports against the raw counts; every difference is listed."""

    def __init__(self) -> None:
        self.compared = 0
        self.mismatches: list[dict[str, Any]] = []
        self.skipped: list[str] = []
        self.per_report: Counter[str] = Counter()

    def same(self, where: str, got: Any, expected: Any) -> None:
        self.compared += 1
        self.per_report[where.split("[")[0].split(".")[0]] += 1
        close = isinstance(got, float) and isinstance(expected, float) and abs(got - expected) < 1e-12
        if got != expected and not close:
            self.mismatches.append({"figure": where, "report": got, "raw": expected})

    def table(self, name: str, table: Any, raw: dict[Any, dict[str, int]], columns: dict[str, str],
              *, key: Callable[[Any], Any] = lambda k: k, limit: int = 40) -> None:  # fmt: skip
        """Compare ``columns`` (report column → raw column) of the rows of ``table`` whose key is in
        ``raw`` (at most ``limit`` rows), and check that no raw key is missing from the table."""
        rows = {key(row.key): row for row in table.rows}
        for raw_key in sorted(raw, key=str)[:limit]:
            row = rows.get(raw_key)
            for report_col, raw_col in columns.items():
                expected = raw[raw_key].get(raw_col, 0)
                if row is None:
                    if expected:
                        self.same(f"{name}[{raw_key}].{report_col}", None, expected)
                    continue
                self.same(f"{name}[{raw_key}].{report_col}", row.values.get(report_col), expected)

    def run(self, name: str, fn: Callable[[], None]) -> None:
        from django.db import connection

        try:
            fn()
        except Exception as exc:
            traceback.print_exc()
            connection.close()
            self.mismatches.append({"figure": name, "error": f"{type(exc).__name__}: {exc}"[:300]})


def check_raw_counts(now: dt.datetime) -> dict[str, Any]:
    """``matches`` is true only if every compared figure equals its raw count (and none failed)."""
    cmp = Comparison()
    month = month_range(now, 1)
    t0 = time.perf_counter()
    try:
        orders = importlib.import_module("hotline.reports.orders")
    except ImportError:
        orders = None
    try:
        calls = importlib.import_module("hotline.reports.calls")
    except ImportError:
        calls = None
    if orders is None:
        cmp.skipped.append("hotline.reports.orders")
    else:
        raw = raw_order_counts(*month)

        def per_unit() -> None:
            table = orders.order_measures(start=month[0], end=month[1], by="unit")
            cmp.table(
                "order_measures(unit)",
                table,
                raw["unit_orders"],
                {
                    c: c
                    for c in (
                        "received",
                        "dispatched",
                        "closed",
                        "cancelled",
                        "reopened",
                        "extensions",
                        "revisited",
                        "first_contact_rate_num",
                    )
                },
            )
            cmp.table(
                "order_measures(unit)",
                table,
                raw["unit_assignments"],
                {"sign_rate_num": "sign_rate_num", "sign_rate_den": "sign_rate_den", "returns": "returns"},
            )
            cmp.table("order_measures(unit)", table, raw["unit_revisits"], {c: c for c in (
                "satisfied", "satisfaction_rate_num", "satisfaction_rate_den", "resolution_rate_num",
                "resolution_rate_den")})  # fmt: skip

        def assessment() -> None:
            table = orders.assessment(start=month[0], end=month[1], scheme=None)
            cmp.table("assessment", table, raw["unit_orders"], {"received": "received", "closed": "closed"})
            cmp.table("assessment", table, raw["unit_assignments"], {"sign_rate_num": "sign_rate_num"})
            cmp.table(
                "assessment", table, raw["unit_revisits"], {"satisfaction_rate_num": "satisfaction_rate_num"}
            )

        def per_region() -> None:
            table = orders.order_measures(start=month[0], end=month[1], by="region")
            cmp.table(
                "order_measures(region)",
                table,
                raw["region_orders"],
                {"received": "received", "closed": "closed"},
            )

        def volume() -> None:
            table = orders.volume(start=month[0], end=month[1], by="channel")
            cmp.table(
                "volume(channel)",
                table,
                raw["channel_volume"],
                {"count": "count", "previous": "previous", "last_year": "last_year"},
            )

        def summary() -> None:
            for code in ("complaint", "consultation"):
                table = orders.summary_table(start=month[0], end=month[1], type_code=code)
                top = {k: v for k, v in raw[f"summary_{code}"].items()}
                rows = [r for r in table.rows if r.level == 0]
                fake = type("T", (), {"rows": rows})()
                cmp.table(
                    f"summary_table({code})",
                    fake,
                    top,
                    {"open": "open", "closed": "closed", "cancelled": "cancelled", "received": "received"},
                )

        def dashboard() -> None:
            got = orders.dashboard_orders(now=now)
            for key, value in raw_dashboard_orders(now).items():
                cmp.same(f"dashboard_orders.{key}", got.get(key), value)

        for name, fn in (("order_measures(unit)", per_unit), ("assessment", assessment),
                         ("order_measures(region)", per_region), ("volume", volume),
                         ("summary_table", summary), ("dashboard_orders", dashboard)):  # fmt: skip
            cmp.run(name, fn)
    if calls is None:
        cmp.skipped.append("hotline.reports.calls")
    else:
        cmp.run("calls", lambda: _check_calls(cmp, calls, now))
    matches = bool(cmp.compared) and not cmp.mismatches and not cmp.skipped
    return {
        "matches": matches,
        "compared": cmp.compared,
        "mismatches": cmp.mismatches[:50],
        "mismatch_count": len(cmp.mismatches),
        "compared_per_report": dict(cmp.per_report),
        "skipped": cmp.skipped,
        "range": [month[0].isoformat(), month[1].isoformat()],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _check_calls(cmp: Comparison, calls: Any, now: dt.datetime) -> None:
    start, end = call_month(now)
    raw = raw_call_counts(start, end)
    table = calls.queue_report(start=start, end=end, by="queue")
    cmp.table("queue_report(queue)", table, raw["queues"],
              {c: c for c in ("offered", "answered", "abandoned", "abandoned_short")})  # fmt: skip
    table = calls.queue_report(start=start, end=end, by="trunk")
    cmp.table("queue_report(trunk)", table, raw["trunks"], {"calls": "calls"})
    table = calls.queue_report(start=start, end=end, by="number")
    cmp.table("queue_report(number)", table, raw["numbers"], {"calls": "calls", "answered": "answered"})
    table = calls.trunk_report(start=start, end=end)
    cmp.table(
        "trunk_report",
        table,
        raw["trunks"],
        {"offered": "calls", "answered": "answered"},
        key=lambda k: k[0] if isinstance(k, tuple) else k,
    )
    table = calls.agent_report(start=start, end=end)
    cmp.table(
        "agent_report",
        table,
        raw["agents"],
        {"answered": "answered", "offered": "offered", "unanswered_offers": "unanswered_offers"},
    )
    cmp.table(
        "agent_report",
        table,
        raw["agent_orders"],
        {"complaints": "complaints", "consultations": "consultations"},
    )
    got = calls.dashboard_calls(now=now)
    for key, value in raw_dashboard_calls(now).items():
        cmp.same(f"dashboard_calls.{key}", got.get(key), value)
    cmp.same("connection_rate_24h", calls.connection_rate_24h(end=now), got.get("connection_rate_24h"))


def raw_dashboard_calls(now: dt.datetime) -> dict[str, Any]:
    """Today's queue visits offered and answered, inbound calls and calls answered, and the 接通率
    of the last 24 hours: answered / (calls that entered a queue − short abandons)."""
    from django.db import connection

    day_start, _end = local_day(now)
    p = {"d": day_start, "n": now, "y": now - dt.timedelta(days=1)}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*), count(x.kind) FILTER (WHERE x.kind = 'connect')
               FROM callcenter_queueeventlog e LEFT JOIN LATERAL (
                   SELECT x.kind FROM callcenter_queueeventlog x
                   WHERE x.call_id = e.call_id AND x.queue = e.queue AND x.at >= e.at
                     AND x.kind IN ('connect', 'abandon', 'overflow', 'timeout', 'voicemail', 'callback')
                   ORDER BY x.at, x.id LIMIT 1) x ON true
               WHERE e.kind = 'enter' AND e.at >= %(d)s AND e.at < %(n)s AND e.queue <> ''""",
            p,
        )
        offered, answered = cursor.fetchone()
        cursor.execute(
            """SELECT count(*) FILTER (WHERE started_at >= %(d)s),
                      count(*) FILTER (WHERE started_at >= %(d)s AND outcome = 'answered'
                                       AND queued_at IS NOT NULL),
                      count(*) FILTER (WHERE started_at >= %(y)s AND queued_at IS NOT NULL),
                      count(*) FILTER (WHERE started_at >= %(y)s AND queued_at IS NOT NULL
                                       AND outcome = 'answered'),
                      count(*) FILTER (WHERE started_at >= %(y)s AND queued_at IS NOT NULL
                                       AND outcome = 'abandoned' AND wait_s <= 5)
               FROM callcenter_callrecord
               WHERE direction = 'inbound' AND started_at >= least(%(d)s, %(y)s) AND started_at < %(n)s""",
            p,
        )
        calls, calls_answered, queued, answered_24h, short_24h = cursor.fetchone()
    base = queued - short_24h
    return {
        "offered": offered,
        "answered": answered,
        "calls": calls,
        "calls_answered": calls_answered,
        "connection_rate_24h": answered_24h / base if base > 0 else None,
    }


if __name__ == "__main__":
    raise SystemExit(main())
