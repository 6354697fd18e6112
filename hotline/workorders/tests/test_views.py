"""The work-order screens through Django's test client: who may open which, intake, the caller's
history, scope, conflicts, every step of the loop from the order page, and query counts."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from hotline.workorders import services as s
from hotline.workorders.choices import OrderState
from hotline.workorders.models import Attachment, WorkOrder

pytestmark = pytest.mark.django_db

BACKEND = "hotline.accounts.backends.RoleBackend"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _reset_language() -> Any:
    yield
    translation.deactivate()


def as_user(client: Client, user: Any) -> Client:
    client.force_login(user, backend=BACKEND)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def dispatched(take: Any, people: Any, city: Any, **changes: Any) -> WorkOrder:
    order = take(**changes)
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    return order


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


# --- Who may open which screen -----------------------------------------------------------------

SCREENS = [
    ("workorders:new", {"li", "chen", "zhou"}),
    ("workorders:queue", {"zhou"}),
    ("workorders:inbox", {"wang", "sun", "qian", "wu", "hu"}),
    ("workorders:leader", {"zhao", "liu"}),
    ("workorders:list", {"li", "chen", "zhou", "ma", "wang", "sun", "qian", "wu", "hu", "zhao", "liu"}),
]


@pytest.mark.parametrize(("url_name", "allowed"), SCREENS)
def test_each_screen_opens_for_its_roles_only(
    client: Client, people: Any, tree: Any, url_name: str, allowed: set[str]
) -> None:
    for name, user in people.all().items():
        response = as_user(client, user).get(reverse(url_name))
        expected = 200 if name in allowed else 403
        assert response.status_code == expected, (url_name, name, response.status_code)
        if expected == 200:
            assert '<html lang="zh-hans">' in html(response)


def test_screens_send_anonymous_users_to_sign_in(client: Client, db: Any) -> None:
    for url_name in ("workorders:new", "workorders:queue", "workorders:inbox", "workorders:list"):
        response = client.get(reverse(url_name))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_menu_shows_each_role_its_screens(client: Client, people: Any) -> None:
    from hotline.core.navigation import menu_for

    def names(user: Any) -> set[str]:
        return {item.url_name for item in menu_for(user)}

    assert {"workorders:new", "workorders:list"} <= names(people.li)
    assert "workorders:queue" not in names(people.li)
    assert {"workorders:queue", "workorders:new"} <= names(people.zhou)
    assert "workorders:inbox" in names(people.wang) and "workorders:new" not in names(people.wang)
    assert "workorders:leader" in names(people.zhao) and "workorders:queue" not in names(people.zhao)
    page = html(as_user(client, people.wang).get(reverse("workorders:inbox")))
    assert "承办待办" in page or "待办工单" in page


# --- Intake ------------------------------------------------------------------------------------


def test_intake_creates_an_order_and_shows_its_number(
    client: Client, people: Any, tree: Any, city: Any
) -> None:
    as_user(client, people.li)
    photo = SimpleUploadedFile("现场.png", PNG, content_type="image/png")
    response = client.post(reverse("workorders:new"), {**intake_data(tree, city), "attachments": [photo]})
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert response["Location"] == f"{reverse('workorders:new')}?done={order.number}"
    assert order.state == OrderState.PENDING_DISPATCH
    assert order.created_by == people.li
    assert (order.category, order.region, order.request_type) == (
        tree.enforcement,
        city.east1,
        tree.complaint,
    )
    assert order.citizen is not None and order.citizen.name == "张三"
    assert order.attachments.get().name == "现场.png"

    page = html(client.get(response["Location"]))
    assert f'data-testid="tracking-number">{order.number}<' in page
    assert "新建工单" in page and 'accesskey="n"' in page
    assert "待派单" in page


def test_answer_now_and_close_needs_the_answer(client: Client, people: Any, tree: Any, city: Any) -> None:
    as_user(client, people.li)
    data = intake_data(tree, city, request_type=tree.consultation.code, submit="close")
    response = client.post(reverse("workorders:new"), data)
    assert response.status_code == 422
    assert not WorkOrder.objects.exists()
    assert "小区门口路灯不亮" in html(response)  # typed values kept

    response = client.post(reverse("workorders:new"), {**data, "direct_answer": "已告知市民报修电话。"})
    assert response.status_code == 302
    order = WorkOrder.objects.get()
    assert order.state == OrderState.CLOSED and order.closed_directly
    assert "已办结" in html(client.get(response["Location"]))


def test_intake_errors_keep_what_was_typed(client: Client, people: Any, tree: Any, city: Any) -> None:
    as_user(client, people.li)
    response = client.post(
        reverse("workorders:new"), intake_data(tree, city, title="", request_type="", address="建设路8号")
    )
    assert response.status_code == 422
    page = html(response)
    assert "这个字段是必填项" in page
    assert "请选择诉求类型" in page
    assert "小区门口路灯坏了一个星期" in page  # content kept
    assert 'value="13912345678"' in page
    assert 'value="建设路8号"' in page
    assert "城管执法" in page  # the picked category is shown again, by its path
    assert f'value="{tree.enforcement.code}"' in page
    assert not WorkOrder.objects.exists()


def test_intake_shows_the_services_refusal_on_the_form(
    client: Client, people: Any, tree: Any, city: Any
) -> None:
    as_user(client, people.li)
    response = client.post(reverse("workorders:new"), intake_data(tree, city, citizen_phone=""))
    assert response.status_code == 422
    page = html(response)
    assert "诉求信息不完整" in page  # the service's message, in Chinese
    assert "电话诉求需要来电号码" in page  # its field message on the phone field
    assert "小区门口路灯不亮" in page
    assert not WorkOrder.objects.exists()


def test_phone_is_prefilled_from_the_screen_pop(client: Client, people: Any, tree: Any) -> None:
    page = html(as_user(client, people.li).get(reverse("workorders:new") + "?phone=13812345678"))
    assert 'value="13812345678"' in page
    assert re.search(r'id="id_citizen_phone"[^>]*autofocus', page)


def test_the_callers_profile_and_last_four_orders(client: Client, people: Any, take: Any) -> None:
    orders = [take(title=f"第{i}次来电") for i in range(5)]
    take(citizen_phone="13700000000", title="别人的工单")
    as_user(client, people.li)
    page = html(client.get(reverse("workorders:caller"), {"citizen_phone": "13812345678"}))
    assert "王小明" in page  # the profile made by the first order
    assert "东一街道建设路12号" in page
    shown = re.findall(r">(\d{13})<", page)
    assert shown == [o.number for o in reversed(orders)][:4]
    assert "别人的工单" not in page
    assert "待派单" in page

    unknown = html(client.get(reverse("workorders:caller"), {"citizen_phone": "13600001111"}))
    assert "首次来电" in unknown
    short = html(client.get(reverse("workorders:caller"), {"citizen_phone": "138"}))
    assert "输入来电号码" in short


def test_pickers_search_by_name(client: Client, people: Any, tree: Any, city: Any) -> None:
    as_user(client, people.li)
    page = html(client.get(reverse("workorders:pick_category"), {"q": "城管"}))
    assert tree.enforcement.code in page and "城乡建设 / 城市建设和市政管理 / 城管执法" in page
    assert "自来水供应" not in page
    # a picked label searches its last part
    page = html(
        client.get(reverse("workorders:pick_category"), {"q": "城乡建设 / 城市建设和市政管理 / 城管执法"})
    )
    assert tree.enforcement.code in page
    page = html(client.get(reverse("workorders:pick_region"), {"q": "东一"}))
    assert "东区 / 东一街道" in page and city.east1.code in page
    page = html(client.get(reverse("workorders:pick_unit"), {"q": "热线"}))
    assert "CENTRE" not in page  # the centre does not handle orders
    page = html(client.get(reverse("workorders:pick_unit"), {"q": "东一"}))
    assert "ST-EAST1" in page and "CM-EAST1-1" in page


# --- Scope -------------------------------------------------------------------------------------


def test_a_street_sees_only_its_orders_and_their_files(
    client: Client, people: Any, take: Any, city: Any
) -> None:
    order = dispatched(take, people, city)
    s.order_sign(order=order, actor=people.wang)
    photo = SimpleUploadedFile("照片.png", PNG, content_type="image/png")
    s.order_note(order=order, actor=people.wang, text="现场照片", attachments=[photo])
    attachment = Attachment.objects.get()
    detail = reverse("workorders:detail", args=[order.number])
    file_url = reverse("workorders:attachment", args=[order.number, attachment.pk])

    as_user(client, people.qian)  # 东二街道
    assert client.get(detail).status_code == 404
    assert client.get(file_url).status_code == 404
    assert order.number not in html(client.get(reverse("workorders:list")))

    as_user(client, people.wang)
    assert client.get(detail).status_code == 200
    response = client.get(file_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    # an attachment id of another order does not open through this one
    other = dispatched(take, people, city)
    assert client.get(reverse("workorders:attachment", args=[other.number, attachment.pk])).status_code == 404


def test_units_see_the_citizen_masked_when_anonymous(
    client: Client, people: Any, take: Any, city: Any
) -> None:
    order = dispatched(take, people, city, anonymous=True)
    page = html(as_user(client, people.wang).get(reverse("workorders:detail", args=[order.number])))
    assert "13812345678" not in page and "138****5678" in page
    assert "王小明" not in page and "王**" in page
    page = html(as_user(client, people.zhou).get(reverse("workorders:detail", args=[order.number])))
    assert "13812345678" in page


# --- The order page: actions per role and state ---------------------------------------------------


def actions_on(client: Client, user: Any, order: WorkOrder) -> list[str]:
    page = html(as_user(client, user).get(reverse("workorders:detail", args=[order.number])))
    return re.findall(r'data-testid="form-([a-z_]+)"', page)


def test_the_order_page_offers_the_steps_each_user_may_take(
    client: Client, people: Any, take: Any, city: Any
) -> None:
    order = take()
    assert actions_on(client, people.zhou, order)[0] == "dispatch"
    assert actions_on(client, people.wang, order) == []  # not dispatched: not the street's yet
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office, assist_units=[city.housing])
    assert actions_on(client, people.wang, order)[:2] == ["sign", "return"]
    assert actions_on(client, people.hu, order) == ["note"]  # the assisting unit
    assert "instruct" in actions_on(client, people.zhao, order)
    assert "dispatch" not in actions_on(client, people.zhou, order)
    s.order_sign(order=order, actor=people.wang)
    assert actions_on(client, people.wang, order)[:4] == ["answer", "return", "extension_request", "note"]
    assert actions_on(client, people.li, order) == ["note"]


def post_action(
    client: Client, order: WorkOrder, action: str, data: dict[str, Any] | None = None, **extra: Any
) -> Any:
    payload = {f"{action}-{key}": value for key, value in (data or {}).items()}
    payload[f"{action}-seen"] = WorkOrder.objects.get(pk=order.pk).state
    return client.post(reverse("workorders:act", args=[order.number, action]), {**payload, **extra})


def test_the_whole_loop_from_the_order_page(client: Client, people: Any, take: Any, city: Any) -> None:
    order = take()
    as_user(client, people.zhou)
    response = post_action(client, order, "dispatch", {"lead_unit": "ST-EAST1", "assist_units": ["HOUSING"]})
    assert response.status_code == 302
    page = html(client.get(response["Location"]))
    assert "已派单至东一街道办事处" in page

    as_user(client, people.wang)
    assert post_action(client, order, "sign").status_code == 302
    photo = SimpleUploadedFile("整改.png", PNG, content_type="image/png")
    assert post_action(client, order, "note", {"text": "已到现场", "attachments": [photo]}).status_code == 302
    assert (
        post_action(client, order, "extension_request", {"working_days": 2, "reason": "需协调"}).status_code
        == 302
    )

    as_user(client, people.zhou)
    extension = order.extensions.get()
    response = post_action(
        client, order, "extension_decide", {"extension": extension.pk, "decision": "accept"}
    )
    assert response.status_code == 302
    escalate = post_action(
        client, order, "supervise", {"kind": "supervise", "message": "请加快办理", "working_days": 2,
                                     "escalate_to": people.zhao.pk},
    )  # fmt: skip
    assert escalate.status_code == 302

    as_user(client, people.zhao)
    assert post_action(client, order, "instruct", {"text": "请东一街道限期整改"}).status_code == 302

    as_user(client, people.wang)
    page = html(client.get(reverse("workorders:detail", args=[order.number])))
    assert 'data-testid="instructions"' in page and "请东一街道限期整改" in page
    response = post_action(client, order, "answer", {"result": "resolved", "answer": "路灯已修复。"})
    assert response.status_code == 302

    as_user(client, people.zhou)
    assert post_action(client, order, "review", {"decision": "accept"}).status_code == 302
    response = post_action(
        client,
        order,
        "revisit",
        {"method": "phone", "resolved": "yes", "satisfaction": "satisfied", "reopen": "on"},
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == OrderState.CLOSED and order.satisfaction == "satisfied"
    page = html(client.get(reverse("workorders:detail", args=[order.number])))
    assert "已办结" in page
    timeline = re.findall(
        r'data-action="([a-z_]+)"', page.split('data-testid="timeline"')[1].split("</ol>")[0]
    )
    assert timeline == [
        "intake", "dispatch", "sign", "note", "extension_request", "extension_approve", "supervise",
        "escalate", "instruct", "answer", "review_accept", "revisit",
    ]  # fmt: skip
    assert "整改.png" in page and "满意" in page


def test_returns_reviews_and_the_centres_other_steps(
    client: Client, people: Any, take: Any, city: Any
) -> None:
    order = take()
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east2_office)
    as_user(client, people.qian)
    assert post_action(client, order, "return", {"reason": "地址属于东一街道"}).status_code == 302
    as_user(client, people.zhou)
    page = html(client.get(reverse("workorders:detail", args=[order.number])))
    assert "地址属于东一街道" in page
    response = post_action(
        client, order, "return_decide", {"decision": "accept", "new_lead_unit": "ST-EAST1"}
    )
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_SIGN and order.lead_unit == city.east1_office

    s.order_sign(order=order, actor=people.wang)
    s.order_answer(order=order, actor=people.wang, result="resolved", answer="已处理")
    # sending an answer back needs a reason: shown on the form, nothing changes
    response = post_action(client, order, "review", {"decision": "refuse"})
    assert response.status_code == 422
    assert "请告诉承办单位缺少什么" in html(response)
    response = post_action(client, order, "review", {"decision": "refuse", "reason": "请补充照片"})
    assert response.status_code == 302
    assert WorkOrder.objects.get(pk=order.pk).state == OrderState.HANDLING

    other = take(citizen_phone="13700000000")
    response = post_action(client, other, "merge", {"other": "00000000000", "reason": "重复"})
    assert response.status_code == 422 and "没有这个编号的工单" in html(response)
    response = post_action(client, other, "merge", {"other": order.number, "reason": "同一路灯"})
    assert response.status_code == 302
    assert WorkOrder.objects.get(pk=other.pk).state == OrderState.MERGED

    third = take(citizen_phone="13600000000")
    assert post_action(client, third, "link", {"other": order.number}).status_code == 302
    assert post_action(client, third, "cancel", {"reason": "市民撤回"}).status_code == 302
    assert WorkOrder.objects.get(pk=third.pk).state == OrderState.CANCELLED


def test_a_step_without_its_permission_is_refused(client: Client, people: Any, take: Any, city: Any) -> None:
    order = take()
    as_user(client, people.wang)
    assert post_action(client, order, "dispatch", {"lead_unit": "ST-EAST1"}).status_code == 403
    assert client.post(reverse("workorders:act", args=[order.number, "explode"])).status_code == 404
    as_user(client, people.qian)
    other = dispatched(take, people, city)
    assert post_action(client, other, "sign").status_code == 404  # not in 东二街道's scope


def test_two_handlers_signing_from_stale_pages_see_a_conflict(
    client: Client, people: Any, take: Any, city: Any
) -> None:
    order = dispatched(take, people, city)
    detail = reverse("workorders:detail", args=[order.number])
    wang, sun = Client(), Client()
    as_user(wang, people.wang)
    as_user(sun, people.sun)
    for c in (wang, sun):  # both open the page while it waits for a signature
        assert 'data-testid="form-sign"' in html(c.get(detail))
    sign = reverse("workorders:act", args=[order.number, "sign"])
    assert wang.post(sign, {"sign-seen": "pending_sign"}).status_code == 302
    response = sun.post(sign, {"sign-seen": "pending_sign"}, follow=True)
    page = html(response)
    assert response.redirect_chain[-1][0] == detail
    assert "其他人已先处理了这个工单" in page
    assert 'data-testid="form-sign"' not in page  # the page shows the current state
    assert "办理中" in page
    assert order.events.filter(action="sign").count() == 1


def test_a_step_the_state_no_longer_allows_is_a_conflict(
    client: Client, people: Any, take: Any, city: Any
) -> None:
    order = dispatched(take, people, city)
    as_user(client, people.zhou)
    response = client.post(
        reverse("workorders:act", args=[order.number, "review"]), {"review-decision": "accept"}
    )
    assert response.status_code == 302
    assert "这一步已无法进行" in html(client.get(response["Location"]))
    # a page opened before the order was cancelled
    s.order_cancel(order=order, actor=people.zhou, reason="重复")
    as_user(client, people.wang)
    response = client.post(
        reverse("workorders:act", args=[order.number, "sign"]), {"sign-seen": "pending_sign"}, follow=True
    )
    assert "其他人已先处理了这个工单" in html(response)
    assert "已撤销" in html(response)


# --- The centre's queues ------------------------------------------------------------------------


def test_dispatch_from_the_queue_with_the_duty_lists_unit(
    client: Client, people: Any, take: Any, city: Any
) -> None:
    order = take()
    as_user(client, people.zhou)
    page = html(client.get(reverse("workorders:queue"), {"queue": "dispatch"}))
    assert 'data-testid="count-dispatch">1<' in page
    assert 'name="dispatch-lead_unit" value="ST-EAST1"' in page  # preselected from the duty list
    assert "权责清单" in page
    url = reverse("workorders:act", args=[order.number, "dispatch"])
    response = client.post(
        url,
        {
            "via": "queue",
            "queue": "dispatch",
            "dispatch-seen": "pending_dispatch",
            "dispatch-lead_unit": "ST-EAST1",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "queueChanged"
    assert "已派单至东一街道办事处" in html(response)
    order.refresh_from_db()
    assert order.state == OrderState.PENDING_SIGN
    # the same row again, from a stale page: a conflict, shown in the row
    response = client.post(
        url,
        {
            "via": "queue",
            "queue": "dispatch",
            "dispatch-seen": "pending_dispatch",
            "dispatch-lead_unit": "ST-EAST1",
        },
        HTTP_HX_REQUEST="true",
    )
    assert "其他人已先处理了这个工单" in html(response)
    tabs = html(client.get(reverse("workorders:queue"), {"queue": "dispatch", "part": "tabs"}))
    assert 'data-testid="count-dispatch">0<' in tabs


def test_queue_rows_show_errors_in_place(client: Client, people: Any, take: Any) -> None:
    order = take()
    as_user(client, people.zhou)
    response = client.post(
        reverse("workorders:act", args=[order.number, "dispatch"]),
        {
            "via": "queue",
            "queue": "dispatch",
            "dispatch-seen": "pending_dispatch",
            "dispatch-lead_unit": "CENTRE",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = html(response)
    assert f'id="row-{order.number}"' in page
    assert "请选择一个有效的承办单位" in page


@pytest.mark.parametrize(
    "queue", ["dispatch", "returns", "review", "revisit", "extensions", "overdue", "supervised"]
)
def test_every_queue_renders(client: Client, people: Any, take: Any, city: Any, queue: str) -> None:
    take(title="待派")
    returned = dispatched(take, people, city)
    s.order_return(order=returned, actor=people.wang, reason="不归我们")
    handling = dispatched(take, people, city)
    s.order_sign(order=handling, actor=people.wang)
    s.extension_request(order=handling, actor=people.wang, working_days=2, reason="需协调")
    s.order_supervise(order=handling, actor=people.zhou, kind="supervise", message="请加快")
    WorkOrder.objects.filter(pk=handling.pk).update(deadline_level=100)
    answered = dispatched(take, people, city)
    s.order_sign(order=answered, actor=people.wang)
    s.order_answer(order=answered, actor=people.wang, result="resolved", answer="已修复")
    revisit = dispatched(take, people, city)
    s.order_sign(order=revisit, actor=people.wang)
    s.order_answer(order=revisit, actor=people.wang, result="resolved", answer="已修复")
    s.order_review(order=revisit, actor=people.zhou, accept=True)
    response = as_user(client, people.zhou).get(reverse("workorders:queue"), {"queue": queue})
    assert response.status_code == 200
    page = html(response)
    assert f'data-testid="queue-{queue}"' in page
    assert "qrow-act" in page  # each row carries its step


# --- The unit inbox and the leader view -----------------------------------------------------------


def test_inbox_colours_deadlines(client: Client, people: Any, take: Any, city: Any) -> None:
    levels = {}
    now = timezone.now()
    # an hour-long deadline that started this long ago: the level the scan would have set
    started = {0: 10, 70: 45, 90: 57, 100: 70}
    for level, minutes in started.items():
        order = dispatched(take, people, city, title=f"时限{level}")
        begin = now - timedelta(minutes=minutes)
        WorkOrder.objects.filter(pk=order.pk).update(
            deadline_level=level,
            due_started_at=begin,
            warn_at=begin + timedelta(minutes=42),
            urgent_at=begin + timedelta(minutes=54),
            due_at=begin + timedelta(minutes=60),
        )
        levels[level] = order
    as_user(client, people.wang)
    page = html(client.get(reverse("workorders:inbox")))
    assert 'data-testid="count-to_sign">4<' in page
    assert 'data-testid="count-near_deadline">2<' in page
    assert 'data-testid="count-overdue">1<' in page
    for level, tone in ((70, "warn"), (90, "urgent"), (100, "overdue")):
        row = page.split(f'data-testid="row-{levels[level].number}"')[1].split("</tr>")[0]
        assert f"wo-clock--{tone}" in row
    assert "剩余" in page or "超期" in page
    # signing from the inbox comes back to it
    response = client.post(
        reverse("workorders:act", args=[levels[0].number, "sign"]),
        {"sign-seen": "pending_sign", "next": "/orders/inbox/?box=to_sign"},
    )
    assert response["Location"] == "/orders/inbox/?box=to_sign"
    assert WorkOrder.objects.get(pk=levels[0].pk).state == OrderState.HANDLING


def test_leader_sees_overdue_and_supervised_orders_of_the_region(
    client: Client, people: Any, take: Any, city: Any
) -> None:
    east = dispatched(take, people, city, title="东区超期")
    WorkOrder.objects.filter(pk=east.pk).update(deadline_level=100)
    west = take(region=city.west1, title="西区超期")
    s.order_dispatch(order=west, actor=people.zhou, lead_unit=city.west1_office)
    WorkOrder.objects.filter(pk=west.pk).update(deadline_level=100)
    page = html(as_user(client, people.zhao).get(reverse("workorders:leader")))
    assert "东区超期" in page and "西区超期" not in page
    assert 'data-testid="overdue-count">1<' in page
    assert "东一街道办事处" in page
    page = html(as_user(client, people.liu).get(reverse("workorders:leader")))
    assert "东区超期" in page and "西区超期" in page


# --- Search ------------------------------------------------------------------------------------


def test_search_filters(client: Client, people: Any, take: Any, city: Any, tree: Any) -> None:
    noise = take(title="夜间施工噪音")
    water = take(title="停水三天", category=tree.water, citizen_phone="13500000000")
    as_user(client, people.zhou)
    page = html(client.get(reverse("workorders:list"), {"phone": "13500000000"}))
    assert water.number in page and noise.number not in page
    page = html(client.get(reverse("workorders:list"), {"category": tree.water.code}))
    assert water.number in page and noise.number not in page
    assert "自来水供应" in page  # the picked category shown by its path
    page = html(client.get(reverse("workorders:list"), {"state": "pending_dispatch", "q": "噪音"}))
    assert noise.number in page and water.number not in page
    assert "138****5678" in page and "13812345678" not in page  # lists are masked


# --- Query counts --------------------------------------------------------------------------------


def _many(take: Any, people: Any, city: Any, n: int) -> None:
    for i in range(n):
        order = take(title=f"工单{i}", citizen_phone=f"1390000{i:04d}")
        s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)


@pytest.mark.parametrize("n", [2, 12])
def test_list_query_count_does_not_grow_with_rows(
    client: Client, people: Any, take: Any, city: Any, n: int, django_assert_max_num_queries: Any
) -> None:
    _many(take, people, city, n)
    as_user(client, people.wang)
    with django_assert_max_num_queries(11):
        response = client.get(reverse("workorders:list"))
    assert html(response).count('class="col-number"><a') == n


@pytest.mark.parametrize("n", [2, 12])
def test_inbox_query_count_does_not_grow_with_rows(
    client: Client, people: Any, take: Any, city: Any, n: int, django_assert_max_num_queries: Any
) -> None:
    _many(take, people, city, n)
    as_user(client, people.wang)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("workorders:inbox"))
    assert html(response).count('class="col-number"><a') == n


# --- Home pages ----------------------------------------------------------------------------------


def test_home_pages_show_work_order_panels(client: Client, people: Any, take: Any, city: Any) -> None:
    order = dispatched(take, people, city)
    WorkOrder.objects.filter(pk=order.pk).update(deadline_level=100)
    take(title="待派的工单")
    page = html(as_user(client, people.li).get("/"))
    assert 'data-testid="taken-today">2<' in page and reverse("workorders:new") in page
    page = html(as_user(client, people.zhou).get("/"))
    assert 'data-testid="home-dispatch"' in page and "待派的工单" in page
    page = html(as_user(client, people.wang).get("/"))
    assert 'data-testid="home-to_sign"' in page and order.title in page
    page = html(as_user(client, people.zhao).get("/"))
    assert 'data-testid="overdue-orders">1<' in page
    assert "工单模块上线后提供" not in page
