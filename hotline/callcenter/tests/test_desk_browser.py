"""The agent desktop in a real browser, driven at the protocol boundary.

pytest-django's live server has no websockets, so the page's socket (``window.hotlineLive``) is
replaced by a recorder of what the desk sends, and the switch's messages are played to the page as
the ``hotline:live`` events the socket would fire. The end-to-end run with the switch process is in
the contact centre's own tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conftest import PASSWORD
from hotline.callcenter.models import AgentProfile, CallbackRequest, EmergencyNumber, PauseReason, Seat
from hotline.core.tests.conftest import BrowserSession
from hotline.workorders.models import WorkOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

# Replaces the page's socket before any script runs: the bell does not connect, the desk sends
# into ``window.__sent``.
RECORDER = """
window.hotlineNotifyBell = true;
window.__sent = [];
window.hotlineLive = {
  send: function (message) { window.__sent.push(JSON.parse(JSON.stringify(message))); return true; },
  isOpen: function () { return true; },
};
"""
CALLER = "13812345678"


@pytest.fixture
def desk_setup(people: Any) -> Any:
    seat = Seat.objects.create(extension="8012", name="A-12")
    AgentProfile.objects.create(user=people.li, default_seat=seat)
    AgentProfile.objects.create(user=people.chen)  # a transfer target
    PauseReason.objects.create(code="meal", name="就餐", sort_order=1)
    PauseReason.objects.create(code="training", name="培训", sort_order=2)
    EmergencyNumber.objects.create(name="公安", number="110", sort_order=1)
    EmergencyNumber.objects.create(name="急救", number="120", sort_order=2)
    return people


@pytest.fixture
def desk(session: BrowserSession, desk_setup: Any) -> Iterator[BrowserSession]:
    """Agent Li on the desk, with the recorder in place of the socket."""
    session.login("li", PASSWORD)
    session.page.add_init_script(RECORDER)
    session.goto("/callcenter/desk/")
    session.page.wait_for_function("window.__sent.length > 0")
    yield session


def play(session: BrowserSession, message: dict[str, Any]) -> None:
    session.page.evaluate(
        "m => document.dispatchEvent(new CustomEvent('hotline:live', {detail: m}))", message
    )


def sent(session: BrowserSession) -> list[dict[str, Any]]:
    """What the desk sent, without the ``ref`` each message carries (checked here)."""
    messages = list(session.page.evaluate("window.__sent"))
    refs = [m.pop("ref", "") for m in messages]
    assert all(ref.startswith("desk-") for ref in refs), refs
    assert len(set(refs)) == len(refs)
    return messages


def forget(session: BrowserSession) -> None:
    session.page.evaluate("window.__sent.length = 0")


def last(session: BrowserSession, action: str) -> dict[str, Any]:
    found = [m for m in sent(session) if m.get("action") == action]
    assert found, f"no {action!r} sent; sent: {sent(session)}"
    return found[-1]


def agent(people: Any, state: str, seconds_ago: int = 0, **fields: Any) -> dict[str, Any]:
    since = timezone.now() - timedelta(seconds=seconds_ago)
    body = {
        "agent_id": people.li.pk,
        "name": "李晓",
        "extension": "8012",
        "state": state,
        "since": since.isoformat(),
        "reason": "",
        "call_id": "",
        "caller": "",
        "queue": "",
        "calls": 0,
        "no_answers_in_row": 0,
    }
    body.update(fields)
    return {"type": "cc.agent", "agent": body}


def on_call(people: Any, state: str = "talking") -> dict[str, Any]:
    return agent(people, state, call_id="call-1", caller=CALLER, queue="general")


def texts(session: BrowserSession) -> dict[str, Any]:
    return dict(json.loads(session.page.inner_text("#desk-texts")))


def tid(name: str) -> str:
    return f"[data-testid={name}]"


def visible(session: BrowserSession, *names: str) -> dict[str, bool]:
    return {name: session.page.is_visible(tid(name)) for name in names}


BUTTONS = (
    "btn-login", "btn-ready", "btn-pause", "btn-logout", "btn-unlock", "btn-answer", "btn-hangup",
    "btn-hold", "btn-unhold", "btn-mute", "btn-transfer", "btn-consult", "btn-dial",
)  # fmt: skip

# state → the buttons shown in it (every other one of BUTTONS is hidden)
SHOWN = {
    "logged_out": {"btn-login"},
    "ready": {"btn-pause", "btn-logout", "btn-dial"},
    "paused": {"btn-ready", "btn-pause", "btn-logout", "btn-dial"},
    "ringing": {"btn-answer"},
    "talking": {"btn-hangup", "btn-hold", "btn-mute", "btn-transfer", "btn-consult", "btn-pause"},
    "hold": {"btn-hangup", "btn-unhold", "btn-mute", "btn-transfer", "btn-consult", "btn-pause"},
    "wrap_up": {"btn-ready", "btn-pause", "btn-logout", "btn-dial"},
    "locked": {"btn-unlock", "btn-logout"},
}

# Labels whose Chinese comes from the contact centre's state names (already translated).
CHINESE = {"ready": "就绪", "ringing": "振铃", "talking": "通话中", "hold": "保持", "wrap_up": "话后处理"}


def test_the_desk_asks_for_its_state_and_follows_the_agents_messages(
    desk: BrowserSession, people: Any
) -> None:
    page = desk.page
    assert sent(desk)[0] == {"type": "cc", "action": "state"}
    words = texts(desk)
    reasons = [{"code": "meal", "name": "就餐"}, {"code": "training", "name": "培训"}]
    state = {"type": "cc.state", "agent": agent(people, "logged_out")["agent"], "call": None}
    play(desk, {**state, "pause_reasons": reasons})
    assert page.get_attribute(tid("softphone"), "data-state") == "logged_out"
    assert page.inner_text(tid("softphone-state")) == words["states"]["logged_out"]
    assert page.input_value(tid("login-extension")) == "8012"  # the agent's default seat

    for state, shown in SHOWN.items():
        extra = {"call_id": "call-1", "caller": CALLER, "queue": "general"} if state in CHINESE else {}
        play(desk, agent(people, state, **extra))
        assert page.get_attribute(tid("softphone"), "data-state") == state
        assert page.inner_text(tid("softphone-state")) == words["states"][state]
        if state in CHINESE:
            assert page.inner_text(tid("softphone-state")) == CHINESE[state]
        assert visible(desk, *BUTTONS) == {b: b in shown for b in BUTTONS}, state
        emergency = page.is_visible(tid("btn-emergency-110"))
        assert emergency == (state in ("talking", "hold")), state

    # 小休 shows its reason; the time in the state counts up from ``since``.
    play(desk, agent(people, "paused", seconds_ago=65, reason="training"))
    assert page.inner_text("[data-sp-reason]") == "(培训)"
    assert page.inner_text("[data-sp-timer]") in ("01:05", "01:06", "01:07")
    page.wait_for_function("document.querySelector('[data-sp-timer]').textContent >= '01:07'", timeout=4000)
    play(desk, agent(people, "paused", reason="login"))
    assert page.inner_text(tid("softphone-state")) == texts(desk)["states"]["login"]

    # Another agent's state (a supervisor's desk hears the wall) does not move this bar.
    other = agent(people, "talking")
    other["agent"]["agent_id"] = people.chen.pk
    play(desk, other)
    assert page.get_attribute(tid("softphone"), "data-state") == "paused"
    assert page.is_hidden(tid("switch-down"))


def test_the_buttons_send_their_commands(desk: BrowserSession, people: Any) -> None:
    page = desk.page
    play(desk, agent(people, "logged_out"))
    page.fill(tid("login-extension"), "8099")
    page.click(tid("btn-login"))
    assert last(desk, "login") == {"type": "cc", "action": "login", "extension": "8099"}

    play(desk, agent(people, "ready"))
    page.select_option(tid("pause-reason"), "training")
    page.click(tid("btn-pause"))
    assert last(desk, "pause") == {"type": "cc", "action": "pause", "reason": "training"}
    page.fill(tid("dial-number"), "02388886666")
    page.click(tid("btn-dial"))
    assert last(desk, "dial") == {"type": "cc", "action": "dial", "number": "02388886666"}

    play(desk, agent(people, "paused", reason="meal"))
    page.click(tid("btn-ready"))
    assert last(desk, "ready") == {"type": "cc", "action": "ready"}

    play(desk, agent(people, "ringing", call_id="call-1", caller=CALLER, queue="general"))
    page.click(tid("btn-answer"))
    assert last(desk, "answer") == {"type": "cc", "action": "answer"}

    play(desk, on_call(people))
    page.click(tid("btn-mute"))
    assert last(desk, "mute") == {"type": "cc", "action": "mute", "muted": True}
    page.click(tid("btn-mute"))
    assert last(desk, "mute")["muted"] is False
    page.click(tid("btn-hold"))
    assert last(desk, "hold") == {"type": "cc", "action": "hold"}
    page.click(tid("btn-emergency-120"))
    assert last(desk, "emergency") == {"type": "cc", "action": "emergency", "service": "120"}

    # Transfer: typed, or picked from the dialog's lists.
    page.click(tid("btn-transfer"))
    page.fill(tid("transfer-target"), "queue:general")
    page.click(tid("transfer-submit"))
    assert last(desk, "transfer") == {"type": "cc", "action": "transfer", "target": "queue:general"}
    assert page.is_hidden(tid("transfer-dialog"))
    page.click(tid("btn-transfer"))
    page.select_option(tid("transfer-agent"), str(people.chen.pk))
    assert page.input_value(tid("transfer-target")) == f"agent:{people.chen.pk}"
    page.click(tid("transfer-submit"))
    assert last(desk, "transfer")["target"] == f"agent:{people.chen.pk}"
    forget(desk)
    page.click(tid("btn-transfer"))
    page.click(tid("transfer-submit"))  # nothing chosen: the dialog says so, nothing is sent
    assert page.is_visible("[data-desk-dialog-error]") and sent(desk) == []
    page.click("[data-desk-dialog-cancel]")

    # Consult, then complete the transfer; the bar shows the consultation's own buttons meanwhile.
    page.click(tid("btn-consult"))
    page.fill(tid("transfer-target"), "tel:12319")
    page.click(tid("transfer-submit"))
    assert last(desk, "consult") == {"type": "cc", "action": "consult", "target": "tel:12319"}
    play(desk, on_call(people, "hold"))
    assert visible(desk, "btn-consult-complete", "btn-consult-cancel", "btn-transfer", "btn-unhold") == {
        "btn-consult-complete": True, "btn-consult-cancel": True, "btn-transfer": False, "btn-unhold": False,
    }  # fmt: skip
    page.click(tid("btn-consult-complete"))
    assert last(desk, "consult_complete") == {"type": "cc", "action": "consult_complete"}
    assert page.is_hidden(tid("btn-consult-complete"))

    page.click(tid("btn-conference"))
    page.fill(tid("transfer-target"), "023-6666")
    page.click(tid("transfer-submit"))
    assert last(desk, "conference") == {"type": "cc", "action": "conference", "number": "023-6666"}
    page.click(tid("btn-hangup"))
    assert last(desk, "hangup") == {"type": "cc", "action": "hangup"}
    page.check(tid("hangup-survey"))  # the caller is passed to the satisfaction survey
    page.click(tid("btn-hangup"))
    assert last(desk, "hangup") == {"type": "cc", "action": "hangup", "survey": True}
    assert not page.is_checked(tid("hangup-survey"))

    play(desk, agent(people, "locked"))
    page.click(tid("btn-unlock"))
    assert last(desk, "unlock") == {"type": "cc", "action": "unlock"}
    page.click(tid("btn-logout"))
    assert last(desk, "logout") == {"type": "cc", "action": "logout"}


def test_errors_show_in_a_dismissable_alert(desk: BrowserSession, people: Any) -> None:
    page = desk.page
    assert page.is_hidden(tid("desk-alert"))
    play(
        desk,
        {"type": "cc.error", "action": "transfer", "code": "not_ready", "message": "agent 7 is not ready"},
    )
    assert page.is_visible(tid("desk-alert"))
    assert page.inner_text("[data-desk-alert-text]") == texts(desk)["errors"]["not_ready"]
    page.click("[data-desk-alert-close]")
    assert page.is_hidden(tid("desk-alert"))
    play(desk, {"type": "cc.error", "action": "dial", "code": "no_such_code", "message": "线路忙"})
    assert page.inner_text("[data-desk-alert-text]") == "线路忙"
    page.click("[data-desk-alert-close]")

    # Errors answering another page of the same user (the wall) are not this page's business.
    play(desk, {"type": "cc.error", "action": "monitor", "code": "bad_state", "message": "x"})
    play(desk, {"type": "cc.error", "action": "ready", "code": "bad_state", "message": "x", "ref": "wall-3"})
    assert page.is_hidden(tid("desk-alert"))
    # An answer to this page's own command is shown.
    play(desk, agent(people, "paused", reason="meal"))
    page.click(tid("btn-ready"))
    ref = page.evaluate("window.__sent[window.__sent.length - 1].ref")
    play(desk, {"type": "cc.error", "action": "ready", "code": "bad_state", "message": "x", "ref": ref})
    assert page.inner_text("[data-desk-alert-text]") == texts(desk)["errors"]["bad_state"]


def test_no_answer_from_the_switch_within_3_s_is_shown_and_a_reconnection_asks_again(
    session: BrowserSession, desk_setup: Any, people: Any
) -> None:
    session.login("li", PASSWORD)
    session.goto("/callcenter/desk/")
    page = session.page
    page.wait_for_selector(tid("switch-down"), state="visible", timeout=6000)
    # The socket comes (back): the desk asks for its state at once, and the answer clears the notice.
    page.evaluate(RECORDER + "document.dispatchEvent(new CustomEvent('hotline:live-open'));")
    assert sent(session) == [{"type": "cc", "action": "state"}]
    play(
        session,
        {"type": "cc.state", "agent": agent(people, "ready")["agent"], "call": None, "pause_reasons": []},
    )
    assert page.is_hidden(tid("switch-down"))
    assert page.get_attribute(tid("softphone"), "data-state") == "ready"
    play(session, {"type": "cc.switch", "up": False, "kind": "sip"})
    assert page.is_visible(tid("switch-down"))


def test_an_offer_pops_the_callers_last_orders(desk: BrowserSession, people: Any, take: Any) -> None:
    first = take(title="夜间施工噪音扰民")
    second = take(title="路灯不亮")
    take(citizen_phone="13700000000", title="别人的工单")
    page = desk.page
    play(desk, agent(people, "ready"))
    assert page.is_hidden(tid("screen-pop"))
    offer = {
        "agent_id": people.li.pk, "call_id": "call-1", "caller": CALLER, "queue": "general",
        "marks": ["vip", "repeat"], "draft": {}, "data": {}, "wait_s": 12.4,
        "info": {"vip": True, "blacklisted": False, "whitelisted": False, "repeat_within_hours": 24},
    }  # fmt: skip
    play(desk, {"type": "cc.offer", "offer": offer})
    play(desk, agent(people, "ringing", call_id="call-1", caller=CALLER, queue="general"))
    assert page.is_visible(tid("screen-pop"))
    assert page.inner_text(tid("screen-pop-caller")) == CALLER
    marks = page.eval_on_selector_all("[data-mark]", "els => els.map(e => e.dataset.mark)")
    assert marks == ["vip", "repeat"]
    assert "12" in page.inner_text("[data-pop-wait]")
    panel = page.locator(tid("caller-panel"))
    panel.locator("[data-testid=caller-orders]").wait_for()
    text = panel.inner_text()
    assert first.number in text and second.number in text and "别人的工单" not in text
    assert page.input_value("#id_citizen_phone") == CALLER  # the intake form is pre-filled
    assert page.input_value("#id_citizen_name") == "王小明"  # from the caller's profile
    assert page.is_hidden(tid("draft-notice"))

    # Not answered: the pop goes away.
    play(desk, {"type": "cc.offer_ended", "agent_id": people.li.pk, "call_id": "call-1", "answered": False})
    assert page.is_hidden(tid("screen-pop"))
    desk.screenshot("desk_offer")


def test_typing_on_a_call_sends_the_draft(desk: BrowserSession, people: Any) -> None:
    page = desk.page
    play(desk, agent(people, "ready"))
    page.fill("#id_content", "不在通话中时输入")
    page.wait_for_timeout(800)
    assert [m for m in sent(desk) if m["action"] == "draft"] == []

    play(desk, on_call(people))
    forget(desk)
    page.fill("#id_citizen_phone", CALLER)
    page.fill("#id_content", "楼下餐馆油烟很大")
    page.type("#id_title", "餐馆油烟扰民")
    page.check("#id_anonymous")
    page.wait_for_function("window.__sent.some(m => m.action === 'draft' && m.draft.anonymous)")
    page.wait_for_timeout(700)
    drafts = [m for m in sent(desk) if m["action"] == "draft"]
    # Debounced: one message after the typing stopped, not one per key.
    assert 1 <= len(drafts) <= 2
    draft = drafts[-1]["draft"]
    assert draft["citizen_phone"] == CALLER
    assert draft["content"] == "楼下餐馆油烟很大"
    assert draft["title"] == "餐馆油烟扰民"
    assert draft["anonymous"] is True and draft["confidential"] is False
    assert draft["urgency"] == "normal" and draft["category"] == ""
    assert set(draft) >= {"citizen_name", "citizen_id_number", "request_type", "category_label", "region",
                          "region_label", "address", "complex_case", "direct_answer"}  # fmt: skip


def test_a_transferred_call_brings_its_draft_into_the_form(
    desk: BrowserSession, people: Any, tree: Any, city: Any
) -> None:
    page = desk.page
    play(desk, agent(people, "ready"))
    page.fill("#id_content", "上一通电话没保存的内容")
    draft = {
        "citizen_phone": CALLER, "citizen_name": "王小明", "citizen_id_number": "", "content": "工地夜间施工",
        "title": "夜间施工噪音", "request_type": tree.complaint.code, "category": tree.enforcement.code,
        "category_label": tree.enforcement.full_name, "region": city.east1.code,
        "region_label": "东区 / 东一街道",
        "address": "建设路12号", "urgency": "urgent", "anonymous": False, "confidential": True,
        "complex_case": True, "direct_answer": "",
    }  # fmt: skip
    offer = {"agent_id": people.li.pk, "call_id": "call-9", "caller": CALLER, "queue": "general",
             "marks": ["transferred"], "draft": draft, "data": {}, "wait_s": 3, "info": {}}  # fmt: skip
    play(desk, {"type": "cc.offer", "offer": offer})
    assert page.is_visible(tid("draft-notice"))
    assert page.input_value("#id_content") == "工地夜间施工"
    assert page.input_value("#id_title") == "夜间施工噪音"
    assert page.input_value("#id_address") == "建设路12号"
    assert page.is_checked(f"input[name=request_type][value={tree.complaint.code}]")
    assert page.is_checked("input[name=urgency][value=urgent]")
    assert page.is_checked("#id_confidential") and page.is_checked("#id_complex_case")
    assert not page.is_checked("#id_anonymous")
    assert page.input_value("input.picker-value[name=category]") == tree.enforcement.code
    assert page.input_value("#pick-category") == tree.enforcement.full_name
    assert page.input_value("input.picker-value[name=region]") == city.east1.code
    assert page.input_value("#pick-region") == "东区 / 东一街道"

    # Answered and saved: the order is taken in as the draft says, and linked to the call.
    play(desk, agent(people, "talking", call_id="call-9", caller=CALLER, queue="general"))
    forget(desk)
    page.click(tid("submit-dispatch"))
    page.wait_for_selector(tid("desk-done"))
    order = WorkOrder.objects.get()
    assert page.inner_text(f"{tid('desk-done')} {tid('tracking-number')}") == order.number
    assert (order.title, order.category, order.region, order.urgency) == (
        "夜间施工噪音", tree.enforcement, city.east1, "urgent",
    )  # fmt: skip
    assert order.confidential and order.complex_case
    assert last(desk, "link_order") == {"type": "cc", "action": "link_order", "number": order.number}
    # The call now carries the next, empty form; the caller's number stays for a second request.
    assert last(desk, "draft")["draft"]["content"] == ""
    assert page.input_value("#id_citizen_phone") == CALLER
    assert page.is_hidden(tid("draft-notice"))
    desk.screenshot("desk_saved")


def test_a_callback_is_claimed_then_dialled(session: BrowserSession, desk_setup: Any, people: Any) -> None:
    row = CallbackRequest.objects.create(
        call_id="c-1", caller="13600001111", queue="general", reason="abandoned",
        requested_at=timezone.now() - timedelta(minutes=5),
    )  # fmt: skip
    session.login("li", PASSWORD)
    session.page.add_init_script(RECORDER)
    session.goto("/callcenter/desk/")
    desk, page = session, session.page
    page.wait_for_selector(tid("callback-dial"))
    assert "136****1111" in page.inner_text(tid("callbacks"))
    play(desk, agent(people, "logged_out"))
    assert page.is_disabled(tid("callback-dial"))  # only from an idle state
    play(desk, agent(people, "ready"))
    page.click(tid("callback-dial"))
    page.wait_for_function("window.__sent.some(m => m.action === 'callback_dial')")
    assert last(desk, "callback_dial") == {
        "type": "cc", "action": "callback_dial", "callback_id": row.pk, "number": "13600001111",
    }  # fmt: skip
    row.refresh_from_db()
    assert row.claimed_by == people.li
    page.wait_for_selector(tid("callback-result-reached"))
    # The list reloads when the switch says it changed.
    CallbackRequest.objects.filter(pk=row.pk).update(state="done")
    play(desk, {"type": "cc.callbacks"})
    page.wait_for_selector(tid("callbacks-empty"))
