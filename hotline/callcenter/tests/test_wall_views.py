"""The supervisor wall, its figures of the day, and the test phone: who may open them, what the
pages hand their scripts, and today's queue figures against values computed by hand.

The figures' day is Saturday 21 November 2026 in Asia/Shanghai; "now" is 10:00 there (02:00 UTC).
Queues: GENERAL (service level 20 s) and COMPLAINT (15 s); the centre's short abandon is 5 s.

    c0  GENERAL    entered 23:59:30 the day before, answered after 10 s     — yesterday: left out
    c7  GENERAL    entered 00:00:30 (16:00:30 UTC the day before), answered after 5 s
    c1  GENERAL    entered 09:00:00, answered after 10 s
    c2  GENERAL    entered 09:10:00, answered after 30 s (outside the service level)
    c3  GENERAL    entered 09:20:00, abandoned after 40 s
    c4  GENERAL    entered 09:30:00, abandoned after 3 s (short)
    c5  COMPLAINT  entered 09:40:00, answered after 5 s
    c6  GENERAL    entered 09:50:00, still waiting

GENERAL: offered 6, answered 3 (2 within 20 s), abandoned 1 (+1 short), service level 2 / (6 − 1)
= 40.0 %, ASA (5 + 10 + 30) / 3 = 15.0 s. COMPLAINT: 1, 1, 0, 100.0 %, 5.0 s. All queues: 7, 4, 1,
3 / (7 − 1) = 50.0 %, 50 / 4 = 12.5 s. Call records of the day (inbound): c1, c2, c5, c7 answered,
c3 abandoned, c8 ended in the IVR = 6; an outbound call and yesterday's c0 are not counted.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from hotline.callcenter import records as r
from hotline.callcenter.models import (
    AgentProfile,
    CallRecord,
    HotlineNumber,
    IvrFlow,
    ListEntry,
    PauseReason,
    Queue,
    QueueEventLog,
    QueueMembership,
    Seat,
)

pytestmark = pytest.mark.django_db

CST = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=CST)
URLS = ["callcenter:wall", "callcenter:wall_stats", "callcenter:phone"]


def cst(h: int, m: int, s: int = 0, day: int = 21) -> datetime:
    return datetime(2026, 11, day, h, m, s, tzinfo=CST)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def block_of(html: str, testid: str, tag: str = "tr") -> str:
    """The inner HTML of the element ``<tag data-testid="…">`` (not nested in its own kind)."""
    match = re.search(rf'<{tag}[^>]*data-testid="{re.escape(testid)}"[^>]*>(.*?)</{tag}>', html, re.S)
    assert match, f"no <{tag}> with data-testid={testid!r}"
    return match.group(1)


def cell(block: str, testid: str) -> str:
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</', block, re.S)
    assert match, f"no cell {testid!r}"
    return re.sub(r"\s+", " ", match.group(1)).strip()


def json_config(html: str, element_id: str) -> dict[str, Any]:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"no json_script {element_id!r}"
    return json.loads(match.group(1))


@pytest.fixture(autouse=True)
def _no_shared_figures() -> None:
    """Today's figures are shared between screens for a few seconds: each test computes its own."""
    cache.clear()


@pytest.fixture
def queues(db: Any) -> dict[str, Queue]:
    return {
        "GENERAL": Queue.objects.create(code="GENERAL", name="综合受理", service_level_s=20),
        "COMPLAINT": Queue.objects.create(code="COMPLAINT", name="投诉举报", service_level_s=15),
        "OLD": Queue.objects.create(code="OLD", name="停用队列", active=False),
    }


# --- Who may open them ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", URLS)
def test_supervisor_opens_each_page(people: Any, queues: Any, name: str) -> None:
    response = client_for(people.chen).get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize("name", URLS)
@pytest.mark.parametrize("person", ["li", "ma", "wang"])
def test_others_are_refused(people: Any, name: str, person: str) -> None:
    response = client_for(getattr(people, person)).get(reverse(name))
    assert response.status_code == 403


@pytest.mark.parametrize("name", URLS)
def test_anonymous_goes_to_login(db: Any, name: str) -> None:
    url = reverse(name)
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert url in response["Location"]


# --- What the wall hands its script ---------------------------------------------------------------------


def test_wall_config_lists_active_queues_members_reasons_and_own_seat(people: Any, queues: Any) -> None:
    QueueMembership.objects.create(queue=queues["GENERAL"], agent=people.li, level=4)
    QueueMembership.objects.create(queue=queues["COMPLAINT"], agent=people.chen, level=5)
    QueueMembership.objects.create(queue=queues["OLD"], agent=people.li, level=1)
    PauseReason.objects.create(code="meal", name="就餐", sort_order=1)
    PauseReason.objects.create(code="rest", name="休息", sort_order=0)
    PauseReason.objects.create(code="gone", name="停用", active=False)
    seat = Seat.objects.create(extension="8101", name="班长席")
    AgentProfile.objects.create(user=people.chen, default_seat=seat)

    html = client_for(people.chen).get(reverse("callcenter:wall")).content.decode()
    config = json_config(html, "wall-config")
    assert [q["code"] for q in config["queues"]] == ["COMPLAINT", "GENERAL"]
    assert {q["code"]: q["service_level_s"] for q in config["queues"]} == {"COMPLAINT": 15, "GENERAL": 20}
    assert config["members"] == {"GENERAL": [people.li.pk], "COMPLAINT": [people.chen.pk]}
    assert [p["code"] for p in config["pause_reasons"]] == ["rest", "meal"]
    assert set(config["states"]) == set(r.AGENT_STATES)
    assert config["state_order"][0] == r.AGENT_READY
    # the supervisor's extension field is prefilled with their default seat
    field = re.search(r'<input[^>]*data-testid="monitor-extension"[^>]*>', html)
    assert field and 'value="8101"' in field.group(0)
    for testid in (
        "wall-agents",
        "wall-queues",
        "wall-stats",
        "switch-down",
        "wall-alert",
        "wall-fullscreen",
    ):
        assert f'data-testid="{testid}"' in html
    # the rows the script clones carry every action button
    for testid in ("btn-listen", "btn-whisper", "btn-barge", "btn-release", "btn-force-pause"):
        assert f'data-testid="{testid}"' in html
    assert 'data-testid="btn-force-logout"' in html and 'data-testid="btn-unlock"' in html


def test_wall_extension_empty_without_a_seat(people: Any, queues: Any) -> None:
    AgentProfile.objects.create(user=people.chen)
    html = client_for(people.chen).get(reverse("callcenter:wall")).content.decode()
    field = re.search(r'<input[^>]*data-testid="monitor-extension"[^>]*>', html)
    assert field and 'value=""' in field.group(0)


# --- Today's figures --------------------------------------------------------------------------------


@pytest.fixture
def day(people: Any, queues: Any) -> None:
    """The scripted day of the module docstring."""
    li = people.li.pk

    def visit(call: str, queue: str, entered: datetime, end_kind: str | None, wait_s: float) -> None:
        QueueEventLog.objects.create(kind=r.QE_ENTER, at=entered, queue=queue, call_id=call, position=1)
        if end_kind:
            agent = li if end_kind == r.QE_CONNECT else None
            QueueEventLog.objects.create(
                kind=end_kind,
                at=entered + timedelta(seconds=wait_s),
                queue=queue,
                call_id=call,
                agent_id=agent,
            )

    visit("c0", "GENERAL", cst(23, 59, 30, day=20), r.QE_CONNECT, 10)
    visit("c7", "GENERAL", cst(0, 0, 30), r.QE_CONNECT, 5)
    visit("c1", "GENERAL", cst(9, 0), r.QE_CONNECT, 10)
    visit("c2", "GENERAL", cst(9, 10), r.QE_CONNECT, 30)
    visit("c3", "GENERAL", cst(9, 20), r.QE_ABANDON, 40)
    visit("c4", "GENERAL", cst(9, 30), r.QE_ABANDON, 3)
    visit("c5", "COMPLAINT", cst(9, 40), r.QE_CONNECT, 5)
    visit("c6", "GENERAL", cst(9, 50), None, 0)

    def cdr(call: str, start: datetime, outcome: str, direction: str = "inbound") -> None:
        CallRecord.objects.create(
            call_id=call, direction=direction, caller="13800990001", called="12345", started_at=start,
            ended_at=start + timedelta(minutes=3), outcome=outcome,
        )  # fmt: skip

    cdr("c0", cst(23, 59, 30, day=20), r.OUTCOME_ANSWERED)
    cdr("c7", cst(0, 0, 30), r.OUTCOME_ANSWERED)
    cdr("c1", cst(9, 0), r.OUTCOME_ANSWERED)
    cdr("c2", cst(9, 10), r.OUTCOME_ANSWERED)
    cdr("c3", cst(9, 20), r.OUTCOME_ABANDONED)
    cdr("c5", cst(9, 40), r.OUTCOME_ANSWERED)
    cdr("c8", cst(9, 45), r.OUTCOME_IVR)
    cdr("o1", cst(9, 46), r.OUTCOME_OUTBOUND, direction="outbound")


def stats_html(client: Client, query: str = "") -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("callcenter:wall_stats") + query)
    assert response.status_code == 200
    return response.content.decode()


def row_figures(html: str, testid: str) -> dict[str, str]:
    block = block_of(html, testid)
    return {name: cell(block, f"stat-{name}") for name in ("offered", "answered", "abandoned", "sl", "asa")}


def test_wall_stats_counts_today_by_queue_and_in_total(people: Any, day: None) -> None:
    html = stats_html(client_for(people.chen))
    general = row_figures(html, "stats-GENERAL")
    assert general["offered"] == "6"
    assert general["answered"] == "3"
    assert general["abandoned"].startswith("1") and "+1" in general["abandoned"]  # one short abandon apart
    assert general["sl"] == "40.0%"
    assert general["asa"] == "15.0"
    assert row_figures(html, "stats-COMPLAINT") == {
        "offered": "1", "answered": "1", "abandoned": "0", "sl": "100.0%", "asa": "5.0",
    }  # fmt: skip
    total = row_figures(html, "stats-total")
    assert (total["offered"], total["answered"], total["sl"], total["asa"]) == ("7", "4", "50.0%", "12.5")
    assert cell(html, "stats-calls-total") == "6"
    assert cell(html, "stats-calls-answered") == "4"
    assert cell(html, "stats-calls-abandoned") == "1"
    assert cell(html, "stats-calls-ivr") == "1"
    # the part reloads itself every 10 s from the same address
    head = re.search(r'<section[^>]*data-testid="wall-stats"[^>]*>', html)
    assert head and 'hx-trigger="every 10s"' in head.group(0)
    assert f'hx-get="{reverse("callcenter:wall_stats")}"' in head.group(0)


def test_wall_stats_just_before_midnight_leaves_out_the_next_day(people: Any, day: None) -> None:
    """At 23:59:59 on the 20th only c0 is of that day."""
    with time_machine.travel(cst(23, 59, 59, day=20), tick=False):
        html = client_for(people.chen).get(reverse("callcenter:wall_stats")).content.decode()
    general = row_figures(html, "stats-GENERAL")
    assert (general["offered"], general["answered"], general["sl"], general["asa"]) == (
        "1",
        "1",
        "100.0%",
        "10.0",
    )
    assert cell(html, "stats-calls-total") == "1"


def test_wall_stats_without_calls_shows_dashes(people: Any, queues: Any) -> None:
    html = stats_html(client_for(people.chen))
    assert row_figures(html, "stats-GENERAL") == {
        "offered": "0", "answered": "0", "abandoned": "0", "sl": "—", "asa": "—",
    }  # fmt: skip
    assert 'data-testid="stats-OLD"' not in html  # an inactive queue without calls is left out


def test_wall_stats_for_one_queue(people: Any, day: None) -> None:
    html = stats_html(client_for(people.chen), "?queue=COMPLAINT")
    assert row_figures(html, "stats-COMPLAINT")["offered"] == "1"
    assert 'data-testid="stats-GENERAL"' not in html
    assert 'data-testid="stats-total"' not in html
    head = re.search(r'<section[^>]*data-testid="wall-stats"[^>]*>', html)
    assert head and "?queue=COMPLAINT" in head.group(0)  # the next reload keeps the queue


def test_wall_stats_are_shared_for_a_few_seconds(people: Any, day: None) -> None:
    client = client_for(people.chen)
    assert row_figures(stats_html(client), "stats-GENERAL")["offered"] == "6"
    QueueEventLog.objects.create(kind=r.QE_ENTER, at=cst(9, 55), queue="GENERAL", call_id="c9")
    assert row_figures(stats_html(client), "stats-GENERAL")["offered"] == "6"  # the same figures
    with time_machine.travel(NOW + timedelta(seconds=6), tick=False):
        html = client.get(reverse("callcenter:wall_stats")).content.decode()
    assert row_figures(html, "stats-GENERAL")["offered"] == "7"
    # a queue's figures are kept apart from all queues'
    assert row_figures(stats_html(client, "?queue=GENERAL"), "stats-GENERAL")["offered"] == "7"


ODD_QUERIES = [
    "?queue=%00",
    "?queue=NOPE",
    "?queue=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "?queue=GENERAL&queue=%00",
    "?queue[]=GENERAL",
    "?queue=" + "X" * 5000,
    "?queue=%E7%BB%BC%E5%90%88",
    "?%ff=%fe&queue=%ff",
    "?page=-1&state=%00&agent=abc",
]


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_wall_stats_ignores_odd_queries(people: Any, day: None, query: str) -> None:
    html = stats_html(client_for(people.chen), query)
    # an unknown or broken queue is ignored: every queue is shown
    assert row_figures(html, "stats-GENERAL")["offered"] == "6"
    assert 'data-testid="stats-total"' in html
    assert "<script>alert" not in html


@pytest.mark.parametrize("name", ["callcenter:wall", "callcenter:phone"])
@pytest.mark.parametrize("query", ODD_QUERIES)
def test_pages_ignore_odd_queries(people: Any, queues: Any, name: str, query: str) -> None:
    response = client_for(people.chen).get(reverse(name) + query)
    assert response.status_code == 200


# --- The test phone --------------------------------------------------------------------------------


@pytest.fixture
def numbers(db: Any) -> None:
    flow = IvrFlow.objects.create(code="MAIN", name="主流程", definition={"start": "q", "nodes": {}})
    HotlineNumber.objects.create(number="12345", name="12345 热线", flow=flow)
    HotlineNumber.objects.create(number="099912345", name="直通人工", flow=flow)
    HotlineNumber.objects.create(number="96000", name="已停用", flow=flow, active=False)


def test_phone_lists_active_numbers_and_a_default_caller(people: Any, numbers: None) -> None:
    html = client_for(people.chen).get(reverse("callcenter:phone")).content.decode()
    select = block_of(html, "phone-called", tag="select")
    assert re.findall(r'<option value="([^"]*)"', select) == ["099912345", "12345"]
    caller = re.search(r'<input[^>]*data-testid="phone-caller"[^>]*>', html)
    assert caller and 'value="13800138000"' in caller.group(0)
    for key in [*"0123456789", "star", "hash"]:
        assert f'data-testid="key-{key}"' in html
    for testid in ("phone-dial", "phone-hangup", "phone-state", "phone-playing", "phone-hears", "phone-log"):
        assert f'data-testid="{testid}"' in html
    config = json_config(html, "phone-config")
    names = config["prompts"]["names"]
    for prompt in ("welcome", "main_menu", "enter_number", "goodbye", "leave_message", "moh"):
        assert names[prompt] and names[prompt] != prompt
    assert set(config["prompts"]["families"]) >= {"status", "position", "wait_minutes"}
    assert config["prompts"]["order_states"]["handling"]


def test_phone_calls_from_a_demo_citizen_when_there_is_one(people: Any, numbers: None) -> None:
    from hotline.citizens.models import Citizen
    from hotline.core.demo import CITIZENS

    name, phone, _address, _region = CITIZENS[1]
    Citizen.objects.create(name=name, phone=phone)
    ListEntry.objects.create(kind="vip", number="13700001111", reason="市人大代表")
    html = client_for(people.chen).get(reverse("callcenter:phone")).content.decode()
    caller = re.search(r'<input[^>]*data-testid="phone-caller"[^>]*>', html)
    assert caller and f'value="{phone}"' in caller.group(0)
    datalist = re.search(r'<datalist id="phone-callers">(.*?)</datalist>', html, re.S)
    assert datalist
    options = re.findall(r'<option value="([^"]*)"', datalist.group(1))
    assert options == [phone, "13700001111"]


def test_phone_page_keeps_music_names_of_queues(people: Any, numbers: None) -> None:
    Queue.objects.create(code="GENERAL", name="综合受理", music="spring")
    html = client_for(people.chen).get(reverse("callcenter:phone")).content.decode()
    names = json_config(html, "phone-config")["prompts"]["names"]
    assert names["spring"] == names["moh"]


# --- The supervisor's home page ------------------------------------------------------------------------


def test_supervisor_home_links_to_wall_and_phone(people: Any) -> None:
    html = client_for(people.chen).get(reverse("core:home")).content.decode()
    wall = re.search(r'<a[^>]*data-testid="home-wall"[^>]*>', html)
    phone = re.search(r'<a[^>]*data-testid="home-phone"[^>]*>', html)
    assert wall and f'href="{reverse("callcenter:wall")}"' in wall.group(0)
    assert phone and f'href="{reverse("callcenter:phone")}"' in phone.group(0)
