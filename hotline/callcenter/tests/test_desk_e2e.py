"""End to end, as `make run` runs it: the web process (uvicorn) and the switch process
(`manage.py run_switch`) as separate processes on the test database, with no Redis (events and
commands travel through the database), and real browsers for a supervisor's test phone and two
agents' desks.

A simulated call placed from the test phone rings agent Li; the screen pops with the caller's
last orders; Li answers, drafts the order, transfers the call to agent Ying; Ying's desk rings
with the draft in the intake form.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from conftest import PASSWORD
from hotline.callcenter.models import CallRecord
from hotline.callcenter.tests.conftest import staff_centre
from hotline.core.tests.conftest import VIEWPORT, BrowserSession, guarded_session
from hotline.taxonomy.models import RequestType
from hotline.workorders.services import Intake, order_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[3]
CALLER = "13812345678"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Platform:
    def __init__(self, base_url: str, logs: Path) -> None:
        self.base_url = base_url
        self.logs = logs


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """The web and switch processes of the embedded platform, on the test database."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    python = sys.executable
    logs = tmp_path
    web_log = (logs / "web.log").open("w")
    switch_log = (logs / "switch.log").open("w")
    web = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [python, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--ws=websockets-sansio"],
        cwd=ROOT,
        env=env,
        stdout=web_log,
        stderr=subprocess.STDOUT,
    )
    switch = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [python, "manage.py", "run_switch", "--recorder-delay", "0.3"],
        cwd=ROOT,
        env=env,
        stdout=switch_log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                with urllib.request.urlopen(base_url + "/accounts/login/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or web.poll() is not None:
                raise AssertionError("the web process did not start:\n" + (logs / "web.log").read_text())
            time.sleep(0.2)
        while "switch:" not in (logs / "switch.log").read_text():
            if time.monotonic() > deadline or switch.poll() is not None:
                raise AssertionError("the switch did not start:\n" + (logs / "switch.log").read_text())
            time.sleep(0.2)
        PLATFORM["current"] = Platform(base_url, logs)
        yield PLATFORM["current"]
    finally:
        for process in (switch, web):
            process.terminate()
        for process in (switch, web):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        web_log.close()
        switch_log.close()
        from django.db import connections

        connections.close_all()


@pytest.fixture
def centre(people: Any, city: Any) -> Any:
    """``staff_centre``, and two earlier orders of the caller."""
    staff_centre(people, ring_timeout_s=30, wrap_up_s=60)
    complaint = RequestType.objects.get(code="complaint")
    for title in ("楼道灯坏了一个月", "小区门口占道经营"):
        order_create(
            actor=people.li,
            intake=Intake(
                channel="phone",
                request_type=complaint,
                title=title,
                content=f"{title}，请尽快处理。",
                citizen_name="王小明",
                citizen_phone=CALLER,
                address="东一街道建设路12号",
                region=city.east1,
            ),
        )
    return people


PLATFORM: dict[str, Platform] = {}


def _wait(page: Any, selector: str, **options: Any) -> None:
    """``wait_for_selector``; when it times out, say what the desk showed and what the processes
    logged."""
    try:
        page.wait_for_selector(selector, timeout=10_000, **options)
    except Exception as exc:
        shown = page.evaluate(
            "() => Array.from(document.querySelectorAll('[data-testid=softphone],[data-testid=desk-alert],"
            "[data-testid=phone-state],[data-testid=phone-log]')).map(e => e.innerText).join(' | ')"
        )
        logs = PLATFORM["current"].logs
        tails = {name: (logs / name).read_text()[-3000:] for name in ("web.log", "switch.log")}
        raise AssertionError(f"{selector!r} not seen; the page showed: {shown}\nlogs: {tails}") from exc


def _desk_ready(session: BrowserSession, username: str) -> Any:
    page = session.page
    session.login(username, PASSWORD)
    session.goto("/callcenter/desk/")
    page.click("[data-testid=btn-login]")
    _wait(page, "[data-testid=softphone-state]:has-text('就绪')")
    return page


def test_a_simulated_call_pops_the_desk_and_its_draft_follows_the_transfer(
    browser: Any,
    centre: Any,
    platform: Platform,
) -> None:
    people = centre
    base = platform.base_url
    options = {"viewport": VIEWPORT, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
    with (
        guarded_session(browser, base, **options) as li_session,
        guarded_session(browser, base, **options) as ying_session,
        guarded_session(browser, base, **options) as chen_session,
    ):
        li = _desk_ready(li_session, "li")
        ying = _desk_ready(ying_session, "ying")

        chen = chen_session.page
        chen_session.login("chen", PASSWORD)
        chen_session.goto("/callcenter/phone/")
        chen.fill("[data-testid=phone-caller]", CALLER)
        chen.select_option("[data-testid=phone-called]", "12345")
        chen.click("[data-testid=phone-dial]")

        # Li (ready first, so idle longest) is rung: the screen pops with the caller's last orders.
        _wait(li, "[data-testid=screen-pop]", state="visible")
        assert CALLER in li.inner_text("[data-testid=screen-pop-caller]")
        _wait(li, "[data-testid=caller-panel] >> text=楼道灯坏了一个月")
        assert "小区门口占道经营" in li.inner_text("[data-testid=caller-panel]")
        assert li.input_value("#id_citizen_phone") == CALLER
        li_session.screenshot("desk_screen_pop")

        li.click("[data-testid=btn-answer]")
        _wait(li, "[data-testid=softphone-state]:has-text('通话')")
        _wait(chen, "[data-testid=phone-hears]:has-text('李')")

        # Li drafts the order while talking, then transfers the call to Ying.
        li.fill("#id_content", "建设路12号楼道灯坏了一个月，晚上看不见路。")
        li.fill("#id_title", "建设路12号楼道灯不亮")
        li.wait_for_timeout(1200)  # the draft is sent once typing stops
        li.click("[data-testid=btn-transfer]")
        li.fill("[data-testid=transfer-target]", f"agent:{people.ying.pk}")
        li.click("[data-testid=transfer-submit]")
        _wait(li, "[data-testid=softphone-state]:has-text('话后')")

        # Ying's desk rings with the draft already in the intake form.
        _wait(ying, "[data-testid=screen-pop]", state="visible")
        _wait(ying, "[data-testid=draft-notice]", state="visible")
        assert ying.input_value("#id_content") == "建设路12号楼道灯坏了一个月，晚上看不见路。"
        assert ying.input_value("#id_title") == "建设路12号楼道灯不亮"
        assert ying.input_value("#id_citizen_phone") == CALLER
        ying.click("[data-testid=btn-answer]")
        _wait(ying, "[data-testid=softphone-state]:has-text('通话')")
        _wait(chen, "[data-testid=phone-hears]:has-text('钱颖')")
        ying_session.screenshot("desk_transferred_draft")

        ying.click("[data-testid=btn-hangup]")
        _wait(ying, "[data-testid=softphone-state]:has-text('话后')")

    deadline = time.monotonic() + 10
    while not CallRecord.objects.filter(caller=CALLER).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    record = CallRecord.objects.get(caller=CALLER)
    assert (record.outcome, record.transfers, record.agent_id) == ("answered", 1, people.li.pk)
