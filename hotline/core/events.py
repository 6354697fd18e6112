"""Live events to browsers (agent desktop, wallboards, the notification bell), after commit.

With a shared channel layer (Redis, production) ``publish`` sends straight through it, whatever
the process. With the embedded in-memory layer, a layer reaches only the sockets of its own
process: the web process sends directly, and any other process (jobs, switch) writes the event to
the ``LiveEvent`` table, which the web process relays to its sockets every 250 ms
(``relay_run``, started with the first socket; see docs/decisions/0003-embedded-event-relay.md).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

SWITCH_GROUP = "switch"  # commands for the switch process (docs/desktop.md)
RELAY_INTERVAL_S = 0.25
RELAY_BATCH = 500
KEEP = timedelta(hours=1)

# Set in the process that relays (the web process, once a socket has connected).
_relay: dict[str, Any] = {"task": None}
# Set when the switch listens on this process's own in-memory layer (a single-process setup, tests).
_switch_here: dict[str, bool] = {"on": False}


def switch_listens_here(on: bool = True) -> None:
    _switch_here["on"] = on


def _switch_by_table(layer: Any) -> bool:
    return layer is None or (_layer_is_local(layer) and not _switch_here["on"])


def _layer_is_local(layer: Any) -> bool:
    return isinstance(layer, InMemoryChannelLayer)


def relay_running() -> bool:
    task = _relay["task"]
    return task is not None and not task.done()


def publish(group: str, event: dict[str, Any]) -> None:
    """Send ``event`` to every socket in ``group`` once the current transaction has committed."""
    publish_many([(group, event)])


def publish_many_now(events: list[tuple[str, dict[str, Any]]]) -> None:
    layer = get_channel_layer()
    if layer is None or not events:
        return
    if _layer_is_local(layer) and not relay_running():
        from .models import LiveEvent

        LiveEvent.objects.bulk_create([LiveEvent(group=group, payload=event) for group, event in events])
        return
    for group, event in events:
        async_to_sync(layer.group_send)(group, {"type": "live.event", "event": event})


def switch_send_now(command: dict[str, Any]) -> None:
    """Hand a command to the switch process: through the shared layer, or (embedded default) as a
    ``LiveEvent`` row the switch reads, whether or not this process relays."""
    layer = get_channel_layer()
    if _switch_by_table(layer):
        from .models import LiveEvent

        LiveEvent.objects.create(group=SWITCH_GROUP, payload=command)
        return
    async_to_sync(layer.group_send)(SWITCH_GROUP, {"type": "switch.command", "command": command})


async def switch_send_async(command: dict[str, Any]) -> None:
    """``switch_send_now`` from async code (the websocket consumer)."""
    layer = get_channel_layer()
    if _switch_by_table(layer):
        await database_sync_to_async(switch_send_now)(command)
        return
    await layer.group_send(SWITCH_GROUP, {"type": "switch.command", "command": command})


def switch_send(command: dict[str, Any]) -> None:
    """``switch_send_now`` once the current transaction has committed (configuration changes)."""
    transaction.on_commit(lambda: switch_send_now(command))


def publish_many(events: list[tuple[str, dict[str, Any]]]) -> None:
    """``publish`` for many events at once (one outbox insert in the embedded default)."""
    transaction.on_commit(lambda: publish_many_now(events))


@database_sync_to_async
def _fetch(after: int) -> list[tuple[int, str, Any]]:
    from .models import LiveEvent

    return list(
        LiveEvent.objects.filter(id__gt=after)
        .exclude(group=SWITCH_GROUP)
        .order_by("id")
        .values_list("id", "group", "payload")[:RELAY_BATCH]
    )


@database_sync_to_async
def _last_id() -> int:
    from .models import LiveEvent

    return LiveEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


async def relay_once(layer: Any, after: int) -> int:
    """Forward the events written after ``after`` to ``layer``; returns the last id seen."""
    for event_id, group, payload in await _fetch(after):
        await layer.group_send(group, {"type": "live.event", "event": payload})
        after = event_id
    return after


async def relay_run(layer: Any, *, interval: float = RELAY_INTERVAL_S) -> None:
    """Forward new ``LiveEvent`` rows to ``layer`` until cancelled (events older than the start
    are not replayed: their sockets are gone)."""
    after = await _last_id()
    while True:
        try:
            after = await relay_once(layer, after)
        except Exception:  # a locked or restarting database must not end the relay
            logger.exception("live event relay")
        await asyncio.sleep(interval)


def relay_ensure_started() -> None:
    """Start the relay in this process's event loop if the layer is local and it is not running."""
    layer = get_channel_layer()
    if layer is None or not _layer_is_local(layer) or relay_running():
        return
    _relay["task"] = asyncio.get_running_loop().create_task(relay_run(layer))


def live_events_prune(*, now: Any = None) -> int:
    from .models import LiveEvent

    deleted, _ = LiveEvent.objects.filter(created_at__lt=(now or timezone.now()) - KEEP).delete()
    return deleted
