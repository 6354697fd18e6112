"""回访外呼: calling a citizen from the revisit queue (the number stays on the server)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from hotline.audit.models import AuditEvent
from hotline.callcenter.runtime import _dial_data
from hotline.core.events import SWITCH_GROUP
from hotline.core.models import LiveEvent
from hotline.workorders.choices import OrderState
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def as_user(client: Client, user: Any) -> Client:
    client.force_login(user)
    return client


def waiting_for_revisit(take: Any) -> WorkOrder:
    order = take()
    WorkOrder.objects.filter(pk=order.pk).update(state=OrderState.PENDING_REVISIT)
    order.refresh_from_db()
    return order


def dial(client: Client, order: WorkOrder) -> Any:
    return client.post(reverse("callcenter:desk_revisit_dial", args=[order.number]))


def test_a_dispatcher_calls_the_citizen_of_an_order_waiting_for_revisit(
    client: Client, people: Any, take: Any
) -> None:
    order = waiting_for_revisit(take)
    response = dial(as_user(client, people.zhou), order)
    assert response.status_code == 200
    assert order.citizen_phone not in response.content.decode()  # the number stays on the server
    command = LiveEvent.objects.get(group=SWITCH_GROUP).payload
    assert command == {
        "action": "dial",
        "by": people.zhou.pk,
        "number": order.citizen_phone,
        "order": order.number,
        "purpose": "revisit",
    }
    read = AuditEvent.objects.get(action="read", object_id=str(order.pk))
    assert read.actor_id == people.zhou.pk


def test_an_order_not_waiting_for_revisit_is_not_dialled(client: Client, people: Any, take: Any) -> None:
    order = take()
    response = dial(as_user(client, people.zhou), order)
    assert response.status_code == 409
    assert "不在待回访状态" in response.content.decode()
    assert not LiveEvent.objects.filter(group=SWITCH_GROUP).exists()


def test_only_staff_who_revisit_may_dial_and_only_by_post(client: Client, people: Any, take: Any) -> None:
    order = waiting_for_revisit(take)
    assert dial(as_user(client, people.li), order).status_code == 403  # an agent does not revisit
    zhou = as_user(Client(), people.zhou)
    assert zhou.get(reverse("callcenter:desk_revisit_dial", args=[order.number])).status_code == 405
    assert zhou.post(reverse("callcenter:desk_revisit_dial", args=["2099010100001"])).status_code == 404
    assert not LiveEvent.objects.filter(group=SWITCH_GROUP).exists()


def test_the_switch_keeps_what_an_outbound_call_is_for() -> None:
    assert _dial_data(
        {"action": "dial", "number": "1", "order": " 2026112100001 ", "purpose": "revisit"}
    ) == {
        "order": "2026112100001",
        "purpose": "revisit",
    }
    assert _dial_data({"action": "dial", "number": "1", "order": {"x": 1}}) == {}
