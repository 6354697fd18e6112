"""The UI shell through Django's test client: sign-in, each role's home page, languages, errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import loader
from django.test import Client
from django.urls import reverse
from django.utils import translation

from conftest import PASSWORD
from hotline.core.navigation import MENU, MenuItem, menu_for

BACKEND = "hotline.accounts.backends.RoleBackend"

# person (conftest ``people``), Chinese title, English title
HOMES = [
    ("li", "座席工作台", "Agent workspace"),
    ("chen", "班长监控台", "Supervisor console"),
    ("zhou", "派单审核台", "Dispatch review desk"),
    ("wang", "承办工作台", "Handler workspace"),
    ("sun", "单位管理台", "Unit management"),
    ("zhao", "领导驾驶舱", "Leader dashboard"),
    ("ma", "系统管理", "System administration"),
]


@pytest.fixture(autouse=True)
def _reset_language() -> Any:
    """LocaleMiddleware leaves the last request's language active in this thread: do not leak the
    English of these tests into the next ones."""
    yield
    translation.deactivate()


def signed_in(client: Client, user: Any) -> Client:
    client.force_login(user, backend=BACKEND)
    return client


def home_html(client: Client, **extra: Any) -> str:
    response = client.get(reverse("core:home"), **extra)
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_is_sent_to_login(client: Client, db: Any) -> None:
    response = client.get(reverse("core:home"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('accounts:login')}?next=/"


def test_login_page_is_chinese(client: Client, db: Any) -> None:
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "12345 政务服务便民热线" in html
    assert "<h1" in html and "登录" in html
    assert "次密码错误" in html  # the lockout notice


def test_login_form_signs_in(client: Client, people: Any) -> None:
    response = client.post(reverse("accounts:login"), {"username": "li", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    assert "座席工作台" in home_html(client)


def test_wrong_password_shows_chinese_error(client: Client, people: Any) -> None:
    response = client.post(reverse("accounts:login"), {"username": "li", "password": "wrong-password"})
    assert response.status_code == 200
    assert "请输入一个正确的用户名和密码" in response.content.decode()


@pytest.mark.parametrize(("person", "title_zh", "title_en"), HOMES)
def test_each_role_home_in_chinese(
    client: Client, people: Any, person: str, title_zh: str, title_en: str
) -> None:
    html = home_html(signed_in(client, getattr(people, person)))
    assert '<html lang="zh-hans">' in html
    assert f"<h1>{title_zh}</h1>" in html
    assert f"<title>{title_zh} · 12345 政务服务便民热线</title>" in html
    assert title_en not in html
    # The top bar: name, role, unit, language switch, logout.
    user = getattr(people, person)
    assert user.full_name in html
    assert str(user.unit.name) in html
    assert reverse("set_language") in html
    assert reverse("accounts:logout") in html
    assert "X-CSRFToken" in html


def test_chinese_even_when_the_browser_prefers_english(client: Client, people: Any) -> None:
    html = home_html(signed_in(client, people.li), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert '<html lang="zh-hans">' in html
    assert "<h1>座席工作台</h1>" in html


def test_english_from_the_language_cookie(client: Client, people: Any) -> None:
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = home_html(signed_in(client, people.li))
    assert '<html lang="en">' in html
    assert "<h1>Agent workspace</h1>" in html
    assert "Agent workspace · 12345 Government Service Hotline" in html


def test_english_chosen_with_the_switcher(client: Client, people: Any) -> None:
    signed_in(client, people.sun)
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = home_html(client)
    assert "<h1>Unit management</h1>" in html
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert "<h1>单位管理台</h1>" in home_html(client)


def test_scope_in_words(client: Client, people: Any) -> None:
    assert "全市 · 测试市" in home_html(signed_in(client, people.li))
    assert "东一街道办事处及其 1 个下属单位" in home_html(signed_in(client, people.wang))
    assert "东区（区/县）全域" in home_html(signed_in(client, people.zhao))
    assert "仅市住建局" in home_html(signed_in(client, people.hu))


def test_agent_home_shows_intake_reference_and_own_orders(client: Client, people: Any) -> None:
    from hotline.taxonomy.models import Category

    Category.objects.create(code="01", name="城乡建设", level=1)
    Category.objects.create(code="02", name="旧分类", level=1, active=False)
    html = home_html(signed_in(client, people.li))
    for name in ("咨询", "投诉", "举报", "求助", "建议", "表扬"):
        assert name in html
    assert "城乡建设" in html
    assert "旧分类" not in html
    assert 'data-testid="agent-orders"' in html  # the panel of the agent's own orders


def test_handler_and_manager_home_show_their_unit(client: Client, people: Any, city: Any) -> None:
    from hotline.orgs.models import DutyAssignment
    from hotline.taxonomy.models import Category

    roads = Category.objects.create(code="03", name="道路维修", level=1)
    DutyAssignment.objects.create(category=roads, region=city.east1, unit=city.east1_office)
    html = home_html(signed_in(client, people.wang))
    assert "东一街道办事处" in html
    assert 'data-testid="duty-category-count">1<' in html
    assert "道路维修" in html
    assert "孙丽" not in html  # only managers see the staff list

    html = home_html(signed_in(client, people.sun))
    assert 'data-testid="colleagues"' in html
    assert "王强" in html and "孙丽" in html
    assert "钱伟" not in html  # 东二街道 is another unit


def test_leader_home_counts_region(client: Client, people: Any) -> None:
    html = home_html(signed_in(client, people.zhao))
    assert "东区" in html
    assert 'data-testid="unit-count">4<' in html  # district government, two street offices, a community
    assert 'data-testid="street-count">2<' in html


def test_admin_home_counts_and_audit(client: Client, people: Any) -> None:
    html = home_html(signed_in(client, people.ma))
    assert 'data-testid="region-count">7<' in html
    assert 'data-testid="unit-count">10<' in html
    assert 'data-testid="user-count">11<' in html
    assert 'data-testid="latest-audit-events"' in html
    assert html.count('class="badge badge--action') == 10
    assert "系统管理员" in html  # role labels in Chinese


def test_menu_follows_permissions(people: Any) -> None:
    agent_urls = {item.url_name for item in menu_for(people.li)}
    assert {"core:home", "api-docs"} <= agent_urls
    assert not any(name.startswith("admin:") for name in agent_urls)
    # A department manager may change users of their unit, but not through the admin site.
    assert "admin:accounts_user_changelist" not in {item.url_name for item in menu_for(people.sun)}
    admin_items = {item.url_name for item in menu_for(people.ma)}
    assert {"core:home", "api-docs"} <= admin_items
    for item in MENU:
        if item.url_name.startswith("admin:") and item.url is not None:
            assert item.url_name in admin_items


def test_menu_skips_unknown_urls(people: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ghost = MenuItem("Ghost", "no-such:page")
    monkeypatch.setattr("hotline.core.navigation.MENU", [*MENU, ghost])
    assert ghost.url is None
    assert ghost not in menu_for(people.ma)


def test_menu_rendered_in_sidebar(client: Client, people: Any) -> None:
    html = home_html(signed_in(client, people.li))
    assert 'aria-current="page"' in html
    assert "首页" in html and "接口文档" in html


def test_404_uses_custom_template(client: Client, people: Any) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    assert "页面不存在" in response.content.decode()


def test_403_uses_custom_template(client: Client, people: Any) -> None:
    from hotline.accounts.models import User

    nobody = User.objects.create(username="nobody", role="")
    response = signed_in(client, nobody).get(reverse("core:home"))
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


def test_500_template_renders_without_context(db: Any) -> None:
    html = loader.get_template("500.html").render()
    assert "500" in html and "服务器" in html


def test_logout_needs_post(client: Client, people: Any) -> None:
    signed_in(client, people.li)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.get(reverse("core:home")).status_code == 200
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert client.get(reverse("core:home")).status_code == 302


def test_locked_template_explains(client: Client, people: Any) -> None:
    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": "li", "password": "wrong-password"})
    response = client.post(reverse("accounts:login"), {"username": "li", "password": PASSWORD})
    html = response.content.decode()
    assert response.status_code == 429
    assert "账户已锁定" in html
    assert "系统管理员" in html
