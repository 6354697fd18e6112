"""Raising notifications and sending them out (C7).

``notify_users`` (and ``notify_unit``/``notify_role`` on top of it) writes the in-app rows and the
e-mail deliveries in one transaction; after it commits, each recipient's browser gets a live event
and the jobs process sends the e-mails. Notifications are not written to the audit log: they
follow from changes that other services audit, and the delivery rows are their own record.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme

from hotline.core.consumers import user_group
from hotline.core.errors import ValidationFailed
from hotline.core.events import publish, publish_many
from hotline.orgs.models import Unit

from . import selectors
from .choices import Channel, DeliveryStatus
from .models import Delivery, Notification
from .senders import sender_for

logger = logging.getLogger(__name__)

Text = str | Promise


def _text(value: Text) -> str:
    """Lazy translations are stored in the platform's language (Chinese), whoever raised them."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(value).strip()


def _clean_link(link: str) -> str:
    link = (link or "").strip()
    if not link:
        return ""
    safe = (
        link.startswith("/")
        and not link.startswith("//")
        and "\\" not in link
        and url_has_allowed_host_and_scheme(link, allowed_hosts=None)
    )
    if not safe:
        raise ValidationFailed(
            "A notification may only link to a page of this platform.",
            fields={"link": ["a relative URL starting with /"]},
        )
    return link


def _event(notification: Notification, unread: int) -> dict[str, Any]:
    return {
        "type": "notification",
        "id": notification.pk,
        "kind": notification.kind,
        "kind_label": _text(notification.kind_label),
        "title": notification.title,
        "body": notification.body[:300],
        "link": notification.link,
        "created_at": notification.created_at.isoformat(),
        "unread": unread,
    }


def _queue_deliveries(delivery_ids: list[int]) -> None:
    from .tasks import deliveries_send

    deliveries_send(delivery_ids)


@dataclass(frozen=True)
class Message:
    """One notification text and the people who get it (``notify_many``)."""

    users: Iterable[Any]
    title: Text
    body: Text = ""
    link: str = ""


def notify_users(
    *,
    users: Iterable[Any],
    kind: str,
    title: Text,
    body: Text = "",
    link: str = "",
    object_type: str = "",
    object_id: str = "",
    email: bool = True,
) -> list[Notification]:
    """Put one notification in each user's inbox and tell their open pages at once.

    Inactive accounts and repeated users are skipped. With ``email``, users with an e-mail address
    also get it by e-mail, sent by the jobs process after the transaction commits. ``link`` is a
    relative URL of this platform (``/orders/42/``). Lazy strings (``gettext_lazy``,
    ``format_lazy``) are stored in Chinese.
    """
    return notify_many(
        messages=[Message(users=users, title=title, body=body, link=link)],
        kind=kind,
        object_type=object_type,
        object_id=object_id,
        email=email,
    )


def notify_many(
    *,
    messages: Sequence[Message],
    kind: str,
    object_type: str = "",
    object_id: str = "",
    email: bool = True,
) -> list[Notification]:
    """``notify_users`` for several texts at once, each to its own people (a scan's digest per
    unit): the same rows, written with one insert per table and one outbox insert."""
    kind = (kind or "").strip()
    errors: dict[str, list[str]] = {}
    if not kind or len(kind) > 40:
        errors["kind"] = ["1 to 40 characters"]
    if any(not _text(message.title) for message in messages):
        errors["title"] = ["required"]
    if errors:
        raise ValidationFailed("The notification is not valid.", fields=errors)
    prepared: list[tuple[dict[int, Any], str, str, str]] = []
    for message in messages:
        title_text = _text(message.title)[:200]
        link = _clean_link(message.link)
        recipients: dict[int, Any] = {}
        for user in message.users:
            if user.pk is not None and user.is_active and user.pk not in recipients:
                recipients[user.pk] = user
        if recipients:
            prepared.append((recipients, title_text, _text(message.body), link))
    if not prepared:
        return []

    channels = [Channel.EMAIL.value] if email else []
    now = timezone.now()
    with transaction.atomic():
        notifications = Notification.objects.bulk_create(
            [
                Notification(
                    recipient=user,
                    kind=kind,
                    title=title_text,
                    body=body_text,
                    link=link,
                    object_type=object_type[:64],
                    object_id=str(object_id)[:64],
                    created_at=now,
                )
                for recipients, title_text, body_text, link in prepared
                for user in recipients.values()
            ]
        )
        deliveries: list[Delivery] = []
        for notification in notifications:
            for channel in channels:
                sender = sender_for(channel)
                address = sender.address_for(notification.recipient) if sender else ""
                if address:
                    deliveries.append(
                        Delivery(
                            notification=notification,
                            channel=channel,
                            address=address[:254],
                            created_at=now,
                            next_attempt_at=now,
                        )
                    )
        if deliveries:
            deliveries = Delivery.objects.bulk_create(deliveries)
            delivery_ids = [d.pk for d in deliveries]
            transaction.on_commit(lambda: _queue_deliveries(delivery_ids))

        counts = selectors.unread_counts(user_ids=list({n.recipient_id for n in notifications}))
        publish_many(
            [(user_group(n.recipient_id), _event(n, counts.get(n.recipient_id, 0))) for n in notifications]
        )
    return notifications


def notify_unit(
    *,
    unit: Unit,
    roles: Iterable[str] | None = None,
    include_children: bool = False,
    kind: str,
    title: Text,
    body: Text = "",
    link: str = "",
    object_type: str = "",
    object_id: str = "",
    email: bool = True,
) -> list[Notification]:
    """Notify the active staff of ``unit`` with one of ``roles`` (handlers and department managers
    by default), and with ``include_children`` those of the active units under it."""
    staff = selectors.unit_staff(unit=unit, roles=roles, include_children=include_children)
    return notify_users(
        users=staff,
        kind=kind,
        title=title,
        body=body,
        link=link,
        object_type=object_type,
        object_id=object_id,
        email=email,
    )


def notify_role(
    *,
    role: str,
    kind: str,
    title: Text,
    body: Text = "",
    link: str = "",
    object_type: str = "",
    object_id: str = "",
    email: bool = True,
) -> list[Notification]:
    """Notify every active account with ``role`` — for the centre's roles (all dispatchers…),
    which see the whole city."""
    return notify_users(
        users=selectors.role_staff(role=role),
        kind=kind,
        title=title,
        body=body,
        link=link,
        object_type=object_type,
        object_id=object_id,
        email=email,
    )


def notification_mark_read(*, user: Any, ids: Iterable[int] | None = None) -> int:
    """Mark the user's own unread notifications read: those in ``ids``, or all when None. Ids of
    other people's notifications are ignored. Returns how many changed."""
    with transaction.atomic():
        qs = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
        if ids is not None:
            try:
                wanted = sorted({int(i) for i in ids})
            except (TypeError, ValueError):
                raise ValidationFailed("Unknown notifications.", fields={"ids": ["whole numbers"]}) from None
            if not wanted:
                return 0
            qs = qs.filter(pk__in=wanted)
        changed = qs.update(read_at=timezone.now())
        if changed:
            unread = selectors.unread_count(user=user)
            publish(user_group(user.pk), {"type": "notification.read", "unread": unread})
    return changed


def _claim(delivery_ids: Sequence[int], now: datetime) -> list[Delivery]:
    """Take the due deliveries among ``delivery_ids`` for this process: raising ``attempts`` from
    the value read (compare-and-set) succeeds for one process only."""
    claimed: list[Delivery] = []
    candidates = Delivery.objects.filter(
        pk__in=list(delivery_ids),
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
        attempts__lt=Delivery.MAX_ATTEMPTS,
        next_attempt_at__lte=now,
    ).select_related("notification", "notification__recipient")
    for delivery in candidates.order_by("id"):
        taken = Delivery.objects.filter(
            pk=delivery.pk, attempts=delivery.attempts, status=delivery.status
        ).update(attempts=F("attempts") + 1, next_attempt_at=now + Delivery.CLAIM_LEASE)
        if taken:
            delivery.attempts += 1
            claimed.append(delivery)
    return claimed


def _record(delivery: Delivery, error: str, now: datetime) -> None:
    if not error:
        delivery.status, delivery.sent_at, delivery.last_error = DeliveryStatus.SENT, now, ""
        Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.SENT, sent_at=now, last_error="")
        return
    delays = Delivery.RETRY_DELAYS
    delivery.status, delivery.last_error = DeliveryStatus.FAILED, error[:2000]
    delivery.next_attempt_at = now + delays[min(delivery.attempts, len(delays)) - 1]
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED,
        last_error=delivery.last_error,
        next_attempt_at=delivery.next_attempt_at,
    )
    if delivery.attempts >= Delivery.MAX_ATTEMPTS:
        logger.error("giving up %s delivery %s after %s attempts: %s", *_describe(delivery), error)
    else:
        logger.warning("%s delivery %s failed (attempt %s): %s", *_describe(delivery), error)


def _describe(delivery: Delivery) -> tuple[str, int, int]:
    return delivery.channel, delivery.pk, delivery.attempts


def deliveries_attempt(*, delivery_ids: Sequence[int], now: datetime | None = None) -> list[Delivery]:
    """Send those of ``delivery_ids`` that are due, by their channel's sender, and record each
    outcome: sent, or failed with the error and the time of the next try.

    Deliberately not one transaction: the claim and each outcome are separate writes committed at
    once, so no transaction (on SQLite, no write lock) stays open while a mail server answers, and
    a process that dies mid-send leaves the row to the retry job once its claim expires.
    """
    moment = now or timezone.now()
    claimed = _claim(delivery_ids, moment)
    by_channel: dict[str, list[Delivery]] = defaultdict(list)
    for delivery in claimed:
        by_channel[delivery.channel].append(delivery)
    for channel, batch in by_channel.items():
        sender = sender_for(channel)
        if sender is None:
            errors = [f"no sender is registered for the channel {channel!r}"] * len(batch)
        else:
            try:
                errors = sender.send(batch)
            except Exception as exc:
                logger.exception("the %s sender failed", channel)
                errors = [f"{type(exc).__name__}: {exc}"] * len(batch)
        done = timezone.now()
        for delivery, error in zip(batch, errors, strict=True):
            _record(delivery, error, done)
    return claimed
