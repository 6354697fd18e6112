"""The reports' periodic jobs: the hourly roll-up of the call records and the monthly e-mail."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from .mail import send_monthly_reports
from .rollup import rollup_sealed

# One run stores at most this many hours, so that catching up after a long stop (or after an import
# of old call records) proceeds in steps of a few minutes instead of one long transaction chain.
ROLLUP_MAX_HOURS = 24 * 7  # about 2.5 minutes at a large centre's volume


@db_periodic_task(crontab(minute="*/5"))
def rollup_task() -> int:
    """Every five minutes: store the hours sealed since the last run (``rollup.rollup_sealed``). An
    hour is sealed once the switch's records of it are complete, usually minutes after it ends, so
    the raw tail a report reads is the current hour and a few minutes of the last one (4 h 10 min
    more when no switch keeps the record mark). A run with nothing to seal reads two rows."""
    return rollup_sealed(max_hours=ROLLUP_MAX_HOURS)


@db_periodic_task(crontab(minute="30"))  # Huey's clock is UTC
def monthly_reports_task() -> int:
    """Last month's report to every recipient who has not had it yet. It runs every hour and sends
    nothing once a month's e-mails are out (recorded in the audit log), so a month's report goes out
    shortly after the month ends in the centre's time and a failed delivery is retried an hour
    later."""
    return send_monthly_reports(now=timezone.now())
