"""The work orders of one small February (2026) for the measure tests, made through the real services
with a frozen clock, so that their rows are the ones production writes.

The period is February 2026 in the centre's time (``PERIOD``). The orders, with what makes each
one awkward (times are Asia/Shanghai; units from the root ``conftest``):

- ``o1`` 2 Feb: lead 东一街道 with 市住建局 assisting, signed and answered on time, revisited
  satisfied and resolved → closed.
- ``o2`` 2 Feb: 东一街道; revisited unsatisfied and unresolved → reopened (round 2), dispatched
  again to 东一街道, revisited basically satisfied and resolved → closed.
- ``o3`` 2 Feb: merged into ``o1`` before dispatch.
- ``o4`` 13 Feb (Friday before the Spring Festival): 东二街道; the answer deadline runs over the
  holiday to 27 Feb; an extension refused, then one approved; answered on 2 March within the
  extended deadline; the revisit did not reach the citizen → closed.
- ``o5`` 3 Feb: dispatched to 东二街道, which returned it; the return accepted and re-dispatched
  to 东一街道, which signed, answered; revisited satisfied → closed.
- ``o6`` 3 Feb: a consultation answered at intake (直接办结).
- ``o7`` 3 Feb: dispatched to 西一街道 and cancelled before signature.
- ``o8`` 4 Feb: 东一街道 did not sign in time (the deadline scan marks it overdue), then a
  supervision notice (督办), then signed late; still handling.
- ``o9`` 4 Feb: a 求助 by WeChat to 西一街道, never signed (overdue, still waiting for signature).
- ``o10`` 6 Feb: a 求助 by web to 西一街道 with 东一街道 assisting, signed, answered on the make-up
  Saturday 14 Feb after its deadline (13 Feb); waiting for review.
- ``o11`` 5 Feb: 东二街道; revisited unsatisfied and unresolved, and closed without a new round.
- ``o12`` 1 Feb 00:30 (31 Jan in UTC): a consultation waiting for dispatch.
- ``o0`` 31 Jan 23:30: before the period (1 Feb in no time zone that matters here).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from hotline.taxonomy.models import Category, RequestType
from hotline.taxonomy.services import category_save
from hotline.workorders import services as s
from hotline.workorders.services import Intake
from hotline.workorders.tasks import deadlines_scan

CST = ZoneInfo("Asia/Shanghai")


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


PERIOD = (cst(2026, 2, 1), cst(2026, 3, 1))


@contextmanager
def at(*args: int) -> Iterator[None]:
    with time_machine.travel(cst(*args), tick=False):
        yield


@dataclass
class Categories:
    building: Any  # 城乡建设 (level 1)
    municipal: Any  # 城乡建设 / 市政管理 (level 2)
    enforcement: Any  # … / 城管执法 (level 3)
    supply: Any  # … / 供水 (level 3)
    environment: Any  # 环境保护 (level 1)
    noise: Any  # 环境保护 / 噪声污染 (level 2)
    transport: Any  # 交通运输 (level 1, no orders)


@pytest.fixture
def categories(db: Any) -> Categories:
    building = category_save(category=Category(name="城乡建设"))
    municipal = category_save(category=Category(name="市政管理", parent=building))
    enforcement = category_save(category=Category(name="城管执法", parent=municipal))
    supply = category_save(category=Category(name="供水", parent=municipal))
    environment = category_save(category=Category(name="环境保护"))
    noise = category_save(category=Category(name="噪声污染", parent=environment))
    transport = category_save(category=Category(name="交通运输"))
    return Categories(building, municipal, enforcement, supply, environment, noise, transport)


@pytest.fixture
def intake(people: Any, categories: Categories, city: Any):  # type: ignore[no-untyped-def]
    """``intake(**changes)`` — agent Li takes a phone complaint about street enforcement in 东一街道
    (at the frozen time of the caller)."""

    def make(*, type_code: str = "complaint", direct_answer: str | None = None, **changes: Any) -> Any:
        fields: dict[str, Any] = {
            "channel": "phone",
            "request_type": RequestType.objects.get(code=type_code),
            "title": "夜间施工噪音扰民",
            "content": "工地每晚十一点后仍在施工。",
            "citizen_name": "王小明",
            "citizen_phone": "13812345678",
            "region": city.east1,
            "category": categories.enforcement,
        }
        fields.update(changes)
        return s.order_create(actor=people.li, intake=Intake(**fields), direct_answer=direct_answer)

    return make


@dataclass
class February:
    o0: Any
    o1: Any
    o2: Any
    o3: Any
    o4: Any
    o5: Any
    o6: Any
    o7: Any
    o8: Any
    o9: Any
    o10: Any
    o11: Any
    o12: Any
    answer_due_before_extension: datetime


def _close_with_revisit(order: Any, people: Any, *, day: int, satisfaction: str, resolved: bool) -> None:
    with at(2026, 2, day, 10, 30):
        s.order_review(order=order, actor=people.zhou, accept=True)
    with at(2026, 2, day, 11, 0):
        s.order_revisit(
            order=order, actor=people.zhou, method="phone", resolved=resolved, satisfaction=satisfaction
        )


@pytest.fixture
def february(people: Any, city: Any, categories: Categories, intake: Any) -> February:
    p, c = people, categories
    with at(2026, 1, 31, 23, 30):
        o0 = intake()
    with at(2026, 2, 1, 0, 30):
        o12 = intake(type_code="consultation", category=c.noise, region=city.east2, title="咨询噪声标准")

    # o1: the whole loop, with an assisting unit
    with at(2026, 2, 2, 9, 0):
        o1 = intake()
    with at(2026, 2, 2, 9, 10):
        s.order_dispatch(order=o1, actor=p.zhou, lead_unit=city.east1_office, assist_units=[city.housing])
    with at(2026, 2, 2, 9, 30):
        s.order_sign(order=o1, actor=p.wang)
    # o2 and o3 (merged into o1 while it is handled)
    with at(2026, 2, 2, 10, 0):
        o2 = intake(citizen_phone="13900000002")
    with at(2026, 2, 2, 10, 10):
        s.order_dispatch(order=o2, actor=p.zhou, lead_unit=city.east1_office)
    with at(2026, 2, 2, 10, 20):
        s.order_sign(order=o2, actor=p.wang)
    with at(2026, 2, 2, 11, 0):
        o3 = intake()
    with at(2026, 2, 2, 11, 5):
        s.order_merge(order=o3, into=o1, actor=p.zhou, reason="同一工地")
    with at(2026, 2, 3, 10, 0):
        s.order_answer(order=o1, actor=p.wang, result="resolved", answer="已责令停工。")
    _close_with_revisit(o1, p, day=3, satisfaction="satisfied", resolved=True)

    # o5: returned, accepted and re-dispatched
    with at(2026, 2, 3, 9, 0):
        o5 = intake(citizen_phone="13900000005")
    with at(2026, 2, 3, 9, 10):
        s.order_dispatch(order=o5, actor=p.zhou, lead_unit=city.east2_office)
    with at(2026, 2, 3, 9, 20):
        s.order_return(order=o5, actor=p.qian, reason="地址属于东一街道")
    with at(2026, 2, 3, 9, 40):
        s.order_return_decide(order=o5, actor=p.zhou, accept=True, new_lead_unit=city.east1_office)
    with at(2026, 2, 3, 10, 0):
        s.order_sign(order=o5, actor=p.wang)

    # o6: answered at intake; o7: cancelled
    with at(2026, 2, 3, 11, 0):
        o6 = intake(
            type_code="consultation", category=c.noise, region=city.west1, direct_answer="标准已告知。"
        )
    with at(2026, 2, 3, 14, 0):
        o7 = intake(category=c.noise, region=city.west1, citizen_phone="13900000007")
    with at(2026, 2, 3, 14, 10):
        s.order_dispatch(order=o7, actor=p.zhou, lead_unit=city.west1_office)
    with at(2026, 2, 3, 14, 30):
        s.order_cancel(order=o7, actor=p.zhou, reason="市民撤回")

    # o2 round 1: unsatisfied and unresolved → reopened
    with at(2026, 2, 3, 14, 0):
        s.order_answer(order=o2, actor=p.wang, result="resolved", answer="已处理。")
    with at(2026, 2, 3, 14, 30):
        s.order_review(order=o2, actor=p.zhou, accept=True)
    with at(2026, 2, 3, 15, 0):
        s.order_revisit(order=o2, actor=p.zhou, method="phone", resolved=False, satisfaction="unsatisfied")

    # o5 answered and closed
    with at(2026, 2, 4, 10, 0):
        s.order_answer(order=o5, actor=p.wang, result="resolved", answer="已处理。")
    _close_with_revisit(o5, p, day=4, satisfaction="satisfied", resolved=True)

    # o8 and o9 miss their sign deadlines (11:10 and 11:40); the scan at 14:00 marks them
    with at(2026, 2, 4, 9, 0):
        o8 = intake(citizen_phone="13900000008")
    with at(2026, 2, 4, 9, 10):
        s.order_dispatch(order=o8, actor=p.zhou, lead_unit=city.east1_office)
    with at(2026, 2, 4, 9, 30):
        o9 = intake(type_code="help", channel="wechat", category=c.noise, region=city.west1,
                    citizen_phone="13900000009")  # fmt: skip
    with at(2026, 2, 4, 9, 40):
        s.order_dispatch(order=o9, actor=p.zhou, lead_unit=city.west1_office)
    deadlines_scan(now=cst(2026, 2, 4, 14, 0))
    with at(2026, 2, 5, 9, 0):
        s.order_supervise(order=o8, actor=p.chen, kind="supervise", message="请尽快签收办理。")
    with at(2026, 2, 5, 9, 30):
        s.order_sign(order=o8, actor=p.wang)

    # o2 round 2: dispatched again, basically satisfied
    with at(2026, 2, 5, 9, 0):
        s.order_dispatch(order=o2, actor=p.zhou, lead_unit=city.east1_office)
    with at(2026, 2, 5, 9, 10):
        s.order_sign(order=o2, actor=p.wang)
    with at(2026, 2, 6, 10, 0):
        s.order_answer(order=o2, actor=p.wang, result="resolved", answer="已彻底解决。")
    _close_with_revisit(o2, p, day=6, satisfaction="basically", resolved=True)

    # o11: 东二街道, revisited unsatisfied and unresolved, closed without a new round
    with at(2026, 2, 5, 10, 0):
        o11 = intake(region=city.east2, citizen_phone="13900000011")
    with at(2026, 2, 5, 10, 10):
        s.order_dispatch(order=o11, actor=p.zhou, lead_unit=city.east2_office)
    with at(2026, 2, 5, 10, 30):
        s.order_sign(order=o11, actor=p.qian)
    with at(2026, 2, 9, 10, 0):
        s.order_answer(order=o11, actor=p.qian, result="explained", answer="已解释。")
    with at(2026, 2, 9, 10, 30):
        s.order_review(order=o11, actor=p.zhou, accept=True)
    with at(2026, 2, 9, 11, 0):
        s.order_revisit(order=o11, actor=p.zhou, method="phone", resolved=False, satisfaction="unsatisfied",
                        reopen=False)  # fmt: skip

    # o10: assisted by 东一街道, answered late on the make-up Saturday
    with at(2026, 2, 6, 9, 0):
        o10 = intake(type_code="help", channel="web", category=c.noise, region=city.west1,
                     citizen_phone="13900000010")  # fmt: skip
    with at(2026, 2, 6, 9, 10):
        s.order_dispatch(
            order=o10, actor=p.zhou, lead_unit=city.west1_office, assist_units=[city.east1_office]
        )
    with at(2026, 2, 6, 9, 20):
        s.order_sign(order=o10, actor=p.wu)
    with at(2026, 2, 14, 10, 0):
        s.order_answer(order=o10, actor=p.wu, result="unresolved", answer="需市级协调。")

    # o4: over the Spring Festival, one extension refused and one approved
    with at(2026, 2, 13, 10, 0):
        o4 = intake(category=c.supply, region=city.east2, citizen_phone="13900000004")
    with at(2026, 2, 13, 10, 10):
        s.order_dispatch(order=o4, actor=p.zhou, lead_unit=city.east2_office)
    with at(2026, 2, 13, 10, 30):
        s.order_sign(order=o4, actor=p.qian)
    o4.refresh_from_db()
    due_before = o4.answer_due_at
    with at(2026, 2, 24, 10, 0):
        refused = s.extension_request(order=o4, actor=p.qian, working_days=3, reason="需协调供水公司")
    with at(2026, 2, 24, 11, 0):
        s.extension_decide(extension=refused, actor=p.zhou, approve=False)
    with at(2026, 2, 25, 10, 0):
        approved = s.extension_request(order=o4, actor=p.qian, working_days=2, reason="管道需更换")
    with at(2026, 2, 25, 11, 0):
        s.extension_decide(extension=approved, actor=p.zhou, approve=True)
    o4.refresh_from_db()
    with at(2026, 3, 2, 9, 0):
        s.order_answer(order=o4, actor=p.qian, result="resolved", answer="管道已更换。")
    with at(2026, 3, 2, 9, 30):
        s.order_review(order=o4, actor=p.zhou, accept=True)
    with at(2026, 3, 2, 10, 0):
        s.order_revisit(order=o4, actor=p.zhou, method="unreachable", resolved=None)

    orders = [o0, o1, o2, o3, o4, o5, o6, o7, o8, o9, o10, o11, o12]
    for order in orders:
        order.refresh_from_db()
    return February(*orders, answer_due_before_extension=due_before)
