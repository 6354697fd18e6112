"""Publishing live events to browsers (agent desktop, wallboards) after a transaction commits."""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def publish_now(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, {"type": "live.event", "event": event})


def publish(group: str, event: dict[str, Any]) -> None:
    """Send ``event`` to every socket in ``group`` once the current transaction has committed."""
    transaction.on_commit(lambda: publish_now(group, event))
