"""The leaders' dashboard and the assessment in a real browser, on the platform as ``make run`` runs
it: the web process (uvicorn, with websockets) as its own process on the test database, no Redis.

Leader Liu opens the dashboard: the charts render; agent Li takes a call in (through the service,
from this process) while the page is open, and the intake figure goes up through the socket — the
event travels as a ``LiveEvent`` row the web process relays (docs/decisions/0003). Then Liu opens
last month's assessment, clicks a unit's number and sees the orders behind it; then the wall screen.
Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.db import connection

from conftest import PASSWORD
from hotline.core.tests import conftest as shell_fixtures
from hotline.core.tests.conftest import VIEWPORT, guarded_session
from hotline.reports import views
from hotline.taxonomy.models import Category, RequestType
from hotline.taxonomy.services import category_save
from hotline.workorders import services as s

browser = shell_fixtures.browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings.get("PASSWORD") else "")
    return (
        f"postgres://{auth}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{settings['NAME']}"
    )


@pytest.fixture
def web(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The web process on the test database (the embedded default: in-memory layer, events relayed
    from the ``LiveEvent`` table)."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _database_url(),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log_path = tmp_path / "web.log"
    log = log_path.open("w")
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--port",
            str(port),
            "--ws=websockets-sansio",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                with urllib.request.urlopen(base_url + "/accounts/login/", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise AssertionError("the web process did not start:\n" + log_path.read_text())
            time.sleep(0.2)
        yield base_url, log_path
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        from django.db import connections

        connections.close_all()


@pytest.fixture
def orders_made(people: Any, city: Any) -> dict[str, Any]:
    """Last month: three orders for 东一街道 (one answered and revisited satisfied), one for 西一街道;
    today: two orders taken in 东区 and 西区."""
    building = category_save(category=Category(name="城乡建设"))
    municipal = category_save(category=Category(name="市政管理", parent=building))
    enforcement = category_save(category=Category(name="城管执法", parent=municipal))
    complaint = RequestType.objects.get(code="complaint")

    def take(title: str, region: Any, phone: str) -> Any:
        return s.order_create(
            actor=people.li,
            intake=s.Intake(
                channel="phone", request_type=complaint, title=title, content=f"{title}，请尽快处理。",
                citizen_name="王小明", citizen_phone=phone, region=region, category=enforcement,
            ),
        )  # fmt: skip

    period = views.last_month()
    made: dict[str, Any] = {"last_month": []}
    with time_machine.travel(period.start + timedelta(days=3, hours=9), tick=False):
        for n, (title, region, unit) in enumerate(
            [
                ("夜间施工噪音扰民", city.east1, city.east1_office),
                ("人行道井盖松动", city.east1, city.east1_office),
                ("共享单车堵塞消防通道", city.east1, city.east1_office),
                ("片区停水未提前通知", city.west1, city.west1_office),
            ]
        ):
            order = take(title, region, f"1390000000{n}")
            s.order_dispatch(order=order, actor=people.zhou, lead_unit=unit)
            made["last_month"].append(order)
        first = made["last_month"][0]
        s.order_sign(order=first, actor=people.wang)
        s.order_answer(order=first, actor=people.wang, result="resolved", answer="已责令停工。")
        s.order_review(order=first, actor=people.zhou, accept=True)
        s.order_revisit(
            order=first, actor=people.zhou, method="phone", resolved=True, satisfaction="satisfied"
        )
    made["today"] = [
        take("小区垃圾清运不及时", city.east1, "13500000001"),
        take("路灯不亮", city.west1, "13500000002"),
    ]
    made["take"] = take
    return made


def test_leader_watches_the_dashboard_live_and_drills_into_the_assessment(
    browser: Any, people: Any, city: Any, orders_made: dict[str, Any], web: tuple[str, Path]
) -> None:
    base_url, log_path = web
    options = {"viewport": VIEWPORT, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
    with guarded_session(browser, base_url, **options) as session:
        page = session.page
        session.login("liu", PASSWORD)

        # --- the dashboard: today's figures, charts drawn by ECharts, live over the socket ---------
        session.goto("/reports/dashboard/")
        page.wait_for_selector("[data-testid=chart-regions][data-rendered] canvas")
        page.wait_for_selector("[data-testid=chart-categories][data-rendered] canvas")
        page.wait_for_selector("[data-testid=chart-hours][data-rendered] canvas")
        assert page.inner_text("[data-testid=fig-intake]").strip() == "2"
        assert page.get_attribute("[data-testid=chart-regions]", "data-rendered") == "2"  # 东区, 西区
        page.wait_for_function("() => window.hotlineLive && window.hotlineLive.isOpen()", timeout=15_000)
        session.screenshot("reports_dashboard")

        orders_made["take"]("消防通道被占", city.east2, "13500000003")  # a call taken while Liu watches
        try:
            page.wait_for_function(
                "() => document.querySelector('[data-testid=fig-intake]').textContent.trim() === '3'",
                timeout=20_000,
            )
        except Exception as exc:
            raise AssertionError(
                "the intake figure did not follow:\n" + log_path.read_text()[-3000:]
            ) from exc

        # --- the assessment: a number opens the orders behind it -------------------------------------
        session.goto("/reports/assessment/")
        page.wait_for_selector("[data-testid=report-table-0]")
        row = page.locator(f"tr[data-key='{city.east1_office.pk}']")
        received_column = page.locator("[data-testid=report-table-0] thead th[data-col=received]")
        assert received_column.count() == 1
        index = page.evaluate(
            "() => Array.from(document.querySelectorAll('[data-testid=report-table-0] thead th'))"
            ".findIndex(th => th.dataset.col === 'received')"
        )
        cell = row.locator("th, td").nth(index)
        assert cell.inner_text().strip() == "3"
        session.screenshot("reports_assessment")
        with page.expect_navigation():
            cell.locator("a").click()
        assert "/reports/drill/" in page.url
        listed = page.locator("[data-testid=drill-order]").all_inner_texts()
        assert sorted(listed) == sorted(o.number for o in orders_made["last_month"][:3])
        session.screenshot("reports_drill")
        with page.expect_navigation():
            page.locator("[data-testid=drill-order]").first.click()
        assert "/orders/" in page.url

        # --- volume: the chart of this period against the previous one and last year --------------
        session.goto("/reports/volume/?by=region")
        page.wait_for_selector("[data-testid=report-chart][data-rendered] canvas")
        assert page.get_attribute("[data-testid=report-chart]", "data-rendered") == "2"  # 东区, 西区
        session.screenshot("reports_volume")

        # --- the wall screen: dark, no navigation, the same figures ----------------------------------
        session.goto("/reports/dashboard/?wall=1")
        page.wait_for_selector("[data-testid=chart-regions][data-rendered] canvas")
        assert page.locator(".sidenav").count() == 0
        assert page.inner_text("[data-testid=fig-intake]").strip() == "3"
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(11, 22, 40)"
        session.screenshot("reports_wall")
