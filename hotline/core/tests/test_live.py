"""The live websocket and the channel layers behind it (in-memory by default, Redis in production)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from hotline.core.consumers import LiveConsumer, user_group
from hotline.core.events import publish


class WebsocketCommunicator(ApplicationCommunicator):
    """A websocket client speaking ASGI straight to the consumer."""

    def __init__(self, user: Any) -> None:
        scope = {"type": "websocket", "path": "/ws/live/", "headers": [], "subprotocols": [], "user": user}
        super().__init__(LiveConsumer.as_asgi(), scope)

    async def connect(self, timeout: float = 2) -> tuple[bool, Any]:
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(timeout)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        return True, response.get("subprotocol")

    async def receive_json_from(self, timeout: float = 2) -> Any:
        response = await self.receive_output(timeout)
        assert response["type"] == "websocket.send"
        return json.loads(response["text"])

    async def disconnect(self, code: int = 1000) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(1)


def _communicator(user: Any) -> WebsocketCommunicator:
    return WebsocketCommunicator(user)


@pytest.mark.django_db(transaction=True)
def test_signed_in_user_receives_events_published_after_commit(people: Any) -> None:
    async def scenario() -> None:
        communicator = _communicator(people.li)
        connected, _ = await communicator.connect()
        assert connected
        hello = await communicator.receive_json_from()
        assert hello == {"type": "hello", "user": "li", "role": "agent"}

        def publish_in_transaction(rollback: bool) -> None:
            try:
                with transaction.atomic():
                    publish(user_group(people.li.pk), {"type": "note", "rolled_back": rollback})
                    if rollback:
                        raise RuntimeError("rollback")
            except RuntimeError:
                pass

        await sync_to_async(publish_in_transaction)(True)  # never sent
        await sync_to_async(publish_in_transaction)(False)
        event = await communicator.receive_json_from(timeout=2)
        assert event == {"type": "note", "rolled_back": False}
        assert await communicator.receive_nothing(timeout=0.2)
        await communicator.disconnect()

    asyncio.run(scenario())


@pytest.mark.django_db(transaction=True)
def test_anonymous_socket_is_refused() -> None:
    async def scenario() -> None:
        communicator = _communicator(AnonymousUser())
        connected, code = await communicator.connect()
        assert not connected
        assert code == 4401

    asyncio.run(scenario())


@pytest.mark.redis
def test_redis_channel_layer_round_trip(redis_url: str, settings: Any) -> None:
    """Production's layer: two layer instances (two processes) meet through Redis."""
    from channels_redis.core import RedisChannelLayer

    async def scenario() -> None:
        sender = RedisChannelLayer(hosts=[redis_url], prefix="hotline-test")
        receiver = RedisChannelLayer(hosts=[redis_url], prefix="hotline-test")
        channel = await receiver.new_channel()
        await receiver.group_add("wall", channel)
        await sender.group_send("wall", {"type": "live.event", "event": {"n": 1}})
        message = await asyncio.wait_for(receiver.receive(channel), timeout=5)
        assert message == {"type": "live.event", "event": {"n": 1}}
        await receiver.group_discard("wall", channel)
        await sender.flush()
        await sender.close_pools()
        await receiver.close_pools()

    asyncio.run(scenario())


@pytest.mark.redis
def test_redis_job_queue_round_trip(redis_url: str) -> None:
    """Production's job queue: a task enqueued by one process is run by a consumer."""
    from huey import RedisHuey

    huey = RedisHuey("hotline-test", url=redis_url)
    huey.flush()

    @huey.task()
    def add(a: int, b: int) -> int:
        return a + b

    result = add(2, 3)
    assert huey.pending_count() == 1
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)
    assert result.get(blocking=True, timeout=5) == 5
    huey.flush()


def test_default_layer_is_in_memory() -> None:
    assert type(get_channel_layer()).__name__ == "InMemoryChannelLayer"


@pytest.mark.django_db(transaction=True)
def test_events_from_another_process_are_relayed_through_the_database(people: Any) -> None:
    """The jobs process has no socket and no shared layer: its events go to the LiveEvent table,
    and the web process's relay forwards them to the sockets it holds."""
    from hotline.core.events import live_events_prune, relay_once, relay_running
    from hotline.core.models import LiveEvent

    assert not relay_running()  # this test plays the jobs process first
    with transaction.atomic():
        publish(user_group(people.li.pk), {"type": "notification", "unread": 3})
    row = LiveEvent.objects.get()
    assert row.group == user_group(people.li.pk)

    async def web_process() -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(user_group(people.li.pk), channel)
        last = await relay_once(layer, 0)
        assert last == row.pk
        message = await asyncio.wait_for(layer.receive(channel), timeout=2)
        assert message == {"type": "live.event", "event": {"type": "notification", "unread": 3}}
        assert await relay_once(layer, last) == last  # nothing new: nothing sent again

    asyncio.run(web_process())
    from django.utils import timezone

    assert live_events_prune(now=timezone.now()) == 0
    assert live_events_prune(now=timezone.now() + timedelta(hours=2)) == 1
