"""The notification centre and the bell in a real browser (htmx "mark all read")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import PASSWORD
from hotline.core.tests.conftest import BrowserSession
from hotline.notify.models import Notification

# No serialized_rollback: nothing here needs the rows of data migrations, and restoring them after a
# transactional test that flushed (and re-created content types) fails on their unique keys.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
BELL_LINE = '  {% include "notify/bell.html" %}\n'


@pytest.fixture
def bell_in_top_bar(settings: Any, tmp_path: Path) -> None:
    """base.html with the bell included after the language switch, as the top bar will have it."""
    lines = (TEMPLATES_DIR / "base.html").read_text().splitlines(keepends=True)
    if not any("notify/bell.html" in line for line in lines):
        at = next(i for i, line in enumerate(lines) if "includes/language_switch.html" in line)
        lines.insert(at + 1, BELL_LINE)
    (tmp_path / "base.html").write_text("".join(lines))
    engine = {**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}
    settings.TEMPLATES = [engine]


def test_mark_all_read_updates_the_list_and_the_bell(
    session: BrowserSession, people: Any, bell_in_top_bar: None
) -> None:
    # Rows written directly: a live event published from the test's thread would meet Playwright's
    # event loop there.
    for recipient, kind, title in (
        (people.wang, "order_new", "新工单：小区噪音扰民"),
        (people.wang, "order_warning", "工单即将超期：路灯不亮"),
        (people.sun, "system", "别人的通知"),
    ):
        Notification.objects.create(recipient=recipient, kind=kind, title=title)
    session.login("wang", PASSWORD)
    page = session.page
    assert page.inner_text("[data-notify-count]") == "2"

    page.click("[data-testid=notify-bell]")
    page.wait_for_url("**/notify/")
    assert page.inner_text("main h1").strip() == "消息通知"
    assert page.locator(".notify-item.is-unread").count() == 2
    assert "别人的通知" not in page.inner_text("main")
    session.screenshot("notify_inbox")

    page.click("[data-testid=notify-read-all]")
    page.wait_for_selector(".notify-item.is-unread", state="detached")
    assert page.locator(".notify-item").count() == 2
    assert page.inner_text("[data-testid=notify-unread]") == "0"
    assert page.is_hidden("[data-notify-count]")  # the bell heard the HX-Trigger
    assert page.url == session.base_url + "/notify/"  # swapped in place, no reload
