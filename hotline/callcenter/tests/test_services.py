"""Contact-centre services: flows never saved invalid, lists, queues, voicemails into work orders,
callbacks; and the engine's configuration from the rows."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hotline.audit.models import AuditEvent
from hotline.callcenter import services
from hotline.callcenter.config_load import centre_config
from hotline.callcenter.demo import DIRECT_FLOW, MAIN_FLOW, seed_callcenter
from hotline.callcenter.models import CallbackRequest, IvrFlow, ListEntry, Queue, Voicemail
from hotline.core.errors import Conflict, Forbidden, ValidationFailed
from hotline.taxonomy.models import RequestType
from hotline.workorders.models import WorkOrder
from hotline.workorders.services import Intake

pytestmark = pytest.mark.django_db


@pytest.fixture
def general(db: Any) -> Queue:
    return services.queue_save(actor=None, queue=Queue(code="GENERAL", name="综合受理"))


def test_flow_save_validates_and_counts_versions(people: Any, general: Queue) -> None:
    flow = services.flow_save(actor=people.ma, code="DIRECT", name="直通", definition=DIRECT_FLOW)
    assert (flow.version, flow.updated_by) == (1, people.ma)
    bad = {"start": "q", "nodes": {"q": {"type": "queue", "queue": "NOPE"}}}
    with pytest.raises(services.FlowInvalid) as caught:
        services.flow_save(actor=people.ma, code="DIRECT", name="直通", definition=bad)
    assert [(e.node, e.field, e.code) for e in caught.value.errors] == [("q", "queue", "unknown_queue")]
    assert caught.value.fields == {
        "q.queue": [caught.value.errors[0].code + ": " + caught.value.errors[0].message]
    }
    flow.refresh_from_db()
    assert flow.definition == DIRECT_FLOW and flow.version == 1  # nothing saved
    again = services.flow_save(actor=people.ma, code="DIRECT", name="直通人工", definition=DIRECT_FLOW)
    assert again.pk == flow.pk and again.version == 2
    assert AuditEvent.objects.filter(object_type="callcenter.ivrflow").count() == 2


def test_new_flow_that_is_invalid_is_not_created(general: Queue) -> None:
    with pytest.raises(services.FlowInvalid):
        services.flow_save(actor=None, code="X", name="x", definition={"nodes": {}})
    assert not IvrFlow.objects.exists()


def test_queue_rules(general: Queue) -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.queue_save(actor=None, queue=Queue(code="Q2", name="q", tiers=[[30, 2], [0, 4]]))
    assert "tiers" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        services.queue_save(
            actor=None, queue=Queue(code="Q2", name="q", max_wait_s=60, max_wait_action="overflow")
        )
    assert "overflow_queue" in caught.value.fields
    general.code = "OTHER"
    with pytest.raises(ValidationFailed):
        services.queue_save(actor=None, queue=general)


def test_list_entries(people: Any) -> None:
    entry = services.list_entry_add(actor=people.chen, kind="black", number="139-0000-9999", reason="骚扰")
    assert (entry.number, entry.action, entry.created_by) == ("13900009999", "refuse", people.chen)
    again = services.list_entry_add(actor=people.chen, kind="black", number="13900009999", reason="辱骂")
    assert again.pk == entry.pk and again.reason == "辱骂"
    with pytest.raises(ValidationFailed):
        services.list_entry_add(actor=people.chen, kind="black", number="13900009998", action="flow:NONE")
    with pytest.raises(ValidationFailed):
        services.list_entry_add(actor=people.chen, kind="vip", number="13900009998", action="refuse")
    with pytest.raises(ValidationFailed):
        services.list_entry_add(actor=people.chen, kind="grey", number="13900009998")
    soon = services.list_entry_add(
        actor=people.chen, kind="vip", number="13700001111", expires_at=timezone.now() + timedelta(minutes=1)
    )
    assert services.list_entries_expire(now=timezone.now() + timedelta(minutes=2)) == 1
    assert not ListEntry.objects.filter(pk=soon.pk).exists()
    services.list_entry_remove(actor=people.chen, entry=entry)
    assert not ListEntry.objects.exists()


def _voicemail() -> Voicemail:
    return Voicemail.objects.create(
        call_id="c1", caller="13800000001", audio_path="vm/c1.wav", seconds=30, received_at=timezone.now()
    )


def _intake() -> Intake:
    return Intake(
        channel="web",  # replaced: a voicemail is a phone request
        request_type=RequestType.objects.get(code="consultation"),
        title="留言：社保卡补办",
        content="市民留言询问社保卡补办流程。",
    )


def test_voicemail_into_a_work_order(people: Any) -> None:
    voicemail = _voicemail()
    services.voicemail_claim(actor=people.li, voicemail=voicemail)
    with pytest.raises(Conflict) as caught:
        services.voicemail_claim(actor=people.chen, voicemail=Voicemail.objects.get(pk=voicemail.pk))
    assert caught.value.code == "already_claimed"
    with pytest.raises(Forbidden):
        services.voicemail_process(
            actor=people.chen, voicemail=Voicemail.objects.get(pk=voicemail.pk), intake=_intake()
        )
    order = services.voicemail_process(actor=people.li, voicemail=voicemail, intake=_intake())
    assert (order.channel, order.citizen_phone, order.created_by) == ("phone", "13800000001", people.li)
    assert "c1" in order.source_contact
    voicemail.refresh_from_db()
    assert (voicemail.state, voicemail.order) == ("done", order)
    with pytest.raises(Conflict):
        services.voicemail_process(actor=people.li, voicemail=voicemail, intake=_intake())
    assert WorkOrder.objects.count() == 1


def test_voicemail_closed_without_an_order(people: Any) -> None:
    voicemail = _voicemail()
    with pytest.raises(Conflict):
        services.voicemail_close(actor=people.li, voicemail=voicemail, note="无声")
    services.voicemail_claim(actor=people.li, voicemail=voicemail)
    with pytest.raises(ValidationFailed):
        services.voicemail_close(actor=people.li, voicemail=voicemail, note=" ")
    services.voicemail_close(actor=people.li, voicemail=voicemail, note="无声留言")
    voicemail.refresh_from_db()
    assert (voicemail.state, voicemail.order, voicemail.note) == ("done", None, "无声留言")


def test_callback_attempts(people: Any) -> None:
    callback = CallbackRequest.objects.create(
        caller="13800000001", queue="GENERAL", reason="abandoned", requested_at=timezone.now()
    )
    for attempt in (1, 2):
        services.callback_claim(actor=people.li, callback=callback)
        services.callback_complete(actor=people.li, callback=callback, result="no_answer")
        callback.refresh_from_db()
        assert (callback.state, callback.attempts, callback.claimed_by) == ("new", attempt, None)
    services.callback_claim(actor=people.li, callback=callback)
    services.callback_complete(actor=people.li, callback=callback, result="busy")
    callback.refresh_from_db()
    assert (callback.state, callback.attempts) == ("failed", 3)


def test_callback_reached_with_its_order(people: Any) -> None:
    from hotline.workorders.services import order_create

    callback = CallbackRequest.objects.create(
        caller="13800000001", queue="GENERAL", reason="callback_offer", requested_at=timezone.now()
    )
    services.callback_claim(actor=people.li, callback=callback)
    with pytest.raises(Forbidden):
        services.callback_complete(actor=people.chen, callback=callback, result="reached")
    intake = dataclasses.replace(_intake(), channel="phone", citizen_phone="13800000001")
    order = order_create(actor=people.li, intake=intake)
    services.callback_complete(actor=people.li, callback=callback, result="reached", order=order)
    callback.refresh_from_db()
    assert (callback.state, callback.result, callback.order, callback.attempts) == (
        "done",
        "reached",
        order,
        1,
    )


def test_engine_configuration_from_the_demo(people: Any) -> None:
    from hotline.accounts.services import user_create
    from hotline.callcenter.models import QueueMembership

    user_create(
        actor=None,
        username="agent_li",
        password="x-Pass-2026!",
        role="agent",
        unit=people.li.unit,
        full_name="李晓",
    )
    created = seed_callcenter()
    assert created > 0 and seed_callcenter() == 0  # idempotent
    config = centre_config()
    codes = [q.code for q in config.queues]
    assert {"GENERAL", "ENTERPRISE", "COMPLAINT", "R-9901", "R-9902"} <= set(codes)
    general = next(q for q in config.queues if q.code == "GENERAL")
    assert general.tiers == ((0.0, 4), (30.0, 2), (60.0, 1)) and general.strategy == "longest_idle"
    region = next(q for q in config.queues if q.code == "R-9901")
    assert region.region_code == "9901"
    assert config.hotlines == {"12345": "MAIN", "099912345": "DIRECT"}
    assert config.flows["MAIN"] == MAIN_FLOW
    [agent] = config.agents
    assert agent.extension == "8001" and agent.skills["GENERAL"] == 4 and agent.skills["R-9902"] == 3
    assert QueueMembership.objects.filter(agent__username="agent_li").count() == len(agent.skills)
    assert config.emergency_numbers == ("110", "119", "120", "122")
    assert (config.lock_after_no_answers, config.short_abandon_s) == (3, 5)
