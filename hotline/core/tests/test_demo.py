"""``manage.py setup_demo``: the demo city, loaded once and again without change."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory

from hotline.accounts.choices import Role
from hotline.accounts.models import User
from hotline.audit.models import AuditEvent
from hotline.citizens.models import Citizen
from hotline.core.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from hotline.orgs.models import DutyAssignment, Region, Unit
from hotline.orgs.selectors import duty_resolve
from hotline.taxonomy.models import Category


def counts() -> dict[str, int]:
    return {
        "regions": Region.objects.count(),
        "units": Unit.objects.count(),
        "categories": Category.objects.count(),
        "duties": DutyAssignment.objects.count(),
        "users": User.objects.count(),
        "citizens": Citizen.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


@pytest.fixture
def demo(db: Any) -> io.StringIO:
    out = io.StringIO()
    call_command("setup_demo", stdout=out)
    return out


def test_the_demo_city(demo: io.StringIO) -> None:
    city = Region.objects.get(code="99")
    assert city.name == "滨江市" and city.level == "city"
    assert Region.objects.filter(level="district").count() == 6
    assert 35 <= Region.objects.filter(level="street").count() <= 45
    assert Region.objects.filter(level="community").exists()
    assert Region.objects.get(code="990101").path == "/99/9901/990101/"
    assert 60 <= Unit.objects.count() <= 75
    assert Unit.objects.get(code="CENTRE").kind == "centre"
    assert Unit.objects.get(code="DG-9901").region.code == "9901"
    assert Unit.objects.get(code="ST-990101").parent.code == "DG-9901"
    assert Unit.objects.filter(kind="utility").count() == 4
    assert Unit.objects.filter(kind="city_department").count() >= 20
    assert not Unit.objects.filter(phone="").exists()
    assert Category.objects.filter(level=1).count() == 15
    assert Category.objects.filter(level=3).count() == 517
    assert Citizen.objects.count() >= 12
    assert "Demo data loaded" in demo.getvalue()


def test_one_user_per_role_who_can_log_in(demo: io.StringIO) -> None:
    roles = {role for _username, role, _name, _unit in DEMO_USERS}
    assert roles == set(Role.values)
    request = RequestFactory().post("/accounts/login/")
    for username, role, _name, unit_code in DEMO_USERS:
        user = authenticate(request, username=username, password=DEMO_PASSWORD)
        assert user is not None, username
        assert user.role == role
        assert user.unit.code == unit_code


def test_the_duty_list_sends_requests_to_the_right_unit(demo: io.StringIO) -> None:
    def unit_for(names: tuple[str, ...], region_code: str) -> str:
        category = Category.objects.get(name=names[-1], parent__name=names[-2]) if len(names) > 1 else None
        category = category or Category.objects.get(name=names[0], level=1)
        entry = duty_resolve(category=category, region=Region.objects.get(code=region_code))
        assert entry is not None
        return entry.unit.code

    assert unit_for(("城市建设和市政管理", "城管执法"), "990101") == "ST-990101"
    assert unit_for(("城市建设和市政管理", "环境卫生"), "99010101") == "ST-990101"  # from a community
    assert unit_for(("城市建设和市政管理", "小区管理"), "990603") == "ST-990603"
    assert unit_for(("城市建设和市政管理", "城管执法"), "9902") == "DG-9902"
    assert unit_for(("城市建设和市政管理", "自来水供应"), "990101") == "UT-WATER"
    assert unit_for(("城市建设和市政管理", "冬季采暖"), "99") == "UT-HEAT"
    assert unit_for(("环境污染", "噪音污染"), "990101") == "CD-ECOENV"
    assert unit_for(("教育行政管理", "校园安全"), "990301") == "CD-EDU"
    for level1 in Category.objects.filter(level=1):
        entry = duty_resolve(category=level1, region=Region.objects.get(code="99"))
        assert entry is not None and entry.unit.kind == "city_department", level1.name


def test_running_twice_changes_nothing(demo: io.StringIO) -> None:
    before = counts()
    out = io.StringIO()

    call_command("setup_demo", stdout=out)

    assert counts() == before
    assert "nothing changed" in out.getvalue()
    assert all(value == 0 for value in load_demo().values())


def test_banner_lists_every_demo_login() -> None:
    from io import StringIO

    from django.core.management import call_command
    from django.utils import translation

    from hotline.core.demo import DEMO_PASSWORD, DEMO_USERS

    out = StringIO()
    with translation.override("zh-hans"):
        call_command("banner", url="http://127.0.0.1:8011/", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8011/" in text
    assert DEMO_PASSWORD in text
    for username, *_ in DEMO_USERS:
        assert username in text


def test_demo_orders_fill_every_screen(demo: io.StringIO) -> None:
    from hotline.accounts.models import User
    from hotline.workorders.models import WorkOrder
    from hotline.workorders.selectors import unit_inbox

    states = set(WorkOrder.objects.values_list("state", flat=True))
    assert {"pending_dispatch", "pending_sign", "handling", "pending_review", "pending_revisit"} <= states
    assert {"closed", "return_requested"} <= states
    wang = User.objects.get(username="handler_wang")
    assert unit_inbox(unit=wang.unit, box="to_sign").exists()
    assert unit_inbox(unit=wang.unit, box="handling").exists()
    # every order went through the services: each has its intake row
    assert not WorkOrder.objects.exclude(events__action="intake").exists()
