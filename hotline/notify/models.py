"""The inbox (收件箱消息) and the record of every e-mail (later SMS) sent for it (C7)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import Channel, DeliveryStatus, kind_label


class Notification(models.Model):
    """One message in one person's inbox: a new order for their unit, a deadline, a reminder…

    ``object_type``/``object_id`` name what it is about the way the audit log does
    (``workorders.order`` / ``42``) without a foreign key into an app that notify does not own.
    """

    # The inbox indexes below start with the recipient, so the foreign key needs no index of its own.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"), blank=True)
    link = models.CharField(_("link"), max_length=500, blank=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            # My inbox, newest first.
            models.Index(fields=["recipient", "-created_at", "-id"], name="notify_inbox_idx"),
            # My unread ones, newest first, and the bell's count: only unread rows are indexed.
            models.Index(
                fields=["recipient", "-created_at", "-id"],
                condition=Q(read_at__isnull=True),
                name="notify_unread_idx",
            ),
            models.Index(fields=["object_type", "object_id"], name="notify_object_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def kind_label(self) -> Any:
        return kind_label(self.kind)


class Delivery(models.Model):
    """One notification sent to one address by one channel (e-mail now, SMS later).

    Sending claims the row by raising ``attempts`` (compare-and-set), so the immediate job and the
    retry job never send it twice. A failure records the error and the time of the next try; after
    ``services.MAX_ATTEMPTS`` tries the row stays failed.
    """

    # Tries before a delivery is given up, and the wait after each failed one.
    MAX_ATTEMPTS = 5
    RETRY_DELAYS = (
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=15),
        timedelta(hours=1),
    )
    # A claimed row is left alone this long: if the sending process dies, the retry job takes it up.
    CLAIM_LEASE = timedelta(minutes=10)

    notification = models.ForeignKey(
        Notification, verbose_name=_("notification"), on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=254)
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The retry job's scan: unsent rows by due time.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]),
                name="notify_delivery_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} → {self.address} ({self.status})"
