"""Passwords, lockout after repeated failures, session expiry, the role backend."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone

from conftest import PASSWORD
from hotline.accounts.middleware import SESSION_KEY
from hotline.accounts.roles import ROLE_PERMISSIONS
from hotline.accounts.tasks import accounts_housekeeping

pytestmark = pytest.mark.django_db


def test_production_hashes_passwords_with_argon2() -> None:
    from config.settings import base

    assert base.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    with override_settings(PASSWORD_HASHERS=base.PASSWORD_HASHERS):
        encoded = make_password("Some-password-1")
        assert encoded.startswith("argon2$argon2id$")
        assert check_password("Some-password-1", encoded)


def _login(client: Client, username: str, password: str) -> Any:
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_five_failures_lock_the_account_even_for_the_right_password(people: Any) -> None:
    client = Client(REMOTE_ADDR="10.0.0.1")
    for _ in range(5):
        _login(client, "wang", "wrong-password")
    locked = _login(Client(REMOTE_ADDR="10.0.0.2"), "wang", PASSWORD)  # from another seat, too
    assert locked.status_code == 429
    assert "_auth_user_id" not in Client().session
    # other accounts behind the same address are not locked
    ok = _login(client, "qian", PASSWORD)
    assert ok.status_code == 302


def test_lock_expires(people: Any) -> None:
    client = Client()
    for _ in range(5):
        _login(client, "wang", "wrong-password")
    assert _login(client, "wang", PASSWORD).status_code == 429
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(hours=1))
    assert _login(client, "wang", PASSWORD).status_code == 302


def test_successful_login_redirects_home(people: Any) -> None:
    response = _login(Client(), "li", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_idle_sessions_expire() -> None:
    from django.conf import settings

    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE <= 2 * 60 * 60


def test_sessions_end_after_a_shift_whatever_the_activity(people: Any) -> None:
    client = Client()
    client.force_login(people.li)
    assert client.get("/api/v1/accounts/me").status_code == 200
    session = client.session
    session[SESSION_KEY] = time.time() - 13 * 3600
    session.save()
    assert client.get("/api/v1/accounts/me").status_code == 401


def test_housekeeping_purges_expired_sessions(people: Any) -> None:
    client = Client()
    client.force_login(people.li)
    Session.objects.update(expire_date=timezone.now() - timedelta(minutes=1))
    result = accounts_housekeeping.call_local()
    assert result["sessions"] == 1
    assert Session.objects.count() == 0


def test_inactive_user_has_no_permissions(people: Any) -> None:
    assert people.li.has_perm("citizens.view_personal_data")
    people.li.is_active = False
    assert not people.li.has_perm("citizens.view_personal_data")


def test_role_matrix_is_what_the_docs_say() -> None:
    personal = {role for role, perms in ROLE_PERMISSIONS.items() if "citizens.view_personal_data" in perms}
    assert personal == {"agent", "supervisor", "dispatcher"}
    assert {r for r, p in ROLE_PERMISSIONS.items() if "audit.view_auditevent" in p} == {"admin"}
    assert {r for r, p in ROLE_PERMISSIONS.items() if "accounts.add_user" in p} == {"admin", "unit_manager"}
