"""Raising notifications: inbox rows, fan-out to a unit's or a role's active staff, marking read."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import transaction

from hotline.core.errors import ValidationFailed
from hotline.notify.choices import Channel, DeliveryStatus, NotificationKind, kind_label, kind_register
from hotline.notify.models import Delivery, Notification
from hotline.notify.selectors import unread_count
from hotline.notify.services import notification_mark_read, notify_role, notify_unit, notify_users

pytestmark = pytest.mark.django_db


def recipients(notifications: list[Notification]) -> set[str]:
    return {n.recipient.username for n in notifications}


def test_notify_users_creates_one_inbox_row_each(people: Any) -> None:
    created = notify_users(
        users=[people.wang, people.sun, people.wang],  # a repeated user gets one
        kind=NotificationKind.ORDER_NEW,
        title="新工单 2026112100123：小区噪音扰民",
        body="请于 3 个工作日内办结。",
        link="/orders/42/",
        object_type="workorders.order",
        object_id=42,  # type: ignore[arg-type]
    )
    assert recipients(created) == {"wang", "sun"}
    row = Notification.objects.get(recipient=people.wang)
    assert row.kind == "order_new"
    assert row.kind_label == "新工单"
    assert row.title.startswith("新工单")
    assert row.link == "/orders/42/"
    assert (row.object_type, row.object_id) == ("workorders.order", "42")
    assert row.read_at is None
    assert unread_count(user=people.wang) == 1


def test_inactive_users_are_skipped(people: Any) -> None:
    people.qian.is_active = False
    people.qian.save(update_fields=["is_active"])
    created = notify_users(users=[people.qian, people.hu], kind="system", title="维护通知")
    assert recipients(created) == {"hu"}


def test_lazy_titles_are_stored_in_chinese(people: Any) -> None:
    created = notify_users(users=[people.li], kind="system", title=NotificationKind.ORDER_OVERDUE.label)
    assert created[0].title == "工单已超期"


def test_invalid_notifications_are_refused(people: Any) -> None:
    with pytest.raises(ValidationFailed) as err:
        notify_users(users=[people.li], kind="", title="  ")
    assert set(err.value.fields) == {"kind", "title"}
    for link in ("https://evil.example.com/", "//evil.example.com/x", "javascript:alert(1)", "orders/1"):
        with pytest.raises(ValidationFailed) as err:
            notify_users(users=[people.li], kind="system", title="x", link=link)
        assert set(err.value.fields) == {"link"}
    assert Notification.objects.count() == 0


def test_other_apps_register_their_own_kinds(people: Any) -> None:
    kind_register("test_custom_kind", "A custom kind")
    created = notify_users(users=[people.li], kind="test_custom_kind", title="x")
    assert created[0].kind_label == "A custom kind"
    assert kind_label("never_registered") == "never_registered"


def test_unit_fan_out_reaches_its_active_handlers_and_managers(city: Any, people: Any) -> None:
    from conftest import PASSWORD
    from hotline.accounts.services import user_create

    gone = user_create(actor=None, username="gone", password=PASSWORD, role="handler", unit=city.east1_office)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    community = user_create(
        actor=None, username="comm", password=PASSWORD, role="handler", unit=city.east1_community
    )

    created = notify_unit(unit=city.east1_office, kind="order_new", title="新工单")
    assert recipients(created) == {"wang", "sun"}  # not the inactive one, not the community below

    created = notify_unit(unit=city.east1_office, roles=["unit_manager"], kind="order_overdue", title="超期")
    assert recipients(created) == {"sun"}

    created = notify_unit(unit=city.east_gov, include_children=True, kind="order_warning", title="预警")
    assert recipients(created) == {"wang", "sun", "qian", "comm"}  # the district's leader is not staff

    community_unit = city.east1_community
    community_unit.active = False
    community_unit.save(update_fields=["active"])
    created = notify_unit(unit=city.east_gov, include_children=True, kind="order_warning", title="预警")
    assert recipients(created) == {"wang", "sun", "qian"}
    assert community.notifications.count() == 1


def test_role_fan_out_reaches_every_active_account_of_the_role(city: Any, people: Any) -> None:
    from conftest import PASSWORD
    from hotline.accounts.services import user_create

    other = user_create(actor=None, username="zhou2", password=PASSWORD, role="dispatcher", unit=city.centre)
    other.is_active = False
    other.save(update_fields=["is_active"])
    created = notify_role(role="dispatcher", kind="order_answer", title="答复待审核")
    assert recipients(created) == {"zhou"}


def test_mark_read_touches_only_the_callers_own_rows(people: Any) -> None:
    mine = notify_users(users=[people.wang], kind="system", title="一")
    mine += notify_users(users=[people.wang], kind="system", title="二")
    theirs = notify_users(users=[people.sun], kind="system", title="三")

    changed = notification_mark_read(user=people.wang, ids=[mine[0].pk, theirs[0].pk])
    assert changed == 1
    assert Notification.objects.get(pk=theirs[0].pk).read_at is None
    assert unread_count(user=people.wang) == 1

    assert notification_mark_read(user=people.wang, ids=[]) == 0
    assert notification_mark_read(user=people.wang) == 1  # all the rest
    assert notification_mark_read(user=people.wang) == 0
    assert unread_count(user=people.wang) == 0
    assert unread_count(user=people.sun) == 1


def test_email_deliveries_for_users_with_an_address(
    with_email: Any, django_capture_on_commit_callbacks: Any
) -> None:
    people = with_email
    with django_capture_on_commit_callbacks(execute=True):
        notify_users(users=[people.wang, people.li], kind="order_new", title="新工单：路灯不亮", link="/o/1/")
    delivery = Delivery.objects.get()
    assert delivery.notification.recipient == people.wang  # li has no address: in-app only
    assert delivery.channel == Channel.EMAIL
    assert delivery.address == "wang@east1.example.gov.cn"
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert delivery.sent_at is not None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["wang@east1.example.gov.cn"]
    assert message.subject == "【12345热线】新工单：路灯不亮"
    assert "http://127.0.0.1:8000/o/1/" in message.body
    assert "王强" in message.body


def test_no_email_when_not_asked(with_email: Any, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notify_users(users=[with_email.wang], kind="system", title="x", email=False)
    assert Delivery.objects.count() == 0
    assert mail.outbox == []


def test_nothing_is_sent_for_a_rolled_back_change(
    with_email: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                notify_users(users=[with_email.wang], kind="system", title="x")
                raise RuntimeError("the order change failed")
        except RuntimeError:
            pass
    assert callbacks == []
    assert Notification.objects.count() == 0
    assert mail.outbox == []
