"""The supervisor wall and the test phone in a real browser, driven at the protocol boundary.

pytest-django's live server has no websockets, so each test replaces the page's socket
(``window.hotlineLive``) with a recorder of what the page sends, and plays the switch's side by
dispatching ``hotline:live`` events with the messages of docs/desktop.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conftest import PASSWORD
from hotline.core.tests.conftest import BrowserSession

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

RECORDER = """() => {
  window.__sent = [];
  window.hotlineLive = {
    send: (message) => { window.__sent.push(JSON.parse(JSON.stringify(message))); return true; },
    isOpen: () => true,
  };
  document.dispatchEvent(new CustomEvent("hotline:live-open"));
}"""
INJECT = "(message) => document.dispatchEvent(new CustomEvent('hotline:live', { detail: message }))"


def connect(session: BrowserSession) -> None:
    session.page.evaluate(RECORDER)


def inject(session: BrowserSession, message: dict[str, Any]) -> None:
    session.page.evaluate(INJECT, message)


def sent(session: BrowserSession, action: str | None = None) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = session.page.evaluate("() => window.__sent")
    return [m for m in messages if action is None or m.get("action") == action]


def ago(seconds: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()


def tid(name: str) -> str:
    return f"[data-testid='{name}']"


# --- The wall ----------------------------------------------------------------------------------------


@pytest.fixture
def centre(people: Any) -> dict[str, Any]:
    from django.core.cache import cache

    from hotline.callcenter.models import AgentProfile, PauseReason, Queue, QueueMembership, Seat

    cache.clear()  # today's figures are shared between screens for a few seconds
    general = Queue.objects.create(code="GENERAL", name="综合受理", service_level_s=20)
    Queue.objects.create(code="COMPLAINT", name="投诉举报", service_level_s=15)
    QueueMembership.objects.create(queue=general, agent=people.li, level=4)
    PauseReason.objects.create(code="rest", name="休息", sort_order=0)
    PauseReason.objects.create(code="meal", name="就餐", sort_order=1)
    seat = Seat.objects.create(extension="8101", name="班长席")
    AgentProfile.objects.create(user=people.chen, default_seat=seat)
    return {"li": people.li.pk, "zhou": people.zhou.pk}


def agent(agent_id: int, name: str, ext: str, state: str, **extra: Any) -> dict[str, Any]:
    data = {
        "agent_id": agent_id, "name": name, "extension": ext, "state": state, "since": ago(65),
        "reason": "", "call_id": "", "caller": "", "queue": "", "calls": 0, "no_answers_in_row": 0,
    }  # fmt: skip
    data.update(extra)
    return data


def snapshot(centre: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "cc.wall",
        "agents": [
            agent(centre["li"], "李晓", "8001", "talking", call_id="C1", caller="13800990001",
                  queue="GENERAL", calls=7),
            agent(centre["zhou"], "周敏", "8002", "ready", calls=3),
            agent(9901, "王五", "8003", "locked", no_answers_in_row=3),
        ],
        "queues": [
            {"code": "GENERAL", "name": "综合受理", "waiting": 1, "longest_wait_since": ago(42), "ready": 1,
             "staffed": 3},
            {"code": "COMPLAINT", "name": "投诉举报", "waiting": 0, "longest_wait_since": None, "ready": 0,
             "staffed": 0},
        ],
        "waiting": {"GENERAL": [{"call_id": "C9", "caller": "13700001111", "since": ago(42)}]},
    }  # fmt: skip


def open_wall(session: BrowserSession, centre: dict[str, Any]) -> Any:
    session.login("chen", PASSWORD)
    session.goto("/callcenter/wall/")
    connect(session)
    page = session.page
    page.wait_for_function("() => window.__sent.some((m) => m.action === 'wall')")
    assert sent(session, "wall") == [{"type": "cc", "action": "wall"}]
    inject(session, snapshot(centre))
    page.wait_for_selector(tid(f"agent-{centre['li']}"))
    return page


def state_label(session: BrowserSession, state: str) -> str:
    label: str = session.page.evaluate(
        "(s) => JSON.parse(document.getElementById('wall-config').textContent).states[s]", state
    )
    return label


def test_wall_renders_the_snapshot_and_live_updates(session: BrowserSession, centre: dict[str, Any]) -> None:
    page = open_wall(session, centre)
    li = page.locator(tid(f"agent-{centre['li']}"))
    assert li.locator(tid("agent-state")).inner_text().strip() == state_label(session, "talking")
    assert li.locator(tid("agent-state")).get_attribute("data-state") == "talking"
    assert li.locator(tid("agent-calls")).inner_text() == "7"
    assert "13800990001" in li.inner_text() and "综合受理" in li.inner_text()
    # time in state counts up from ``since`` (65 s ago)
    timer = li.locator("[data-f=time]")
    first = timer.inner_text()
    assert first.startswith("01:0"), first
    page.wait_for_function(
        "([row, old]) => document.querySelector(row).querySelector('[data-f=time]').textContent !== old",
        arg=[tid(f"agent-{centre['li']}"), first],
        timeout=3000,
    )
    assert timer.inner_text() > first
    # the queue row and its waiting call
    general = page.locator(tid("queue-GENERAL"))
    assert general.locator(tid("queue-waiting")).inner_text() == "1"
    assert general.locator(tid("queue-longest")).inner_text().startswith("00:4")
    # waiting longer than the queue's service level (20 s): the longest wait is marked
    assert "wall-over" in (general.locator(tid("queue-longest")).get_attribute("class") or "")
    assert general.locator(tid("queue-agents")).inner_text().replace(" ", "") == "1/3"
    assert page.locator(tid("queue-COMPLAINT")).locator(tid("queue-longest")).inner_text() == "—"
    assert "13700001111" in page.locator(tid("waiting-C9")).inner_text()
    # the placeholders of an empty wall are gone
    assert not page.locator("[data-agents-empty]").is_visible()
    assert not page.locator("[data-waiting-empty]").is_visible()
    # summary counts per state
    assert page.locator(tid("summary-talking")).locator("[data-count]").inner_text() == "1"
    assert page.locator(tid("summary-ready")).locator("[data-count]").inner_text() == "1"
    assert page.locator(tid("summary-all")).locator("[data-count]").inner_text() == "3"
    # unlock only for the locked agent; monitoring only for the agent on a call
    locked = page.locator(tid("agent-9901"))
    assert locked.locator(tid("btn-unlock")).is_enabled()
    assert not locked.locator(tid("btn-listen")).is_enabled()
    assert li.locator(tid("btn-listen")).is_enabled()
    assert not li.locator(tid("btn-unlock")).is_visible()
    assert not page.locator(tid("switch-down")).is_visible()
    session.screenshot("wall_snapshot")

    # cc.agent: Li's call ends, wrap-up
    inject(session, {"type": "cc.agent", "agent": agent(centre["li"], "李晓", "8001", "wrap_up", calls=8)})
    state = li.locator(tid("agent-state"))
    assert state.get_attribute("data-state") == "wrap_up"
    assert state.inner_text().strip() == state_label(session, "wrap_up")
    assert li.locator(tid("agent-calls")).inner_text() == "8"
    assert not li.locator(tid("btn-listen")).is_enabled()
    assert page.locator(tid("summary-talking")).locator("[data-count]").inner_text() == "0"
    # cc.queue: the waiting call was answered; the page asks for a fresh snapshot for the list
    inject(
        session,
        {"type": "cc.queue", "queue": {"code": "GENERAL", "name": "综合受理", "waiting": 0,
                                       "longest_wait_since": None, "ready": 0, "staffed": 3}},
    )  # fmt: skip
    assert general.locator(tid("queue-waiting")).inner_text() == "0"
    page.wait_for_function("() => window.__sent.filter((m) => m.action === 'wall').length === 2")


def test_wall_filters_by_queue_and_state(session: BrowserSession, centre: dict[str, Any]) -> None:
    page = open_wall(session, centre)
    page.select_option(tid("filter-state"), "ready")
    assert page.locator(tid(f"agent-{centre['zhou']}")).is_visible()
    assert not page.locator(tid(f"agent-{centre['li']}")).is_visible()
    page.select_option(tid("filter-state"), "")
    page.select_option(tid("filter-queue"), "GENERAL")  # Li is its only member
    assert page.locator(tid(f"agent-{centre['li']}")).is_visible()
    assert not page.locator(tid(f"agent-{centre['zhou']}")).is_visible()
    assert page.locator(tid("summary-all")).locator("[data-count]").inner_text() == "1"
    # the figures of the day follow the queue filter
    page.wait_for_function(
        "(sel) => document.querySelector(sel).getAttribute('data-queue') === 'GENERAL'", arg=tid("wall-stats")
    )
    assert page.locator(tid("stats-GENERAL")).count() == 1
    assert page.locator(tid("stats-COMPLAINT")).count() == 0


def test_wall_actions_send_the_protocol(session: BrowserSession, centre: dict[str, Any]) -> None:
    page = open_wall(session, centre)
    li = page.locator(tid(f"agent-{centre['li']}"))
    # monitoring from the prefilled extension, then from another one
    assert page.input_value(tid("monitor-extension")) == "8101"
    li.locator(tid("btn-listen")).click()
    page.fill(tid("monitor-extension"), "8002")
    li.locator(tid("btn-whisper")).click()
    li.locator(tid("btn-barge")).click()
    monitors = [(m["agent_id"], m["mode"], m["extension"]) for m in sent(session, "monitor")]
    assert monitors == [
        (centre["li"], "listen", "8101"), (centre["li"], "whisper", "8002"), (centre["li"], "barge", "8002"),
    ]  # fmt: skip
    assert all(m["type"] == "cc" and m["ref"] for m in sent(session, "monitor"))
    # the monitoring leg is shown with its end button
    inject(session, {"type": "cc.monitoring", "leg_id": "S7", "agent_id": centre["li"], "mode": "listen"})
    assert page.locator(tid("wall-monitoring")).is_visible()
    assert "李晓" in page.locator(tid("wall-monitoring")).inner_text()
    page.click(tid("monitor-end"))
    assert sent(session, "monitor_end")[0]["leg_id"] == "S7"
    assert not page.locator(tid("wall-monitoring")).is_visible()

    # force release only after confirming
    page.once("dialog", lambda dialog: dialog.dismiss())
    li.locator(tid("btn-release")).click()
    assert sent(session, "force_release") == []
    page.once("dialog", lambda dialog: dialog.accept())
    li.locator(tid("btn-release")).click()
    assert [m["agent_id"] for m in sent(session, "force_release")] == [centre["li"]]

    # force pause with the chosen reason, force sign-out, unlock
    zhou = page.locator(tid(f"agent-{centre['zhou']}"))
    page.select_option(tid("force-pause-reason"), "meal")
    messages: list[str] = []
    page.once("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    zhou.locator(tid("btn-force-pause")).click()
    assert [(m["agent_id"], m["reason"]) for m in sent(session, "force_pause")] == [(centre["zhou"], "meal")]
    assert "周敏" in messages[0] and "就餐" in messages[0]
    page.once("dialog", lambda dialog: dialog.accept())
    zhou.locator(tid("btn-force-logout")).click()
    assert [m["agent_id"] for m in sent(session, "force_logout")] == [centre["zhou"]]
    page.locator(tid("agent-9901")).locator(tid("btn-unlock")).click()
    assert [m["agent_id"] for m in sent(session, "unlock")] == [9901]

    # take: the waiting call goes to the ready agent picked
    waiting = page.locator(tid("waiting-C9"))
    assert waiting.locator(tid("take-agent")).input_value() == str(centre["zhou"])
    waiting.locator(tid("btn-take")).click()
    assert [(m["call_id"], m["agent_id"]) for m in sent(session, "take")] == [("C9", centre["zhou"])]

    # an error from the switch shows in the alert; one for another page of the user does not
    inject(
        session, {"type": "cc.error", "action": "answer", "code": "no_call", "message": "", "ref": "desk-1"}
    )
    inject(session, {"type": "cc.error", "action": "hold", "code": "no_call", "message": ""})
    assert not page.locator(tid("wall-alert")).is_visible()
    ref = sent(session, "take")[0]["ref"]
    inject(session, {"type": "cc.error", "action": "take", "code": "not_ready", "message": "x", "ref": ref})
    alert = page.locator(tid("wall-alert"))
    assert alert.is_visible()
    expected = page.evaluate("() => JSON.parse(document.getElementById('wall-config').textContent).texts")
    assert expected["errors"]["not_ready"] in alert.inner_text()
    assert expected["actions"]["take"] in alert.inner_text()


def test_wall_says_when_the_switch_does_not_answer(session: BrowserSession, centre: dict[str, Any]) -> None:
    session.login("chen", PASSWORD)
    session.goto("/callcenter/wall/")
    connect(session)
    page = session.page
    down = page.locator(tid("switch-down"))
    down.wait_for(state="visible", timeout=5000)
    inject(session, snapshot(centre))
    assert not down.is_visible()
    inject(session, {"type": "cc.switch", "up": False, "kind": "simulated"})
    assert down.is_visible()


def test_wall_large_display(session: BrowserSession, centre: dict[str, Any]) -> None:
    page = open_wall(session, centre)
    page.click(tid("wall-fullscreen"))
    assert page.evaluate("() => document.body.classList.contains('wall-large')")
    assert not page.locator(".sidenav").is_visible()
    session.screenshot("wall_large")
    page.click(tid("wall-fullscreen"))
    assert not page.evaluate("() => document.body.classList.contains('wall-large')")


# --- The test phone --------------------------------------------------------------------------------------


@pytest.fixture
def numbers(people: Any) -> None:
    from hotline.callcenter.models import HotlineNumber, IvrFlow

    flow = IvrFlow.objects.create(code="MAIN", name="主流程", definition={"start": "q", "nodes": {}})
    HotlineNumber.objects.create(number="12345", name="12345 热线", flow=flow)
    HotlineNumber.objects.create(number="099912345", name="直通人工", flow=flow)


def phone_message(leg: str, state: str, playing: list[str], hears: list[str]) -> dict[str, Any]:
    return {
        "type": "cc.phone", "leg_id": leg, "call_id": "C-" + leg, "caller": "13800138000", "called": "12345",
        "state": state, "playing": playing, "hears": hears,
    }  # fmt: skip


def prompt_labels(session: BrowserSession) -> dict[str, Any]:
    labels: dict[str, Any] = session.page.evaluate(
        "() => JSON.parse(document.getElementById('phone-config').textContent).prompts"
    )
    return labels


def test_phone_places_a_call_presses_keys_and_shows_prompts(session: BrowserSession, numbers: None) -> None:
    session.login("chen", PASSWORD)
    session.goto("/callcenter/phone/")
    connect(session)
    page = session.page
    labels = prompt_labels(session)
    assert page.input_value(tid("phone-caller")) == "13800138000"
    assert page.locator(tid("key-1")).is_disabled()
    page.select_option(tid("phone-called"), "12345")
    page.click(tid("phone-dial"))
    calls = sent(session, "phone_call")
    assert [(m["caller"], m["called"]) for m in calls] == [("13800138000", "12345")]
    assert page.locator(tid("phone-state")).get_attribute("data-state") == "dialing"

    inject(session, phone_message("L1", "answered", ["welcome", "main_menu"], []))
    assert page.locator(tid("phone-state")).get_attribute("data-state") == "answered"
    playing = page.locator(tid("phone-playing"))
    assert playing.locator("li").all_inner_texts() == [
        labels["names"]["welcome"],
        labels["names"]["main_menu"],
    ]

    page.click(tid("key-1"))
    page.click("body")
    page.keyboard.press("2")
    page.keyboard.press("#")
    page.click(tid("key-star"))
    presses = [(m["leg_id"], m["keys"]) for m in sent(session, "phone_press")]
    assert presses == [("L1", "1"), ("L1", "2"), ("L1", "#"), ("L1", "*")]

    # prompt families get their numbers; an unknown prompt is shown as it is
    inject(session, phone_message("L1", "answered", ["position:3", "wait_minutes:2", "jingle_x"], []))
    texts = playing.locator("li").all_inner_texts()
    assert texts[0] == labels["families"]["position"].replace("%(value)s", "3")
    assert texts[1] == labels["families"]["wait_minutes"].replace("%(value)s", "2")
    assert texts[2] == "jingle_x"
    inject(session, phone_message("L1", "answered", ["status:handling"], []))
    assert playing.inner_text().strip() == labels["families"]["status"].replace(
        "%(value)s", labels["order_states"]["handling"]
    )
    inject(session, phone_message("L1", "answered", [], ["agent:李晓"]))
    assert "李晓" in page.locator(tid("phone-hears")).inner_text()
    log = page.locator(tid("phone-log")).inner_text()
    assert labels["names"]["welcome"] in log and "李晓" in log and "#" in log
    session.screenshot("test_phone")

    # hang up; the next call gets a new leg and the keys go with it
    page.click(tid("phone-hangup"))
    assert [m["leg_id"] for m in sent(session, "phone_hangup")] == ["L1"]
    inject(session, phone_message("L1", "ended", [], []))
    assert page.locator(tid("phone-state")).get_attribute("data-state") == "ended"
    assert page.locator(tid("key-1")).is_disabled()
    page.fill(tid("phone-caller"), "13700001111")
    page.select_option(tid("phone-called"), "099912345")
    page.click(tid("phone-dial"))
    assert [(m["caller"], m["called"]) for m in sent(session, "phone_call")][-1] == (
        "13700001111",
        "099912345",
    )
    inject(session, phone_message("L1", "ended", ["goodbye"], []))  # late news of the old call: ignored
    assert page.locator(tid("phone-state")).get_attribute("data-state") == "dialing"
    inject(session, phone_message("L2", "ringing", [], []))
    page.click(tid("key-9"))
    assert [(m["leg_id"], m["keys"]) for m in sent(session, "phone_press")][-1] == ("L2", "9")


def test_phone_without_an_answer_says_the_switch_is_down(session: BrowserSession, numbers: None) -> None:
    session.login("chen", PASSWORD)
    session.goto("/callcenter/phone/")
    connect(session)
    page = session.page
    page.click(tid("phone-dial"))
    page.locator(tid("switch-down")).wait_for(state="visible", timeout=5000)
    assert page.locator(tid("phone-state")).get_attribute("data-state") == "idle"
    assert page.locator(tid("phone-dial")).is_enabled()
    # an error about the call shows in the alert
    page.click(tid("phone-dial"))
    ref = sent(session, "phone_call")[-1]["ref"]
    inject(
        session, {"type": "cc.error", "action": "phone_call", "code": "bad_value", "message": "", "ref": ref}
    )
    assert page.locator(tid("wall-alert")).is_visible()
    assert page.locator(tid("phone-dial")).is_enabled()
