"""Demo work orders for the demo city: real citizens' messages and official replies (a public
data set of a city's government message board, ``data/demo_requests.csv``), taken in and moved
through the loop by the demo staff with the ordinary services, so that every screen has content.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from hotline.accounts.models import User
from hotline.audit.context import acting_as
from hotline.orgs.models import Region, Unit
from hotline.orgs.selectors import duty_resolve
from hotline.taxonomy.models import Category, RequestType
from hotline.workorders import services as s
from hotline.workorders.models import WorkOrder

DATA = Path(__file__).resolve().parent / "data" / "demo_requests.csv"

# Street matters (handled by the street office, "一杆到底"): keyword in the title → level-3 category
STREET_KEYWORDS: list[tuple[str, str]] = [
    ("物业", "小区管理"),
    ("小区", "小区管理"),
    ("垃圾", "环境卫生"),
    ("卫生", "环境卫生"),
    ("绿化", "园林绿化"),
    ("噪", "城管执法"),
    ("扰民", "城管执法"),
    ("施工", "城管执法"),
    ("油烟", "城管执法"),
    ("违建", "城管执法"),
    ("违章", "城管执法"),
    ("占道", "城管执法"),
    ("路灯", "城管执法"),
]
# Everything else: keyword → category path (level 1, level 2[, level 3]) in the bundled taxonomy
KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("公积金", ("城乡建设", "住房保障与房地产", "住房公积金")),
    ("自来水", ("城乡建设", "城市建设和市政管理", "自来水供应")),
    ("拆迁", ("城乡建设", "国有土地上房屋征收与补偿", "房屋拆迁")),
    ("安置", ("城乡建设", "国有土地上房屋征收与补偿", "安置补偿")),
    ("污染", ("环境保护", "环境污染", "其他污染")),
    ("学", ("教育文体",)),
    ("教师", ("教育文体",)),
    ("医", ("卫生计生",)),
    ("社保", ("劳动和社会保障",)),
    ("工资", ("劳动和社会保障",)),
    ("公交", ("交通运输",)),
    ("车", ("交通运输",)),
    ("道路", ("城乡建设", "城市建设和市政管理", "基础设施")),
    ("市场", ("商贸旅游",)),
    ("房", ("城乡建设", "住房保障与房地产")),
]
FALLBACK = ("城乡建设", "其他")
STREET_PARENT = ("城乡建设", "城市建设和市政管理")


@dataclass(frozen=True)
class Staff:
    agent: Any
    dispatcher: Any
    handler: Any


def _street_category(title: str, by_path: dict[tuple[str, ...], Category]) -> Category | None:
    for word, name in STREET_KEYWORDS:
        if word in title:
            return by_path.get((*STREET_PARENT, name))
    return None


def _category(title: str, by_path: dict[tuple[str, ...], Category]) -> Category | None:
    for word, path in KEYWORDS:
        if word in title and path in by_path:
            return by_path[path]
    return by_path.get(FALLBACK)


def _paths() -> dict[tuple[str, ...], Category]:
    """Every active category by its path of names."""
    path_of: dict[int, tuple[str, ...]] = {}
    paths: dict[tuple[str, ...], Category] = {}
    for category in Category.objects.filter(active=True).order_by("level", "code"):
        path = (*path_of.get(category.parent_id or 0, ()), category.name)
        path_of[category.pk] = path
        paths[path] = category
    return paths


# How far each demo order gets. Street matters go to the demo handler's street office and move
# through the whole loop; the others wait for dispatch, wait for a unit, or were answered at once.
STREET_PLAN = ["dispatched", "signed", "signed", "answered", "reviewed", "closed", "closed", "returned"]
OTHER_PLAN = ["new", "new", "dispatched", "dispatched", "direct"]


def _advance(order: WorkOrder, step: str, row: dict[str, str], staff: Staff, unit: Unit | None) -> None:
    reply = row["reply"][:1500]
    if step == "new":
        return
    if unit is None:
        return
    with acting_as(staff.dispatcher):
        s.order_dispatch(order=order, actor=staff.dispatcher, lead_unit=unit)
    if step == "dispatched":
        return
    acting = staff.handler if unit.pk == staff.handler.unit_id else _unit_person(unit)
    if acting is None:
        return
    if step == "returned":
        with acting_as(acting):
            s.order_return(order=order, actor=acting, reason="经核实，该诉求不属于本单位职责范围。")
        return
    with acting_as(acting):
        s.order_sign(order=order, actor=acting)
        if step == "signed":
            s.order_note(order=order, actor=acting, text="已安排工作人员现场核查。")
            return
        s.order_answer(order=order, actor=acting, result="resolved", answer=reply)
    if step == "answered":
        return
    with acting_as(staff.dispatcher):
        s.order_review(order=order, actor=staff.dispatcher, accept=True)
        if step == "closed":
            s.order_revisit(
                order=order, actor=staff.dispatcher, method="phone", resolved=True, satisfaction="satisfied"
            )


def _unit_person(unit: Unit) -> Any:
    return User.objects.filter(unit=unit, is_active=True, role__in=["handler", "unit_manager"]).first()


def _request_type(title: str) -> str:
    if "咨询" in title or "？" in title or "?" in title:
        return "咨询"
    if "建议" in title or "希望" in title:
        return "建议"
    return "投诉"


@transaction.atomic
def load_demo_orders(*, count: int = 80, seed: int = 12345) -> int:
    """Take the demo requests in once (nothing happens if any order exists). Returns how many."""
    if WorkOrder.objects.exists() or not DATA.exists():
        return 0
    staff = Staff(
        agent=User.objects.get(username="agent_li"),
        dispatcher=User.objects.get(username="dispatcher_zhou"),
        handler=User.objects.get(username="handler_wang"),
    )
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    paths = _paths()
    types = {t.name: t for t in RequestType.objects.all()}
    streets = list(Region.objects.filter(level="street").order_by("code"))
    home = staff.handler.unit.region
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[:count]
    for index, row in enumerate(rows):
        title = row["title"][:200]
        kind = _request_type(title)
        category = _street_category(title, paths)
        if category is not None:
            region, step = home, STREET_PLAN[index % len(STREET_PLAN)]
        else:
            category = _category(title, paths)
            region, step = rng.choice(streets), OTHER_PLAN[index % len(OTHER_PLAN)]
        intake = s.Intake(
            channel=rng.choice(["phone", "phone", "phone", "web", "wechat", "app"]),
            request_type=types[kind],
            title=title,
            content=row["body"],
            citizen_name=rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(["先生", "女士"]),
            citizen_phone=f"13{rng.randint(100000000, 999999999)}",
            region=region,
            address=f"{region.name}{rng.randint(1, 200)}号",
            category=category,
        )
        with acting_as(staff.agent):
            if step == "direct":
                s.order_create(actor=staff.agent, intake=intake, direct_answer=row["reply"][:1500])
                continue
            order = s.order_create(actor=staff.agent, intake=intake)
        duty = duty_resolve(category=category, region=region) if category is not None else None
        _advance(order, step, row, staff, duty.unit if duty else None)
    return len(rows)
