"""The citizen portal: submitting, tracking and rating without an account, and its traps for scripts."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hotline.portal import tokens
from hotline.portal.models import PortalAttempt
from hotline.workorders import services as s
from hotline.workorders.models import WorkOrder

from .conftest import PHONE, photo, png_bytes, started

pytestmark = pytest.mark.django_db

SUBMIT = reverse("portal:submit")
TRACK = reverse("portal:track")
RATE = reverse("portal:rate")
NOT_FOUND = "未查询到与该受理编号和手机号码相符的诉求"


def client(ip: str = "10.8.0.1") -> Client:
    return Client(REMOTE_ADDR=ip)


def html(response: Any) -> str:
    return str(response.content.decode())


class _Text(HTMLParser):
    """The text a person reads on a page (not scripts, styles or attribute values)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "svg"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "svg"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def visible_text(response: Any) -> str:
    parser = _Text()
    parser.feed(html(response))
    return " ".join(" ".join(parser.parts).split())


# Latin words allowed on a Chinese page: the language switch and the photo formats.
ALLOWED_LATIN = {"ENGLISH", "JPEG", "PNG", "WEBP", "MB"}


def assert_chinese(response: Any) -> None:
    page = html(response)
    assert '<html lang="zh-hans">' in page
    words = {w for w in re.findall(r"[A-Za-z]{2,}", visible_text(response)) if w.upper() not in ALLOWED_LATIN}
    assert words == set(), f"untranslated text: {sorted(words)}"


def track(c: Client, number: str, phone: str) -> Any:
    return c.post(TRACK, {"number": number, "phone": phone})


# --- Submitting ------------------------------------------------------------------------------------


def test_home_has_the_two_ways_in_and_the_hotline_number(db: Any) -> None:
    response = client().get(reverse("portal:home"))
    assert response.status_code == 200
    assert_chinese(response)
    text = visible_text(response)
    assert "我要反映" in text
    assert "查询办理进度" in text
    assert 'href="tel:12345"' in html(response)


def test_submission_creates_a_web_order_with_its_photos(form_data: Any, tree: Any, city: Any) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 200
    photos = [photo("路灯.png"), photo("night.jpg", jpeg, "image/jpeg")]
    response = client().post(SUBMIT, form_data(photos=photos, anonymous="on"))
    assert response.status_code == 302, visible_text(response)

    order = WorkOrder.objects.get()
    assert order.channel == "web"
    assert order.state == "pending_dispatch"
    assert order.citizen_phone == PHONE  # spaces taken out
    assert order.citizen_name == "赵敏"
    assert order.anonymous is True
    assert order.category == tree.enforcement
    assert order.region == city.east1
    assert order.created_by is None
    saved = {a.name: a for a in order.attachments.all()}
    assert set(saved) == {"路灯.png", "night.jpg"}
    assert saved["路灯.png"].sha256 == hashlib.sha256(png_bytes()).hexdigest()
    assert saved["night.jpg"].sha256 == hashlib.sha256(jpeg).hexdigest()
    assert saved["night.jpg"].content_type == "image/jpeg"
    assert PortalAttempt.objects.filter(kind="submit", ip="10.8.0.1").count() == 1

    receipt = client().get(response["Location"])
    assert receipt.status_code == 200
    assert_chinese(receipt)
    assert order.number[:8] in html(receipt) and order.number[8:] in html(receipt)
    assert "请记下受理编号或截图保存" in visible_text(receipt)


def test_category_is_two_steps_or_not_sure(form_data: Any, tree: Any) -> None:
    assert client().post(SUBMIT, form_data(category="")).status_code == 302
    assert client().post(SUBMIT, form_data(category_group="", category="")).status_code == 302
    first, second = WorkOrder.objects.order_by("id")
    assert first.category == tree.building  # the field only
    assert second.category is None  # 不确定

    other = tree.building.__class__.objects.create(code="99", name="其他", level=1)
    response = client().post(SUBMIT, form_data(category_group=str(other.pk)))
    assert response.status_code == 200
    assert "请选择所选大类下的小类" in visible_text(response)


def test_a_fake_png_is_refused_and_the_input_kept(form_data: Any) -> None:
    fake = photo("扫描件.png", b"MZ\x90\x00 this is not an image", "image/png")
    response = client().post(SUBMIT, form_data(photos=[fake]))
    assert response.status_code == 200
    assert WorkOrder.objects.count() == 0
    text = visible_text(response)
    assert "不是 JPEG、PNG 或 WebP 格式的照片：扫描件.png" in text
    assert "请重新选择照片" in text
    assert 'value="小区门口路灯不亮"' in html(response)
    assert_chinese(response)


def test_documents_and_too_many_photos_are_refused(form_data: Any) -> None:
    pdf = photo("letter.pdf", b"%PDF-1.7", "application/pdf")
    assert client().post(SUBMIT, form_data(photos=[pdf])).status_code == 200
    response = client().post(SUBMIT, form_data(photos=[photo(f"{i}.png") for i in range(6)]))
    assert "最多上传 5 张照片" in visible_text(response)
    assert WorkOrder.objects.count() == 0


def test_the_services_refusal_shows_on_the_field(form_data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The size limit belongs to the work-order service; its refusal is shown next to the photos."""
    monkeypatch.setattr(s, "ATTACHMENT_MAX_BYTES", 10)
    response = client().post(SUBMIT, form_data(photos=[photo("big.png")]))
    assert response.status_code == 200
    assert WorkOrder.objects.count() == 0
    assert "以下照片未被接受：big.png" in visible_text(response)
    assert 'value="小区门口路灯不亮"' in html(response)
    assert PortalAttempt.objects.count() == 0  # a refused request does not count against the limit


def test_a_phone_is_required_and_checked(form_data: Any) -> None:
    response = client().post(SUBMIT, form_data(citizen_phone=""))
    assert "请留下联系电话" in visible_text(response)
    response = client().post(SUBMIT, form_data(citizen_phone="call me"))
    assert "请输入 7 至 15 位数字的电话号码" in visible_text(response)
    assert WorkOrder.objects.count() == 0


def test_the_honeypot_refuses_scripts(form_data: Any) -> None:
    response = client().post(SUBMIT, form_data(website="http://spam.example"))
    assert response.status_code == 200
    assert WorkOrder.objects.count() == 0
    assert "提交未成功" in visible_text(response)


def test_a_form_sent_too_quickly_is_refused(form_data: Any) -> None:
    response = client().post(SUBMIT, form_data(started=started(seconds_ago=1)))
    assert WorkOrder.objects.count() == 0
    assert "提交速度过快" in visible_text(response)
    # The clock keeps running: the same form sent again after a while goes through.
    clock = re.search(r'name="started" value="([^"]+)"', html(response))
    assert clock is not None
    with time_machine.travel(timezone.now() + timedelta(seconds=30)):
        assert client().post(SUBMIT, form_data(started=clock.group(1))).status_code == 302
    assert WorkOrder.objects.count() == 1


@pytest.mark.parametrize("clock", ["", "forged", signing.dumps({"t": 0}, salt="other")])
def test_a_form_without_a_valid_clock_is_refused(form_data: Any, clock: str) -> None:
    response = client().post(SUBMIT, form_data(started=clock))
    assert WorkOrder.objects.count() == 0
    assert "页面已过期" in visible_text(response)


def test_five_requests_an_hour_per_address(form_data: Any, settings: Any) -> None:
    for _ in range(5):
        assert client("10.9.9.9").post(SUBMIT, form_data()).status_code == 302
    response = client("10.9.9.9").post(SUBMIT, form_data())
    assert response.status_code == 429
    assert_chinese(response)
    assert "操作过于频繁" in visible_text(response)
    assert WorkOrder.objects.count() == 5
    assert client("10.9.9.10").post(SUBMIT, form_data()).status_code == 302  # another address
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert client("10.9.9.9").post(SUBMIT, form_data()).status_code == 302


def test_behind_the_proxy_the_address_is_the_one_it_saw(form_data: Any, settings: Any) -> None:
    """A script cannot pick a new address per request by sending its own X-Forwarded-For."""
    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.PORTAL_LIMITS = {"submit": (2, 3600)}
    statuses = [
        Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, 10.6.6.6")
        .post(SUBMIT, form_data())
        .status_code
        for i in range(3)
    ]
    assert statuses == [302, 302, 429]
    assert set(PortalAttempt.objects.values_list("ip", flat=True)) == {"10.6.6.6"}


# --- Tracking --------------------------------------------------------------------------------------


def test_tracking_shows_the_state_and_only_public_information(answered: Any, people: Any) -> None:
    response = track(client(), answered.number, PHONE)
    assert response.status_code == 200
    assert_chinese(response)
    text = visible_text(response)
    assert "已答复" in text
    assert "路灯已于今日修复，感谢您的反映。" in text
    steps = re.findall(r'<span class="pt-steps-label">([^<]+)</span>', html(response))
    assert steps == ["已受理", "已转交承办单位办理", "承办单位已接收，正在办理", "已办理并答复"]
    page = html(response)
    for secret in (
        people.wang.full_name, people.zhou.full_name, people.li.full_name,  # staff
        "东一街道办事处", "12345热线中心",  # units
        "派单备注", "内部进展", "审核意见", "初步答复",  # notes, reasons, the answer sent back
        answered.citizen_name, "13812345678",
    ):  # fmt: skip
        assert secret not in page, secret
    assert 'data-testid="rate-form"' in page


def test_the_answer_is_hidden_until_the_centre_accepts_it(take: Any, people: Any, city: Any) -> None:
    order = take(citizen_phone=PHONE)
    s.order_dispatch(order=order, actor=people.zhou, lead_unit=city.east1_office)
    s.order_sign(order=order, actor=people.wang)
    s.order_answer(order=order, actor=people.wang, result="resolved", answer="单位的答复草稿")
    response = track(client(), order.number, PHONE)
    text = visible_text(response)
    assert "办理结果审核中" in text
    assert "单位的答复草稿" not in text
    assert 'data-testid="rate-form"' not in html(response)


def test_a_wrong_phone_reads_like_a_missing_number(answered: Any) -> None:
    wrong_phone = track(client(), answered.number, "13900002222")
    missing = track(client(), "2000010100001", PHONE)
    for response in (wrong_phone, missing):
        assert response.status_code == 200
        assert NOT_FOUND in visible_text(response)
        assert answered.title not in html(response)
    assert visible_text(wrong_phone) == visible_text(missing)


def test_tracking_accepts_the_phone_with_spaces(answered: Any) -> None:
    assert "已答复" in visible_text(track(client(), f" {answered.number} ", "139-0000-1111"))


def test_lookups_are_limited_per_address(answered: Any, settings: Any) -> None:
    settings.PORTAL_LIMITS = {"track": (3, 3600)}
    for _ in range(3):
        assert track(client("10.7.7.7"), "2000010100001", PHONE).status_code == 200
    response = track(client("10.7.7.7"), answered.number, PHONE)  # even the right pair
    assert response.status_code == 429
    assert "操作过于频繁" in visible_text(response)
    assert track(client("10.7.7.8"), answered.number, PHONE).status_code == 200


def test_track_form_takes_the_number_from_the_receipt_link(db: Any) -> None:
    response = client().get(TRACK + "?number=2026112100123")
    assert response.status_code == 200
    assert_chinese(response)
    assert 'value="2026112100123"' in html(response)


# --- Rating --------------------------------------------------------------------------------------


def rating_token(response: Any) -> str:
    found = re.search(r'name="token" value="([^"]+)"', html(response))
    assert found is not None
    return found.group(1)


def test_rating_satisfied_closes_the_order(answered: Any) -> None:
    c = client()
    token = rating_token(track(c, answered.number, PHONE))
    response = c.post(
        RATE, {"token": token, "resolved": "yes", "satisfaction": "satisfied", "comment": "很快"}
    )
    assert response.status_code == 302
    answered.refresh_from_db()
    assert answered.state == "closed"
    assert answered.satisfaction == "satisfied"
    revisit = answered.revisits.get()
    assert (revisit.method, revisit.resolved, revisit.comment, revisit.by) == ("web", True, "很快", None)

    thanks = c.get(response["Location"])
    assert_chinese(thanks)
    assert "您的诉求已办结" in visible_text(thanks)
    after = track(c, answered.number, PHONE)
    assert "已办结" in visible_text(after)
    assert "您的评价：满意" in visible_text(after)
    assert 'data-testid="rate-form"' not in html(after)


def test_rating_not_solved_sends_it_back(answered: Any) -> None:
    c = client()
    token = rating_token(track(c, answered.number, PHONE))
    response = c.post(RATE, {"token": token, "resolved": "no", "satisfaction": "basically"})
    answered.refresh_from_db()
    assert answered.state == "pending_dispatch"
    assert answered.round == 2
    thanks = c.get(response["Location"])
    assert "已退回重新办理" in visible_text(thanks)
    steps = re.findall(r'<span class="pt-steps-label">([^<]+)</span>', html(track(c, answered.number, PHONE)))
    assert steps[-1] == "根据您的反馈，已重新交办"


def test_rating_needs_both_answers(answered: Any) -> None:
    c = client()
    token = rating_token(track(c, answered.number, PHONE))
    response = c.post(RATE, {"token": token, "resolved": "yes"})
    assert response.status_code == 200
    assert "请选择您的满意程度" in visible_text(response)
    answered.refresh_from_db()
    assert answered.state == "pending_revisit"


def test_rating_needs_a_valid_token(answered: Any) -> None:
    forged = signing.dumps({"n": answered.number, "p": "0" * 32}, salt=tokens.RATE_SALT)
    other_salt = signing.dumps({"n": answered.number, "p": ""}, salt="hotline.portal.form")
    for token in ("", "nonsense", forged, other_salt):
        response = client().post(RATE, {"token": token, "resolved": "yes", "satisfaction": "satisfied"})
        assert response.status_code == 400
        assert "页面已过期" in visible_text(response)
    answered.refresh_from_db()
    assert answered.state == "pending_revisit"


def test_the_token_lasts_an_hour(answered: Any) -> None:
    token = rating_token(track(client(), answered.number, PHONE))
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        response = client().post(RATE, {"token": token, "resolved": "yes", "satisfaction": "satisfied"})
    assert response.status_code == 400
    answered.refresh_from_db()
    assert answered.state == "pending_revisit"


def test_rating_only_while_waiting_for_it(answered: Any, people: Any) -> None:
    token = rating_token(track(client(), answered.number, PHONE))
    s.order_revisit(
        order=answered, actor=people.zhou, method="phone", resolved=True, satisfaction="satisfied"
    )
    response = client().post(RATE, {"token": token, "resolved": "no", "satisfaction": "unsatisfied"})
    assert response.status_code == 409
    assert "暂时无法评价" in visible_text(response)
    answered.refresh_from_db()
    assert answered.state == "closed"
    assert answered.revisits.count() == 1


def test_rate_and_receipt_pages_refuse_other_methods_and_bad_links(db: Any) -> None:
    assert client().get(RATE).status_code == 405
    assert client().get(reverse("portal:submitted") + "?r=forged").status_code == 302
    assert client().get(reverse("portal:rated") + "?r=forged").status_code == 302
    expired = client().post(RATE, {"token": "forged"})
    assert expired.status_code == 400
    assert_chinese(expired)


def test_the_submission_form_is_in_chinese(tree: Any, city: Any) -> None:
    response = client().get(SUBMIT)
    assert response.status_code == 200
    assert_chinese(response)
    page = html(response)
    assert 'accept="image/*" capture="environment"' in page
    assert "不向承办单位公开我的身份" in page
    for name in ("咨询", "投诉", "举报", "求助", "建议", "表扬"):
        assert f"<span>{name}</span>" in page
    assert "东区（街道不确定）" in page
    assert "城市建设和市政管理 › 城管执法" in page
