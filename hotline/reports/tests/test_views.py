"""The report screens, their drill-downs, downloads, the dashboard's data and the reports API, on the
February fixture (``conftest.february``: hand-made orders with returns, merges, reopenings,
extensions over the Spring Festival, cancellations).

What is checked here is the screens' part: every figure shown links to exactly the orders behind
it (in the user's scope), bad parameters are 400 with a stable code and never 500, each screen
asks its permission, the downloads carry the same figures. The measures themselves are checked in
the measure tests.
"""

from __future__ import annotations

import io
import re
import threading
import time
from datetime import timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from hotline.audit.models import AuditEvent
from hotline.reports import live, orders, views
from hotline.reports.models import AssessmentScheme

from .conftest import PERIOD, February

pytestmark = pytest.mark.django_db

FEB = {"start": "2026-02-01", "end": "2026-02-28"}


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()  # the dashboard's figures are shared for a few seconds


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def numbers(response: Any) -> set[str]:
    return {o.number for o in response.context["page"].object_list}


def drill_links(html: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'href="(/reports/drill/\?[^"]+)"', html)]


def row_cells(html: str, key: Any) -> str:
    match = re.search(rf'<tr data-key="{key}">(.*?)</tr>', html, re.S)
    assert match, f"no row {key}"
    return match.group(1)


# --- Screens ------------------------------------------------------------------------------------------


def test_index_lists_the_reports_each_user_may_open(people: Any) -> None:
    html = signed_in(people.liu).get(reverse("reports:index")).content.decode()
    for slug in ("assessment", "orders", "volume", "summary", "agents", "queues", "trunks", "dashboard"):
        assert f'data-testid="link-{slug}"' in html
    zhou = (
        signed_in(people.zhou).get(reverse("reports:index")).content.decode()
    )  # no assessment, no dashboard
    assert 'data-testid="link-volume"' in zhou
    assert 'data-testid="link-assessment"' not in zhou and 'data-testid="link-dashboard"' not in zhou


def test_assessment_numbers_link_to_exactly_the_orders_behind_them(
    people: Any, city: Any, february: February
) -> None:
    client = signed_in(people.liu)
    response = client.get(reverse("reports:assessment"), FEB)
    assert response.status_code == 200
    html = response.content.decode()
    table = orders.assessment(start=PERIOD[0], end=PERIOD[1], scheme=None, parent_unit=None, user=people.liu)
    east1 = next(r for r in table.rows if r.key == city.east1_office.pk)
    cells = row_cells(html, city.east1_office.pk)
    links = drill_links(cells)
    assert links, "the assessment's numbers are links"
    checked = 0
    for link in links:
        query = parse_qs(urlsplit(link).query)
        measure = query["measure"][0]
        assert query["by"] == ["unit"] and query["key"] == [str(city.east1_office.pk)]
        assert query["start"] == ["2026-02-01"] and query["end"] == ["2026-02-28"]
        drilled = client.get(link)
        assert drilled.status_code == 200
        count = drilled.context["page"].paginator.count
        kind = orders.MEASURES[measure].kind
        shown = east1.values[f"{measure}_num"] if kind == "rate" else east1.values[measure]
        assert count == shown, f"{measure}: the list has {count} orders, the figure says {shown}"
        checked += 1
    assert checked >= 10
    # hand-made: the orders whose lead unit is 东一街道 now (o5 came back to it after a return)
    received = client.get(
        reverse("reports:drill"), {"measure": "received", "by": "unit", "key": city.east1_office.pk, **FEB}
    )
    f = february
    assert numbers(received) == {f.o1.number, f.o2.number, f.o5.number, f.o8.number}
    assert f'href="/orders/{f.o1.number}/"' in received.content.decode()


def test_the_total_row_drills_into_numerator_and_denominator(people: Any, february: February) -> None:
    client = signed_in(people.liu)
    f = february
    base = {"measure": "satisfaction_rate", "by": "total", **FEB}
    satisfied = client.get(reverse("reports:drill"), base)
    everyone = client.get(reverse("reports:drill"), {**base, "num": "0"})
    # latest revisits: o1 satisfied, o2 basically satisfied (its second round), o5 satisfied, o11 not
    assert numbers(satisfied) == {f.o1.number, f.o2.number, f.o5.number}
    assert numbers(everyone) == {f.o1.number, f.o2.number, f.o5.number, f.o11.number}
    html = satisfied.content.decode()
    assert "num=0" in html and "num=1" in html  # the two tabs of a rate


def test_a_unit_manager_sees_only_their_units_orders(people: Any, city: Any, february: February) -> None:
    f = february
    sun = signed_in(people.sun)  # manager of 东一街道
    response = sun.get(reverse("reports:drill"), {"measure": "received", "by": "total", **FEB})
    assert numbers(response) == {f.o1.number, f.o2.number, f.o5.number, f.o8.number, f.o10.number}
    other = sun.get(
        reverse("reports:drill"), {"measure": "received", "by": "unit", "key": city.west1_office.pk, **FEB}
    )
    assert other.status_code == 200
    assert numbers(other) <= {f.o10.number}  # 西一街道's orders: only the one 东一街道 assisted with
    html = sun.get(reverse("reports:assessment"), FEB).content.decode()
    assert "东一街道办事处" in html
    assert "西一街道办事处" not in html and "东二街道办事处" not in html


def test_assessment_by_parent_unit_ranks_its_children_and_their_links_work(
    people: Any, city: Any, february: February
) -> None:
    client = signed_in(people.liu)
    scheme = AssessmentScheme.objects.create(name="东区考核", weights={"satisfaction_rate": 1})
    response = client.get(
        reverse("reports:assessment"), {**FEB, "parent": city.east_gov.pk, "scheme": scheme.pk}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "东一街道办事处" in html and "东二街道办事处" in html and "西一街道办事处" not in html
    links = drill_links(row_cells(html, city.east2_office.pk))
    received = next(link for link in links if "measure=received&" in link)
    assert f"unit={city.east_gov.pk}" in received
    assert numbers(client.get(received)) == {february.o4.number, february.o11.number}


def test_volume_summary_and_call_screens_render(people: Any, city: Any, february: February) -> None:
    client = signed_in(people.liu)
    volume = client.get(reverse("reports:volume"), {**FEB, "by": "hour"})
    assert volume.status_code == 200
    html = volume.content.decode()
    assert 'id="report-chart-data"' in html and "vendor/echarts.min.js" in html
    link = next(u for u in drill_links(html) if "by=hour&key=9&" in u)
    at_nine = numbers(client.get(link))
    f = february
    assert at_nine == {f.o1.number, f.o5.number, f.o8.number, f.o10.number, f.o9.number}
    for by in ("channel", "type", "category", "region", "unit", "day"):
        assert client.get(reverse("reports:volume"), {**FEB, "by": by}).status_code == 200
    summary = client.get(reverse("reports:summary"), {**FEB, "type": "complaint"})
    assert summary.status_code == 200 and "城乡建设" in summary.content.decode()
    assert client.get(reverse("reports:summary"), {**FEB, "type": "other"}).status_code == 200
    for name in ("agents", "trunks", "orders"):
        assert client.get(reverse(f"reports:{name}"), FEB).status_code == 200
    for by in views.QUEUE_BYS:
        assert client.get(reverse("reports:queues"), {**FEB, "by": by}).status_code == 200


def test_summary_second_level_rows_drill_to_their_orders(people: Any, february: February) -> None:
    client = signed_in(people.liu)
    html = client.get(reverse("reports:summary"), FEB).content.decode()
    for link in drill_links(html)[:40]:
        response = client.get(link)
        assert response.status_code == 200, link


def test_a_screen_defaults_to_last_month(people: Any) -> None:
    response = signed_in(people.liu).get(reverse("reports:volume"))
    assert response.status_code == 200
    period = response.context["period"]
    assert period == views.last_month()
    assert period.first.day == 1 and (period.last + timedelta(days=1)).day == 1


# --- Bad parameters -------------------------------------------------------------------------------------


BAD = [
    ("reports:volume", {"start": "2026-13-01", "end": "2026-02-28"}, "invalid_date", "start"),
    ("reports:volume", {"start": "2026-02-01", "end": "yesterday"}, "invalid_date", "end"),
    ("reports:volume", {"start": "2026-02-10", "end": "2026-02-01"}, "invalid_range", "end"),
    ("reports:volume", {"start": "2026-02-10"}, "invalid_range", "end"),
    ("reports:volume", {"start": "2024-01-01", "end": "2026-02-01"}, "range_too_long", "end"),
    ("reports:volume", {**FEB, "by": "weather"}, "unknown_by", "by"),
    ("reports:queues", {**FEB, "by": "unit"}, "unknown_by", "by"),
    ("reports:assessment", {**FEB, "parent": "x"}, "invalid_parent", "parent"),
    ("reports:assessment", {**FEB, "scheme": "999999"}, "unknown_scheme", "scheme"),
    ("reports:summary", {**FEB, "type": "nonsense"}, "unknown_type", "type"),
    ("reports:drill", {**FEB, "measure": "happiness", "by": "total"}, "unknown_measure", "measure"),
    ("reports:drill", {**FEB, "measure": "received", "by": "unit"}, "missing_key", "key"),
    ("reports:drill", {**FEB, "measure": "received", "by": "unit", "key": "abc"}, "unknown_key", "key"),
    ("reports:drill", {**FEB, "measure": "received", "by": "unit", "key": "999999"}, "unknown_key", "key"),
    ("reports:drill", {**FEB, "measure": "received", "by": "hour", "key": "99"}, "unknown_key", "key"),
]


@pytest.mark.parametrize(("name", "params", "code", "field"), BAD)
def test_bad_parameters_are_a_400_page_with_the_code(
    people: Any, city: Any, name: str, params: dict[str, str], code: str, field: str
) -> None:
    response = signed_in(people.chen).get(reverse(name), params)  # a supervisor reads every report
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-code="{code}"' in html
    assert f"<code>{field}</code>" in html


@pytest.mark.parametrize(("name", "params", "code", "field"), BAD)
def test_bad_parameters_are_a_400_api_error(
    people: Any, city: Any, name: str, params: dict[str, str], code: str, field: str
) -> None:
    path = "/api/v1/reports/" + name.split(":")[1]
    response = signed_in(people.chen).get(path, params)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code
    assert field in body["fields"]


def test_a_unit_outside_the_scope_is_not_a_parent(people: Any, city: Any) -> None:
    response = signed_in(people.sun).get(reverse("reports:assessment"), {**FEB, "parent": city.west_gov.pk})
    assert response.status_code == 400
    assert 'data-code="unknown_parent"' in response.content.decode()


# --- Permissions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "name", "status"),
    [
        ("wang", "reports:index", 403),  # a street handler
        ("li", "reports:volume", 403),  # an agent
        ("zhou", "reports:volume", 200),  # a dispatcher reads the reports …
        ("zhou", "reports:assessment", 403),  # … but not the assessment
        ("zhou", "reports:dashboard", 403),
        ("sun", "reports:assessment", 200),  # a unit manager: their unit's assessment
        ("sun", "reports:dashboard", 403),
        ("sun", "reports:agents", 403),  # … and no call report: they name agents, centre-wide
        ("sun", "reports:queues", 403),
        ("zhou", "reports:trunks", 403),
        ("chen", "reports:agents", 200),  # a supervisor
        ("chen", "reports:dashboard", 200),
        ("zhao", "reports:dashboard", 200),
    ],
)
def test_each_screen_asks_its_permission(people: Any, username: str, name: str, status: int) -> None:
    response = signed_in(getattr(people, username)).get(reverse(name), FEB)
    assert response.status_code == status


def test_signed_out_users_are_sent_to_log_in(db: Any) -> None:
    response = Client().get(reverse("reports:assessment"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_exports_need_the_export_permission_and_the_reports_own(people: Any, february: February) -> None:
    url = reverse("reports:export", args=["assessment", "xlsx"])
    assert signed_in(people.zhou).get(url, FEB).status_code == 403  # may export, may not assess
    assert signed_in(people.wang).get(url, FEB).status_code == 403
    assert (
        signed_in(people.zhou).get(reverse("reports:export", args=["volume", "xlsx"]), FEB).status_code == 200
    )
    assert signed_in(people.liu).get(reverse("reports:export", args=["nothing", "xlsx"])).status_code == 404


# --- Downloads ------------------------------------------------------------------------------------------


def test_excel_download_has_the_screens_figures_and_is_audited(
    people: Any, city: Any, february: February
) -> None:
    from openpyxl import load_workbook

    response = signed_in(people.liu).get(reverse("reports:export", args=["assessment", "xlsx"]), FEB)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=5)}
    header = [c.value for c in sheet[4]]
    table = orders.assessment(start=PERIOD[0], end=PERIOD[1], scheme=None, parent_unit=None, user=people.liu)
    east1 = next(r for r in table.rows if r.key == city.east1_office.pk)
    received = rows["东一街道办事处"][header.index(str(table.column("received").label))]
    assert received.value == east1.values["received"] == 4
    sign = rows["东一街道办事处"][header.index(str(table.column("sign_rate").label))]
    assert sign.value == pytest.approx(east1.values["sign_rate"]) and sign.number_format == "0.0%"
    audit = AuditEvent.objects.get(object_type="reports.report", actor=people.liu)
    assert audit.after["format"] == "xlsx" and "start=2026-02-01" in audit.note


def test_pdf_download(people: Any, february: February) -> None:
    from conftest import require_service
    from hotline.workorders.exports import pdf_font_available

    require_service(pdf_font_available(), "a Chinese TrueType font")
    response = signed_in(people.liu).get(reverse("reports:export", args=["volume", "pdf"]), FEB)
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response["Content-Type"] == "application/pdf"


def test_drill_list_downloads_as_the_order_workbook(people: Any, february: February) -> None:
    from openpyxl import load_workbook

    params = {"measure": "satisfaction_rate", "by": "total", **FEB}
    response = signed_in(people.liu).get(reverse("reports:drill_xlsx"), params)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    got = {row[0].value for row in sheet.iter_rows(min_row=2) if row[0].value}
    f = february
    assert got == {f.o1.number, f.o2.number, f.o5.number}


def test_report_pages_have_excel_pdf_and_print(people: Any, february: February) -> None:
    html = signed_in(people.liu).get(reverse("reports:volume"), FEB).content.decode()
    assert 'data-testid="export-xlsx"' in html and 'data-testid="export-pdf"' in html
    assert "window.print()" in html and "reports/reports.css" in html


# --- Dashboard ------------------------------------------------------------------------------------------


def test_dashboard_and_its_wall_mode(people: Any, february: February) -> None:
    client = signed_in(people.liu)
    page = client.get(reverse("reports:dashboard")).content.decode()
    assert 'data-testid="dashboard"' in page and 'class="sidenav' in page
    assert "vendor/echarts.min.js" in page and "reports/dashboard.js" in page
    wall = client.get(reverse("reports:dashboard"), {"wall": "1"})
    html = wall.content.decode()
    assert 'class="db-wall"' in html
    assert 'class="sidenav' not in html and 'class="topbar"' not in html  # no navigation
    assert wall.context["config"]["refresh_ms"] == 60_000 and wall.context["config"]["wall"] is True
    assert "/ws/live/" in html  # the page's socket


def test_dashboard_data_is_shared_for_a_few_seconds(
    people: Any, monkeypatch: pytest.MonkeyPatch, intake: Any
) -> None:
    calls_made: list[Any] = []
    real = orders.dashboard_orders

    def counting(**kwargs: Any) -> Any:
        calls_made.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(orders, "dashboard_orders", counting)
    url = reverse("reports:dashboard_data")
    first = signed_in(people.liu).get(url).json()
    assert first["orders"]["intake"] == 0
    intake()
    second = signed_in(people.chen).get(url).json()
    assert len(calls_made) == 1  # the second screen got the shared copy
    assert second == first
    cache.clear()  # the copy expires
    third = signed_in(people.chen).get(url).json()
    assert third["orders"]["intake"] == 1
    assert set(third) == {"orders", "calls", "at"}
    assert {"offered", "answered", "connection_rate", "service_level", "waiting"} <= set(third["calls"])


def test_a_district_leader_has_the_figures_of_their_district(people: Any, city: Any, intake: Any) -> None:
    intake(region=city.west1, citizen_phone="13900000001")
    intake(region=city.east1, citizen_phone="13900000002")
    zhao = signed_in(people.zhao).get(reverse("reports:dashboard_data")).json()  # 东区
    liu = signed_in(people.liu).get(reverse("reports:dashboard_data")).json()  # the city
    assert liu["orders"]["intake"] == 2
    assert zhao["orders"]["intake"] == 1


# --- Live -----------------------------------------------------------------------------------------------


def test_orders_changed_sends_one_event_after_commit(
    monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    sent: list[Any] = []
    monkeypatch.setattr(live, "publish_many_now", lambda events: sent.append(events))
    live.throttle().cancel()
    with django_capture_on_commit_callbacks(execute=True):
        live.orders_changed()
        assert sent == []  # nothing before the commit
    assert sent == [[("reports.live", {"type": "reports.orders"})]]
    live.throttle().cancel()


def test_the_throttle_sends_at_most_once_per_interval_and_never_drops_the_last() -> None:
    now = [100.0]
    sent: list[float] = []
    done = threading.Event()

    def send() -> None:
        sent.append(now[0])
        if len(sent) == 2:
            done.set()

    throttle = live.Throttle(send, interval=0.2, clock=lambda: now[0])
    throttle()
    assert sent == [100.0]
    now[0] = 100.05
    throttle()  # inside the interval: a trailing send is scheduled …
    throttle()  # … and a third change joins it
    assert sent == [100.0] and throttle.pending
    assert done.wait(2)
    assert len(sent) == 2 and not throttle.pending
    now[0] = 101.0
    throttle()  # a quiet interval later: at once
    assert len(sent) == 3
    throttle.cancel()


def test_a_trailing_send_that_fails_is_logged_and_the_throttle_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    sent: list[float] = []
    failed = threading.Event()

    def send_later() -> None:
        failed.set()
        raise RuntimeError("database is locked")

    throttle = live.Throttle(lambda: sent.append(now[0]), send_later=send_later, interval=0.1,
                             clock=lambda: now[0])  # fmt: skip
    with caplog.at_level("WARNING", logger="hotline.reports.live"):
        throttle()
        now[0] = 100.05
        throttle()  # a trailing send, which fails
        assert failed.wait(2)
        for _ in range(200):
            if "the trailing dashboard event was not sent" in caplog.text:
                break
            time.sleep(0.01)
    assert "the trailing dashboard event was not sent" in caplog.text
    assert not throttle.pending
    now[0] = 101.0
    throttle()
    assert sent == [100.0, 101.0]
    throttle.cancel()


def test_the_trailing_event_goes_through_the_table_on_the_embedded_layer(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from channels.layers import InMemoryChannelLayer

    from hotline.core.models import LiveEvent

    monkeypatch.setattr(live, "get_channel_layer", InMemoryChannelLayer)  # the embedded default
    live._send_from_thread()
    assert list(LiveEvent.objects.values_list("group", "payload")) == [
        ("reports.live", {"type": "reports.orders"})
    ]


# --- API ------------------------------------------------------------------------------------------------


def test_api_reports_are_tables(people: Any, city: Any, february: February) -> None:
    client = signed_in(people.liu)
    body = client.get("/api/v1/reports/assessment", FEB).json()
    assert body["title"]
    assert {"key", "label", "kind", "drill"} <= set(body["columns"][0])
    row = next(r for r in body["rows"] if r["key"] == city.east1_office.pk)
    assert row["values"]["received"] == 4
    assert body["params"]["start"].startswith("2026-02-01T00:00:00+08:00")
    volume = client.get("/api/v1/reports/volume", {**FEB, "by": "channel"}).json()
    assert len(volume["tables"]) == 2
    drill = client.get("/api/v1/reports/drill", {"measure": "satisfaction_rate", "by": "total", **FEB}).json()
    f = february
    assert drill["count"] == 3
    assert {o["number"] for o in drill["orders"]} == {f.o1.number, f.o2.number, f.o5.number}
    for path in ("orders", "summary", "queues", "agents", "trunks", "dashboard"):
        assert client.get(f"/api/v1/reports/{path}", FEB).status_code == 200, path


def test_api_asks_the_permissions(people: Any) -> None:
    assert signed_in(people.zhou).get("/api/v1/reports/assessment", FEB).status_code == 403
    assert signed_in(people.wang).get("/api/v1/reports/volume", FEB).status_code == 403
    assert signed_in(people.sun).get("/api/v1/reports/dashboard").status_code == 403
    assert Client().get("/api/v1/reports/volume").status_code == 401
