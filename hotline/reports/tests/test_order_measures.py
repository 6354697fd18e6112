"""Work-order measures against figures worked out by hand on the February fixture (``conftest.py``
lists its orders and what makes each awkward), and every figure against its drill-down list."""

from __future__ import annotations

import importlib
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from django.db.models import OuterRef, Subquery

from hotline.reports import orders as r
from hotline.reports.models import AssessmentScheme
from hotline.reports.tables import Table
from hotline.workorders import services as s
from hotline.workorders.models import Revisit, WorkOrder

from .conftest import CST, PERIOD, at, cst

pytestmark = pytest.mark.django_db
START, END = PERIOD

# The figures of the whole period, by hand from the fixture's story: (numerator, denominator).
TOTAL_COUNTS = {
    "received": 11,  # o1 o2 o4–o12 (o0 is January, o3 merged)
    "dispatched": 9,  # not o6 (answered at intake) nor o12 (waiting)
    "answered": 6,  # o1 o2 o4 o5 o10 o11
    "closed": 6,  # o1 o2 o4 o5 o6 o11
    "direct_closed": 1,  # o6
    "open": 4,  # o8 o9 o10 o12
    "cancelled": 1,  # o7
    "merged": 1,  # o3
    "overdue": 3,  # o8 (sign) o9 (sign) o10 (answer)
    "reopened": 1,  # o2
    "extensions": 1,  # o4 (the refused request does not count)
    "supervised": 1,  # o8
    "revisited": 4,  # o1 o2 o5 o11 (o4's revisit did not reach the citizen)
    "returns": 1,  # 东二街道 on o5
    "redispatches": 1,  # o5 went on to 东一街道
    "assists": 2,  # 市住建局 on o1, 东一街道 on o10
    "satisfied": 2,  # o1 o5
    "basically_satisfied": 1,  # o2's second revisit
    "unsatisfied": 1,  # o11 (o2's first revisit was superseded)
}
TOTAL_RATES = {
    # lead assignments signed or overdue: o1 o2 o2' o4 o5(东一) o8 o9 o10 o11; late: o8, unsigned: o9
    "sign_rate": (7, 9),
    "on_time_rate": (5, 6),  # answered by a unit; o10 late; o4 on time thanks to its extension
    "completion_rate": (5, 8),  # dispatched and not cancelled: o1 o2 o4 o5 o8 o9 o10 o11
    "resolution_rate": (3, 4),  # latest revisits: o1 o2 o5 resolved, o11 not; o4 unreachable
    "satisfaction_rate": (3, 4),  # o1 o5 satisfied, o2 basically, o11 unsatisfied
    "revisit_rate": (4, 5),  # due for a revisit: o1 o2 o4 o5 o11; reached: not o4
    "first_contact_rate": (4, 6),  # closed: o1 o4 o6 o11 first time; o2 reopened, o5 returned
}


def figures(row: Any, names: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        if r.MEASURES[name].kind == "rate":
            out[name] = (row.values[f"{name}_num"], row.values[f"{name}_den"])
        else:
            out[name] = row.values[name]
    return out


def row_of(table: Table, key: Any) -> Any:
    return next(row for row in table.all_rows() if row.key == key)


def drilled(table: Table, by: str, *, user: Any = None, filters: Any = None) -> None:
    """Every figure of every row equals the length of its drill-down list (numerator and, for a
    rate, denominator)."""
    for row in table.all_rows():
        row_by, key = ("total", None) if row.key == "" else (by, row.key)
        for name in r.MEASURES:
            if name not in row.values:
                continue
            kwargs = {"start": START, "end": END, "measure": name, "by": row_by, "key": key, "user": user,
                      "filters": filters}  # fmt: skip
            if r.MEASURES[name].kind == "rate":
                assert r.order_drill(**kwargs).count() == row.values[f"{name}_num"], (row.label, name)
                assert r.order_drill(**kwargs, num=False).count() == row.values[f"{name}_den"], (
                    row.label,
                    name,
                )
            else:
                assert r.order_drill(**kwargs).count() == row.values[name], (row.label, name)


def test_the_fixture_tells_its_story(february: Any) -> None:
    f = february
    # the answer deadline of o4 ran over the Spring Festival (15–23 Feb) to Friday 27 Feb
    assert f.answer_due_before_extension.astimezone(CST).date() == date(2026, 2, 27)
    assert f.o4.answer_due_at > f.answer_due_before_extension  # the approved two days
    assert f.o4.answered_at > f.answer_due_before_extension and not f.o4.was_overdue
    assert (f.o2.round, f.o2.state, f.o2.satisfaction) == (2, "closed", "basically")
    assert f.o3.state == "merged" and f.o6.closed_directly and f.o7.state == "cancelled"
    assert f.o8.was_overdue and f.o8.state == "handling" and f.o8.supervised
    assert f.o9.deadline_level == 100 and f.o9.state == "pending_sign"
    assert f.o10.was_overdue and f.o10.state == "pending_review"
    assert list(f.o5.assignments.values_list("unit__code", "state")) == [
        ("ST-EAST2", "returned"),
        ("ST-EAST1", "answered"),
    ]


def what_the_rows_say() -> dict[int, tuple[Any, ...]]:
    """Per order: its latest revisit's answers, and whether a revisit reached the citizen, an
    extension was approved and a lead unit's return accepted — read from those rows themselves."""
    out = {}
    for order in WorkOrder.objects.order_by("pk"):
        latest = order.revisits.order_by("-round", "-id").first()
        out[order.pk] = (
            latest.resolved if latest else None,
            latest.satisfaction if latest else "",
            order.revisits.exclude(method="unreachable").exists(),
            order.extensions.filter(state="approved").exists(),
            order.assignments.filter(role="lead", state="returned").exists(),
        )
    return out


def what_the_orders_keep() -> dict[int, tuple[Any, ...]]:
    rows = WorkOrder.objects.order_by("pk").values_list(
        "pk", "resolved", "satisfaction", "revisited", "extended", "returned"
    )
    return {pk: tuple(rest) for pk, *rest in rows}


def test_the_order_keeps_what_its_rows_say(february: Any) -> None:
    f = february
    kept = what_the_orders_keep()
    assert kept == what_the_rows_say()
    assert kept[f.o2.pk] == (True, "basically", True, False, False)  # the second round's revisit
    assert kept[f.o4.pk] == (None, "", False, True, False)  # unreachable; one of two extensions approved
    assert kept[f.o5.pk] == (True, "satisfied", True, False, True)  # returned, then re-dispatched
    assert kept[f.o11.pk] == (False, "unsatisfied", True, False, False)
    assert kept[f.o8.pk] == (None, "", False, False, False)


def test_the_migration_fills_what_the_rows_say(february: Any) -> None:
    from django.apps import apps

    fill = importlib.import_module("hotline.workorders.migrations.0008_order_facts").fill
    truth = what_the_rows_say()
    WorkOrder.objects.update(resolved=None, satisfaction="", revisited=False, extended=False, returned=False)
    WorkOrder.objects.filter(pk__in=[pk for pk, facts in truth.items() if facts[1]]).update(
        satisfaction=Subquery(
            Revisit.objects.filter(order=OuterRef("pk")).order_by("-round").values("satisfaction")[:1]
        )
    )  # ``satisfaction`` was already kept before the migration
    fill(apps, None)
    assert what_the_orders_keep() == truth


def test_the_migration_finds_the_orders_overdue_at_a_unit(february: Any) -> None:
    from django.apps import apps

    fill = importlib.import_module("hotline.workorders.migrations.0009_unit_overdue").fill
    kept = dict(WorkOrder.objects.values_list("pk", "unit_overdue"))
    assert kept[february.o8.pk] and kept[february.o9.pk] and kept[february.o10.pk]
    WorkOrder.objects.update(unit_overdue=False)
    fill(apps, None)
    assert dict(WorkOrder.objects.values_list("pk", "unit_overdue")) == kept


def test_totals_of_the_period(february: Any) -> None:
    table = r.order_measures(start=START, end=END, by="total")
    assert table.rows == []
    total = table.total
    assert total is not None
    assert figures(total, list(TOTAL_COUNTS)) == TOTAL_COUNTS
    assert figures(total, list(TOTAL_RATES)) == TOTAL_RATES
    assert total.values["sign_rate"] == pytest.approx(7 / 9)
    assert total.values["first_contact_rate"] == pytest.approx(4 / 6)
    drilled(table, "total")


def test_the_period_is_local_days(february: Any) -> None:
    received = r.order_drill(start=START, end=END, measure="received", by="total", key=None)
    f = february
    assert set(received) == {f.o1, f.o2, f.o4, f.o5, f.o6, f.o7, f.o8, f.o9, f.o10, f.o11, f.o12}
    # o12 came in at 00:30 on 1 Feb in the centre's time, 16:30 on 31 Jan in UTC
    assert f.o12.created_at.utctimetuple().tm_mday == 31
    january = r.order_measures(start=cst(2026, 1, 1), end=START, by="total", measures=["received"])
    assert january.total is not None and january.total.values["received"] == 1  # o0


def test_per_unit_rolls_up_sub_units(february: Any, city: Any) -> None:
    table = r.order_measures(start=START, end=END, by="unit")
    # the top units but the centre, and the orders without a lead unit (o6, o12; o3 merged)
    assert {row.key for row in table.rows} == {
        city.city_gov.pk, city.housing.pk, city.east_gov.pk, city.west_gov.pk, city.water.pk, None,
    }  # fmt: skip
    east = row_of(table, city.east_gov.pk)  # 东一 (o1 o2 o5 o8) and 东二 (o4 o11)
    assert figures(east, ["received", "dispatched", "answered", "closed", "open", "overdue", "reopened",
                          "extensions", "supervised", "revisited", "returns", "redispatches", "assists",
                          "cancelled", "merged"]) == {
        "received": 6, "dispatched": 6, "answered": 5, "closed": 5, "open": 1, "overdue": 1, "reopened": 1,
        "extensions": 1, "supervised": 1, "revisited": 4, "returns": 1, "redispatches": 1, "assists": 1,
        "cancelled": 0, "merged": 0,
    }  # fmt: skip
    assert figures(east, list(TOTAL_RATES)) == {
        "sign_rate": (6, 7),  # o5's returned assignment does not count; o8 signed late
        "on_time_rate": (5, 5),
        "completion_rate": (5, 6),
        "resolution_rate": (3, 4),
        "satisfaction_rate": (3, 4),
        "revisit_rate": (4, 5),
        "first_contact_rate": (3, 5),
    }
    west = row_of(table, city.west_gov.pk)  # o7 (cancelled) o9 o10
    west_counts = ["received", "dispatched", "answered", "closed", "open", "cancelled", "overdue"]
    assert figures(west, west_counts) == {
        "received": 3, "dispatched": 3, "answered": 1, "closed": 0, "open": 2, "cancelled": 1, "overdue": 2,
    }  # fmt: skip
    assert figures(west, ["sign_rate", "on_time_rate", "completion_rate"]) == {
        "sign_rate": (1, 2),  # o7's assignment was withdrawn unsigned; o9 never signed
        "on_time_rate": (0, 1),
        "completion_rate": (0, 2),
    }
    assert west.values["revisit_rate"] is None and west.values["satisfaction_rate"] is None
    housing = row_of(table, city.housing.pk)
    assert housing.values["assists"] == 1 and housing.values["received"] == 0
    rest = row_of(table, None)
    assert figures(rest, ["received", "closed", "direct_closed", "open", "merged", "dispatched"]) == {
        "received": 2, "closed": 1, "direct_closed": 1, "open": 1, "merged": 1, "dispatched": 0,
    }  # fmt: skip
    assert figures(rest, ["first_contact_rate"]) == {"first_contact_rate": (1, 1)}
    drilled(table, "unit")


def test_children_of_a_unit_and_without_roll_up(february: Any, city: Any) -> None:
    filters = r.ReportFilter(unit=city.east_gov.pk)
    table = r.order_measures(start=START, end=END, by="unit", filters=filters)
    assert [row.key for row in table.rows] == [city.east1_office.pk, city.east2_office.pk]
    east1, east2 = table.rows
    assert figures(east1, ["received", "sign_rate", "assists", "returns"]) == {
        "received": 4, "sign_rate": (4, 5), "assists": 1, "returns": 0,
    }  # fmt: skip
    assert figures(east2, ["received", "sign_rate", "returns", "redispatches", "extensions"]) == {
        "received": 2, "sign_rate": (2, 2), "returns": 1, "redispatches": 1, "extensions": 1,
    }  # fmt: skip
    assert table.total is not None and table.total.values["received"] == 6  # the district's subtree
    drilled(table, "unit", filters=filters)
    flat = r.order_measures(start=START, end=END, by="unit", rollup=False, measures=["received", "assists"])
    east = row_of(flat, city.east_gov.pk)
    assert (east.values["received"], east.values["assists"]) == (0, 0)  # the district leads nothing itself


def test_per_region_category_type_and_channel(february: Any, city: Any, categories: Any) -> None:
    names = ["received", "merged", "closed"]
    by_region = r.order_measures(start=START, end=END, by="region", measures=names)
    assert [(row.key, row.values["received"], row.values["merged"]) for row in by_region.rows] == [
        (city.east.pk, 7, 1),  # o1 o2 o5 o8 (东一) o4 o11 o12 (东二); o3 merged
        (city.west.pk, 4, 0),  # o6 o7 o9 o10
    ]
    drilled(by_region, "region")
    by_category = r.order_measures(start=START, end=END, by="category", measures=names)
    assert [(row.key, row.values["received"]) for row in by_category.rows] == [
        (categories.building.pk, 6),
        (categories.environment.pk, 5),
        (categories.transport.pk, 0),
    ]
    drilled(by_category, "category")
    narrowed = r.ReportFilter(category=categories.building.pk)
    municipal = r.order_measures(start=START, end=END, by="category", filters=narrowed, measures=names)
    assert [(row.key, row.values["received"]) for row in municipal.rows] == [(categories.municipal.pk, 6)]
    by_type = r.order_measures(start=START, end=END, by="type", measures=names)
    counts = {row.label: row.values["received"] for row in by_type.rows if row.values["received"]}
    assert counts == {"投诉": 7, "咨询": 2, "求助": 2}
    drilled(by_type, "type")
    by_channel = r.order_measures(start=START, end=END, by="channel", measures=names)
    counts = {row.key: row.values["received"] for row in by_channel.rows if row.values["received"]}
    assert counts == {"phone": 9, "wechat": 1, "web": 1}
    drilled(by_channel, "channel")


def test_filters_narrow_every_basis(february: Any, city: Any) -> None:
    f = february
    west_phone = r.ReportFilter(region=city.west.pk, channel="phone")  # o6 o7
    table = r.order_measures(start=START, end=END, by="region", filters=west_phone)
    assert [(row.key, row.values["received"]) for row in table.rows] == [(city.west1.pk, 2)]
    assert table.total is not None
    names = ["received", "cancelled", "direct_closed", "sign_rate", "first_contact_rate"]
    assert figures(table.total, names) == {
        "received": 2, "cancelled": 1, "direct_closed": 1, "sign_rate": (0, 0), "first_contact_rate": (1, 1),
    }  # fmt: skip
    drilled(table, "region", filters=west_phone)
    help_orders = r.ReportFilter(type_code="help")  # o9 o10, both led by 西一街道
    by_unit = r.order_measures(start=START, end=END, by="unit", filters=help_orders)
    assert figures(row_of(by_unit, city.west_gov.pk), ["received", "sign_rate"]) == {
        "received": 2, "sign_rate": (1, 2),
    }  # fmt: skip
    assert figures(row_of(by_unit, city.east_gov.pk), ["assists"]) == {"assists": 1}  # 东一 assists o10
    drilled(by_unit, "unit", filters=help_orders)
    assert set(
        r.order_drill(start=START, end=END, measure="received", by="unit", key=city.west1_office.pk,
                      filters=help_orders)
    ) == {f.o9, f.o10}  # fmt: skip


def test_drill_lists_the_orders_of_a_figure(february: Any, city: Any) -> None:
    f = february

    def drill(measure: str, by: str = "total", key: Any = None, num: bool = True) -> Counter[int]:
        qs = r.order_drill(start=START, end=END, measure=measure, by=by, key=key, num=num)
        return Counter(qs.values_list("id", flat=True))

    east = city.east_gov.pk
    # one entry per counted assignment: o2 twice (two rounds, both signed in time)
    assert drill("sign_rate", "unit", east, num=False) == Counter(
        {f.o1.pk: 1, f.o2.pk: 2, f.o4.pk: 1, f.o5.pk: 1, f.o8.pk: 1, f.o11.pk: 1}
    )
    assert set(drill("sign_rate", "unit", east)) == {f.o1.pk, f.o2.pk, f.o4.pk, f.o5.pk, f.o11.pk}
    assert set(drill("on_time_rate")) == {f.o1.pk, f.o2.pk, f.o4.pk, f.o5.pk, f.o11.pk}
    assert set(drill("first_contact_rate")) == {f.o1.pk, f.o4.pk, f.o6.pk, f.o11.pk}
    assert set(drill("satisfaction_rate")) == {f.o1.pk, f.o2.pk, f.o5.pk}
    assert set(drill("merged")) == {f.o3.pk}
    assert set(drill("returns", "unit", east)) == {f.o5.pk}
    assert set(drill("received", "unit", None)) == {f.o6.pk, f.o12.pk}
    assert set(drill("overdue")) == {f.o8.pk, f.o9.pk, f.o10.pk}


def test_a_unit_manager_drills_into_their_orders_only(february: Any, people: Any) -> None:
    f = february

    def received(user: Any) -> set[WorkOrder]:
        return set(r.order_drill(start=START, end=END, measure="received", by="total", key=None, user=user))

    # 东一街道: what it led or assisted with, whoever leads it now
    assert received(people.sun) == {f.o1, f.o2, f.o5, f.o8, f.o10}
    assert received(people.wu) == {f.o7, f.o9, f.o10}
    # the 东区 leader: orders in the district or assigned to its units
    assert received(people.zhao) == {f.o1, f.o2, f.o4, f.o5, f.o8, f.o10, f.o11, f.o12}
    table = r.order_measures(start=START, end=END, by="total", user=people.sun)
    assert table.total is not None and table.total.values["received"] == 5
    assert figures(table.total, ["sign_rate"]) == {"sign_rate": (5, 6)}  # o10 (西一) is signed in time
    drilled(table, "total", user=people.sun)
    unsigned = r.order_drill(start=START, end=END, measure="sign_rate", by="total", key=None, user=people.wu)
    assert set(unsigned) == {f.o10}


def test_assessment_ranks_units_of_a_kind(february: Any, city: Any) -> None:
    table = r.assessment(start=START, end=END, scheme=None)  # no scheme: the default weights
    rows = {row.key: row for row in table.rows}
    assert city.centre.pk not in rows
    # 0.2 × response + 0.4 × resolution + 0.4 × satisfaction, in percent
    assert rows[city.east_gov.pk].values["score"] == pytest.approx(
        100 * (0.2 * 6 / 7 + 0.4 * 0.75 + 0.4 * 0.75)
    )
    assert rows[city.west_gov.pk].values["score"] == pytest.approx(50.0)  # only the response rate is known
    assert rows[city.east1_office.pk].values["score"] == pytest.approx(96.0)
    assert rows[city.east2_office.pk].values["score"] == pytest.approx(20.0)
    assert rows[city.west1_office.pk].values["score"] == pytest.approx(50.0)
    ranks = {key: row.values["rank"] for key, row in rows.items()}
    assert (ranks[city.east_gov.pk], ranks[city.west_gov.pk]) == (1, 2)
    assert (ranks[city.east1_office.pk], ranks[city.west1_office.pk], ranks[city.east2_office.pk]) == (
        1,
        2,
        3,
    )
    assert ranks[city.east1_community.pk] is None and rows[city.east1_community.pk].values["score"] is None
    assert ranks[city.housing.pk] is None
    # the streets are listed in rank order
    offices = {city.east1_office.pk, city.east2_office.pk, city.west1_office.pk}
    assert [row.key for row in table.rows if row.key in offices] == [
        city.east1_office.pk, city.west1_office.pk, city.east2_office.pk,
    ]  # fmt: skip
    drilled(table, "unit")


def test_assessment_with_a_scheme_and_a_parent(february: Any, city: Any) -> None:
    scheme = AssessmentScheme.objects.create(name="办结", weights={"on_time_rate": 1, "completion_rate": 1})
    table = r.assessment(start=START, end=END, scheme=None, parent_unit=city.east_gov)  # the active one
    assert [row.key for row in table.rows] == [city.east2_office.pk, city.east1_office.pk]
    east2, east1 = table.rows
    assert east2.values["score"] == pytest.approx(100.0) and east2.values["rank"] == 1
    assert east1.values["score"] == pytest.approx(87.5) and east1.values["rank"] == 2  # 3/3 and 3/4
    west = r.assessment(start=START, end=END, scheme=scheme, parent_unit=city.west_gov)
    assert west.rows[0].values["score"] == pytest.approx(0.0) and west.rows[0].values["rank"] == 1
    with pytest.raises(ValueError, match="only rates"):
        r.assessment(start=START, end=END, scheme=AssessmentScheme(name="x", weights={"received": 1}))


def test_a_unit_manager_sees_the_assessment_of_their_units(february: Any, city: Any, people: Any) -> None:
    table = r.assessment(start=START, end=END, user=people.sun)
    assert [row.key for row in table.rows] == [city.east1_office.pk, city.east1_community.pk]
    assert table.rows[0].values["score"] == pytest.approx(96.0)


def test_score_leaves_out_rates_without_denominator() -> None:
    weights = {"sign_rate": 0.2, "resolution_rate": 0.4, "satisfaction_rate": 0.4}
    assert r.score({"sign_rate": 0.5, "resolution_rate": None, "satisfaction_rate": 1.0}, weights) == (
        pytest.approx(100 * (0.1 + 0.4) / 0.6)
    )
    assert r.score({"sign_rate": None}, weights) is None


def test_volume_with_previous_period_and_last_year(february: Any, intake: Any, city: Any) -> None:
    with at(2025, 2, 10, 9, 0):
        intake()
    with at(2025, 2, 28, 23, 0):
        intake(type_code="consultation")
    with at(2025, 3, 1, 0, 30):  # not February 2025
        intake()
    table = r.volume(start=START, end=END, by="type")
    assert table.params["previous"] == (cst(2026, 1, 1), START)  # a calendar month: January
    assert table.params["last_year"] == (cst(2025, 2, 1), cst(2025, 3, 1))
    rows = {row.label: row.values for row in table.rows}
    assert rows["投诉"] == {"count": 7, "previous": 1, "previous_change": 6.0, "last_year": 1,
                          "last_year_change": 6.0}  # fmt: skip
    assert rows["咨询"] == {"count": 2, "previous": 0, "previous_change": None, "last_year": 1,
                          "last_year_change": 1.0}  # fmt: skip
    assert table.total is not None
    assert (table.total.values["count"], table.total.values["previous"], table.total.values["last_year"]) == (
        11,
        1,
        2,
    )

    by_hour = r.volume(start=START, end=END, by="hour")
    counts = {row.key: row.values["count"] for row in by_hour.rows if row.values["count"]}
    assert counts == {0: 1, 9: 5, 10: 3, 11: 1, 14: 1}  # local hours; o3 (11:00) merged
    assert row_of(by_hour, 23).values["previous"] == 1  # o0, 23:30 on 31 January
    for hour in (0, 9, 14):
        assert (
            r.order_drill(start=START, end=END, measure="received", by="hour", key=hour).count()
            == counts[hour]
        )

    by_day = r.volume(start=START, end=END, by="day")
    assert len(by_day.rows) == 28
    counts = {row.key: row.values["count"] for row in by_day.rows if row.values["count"]}
    assert counts == {date(2026, 2, d): n for d, n in {1: 1, 2: 2, 3: 3, 4: 2, 5: 1, 6: 1, 13: 1}.items()}
    assert row_of(by_day, date(2026, 2, 10)).values["last_year"] == 1  # 10 Feb 2025
    assert row_of(by_day, date(2026, 2, 28)).values["last_year"] == 1  # 28 Feb 2025, 23:00
    assert (
        r.order_drill(start=START, end=END, measure="received", by="day", key=date(2026, 2, 3)).count() == 3
    )


def test_previous_and_last_year_ranges() -> None:
    assert r.previous_range(cst(2026, 3, 1), cst(2026, 4, 1)) == (cst(2026, 2, 1), cst(2026, 3, 1))
    assert r.previous_range(cst(2026, 1, 1), cst(2026, 4, 1)) == (cst(2025, 10, 1), cst(2026, 1, 1))
    assert r.previous_range(cst(2026, 3, 10), cst(2026, 3, 17)) == (cst(2026, 3, 3), cst(2026, 3, 10))
    assert r.last_year_range(cst(2028, 2, 29), cst(2028, 3, 1)) == (cst(2027, 2, 28), cst(2027, 3, 1))


def test_rising_categories_need_a_base(db: Any, intake: Any, categories: Any, city: Any) -> None:
    # January: 5 street-enforcement and 2 noise orders; February: 8 and 6
    for day in range(5, 10):
        with at(2026, 1, day, 10, 0):
            intake(citizen_phone=f"1390000{day:04d}")
    for day in (5, 6):
        with at(2026, 1, day, 11, 0):
            intake(category=categories.noise, citizen_phone=f"1380000{day:04d}")
    for day in range(2, 10):
        with at(2026, 2, day, 10, 0):
            intake(citizen_phone=f"1370000{day:04d}")
    for day in range(2, 8):
        with at(2026, 2, day, 11, 0):
            intake(category=categories.noise, citizen_phone=f"1360000{day:04d}")
    table = r.rising_categories(start=START, end=END)
    # noise tripled, but from 2 orders: below the base of 5; the municipal category rose by 60 %
    assert [(row.key, row.values) for row in table.rows] == [
        (categories.municipal.pk, {"count": 8, "previous": 5, "change": pytest.approx(0.6)})
    ]


def test_summary_table(february: Any, categories: Any) -> None:
    table = r.summary_table(start=START, end=END, type_code=None)
    c = categories
    assert [(row.key, row.level, [row.values[n] for n in r.SUMMARY]) for row in table.rows] == [
        # unprocessed, processed, cancelled, revisited, total
        (c.building.pk, 0, [1, 5, 0, 4, 6]),
        (c.municipal.pk, 1, [1, 5, 0, 4, 6]),
        (c.environment.pk, 0, [3, 1, 1, 0, 5]),
        (c.noise.pk, 1, [3, 1, 1, 0, 5]),
        (c.transport.pk, 0, [0, 0, 0, 0, 0]),
    ]
    assert table.total is not None and [table.total.values[n] for n in r.SUMMARY] == [4, 6, 1, 4, 11]
    complaints = r.summary_table(start=START, end=END, type_code="complaint")
    assert [(row.key, row.values["received"]) for row in complaints.rows] == [
        (c.building.pk, 6), (c.municipal.pk, 6), (c.environment.pk, 1), (c.noise.pk, 1), (c.transport.pk, 0),
    ]  # fmt: skip
    other = r.summary_table(start=START, end=END, type_code=r.OTHER_TYPES)  # the two 求助
    assert other.total is not None and [other.total.values[n] for n in r.SUMMARY] == [2, 0, 0, 0, 2]
    drilled(other, "category", filters=r.ReportFilter(type_code=r.OTHER_TYPES))


def test_dashboard_of_a_day(february: Any, city: Any, categories: Any) -> None:
    f = february
    now = cst(2026, 2, 4, 15, 0)
    board = r.dashboard_orders(now=now)
    # today (4 Feb): o8 and o9 received and dispatched; o8 and o9 held by units now; o5 closed today
    assert (board["intake"], board["dispatched"], board["handling"], board["completed"]) == (2, 2, 2, 1)
    assert [(x["key"], x["received"], x["overdue"]) for x in board["regions"]] == [
        (city.west.pk, 1, 1),  # o9, still unsigned and overdue
        (city.east.pk, 1, 0),
    ]
    assert [(x["number"], x["unit"]) for x in board["overdue"]] == [(f.o9.number, "西一街道办事处")]
    assert board["overdue"][0]["overdue_s"] == int(timedelta(hours=3, minutes=20).total_seconds())
    assert [(x["key"], x["count"]) for x in board["hot_categories"]] == [
        (categories.noise.pk, 1),
        (categories.municipal.pk, 1),
    ]


def test_a_new_dispatch_counts_on_the_dashboard_day(february: Any, people: Any, city: Any) -> None:
    f = february
    with at(2026, 2, 4, 16, 0):
        s.order_dispatch(order=f.o12, actor=people.zhou, lead_unit=city.east2_office)
    board = r.dashboard_orders(now=cst(2026, 2, 4, 17, 0))
    assert (board["dispatched"], board["handling"]) == (3, 3)
