"""The UI shell in a real browser: sign in through the form as each role, switch language, lockout."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import PASSWORD

from .conftest import BrowserSession

# serialized_rollback: the request types made by a data migration survive the flush between tests.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# person (conftest ``people``), role, Chinese title of the home page, Chinese role label
ROLES = [
    ("li", "agent", "座席工作台", "话务员"),
    ("chen", "supervisor", "班长监控台", "班长"),
    ("zhou", "dispatcher", "派单审核台", "派单审核员"),
    ("wang", "handler", "承办工作台", "承办人员"),
    ("sun", "unit_manager", "单位管理台", "单位负责人"),
    ("zhao", "leader", "领导驾驶舱", "领导"),
    ("ma", "admin", "系统管理", "系统管理员"),
]


def h1(session: BrowserSession) -> str:
    return session.page.inner_text("main h1").strip()


def html_lang(session: BrowserSession) -> str:
    return session.page.get_attribute("html", "lang") or ""


@pytest.mark.parametrize(("person", "role", "title", "role_label"), ROLES)
def test_each_role_signs_in_to_its_home(
    session: BrowserSession, people: Any, person: str, role: str, title: str, role_label: str
) -> None:
    user = getattr(people, person)
    session.login(user.username, PASSWORD)
    page = session.page
    assert page.url == session.base_url + "/"
    assert h1(session) == title
    assert page.title().startswith(title)
    assert html_lang(session).startswith("zh")
    # The top bar names the user, their role (in Chinese) and their unit.
    top = page.inner_text("[data-testid=current-user]")
    assert user.full_name in top
    assert role_label in top
    assert user.unit.name in top
    assert page.is_visible("nav.sidenav >> text=首页")
    # The vendored libraries came from the server itself and started.
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("typeof window.Alpine") == "object"
    session.screenshot(f"home_{role}")


def test_switch_to_english_and_back(session: BrowserSession, people: Any) -> None:
    session.login("li", PASSWORD)
    assert h1(session) == "座席工作台"
    with session.page.expect_navigation():
        session.page.click(".lang-switch button[value=en]")
    assert h1(session) == "Agent workspace"
    assert html_lang(session) == "en"
    assert session.page.title() == "Agent workspace · 12345 Government Service Hotline"
    session.screenshot("home_agent_en")
    with session.page.expect_navigation():
        session.page.click(".lang-switch button[value=zh-hans]")
    assert h1(session) == "座席工作台"


def test_logout_returns_to_login(session: BrowserSession, people: Any) -> None:
    session.login("wang", PASSWORD)
    assert h1(session) == "承办工作台"
    with session.page.expect_navigation():
        session.page.click(".topbar-logout button")
    assert "/accounts/login/" in session.page.url
    session.goto("/")
    assert "/accounts/login/" in session.page.url


def test_wrong_password_then_lockout(session: BrowserSession, people: Any) -> None:
    session.goto("/accounts/login/")
    assert html_lang(session).startswith("zh")
    session.screenshot("login")
    assert "次密码错误" in session.page.inner_text("[data-testid=lockout-notice]")

    session.login("li", "not-the-password")
    assert "请输入一个正确的用户名和密码" in session.page.inner_text("[data-testid=login-error]")

    for _ in range(4):  # five wrong passwords in all
        session.login("li", "not-the-password")
    assert session.page.inner_text("h1") == "账户已锁定"

    # Locked: even the right password is refused.
    session.login("li", PASSWORD)
    assert session.page.inner_text("h1") == "账户已锁定"
    assert "系统管理员" in session.page.inner_text("main")
    session.screenshot("locked")
    session.goto("/")
    assert "/accounts/login/" in session.page.url
