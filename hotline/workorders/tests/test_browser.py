"""One order driven through the whole loop in a real browser, by keyboard where a call needs speed.

Agent Li takes the call (types the number, sees the caller's profile and last orders, fills the
form with the keyboard, gets the tracking number); dispatcher Zhou dispatches it from the queue
with the duty list's unit; handler Wang signs and answers; Zhou accepts the answer and records a
satisfied revisit; the order ends closed with its whole timeline. Screenshots of each screen go to
``test-artifacts/``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conftest import PASSWORD
from hotline.core.tests import conftest as shell_fixtures
from hotline.core.tests.conftest import BrowserSession
from hotline.workorders import services as s
from hotline.workorders.models import WorkOrder

# The browser fixtures (Debian chromium through Playwright) of the UI shell's tests.
browser = shell_fixtures.browser
session = shell_fixtures.session

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13812345678"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def backlog(people: Any, tree: Any, city: Any, take: Any) -> dict[str, Any]:
    """The caller's profile and an earlier answered call, and other orders at every stage, made
    before the browser starts (their notifications are sent from this thread)."""
    from hotline.citizens.services import citizen_create

    citizen_create(name="王小明", phone=PHONE, address="东一街道建设路12号", region=city.east1)
    earlier = s.order_create(
        actor=people.li,
        intake=s.Intake(
            channel="phone", request_type=tree.consultation, title="施工许可公示查询",
            content="想查工地的施工许可。", citizen_name="王小明", citizen_phone=PHONE, region=city.east1,
            category=tree.enforcement,
        ),
        direct_answer="已告知在区住建局网站查询。",
    )  # fmt: skip
    now = timezone.now()
    samples = [
        ("小区垃圾清运不及时", "handling", 100),
        ("人行道井盖松动", "handling", 90),
        ("共享单车乱停放堵塞消防通道", "pending_sign", 70),
    ]
    for title, state, level in samples:
        order = take(title=title, citizen_phone=f"139{len(title):08d}")
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
        if state == "handling":
            s.order_sign(order=order, actor=people.wang)
        due = {100: now - timedelta(hours=5), 90: now + timedelta(minutes=40), 70: now + timedelta(hours=6)}[
            level
        ]
        WorkOrder.objects.filter(pk=order.pk).update(
            deadline_level=level,
            due_at=due,
            warn_at=now - timedelta(hours=8),
            urgent_at=now - timedelta(hours=1),
        )
        if level == 100:
            s.order_supervise(order=order, actor=people.zhou, kind="supervise", message="请两日内办结",
                              escalate_to=people.zhao)  # fmt: skip
            s.order_instruct(order=order, actor=people.zhao, text="请东一街道高度重视，限期清运并回复市民。")
    water = take(
        title="片区停水未提前通知", category=tree.water, region=city.west1, citizen_phone="13500002222"
    )
    returned = take(title="路边摊占道经营", citizen_phone="13500003333")
    s.order_dispatch(order=returned, actor=people.zhou, lead_unit=city.east2_office)
    s.order_return(order=returned, actor=people.qian, reason="地址在东一街道辖区，不属于东二街道。")
    return {"earlier": earlier, "water": water}


def shot(session: BrowserSession, name: str) -> None:
    """A full-page screenshot from the top of the page (sticky bars stay where they belong)."""
    session.page.evaluate("window.scrollTo(0, 0)")
    session.screenshot(name)


def switch_user(session: BrowserSession, username: str) -> None:
    session.page.context.clear_cookies()
    session.login(username, PASSWORD)


def test_one_order_through_the_whole_loop(
    people: Any, tree: Any, city: Any, backlog: dict[str, Any], session: BrowserSession
) -> None:
    page = session.page

    # --- Agent Li takes the call -------------------------------------------------------------
    session.login("li", PASSWORD)
    shot(session, "home_agent_orders")
    page.click("[data-testid=home-new-order]")
    page.wait_for_url("**/orders/new/")
    assert page.inner_text("main h1").strip() == "受理登记"
    assert page.evaluate("document.activeElement.id") == "id_citizen_phone"  # autofocus: the number first
    page.keyboard.type(PHONE)
    page.wait_for_selector("[data-testid=caller-name]")
    assert page.inner_text("[data-testid=caller-name]") == "王小明"
    assert backlog["earlier"].number in page.inner_text("[data-testid=caller-orders]")
    assert page.input_value("#id_citizen_name") == "王小明"  # filled from the profile

    page.keyboard.press("Enter")  # Enter moves on, it does not submit
    assert page.evaluate("document.activeElement.id") == "id_citizen_name"
    assert page.url.endswith("/orders/new/")
    for _ in range(4):  # ID number, anonymous, confidential → the content
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_content"
    page.keyboard.type("东一街道建设路工地每晚十一点后还在施工，噪音很大，已经持续一周，请尽快处理。")
    page.keyboard.press("Tab")
    page.keyboard.type("建设路工地夜间施工噪音扰民")
    page.keyboard.press("Tab")  # the request type: keys 1–6
    page.keyboard.press("2")
    assert page.is_checked("input[name=request_type][value=complaint]")
    page.keyboard.press("Tab")  # the category picker
    assert page.evaluate("document.activeElement.id") == "pick-category"
    page.keyboard.type("城管")
    page.wait_for_selector("#pick-category-list [role=option].is-active")
    page.keyboard.press("Enter")
    assert page.input_value("input[name=category]") == tree.enforcement.code
    assert "城管执法" in page.input_value("#pick-category")
    page.keyboard.press("Tab")  # where: the region picker
    page.keyboard.type("东一街道")
    page.wait_for_selector("#pick-region-list [role=option].is-active")
    page.keyboard.press("Tab")  # Tab picks the highlighted entry, too
    assert page.input_value("input[name=region]") == city.east1.code
    assert page.evaluate("document.activeElement.id") == "id_address"
    page.keyboard.type("建设路12号对面工地")
    shot(session, "wo_intake_filled")

    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    number = page.inner_text("[data-testid=tracking-number]").strip()
    order = WorkOrder.objects.get(number=number)
    assert order.state == "pending_dispatch"
    assert (order.category_id, order.region_id, order.citizen_name) == (
        tree.enforcement.pk,
        city.east1.pk,
        "王小明",
    )
    assert "待派单" in page.inner_text("[data-testid=intake-done]")
    assert page.evaluate("document.activeElement.dataset.testid") == "new-order"  # Enter starts the next call
    shot(session, "wo_intake_done")

    # --- Dispatcher Zhou dispatches it from the queue -----------------------------------------
    switch_user(session, "zhou")
    shot(session, "home_dispatcher_orders")
    session.goto("/orders/queue/?queue=dispatch")
    row = page.locator(f"[data-testid=qrow-{number}]")
    assert row.locator("input[name=dispatch-lead_unit]").input_value() == "ST-EAST1"  # the duty list's unit
    assert row.locator(".picker-input").first.input_value() == "东一街道办事处"
    shot(session, "wo_queue_dispatch")
    row.locator(f"[data-testid=dispatch-{number}]").click()
    page.wait_for_selector(f"#row-{number}.is-done")
    assert "已派单至东一街道办事处" in page.inner_text(f"#row-{number}")
    page.wait_for_function(
        "document.querySelector('[data-testid=count-dispatch]').textContent.trim() === '1'"
    )  # the tabs counted again

    # --- Handler Wang signs and answers ------------------------------------------------------
    switch_user(session, "wang")
    shot(session, "home_handler_orders")
    page.click("nav.sidenav >> text=待办工单")
    page.wait_for_url("**/orders/inbox/")
    assert number in page.inner_text("[data-testid=inbox-table]")
    shot(session, "wo_inbox")
    with page.expect_navigation():
        page.click(f"[data-testid=sign-{number}]")
    assert "已签收" in page.inner_text(".messages")
    session.goto(f"/orders/{number}/")
    assert page.inner_text("[data-testid=order-state]").strip() == "办理中"
    form = page.locator("[data-testid=form-answer]")
    form.get_by_text("已解决", exact=True).click()
    form.locator("textarea").fill(
        "已约谈施工单位，责令晚上十点后停止施工，并安排夜间巡查。市民反映的问题已解决。"
    )
    form.locator("input[type=file]").set_input_files(
        files=[{"name": "整改照片.png", "mimeType": "image/png", "buffer": PNG}]
    )
    shot(session, "wo_detail_handler")
    with page.expect_navigation():
        page.click("[data-testid=do-answer]")
    assert page.inner_text("[data-testid=order-state]").strip() == "待审核"

    # --- Zhou accepts the answer and records the revisit --------------------------------------
    switch_user(session, "zhou")
    session.goto("/orders/queue/?queue=review")
    page.locator(f"[data-testid=review-accept-{number}]").click()
    page.wait_for_selector(f"#row-{number}.is-done")
    session.goto("/orders/queue/?queue=revisit")
    row = page.locator(f"[data-testid=qrow-{number}]")
    row.locator("label.wo-seg-item", has_text="已解决").click()
    row.get_by_text("满意", exact=True).click()
    row.locator("[name=revisit-comment]").fill("市民表示晚上已经安静了，感谢。")
    shot(session, "wo_queue_revisit")
    row.locator(f"[data-testid=revisit-{number}]").click()
    page.wait_for_selector(f"#row-{number}.is-done")
    assert "工单已办结" in page.inner_text(f"#row-{number}")

    session.goto(f"/orders/{number}/")
    assert page.inner_text("[data-testid=order-state]").strip() == "已办结"
    actions = page.eval_on_selector_all(
        "[data-testid=timeline] > li", "items => items.map(li => li.dataset.action)"
    )
    assert actions == ["intake", "dispatch", "sign", "answer", "review_accept", "revisit"]
    timeline = page.inner_text("[data-testid=timeline]")
    for words in (
        "受理",
        "派单",
        "签收",
        "审核通过",
        "回访",
        "满意",
        "东一街道办事处",
        "李晓",
        "周敏",
        "王强",
    ):
        assert words in timeline
    assert "整改照片.png" in page.inner_text("[data-testid=attachments]")
    shot(session, "wo_detail_closed")

    session.goto("/orders/")
    assert number in page.inner_text("[data-testid=order-table]")
    shot(session, "wo_list")

    # --- The district leader sees the overdue order and its unit ----------------------------------
    switch_user(session, "zhao")
    shot(session, "home_leader_orders")
    session.goto("/orders/leader/")
    assert "小区垃圾清运不及时" in page.inner_text("[data-testid=leader-orders]")
    shot(session, "wo_leader")
    session.goto(f"/orders/{WorkOrder.objects.get(title='小区垃圾清运不及时').number}/")
    assert "请东一街道高度重视" in page.inner_text("[data-testid=instructions]")
    shot(session, "wo_detail_leader")
