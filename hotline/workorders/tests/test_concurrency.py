"""Two handlers sign the same order at the same moment, in two threads with their own database
connections: exactly one wins, the other gets a conflict, and the history has one signature."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from hotline.core.errors import Conflict
from hotline.workorders import services as s
from hotline.workorders.models import WorkOrder


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_sign_has_one_winner(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def sign(user: Any) -> None:
        from django.db import connections

        try:
            mine = WorkOrder.objects.get(pk=order.pk)  # each loads the order before either signs
            barrier.wait(timeout=10)
            s.order_sign(order=mine, actor=user)
            result = "signed"
        except Conflict as exc:
            result = exc.code
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=sign, args=(u,)) for u in (people.wang, people.sun)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["signed", "state_changed"]
    assert order.events.filter(action="sign").count() == 1
    assert WorkOrder.objects.get(pk=order.pk).state == "handling"
