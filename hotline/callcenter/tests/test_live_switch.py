"""The switch process and the live screens: commands from sockets reach the engine; what the
engine does reaches the desks and the wall (docs/desktop.md).

The scenarios run the real ``SwitchService`` (engine, simulated switch on the wall clock, Django
recorder and directory) and the real ``LiveConsumer`` in one event loop, joined through the channel
layer (``LayerBus``) — and through the database (``TableBus``), as the embedded platform's
separate processes are, and through Redis as production's are.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from asgiref.testing import ApplicationCommunicator
from channels.layers import get_channel_layer

from hotline.audit.models import AuditEvent
from hotline.callcenter import runtime, services
from hotline.callcenter.models import (
    AgentStateLog,
    CallLeg,
    CallRecord,
    HotlineNumber,
    IvrFlow,
    PauseReason,
    Queue,
)
from hotline.callcenter.runtime import LayerBus, Outbox, SwitchService, TableBus
from hotline.callcenter.selectors import records_settled
from hotline.callcenter.tests.conftest import staff_centre
from hotline.core.consumers import LiveConsumer, user_group
from hotline.core.events import SWITCH_GROUP, switch_send_now
from hotline.core.models import LiveEvent

pytestmark = pytest.mark.django_db(transaction=True)


class Socket(ApplicationCommunicator):
    """A browser's ``/ws/live/`` socket, speaking ASGI to the consumer."""

    def __init__(self, user: Any) -> None:
        scope = {"type": "websocket", "path": "/ws/live/", "headers": [], "subprotocols": [], "user": user}
        super().__init__(LiveConsumer.as_asgi(), scope)
        self.seen: list[dict[str, Any]] = []

    async def open(self) -> None:
        await self.send_input({"type": "websocket.connect"})
        accepted = await self.receive_output(2)
        assert accepted["type"] == "websocket.accept"
        hello = json.loads((await self.receive_output(2))["text"])
        assert hello["type"] == "hello"

    async def cc(self, action: str, **args: Any) -> None:
        await self.send_input(
            {"type": "websocket.receive", "text": json.dumps({"type": "cc", "action": action, **args})}
        )

    async def raw(self, text: str) -> None:
        await self.send_input({"type": "websocket.receive", "text": text})

    async def expect(self, match: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
        """The first message (from now on) for which ``match`` holds; the others are kept in ``seen``."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            left = end - loop.time()
            if left <= 0:
                raise AssertionError(f"no matching message; saw {[m.get('type') for m in self.seen[-15:]]}")
            try:
                out = await self.receive_output(left)
            except TimeoutError as exc:
                raise AssertionError(f"no matching message; saw {self.seen[-15:]}") from exc
            message = json.loads(out["text"])
            self.seen.append(message)
            if match(message):
                return message

    async def expect_type(self, kind: str, timeout: float = 5.0, **fields: Any) -> dict[str, Any]:
        return await self.expect(
            lambda m: m.get("type") == kind and all(_get(m, k) == v for k, v in fields.items()), timeout
        )

    async def close(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(1)


def _get(message: dict[str, Any], path: str) -> Any:
    value: Any = message
    for part in path.split("__"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


@pytest.fixture
def centre(people: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``staff_centre`` with a pause reason; the switch runs in the test's event loop."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    staff_centre(people, ring_timeout_s=20, wrap_up_s=5)
    services.pause_reason_save(actor=None, reason=PauseReason(code="rest", name="休息"))
    return people


@asynccontextmanager
async def running(bus: Any) -> AsyncIterator[SwitchService]:
    service = await sync_to_async(SwitchService)(bus=bus, recorder_delay_s=0.2)
    ready = asyncio.Event()
    task = asyncio.create_task(service.run(ready=ready))
    await asyncio.wait_for(ready.wait(), 5)
    try:
        yield service
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _sockets(*users: Any) -> list[Socket]:
    sockets = [Socket(u) for u in users]
    for s in sockets:
        await s.open()
    return sockets


def test_a_call_rings_the_desk_pops_the_caller_and_its_draft_follows_a_transfer(centre: Any) -> None:
    people = centre

    async def scenario() -> None:
        async with running(LayerBus(get_channel_layer())):
            li, ying, chen = await _sockets(people.li, people.ying, people.chen)

            await li.cc("state")
            state = await li.expect_type("cc.state")
            assert state["agent"]["state"] == "logged_out"
            assert state["pause_reasons"] == [{"code": "rest", "name": "休息"}]
            await li.cc("login", extension="")  # the default seat
            agent = await li.expect_type("cc.agent", agent__state="ready")
            assert agent["agent"]["extension"] == "1001"
            await ying.cc("login", extension="1002")
            await ying.expect_type("cc.agent", agent__state="ready")
            # Both ready: the longest idle (Li, ready first) gets the first call.

            await chen.cc("wall")
            wall = await chen.expect_type("cc.wall")
            assert {a["agent_id"]: a["state"] for a in wall["agents"]} == {
                people.li.pk: "ready",
                people.ying.pk: "ready",
            }
            assert [q["code"] for q in wall["queues"]] == ["GENERAL"]

            await chen.cc("phone_call", caller="13812345678", called="12345")
            offer = (await li.expect_type("cc.offer"))["offer"]
            assert offer["caller"] == "13812345678"
            assert offer["queue"] == "GENERAL"
            assert offer["draft"] == {}
            await chen.expect_type("cc.agent", agent__agent_id=people.li.pk, agent__state="ringing")
            phone = await chen.expect_type("cc.phone", state="answered")
            leg_id = phone["leg_id"]

            await li.cc("answer")
            await li.expect_type("cc.agent", agent__state="talking")
            heard = await chen.expect(lambda m: m.get("type") == "cc.phone" and m.get("hears"))
            assert heard["hears"] == [f"agent:{people.li.display_name}"]

            draft = {"citizen_phone": "13812345678", "content": "小区路灯不亮", "urgency": "normal"}
            await li.cc("draft", draft=draft)
            changed = await li.expect_type("cc.call")
            assert changed["draft"] == draft

            await li.cc("transfer", target=f"agent:{people.ying.pk}")
            moved = (await ying.expect_type("cc.offer"))["offer"]
            assert moved["draft"] == draft
            assert "transferred" in moved["marks"]
            await li.expect_type("cc.agent", agent__state="wrap_up")
            await ying.cc("answer")
            await ying.expect_type("cc.agent", agent__state="talking")
            await ying.cc("link_order", number="2026112100001")
            linked = await ying.expect_type("cc.call")
            assert linked["data"]["orders"] == ["2026112100001"]

            await chen.cc("phone_hangup", leg_id=leg_id)
            await chen.expect_type("cc.phone", state="ended")
            await ying.expect_type("cc.agent", agent__state="wrap_up")
            for s in (li, ying, chen):
                await s.close()

    asyncio.run(scenario())
    record = CallRecord.objects.get(caller="13812345678")
    assert record.outcome == "answered"
    assert record.transfers == 1
    assert record.data["orders"] == ["2026112100001"]
    assert record.agent_id == people.li.pk  # the first agent who answered
    assert set(CallLeg.objects.filter(call_id=record.call_id).values_list("agent", flat=True)) >= {
        people.li.pk,
        people.ying.pk,
    }


def test_errors_go_back_to_the_sender_and_permissions_are_checked_before_the_switch(centre: Any) -> None:
    people = centre

    async def scenario() -> None:
        async with running(LayerBus(get_channel_layer())):
            li, wang = await _sockets(people.li, people.wang)
            await li.cc("hold", ref="h1")
            error = await li.expect_type("cc.error")
            assert (error["action"], error["code"], error["ref"]) == ("hold", "no_call", "h1")
            await li.cc("force_release", agent_id=people.ying.pk)  # agents may not
            assert (await li.expect_type("cc.error"))["code"] == "forbidden"
            await li.cc("phone_call", caller="1", called="12345")
            assert (await li.expect_type("cc.error"))["code"] == "forbidden"
            await li.cc("explode")
            assert (await li.expect_type("cc.error"))["code"] == "unknown_action"
            await li.raw("not json")
            assert (await li.expect_type("cc.error"))["code"] == "bad_message"
            await li.cc("login", extension="1001")
            await li.expect_type("cc.agent", agent__state="ready")
            await li.cc("draft", draft=["not", "an", "object"])
            assert (await li.expect_type("cc.error"))["code"] in ("bad_value", "no_call")
            await li.cc("transfer", target={"x": 1})
            assert (await li.expect_type("cc.error"))["code"] == "bad_value"
            # A handler of a street office takes no calls.
            await wang.cc("state")
            assert (await wang.expect_type("cc.error"))["code"] == "forbidden"
            # The switch is still serving.
            await li.cc("pause", reason="rest")
            await li.expect_type("cc.agent", agent__state="paused", agent__reason="rest")
            for s in (li, wang):
                await s.close()

    asyncio.run(scenario())


def test_supervisor_actions_reach_the_agent_the_wall_and_the_audit_log(centre: Any) -> None:
    people = centre

    async def scenario() -> None:
        async with running(LayerBus(get_channel_layer())):
            li, chen = await _sockets(people.li, people.chen)
            await li.cc("login", extension="1001")
            await li.expect_type("cc.agent", agent__state="ready")
            await chen.cc("phone_call", caller="13900001111", called="12345")
            await li.expect_type("cc.offer")
            await li.cc("answer")
            await li.expect_type("cc.agent", agent__state="talking")

            await chen.cc("monitor", agent_id=people.li.pk, mode="listen", extension="")
            monitoring = await chen.expect_type("cc.monitoring")
            assert monitoring["mode"] == "listen"
            await chen.cc("monitor_end", leg_id=monitoring["leg_id"])
            await chen.cc("force_release", agent_id=people.li.pk)
            await li.expect_type("cc.agent", agent__state="wrap_up")
            await chen.expect_type("cc.agent", agent__agent_id=people.li.pk, agent__state="wrap_up")
            await chen.cc("force_pause", agent_id=people.li.pk, reason="meeting")
            await li.expect_type("cc.agent", agent__state="paused", agent__reason="meeting")
            await chen.cc("force_logout", agent_id=people.li.pk)
            await li.expect_type("cc.agent", agent__state="logged_out")
            for s in (li, chen):
                await s.close()

    asyncio.run(scenario())
    notes = list(AuditEvent.objects.filter(actor=people.chen).values_list("note", flat=True))
    for action in ("monitor", "monitor_end", "force_release", "force_pause", "force_logout"):
        assert f"supervisor: {action}" in notes
    forced = AgentStateLog.objects.filter(agent=people.li, by=people.chen).values_list("state", flat=True)
    assert set(forced) >= {"paused", "logged_out"}


def test_the_embedded_platform_carries_commands_and_events_through_the_database(centre: Any) -> None:
    """Separate processes without Redis: a command is a ``LiveEvent`` row addressed to the switch;
    the switch's events are rows the web process relays; the relay skips the switch's rows."""
    from hotline.core.events import _fetch

    people = centre

    async def scenario() -> None:
        async with running(TableBus(poll_s=0.05)) as service:
            await sync_to_async(switch_send_now)({"action": "login", "extension": "1001", "by": people.li.pk})
            await sync_to_async(switch_send_now)({"action": "state", "by": people.li.pk})

            def events_for_li() -> list[Any]:
                return list(
                    LiveEvent.objects.filter(group=user_group(people.li.pk)).values_list("payload", flat=True)
                )

            for _ in range(100):
                got = await sync_to_async(events_for_li)()
                if any(e["type"] == "cc.state" for e in got):
                    break
                await asyncio.sleep(0.05)
            kinds = [e["type"] for e in got]
            assert "cc.agent" in kinds and "cc.state" in kinds
            state = next(e for e in got if e["type"] == "cc.state")
            assert state["agent"]["state"] == "ready"
            assert service.centre.agents[people.li.pk].state == "ready"
            relayed = await _fetch(0)
            assert relayed and all(group != SWITCH_GROUP for _id, group, _p in relayed)

    asyncio.run(scenario())


def test_a_configuration_change_reaches_the_running_switch(centre: Any) -> None:
    async def scenario() -> None:
        async with running(TableBus(poll_s=0.05)) as service:
            assert "COMPLAINT" not in service.centre.queues

            def add_queue() -> None:
                services.queue_save(actor=None, queue=Queue(code="COMPLAINT", name="投诉举报"))

            await sync_to_async(add_queue)()
            for _ in range(60):
                if "COMPLAINT" in service.centre.queues:
                    break
                await asyncio.sleep(0.05)
            assert service.centre.queues["COMPLAINT"].config.name == "投诉举报"

    asyncio.run(scenario())


def test_an_order_saved_after_the_call_ended_is_added_to_its_record(centre: Any) -> None:
    people = centre

    async def scenario() -> None:
        async with running(LayerBus(get_channel_layer())):
            li, chen = await _sockets(people.li, people.chen)
            await li.cc("login", extension="1001")
            await chen.cc("phone_call", caller="13700002222", called="12345")
            await li.expect_type("cc.offer")
            await li.cc("answer")
            await li.expect_type("cc.agent", agent__state="talking")
            await li.cc("hangup")
            await li.expect_type("cc.agent", agent__state="wrap_up")
            await li.cc("link_order", number="2026112100077")

            def linked() -> bool:
                record = CallRecord.objects.filter(caller="13700002222").first()
                return record is not None and record.data.get("orders") == ["2026112100077"]

            for _ in range(60):
                if await sync_to_async(linked)():
                    break
                await asyncio.sleep(0.1)
            assert await sync_to_async(linked)()
            for s in (li, chen):
                await s.close()

    asyncio.run(scenario())


def test_the_test_phone_hears_the_flow_and_presses_keys(centre: Any) -> None:
    """The main flow's menu: the caller hears the welcome, presses 2, keys a tracking number and
    hears that order's state."""
    people = centre
    menu = {
        "start": "menu",
        "human": "q",
        "nodes": {
            "menu": {"type": "menu", "prompts": ["main_menu"], "options": {"2": "status"}, "on_fail": "q"},
            "status": {"type": "order_status", "prompts": ["enter_number"], "next": "bye", "on_fail": "bye"},
            "q": {"type": "queue", "queue": "GENERAL"},
            "bye": {"type": "hangup", "prompts": ["goodbye"]},
        },
    }
    flow = IvrFlow.objects.get(code="DIRECT")
    services.flow_save(actor=None, code="MENU", name="菜单", definition=menu)
    services.hotline_number_save(
        actor=None, number="12346", name="菜单", flow=IvrFlow.objects.get(code="MENU")
    )
    assert HotlineNumber.objects.filter(flow=flow).exists()

    async def scenario() -> None:
        async with running(LayerBus(get_channel_layer())):
            (chen,) = await _sockets(people.chen)
            await chen.cc("phone_call", caller="13600003333", called="12346")
            first = await chen.expect(lambda m: m.get("type") == "cc.phone" and "main_menu" in m["playing"])
            await chen.cc("phone_press", leg_id=first["leg_id"], keys="2")
            await chen.expect(lambda m: m.get("type") == "cc.phone" and "enter_number" in m["playing"])
            await chen.cc("phone_press", leg_id=first["leg_id"], keys="999#")
            unknown = await chen.expect(
                lambda m: m.get("type") == "cc.phone" and "status_unknown" in m["playing"]
            )
            assert unknown["state"] == "answered"
            await chen.cc("phone_press", leg_id=first["leg_id"], keys="12a")
            assert (await chen.expect_type("cc.error"))["code"] == "bad_value"
            await chen.cc("phone_hangup", leg_id="C999-0")
            assert (await chen.expect_type("cc.error"))["code"] == "unknown_call"
            await chen.close()

    asyncio.run(scenario())


def test_the_switch_marks_how_far_its_records_are_complete(
    centre: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record mark the roll-ups seal hours by: the start of the call going on, then of the call
    still wrapped up, then the switch's time once both are over."""
    people = centre
    monkeypatch.setattr(runtime, "MARK_S", 0.05)

    settled = sync_to_async(records_settled)

    async def mark_becomes(test: Callable[[Any], bool]) -> Any:
        for _ in range(200):
            value = await settled()
            if value is not None and test(value):
                return value
            await asyncio.sleep(0.05)
        raise AssertionError(f"the mark stayed at {value}")

    async def scenario() -> None:
        async with running(LayerBus(get_channel_layer())) as service:
            li, chen = await _sockets(people.li, people.chen)
            await li.cc("login", extension="")
            await li.expect_type("cc.agent", agent__state="ready")
            await chen.cc("phone_call", caller="13812345670", called="12345")
            leg_id = (await chen.expect_type("cc.phone", state="answered"))["leg_id"]
            await li.cc("answer")
            await li.expect_type("cc.agent", agent__state="talking")
            (call,) = service.centre.calls.values()
            await mark_becomes(lambda at: at == call.started_at)
            await chen.cc("phone_hangup", leg_id=leg_id)
            await li.expect_type("cc.agent", agent__state="wrap_up")
            assert not service.centre.calls
            await asyncio.sleep(0.3)
            assert await settled() == call.started_at  # Li's wrap-up belongs to the call
            await li.expect_type("cc.agent", timeout=10, agent__state="ready")
            await mark_becomes(lambda at: at > call.started_at)
            for s in (li, chen):
                await s.close()

    asyncio.run(scenario())


def test_outbox_keeps_the_latest_state_of_an_agent_in_one_flush() -> None:
    outbox = Outbox()
    outbox.add([("g", {"n": 1})], key=("agent", 1))
    outbox.add([("g", {"offer": True})])
    outbox.add([("g", {"n": 2})], key=("agent", 1))
    assert outbox.take() == [("g", {"offer": True}), ("g", {"n": 2})]
    assert outbox.take() == []


def test_the_wall_gets_every_field_of_an_agent_and_a_queue_as_json() -> None:
    from dataclasses import asdict
    from datetime import UTC, datetime

    from hotline.callcenter.engine.observer import AgentView, QueueView

    since = datetime(2026, 11, 22, 2, 30, tzinfo=UTC)
    agent = AgentView(
        agent_id=7, name="李娜", extension="1007", state="talking", since=since, call_id="c1", calls=3
    )
    queue = QueueView(code="GENERAL", name="综合", waiting=2, longest_wait_since=None, ready=5, staffed=9)
    assert runtime.agent_json(agent) == {**asdict(agent), "since": "2026-11-22T02:30:00+00:00"}
    assert runtime.queue_json(queue) == {**asdict(queue), "longest_wait_since": None}
    waiting = QueueView(code="G", name="G", waiting=1, longest_wait_since=since, ready=0, staffed=1)
    assert runtime.queue_json(waiting)["longest_wait_since"] == "2026-11-22T02:30:00+00:00"
    json.dumps([runtime.agent_json(agent), runtime.queue_json(waiting)])  # nothing a socket cannot carry


@pytest.mark.redis
def test_production_layer_carries_commands_and_events_through_redis(centre: Any, redis_url: str) -> None:
    from channels_redis.core import RedisChannelLayer

    people = centre

    async def scenario() -> None:
        switch_layer = RedisChannelLayer(hosts=[redis_url], prefix="hotline-switch-test")
        web_layer = RedisChannelLayer(hosts=[redis_url], prefix="hotline-switch-test")
        inbox = await web_layer.new_channel()
        await web_layer.group_add(user_group(people.li.pk), inbox)
        async with running(LayerBus(switch_layer)):
            await web_layer.group_send(
                SWITCH_GROUP, {"type": "switch.command", "command": {"action": "state", "by": people.li.pk}}
            )
            for _ in range(5):
                message = await asyncio.wait_for(web_layer.receive(inbox), timeout=5)
                if message["event"]["type"] == "cc.state":
                    break
            assert message["event"]["agent"]["state"] == "logged_out"
        await web_layer.group_discard(user_group(people.li.pk), inbox)
        await switch_layer.flush()
        await switch_layer.close_pools()
        await web_layer.close_pools()

    asyncio.run(scenario())
