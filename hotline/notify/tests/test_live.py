"""A new notification reaches the recipient's open pages through the live socket, after commit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import transaction

from hotline.core.tests.test_live import WebsocketCommunicator
from hotline.notify.services import notification_mark_read, notify_unit, notify_users


@pytest.mark.django_db(transaction=True)
def test_recipient_gets_a_live_event_and_others_do_not(people: Any, city: Any) -> None:
    async def scenario() -> None:
        wang = WebsocketCommunicator(people.wang)
        qian = WebsocketCommunicator(people.qian)
        for socket in (wang, qian):
            connected, _ = await socket.connect()
            assert connected
            assert (await socket.receive_json_from())["type"] == "hello"

        def rolled_back() -> None:
            try:
                with transaction.atomic():
                    notify_users(users=[people.wang], kind="system", title="never sent")
                    raise RuntimeError("rollback")
            except RuntimeError:
                pass

        await sync_to_async(rolled_back)()
        created = await sync_to_async(notify_unit)(
            unit=city.east1_office, kind="order_new", title="新工单：占道经营", link="/orders/7/", email=False
        )
        event = await wang.receive_json_from()
        assert event["type"] == "notification"
        assert event["title"] == "新工单：占道经营"
        assert event["kind"] == "order_new"
        assert event["kind_label"] == "新工单"
        assert event["link"] == "/orders/7/"
        assert event["unread"] == 1
        assert event["id"] in {n.pk for n in created}
        assert await wang.receive_nothing(timeout=0.2)  # the rolled-back one never came
        assert await qian.receive_nothing(timeout=0.2)  # another street's handler hears nothing

        await sync_to_async(notification_mark_read)(user=people.wang)
        assert await wang.receive_json_from() == {"type": "notification.read", "unread": 0}

        for socket in (wang, qian):
            await socket.disconnect()

    asyncio.run(scenario())
