"""Work-order benchmark: intake through the service layer and the HTTP API, unit inboxes and the
deadline scan over a million orders, on SQLite and on PostgreSQL in one run.

    make bench-workorders                       # both engines, the sizes of docs/performance.md
    .venv/bin/python bench/workorders.py --help # sizes, engines, output

The script prints its figures and writes ``bench/results/workorders.json``. For each engine it
starts itself again as a child process with that engine's settings (``config.settings.local`` with
``DATABASE_URL``, DEBUG off), in a fresh database: a SQLite file in WAL mode under /tmp, or the
database ``hotline_bench`` on the PostgreSQL server of ``scripts/test-services.sh``. Both are
removed at the end. What each figure means: docs/performance.md.
"""

# ruff: noqa: S311, S603, S607, S608

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import http.client
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter, defaultdict
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
    free_port,
    log,
    machine_info,
    percentile,
    pg_admin,
    pg_reachable,
    stop_process,
    summary_ms,
    wait_for_port,
    with_database,
    write_json,
)

UTC = dt.UTC
PG_DEFAULT_URL = "postgres://hotline@127.0.0.1:54329/hotline"
PG_BENCH_DB = "hotline_bench"
TARGETS = {
    "intake_ratio_vs_raw": ">= 0.25",
    "inbox_p95_ms": "< 100 (PostgreSQL)",
    "deadline_scan_s": "< 2",
}

# --- The city ------------------------------------------------------------------------------------

DISTRICTS = [  # code, name, number of streets
    ("9901", "滨江区", 7),
    ("9902", "江北区", 7),
    ("9903", "江南区", 7),
    ("9904", "高新区", 7),
    ("9905", "临湖区", 6),
    ("9906", "青山县", 6),
]
STREET_NAMES = (  # two characters each
    "江滨城东城西长河西兴浦沿望江白沙北岸庄桥甬江洪塘孔浦文教南湖梅园桃源石桥"
    "新塘南苑花港科创智谷文昌云栖新城湖滨临湖东湖渔港柳岸芦荡青山石门龙潭竹溪松岭白云桃花金沙"
)
DEPARTMENTS = [
    "办公厅", "住房和城乡建设局", "城市管理局", "生态环境局", "市场监督管理局", "人力资源和社会保障局",
    "教育局", "卫生健康委员会", "交通运输局", "公安局", "自然资源和规划局", "民政局", "文化广电旅游局",
    "商务局", "水利局", "医疗保障局", "应急管理局", "农业农村局", "科学技术局", "发展和改革委员会",
    "司法局", "财政局", "税务局", "退役军人事务局", "信访局", "数据资源管理局",
]  # fmt: skip
UTILITIES = ["自来水有限公司", "燃气集团", "供电公司", "热力有限公司"]
COMMUNITY_STREETS = 10  # the first streets get one community committee each (a unit under the office)
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍建国红文辉"

# --- The million orders ----------------------------------------------------------------------------

# State mix of the loaded table: a megacity's backlog, with a large open share so that inboxes
# and the scan work on a full table (39 % in states whose deadline runs).
STATE_MIX = [
    ("closed", 0.56),
    ("cancelled", 0.025),
    ("merged", 0.005),
    ("pending_dispatch", 0.01),
    ("pending_sign", 0.05),
    ("return_requested", 0.01),
    ("handling", 0.24),
    ("pending_review", 0.05),
    ("pending_revisit", 0.05),
]
RUNNING = ("pending_sign", "handling", "pending_review", "pending_revisit")
RUNNING_SHARE = sum(share for state, share in STATE_MIX if state in RUNNING)
CROSS_SHARE = 0.015  # of all loaded orders: cross a threshold at the scan's "now"
CROSS_WINDOW_S = 3600  # ... within the hour before it (the previous scan ran an hour earlier)
CROSS_KINDS = [(70, 0.5), (90, 0.3), (100, 0.2)]  # which threshold they cross
CHANNELS = [("phone", 0.7), ("web", 0.08), ("wechat", 0.1), ("app", 0.06), ("sms", 0.02),
            ("email", 0.02), ("walk_in", 0.01), ("letter", 0.005), ("media", 0.005)]  # fmt: skip
REQUEST_TYPES = [("consultation", 0.3), ("complaint", 0.25), ("help", 0.25), ("report", 0.08),
                 ("suggestion", 0.1), ("praise", 0.02)]  # fmt: skip
HOUR = 3600.0
DAY = 86400.0

ORDER_COLS = [
    "id", "number", "state", "round", "channel", "request_type_id", "category_id", "urgency",
    "complex_case", "title", "content", "citizen_id", "citizen_name", "citizen_phone",
    "citizen_id_number", "anonymous", "confidential", "address", "region_id", "source_contact",
    "created_by_id", "created_at", "updated_at", "lead_unit_id", "dispatched_at", "due_at",
    "due_started_at", "warn_at", "urgent_at", "deadline_level", "answer_due_at", "clock_paused_at",
    "was_overdue", "result", "answer", "answered_at", "satisfaction", "closed_at", "closed_directly",
    "merged_into_id", "supervised",
]  # fmt: skip
ASSIGNMENT_COLS = [
    "id", "order_id", "unit_id", "role", "state", "round", "dispatched_at", "dispatched_by_id",
    "sign_due_at", "signed_at", "signed_by_id", "closed_at", "note",
]  # fmt: skip


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return [x / total for x in out]


class Picker:
    """Weighted choice by bisection over cumulative weights (fast enough for a million rows)."""

    def __init__(self, items: list[Any], weights: list[float]) -> None:
        self.items = items
        self.cum = _cumulative(weights)

    def __call__(self, rng: random.Random) -> Any:
        return self.items[min(bisect.bisect_left(self.cum, rng.random()), len(self.items) - 1)]


def zipf(n: int, s: float = 0.9) -> list[float]:
    return [1 / (rank**s) for rank in range(1, n + 1)]


# ==================================================================================================
# Child process: one engine
# ==================================================================================================


def build_world(seed: int) -> dict[str, Any]:
    """The city, its units, the bundled categories, an agent with an API token and one handler per
    unit. Writes go through the services (with their audit rows), as an administrator would."""
    from django.contrib.auth.hashers import make_password

    from hotline.accounts.models import User
    from hotline.accounts.services import token_create, user_create
    from hotline.orgs.models import Region, Unit
    from hotline.orgs.services import region_save, unit_save
    from hotline.taxonomy.importers import taxonomy_import_bundled
    from hotline.taxonomy.models import Category, RequestType
    from hotline.workcalendar.services import deadline_rules_ensure_defaults

    note = "benchmark data"
    city = region_save(region=Region(code="99", name="滨江市", level="city"), note=note)
    centre = unit_save(unit=Unit(code="CENTRE", name="12345热线中心", kind="centre", region=city), note=note)
    gov = unit_save(unit=Unit(code="GOV", name="滨江市人民政府", kind="other", region=city), note=note)
    units: list[dict[str, Any]] = []  # units that handle orders
    streets: list[Region] = []
    names = iter(STREET_NAMES[i : i + 2] for i in range(0, len(STREET_NAMES), 2))
    for d_code, d_name, count in DISTRICTS:
        district = region_save(
            region=Region(code=d_code, name=d_name, level="district", parent=city), note=note
        )
        dg = unit_save(
            unit=Unit(
                code=f"DG-{d_code}", name=f"{d_name}人民政府", kind="district_government", region=district
            ),
            note=note,
        )
        units.append({"unit": dg, "group": "district", "region": district})
        for s in range(1, count + 1):
            name = next(names)
            street = region_save(
                region=Region(code=f"{d_code}{s:02d}", name=f"{name}街道", level="street", parent=district),
                note=note,
            )
            streets.append(street)
            office = unit_save(
                unit=Unit(
                    code=f"ST-{street.code}", name=f"{name}街道办事处", kind="street_office", region=street,
                    parent=dg,
                ),
                note=note,
            )  # fmt: skip
            units.append({"unit": office, "group": "street", "region": street})
    for street in streets[:COMMUNITY_STREETS]:
        community = region_save(
            region=Region(
                code=f"{street.code}01", name=f"{street.name}一社区", level="community", parent=street
            ),
            note=note,
        )
        office = Unit.objects.get(code=f"ST-{street.code}")
        cm = unit_save(
            unit=Unit(
                code=f"CM-{community.code}", name=f"{community.name}居委会", kind="community",
                region=community,
                parent=office,
            ),
            note=note,
        )  # fmt: skip
        units.append({"unit": cm, "group": "community", "region": community})
    for i, name in enumerate(DEPARTMENTS, start=1):
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

    agent = user_create(
        actor=None, username="bench_agent", password=secrets.token_urlsafe(18), role="agent", unit=centre,
        full_name="压测座席",
    )  # fmt: skip
    _token, key = token_create(user=agent, name="benchmark", days=1)
    unusable = make_password(None)
    User.objects.bulk_create(
        [User(username="bench_dispatcher", role="dispatcher", unit=centre, password=unusable)]
        + [
            User(username=f"bench_h_{u['unit'].code}", role="handler", unit=u["unit"], password=unusable,
                 full_name=f"承办{i}")
            for i, u in enumerate(units)
        ]
    )  # fmt: skip
    handlers = {u.unit_id: u for u in User.objects.filter(role="handler")}
    dispatcher = User.objects.get(username="bench_dispatcher")

    rng = random.Random(seed)
    leaves = list(Category.objects.filter(level=3, active=True).order_by("code"))
    rng.shuffle(leaves)  # popularity independent of the code order
    level1 = {c.code: c for c in Category.objects.filter(level=1)}
    return {
        "city": city,
        "centre": centre,
        "units": units,
        "streets": streets,
        "agent": agent,
        "token": key,
        "dispatcher": dispatcher,
        "handlers": handlers,
        "leaves": leaves,
        "level1": level1,
        "request_types": {rt.code: rt for rt in RequestType.objects.all()},
    }


# --- Bulk load -----------------------------------------------------------------------------------


class OrderGenerator:
    """Rows of ``workorders_workorder`` and ``workorders_assignment`` as the services would have
    left them, for ``n`` orders as of the instant ``now``.

    Orders in a running state have their deadline instants (``due_started_at``, ``warn_at`` at
    70 %, ``urgent_at`` at 90 %, ``due_at``) and a ``deadline_level`` that agrees with them at
    ``now`` — except ``CROSS_SHARE`` of the table, which crossed a threshold within the hour before
    ``now`` and whose level is one step behind, so that a scan at ``now`` after one an hour earlier
    raises exactly those (counted in ``self.crossing``). Times use plain durations of
    the typical length of each step (sign 2–18 h, answer 7 days, complex 21 days, emergency 2 h,
    review 1.4 days, revisit 4.2 days) rather than the working calendar: the scan only compares
    the stored instants.
    """

    def __init__(self, world: dict[str, Any], *, n: int, now: dt.datetime, seed: int, first_id: int) -> None:
        self.rng = random.Random(seed)
        self.n = n
        self.now = now.replace(tzinfo=None)  # naive UTC inside; engines convert
        self.first_id = first_id
        self.next_assignment_id = 1
        rng = random.Random(seed + 1)
        units = world["units"]
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for u in units:
            groups[u["group"]].append(u)
        group_share = {"street": 0.45, "department": 0.48, "district": 0.05, "community": 0.02}
        items, weights = [], []
        for group, members in groups.items():
            members = members[:]
            rng.shuffle(members)
            w = zipf(len(members))
            total = sum(w)
            for member, weight in zip(members, w, strict=True):
                items.append(member)
                weights.append(group_share[group] * weight / total)
        self.pick_unit = Picker(items, weights)
        self.all_units = units
        self.streets = world["streets"]
        self.pick_state = Picker([s for s, _ in STATE_MIX], [w for _, w in STATE_MIX])
        self.pick_channel = Picker([c for c, _ in CHANNELS], [w for _, w in CHANNELS])
        rts = world["request_types"]
        self.pick_rt = Picker([rts[c].pk for c, _ in REQUEST_TYPES], [w for _, w in REQUEST_TYPES])
        leaves = world["leaves"]
        self.pick_leaf = Picker(leaves, zipf(len(leaves), 1.0))
        self.agent_id = world["agent"].pk
        self.dispatcher_id = world["dispatcher"].pk
        self.handler_of = {unit_id: user.pk for unit_id, user in world["handlers"].items()}
        self.cross_p = CROSS_SHARE / RUNNING_SHARE
        self.pick_cross = Picker([k for k, _ in CROSS_KINDS], [w for _, w in CROSS_KINDS])
        self.crossing: Counter[int] = Counter()
        self.states: Counter[str] = Counter()
        self.per_unit: Counter[int] = Counter()
        self.day_seq: Counter[str] = Counter()

    # helpers
    def _t(self, seconds_ago: float) -> dt.datetime:
        return self.now - dt.timedelta(seconds=seconds_ago)

    def _number(self, created: dt.datetime) -> str:
        day = (created + dt.timedelta(hours=8)).strftime("%Y%m%d")  # Asia/Shanghai
        self.day_seq[day] += 1
        # From 50000 on: the service numbers the same days from 1, so they cannot collide.
        return f"{day}{50000 + self.day_seq[day]:05d}"

    def _other_unit(self, unit_id: int) -> int:
        while True:
            other = self.all_units[self.rng.randrange(len(self.all_units))]["unit"].pk
            if other != unit_id:
                return other

    def _assignment(self, order_id: int, unit_id: int, role: str, state: str, *, dispatched: dt.datetime,
                    sign_due: dt.datetime | None, signed: dt.datetime | None,
                    closed: dt.datetime | None) -> tuple[Any, ...]:  # fmt: skip
        aid = self.next_assignment_id
        self.next_assignment_id += 1
        signed_by = self.handler_of.get(unit_id) if signed is not None and role == "lead" else None
        return (aid, order_id, unit_id, role, state, 1, dispatched, self.dispatcher_id, sign_due, signed,
                signed_by, closed, "")  # fmt: skip

    def _deadline(self, duration: float, *, cross_allowed: bool) -> tuple[Any, ...]:
        """(started, warn, urgent, due, level) of a deadline running at ``now``."""
        rng = self.rng
        cross = cross_allowed and rng.random() < self.cross_p
        if cross:
            # the threshold passed within the last CROSS_WINDOW_S: since the previous scan
            kind = self.pick_cross(rng)
            ago = rng.uniform(1.0, CROSS_WINDOW_S - 1.0)
            started = self._t({70: 0.7, 90: 0.9, 100: 1.0}[kind] * duration + ago)
        else:
            started = self._t(rng.uniform(0.0, 1.15) * duration)
        warn = started + dt.timedelta(seconds=0.7 * duration)
        urgent = started + dt.timedelta(seconds=0.9 * duration)
        due = started + dt.timedelta(seconds=duration)
        level = 100 if due <= self.now else 90 if urgent <= self.now else 70 if warn <= self.now else 0
        if cross:
            self.crossing[level] += 1
            level = {70: 0, 90: 70, 100: 90}[level]
        return started, warn, urgent, due, level

    def rows(self, chunk: int) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        orders: list[tuple[Any, ...]] = []
        assignments: list[tuple[Any, ...]] = []
        for i in range(self.n):
            orders.append(self._one(self.first_id + i, assignments))
            if len(orders) >= chunk:
                yield orders, assignments
                orders, assignments = [], []
        if orders:
            yield orders, assignments

    def _one(self, oid: int, assignments: list[tuple[Any, ...]]) -> tuple[Any, ...]:
        rng = self.rng
        state = self.pick_state(rng)
        self.states[state] += 1
        leaf = self.pick_leaf(rng) if rng.random() < 0.95 else None
        urgency = "normal"
        u = rng.random()
        if u < 0.01:
            urgency = "emergency"
        elif u < 0.05:
            urgency = "urgent"
        complex_case = rng.random() < 0.08
        lead = self.pick_unit(rng)
        lead_id = lead["unit"].pk
        region = lead["region"]
        if region is None or lead["group"] == "district":
            region = self.streets[rng.randrange(len(self.streets))] if rng.random() < 0.9 else None
        channel = self.pick_channel(rng)
        phone = f"13{rng.randrange(300_000) * 3331 % 1_000_000_000:09d}"
        name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]
        topic = leaf.name if leaf is not None else "其他"
        title = f"关于{topic}的诉求"
        content = (
            f"市民{name[0]}先生/女士来电反映："
            f"{region.name if region else '本市'}{rng.randrange(1, 300)}号附近"
            f"{topic}问题，已持续{rng.randrange(1, 30)}天，希望有关部门尽快处理。"
        )
        address = f"{region.name if region else ''}{rng.randrange(1, 300)}号"
        anonymous = rng.random() < 0.03
        created_by = (
            self.agent_id if channel in ("phone", "walk_in", "letter", "media", "email", "sms") else None
        )
        # Defaults for the state-dependent fields.
        lead_unit: int | None = lead_id
        dispatched = due = started = warn = urgent = answer_due = paused = None
        answered = closed = None
        level = 0
        was_overdue = False
        result = answer = satisfaction = ""
        closed_directly = False
        merged_into = None
        supervised = False
        lead_state: str | None = None  # None: no assignment
        signed = None
        assign_closed = None
        sign_due = None

        if state in ("closed", "cancelled", "merged"):
            created = self._t(rng.uniform(3 * DAY, 365 * DAY))
            if state == "closed" and rng.random() < 0.08:  # answered at intake (直接办结)
                closed_directly = True
                lead_unit = None
                answered = closed = created + dt.timedelta(minutes=rng.uniform(2, 15))
                result, answer = "explained", "座席已当场解答。"
            else:
                dispatched = created + dt.timedelta(minutes=rng.uniform(5, 480))
                sign_due = dispatched + dt.timedelta(hours=rng.uniform(2, 18))
                if state == "closed":
                    signed = dispatched + dt.timedelta(minutes=rng.uniform(10, 240))
                    answered = signed + dt.timedelta(hours=rng.uniform(2, 9 * 24))
                    closed = min(answered + dt.timedelta(hours=rng.uniform(4, 96)), self.now)
                    answer_due = dispatched + dt.timedelta(days=7)
                    lead_state = "answered"
                    r = rng.random()
                    result = "resolved" if r < 0.6 else "explained" if r < 0.9 else "unresolved"
                    answer = "经核实，已安排人员现场处理完毕，并向市民反馈。"
                    s = rng.random()
                    satisfaction = "satisfied" if s < 0.75 else "basically" if s < 0.9 else "unsatisfied"
                    was_overdue = rng.random() < 0.08
                elif rng.random() < 0.6:  # cancelled or merged after dispatch
                    lead_state = "withdrawn"
                    assign_closed = dispatched + dt.timedelta(hours=rng.uniform(1, 48))
                else:
                    lead_unit = None
                    dispatched = sign_due = None
                if state == "merged" and oid > self.first_id:
                    merged_into = rng.randrange(self.first_id, oid)
        elif state == "pending_dispatch":
            created = self._t(rng.uniform(0, 12 * HOUR))
            lead_unit = None
        else:
            supervised = rng.random() < 0.02
            base = state if state != "return_requested" else rng.choice(["pending_sign", "handling"])
            if base == "pending_sign":
                duration = rng.uniform(2 * HOUR, 18 * HOUR)
                started, warn, urgent, due, level = self._deadline(duration, cross_allowed=state in RUNNING)
                dispatched = started
                sign_due = due
                answer_due = dispatched + dt.timedelta(days=7)
                lead_state = "pending_sign"
            elif base == "handling":
                duration = 7 * DAY
                if urgency == "emergency":
                    duration = 2 * HOUR
                elif complex_case:
                    duration = 21 * DAY
                started, warn, urgent, due, level = self._deadline(duration, cross_allowed=state in RUNNING)
                dispatched = started
                answer_due = due
                sign_due = dispatched + dt.timedelta(hours=2)
                signed = min(dispatched + dt.timedelta(minutes=rng.uniform(10, 240)), self.now)
                lead_state = "signed"
            else:  # pending_review / pending_revisit: the centre's own deadline
                duration = 1.4 * DAY if state == "pending_review" else 4.2 * DAY
                started, warn, urgent, due, level = self._deadline(duration, cross_allowed=True)
                answered = (
                    started if state == "pending_review" else started - dt.timedelta(hours=rng.uniform(1, 24))
                )
                signed = answered - dt.timedelta(days=rng.uniform(0.2, 6))
                dispatched = signed - dt.timedelta(minutes=rng.uniform(10, 240))
                sign_due = dispatched + dt.timedelta(hours=2)
                answer_due = dispatched + dt.timedelta(days=7)
                lead_state = "answered"
                result = "resolved"
                answer = "已处理完毕。"
            created = dispatched - dt.timedelta(minutes=rng.uniform(5, 180))
            was_overdue = level == 100
            if state == "return_requested":
                paused = self._t(rng.uniform(0, 2 * DAY))
                if paused < dispatched:
                    paused = dispatched
        updated = max(x for x in (created, dispatched, signed, answered, closed, paused) if x is not None)

        if lead_state is not None:
            assert dispatched is not None
            assignments.append(
                self._assignment(oid, lead_id, "lead", lead_state, dispatched=dispatched, sign_due=sign_due,
                                 signed=signed, closed=assign_closed)
            )  # fmt: skip
            self.per_unit[lead_id] += 1
            if rng.random() < 0.10:  # an assisting unit (协办)
                assist_state = {"pending_sign": "pending_sign", "withdrawn": "withdrawn"}.get(
                    lead_state, "signed"
                )
                assignments.append(
                    self._assignment(oid, self._other_unit(lead_id), "assist", assist_state,
                                     dispatched=dispatched, sign_due=sign_due, signed=signed,
                                     closed=assign_closed)
                )  # fmt: skip
            if rng.random() < 0.03:  # first sent to the wrong unit, which returned it
                first = dispatched - dt.timedelta(hours=rng.uniform(1, 48))
                assignments.append(
                    self._assignment(oid, self._other_unit(lead_id), "lead", "returned", dispatched=first,
                                     sign_due=None, signed=None, closed=dispatched)
                )  # fmt: skip

        return (
            oid, self._number(created), state, 1, channel, self.pick_rt(rng), leaf.pk if leaf else None,
            urgency, complex_case, title, content, None, name, phone, "", anonymous, False, address,
            region.pk if region else None, "", created_by, created, updated, lead_unit, dispatched, due,
            started, warn, urgent, level, answer_due, paused, was_overdue, result, answer, answered,
            satisfaction, closed, closed_directly, merged_into, supervised,
        )  # fmt: skip


def _extra_columns(model: Any, known: list[str]) -> tuple[list[str], tuple[Any, ...]]:
    """Columns that another change may add to a table after this script was written: filled with
    the field's default so that the load still works."""
    extra = [f for f in model._meta.concrete_fields if f.column not in known]
    return [f.column for f in extra], tuple(None if f.null else f.get_default() for f in extra)


def _indexes_to_rebuild(cursor: Any, vendor: str, tables: list[str]) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the plain secondary indexes of ``tables`` (not those behind a
    primary key or unique constraint), to drop before a bulk load and build again after it."""
    if vendor == "postgresql":
        cursor.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.tablename = ANY(%s) AND i.schemaname = current_schema()
               AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            [tables],
        )
        return list(cursor.fetchall())
    placeholders = ",".join("?" for _ in tables)
    cursor.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL"
        f" AND tbl_name IN ({placeholders})",
        tables,
    )
    return list(cursor.fetchall())


def bulk_load(world: dict[str, Any], *, n: int, now: dt.datetime, seed: int) -> dict[str, Any]:
    """Load ``n`` orders and their assignments: COPY on PostgreSQL, executemany in large
    transactions on SQLite, with the secondary indexes dropped during the load and built again
    after it, then ANALYZE (PostgreSQL: VACUUM ANALYZE, as autovacuum would leave the tables)."""
    from django.db import connection

    from hotline.workorders.models import Assignment, WorkOrder

    vendor = connection.vendor
    connection.ensure_connection()
    raw = connection.connection
    cur = raw.cursor()
    tables = ["workorders_workorder", "workorders_assignment"]
    first_id = WorkOrder.objects.order_by("-id").values_list("id", flat=True).first() or 0
    gen = OrderGenerator(world, n=n, now=now, seed=seed, first_id=first_id + 1)
    o_extra_cols, o_extra = _extra_columns(WorkOrder, ORDER_COLS)
    a_extra_cols, a_extra = _extra_columns(Assignment, ASSIGNMENT_COLS)
    o_cols, a_cols = ORDER_COLS + o_extra_cols, ASSIGNMENT_COLS + a_extra_cols
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    indexes = _indexes_to_rebuild(cur, vendor, tables)
    for name, _sql in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    if vendor == "sqlite":
        cur.execute("PRAGMA foreign_keys=OFF")  # rows are consistent by construction
        cur.execute("PRAGMA cache_size=-262144")  # 256 MiB while loading; a new connection measures
        o_sql = (
            f"INSERT INTO workorders_workorder ({','.join(o_cols)}) VALUES ({','.join('?' * len(o_cols))})"
        )
        a_sql = (
            f"INSERT INTO workorders_assignment ({','.join(a_cols)}) VALUES ({','.join('?' * len(a_cols))})"
        )

        def sq(row: tuple[Any, ...], extra: tuple[Any, ...]) -> tuple[Any, ...]:
            return tuple(str(v) if isinstance(v, dt.datetime) else v for v in row) + extra

        for orders, assignments in gen.rows(50_000):
            cur.execute("BEGIN IMMEDIATE")
            cur.executemany(o_sql, [sq(r, o_extra) for r in orders])
            cur.executemany(a_sql, [sq(r, a_extra) for r in assignments])
            cur.execute("COMMIT")
        cur.execute("PRAGMA foreign_keys=ON")
    else:
        with raw.transaction():
            cur.execute("SET LOCAL session_replication_role = replica")  # no FK triggers: rows are consistent

            def pg(row: tuple[Any, ...], extra: tuple[Any, ...]) -> tuple[Any, ...]:
                return tuple(v.replace(tzinfo=UTC) if isinstance(v, dt.datetime) else v for v in row) + extra

            for orders, assignments in gen.rows(50_000):
                with cur.copy(f"COPY workorders_workorder ({','.join(o_cols)}) FROM STDIN") as copy:
                    for r in orders:
                        copy.write_row(pg(r, o_extra))
                with cur.copy(f"COPY workorders_assignment ({','.join(a_cols)}) FROM STDIN") as copy:
                    for r in assignments:
                        copy.write_row(pg(r, a_extra))
        for table in tables:
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    timings["load_rows_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    if vendor == "postgresql":
        cur.execute("SET maintenance_work_mem = '512MB'")
    for _name, sql in indexes:
        cur.execute(sql)
    if vendor == "postgresql":
        cur.execute("RESET maintenance_work_mem")
    timings["build_indexes_s"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    if vendor == "postgresql":
        for table in tables:
            cur.execute(f"VACUUM ANALYZE {table}")
        cur.execute("ANALYZE")
    else:
        cur.execute("ANALYZE")
    timings["analyze_s"] = time.perf_counter() - t2
    cur.close()
    connection.close()  # measurements start on a fresh connection with the project's settings

    return {
        "orders": n,
        "assignments": gen.next_assignment_id - 1,
        "states": dict(sorted(gen.states.items())),
        "crossing_expected": {str(k): v for k, v in sorted(gen.crossing.items())},
        "crossing_total": sum(gen.crossing.values()),
        "per_unit_lead": gen.per_unit,
        "indexes_rebuilt": [name for name, _ in indexes],
        **{k: round(v, 1) for k, v in timings.items()},
    }


# --- Measurements --------------------------------------------------------------------------------


def _explain(sql: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return [" ".join(str(c) for c in row[1:]) for row in cursor.fetchall()]


def _shorten(sql: str, limit: int = 1500) -> str:
    """Long statements (an IN list of a thousand ids) cut in the middle, for the results file."""
    return sql if len(sql) <= limit else f"{sql[: limit // 2]} … {sql[-limit // 2 :]}"


def _plan_entry(sql: str) -> dict[str, Any]:
    return {
        "sql": _shorten(sql),
        "plan": [line if len(line) <= 300 else line[:300] + " …" for line in _explain(sql)],
    }


def _captured(run: Callable[[], Any]) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        run()
    return [q["sql"] for q in ctx.captured_queries]


def _search(user: Any, *, states: list[str], since: dt.datetime, until: dt.datetime, category: str) -> Any:
    """The search screen's query (``orders_filter`` where the product has it, else the same filters)."""
    from hotline.workorders import selectors

    if hasattr(selectors, "orders_search"):
        f = selectors.OrderFilter(states=tuple(states), category_code=category, since=since, until=until)
        return selectors.orders_search(user, f)
    qs = selectors.orders_visible_to(user)
    if hasattr(selectors, "orders_filter") and hasattr(selectors, "OrderFilter"):
        f = selectors.OrderFilter(states=tuple(states), category_code=category, since=since, until=until)
        qs = selectors.orders_filter(qs, f)
    else:
        qs = qs.filter(
            state__in=states, created_at__gte=since, created_at__lt=until, category__code__startswith=category
        )
    return qs.order_by("-created_at", "-id")


BOXES = ("to_sign", "handling", "near_deadline", "overdue", "answered")
# What a row of an order list shows (``workorders.views._list_related``).
LIST_RELATED = ("request_type", "category__parent__parent", "region", "lead_unit")


def assisting_of(unit: Any) -> list[int] | None:
    """The orders ``unit`` assists in, listed once per screen where the product does so."""
    from hotline.workorders import selectors

    return selectors.unit_assisting(unit) if hasattr(selectors, "unit_assisting") else None


def inbox_box(unit: Any, box: str, assisting: list[int] | None = None) -> Any:
    """The queryset of one inbox box as the inbox screen runs it: ``unit_inbox``, and for the two
    deadline boxes the screen's own order (the earliest deadline first)."""
    from hotline.workorders.selectors import unit_inbox

    qs = (
        unit_inbox(unit=unit, box=box, assisting=assisting)
        if assisting is not None
        else unit_inbox(unit=unit, box=box)
    )
    if box in ("near_deadline", "overdue") and hasattr(qs, "order_by"):
        qs = qs.order_by("due_at", "id")
    return qs


def with_related(qs: Any) -> Any:
    """``select_related`` of the list rows, on a queryset or on each part of an ``OrderUnion``."""
    if hasattr(qs, "map"):
        return qs.map(lambda part: part.select_related(*LIST_RELATED))
    return qs.select_related(*LIST_RELATED)


def measure_inbox(world: dict[str, Any], load: dict[str, Any], *, samples: int, budget_s: float,
                  seed: int) -> dict[str, Any]:  # fmt: skip
    """p95 wall time of one inbox page (the first 50 rows and the count) per box, and of a filtered
    search, over ``samples`` different units (the busiest first). Also the inbox screen as a whole
    (the five tab counts and the first page), which is reported apart."""
    rng = random.Random(seed)
    per_unit: Counter[int] = load["per_unit_lead"]
    by_id = {u["unit"].pk: u["unit"] for u in world["units"]}
    ranked = [by_id[uid] for uid, _ in per_unit.most_common()]
    chosen = ranked[:samples] if len(ranked) >= samples else (ranked * samples)[:samples]
    # the four busiest level-1 classes (by the popularity of their leaves in the load)
    weight: Counter[str] = Counter()
    for leaf, w in zip(world["leaves"], zipf(len(world["leaves"]), 1.0), strict=True):
        weight[leaf.code[:2]] += w
    top = [code for code, _ in weight.most_common(4)]
    searches = [
        (["handling"], 30, 0),
        (["pending_sign", "handling"], 30, 0),
        (["closed"], 30, None),
    ]
    now = dt.datetime.now(UTC)

    def page_and_count(make_qs: Callable[[], Any]) -> tuple[float, float, int]:
        t0 = time.perf_counter()
        qs = make_qs()  # unit_inbox lists the unit's assisting orders here: part of the page's cost
        list(with_related(qs)[:50])
        t1 = time.perf_counter()
        total = qs.count()
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, total

    def search_qs(i: int, unit: Any) -> Any:
        states, days, end_ago = searches[i % len(searches)]
        ago = end_ago if end_ago is not None else rng.randrange(30, 365)
        until = now - dt.timedelta(days=ago)
        handler = world["handlers"][unit.pk]
        return _search(handler, states=states, since=until - dt.timedelta(days=days), until=until,
                       category=top[i % len(top)])  # fmt: skip

    kinds: dict[str, Callable[[int, Any], Any]] = {
        box: (lambda i, unit, box=box: inbox_box(unit, box, assisting_of(unit))) for box in BOXES
    }
    kinds["search"] = search_qs
    out: dict[str, Any] = {"units_sampled": len({u.pk for u in chosen}), "kinds": {}}
    for kind, make in kinds.items():
        page_and_count(lambda: make(0, ranked[-1]))  # noqa: B023 - warm the connection and caches once
        totals, pages, counts, rows_seen = [], [], [], []
        started = time.perf_counter()
        for i, unit in enumerate(chosen):
            page_t, count_t, total = page_and_count(lambda: make(i, unit))  # noqa: B023
            pages.append(page_t)
            counts.append(count_t)
            totals.append(page_t + count_t)
            rows_seen.append(total)
            if time.perf_counter() - started > budget_s and i >= 9:
                break
        out["kinds"][kind] = {
            **summary_ms(totals),
            "page_p95_ms": round(percentile([p * 1000 for p in pages], 95), 2),
            "count_p95_ms": round(percentile([c * 1000 for c in counts], 95), 2),
            "matching_rows_median": int(percentile(rows_seen, 50)),
            "matching_rows_max": max(rows_seen),
        }
        log(f"  {kind:14s} p95 {out['kinds'][kind]['p95_ms']:9.2f} ms  (n={len(totals)}, "
            f"rows max {max(rows_seen)})")  # fmt: skip
    worst = max(out["kinds"].items(), key=lambda kv: kv[1]["p95_ms"])
    out["worst_kind"] = worst[0]
    out["p95_ms_worst_kind"] = worst[1]["p95_ms"]

    # The inbox screen: the five tab counts, then the first page of the first box.
    screen: list[float] = []
    started = time.perf_counter()
    for i, unit in enumerate(chosen):
        t0 = time.perf_counter()
        assisting = assisting_of(unit)
        from hotline.workorders import selectors

        if hasattr(selectors, "inbox_counts"):  # the screen's tab counts
            selectors.inbox_counts(unit=unit, assisting=assisting)
        else:
            for box in BOXES:
                inbox_box(unit, box, assisting).count()
        qs = inbox_box(unit, "to_sign", assisting)
        list(with_related(qs)[:50])
        qs.count()  # the paginator's count
        screen.append(time.perf_counter() - t0)
        if time.perf_counter() - started > budget_s and i >= 9:
            break
    out["screen"] = {**summary_ms(screen), "what": "the five tab counts and the first page of 'to_sign'"}
    log(f"  {'inbox screen':14s} p95 {out['screen']['p95_ms']:9.2f} ms  (n={len(screen)})")

    # Plans of the page and count queries for the busiest unit.
    plans: dict[str, Any] = {}
    busiest = ranked[0]
    for kind, make in kinds.items():
        qs = make(0, busiest)
        sqls = _captured(lambda qs=qs: (list(with_related(qs)[:50]), qs.count()))
        plans[kind] = [_plan_entry(sql) for sql in sqls]
    out["plans_busiest_unit"] = {"unit": busiest.code, "lead_orders": per_unit[busiest.pk], "queries": plans}
    return out


def _intakes(world: dict[str, Any], n: int, seed: int) -> list[Any]:
    from hotline.workorders.services import Intake

    rng = random.Random(seed)
    leaves = world["leaves"]
    pick_leaf = Picker(leaves, zipf(len(leaves), 1.0))
    rts = world["request_types"]
    pick_rt = Picker([rts[c] for c, _ in REQUEST_TYPES], [w for _, w in REQUEST_TYPES])
    streets = world["streets"]
    out = []
    for i in range(n):
        leaf = pick_leaf(rng)
        street = streets[rng.randrange(len(streets))]
        name = SURNAMES[rng.randrange(len(SURNAMES))] + GIVEN[rng.randrange(len(GIVEN))]
        # each caller calls twice, about different matters: a new profile, then a known one
        phone = f"159{(i // 2) * 7919 % 100_000_000:08d}"
        out.append(
            Intake(
                channel="phone", request_type=pick_rt(rng), category=leaf, region=street,
                title=f"关于{leaf.name}的诉求", citizen_name=name, citizen_phone=phone,
                address=f"{street.name}{rng.randrange(1, 300)}号",
                content=f"市民来电反映{street.name}{rng.randrange(1, 300)}号附近{leaf.name}问题。",
            )
        )  # fmt: skip
    return out


def measure_intake(world: dict[str, Any], *, n: int, seed: int) -> dict[str, Any]:
    """Orders per second through ``order_create`` against rows per second of a plain INSERT of the
    same columns through the same driver, one transaction per row, in alternating blocks."""
    from django.db import connection
    from django.utils import timezone

    from hotline.citizens.models import Citizen
    from hotline.workorders.models import WorkOrder
    from hotline.workorders.services import order_create

    agent = world["agent"]
    intakes = _intakes(world, n + 1, seed)
    vendor = connection.vendor
    # The raw baseline: every column the ORM's INSERT writes (all but id), with the values the
    # service would write for the same intake.
    fields = [f for f in WorkOrder._meta.concrete_fields if not f.primary_key]
    cols = ",".join(f.column for f in fields)
    mark = "?" if vendor == "sqlite" else "%s"
    insert = f"INSERT INTO workorders_workorder ({cols}) VALUES ({','.join(mark for _ in fields)})"
    begin = "BEGIN IMMEDIATE" if vendor == "sqlite" else "BEGIN"
    connection.ensure_connection()
    citizen_id = Citizen.objects.order_by("id").values_list("id", flat=True).first()

    def raw_values(i: int, intake: Any) -> list[Any]:
        values = {
            "number": f"B{i:012d}", "state": "pending_dispatch", "round": 1, "channel": intake.channel,
            "request_type_id": intake.request_type.pk, "category_id": intake.category.pk,
            "urgency": intake.urgency, "complex_case": False, "title": intake.title,
            "content": intake.content, "citizen_id": citizen_id, "citizen_name": intake.citizen_name,
            "citizen_phone": intake.citizen_phone,
            "region_id": intake.region.pk, "address": intake.address, "created_by_id": agent.pk,
        }  # fmt: skip
        row = []
        for f in fields:
            if f.column in values:
                row.append(values[f.column])
            elif f.column in ("created_at", "updated_at"):
                row.append(None)  # set at insert time
            else:
                default = f.get_default()
                row.append(None if (f.null and default in ("", None)) else default)
        return row

    stamp_at = [i for i, f in enumerate(fields) if f.column in ("created_at", "updated_at")]
    raw_rows = [raw_values(i, intake) for i, intake in enumerate(intakes)]

    def now_value() -> Any:
        moment = timezone.now()
        return str(moment.replace(tzinfo=None)) if vendor == "sqlite" else moment

    raw = connection.connection
    raw_times: list[float] = []
    service_times: list[float] = []
    blocks = 6
    per_block = max(1, n // blocks)
    k_raw = k_svc = 0
    cur = raw.cursor()
    for _block in range(blocks):
        for _ in range(per_block):
            row = raw_rows[k_raw]
            k_raw += 1
            t0 = time.perf_counter()
            stamp = now_value()
            for pos in stamp_at:
                row[pos] = stamp
            cur.execute(begin)
            cur.execute(insert, row)
            cur.execute("COMMIT")
            raw_times.append(time.perf_counter() - t0)
        for _ in range(per_block):
            intake = intakes[k_svc]
            k_svc += 1
            t0 = time.perf_counter()
            order_create(actor=agent, intake=intake)
            service_times.append(time.perf_counter() - t0)
    cur.close()
    queries = _captured(lambda: order_create(actor=agent, intake=intakes[n]))
    raw_rate = len(raw_times) / sum(raw_times)
    service_rate = len(service_times) / sum(service_times)
    return {
        "orders": len(service_times),
        "raw_rows": len(raw_times),
        "service_per_s": round(service_rate, 1),
        "raw_per_s": round(raw_rate, 1),
        "ratio": round(service_rate / raw_rate, 3),
        "service_latency": summary_ms(service_times),
        "raw_latency": summary_ms(raw_times),
        "service_queries_per_order": len(queries),
        "service_statements": [q[:160] for q in queries],
        "raw_statements": [begin, insert[:160] + "…", "COMMIT"],
    }


def measure_api(world: dict[str, Any], *, clients: int, seconds: float, max_requests: int,
                seed: int) -> dict[str, Any]:  # fmt: skip
    """Orders per second through ``POST /api/v1/workorders`` on uvicorn, ``clients`` keep-alive
    connections in threads, for at most ``seconds`` or ``max_requests``."""
    from django.db import connection

    from hotline.workorders.models import WorkOrder

    connection.close()
    port = free_port()
    cmd = [
        str(ROOT / ".venv" / "bin" / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1",
        "--port", str(port), "--ws", "websockets-sansio", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    if not Path(cmd[0]).exists():
        cmd[0:1] = [sys.executable, "-m", "uvicorn"]
    last_id = WorkOrder.objects.order_by("-id").values_list("id", flat=True).first() or 0
    connection.close()
    server_log = Path(os.environ.get("HOTLINE_VAR_DIR", tempfile.gettempdir())) / "uvicorn.log"
    with server_log.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=os.environ.copy(), stdout=sink, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for_port(port, timeout=60, proc=proc)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}: {server_log.read_text(errors='replace')[-2000:]}") from exc
        rng = random.Random(seed)
        leaves = [c.code for c in world["leaves"]]
        streets = [s.code for s in world["streets"]]
        rt_codes = [c for c, _ in REQUEST_TYPES]
        headers = {"Authorization": f"Bearer {world['token']}", "Content-Type": "application/json"}

        def body(i: int) -> bytes:
            return json.dumps({
                "channel": "phone", "request_type": rt_codes[i % len(rt_codes)],
                "title": "关于噪音扰民的诉求", "content": f"市民来电反映夜间施工噪音，第{i}次。",
                "category": leaves[rng.randrange(len(leaves))], "region": streets[i % len(streets)],
                "address": f"{i % 300}号", "citizen_name": "张先生", "citizen_phone": f"186{i:08d}",
            }).encode()  # fmt: skip

        def post(conn: http.client.HTTPConnection, payload: bytes) -> tuple[int, bytes]:
            conn.request("POST", "/api/v1/workorders", body=payload, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()

        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(20):  # first requests import and connect
            status, data = post(warm, body(10_000_000 + i))
            if status != 201:
                raise RuntimeError(f"warm-up request failed: {status} {data[:300]!r}")
        warm.close()

        lock = threading.Lock()
        counter = iter(range(max_requests))
        latencies: list[float] = []
        statuses: Counter[int] = Counter()
        errors: list[str] = []
        stop_at = time.perf_counter() + seconds

        def client() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            try:
                while time.perf_counter() < stop_at:
                    with lock:
                        i = next(counter, None)
                    if i is None:
                        return
                    payload = body(i)
                    t0 = time.perf_counter()
                    try:
                        status, data = post(conn, payload)
                    except (OSError, http.client.HTTPException) as exc:
                        with lock:
                            errors.append(repr(exc))
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                        continue
                    elapsed = time.perf_counter() - t0
                    with lock:
                        statuses[status] += 1
                        if status == 201:
                            latencies.append(elapsed)
                        elif len(errors) < 5:
                            errors.append(f"{status} {data[:200]!r}")
            finally:
                conn.close()

        threads = [threading.Thread(target=client) for _ in range(clients)]
        t_start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t_start
    finally:
        stop_process(proc)
    created = WorkOrder.objects.filter(id__gt=last_id).count() - 20  # less the warm-up
    # The statements of one request, through Django's test client in this process.
    import warnings

    from django.test import Client

    warnings.filterwarnings("ignore", message="No directory at")  # STATIC_ROOT is not collected here

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {world['token']}")
    one = _captured(
        lambda: client.post("/api/v1/workorders", data=body(20_000_000), content_type="application/json")
    )
    connection.close()
    ok = statuses.get(201, 0)
    return {
        "per_s": round(ok / elapsed, 1),
        "created": ok,
        "created_in_database": created,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": errors[:5],
        "seconds": round(elapsed, 1),
        "clients": clients,
        "server": "uvicorn, 1 process (as the Procfile's web process)",
        "latency": summary_ms(latencies),
        "queries_per_request": len(one),
        "statements_of_one_request": [q[:160] for q in one],
    }


def measure_scan(load: dict[str, Any], *, now: dt.datetime) -> dict[str, Any]:
    """The jobs process was down for an hour: a scan at ``now - 1 h`` (the installation's first, with
    no mark: it reads every passed threshold and finds nothing behind), then the measured scan at
    ``now``, which must find the planted crossings, then an ordinary every-minute scan at
    ``now + 1 min``."""
    from django.db import connection

    from hotline.workorders.tasks import deadlines_scan

    t0 = time.perf_counter()
    first_reached = deadlines_scan(now=now - dt.timedelta(seconds=CROSS_WINDOW_S))
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    reached = deadlines_scan(now=now)
    busy = time.perf_counter() - t1
    t2 = time.perf_counter()
    minute_reached = deadlines_scan(now=now + dt.timedelta(minutes=1))
    minute = time.perf_counter() - t2
    sqls = _captured(lambda: deadlines_scan(now=now + dt.timedelta(minutes=2)))
    expected = {int(k): v for k, v in load["crossing_expected"].items()}
    got = {int(k): v for k, v in reached.items()}
    plans = [_plan_entry(sql) for sql in sqls if sql.lstrip().upper().startswith("SELECT")]
    connection.close()
    return {
        "seconds": round(busy, 3),
        "idle_seconds": round(minute, 3),
        "idle_reached": {str(k): v for k, v in sorted(minute_reached.items())},
        "first_scan_seconds": round(first, 3),
        "first_scan_reached": {str(k): v for k, v in sorted(first_reached.items())},
        "reached": {str(k): v for k, v in sorted(got.items())},
        "expected": {str(k): v for k, v in sorted(expected.items())},
        "matches_expected": all(got.get(k, 0) == v for k, v in expected.items())
        and not any(first_reached.values()),
        "plans_minute_scan": plans,
    }


COUNT_EXISTS = (  # unit_inbox's form before it read lead_unit (commit 723d2ce)
    "SELECT COUNT(*) FROM workorders_workorder w WHERE EXISTS (SELECT 1 FROM workorders_assignment u0"
    " WHERE u0.order_id = w.id AND u0.state IN ('pending_sign', 'signed') AND u0.unit_id = %s)"
    " AND w.state = %s"
)
ANSWERED_WAITING = (  # only the answers still waiting on the centre (review or revisit)
    "SELECT COUNT(*) FROM workorders_workorder w"
    " WHERE w.lead_unit_id = %s AND w.state IN ('pending_review', 'pending_revisit')"
)


def _without_order_by(sql: str) -> str:
    head, sep, _tail = sql.rpartition(" ORDER BY ")
    return head if sep else sql


def measure_what_if(world: dict[str, Any], load: dict[str, Any], *, now: dt.datetime) -> dict[str, Any]:
    """Queries the product sends (captured), timed as sent and as docs/performance.md suggests
    changing them: without the ORDER BY they inherit, with an extra index (created for the
    measurement and dropped after it), or asked another way — for the busiest unit. Each figure is
    the median of three runs, in milliseconds. The product code is not changed."""
    from django.db import connection

    from hotline.workorders.tasks import deadlines_scan

    unit_id = load["per_unit_lead"].most_common(1)[0][0]
    unit = next(u["unit"] for u in world["units"] if u["unit"].pk == unit_id)
    handler = world["handlers"][unit_id]
    classes: Counter[str] = Counter()  # the busiest class, as in measure_inbox
    codes = [leaf.code for leaf in world["leaves"]]
    for code, weight in zip(codes, zipf(len(codes), 1.0), strict=True):
        classes[code[:2]] += weight
    category = classes.most_common(1)[0][0]
    wall = dt.datetime.now(UTC)

    def last_statement(run: Callable[[], Any]) -> str:
        return _captured(run)[-1]

    scan = [q for q in _captured(lambda: deadlines_scan(now=now)) if q.lstrip().upper().startswith("SELECT")]
    answered = last_statement(lambda: inbox_box(unit, "answered").count())
    handling = last_statement(lambda: inbox_box(unit, "handling").count())
    search = last_statement(
        lambda: _search(handler, states=["handling"], since=wall - dt.timedelta(days=30), until=wall,
                        category=category).count()
    )  # fmt: skip

    def timed(sql: str, params: list[Any] | None = None) -> float:
        runs = []
        with connection.cursor() as cursor:
            for _ in range(3):
                t0 = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                runs.append(time.perf_counter() - t0)
        return round(sorted(runs)[1] * 1000, 2)

    def with_indexes(ddl: list[str], run: Callable[[], dict[str, float]]) -> dict[str, float]:
        with connection.cursor() as cursor:
            for statement in ddl:
                cursor.execute(statement)
            cursor.execute("ANALYZE workorders_workorder")
            cursor.execute("ANALYZE workorders_assignment")
        try:
            return run()
        finally:
            with connection.cursor() as cursor:
                for statement in ddl:
                    cursor.execute("DROP INDEX " + statement.split()[2])

    out: dict[str, Any] = {"unit": unit.code, "search_class": category}
    for name, sql in zip(("due", "urgent", "warn"), scan, strict=False):
        out[f"scan_{name}_query_as_sent_ms"] = timed(sql)
        out[f"scan_{name}_query_without_order_by_ms"] = timed(_without_order_by(sql))
    out["inbox_count_handling_as_sent_ms"] = timed(handling)
    out["inbox_count_handling_exists_form_ms"] = timed(COUNT_EXISTS, [unit_id, "handling"])
    out["inbox_count_answered_as_sent_ms"] = timed(answered)
    out["inbox_count_answered_still_waiting_ms"] = timed(ANSWERED_WAITING, [unit_id])
    out["search_count_as_sent_ms"] = timed(search)
    search_indexes = [
        "CREATE INDEX bench_wi_state_created ON workorders_workorder (state, created_at)",
        "CREATE INDEX bench_wi_asg_unit_order ON workorders_assignment (unit_id, order_id)",
    ]
    out.update(with_indexes(search_indexes, lambda: {"search_count_with_two_indexes_ms": timed(search)}))
    out["statements"] = {
        "scan": [_shorten(q) for q in scan],
        "inbox_count_handling": _shorten(handling),
        "inbox_count_answered": _shorten(answered),
        "search_count": _shorten(search),
    }
    connection.close()
    return out


def database_size() -> str:
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
            return str(cursor.fetchone()[0])
    path = Path(settings.DATABASES["default"]["NAME"])
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return f"{size / 1024 / 1024:.0f} MB"


def child(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    engine = args.child
    started = time.perf_counter()
    result: dict[str, Any] = {"engine": engine, "code": git_state()}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            result["server_version"] = cursor.fetchone()[0]
            settings_of_interest = ["shared_buffers", "work_mem", "effective_cache_size", "random_page_cost",
                                    "jit", "fsync", "synchronous_commit", "full_page_writes"]  # fmt: skip
            result["server_settings"] = {}
            for name in settings_of_interest:
                cursor.execute(f"SHOW {name}")
                result["server_settings"][name] = cursor.fetchone()[0]
        else:
            result["server_version"] = connection.Database.sqlite_version
            cursor.execute("PRAGMA journal_mode")
            mode = cursor.fetchone()[0]
            cursor.execute("PRAGMA synchronous")
            sync = cursor.fetchone()[0]
            cursor.execute("PRAGMA cache_size")
            cache = cursor.fetchone()[0]
            result["server_settings"] = {"journal_mode": mode, "synchronous": sync, "cache_size": cache,
                                         "transaction_mode": "IMMEDIATE"}  # fmt: skip
    log(f"{engine}: migrate")
    t = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    result["migrate_s"] = round(time.perf_counter() - t, 1)
    log(f"{engine}: the city, categories and people")
    world = build_world(args.seed)
    now = dt.datetime.now(UTC).replace(microsecond=0)
    log(f"{engine}: loading {args.orders:,} orders")
    load = bulk_load(world, n=args.orders, now=now, seed=args.seed)
    log(
        f"{engine}: loaded {load['orders']:,} orders and {load['assignments']:,} assignments "
        f"(rows {load['load_rows_s']} s, indexes {load['build_indexes_s']} s, analyze {load['analyze_s']} s)"
    )
    result["database_size_after_load"] = database_size()

    def phase(
        key: str, title: str, run: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], str]
    ) -> None:
        """One measurement; a failure is recorded in the results and the next one still runs."""
        log(f"{engine}: {title}")
        try:
            result[key] = run()
        except Exception as exc:
            traceback.print_exc()
            result[key] = {"error": f"{type(exc).__name__}: {exc}"[:1000]}
            log(f"{engine}: {key} failed: {result[key]['error'][:200]}")
            from django.db import connection

            connection.close()
            return
        log(f"{engine}: {done(result[key])}")

    phase(
        "inbox",
        f"inbox pages and search over {args.orders:,} orders",
        lambda: measure_inbox(world, load, samples=args.samples, budget_s=args.kind_budget, seed=args.seed),
        lambda r: f"inbox worst p95 {r['p95_ms_worst_kind']} ms ({r['worst_kind']})",
    )
    phase(
        "intake",
        f"intake, {args.intake} orders through the service and {args.intake} raw rows",
        lambda: measure_intake(world, n=args.intake, seed=args.seed),
        lambda r: f"service {r['service_per_s']}/s, raw {r['raw_per_s']}/s, ratio {r['ratio']}",
    )
    phase(
        "api",
        f"API intake through uvicorn, {args.api_clients} clients",
        lambda: measure_api(
            world,
            clients=args.api_clients,
            seconds=args.api_seconds,
            max_requests=args.api_requests,
            seed=args.seed,
        ),
        lambda r: f"API {r['per_s']}/s ({r['statuses']})",
    )
    phase(
        "scan",
        "deadline scan",
        lambda: measure_scan(load, now=now),
        lambda r: f"scan {r['seconds']} s, reached {r['reached']}, idle scan {r['idle_seconds']} s",
    )
    phase(
        "what_if",
        "the suggested changes, tried in plain SQL",
        lambda: measure_what_if(world, load, now=now),
        lambda r: ", ".join(f"{k} {v}" for k, v in r.items() if k.endswith("_ms")),
    )
    load["per_unit_lead"] = {
        "units": len(load["per_unit_lead"]),
        "max": max(load["per_unit_lead"].values()),
        "median": int(percentile(list(load["per_unit_lead"].values()), 50)),
        "min": min(load["per_unit_lead"].values()),
    }
    result["load"] = load
    result["seconds"] = round(time.perf_counter() - started, 1)
    write_json(Path(args.child_out), result)


# ==================================================================================================
# Parent process: both engines, the results file
# ==================================================================================================


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


def git_state() -> dict[str, Any]:
    """The commit measured, and product files that differed from it when the run started (read only)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "--no-optional-locks", "status", "--porcelain", "--", "hotline", "config"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None}
    return {"commit": commit, "uncommitted_product_files": [line[3:] for line in status.splitlines()]}


def run_engine(engine: str, url: str, workdir: Path, args: argparse.Namespace, orders: int) -> dict[str, Any]:
    out = workdir / f"{engine}.json"
    (workdir / f"var-{engine}").mkdir(parents=True, exist_ok=True)
    env = os.environ.copy()
    env.pop("REDIS_URL", None)  # the embedded channel layer and job queue on both engines
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        HOTLINE_DEBUG="false",
        DATABASE_URL=url,
        HOTLINE_VAR_DIR=str(workdir / f"var-{engine}"),
        HOTLINE_ALLOWED_HOSTS="127.0.0.1,localhost",
        HOTLINE_LOG_LEVEL="WARNING",
        HOTLINE_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        PYTHONUNBUFFERED="1",
    )
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--child", engine, "--child-out", str(out),
        "--orders", str(orders), "--intake", str(args.intake), "--samples", str(args.samples),
        "--kind-budget", str(args.kind_budget), "--api-clients", str(args.api_clients),
        "--api-seconds", str(args.api_seconds), "--api-requests", str(args.api_requests),
        "--seed", str(args.seed),
    ]  # fmt: skip
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)
    return json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders loaded for inbox and scan")
    parser.add_argument("--sqlite-orders", type=int, default=None, help="a smaller size for SQLite only")
    parser.add_argument("--intake", type=int, default=3000, help="orders through the service (and raw rows)")
    parser.add_argument("--samples", type=int, default=50, help="samples per inbox query kind")
    parser.add_argument("--kind-budget", type=float, default=30, help="seconds at most per inbox query kind")
    parser.add_argument("--api-clients", type=int, default=4)
    parser.add_argument("--api-seconds", type=float, default=30)
    parser.add_argument("--api-requests", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--out", default=str(RESULTS / "workorders.json"))
    parser.add_argument(
        "--keep", action="store_true", help="keep the SQLite file and the PostgreSQL database"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    started = time.perf_counter()
    cpu_before = cpu_times()
    date = dt.datetime.now(UTC)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    pg_url = os.environ.get("DATABASE_URL") or PG_DEFAULT_URL
    if not pg_url.startswith("postgres"):
        pg_url = PG_DEFAULT_URL
    pg_version = None
    if "postgresql" in engines:
        if not pg_reachable(pg_url):
            print(
                f"PostgreSQL is not reachable at {pg_url}: start it with scripts/test-services.sh",
                file=sys.stderr,
            )
            return 2
        pg_version = pg_admin(pg_url, "SHOW server_version")[0]
    results: dict[str, Any] = {
        "benchmark": "workorders",
        "date": date.isoformat(timespec="seconds"),
        "code": git_state(),
        "machine": machine_info(pg_version),
        "parameters": {
            "orders": args.orders,
            "sqlite_orders": args.sqlite_orders or args.orders,
            "intake": args.intake,
            "inbox_samples_per_kind": args.samples,
            "api_clients": args.api_clients,
            "api_seconds_max": args.api_seconds,
            "api_requests_max": args.api_requests,
            "seed": args.seed,
            "settings": "config.settings.local, HOTLINE_DEBUG=false, in-memory channel layer, Huey on SQLite",
        },
        "targets": TARGETS,
        "figures": {},
        "details": {},
    }
    workdir = Path(tempfile.mkdtemp(prefix="hotline-bench-", dir="/tmp"))
    try:
        for engine in engines:
            orders = (args.sqlite_orders or args.orders) if engine == "sqlite" else args.orders
            log(f"=== {engine} ({orders:,} orders) ===")
            if engine == "sqlite":
                url = f"sqlite:///{workdir / 'bench.sqlite3'}"
                detail = run_engine(engine, url, workdir, args, orders)
            elif engine == "postgresql":
                url = with_database(pg_url, PG_BENCH_DB)
                pg_admin(
                    pg_url,
                    f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)",
                    f"CREATE DATABASE {PG_BENCH_DB}",
                )
                try:
                    detail = run_engine(engine, url, workdir, args, orders)
                finally:
                    if not args.keep:
                        pg_admin(pg_url, f"DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)")
            else:
                raise SystemExit(f"unknown engine {engine}")
            size = size_label(orders)
            figures = results["figures"]
            figures[f"intake_ratio_vs_raw_{engine}"] = detail.get("intake", {}).get("ratio")
            figures[f"api_intake_per_s_{engine}"] = detail.get("api", {}).get("per_s")
            figures[f"inbox_p95_ms_{size}_{engine}"] = detail.get("inbox", {}).get("p95_ms_worst_kind")
            figures[f"deadline_scan_s_{size}_{engine}"] = detail.get("scan", {}).get("seconds")
            results["details"][engine] = detail
    finally:
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    commits = {e: d.get("code", {}).get("commit") for e, d in results["details"].items()}
    results["code"]["commit_per_engine"] = commits
    results["code"]["changed_during_run"] = any(c != results["code"]["commit"] for c in commits.values())
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    # The machine is a virtual one: time stolen by the hypervisor slows every figure down.
    results["machine"]["cpu_during_run"] = cpu_share(cpu_before, cpu_times())
    results["duration_s"] = round(time.perf_counter() - started, 1)
    write_json(Path(args.out), results)
    print()
    print(f"Work-order benchmark, {results['date']}, {results['duration_s']} s — {args.out}")
    for key, value in results["figures"].items():
        print(f"  {key:36s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
