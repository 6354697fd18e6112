"""E-mail through a real SMTP server on loopback (aiosmtpd): what arrives, failures and retries."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings
from django.utils import timezone

from hotline.notify.choices import DeliveryStatus
from hotline.notify.models import Delivery
from hotline.notify.services import notify_users
from hotline.notify.tasks import deliveries_retry

pytestmark = pytest.mark.django_db


class Inbox:
    """An aiosmtpd handler keeping every envelope it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server(port: int) -> Iterator[Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def smtp_settings(port: int) -> Any:
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=5,
        DEFAULT_FROM_EMAIL="12345热线 <noreply@12345.example.gov.cn>",
    )


def give_email(user: Any, address: str) -> Any:
    user.email = address
    user.save(update_fields=["email"])
    return user


def make_due(delivery: Delivery) -> None:
    """Let the retry wait pass."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_notification_arrives_by_smtp_with_a_chinese_subject(
    people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    wang = give_email(people.wang, "wang@east1.example.gov.cn")
    port = free_port()
    with smtp_server(port) as inbox, smtp_settings(port), django_capture_on_commit_callbacks(execute=True):
        notify_users(
            users=[wang, people.li],  # li has no address
            kind="order_new",
            title="新工单 2026112100123：小区噪音扰民",
            body="请于 3 个工作日内办结。",
            link="/orders/123/",
        )
    assert len(inbox.envelopes) == 1
    envelope = inbox.envelopes[0]
    assert envelope.rcpt_tos == ["wang@east1.example.gov.cn"]
    assert envelope.mail_from == "noreply@12345.example.gov.cn"

    raw = message_from_bytes(envelope.original_content)  # headers exactly as sent (MIME-encoded)
    assert "=?utf-8?" in raw["Subject"]  # encoded on the wire, not raw UTF-8
    subject = str(make_header(decode_header(raw["Subject"])))
    assert subject == "【12345热线】新工单 2026112100123：小区噪音扰民"
    assert str(make_header(decode_header(raw["To"]))) == "wang@east1.example.gov.cn"
    assert raw["Auto-Submitted"] == "auto-generated"

    parsed = message_from_bytes(envelope.original_content, policy=policy.default)
    text = parsed.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "王强" in text and "请于 3 个工作日内办结。" in text
    assert "http://127.0.0.1:8000/orders/123/" in text
    assert 'href="http://127.0.0.1:8000/orders/123/"' in html
    assert "新工单 2026112100123：小区噪音扰民" in html

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert delivery.last_error == ""


def test_unreachable_server_fails_then_a_retry_succeeds(
    people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sun = give_email(people.sun, "sun@east1.example.gov.cn")
    port = free_port()  # nothing listens here yet
    with smtp_settings(port):
        with django_capture_on_commit_callbacks(execute=True):
            notify_users(users=[sun], kind="order_overdue", title="工单已超期：路灯不亮")
        delivery = Delivery.objects.get()
        assert delivery.status == DeliveryStatus.FAILED
        assert delivery.attempts == 1
        assert "ConnectionRefusedError" in delivery.last_error
        assert delivery.sent_at is None
        wait = delivery.next_attempt_at - timezone.now()
        assert timedelta(seconds=50) < wait <= timedelta(minutes=1)

        deliveries_retry()  # not due yet: left alone
        delivery.refresh_from_db()
        assert delivery.attempts == 1

        make_due(delivery)
        with smtp_server(port) as inbox:
            deliveries_retry()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SENT
        assert delivery.attempts == 2
        assert delivery.last_error == ""
        assert delivery.sent_at is not None
        assert [e.rcpt_tos for e in inbox.envelopes] == [["sun@east1.example.gov.cn"]]

        make_due(delivery)
        deliveries_retry()  # sent ones are never sent again
        delivery.refresh_from_db()
        assert delivery.attempts == 2


def test_retries_back_off_and_stop_after_five_attempts(
    people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    zhou = give_email(people.zhou, "zhou@12345.example.gov.cn")
    port = free_port()
    with smtp_settings(port):
        with django_capture_on_commit_callbacks(execute=True):
            notify_users(users=[zhou], kind="system", title="测试")
        delivery = Delivery.objects.get()
        waits = []
        for _ in range(6):
            waits.append(delivery.next_attempt_at - timezone.now())
            make_due(delivery)
            deliveries_retry()
            delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == Delivery.MAX_ATTEMPTS == 5
    assert "ConnectionRefusedError" in delivery.last_error
    minutes = [round(w.total_seconds() / 60) for w in waits[:4]]
    assert minutes == [1, 5, 15, 60]


def test_one_refused_recipient_does_not_stop_the_others(
    people: Any, django_capture_on_commit_callbacks: Any
) -> None:
    class Picky(Inbox):
        async def handle_RCPT(
            self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
        ) -> str:
            if address.startswith("nobody@"):
                return "550 No such user here"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    give_email(people.wang, "nobody@east1.example.gov.cn")
    give_email(people.sun, "sun@east1.example.gov.cn")
    port = free_port()
    picky = Picky()
    controller = Controller(picky, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with smtp_settings(port), django_capture_on_commit_callbacks(execute=True):
            notify_users(users=[people.wang, people.sun], kind="system", title="批量")
    finally:
        controller.stop()
    by_address = {d.address: d for d in Delivery.objects.all()}
    assert by_address["sun@east1.example.gov.cn"].status == DeliveryStatus.SENT
    refused = by_address["nobody@east1.example.gov.cn"]
    assert refused.status == DeliveryStatus.FAILED
    assert "SMTPRecipientsRefused" in refused.last_error
    assert [e.rcpt_tos for e in picky.envelopes] == [["sun@east1.example.gov.cn"]]
