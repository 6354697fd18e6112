"""Trunk records (中继话务统计): offered / answered / failed per trunk and Beijing hour, counted from
hand-made call records and legs across an hour boundary and midnight."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse

from hotline.audit.models import AuditEvent
from hotline.callcenter.choices import Direction, LegKind, Outcome
from hotline.callcenter.models import CallLeg, CallRecord
from hotline.core.errors import ValidationFailed
from hotline.telephony.models import Trunk
from hotline.telephony.recordings import TrunkFigures, trunk_hours

pytestmark = pytest.mark.django_db

BACKEND = "hotline.accounts.backends.RoleBackend"
SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 21)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A Beijing time in November 2026 (stored as UTC by the ORM)."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SH)


def inbound(call_id: str, start: datetime, outcome: str, trunk: str = "CT-1") -> CallRecord:
    return CallRecord.objects.create(
        call_id=call_id, direction=Direction.INBOUND, caller="13800000000", called="12345", trunk=trunk,
        started_at=start, ended_at=start + timedelta(minutes=2), outcome=outcome,
    )  # fmt: skip


def leg(
    call_id: str, leg_id: str, start: datetime, *, answered: bool, trunk: str, kind: str = LegKind.OUTBOUND
) -> None:
    CallLeg.objects.create(
        call_id=call_id, leg_id=leg_id, kind=kind, party="02088886666", started_at=start,
        answered_at=start + timedelta(seconds=8) if answered else None, ended_at=start + timedelta(minutes=1),
        cause="normal" if answered else "no_answer", trunk=trunk,
    )  # fmt: skip


@pytest.fixture
def traffic(db: Any) -> None:
    Trunk.objects.create(code="CT-1", name="电信中继")
    Trunk.objects.create(code="CU-2", name="联通中继")
    # CT-1 inbound, around midnight and the 00→01 boundary
    inbound("a", at(20, 23, 58), Outcome.ANSWERED)  # the 20th, 23:00
    inbound("b", at(20, 23, 59, 30), Outcome.ANSWERED)  # the 20th, 23:00
    inbound("c", at(21, 0, 0, 10), Outcome.ANSWERED)  # the 21st, 00:00
    inbound("d", at(21, 0, 59, 59), Outcome.FAILED)  # 00:00
    inbound("e", at(21, 1, 0, 0), Outcome.REFUSED)  # 01:00
    inbound("f", at(21, 1, 30), Outcome.IVR)  # 01:00, taken by the platform
    inbound("g", at(21, 23, 59, 59), Outcome.ABANDONED)  # 23:00
    inbound("h", at(22, 0, 0, 0), Outcome.ANSWERED)  # the 22nd
    inbound("no-trunk", at(21, 0, 30), Outcome.ANSWERED, trunk="")  # an internal call: not a trunk's
    # CU-2: one inbound call, and an outbound call whose legs straddle 10:00
    inbound("i", at(21, 10, 15), Outcome.VOICEMAIL, trunk="CU-2")
    CallRecord.objects.create(
        call_id="out-1", direction=Direction.OUTBOUND, caller="12345", called="02088886666", trunk="CU-2",
        started_at=at(21, 9, 59, 50), ended_at=at(21, 10, 5), outcome=Outcome.OUTBOUND,
    )  # fmt: skip
    leg("out-1", "o1", at(21, 9, 59, 58), answered=True, trunk="CU-2")
    leg("out-1", "o2", at(21, 10, 0, 5), answered=False, trunk="CU-2")
    leg("out-1", "ag", at(21, 9, 59, 50), answered=True, trunk="", kind=LegKind.AGENT)
    # a call from the 20th transferred out on CT-1 just after midnight
    leg("a", "x1", at(21, 0, 0, 30), answered=True, trunk="CT-1")


def figures(report: Any, trunk: str, hour: datetime) -> tuple[tuple[int, ...], tuple[int, ...]]:
    for row in report.rows:
        if row.trunk == trunk and row.hour == hour:
            i, o = row.inbound, row.outbound
            return (i.offered, i.answered, i.failed), (o.offered, o.answered, o.failed)
    return (0, 0, 0), (0, 0, 0)


def test_counts_per_trunk_and_beijing_hour(traffic: None) -> None:
    report = trunk_hours(date_from=DAY, date_to=DAY)
    got = {(r.trunk, r.hour.hour): figures(report, r.trunk, r.hour) for r in report.rows}
    assert got == {
        ("CT-1", 0): ((2, 1, 1), (1, 1, 0)),
        ("CT-1", 1): ((2, 1, 1), (0, 0, 0)),
        ("CT-1", 23): ((1, 1, 0), (0, 0, 0)),
        ("CU-2", 9): ((0, 0, 0), (1, 1, 0)),
        ("CU-2", 10): ((1, 1, 0), (1, 0, 1)),
    }
    assert all(r.hour.utcoffset() == timedelta(hours=8) and r.hour.date() == DAY for r in report.rows)
    totals = report.totals()
    assert totals["CT-1"]["total"] == TrunkFigures(6, 4, 2)
    assert totals[""]["inbound"] == TrunkFigures(6, 4, 2)
    assert totals[""]["outbound"] == TrunkFigures(3, 2, 1)


def test_two_days_and_one_trunk(traffic: None) -> None:
    report = trunk_hours(date_from=date(2026, 11, 20), date_to=DAY, trunk="CT-1")
    assert report.trunks() == ["CT-1"]
    assert figures(report, "CT-1", at(20, 23)) == ((2, 2, 0), (0, 0, 0))
    assert figures(report, "CT-1", at(21, 0)) == ((2, 1, 1), (1, 1, 0))
    assert report.totals()["CT-1"]["inbound"] == TrunkFigures(7, 5, 2)
    assert report.totals()["CT-1"]["outbound"] == TrunkFigures(1, 1, 0)


def test_interval_checks(db: Any) -> None:
    with pytest.raises(ValidationFailed):
        trunk_hours(date_from=DAY, date_to=DAY - timedelta(days=1))
    with pytest.raises(ValidationFailed):
        trunk_hours(date_from=DAY, date_to=DAY + timedelta(days=31))
    assert trunk_hours(date_from=DAY, date_to=DAY + timedelta(days=30)).rows == []


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


def test_api(people: Any, traffic: None) -> None:
    url = "/api/v1/telephony/trunks/hours"
    data = as_user(people.chen).get(
        url, {"date_from": "2026-11-21", "date_to": "2026-11-21", "trunk": "CU-2"}
    )
    assert data.status_code == 200
    body = data.json()
    assert [(row["hour"], row["inbound"], row["outbound"], row["total"]) for row in body["rows"]] == [
        (
            "2026-11-21T09:00:00+08:00",
            {"offered": 0, "answered": 0, "failed": 0},
            {"offered": 1, "answered": 1, "failed": 0},
            {"offered": 1, "answered": 1, "failed": 0},
        ),
        (
            "2026-11-21T10:00:00+08:00",
            {"offered": 1, "answered": 1, "failed": 0},
            {"offered": 1, "answered": 0, "failed": 1},
            {"offered": 2, "answered": 1, "failed": 1},
        ),
    ]
    assert body["totals"] == [
        {
            "trunk": "CU-2",
            "inbound": {"offered": 1, "answered": 1, "failed": 0},
            "outbound": {"offered": 2, "answered": 1, "failed": 1},
            "total": {"offered": 3, "answered": 2, "failed": 1},
        }
    ]
    bad = as_user(people.chen).get(url, {"date_from": "2026-11-21", "date_to": "2026-11-20"})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"
    assert "date_to" in bad.json()["fields"]
    assert as_user(people.chen).get(url, {"date_from": "2026-11-21"}).status_code == 422
    assert (
        as_user(people.chen).get(url, {"date_from": "21/11/2026", "date_to": "2026-11-21"}).status_code == 422
    )
    for user in (people.li, people.ma, people.wang):
        assert as_user(user).get(url, {"date_from": "2026-11-21", "date_to": "2026-11-21"}).status_code == 403


def test_screen_and_export(people: Any, traffic: None) -> None:
    url = reverse("telephony:trunk_hours")
    page = as_user(people.chen).get(url, {"date": "2026-11-21"})
    assert page.status_code == 200
    text = page.content.decode()
    assert text.count('data-testid="trunk-table"') == 2
    assert text.count('data-testid="trunk-hour"') == 48  # 24 hours per trunk
    assert "电信中继" in text and "联通中继" in text
    assert as_user(people.chen).get(url, {"date": "not-a-day"}).status_code == 400
    assert as_user(people.li).get(url).status_code == 403
    empty = as_user(people.chen).get(url, {"date": "2026-10-01"}).content.decode()
    assert 'data-testid="trunk-hours-empty"' in empty

    from openpyxl import load_workbook

    export = as_user(people.chen).get(reverse("telephony:trunk_hours_xlsx"), {"date": "2026-11-21"})
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(export.content)).active
    assert sheet is not None
    rows = [tuple(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ("CU-2", "2026-11-21 10:00", 1, 1, 0, 1, 0, 1, 2, 1, 1) in rows
    assert rows[-1][0] == "CU-2" and rows[-1][2:] == (1, 1, 0, 2, 1, 1, 3, 2, 1)  # the trunk's total
    assert AuditEvent.objects.filter(action="export", note="trunk hours").count() == 1
