"""The monthly report by e-mail, through a real SMTP server on loopback (aiosmtpd): one e-mail per
active recipient with the workbook and the PDF, in Chinese; nothing sent twice for one month; a
failed delivery tried again on the next run."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from django.utils import translation
from django.utils.translation import gettext

from hotline.audit.models import AuditEvent
from hotline.notify.tests.test_email_smtp import free_port, smtp_settings
from hotline.reports import mail
from hotline.reports.models import ReportRecipient
from hotline.reports.periods import last_month

from .conftest import February, cst

pytestmark = pytest.mark.django_db

MARCH_2 = cst(2026, 3, 2, 7, 0)  # the report of February


class Inbox:
    """Keeps every envelope; refuses the addresses in ``refuse``."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return "550 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@contextmanager
def smtp() -> Iterator[Inbox]:
    port = free_port()
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with smtp_settings(port):
            yield inbox
    finally:
        controller.stop()


@pytest.fixture
def recipients(people: Any) -> dict[str, ReportRecipient]:
    people.liu.email = "liu@gov.example.cn"
    people.liu.save(update_fields=["email"])
    return {
        "liu": ReportRecipient.objects.create(user=people.liu),
        "outside": ReportRecipient.objects.create(email="mayor-office@gov.example.cn"),
        "inactive": ReportRecipient.objects.create(email="old@gov.example.cn", active=False),
        "no_address": ReportRecipient.objects.create(user=people.zhao),  # zhao has no e-mail
    }


def parsed(envelope: Envelope) -> Any:
    return message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]


def test_last_months_report_goes_to_each_active_recipient_once(
    recipients: dict[str, ReportRecipient], february: February
) -> None:
    from openpyxl import load_workbook

    with smtp() as inbox:
        assert mail.send_monthly_reports(now=MARCH_2) == 2
        assert mail.send_monthly_reports(now=MARCH_2) == 0  # idempotent for the month
    assert sorted(e.rcpt_tos[0] for e in inbox.envelopes) == [
        "liu@gov.example.cn",
        "mayor-office@gov.example.cn",
    ]
    message = parsed(inbox.envelopes[0])
    with translation.override("zh-hans"):
        subject = gettext("%(city)s 12345 hotline monthly report %(month)s") % {
            "city": "测试市",
            "month": "2026-02",
        }
        title = gettext("Department assessment")
    assert str(message["Subject"]).strip() == subject  # in Chinese, whatever the language of the screens
    assert "测试市" in message["Subject"] and "2026-02" in message["Subject"]
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "2026-02-01 – 2026-02-28" in body
    attachments = {part.get_filename(): part for part in message.iter_attachments()}
    names = sorted(attachments)
    assert len(names) == 2 and names[0].endswith(".pdf") and names[1].endswith(".xlsx")
    assert all("2026-02" in name for name in names)
    pdf = attachments[names[0]].get_content()
    assert pdf.startswith(b"%PDF")
    book = load_workbook(io.BytesIO(attachments[names[1]].get_content()))
    assert len(book.worksheets) == 4  # assessment, volume by channel and by type, queues
    first = book.worksheets[0]
    assert first["A1"].value == title
    assert "2026-02-01 – 2026-02-28" in first["A2"].value
    labels = [row[0].value for row in first.iter_rows(min_row=5)]
    assert "东一街道办事处" in labels
    sent = AuditEvent.objects.filter(object_type=mail.AUDIT_TYPE)
    assert sorted(sent.values_list("object_id", flat=True)) == sorted(
        f"2026-02:{recipients[k].pk}" for k in ("liu", "outside")
    )


def test_a_refused_delivery_is_tried_again_next_time(recipients: dict[str, ReportRecipient]) -> None:
    with smtp() as inbox:
        inbox.refuse.add("mayor-office@gov.example.cn")
        assert mail.send_monthly_reports(now=MARCH_2) == 1
        assert [e.rcpt_tos for e in inbox.envelopes] == [["liu@gov.example.cn"]]
        inbox.refuse.clear()
        assert mail.send_monthly_reports(now=MARCH_2) == 1  # only the one that failed
        assert [e.rcpt_tos for e in inbox.envelopes][-1] == ["mayor-office@gov.example.cn"]
        assert mail.send_monthly_reports(now=MARCH_2) == 0
        # the next month is a new report
        assert mail.send_monthly_reports(now=cst(2026, 4, 1, 7, 0)) == 2
    assert "2026-03" in parsed(inbox.envelopes[-1])["Subject"]


def test_nobody_to_send_to_sends_nothing(people: Any) -> None:
    ReportRecipient.objects.create(email="old@gov.example.cn", active=False)
    with smtp() as inbox:
        assert mail.send_monthly_reports(now=MARCH_2) == 0
    assert inbox.envelopes == []


def test_previous_month_is_the_centres_month() -> None:
    # 1 March 00:30 in Shanghai is still 28 February in UTC: the report is February's
    month = last_month(cst(2026, 3, 1, 0, 30))
    assert (month.first.isoformat(), month.last.isoformat()) == ("2026-02-01", "2026-02-28")
    assert last_month(cst(2026, 1, 5)).month_label == "2025-12"
    assert month.end == cst(2026, 3, 1)
