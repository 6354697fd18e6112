"""Shared test fixtures: a small city and named people for every role.

The city: 测试市 with two districts. 东区 has streets 东一街道 and 东二街道; 西区 has 西一街道.
People (password ``PASSWORD``):

- agent Li, supervisor Chen, dispatcher Zhou, admin Ma — the hotline centre
- handler Wang and manager Sun — 东一街道办事处; handler Qian — 东二街道办事处
- manager Wu — 西一街道办事处; handler Hu — 市住建局 (a city department)
- leader Zhao — 东区人民政府 (district leader); leader Liu — 市政府 (city leader)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "Test-pass-2026!"


def pytest_configure(config: pytest.Config) -> None:
    """Remove file test databases (and their WAL files) left behind by interrupted runs."""
    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if not (settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and name):
        return
    for path in Path(name).parent.glob("test-hotline-*.sqlite3*"):
        pid = path.name.removeprefix("test-hotline-").split(".")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            path.unlink(missing_ok=True)


def require_service(available: bool, what: str) -> None:
    """Under CI=true a test whose service is missing fails; elsewhere it is skipped with a reason."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is missing, and CI=true: failing instead of skipping")
    pytest.skip(f"{what} is missing (make test provides it)")


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL", "")
    require_service(bool(url), "Redis (TEST_REDIS_URL)")
    return url


@dataclass
class City:
    city: Any
    east: Any
    west: Any
    east1: Any
    east2: Any
    west1: Any
    east1_c1: Any
    centre: Any
    city_gov: Any
    housing: Any
    east_gov: Any
    west_gov: Any
    east1_office: Any
    east2_office: Any
    west1_office: Any
    east1_community: Any
    water: Any


def _region(code: str, name: str, level: str, parent: Any = None) -> Any:
    from hotline.orgs.models import Region
    from hotline.orgs.services import region_save

    return region_save(region=Region(code=code, name=name, level=level, parent=parent))


def _unit(code: str, name: str, kind: str, region: Any, parent: Any = None) -> Any:
    from hotline.orgs.models import Unit
    from hotline.orgs.services import unit_save

    return unit_save(unit=Unit(code=code, name=name, kind=kind, region=region, parent=parent))


@pytest.fixture
def city(db: Any) -> City:
    city = _region("99", "测试市", "city")
    east = _region("9901", "东区", "district", city)
    west = _region("9902", "西区", "district", city)
    east1 = _region("990101", "东一街道", "street", east)
    east2 = _region("990102", "东二街道", "street", east)
    west1 = _region("990201", "西一街道", "street", west)
    east1_c1 = _region("99010101", "东一社区", "community", east1)
    centre = _unit("CENTRE", "12345热线中心", "centre", city)
    city_gov = _unit("GOV", "测试市人民政府", "other", city)
    housing = _unit("HOUSING", "市住建局", "city_department", city)
    east_gov = _unit("DG-EAST", "东区人民政府", "district_government", east)
    west_gov = _unit("DG-WEST", "西区人民政府", "district_government", west)
    east1_office = _unit("ST-EAST1", "东一街道办事处", "street_office", east1, east_gov)
    east2_office = _unit("ST-EAST2", "东二街道办事处", "street_office", east2, east_gov)
    west1_office = _unit("ST-WEST1", "西一街道办事处", "street_office", west1, west_gov)
    east1_community = _unit("CM-EAST1-1", "东一社区居委会", "community", east1_c1, east1_office)
    water = _unit("WATER", "市自来水公司", "utility", city)
    return City(
        city, east, west, east1, east2, west1, east1_c1, centre, city_gov, housing, east_gov, west_gov,
        east1_office, east2_office, west1_office, east1_community, water,
    )  # fmt: skip


@dataclass
class People:
    li: Any  # agent
    chen: Any  # supervisor
    zhou: Any  # dispatcher
    ma: Any  # administrator
    wang: Any  # handler, 东一街道
    sun: Any  # manager, 东一街道
    qian: Any  # handler, 东二街道
    wu: Any  # manager, 西一街道
    hu: Any  # handler, 市住建局
    zhao: Any  # leader, 东区
    liu: Any  # leader, city

    def all(self) -> dict[str, Any]:
        return dict(vars(self))


@pytest.fixture
def people(city: City) -> People:
    from hotline.accounts.services import user_create

    def make(username: str, role: str, unit: Any, full_name: str) -> Any:
        return user_create(
            actor=None, username=username, password=PASSWORD, role=role, unit=unit, full_name=full_name
        )

    return People(
        li=make("li", "agent", city.centre, "李晓"),
        chen=make("chen", "supervisor", city.centre, "陈静"),
        zhou=make("zhou", "dispatcher", city.centre, "周敏"),
        ma=make("ma", "admin", city.centre, "马管理"),
        wang=make("wang", "handler", city.east1_office, "王强"),
        sun=make("sun", "unit_manager", city.east1_office, "孙丽"),
        qian=make("qian", "handler", city.east2_office, "钱伟"),
        wu=make("wu", "unit_manager", city.west1_office, "吴芳"),
        hu=make("hu", "handler", city.housing, "胡军"),
        zhao=make("zhao", "leader", city.east_gov, "赵刚"),
        liu=make("liu", "leader", city.city_gov, "刘洋"),
    )


@pytest.fixture(scope="session", autouse=True)
def _expected_database(django_db_setup: Any, django_db_blocker: Any) -> None:
    """``make test-postgres`` sets HOTLINE_EXPECT_DB=postgresql: never pass on the wrong engine."""
    expected = os.environ.get("HOTLINE_EXPECT_DB")
    if expected:
        from django.db import connection

        assert connection.vendor == expected, f"expected {expected}, running on {connection.vendor}"


@pytest.fixture(autouse=True)
def _no_dashboard_event_after_the_test() -> Iterator[None]:
    """A change near a test's end schedules the dashboards' trailing event a second later, from a
    timer thread; it must not land in the next test's database."""
    yield
    from hotline.reports.live import throttle

    throttle().cancel()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every transactional test restores the migrations' data (request types, deadline rules…)
    after it: mixing tests that do with tests that do not breaks the ones that do (the flush of
    the latter re-creates content types under new ids)."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            item.add_marker(
                pytest.mark.django_db(**{**marker.kwargs, "serialized_rollback": True}), append=False
            )
