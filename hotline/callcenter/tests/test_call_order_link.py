"""Calls linked to work orders (通话关联工单): the service, and the desk's intake sending the call the
agent is on (or the voicemail's call) so the order is found from the call and the call's recording
from the order."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hotline.audit.models import AuditEvent
from hotline.callcenter.choices import VoicemailState
from hotline.callcenter.models import CallOrderLink, Voicemail
from hotline.callcenter.services import call_order_link
from hotline.core.errors import ValidationFailed
from hotline.telephony.models import Recording
from hotline.telephony.recordings import recording_store
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db

BACKEND = "hotline.accounts.backends.RoleBackend"
INTAKE = reverse("callcenter:desk_intake")


@pytest.fixture(autouse=True)
def recording_dir(settings: Any, tmp_path: Path) -> Path:
    settings.HOTLINE_RECORDING_DIR = tmp_path
    return tmp_path


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


def intake_data(tree: Any, city: Any, **changes: Any) -> dict[str, Any]:
    data = {
        "channel": "phone",
        "citizen_phone": "13912345678",
        "citizen_name": "张三",
        "content": "小区门口路灯坏了一个星期，晚上很黑。",
        "title": "小区门口路灯不亮",
        "request_type": tree.complaint.code,
        "category": tree.enforcement.code,
        "urgency": "normal",
        "region": city.east1.code,
        "address": "东一街道建设路8号",
        "submit": "dispatch",
    }
    data.update(changes)
    return data


def recording(recording_dir: Path, call_id: str) -> Recording:
    relative = f"2026/11/21/{call_id}.wav"
    content = b"RIFF" + b"\x00" * 60
    (recording_dir / relative).parent.mkdir(parents=True, exist_ok=True)
    (recording_dir / relative).write_bytes(content)
    now = timezone.now()
    return recording_store(
        call_id=call_id, path=relative, sha256=hashlib.sha256(content).hexdigest(), seconds=1.0,
        size_bytes=len(content), started_at=now - timedelta(minutes=2), ended_at=now, caller="13912345678",
        called="12345", trunk="CT-1",
    )  # fmt: skip


def test_link_is_written_once_audited_and_reaches_the_recording(
    people: Any, take: Any, recording_dir: Path
) -> None:
    rec = recording(recording_dir, "sip-abc@10.0.0.1")
    order = take()
    link = call_order_link(actor=people.li, call_id="sip-abc@10.0.0.1", order=order)
    assert (link.call_id, link.order_id, link.linked_by_id) == ("sip-abc@10.0.0.1", order.pk, people.li.pk)
    again = call_order_link(actor=people.li, call_id=" sip-abc@10.0.0.1 ", order=order)
    assert again.pk == link.pk and CallOrderLink.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="callcenter.callorderlink", action="create").count() == 1
    rec.refresh_from_db()
    assert rec.order_number == order.number
    assert list(order.call_links.values_list("call_id", flat=True)) == ["sip-abc@10.0.0.1"]


@pytest.mark.parametrize("bad", ["", "   ", "has space", "x" * 65, "呼叫"])
def test_link_refuses_what_is_not_a_call_id(people: Any, take: Any, bad: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        call_order_link(actor=people.li, call_id=bad, order=take())
    assert "call_id" in exc.value.fields
    assert not CallOrderLink.objects.exists()


def test_desk_intake_links_the_order_to_the_call(
    people: Any, tree: Any, city: Any, recording_dir: Path
) -> None:
    rec = recording(recording_dir, "call-77")
    response = as_user(people.li).post(INTAKE, intake_data(tree, city, call_id="call-77"))
    assert response.status_code == 200
    order = WorkOrder.objects.get()
    assert list(CallOrderLink.objects.values_list("call_id", "order_id")) == [("call-77", order.pk)]
    rec.refresh_from_db()
    assert rec.order_number == order.number
    # the recording is found from the order (the supervisors' search)
    found = as_user(people.chen).get("/api/v1/telephony/recordings", {"order": order.number}).json()
    assert [item["id"] for item in found["items"]] == [rec.pk]


def test_desk_intake_without_a_call_or_with_a_bad_one_still_takes_the_order(
    people: Any, tree: Any, city: Any
) -> None:
    client = as_user(people.li)
    assert client.post(INTAKE, intake_data(tree, city)).status_code == 200
    assert client.post(INTAKE, intake_data(tree, city, call_id="not a call id")).status_code == 200
    assert WorkOrder.objects.count() == 2
    assert not CallOrderLink.objects.exists()


def test_a_refused_intake_links_nothing(people: Any, tree: Any, city: Any) -> None:
    response = as_user(people.li).post(INTAKE, intake_data(tree, city, title="", call_id="call-78"))
    assert response.status_code == 422
    assert not WorkOrder.objects.exists() and not CallOrderLink.objects.exists()


def test_an_order_from_a_voicemail_is_linked_to_the_voicemails_call(
    people: Any, tree: Any, city: Any, recording_dir: Path
) -> None:
    vm = Voicemail.objects.create(
        call_id="vm-call-5", caller="13900000005", audio_path="voicemail/vm-call-5.wav", seconds=12.0,
        received_at=timezone.now(), state=VoicemailState.NEW,
    )  # fmt: skip
    # a wrapping-up call id sent along is not this order's call: the voicemail's is
    response = as_user(people.li).post(
        INTAKE, intake_data(tree, city, citizen_phone="13900000005", voicemail=vm.pk, call_id="other-call")
    )
    assert response.status_code == 200
    order = WorkOrder.objects.get()
    vm.refresh_from_db()
    assert vm.state == VoicemailState.DONE and vm.order_id == order.pk
    assert list(CallOrderLink.objects.values_list("call_id", "order_id")) == [("vm-call-5", order.pk)]
