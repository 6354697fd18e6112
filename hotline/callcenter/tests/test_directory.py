"""``DjangoDirectory``: lists with expiry, the caller's district, last agent and repeat callers, the
calendar period and the order status prompt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hotline.callcenter import records as r
from hotline.callcenter.directory import DjangoDirectory
from hotline.callcenter.models import CallRecord, ListEntry
from hotline.callcenter.recorder import DjangoRecorder
from hotline.citizens.models import Citizen

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


def record(call_id: str, caller: str, started: datetime, agent: int | None, answered: bool) -> None:
    CallRecord.objects.create(
        call_id=call_id, direction="inbound", caller=caller, called="12345", started_at=started,
        ended_at=started + timedelta(minutes=2), outcome="answered" if answered else "abandoned",
        agent_id=agent, answered_at=started + timedelta(seconds=10) if answered else None,
    )  # fmt: skip


def test_lists_and_their_expiry() -> None:
    ListEntry.objects.create(kind="black", number="13900009999", action="flow:NUISANCE")
    ListEntry.objects.create(kind="vip", number="13700001111", expires_at=NOW + timedelta(hours=1))
    ListEntry.objects.create(kind="white", number="13700001111")
    directory = DjangoDirectory()
    black = directory.caller_info("13900009999", NOW)
    assert black.blacklisted and black.blacklist_action == "flow:NUISANCE" and not black.vip
    vip = directory.caller_info("13700001111", NOW)
    assert vip.vip and vip.whitelisted and not vip.blacklisted
    later = directory.caller_info("13700001111", NOW + timedelta(hours=2))  # the VIP entry has expired
    assert not later.vip and later.whitelisted


def test_lists_are_cached_for_a_while() -> None:
    clock = [0.0]
    directory = DjangoDirectory(list_ttl_s=30, clock=lambda: clock[0])
    assert not directory.caller_info("13900009999", NOW).blacklisted
    ListEntry.objects.create(kind="black", number="13900009999", action="refuse")
    assert not directory.caller_info("13900009999", NOW).blacklisted
    clock[0] = 31.0
    assert directory.caller_info("13900009999", NOW).blacklisted


def test_district_of_the_citizen_profile(city: Any) -> None:
    Citizen.objects.create(name="张三", phone="13800000001", region=city.east1_c1)  # a community in 东区
    Citizen.objects.create(name="李四", phone="13800000002", region=city.city)
    directory = DjangoDirectory()
    assert directory.caller_info("13800000001", NOW).region_code == "9901"
    assert directory.caller_info("13800000002", NOW).region_code == ""  # the city has no district
    assert directory.caller_info("13800000003", NOW).region_code == ""


def test_last_agent_and_repeat_within_the_window() -> None:
    record("old", "13800000001", NOW - timedelta(hours=30), 5, True)  # outside the 24 hours
    record("c1", "13800000001", NOW - timedelta(hours=3), 7, True)
    record("c2", "13800000001", NOW - timedelta(hours=1), None, False)  # abandoned: no agent
    directory = DjangoDirectory()
    info = directory.caller_info("13800000001", NOW)
    assert info.repeat_within_hours and info.last_agent_id == 7
    stranger = directory.caller_info("13800000009", NOW)
    assert not stranger.repeat_within_hours and stranger.last_agent_id is None
    only_old = DjangoDirectory().caller_info("13800000001", NOW - timedelta(hours=5))
    assert only_old.last_agent_id is None and not only_old.repeat_within_hours


def test_calls_not_yet_written_count() -> None:
    recorder = DjangoRecorder(batch_size=1000)
    recorder.call(
        r.CallRecord(
            call_id="c1", direction="inbound", caller="13800000001", called="12345", trunk="",
            started_at=NOW - timedelta(minutes=5), ended_at=NOW - timedelta(minutes=1),
            outcome="answered", agent_id=11, answered_at=NOW - timedelta(minutes=4),
        )
    )  # fmt: skip
    info = DjangoDirectory(recorder=recorder).caller_info("13800000001", NOW)
    assert info.last_agent_id == 11 and info.repeat_within_hours


@pytest.mark.parametrize(
    ("at", "period"),
    [
        (datetime(2025, 3, 3, 1, 0, tzinfo=UTC), "day"),  # Monday 09:00 Shanghai
        (datetime(2025, 3, 3, 4, 30, tzinfo=UTC), "day"),  # 12:30: the centre works through lunch
        (datetime(2025, 3, 3, 12, 0, tzinfo=UTC), "night"),  # 20:00
        (datetime(2025, 3, 2, 23, 0, tzinfo=UTC), "night"),  # Monday 07:00
        (datetime(2025, 3, 1, 2, 0, tzinfo=UTC), "holiday"),  # Saturday
        (datetime(2025, 10, 1, 2, 0, tzinfo=UTC), "holiday"),  # National Day
    ],
)
def test_calendar_period(at: datetime, period: str) -> None:
    assert DjangoDirectory().calendar_period(at) == period


def test_order_status_prompt(people: Any) -> None:
    from hotline.taxonomy.models import RequestType
    from hotline.workorders.services import Intake, order_create

    order = order_create(
        actor=people.li,
        intake=Intake(
            channel="phone", request_type=RequestType.objects.get(code="complaint"), title="噪音",
            content="夜间施工噪音", citizen_phone="13800000001",
        ),
    )  # fmt: skip
    directory = DjangoDirectory()
    assert directory.order_status(order.number) == "status:pending_dispatch"
    assert directory.order_status("2099010100001") is None
    assert directory.order_status("") is None
