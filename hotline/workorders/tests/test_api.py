"""The work-order API: scope, masking, errors, the public tracking lookup, attachments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from hotline.audit.models import AuditEvent
from hotline.workorders import services as s
from hotline.workorders.models import Attachment

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(user: Any, url: str, body: Any = None) -> Any:
    return client_for(user).post(url, data=json.dumps(body or {}), content_type="application/json")


def test_intake_to_close_over_http(people: Any, tree: Any, city: Any) -> None:
    created = post(
        people.li,
        "/api/v1/workorders",
        {
            "channel": "phone", "request_type": "complaint", "title": "路灯不亮",
            "content": "建设路路灯坏了一周。",
            "category": tree.enforcement.code, "region": "990101", "citizen_phone": "13811112222",
        },
    )  # fmt: skip
    assert created.status_code == 201, created.content
    number = created.json()["number"]
    base = f"/api/v1/workorders/{number}"

    suggestion = client_for(people.zhou).get(f"{base}/suggest-unit").json()
    assert suggestion["unit"]["code"] == "ST-EAST1"
    steps = [
        (people.zhou, "dispatch", {"lead_unit": "ST-EAST1"}, "pending_sign"),
        (people.wang, "sign", None, "handling"),
        (people.wang, "answer", {"result": "resolved", "answer": "已修复。"}, "pending_review"),
        (people.zhou, "review", {"accept": True}, "pending_revisit"),
        (
            people.zhou,
            "revisit",
            {"method": "phone", "resolved": True, "satisfaction": "satisfied"},
            "closed",
        ),
    ]
    for actor, step, body, state in steps:
        response = post(actor, f"{base}/{step}", body)
        assert response.status_code == 200, (step, response.content)
        assert response.json()["state"] == state

    detail = client_for(people.zhou).get(base).json()
    assert [e["action"] for e in detail["history"]] == [
        "intake", "dispatch", "sign", "answer", "review_accept", "revisit",
    ]  # fmt: skip
    assert detail["next_actions"] == ["reopen"]


def test_step_in_the_wrong_state_is_409(take: Any, people: Any) -> None:
    order = take()
    response = post(people.zhou, f"/api/v1/workorders/{order.number}/review", {"accept": True})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_state"


def test_bad_input_is_422_with_fields(people: Any, tree: Any) -> None:
    response = post(
        people.li,
        "/api/v1/workorders",
        {"channel": "fax", "request_type": "complaint", "title": "", "content": "x", "region": "nowhere"},
    )
    assert response.status_code == 422
    assert "region" in response.json()["fields"]
    response = post(people.li, "/api/v1/workorders", {"channel": "fax", "request_type": "complaint",
                                                       "title": "", "content": "x"})  # fmt: skip
    assert response.status_code == 422
    assert set(response.json()["fields"]) >= {"channel", "title"}


def test_street_handler_cannot_read_or_act_on_another_streets_order(
    take: Any, people: Any, city: Any
) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    url = f"/api/v1/workorders/{order.number}"
    assert client_for(people.wang).get(url).status_code == 200
    assert client_for(people.qian).get(url).status_code == 404
    assert post(people.qian, f"{url}/sign").status_code == 404
    assert client_for(people.wu).get(url).status_code == 404
    # leaders: the district leader of 东区 sees it, the city leader too
    assert client_for(people.zhao).get(url).status_code == 200
    assert client_for(people.liu).get(url).status_code == 200
    listed = client_for(people.qian).get("/api/v1/workorders").json()
    assert listed["count"] == 0
    assert client_for(people.wang).get("/api/v1/workorders").json()["count"] == 1


def test_phone_masking_and_audited_reads(take: Any, people: Any, city: Any) -> None:
    order = take()
    anonymous = take(anonymous=True, citizen_phone="13699998888")
    for o in (order, anonymous):
        s.order_dispatch(order=o, actor=people.zhou, lead_unit=city.east1_office)
    url = "/api/v1/workorders/{}"

    wang = client_for(people.wang).get(url.format(order.number)).json()
    assert wang["citizen_phone"] == "13812345678"
    assert AuditEvent.objects.filter(action="read", actor=people.wang, object_id=str(order.pk)).count() == 1

    hidden = client_for(people.wang).get(url.format(anonymous.number)).json()
    assert hidden["citizen_phone"] == "136****8888"
    assert hidden["citizen_name"] == "王**"
    assert not AuditEvent.objects.filter(
        action="read", actor=people.wang, object_id=str(anonymous.pk)
    ).exists()

    leader = client_for(people.zhao).get(url.format(order.number)).json()
    assert leader["citizen_phone"] == "138****5678"
    agent = client_for(people.li).get(url.format(anonymous.number)).json()
    assert agent["citizen_phone"] == "13699998888"  # the centre sees who called

    listed = client_for(people.wang).get("/api/v1/workorders").json()["items"]
    assert all("citizen_phone" not in row for row in listed)


def test_citizen_tracks_by_number_and_phone(take: Any) -> None:
    order = take()
    anonymous_client = Client()
    found = anonymous_client.get(f"/api/v1/workorders/track?number={order.number}&phone=13812345678")
    assert found.status_code == 200
    assert found.json()["state"] == "pending_dispatch"
    assert found.json()["citizen_name"] == "王**"
    wrong = anonymous_client.get(f"/api/v1/workorders/track?number={order.number}&phone=13800000000")
    assert wrong.status_code == 404


def test_attachments_checked_before_saving(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    client = client_for(people.wang)
    url = f"/api/v1/workorders/{order.number}/attachments"
    ok = client.post(url, {"text": "现场照片", "files": [SimpleUploadedFile("site.png", PNG, "image/png")]})
    assert ok.status_code == 201, ok.content
    attachment = Attachment.objects.get()
    assert attachment.size == len(PNG) and len(attachment.sha256) == 64

    fake = SimpleUploadedFile("virus.png", b"MZ\x90\x00" + b"\x00" * 40, "image/png")
    exe = SimpleUploadedFile("run.exe", b"MZ", "application/x-msdownload")
    bad = client.post(url, {"text": "x", "files": [SimpleUploadedFile("b.png", PNG, "image/png"), fake, exe]})
    assert bad.status_code == 422
    assert len(bad.json()["fields"]["attachments"]) == 2
    assert Attachment.objects.count() == 1
    assert order.events.filter(action="note").count() == 1


def test_supervise_remind_and_instruct_over_http(take: Any, people: Any, city: Any) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    base = f"/api/v1/workorders/{order.number}"
    supervised = post(people.zhou, f"{base}/supervise", {"message": "限三日办结", "working_days": 3,
                                                          "escalate_to": "zhao"})  # fmt: skip
    assert supervised.status_code == 201 and supervised.json()["supervised"] is True
    assert post(people.zhou, f"{base}/remind", {"message": "请尽快签收"}).status_code == 201
    assert post(people.wang, f"{base}/remind", {"message": "x"}).status_code == 403
    assert post(people.zhao, f"{base}/instruct", {"text": "请高度重视"}).status_code == 201
    assert (
        post(people.zhou, f"{base}/supervise", {"message": "x", "escalate_to": "nobody"}).status_code == 422
    )
    history = [e["action"] for e in client_for(people.wang).get(base).json()["history"]]
    assert {"supervise", "escalate", "remind", "instruct"} <= set(history)
