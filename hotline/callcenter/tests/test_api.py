"""The contact-centre API: who may do what, structured errors, and the main operations."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hotline.audit.models import AuditEvent
from hotline.callcenter import records as r
from hotline.callcenter import services
from hotline.callcenter.demo import DIRECT_FLOW
from hotline.callcenter.models import CallbackRequest, EmergencyNumber, IvrFlow, ListEntry, Queue, Voicemail
from hotline.callcenter.recorder import DjangoRecorder

pytestmark = pytest.mark.django_db

API = "/api/v1/callcenter"
T0 = datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


def call(user: Any, method: str, url: str, body: Any = None) -> Any:
    client = Client()
    if user is not None:
        client.force_login(user)
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(url, **kwargs)


@pytest.fixture
def centre(people: Any) -> Any:
    services.queue_save(actor=None, queue=Queue(code="GENERAL", name="综合受理"))
    services.flow_save(actor=None, code="DIRECT", name="直通", definition=DIRECT_FLOW)
    services.membership_set(actor=None, queue=Queue.objects.get(code="GENERAL"), agent=people.li, level=4)
    EmergencyNumber.objects.create(number="110", name="公安报警")
    return people


DAY = "start=2025-03-03T00:00:00Z&end=2025-03-04T00:00:00Z"
FLOW = {"code": "NEW", "name": "新流程", "definition": DIRECT_FLOW}

# operation → the people allowed; everyone else gets 403 permission_denied
MATRIX: list[tuple[str, str, Any, set[str]]] = [
    ("get", f"{API}/queues", None, {"li", "chen", "ma"}),
    ("get", f"{API}/queues/GENERAL", None, {"li", "chen", "ma"}),
    ("get", f"{API}/flows", None, {"chen", "ma"}),
    ("post", f"{API}/flows", FLOW, {"ma"}),
    ("put", f"{API}/flows/DIRECT", {"name": "直通", "definition": DIRECT_FLOW}, {"ma"}),
    ("get", f"{API}/hotline-numbers", None, {"chen", "ma"}),
    ("put", f"{API}/hotline-numbers/12345", {"name": "12345", "flow": "DIRECT"}, {"ma"}),
    ("get", f"{API}/lists", None, {"chen", "ma"}),
    ("post", f"{API}/lists", {"kind": "black", "number": "13900009999"}, {"chen"}),
    ("get", f"{API}/emergency-numbers", None, {"li", "chen", "ma"}),
    ("get", f"{API}/voicemails", None, {"li", "chen"}),
    ("get", f"{API}/callbacks", None, {"li", "chen"}),
    ("get", f"{API}/calls", None, {"chen"}),
    # leaders read the queue figures (the reports); an agent reads only their own
    ("get", f"{API}/stats/queues?{DAY}", None, {"chen", "zhao", "liu"}),
    ("get", f"{API}/stats/agents?{DAY}", None, {"li", "chen"}),
]


@pytest.mark.parametrize(
    ("method", "url", "body", "allowed"), MATRIX, ids=[f"{m} {u[len(API) :]}" for m, u, _, _ in MATRIX]
)
def test_permissions(centre: Any, method: str, url: str, body: Any, allowed: set[str]) -> None:
    for name, user in centre.all().items():
        response = call(user, method, url, body)
        if name in allowed:
            assert response.status_code in (200, 201), (name, response.status_code, response.content)
            IvrFlow.objects.filter(code="NEW").delete()
            ListEntry.objects.all().delete()
        else:
            assert response.status_code == 403, (name, response.status_code, response.content)
            assert response.json()["code"] == "permission_denied"
    assert call(None, method, url, body).status_code == 401


def test_agent_cannot_edit_flows_and_supervisor_can_manage_lists(centre: Any) -> None:
    denied = call(centre.li, "put", f"{API}/flows/DIRECT", {"name": "x", "definition": DIRECT_FLOW})
    assert denied.status_code == 403
    assert IvrFlow.objects.get(code="DIRECT").name == "直通"
    added = call(
        centre.chen, "post", f"{API}/lists", {"kind": "vip", "number": "137 0000 1111", "reason": "人大代表"}
    )
    assert added.status_code == 201, added.content
    entry = added.json()
    assert (entry["number"], entry["kind"], entry["created_by"]) == ("13700001111", "vip", "陈静")
    listed = call(centre.chen, "get", f"{API}/lists?kind=vip").json()
    assert [e["number"] for e in listed["items"]] == ["13700001111"]
    assert call(centre.li, "delete", f"{API}/lists/{entry['id']}").status_code == 403
    assert call(centre.chen, "delete", f"{API}/lists/{entry['id']}").status_code == 204
    assert not ListEntry.objects.exists()


def test_invalid_flow_is_a_structured_422(centre: Any) -> None:
    body = {
        "code": "BAD",
        "name": "坏流程",
        "definition": {
            "start": "m",
            "nodes": {
                "m": {
                    "type": "menu",
                    "prompts": ["menu"],
                    "options": {"0": "q", "1": "nowhere"},
                    "on_fail": "q",
                },
                "q": {"type": "queue", "queue": "NOPE"},
            },
        },
    }
    response = call(centre.ma, "post", f"{API}/flows", body)
    assert response.status_code == 422
    data = response.json()
    assert data["code"] == "invalid_flow"
    found = {(e["node"], e["field"], e["code"]) for e in data["errors"]}
    assert found == {
        ("m", "options.0", "reserved_digit"),
        ("m", "options.1", "unknown_node"),
        ("q", "queue", "unknown_queue"),
        (None, "human", "missing_human"),
    }
    assert all(e["message"] for e in data["errors"])
    assert "q.queue" in data["fields"]
    assert not IvrFlow.objects.filter(code="BAD").exists()
    updated = call(
        centre.ma, "put", f"{API}/flows/DIRECT", {"name": "直通", "definition": body["definition"]}
    )
    assert updated.status_code == 422 and IvrFlow.objects.get(code="DIRECT").version == 1


def test_flow_create_and_update(centre: Any) -> None:
    created = call(centre.ma, "post", f"{API}/flows", FLOW)
    assert created.status_code == 201 and created.json()["version"] == 1
    assert call(centre.ma, "post", f"{API}/flows", FLOW).status_code == 422  # the code exists
    updated = call(centre.ma, "put", f"{API}/flows/NEW", {"name": "新流程2", "definition": DIRECT_FLOW})
    assert updated.json()["version"] == 2 and updated.json()["updated_by"] == "马管理"
    assert (
        call(centre.ma, "put", f"{API}/flows/NONE", {"name": "x", "definition": DIRECT_FLOW}).status_code
        == 404
    )
    detail = call(centre.chen, "get", f"{API}/flows/NEW").json()
    assert detail["definition"] == DIRECT_FLOW


def test_bad_input(centre: Any) -> None:
    bad_number = call(centre.chen, "post", f"{API}/lists", {"kind": "black", "number": "abc"})
    assert bad_number.status_code == 422 and "number" in bad_number.json()["fields"]
    bad_kind = call(centre.chen, "get", f"{API}/lists?kind=grey")
    assert bad_kind.status_code == 422 and bad_kind.json()["code"] == "validation_error"
    missing = call(centre.chen, "post", f"{API}/lists", {"kind": "black"})
    assert missing.status_code == 422 and "number" in missing.json()["fields"]
    backwards = call(
        centre.chen, "get", f"{API}/stats/queues?start=2025-03-04T00:00:00Z&end=2025-03-03T00:00:00Z"
    )
    assert backwards.status_code == 422 and "end" in backwards.json()["fields"]
    too_long = call(
        centre.chen, "get", f"{API}/stats/queues?start=2025-01-01T00:00:00Z&end=2025-03-03T00:00:00Z"
    )
    assert too_long.status_code == 422
    unknown_flow = call(centre.ma, "put", f"{API}/hotline-numbers/12345", {"name": "x", "flow": "NONE"})
    assert unknown_flow.status_code == 422 and "flow" in unknown_flow.json()["fields"]
    assert call(centre.chen, "get", f"{API}/calls?agent=nobody").status_code == 422


def test_queue_detail_lists_members(centre: Any) -> None:
    detail = call(centre.li, "get", f"{API}/queues/GENERAL").json()
    assert detail["members"] == [{"agent_id": centre.li.pk, "username": "li", "name": "李晓", "level": 4}]
    assert call(centre.li, "get", f"{API}/queues/NONE").status_code == 404


def test_voicemail_claim_and_process(centre: Any) -> None:
    vm = Voicemail.objects.create(
        call_id="c1", caller="13800000001", audio_path="a.wav", seconds=20, received_at=timezone.now()
    )
    listed = call(centre.li, "get", f"{API}/voicemails").json()["items"]
    assert [v["caller"] for v in listed] == ["13800000001"]  # agents see the number (audited)
    assert AuditEvent.objects.filter(action="read", object_type="callcenter.caller").exists()
    assert call(centre.li, "post", f"{API}/voicemails/{vm.pk}/claim").json()["state"] == "claimed"
    taken = call(centre.chen, "post", f"{API}/voicemails/{vm.pk}/claim")
    assert taken.status_code == 409 and taken.json()["code"] == "already_claimed"
    body = {"request_type": "consultation", "title": "留言", "content": "询问公积金提取"}
    done = call(centre.li, "post", f"{API}/voicemails/{vm.pk}/process", body)
    assert done.status_code == 201, done.content
    assert done.json()["state"] == "done" and done.json()["order"]
    bad = call(centre.li, "post", f"{API}/voicemails/{vm.pk}/process", {**body, "request_type": "nope"})
    assert bad.status_code == 422


def test_callback_claim_and_complete(centre: Any) -> None:
    cb = CallbackRequest.objects.create(
        caller="13800000001", queue="GENERAL", reason="abandoned", requested_at=timezone.now()
    )
    assert call(centre.li, "post", f"{API}/callbacks/{cb.pk}/claim").status_code == 200
    bad = call(centre.li, "post", f"{API}/callbacks/{cb.pk}/complete", {"result": "maybe"})
    assert bad.status_code == 422
    done = call(
        centre.li, "post", f"{API}/callbacks/{cb.pk}/complete", {"result": "reached", "note": "已解答"}
    )
    assert done.status_code == 200 and done.json()["state"] == "done"
    assert call(centre.li, "get", f"{API}/callbacks").json()["items"] == []
    assert len(call(centre.li, "get", f"{API}/callbacks?state=done").json()["items"]) == 1


def _calls(people: Any) -> None:
    rec = DjangoRecorder()
    for i in range(30):
        rec.call(
            r.CallRecord(
                call_id=f"c{i}", direction="inbound", caller=f"138000000{i:02d}", called="12345", trunk="t1",
                started_at=T0 + timedelta(minutes=i), ended_at=T0 + timedelta(minutes=i, seconds=90),
                outcome="answered" if i % 3 else "abandoned", queue="GENERAL",
                agent_id=people.li.pk if i % 3 else None,
            )
        )  # fmt: skip
    rec.flush()


def test_call_record_search(centre: Any) -> None:
    _calls(centre)
    page = call(
        centre.chen, "get", f"{API}/calls?limit=5&since=2025-03-03T02:10:00Z&until=2025-03-03T02:20:00Z"
    ).json()
    assert page["count"] == 10 and [c["call_id"] for c in page["items"]] == [
        "c19",
        "c18",
        "c17",
        "c16",
        "c15",
    ]
    assert call(centre.chen, "get", f"{API}/calls?outcome=abandoned").json()["count"] == 10
    assert call(centre.chen, "get", f"{API}/calls?agent=li").json()["count"] == 20
    one = call(centre.chen, "get", f"{API}/calls?number=13800000007").json()
    assert [c["call_id"] for c in one["items"]] == ["c7"] and one["items"][0]["caller"] == "13800000007"
    assert call(centre.chen, "get", f"{API}/calls?queue=OTHER").json()["count"] == 0


def test_statistics_endpoints(centre: Any) -> None:
    rec = DjangoRecorder()
    rec.queue_event(r.QueueEvent(kind=r.QE_ENTER, at=T0, queue="GENERAL", call_id="c1"))
    rec.queue_event(
        r.QueueEvent(
            kind=r.QE_CONNECT,
            at=T0 + timedelta(seconds=8),
            queue="GENERAL",
            call_id="c1",
            agent_id=centre.li.pk,
        )
    )
    rec.agent_state(
        r.AgentStateChange(agent_id=centre.li.pk, state=r.AGENT_READY, at=T0 - timedelta(minutes=1))
    )
    rec.agent_state(r.AgentStateChange(agent_id=centre.chen.pk, state=r.AGENT_READY, at=T0))
    rec.flush()
    window = "start=2025-03-03T01:00:00Z&end=2025-03-03T03:00:00Z"
    queues = call(centre.chen, "get", f"{API}/stats/queues?{window}").json()
    assert queues["total"]["offered"] == 1 and queues["queues"][0]["service_level"] == 1.0
    assert queues["queues"][0]["asa_s"] == 8.0
    mine = call(centre.li, "get", f"{API}/stats/agents?{window}").json()
    assert [a["agent_id"] for a in mine["agents"]] == [centre.li.pk]  # an agent sees only themselves
    assert mine["agents"][0]["answered"] == 1
    other = call(centre.li, "get", f"{API}/stats/agents?{window}&agent=chen")
    assert other.status_code == 403
    everyone = call(centre.chen, "get", f"{API}/stats/agents?{window}").json()
    assert {a["agent_id"] for a in everyone["agents"]} == {centre.li.pk, centre.chen.pk}
