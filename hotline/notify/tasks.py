"""Sending notifications out of the platform, in the jobs process (Huey).

``notify_users`` queues ``deliveries_send`` once its transaction commits; ``deliveries_retry`` runs
every minute and takes up whatever is due again: deliveries that failed (after 1, 5, 15 and 60
minutes, five tries in all) and any that a stopped process left behind.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from . import selectors
from .choices import DeliveryStatus
from .models import Delivery
from .services import deliveries_attempt


@db_task()
def deliveries_send(delivery_ids: list[int]) -> dict[str, int]:
    """Send these deliveries now (one connection per channel)."""
    return _summary(deliveries_attempt(delivery_ids=delivery_ids))


@db_periodic_task(crontab(minute="*"))
def deliveries_retry() -> dict[str, int]:
    """Send every delivery that is due: never tried yet, or failed and waiting for its retry."""
    return _summary(deliveries_attempt(delivery_ids=selectors.deliveries_due()))


def _summary(deliveries: list[Delivery]) -> dict[str, int]:
    sent = sum(1 for d in deliveries if d.status == DeliveryStatus.SENT)
    return {"tried": len(deliveries), "sent": sent, "failed": len(deliveries) - sent}
