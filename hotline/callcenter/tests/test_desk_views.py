"""The agent desktop's views through Django's test client: who may open it, the callback and
voicemail list (and claiming from it), and the desk's intake answer."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hotline.audit.models import AuditEvent
from hotline.callcenter.choices import CallbackReason, CallbackState, VoicemailState
from hotline.callcenter.models import (
    AgentProfile,
    CallbackRequest,
    EmergencyNumber,
    PauseReason,
    Seat,
    Voicemail,
)
from hotline.workorders.choices import OrderState
from hotline.workorders.models import WorkOrder

pytestmark = pytest.mark.django_db

BACKEND = "hotline.accounts.backends.RoleBackend"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
DESK = reverse("callcenter:desk")
CALLBACKS = reverse("callcenter:desk_callbacks")
INTAKE = reverse("callcenter:desk_intake")


def as_user(client: Client, user: Any) -> Client:
    client.force_login(user, backend=BACKEND)
    return client


def html(response: Any) -> str:
    return response.content.decode()


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


def callback(caller: str, minutes_ago: int, state: str = CallbackState.NEW, **fields: Any) -> CallbackRequest:
    return CallbackRequest.objects.create(
        call_id=f"c-{caller}-{minutes_ago}",
        caller=caller,
        queue="general",
        reason=fields.pop("reason", CallbackReason.ABANDONED),
        requested_at=timezone.now() - timedelta(minutes=minutes_ago),
        state=state,
        **fields,
    )


def voicemail(caller: str, minutes_ago: int, state: str = VoicemailState.NEW, **fields: Any) -> Voicemail:
    return Voicemail.objects.create(
        call_id=f"v-{caller}-{minutes_ago}",
        caller=caller,
        audio_path=f"voicemail/{caller}.wav",
        seconds=21.0,
        received_at=timezone.now() - timedelta(minutes=minutes_ago),
        state=state,
        **fields,
    )


# --- Who may open the desk -------------------------------------------------------------------------


@pytest.mark.parametrize("url", [DESK, CALLBACKS, INTAKE])
def test_agents_and_supervisors_open_the_desk_others_are_refused(
    client: Client, people: Any, url: str
) -> None:
    # agent, supervisor, and the dispatcher, who sits at a seat for revisit calls (callcenter.take_calls)
    allowed = {"li", "chen", "zhou"}
    for name, user in people.all().items():
        response = as_user(client, user).get(url)
        expected = 200 if name in allowed else 403
        assert response.status_code == expected, (url, name, response.status_code)


def test_a_unit_handler_is_refused_and_strangers_sign_in_first(client: Client, people: Any) -> None:
    handler = next(user for user in people.all().values() if user.role == "handler")
    assert as_user(client, handler).get(DESK).status_code == 403
    assert client.post(INTAKE, {}).status_code == 403
    client.logout()
    for url in (DESK, CALLBACKS, INTAKE):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    response = client.post(INTAKE, {"title": "x"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not WorkOrder.objects.exists()


def test_the_desk_page_has_the_bar_the_form_and_the_lists(client: Client, people: Any, city: Any) -> None:
    seat = Seat.objects.create(extension="8012", name="A-12")
    AgentProfile.objects.create(user=people.li, default_seat=seat)
    PauseReason.objects.create(code="meal", name="就餐", sort_order=1)
    PauseReason.objects.create(code="gone", name="已停用", active=False)
    EmergencyNumber.objects.create(name="公安", number="110", sort_order=1)
    EmergencyNumber.objects.create(name="旧号码", number="999", active=False)

    page = html(as_user(client, people.li).get(DESK))
    assert '<html lang="zh-hans">' in page
    for testid in (
        "softphone", "softphone-state", "switch-down", "btn-login", "btn-ready", "btn-pause", "btn-logout",
        "btn-unlock", "btn-answer", "btn-hangup", "btn-hold", "btn-unhold", "btn-mute", "btn-transfer",
        "transfer-target", "transfer-submit", "btn-consult", "btn-dial", "dial-number", "screen-pop",
        "screen-pop-caller", "caller-panel", "draft-notice", "intake-form", "desk-alert", "callbacks",
    ):  # fmt: skip
        assert f'data-testid="{testid}"' in page, testid
    # The login extension defaults to the agent's seat; only active reasons and numbers are offered.
    assert re.search(r'data-testid="login-extension"[^>]*value="8012"', page)
    assert '<option value="meal">就餐</option>' in page and "已停用" not in page
    assert 'data-testid="btn-emergency-110"' in page and "btn-emergency-999" not in page
    # The intake form posts to the desk, not to the intake page.
    assert f'hx-post="{INTAKE}"' in page
    assert f'data-agent-id="{people.li.pk}"' in page
    texts = json.loads(
        re.search(r'<script id="desk-texts" type="application/json">(.*?)</script>', page, re.S)[1]
    )
    assert set(texts["states"]) >= {"logged_out", "ready", "ringing", "talking", "hold", "wrap_up", "paused"}
    assert set(texts["marks"]) == {"vip", "blacklisted", "whitelisted", "repeat", "transferred"}


def test_the_agents_home_links_to_the_desk(client: Client, people: Any) -> None:
    page = html(as_user(client, people.li).get(reverse("core:home")))
    assert f'href="{DESK}"' in page
    assert 'data-testid="home-desk"' in page


# --- The callback list -----------------------------------------------------------------------------


def test_the_list_shows_open_callbacks_and_new_voicemails_oldest_first(client: Client, people: Any) -> None:
    callback("13800000001", 30)
    callback("13800000002", 10, state=CallbackState.CLAIMED, claimed_by=people.chen)
    callback("13800000003", 50, state=CallbackState.DONE)
    callback("13800000004", 40, state=CallbackState.FAILED)
    voicemail("13900000005", 20)
    voicemail("13900000006", 60, state=VoicemailState.DONE)
    voicemail("13900000007", 70, state=VoicemailState.CLAIMED, claimed_by=people.chen)

    response = as_user(client, people.li).get(CALLBACKS)
    assert response.status_code == 200
    page = html(response)
    rows = re.findall(r'data-kind="(\w+)" data-id="\d+" data-state="(\w+)"', page)
    # Oldest first: the callback of 30 min ago, the voicemail of 20, the claimed callback of 10.
    assert rows == [("callback", "new"), ("voicemail", "new"), ("callback", "claimed")]
    # Numbers are masked in the list; nobody's number is read unmasked just by showing it.
    assert "138****0001" in page and "13800000001" not in page
    assert "139****0005" in page
    for closed in ("0003", "0004", "0006", "0007"):
        assert closed not in page
    assert "陈静" in page  # who holds the claimed one
    assert page.count('data-testid="callback-dial"') == 1  # not on the one someone else holds
    assert page.count('data-testid="voicemail-take"') == 1
    assert not AuditEvent.objects.filter(action="read").exists()


def test_an_empty_list_says_so(client: Client, people: Any) -> None:
    callback("13800000003", 50, state=CallbackState.DONE)
    page = html(as_user(client, people.li).get(CALLBACKS))
    assert 'data-testid="callbacks-empty"' in page and 'data-testid="callback-row"' not in page


def test_dialling_a_callback_claims_it_and_hands_over_its_number(client: Client, people: Any) -> None:
    row = callback("13800000001", 30)
    response = as_user(client, people.li).post(CALLBACKS, {"action": "dial", "id": row.pk})
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {
        "desk:dial": {"callback_id": row.pk, "number": "13800000001"}
    }
    row.refresh_from_db()
    assert (row.state, row.claimed_by) == (CallbackState.CLAIMED, people.li)
    page = html(response)
    assert "callback-result-no_answer" in page  # the claimed row now offers the outcomes
    reads = AuditEvent.objects.filter(action="read", object_id=str(row.pk))
    assert reads.count() == 1

    # Dialling it again is allowed to its holder; another agent is refused with a message.
    assert client.post(CALLBACKS, {"action": "dial", "id": row.pk}).status_code == 200
    response = as_user(client, people.chen).post(CALLBACKS, {"action": "dial", "id": row.pk})
    assert response.status_code == 409
    assert "HX-Trigger" not in response
    assert "desk-cb-problem" in html(response)


def test_the_outcome_of_a_callback(client: Client, people: Any, take: Any) -> None:
    row = callback("13800000001", 30)
    as_user(client, people.li).post(CALLBACKS, {"action": "dial", "id": row.pk})
    response = client.post(CALLBACKS, {"action": "result", "result": "no_answer", "id": row.pk})
    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.state, row.attempts, row.claimed_by) == (CallbackState.NEW, 1, None)

    order = take(citizen_phone="13800000001")
    client.post(CALLBACKS, {"action": "dial", "id": row.pk})
    client.post(CALLBACKS, {"action": "result", "result": "reached", "id": row.pk, "order": order.number})
    row.refresh_from_db()
    assert (row.state, row.order) == (CallbackState.DONE, order)
    assert 'data-testid="callback-row"' not in html(client.get(CALLBACKS))


def test_bad_list_requests_are_answered_not_crashed(client: Client, people: Any) -> None:
    as_user(client, people.li)
    for data in (
        {"action": "dial", "id": "x"},
        {"action": "dial", "id": "999999"},
        {"action": "dial"},
        {"action": "result", "result": "reached", "id": "1"},
        {"action": "launch", "id": "1"},
        {"action": "voicemail", "id": ""},
    ):
        response = client.post(CALLBACKS, data)
        assert 400 <= response.status_code < 500, data
        assert "desk-cb-problem" in html(response)
    row = callback("13800000001", 30)
    response = client.post(CALLBACKS, {"action": "result", "result": "maybe", "id": row.pk})
    assert response.status_code == 422


def test_taking_a_voicemail_claims_it_and_the_order_closes_it(
    client: Client, people: Any, tree: Any, city: Any
) -> None:
    vm = voicemail("13900000005", 20)
    response = as_user(client, people.li).post(CALLBACKS, {"action": "voicemail", "id": vm.pk})
    assert json.loads(response["HX-Trigger"]) == {
        "desk:voicemail": {"voicemail_id": vm.pk, "number": "13900000005"}
    }
    vm.refresh_from_db()
    assert (vm.state, vm.claimed_by) == (VoicemailState.CLAIMED, people.li)

    response = client.post(INTAKE, intake_data(tree, city, citizen_phone="13900000005", voicemail=vm.pk))
    assert response.status_code == 200
    order = WorkOrder.objects.get()
    vm.refresh_from_db()
    assert (vm.state, vm.order) == (VoicemailState.DONE, order)
    assert json.loads(response["HX-Trigger"]) == {"desk:callbacks": {}}
    assert f'data-taken-number="{order.number}"' in html(response)


def test_a_voicemail_held_by_someone_else_is_not_taken_in(
    client: Client, people: Any, tree: Any, city: Any
) -> None:
    vm = voicemail("13900000005", 20, state=VoicemailState.CLAIMED, claimed_by=people.chen)
    as_user(client, people.li)
    response = client.post(INTAKE, intake_data(tree, city, voicemail=vm.pk))
    assert response.status_code == 422
    assert not WorkOrder.objects.exists()
    assert 'data-testid="form-errors"' in html(response)
    for bad in ("abc", "999999"):
        response = client.post(INTAKE, intake_data(tree, city, voicemail=bad))
        assert response.status_code == 422
    assert not WorkOrder.objects.exists()


# --- Intake from the desk --------------------------------------------------------------------------


def test_the_desk_takes_an_order_in_like_the_intake_page(
    client: Client, people: Any, tree: Any, city: Any
) -> None:
    as_user(client, people.li)
    assert client.post(reverse("workorders:new"), intake_data(tree, city)).status_code == 302
    photo = SimpleUploadedFile("现场.png", PNG, content_type="image/png")
    response = client.post(
        INTAKE, {**intake_data(tree, city), "attachments": [photo]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    page, desk_order = html(response), WorkOrder.objects.latest("id")
    page_order = WorkOrder.objects.earliest("id")
    fields = (
        "state", "channel", "title", "content", "citizen_name", "citizen_phone", "citizen_id",
        "request_type_id", "category_id", "region_id", "address", "urgency", "anonymous", "confidential",
        "created_by_id",
    )  # fmt: skip
    assert [getattr(desk_order, f) for f in fields] == [getattr(page_order, f) for f in fields]
    assert desk_order.state == OrderState.PENDING_DISPATCH
    assert desk_order.number != page_order.number
    assert desk_order.attachments.get().name == "现场.png"
    # The answer: the tracking number, then a new form for the same caller.
    assert f'data-taken-number="{desk_order.number}"' in page
    assert 'data-testid="intake-form"' in page
    assert re.search(r'id="id_citizen_phone"[^>]*value="13912345678"', page)
    assert "小区门口路灯不亮" in page  # the title of the saved order, once, in the notice
    assert 'name="title" id="id_title" class="wo-input" value=""' in page


def test_the_desk_closes_an_answered_request_at_once(
    client: Client, people: Any, tree: Any, city: Any
) -> None:
    as_user(client, people.li)
    data = intake_data(tree, city, request_type=tree.consultation.code, submit="close")
    assert client.post(INTAKE, data).status_code == 422
    response = client.post(INTAKE, {**data, "direct_answer": "已告知市民报修电话。"})
    assert response.status_code == 200
    order = WorkOrder.objects.get()
    assert order.state == OrderState.CLOSED and order.closed_directly


def test_bad_input_answers_422_with_the_errors_and_keeps_what_was_typed(
    client: Client, people: Any, tree: Any, city: Any
) -> None:
    as_user(client, people.li)
    response = client.post(INTAKE, intake_data(tree, city, title="", request_type="", address="建设路8号"))
    assert response.status_code == 422
    page = html(response)
    assert 'data-testid="form-errors"' in page
    assert "这个字段是必填项" in page and "请选择诉求类型" in page
    assert "小区门口路灯坏了一个星期" in page and 'value="建设路8号"' in page
    assert f'hx-post="{INTAKE}"' in page  # still the desk's form
    assert not WorkOrder.objects.exists()

    # The service's refusal lands on the form too.
    response = client.post(INTAKE, intake_data(tree, city, citizen_phone=""))
    assert response.status_code == 422
    assert "电话诉求需要来电号码" in html(response)
    assert not WorkOrder.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"request_type": "nonsense", "title": "t", "content": "c", "citizen_phone": "1"},
        {"category": "NOPE", "region": "NOPE", "urgency": "panic", "channel": "pigeon"},
        {"submit": "explode", "anonymous": "maybe", "voicemail": "-1"},
        {"title": "x" * 5000, "content": "y", "citizen_phone": "1" * 200},
    ],
)
def test_desk_intake_never_fails_with_a_server_error(
    client: Client, people: Any, tree: Any, city: Any, data: dict[str, Any]
) -> None:
    response = as_user(client, people.li).post(INTAKE, data)
    assert response.status_code == 422
    assert 'data-testid="form-errors"' in html(response)
    assert not WorkOrder.objects.exists()


def test_an_empty_desk_form_can_be_asked_for_with_the_number(client: Client, people: Any) -> None:
    page = html(as_user(client, people.li).get(INTAKE, {"phone": "13812345678"}))
    assert re.search(r'id="id_citizen_phone"[^>]*value="13812345678"', page)
    assert "data-taken-number" not in page
