"""Periodic housekeeping of accounts, run by the jobs process (Huey)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task


def sessions_purge_expired() -> int:
    """Delete expired sessions (the database backend never does it by itself)."""
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


def login_attempts_purge(*, days: int = 30) -> int:
    """Forget failed log-in records older than ``days`` (lockouts themselves expire sooner)."""
    from axes.models import AccessAttempt, AccessFailureLog

    cutoff = timezone.now() - timedelta(days=days)
    a, _ = AccessAttempt.objects.filter(attempt_time__lt=cutoff).delete()
    b, _ = AccessFailureLog.objects.filter(attempt_time__lt=cutoff).delete()
    return a + b


@db_periodic_task(crontab(minute="17"))
def accounts_housekeeping() -> dict[str, int]:
    return {"sessions": sessions_purge_expired(), "login_attempts": login_attempts_purge()}
