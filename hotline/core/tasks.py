from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .events import live_events_prune


@db_periodic_task(crontab(minute="*/10"))
def live_events_prune_task() -> int:
    return live_events_prune()
