"""Browser fixtures: Debian's chromium driven by sync Playwright against pytest-django's live server.

The browser is the system one (``/usr/bin/chromium``); Playwright never downloads its own. Pages
may only talk to the live server: hotline intranets are offline, so any request elsewhere (a CDN,
a font service) fails the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from conftest import require_service

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
VIEWPORT = {"width": 1440, "height": 900}


@dataclass
class BrowserSession:
    """One browser context on the live server, with what went wrong on the way."""

    page: Any
    base_url: str
    foreign_requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def login(self, username: str, password: str) -> None:
        self.goto("/accounts/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        with self.page.expect_navigation():
            self.page.click("form.form button[type=submit]")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Debian chromium, launched for one test.

    Sync Playwright keeps an event loop running in this thread, so ORM calls made meanwhile (the
    test's fixtures and body) need DJANGO_ALLOW_ASYNC_UNSAFE, and they get database connections of
    their own: Django keeps connections per async context while a loop runs. Those are closed here,
    or PostgreSQL refuses to drop the test database at the end of the run.
    """
    require_service(CHROMIUM.exists(), "Debian chromium")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from django.db import connections
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()
            connections.close_all()


@contextmanager
def guarded_session(browser: Any, base_url: str, **context_options: Any) -> Iterator[BrowserSession]:
    """A fresh browser context (no cookies) that may only talk to ``base_url`` and must raise no
    JavaScript error; ``context_options`` go to Playwright's ``new_context``."""
    context = browser.new_context(**context_options)
    context.set_default_timeout(15_000)
    page = context.new_page()
    result = BrowserSession(page=page, base_url=base_url)
    own_host = urlsplit(base_url).netloc

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).netloc == own_host:
            route.continue_()
        else:
            result.foreign_requests.append(url)
            route.abort()

    page.route("**/*", guard)
    page.on("pageerror", lambda exc: result.page_errors.append(str(exc)))
    try:
        yield result
    finally:
        context.close()
    assert result.foreign_requests == [], "pages must not load anything from outside the server"
    assert result.page_errors == [], "pages raised JavaScript errors"


@pytest.fixture
def session(browser: Any, live_server: Any) -> Iterator[BrowserSession]:
    """A fresh context (no cookies) in Chinese, as a hotline workstation is set up."""
    with guarded_session(
        browser, live_server.url, viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai"
    ) as result:
        yield result
