"""Channels that carry a notification out of the platform: one sender per channel.

A sender knows the address a user has for its channel and sends a batch of deliveries, answering
one error text per delivery ("" when it went out). E-mail is built; an SMS sender (a carrier's
gateway) registers itself the same way with ``sender_register`` and ``notify_users`` queues its
deliveries when asked to.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from .choices import Channel
from .models import Delivery

logger = logging.getLogger(__name__)


class Sender(Protocol):
    channel: str

    def address_for(self, user: Any) -> str:
        """The user's address on this channel, or "" when they have none."""
        ...

    def send(self, deliveries: Sequence[Delivery]) -> list[str]:
        """Send each delivery; return an error text per delivery, "" for each one that went out."""
        ...


_SENDERS: dict[str, Sender] = {}


def sender_register(sender: Sender) -> None:
    _SENDERS[sender.channel] = sender


def sender_for(channel: str) -> Sender | None:
    return _SENDERS.get(channel)


def absolute_url(path: str) -> str:
    return settings.HOTLINE_SITE_URL + path


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


# Errors about one message (a refused recipient, a rejected body). Any other ``OSError`` (which
# includes every other ``smtplib`` error) means the server is unreachable or refuses us: the rest of
# the batch would fail the same way, so it waits for the next attempt.
MESSAGE_ERRORS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, ValueError)


class EmailSender:
    """E-mail through Django's configured backend (SMTP in production), in Chinese, one connection
    per batch."""

    channel = Channel.EMAIL.value

    def address_for(self, user: Any) -> str:
        return (getattr(user, "email", "") or "").strip()

    def message(self, delivery: Delivery, connection: Any = None) -> EmailMultiAlternatives:
        notification = delivery.notification
        recipient = notification.recipient
        with translation.override(settings.LANGUAGE_CODE):
            context = {
                "notification": notification,
                "recipient_name": getattr(recipient, "display_name", "") or recipient.get_username(),
                "kind_label": str(notification.kind_label),
                "url": absolute_url(notification.link or reverse("notify:inbox")),
                "inbox_url": absolute_url(reverse("notify:inbox")),
            }
            subject = _("[12345 Hotline] %(title)s") % {"title": notification.title}
            text = render_to_string("notify/email/notification.txt", context)
            html = render_to_string("notify/email/notification.html", context)
        message = EmailMultiAlternatives(
            subject=" ".join(subject.split()),  # no line breaks in a header
            body=text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[delivery.address],
            connection=connection,
            headers={
                "Auto-Submitted": "auto-generated",
                "X-Hotline-Notification": str(notification.pk),
            },
        )
        message.attach_alternative(html, "text/html")
        return message

    def send(self, deliveries: Sequence[Delivery]) -> list[str]:
        errors: list[str] = []
        connection = get_connection(fail_silently=False)
        broken = ""
        try:
            for delivery in deliveries:
                if broken:
                    errors.append(broken)
                    continue
                try:
                    self.message(delivery, connection).send()
                except MESSAGE_ERRORS as exc:
                    logger.warning("e-mail delivery %s refused: %s", delivery.pk, exc)
                    errors.append(_error_text(exc))
                except OSError as exc:
                    logger.warning("e-mail server unavailable: %s", exc)
                    broken = _error_text(exc)
                    errors.append(broken)
                except Exception as exc:
                    logger.exception("e-mail delivery %s failed", delivery.pk)
                    errors.append(_error_text(exc))
                else:
                    errors.append("")
        finally:
            try:
                connection.close()
            except Exception:  # closing a connection that never opened
                logger.debug("closing the e-mail connection failed", exc_info=True)
        return errors


sender_register(EmailSender())
