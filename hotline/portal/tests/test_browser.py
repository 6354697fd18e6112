"""The citizen portal on a phone-sized screen: submit with a photo, track, rate the answer."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hotline.core.tests.conftest import BrowserSession, guarded_session
from hotline.workorders import services as s
from hotline.workorders.models import WorkOrder

from .conftest import PHONE, png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# An ordinary phone: 390 CSS pixels wide, drawn at twice the density.
PHONE_VIEWPORT = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any, live_server: Any) -> Iterator[BrowserSession]:
    """A fresh phone-sized context in Chinese that may only talk to the live server."""
    with guarded_session(
        browser, live_server.url, viewport=PHONE_VIEWPORT, device_scale_factor=2, is_mobile=True,
        has_touch=True, locale="zh-CN", timezone_id="Asia/Shanghai",
    ) as result:  # fmt: skip
        yield result


def in_thread(work: Callable[[], None]) -> None:
    """Run staff steps off the test's thread: Playwright's event loop runs there, and the steps
    publish live events through async_to_sync after they commit."""
    from django.db import connections

    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # handed back to the test below
            failure.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def no_sideways_scroll(session: BrowserSession) -> None:
    width = session.page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page is {width}px wide on a 390px phone"


def track(session: BrowserSession, number: str) -> None:
    session.goto(f"/portal/track/?number={number}")
    assert session.page.input_value("#id_number") == number
    session.page.fill("#id_phone", PHONE)
    with session.page.expect_navigation():
        session.page.click("[data-testid=track-submit]")


def test_a_citizen_submits_tracks_and_rates_on_a_phone(
    phone: BrowserSession, people: Any, city: Any, tree: Any, settings: Any, tmp_path: Path
) -> None:
    settings.PORTAL_MIN_FILL_SECONDS = 1  # a script is faster than this; the test is not much slower
    page = phone.page
    phone.goto("/portal/")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert page.inner_text("[data-testid=entry-submit]").startswith("我要反映")
    assert page.is_visible("a[href='tel:12345']")
    no_sideways_scroll(phone)
    phone.screenshot("portal_home")

    # Sending at once, without filling anything in: refused, with the fields marked.
    page.click("[data-testid=entry-submit]")
    page.wait_for_url("**/portal/submit/")
    with page.expect_navigation():
        page.click("[data-testid=submit-request]")
    assert page.is_visible("[data-testid=form-errors]")
    assert "请选择诉求类型" in page.inner_text("main")
    assert WorkOrder.objects.count() == 0
    phone.screenshot("portal_submit_errors")

    # Filled in as a person would.
    phone.goto("/portal/submit/")
    page.click(".pt-chip:has-text('投诉')")
    page.fill("#id_title", "小区门口路灯不亮")
    page.fill("#id_content", "建设路12号小区东门的路灯坏了一周，晚上很黑，老人出行不便，请尽快修理。")
    picture = tmp_path / "路灯.png"
    picture.write_bytes(png_bytes(120, 90))
    page.set_input_files("[data-testid=photo-album]", str(picture))
    page.wait_for_selector(".pt-thumbs img")
    page.select_option("#id_region", label="东一街道")
    page.fill("#id_address", "建设路12号小区东门")
    assert page.is_hidden("#id_category")  # step two appears once a field is chosen
    page.select_option("#id_category_group", label="城乡建设")
    page.select_option("#id_category", label="城市建设和市政管理 › 城管执法")
    page.fill("#id_citizen_phone", PHONE)
    page.fill("#id_citizen_name", "赵敏")
    page.check("#id_anonymous")
    no_sideways_scroll(phone)
    phone.screenshot("portal_submit")
    page.wait_for_timeout(1100)
    with page.expect_navigation():
        page.click("[data-testid=submit-request]")

    page.wait_for_url("**/portal/submitted/**")
    order = WorkOrder.objects.get()
    assert page.inner_text("[data-testid=tracking-number]").replace(" ", "") == order.number
    assert (order.channel, order.citizen_phone, order.anonymous) == ("web", PHONE, True)
    assert order.category == tree.enforcement
    assert order.region == city.east1
    assert [a.name for a in order.attachments.all()] == ["路灯.png"]
    phone.screenshot("portal_submitted")

    # Tracking from the receipt: the number is filled in already.
    with page.expect_navigation():
        page.click("a.pt-btn--primary")
    assert page.input_value("#id_number") == order.number
    page.fill("#id_phone", PHONE)
    with page.expect_navigation():
        page.click("[data-testid=track-submit]")
    assert page.inner_text("[data-testid=public-state]") == "已受理"
    phone.screenshot("portal_track_received")

    # A wrong phone: not found.
    phone.goto(f"/portal/track/?number={order.number}")
    page.fill("#id_phone", "13900009999")
    with page.expect_navigation():
        page.click("[data-testid=track-submit]")
    assert "未查询到" in page.inner_text("[data-testid=track-error]")
    phone.screenshot("portal_track_not_found")

    # The centre and the street office handle it; the centre accepts the answer.
    def handle() -> None:
        fresh = WorkOrder.objects.get(pk=order.pk)
        s.order_dispatch(order=fresh, actor=people.zhou, lead_unit=city.east1_office)
        s.order_sign(order=fresh, actor=people.wang)
        s.order_answer(
            order=fresh,
            actor=people.wang,
            result="resolved",
            answer="经现场核实，路灯线路老化。街道已联系供电部门更换线路，路灯已于今日恢复照明。感谢您的反映！",
        )
        s.order_review(order=fresh, actor=people.zhou, accept=True)

    in_thread(handle)

    track(phone, order.number)
    assert page.inner_text("[data-testid=public-state]") == "已答复"
    assert "路灯已于今日恢复照明" in page.inner_text("[data-testid=public-answer]")
    steps = page.inner_text("[data-testid=public-steps]")
    assert "已转交承办单位办理" in steps
    assert "东一街道办事处" not in page.inner_text("body")
    assert people.wang.full_name not in page.inner_text("body")
    no_sideways_scroll(phone)
    phone.screenshot("portal_track_answered")

    page.click("[data-testid=rate-form] .pt-chip:has-text('已解决')")
    page.click("[data-testid=rate-form] .pt-chip:has-text('满意') >> nth=0")
    page.fill("#id_comment", "处理及时，谢谢！")
    with page.expect_navigation():
        page.click("[data-testid=rate-submit]")
    assert "您的诉求已办结" in page.inner_text("[data-testid=rated-outcome]")
    phone.screenshot("portal_rated")
    order.refresh_from_db()
    assert (order.state, order.satisfaction) == ("closed", "satisfied")

    track(phone, order.number)
    assert page.inner_text("[data-testid=public-state]") == "已办结"
    assert page.locator("[data-testid=rate-form]").count() == 0
    phone.screenshot("portal_track_closed")
