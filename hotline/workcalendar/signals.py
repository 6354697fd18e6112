"""Drop the process's calendar tables when an override or a working period changes.

The tables are dropped at once (so the rest of the same transaction sees the change) and again
when the transaction commits (so a table rebuilt meanwhile from the old rows does not survive it).
Other processes reload within ``engine.CACHE_SECONDS``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .engine import calendar_cache_clear
from .models import CalendarDay, WorkingHours


@receiver(post_save, sender=CalendarDay)
@receiver(post_delete, sender=CalendarDay)
@receiver(post_save, sender=WorkingHours)
@receiver(post_delete, sender=WorkingHours)
def calendar_changed(sender: Any, using: str = "default", **kwargs: Any) -> None:
    calendar_cache_clear()
    transaction.on_commit(calendar_cache_clear, using=using)
