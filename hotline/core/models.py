"""Core tables."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class LiveEvent(models.Model):
    """A live event on its way from a process without a shared channel layer (the jobs process,
    the switch) to the browsers connected to the web process: the embedded platform's relay
    (``core/events.py``, ``docs/decisions/0003-embedded-event-relay.md``). Pruned after an hour."""

    group = models.CharField(max_length=100)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.pk} → {self.group}"
