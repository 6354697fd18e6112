"""/api/v1/notify: the caller's own inbox, unread count and marking read."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from hotline.accounts.services import token_create
from hotline.notify.models import Notification
from hotline.notify.services import notify_users

pytestmark = pytest.mark.django_db

BASE = "/api/v1/notify"


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, body: Any = None, **extra: Any) -> Any:
    data = json.dumps(body) if body is not None else ""
    return client.post(url, data=data, content_type="application/json", **extra)


@pytest.fixture
def inboxes(people: Any) -> dict[str, list[Notification]]:
    wang = [notify_users(users=[people.wang], kind="order_new", title=f"工单 {i}")[0] for i in range(3)]
    sun = notify_users(users=[people.sun], kind="order_overdue", title="超期")
    return {"wang": wang, "sun": sun}


@pytest.mark.parametrize(("method", "path"), [("get", "/inbox"), ("get", "/unread-count"), ("post", "/read")])
def test_anonymous_gets_401(db: Any, method: str, path: str) -> None:
    response = getattr(Client(), method)(BASE + path)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_inbox_lists_only_the_callers_own_newest_first(people: Any, inboxes: Any) -> None:
    body = logged_in(people.wang).get(f"{BASE}/inbox").json()
    assert body["count"] == 3
    assert [item["title"] for item in body["items"]] == ["工单 2", "工单 1", "工单 0"]
    item = body["items"][0]
    assert item["kind"] == "order_new"
    assert item["kind_label"]
    assert item["read_at"] is None
    page = logged_in(people.wang).get(f"{BASE}/inbox?limit=2&offset=2").json()
    assert [item["title"] for item in page["items"]] == ["工单 0"]


def test_unread_filter_and_count(people: Any, inboxes: Any) -> None:
    client = logged_in(people.wang)
    inboxes["wang"][0].read_at = inboxes["wang"][0].created_at
    inboxes["wang"][0].save(update_fields=["read_at"])
    body = client.get(f"{BASE}/inbox?unread=true").json()
    assert body["count"] == 2
    assert client.get(f"{BASE}/unread-count").json() == {"unread": 2}


def test_read_with_ids_ignores_other_peoples(people: Any, inboxes: Any) -> None:
    ids = [inboxes["wang"][0].pk, inboxes["sun"][0].pk]
    response = post(logged_in(people.wang), f"{BASE}/read", {"ids": ids})
    assert response.status_code == 200
    assert response.json() == {"marked": 1, "unread": 2}
    assert Notification.objects.get(pk=inboxes["sun"][0].pk).read_at is None


def test_read_without_ids_marks_all(people: Any, inboxes: Any) -> None:
    client = logged_in(people.wang)
    assert post(client, f"{BASE}/read").json() == {"marked": 3, "unread": 0}
    assert post(client, f"{BASE}/read", {}).json() == {"marked": 0, "unread": 0}
    assert logged_in(people.sun).get(f"{BASE}/unread-count").json() == {"unread": 1}


def test_read_refuses_malformed_ids(people: Any, inboxes: Any) -> None:
    response = post(logged_in(people.wang), f"{BASE}/read", {"ids": ["x"]})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_api_token(people: Any, inboxes: Any) -> None:
    _, key = token_create(user=people.sun, name="bell", days=1)
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get(f"{BASE}/unread-count", **auth).json() == {"unread": 1}
    assert post(client, f"{BASE}/read", None, **auth).json() == {"marked": 1, "unread": 0}


def test_session_post_needs_the_csrf_token(people: Any, inboxes: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(people.wang)
    assert post(client, f"{BASE}/read").status_code == 403
    assert Notification.objects.filter(recipient=people.wang, read_at__isnull=True).count() == 3


def test_token_post_needs_no_csrf_token(people: Any, inboxes: Any) -> None:
    _, key = token_create(user=people.sun, name="bell", days=1)
    client = Client(enforce_csrf_checks=True)
    response = post(client, f"{BASE}/read", None, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
