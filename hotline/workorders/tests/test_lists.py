"""Order lists read in parts (``OrderUnion``): a unit's inbox and search — the orders it leads and
those it assists in — paged and counted as one list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.paginator import Paginator
from django.utils import timezone

from hotline.workorders import services as s
from hotline.workorders.models import WorkOrder
from hotline.workorders.selectors import (
    INBOX_BOXES,
    OrderFilter,
    OrderUnion,
    inbox_counts,
    orders_search,
    unit_inbox,
)

pytestmark = pytest.mark.django_db


def _led_and_assisted(take: Any, people: Any, city: Any) -> tuple[list[WorkOrder], list[WorkOrder]]:
    led = []
    for i in range(5):
        order = take(title=f"主办{i}")
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
        led.append(order)
    assisted = []
    for i in range(3):
        order = take(title=f"协办{i}")
        s.order_dispatch(
            order=order, actor=people.zhou, lead_unit=city.east2_office, assist_units=[city.east1_office]
        )
        assisted.append(order)
    return led, assisted


def test_union_pages_merge_both_parts_in_order(take: Any, people: Any, city: Any) -> None:
    led, assisted = _led_and_assisted(take, people, city)
    now = timezone.now()
    # give every order a distinct due time, interleaving the two parts
    for i, order in enumerate([*led, *assisted]):
        WorkOrder.objects.filter(pk=order.pk).update(due_at=now + timedelta(hours=(i * 5) % 8 + 1))
    box = unit_inbox(unit=city.east1_office, box="to_sign")
    assert isinstance(box, OrderUnion)
    expected = list(
        WorkOrder.objects.filter(pk__in=[o.pk for o in [*led, *assisted]]).order_by("due_at", "id")
    )
    assert box.count() == 8
    pages = Paginator(box, 3)
    seen = [o.pk for n in pages.page_range for o in pages.page(n).object_list]
    assert seen == [o.pk for o in expected]


def test_inbox_counts_agree_with_the_boxes(take: Any, people: Any, city: Any) -> None:
    led, assisted = _led_and_assisted(take, people, city)
    now = timezone.now()
    s.order_sign(order=led[0], actor=people.wang)
    # one led order near its deadline, one overdue; one assisted order overdue
    for order, started in ((led[1], 50), (led[2], 70), (assisted[1], 80)):
        begin = now - timedelta(minutes=started)
        WorkOrder.objects.filter(pk=order.pk).update(
            warn_at=begin + timedelta(minutes=42), due_at=begin + timedelta(minutes=60)
        )
    counts = inbox_counts(unit=city.east1_office, now=now)
    for box in INBOX_BOXES:
        assert counts[box] == unit_inbox(unit=city.east1_office, box=box, now=now).count(), box
    assert counts["near_deadline"] == 1 and counts["overdue"] == 2
    assert counts["to_sign"] + counts["handling"] == 8


def test_unit_search_lists_what_the_unit_holds_and_finds_the_rest_by_number(
    take: Any, people: Any, city: Any
) -> None:
    led, assisted = _led_and_assisted(take, people, city)
    other = take(title="别的街道")
    s.order_dispatch(order=other, actor=people.zhou, lead_unit=city.east2_office)
    # an order 东一 returned, then re-dispatched to 东二: still visible to 东一, not listed
    returned = take(title="退回的工单")
    s.order_dispatch(order=returned, actor=people.zhou, lead_unit=city.east1_office)
    s.order_return(order=returned, actor=people.wang, reason="不属于本街道")
    s.order_return_decide(order=returned, actor=people.zhou, accept=True, new_lead_unit=city.east2_office)
    listed = orders_search(people.wang, OrderFilter())
    numbers = {o.number for o in listed}
    assert numbers == {o.number for o in [*led, *assisted]}
    assert listed.count() == 8
    by_number = orders_search(people.wang, OrderFilter(number=returned.number))
    assert [o.number for o in by_number] == [returned.number]
    assert not list(orders_search(people.wang, OrderFilter(number=other.number)))
    # filters apply to both parts
    assert {o.number for o in orders_search(people.wang, OrderFilter(q="协办"))} == {
        o.number for o in assisted
    }
