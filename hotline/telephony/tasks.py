"""Telephony's periodic jobs: the daily retention purge of recordings and voicemail audio."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .recordings import recordings_purge


@db_periodic_task(crontab(hour="19", minute="41"))  # Huey's clock is UTC: 03:41 in Asia/Shanghai
def recordings_purge_task() -> dict[str, int]:
    """Every night at 03:41 in the centre: the files past
    ``HOTLINE_RECORDING_RETENTION_DAYS`` (see ``recordings.recordings_purge``)."""
    result = recordings_purge()
    return {"recordings": result.recordings, "voicemails": result.voicemails}
