"""The notification centre (/notify/) and the top bar's bell."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import loader
from django.test import Client, RequestFactory
from django.urls import reverse

from hotline.notify.models import Notification
from hotline.notify.services import notify_users

pytestmark = pytest.mark.django_db


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_is_sent_to_login(db: Any) -> None:
    response = Client().get(reverse("notify:inbox"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_page_lists_the_users_own_notifications_in_chinese(people: Any) -> None:
    notify_users(
        users=[people.wang], kind="order_warning", title="工单 2026112100123 即将超期", body="剩余 1 个工作日"
    )
    notify_users(users=[people.sun], kind="system", title="别人的通知")
    response = signed_in(people.wang).get(reverse("notify:inbox"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "工单 2026112100123 即将超期" in html
    assert "剩余 1 个工作日" in html
    assert "即将超期" in html  # the kind's label
    assert "别人的通知" not in html
    assert "全部标为已读" in html
    assert 'href="/notify/"' in html  # the menu entry


def test_empty_inbox(people: Any) -> None:
    html = signed_in(people.li).get(reverse("notify:inbox") + "?unread=1").content.decode()
    assert "没有未读通知" in html
    assert "全部标为已读" not in html


def test_htmx_mark_all_read_returns_the_list_and_the_new_count(people: Any) -> None:
    for i in range(2):
        notify_users(users=[people.wang], kind="system", title=f"通知 {i}")
    response = signed_in(people.wang).post(reverse("notify:read"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Trigger"] == '{"hotline:notifications": {"unread": 0}}'
    html = response.content.decode()
    assert 'id="notify-list"' in html
    assert "<html" not in html
    assert not Notification.objects.filter(recipient=people.wang, read_at__isnull=True).exists()


def test_plain_form_marks_one_read_and_goes_back(people: Any) -> None:
    first, second = (notify_users(users=[people.wang], kind="system", title=t)[0] for t in "AB")
    theirs = notify_users(users=[people.sun], kind="system", title="C")[0]
    client = signed_in(people.wang)
    response = client.post(reverse("notify:read"), {"id": [first.pk, theirs.pk]})
    assert response.status_code == 302
    assert response["Location"] == reverse("notify:inbox")
    first.refresh_from_db()
    second.refresh_from_db()
    theirs.refresh_from_db()
    assert first.read_at is not None
    assert second.read_at is None
    assert theirs.read_at is None
    assert client.get(reverse("notify:read")).status_code == 405


def test_opening_marks_read_and_follows_the_link(people: Any) -> None:
    mine = notify_users(users=[people.wang], kind="order_new", title="新工单", link="/orders/9/")[0]
    plain = notify_users(users=[people.wang], kind="system", title="通知")[0]
    theirs = notify_users(users=[people.sun], kind="system", title="别人的")[0]
    client = signed_in(people.wang)
    response = client.get(reverse("notify:open", args=[mine.pk]))
    assert response.status_code == 302
    assert response["Location"] == "/orders/9/"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert client.get(reverse("notify:open", args=[plain.pk]))["Location"] == reverse("notify:inbox")
    assert client.get(reverse("notify:open", args=[theirs.pk])).status_code == 404


def test_bell_shows_the_unread_count(people: Any) -> None:
    for i in range(3):
        notify_users(users=[people.wang], kind="system", title=f"通知 {i}")
    request = RequestFactory().get("/")
    request.user = people.wang
    html = loader.render_to_string("notify/bell.html", {"user": people.wang}, request=request)
    assert 'data-notify-count data-count="3"' in html
    assert ">3</span>" in html
    assert "/ws/live/" in html
    assert "/api/v1/notify/unread-count" in html

    request = RequestFactory().get("/")
    request.user = people.sun
    html = loader.render_to_string("notify/bell.html", {"user": people.sun}, request=request)
    assert 'data-count="0" hidden' in html
