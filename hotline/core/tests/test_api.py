"""The API's contract: one error format, token and session authentication, OpenAPI docs."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hotline.accounts.models import APIToken
from hotline.accounts.services import token_create

pytestmark = pytest.mark.django_db


def logged_in(user: Any, **kwargs: Any) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def post(client: Client, url: str, body: Any, **extra: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def test_validation_error_names_each_field(people: Any) -> None:
    response = post(logged_in(people.li), "/api/v1/citizens", {"name": 5})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body) == {"code", "message", "fields"}
    assert "phone" in body["fields"]
    assert "name" in body["fields"]


def test_service_validation_error(people: Any) -> None:
    response = post(logged_in(people.li), "/api/v1/citizens", {"phone": "abc", "id_number": "123"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == {"phone", "id_number"}


def test_malformed_json_is_a_4xx_not_a_500(people: Any) -> None:
    client = logged_in(people.li)
    response = client.post("/api/v1/citizens", data="{not json", content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "code" in response.json()


def test_wrong_query_type(people: Any) -> None:
    response = logged_in(people.li).get("/api/v1/taxonomy/categories?level=abc")
    assert response.status_code == 422
    assert "level" in response.json()["fields"]


def test_unknown_reference_names_the_field(people: Any) -> None:
    body = {"code": "X1", "name": "x", "kind": "nonsense", "region_code": "nowhere"}
    response = post(logged_in(people.ma), "/api/v1/orgs/units", body)
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"kind", "region_code"}


def test_duplicate_username_is_a_conflict(people: Any) -> None:
    body = {"username": "wang", "password": "Another-pass-2026", "role": "handler", "unit_code": "ST-EAST1"}
    response = post(logged_in(people.ma), "/api/v1/accounts/users", body)
    assert response.status_code == 409
    assert response.json()["code"] == "username_taken"
    assert response.json()["fields"] == {"username": ["taken"]}


def test_weak_password_is_refused_and_nothing_saved(people: Any) -> None:
    body = {"username": "weak", "password": "123", "role": "handler", "unit_code": "ST-EAST1"}
    response = post(logged_in(people.ma), "/api/v1/accounts/users", body)
    assert response.status_code == 422
    assert "password" in response.json()["fields"]
    from hotline.accounts.models import User

    assert not User.objects.filter(username="weak").exists()


def test_session_writes_need_csrf(people: Any) -> None:
    client = logged_in(people.li, enforce_csrf_checks=True)
    response = post(client, "/api/v1/citizens", {"phone": "13700000001"})
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_token_authentication(people: Any) -> None:
    token, key = token_create(user=people.li, name="crm", days=30)
    client = Client(enforce_csrf_checks=True)  # as outside tests: a token needs no CSRF token
    me = client.get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert me.status_code == 200
    assert me.json()["username"] == "li"
    # a token works without CSRF (it is not a cookie)
    created = post(client, "/api/v1/citizens", {"phone": "13700000002"}, HTTP_AUTHORIZATION=f"Bearer {key}")
    assert created.status_code == 201
    assert APIToken.objects.get(pk=token.pk).last_used_at is not None
    assert client.get("/api/v1/accounts/me", HTTP_AUTHORIZATION="Bearer hl_wrong").status_code == 401


def test_token_expiry_and_revocation(people: Any) -> None:
    token, key = token_create(user=people.li, name="old", days=1)
    APIToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401

    token, key = token_create(user=people.li, name="new", days=1)
    owner = logged_in(people.li)
    assert owner.delete(f"/api/v1/accounts/tokens/{token.pk}").status_code == 204
    assert Client().get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    # someone else's token is not found
    other, _ = token_create(user=people.wang, name="wang's", days=1)
    assert owner.delete(f"/api/v1/accounts/tokens/{other.pk}").status_code == 404


def test_token_for_inactive_user_fails(people: Any) -> None:
    _, key = token_create(user=people.li, name="crm", days=30)
    people.li.is_active = False
    people.li.save()
    assert Client().get("/api/v1/accounts/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


def test_token_create_via_api_shows_key_once(people: Any) -> None:
    client = logged_in(people.wang)
    created = post(client, "/api/v1/accounts/tokens", {"name": "script", "days": 7})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("hl_")
    listed = client.get("/api/v1/accounts/tokens").json()
    assert "key" not in listed[0]
    assert APIToken.objects.get().key_hash != key
    bad = post(client, "/api/v1/accounts/tokens", {"name": "x", "days": 1000})
    assert bad.status_code == 422
    assert bad.json()["fields"] == {"days": ["1 to 366"]}


def test_openapi_docs_are_served(people: Any) -> None:
    client = logged_in(people.li)
    assert Client().get("/api/docs").status_code == 302
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # offline intranets: every script and style sheet is served locally (the page also carries a
    # random CSRF token, so a bare substring such as "cdn" is no test)
    sources = re.findall(rb'(?:src|href)="([^"]*)"', docs.content)
    assert sources
    assert all(source.startswith(b"/") and not source.startswith(b"//") for source in sources), sources
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/orgs/units" in schema["paths"]


def test_duty_lookup_errors(people: Any) -> None:
    response = logged_in(people.zhou).get("/api/v1/orgs/duties/resolve?category=999999&region=nowhere")
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"category", "region"}


def test_a_form_without_csrf_token_gets_a_plain_explanation(people: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "li", "password": "x"})
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()
