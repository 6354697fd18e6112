"""Reports API under ``/api/v1/reports`` (docs/reports.md): every report screen as JSON.

Each report answers with the shape of ``tables.Table``: ``title``, ``columns`` (``key``, ``label``,
``kind``, ``drill``), ``rows`` and ``total`` (``key``, ``label``, ``level``, ``values``) and the
``params`` it was made with. Rates are fractions 0..1, ``null`` when there is nothing to divide by.
The query parameters are the screens' (``start`` and ``end``: local dates, both included; the
default is last month); a bad one is a 400 error with a stable ``code`` and the field in
``fields`` (``invalid_date``, ``invalid_range``, ``range_too_long``, ``unknown_by``,
``unknown_measure`` …).
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest
from ninja import Router, Schema

from hotline.core.api import requires
from hotline.core.localtime import LOCAL_TZ
from hotline.workorders.selectors import LIST_RELATED

from . import views
from .views import CALL_STATS, EXPORT_REPORTS, VIEW_ASSESSMENT, VIEW_DASHBOARD, VIEW_REPORTS

router = Router()

__all__ = ["EXPORT_REPORTS", "router"]


class ColumnOut(Schema):
    key: str
    label: str
    kind: str
    drill: str | None = None


class RowOut(Schema):
    key: Any = None
    label: str
    level: int = 0
    values: dict[str, Any]


class TableOut(Schema):
    title: str
    columns: list[ColumnOut]
    rows: list[RowOut]
    total: RowOut | None = None
    params: dict[str, Any]


class TablesOut(Schema):
    tables: list[TableOut]


class DashboardOut(Schema):
    orders: dict[str, Any]
    calls: dict[str, Any]
    at: str


class DrillOrderOut(Schema):
    number: str
    title: str
    created_at: str
    state: str
    channel: str
    request_type: str
    category: str
    region: str
    lead_unit: str


class DrillOut(Schema):
    measure: str
    label: str
    by: str
    key: str
    num: bool
    count: int
    page: int
    pages: int
    orders: list[DrillOrderOut]


def _tables(request: HttpRequest, slug: str) -> dict[str, Any]:
    built = views.REPORTS[slug].build(request.GET, request.user)
    return {"tables": [views.table_json(t) for t in built.tables]}


def _one(request: HttpRequest, slug: str) -> dict[str, Any]:
    built = views.REPORTS[slug].build(request.GET, request.user)
    return views.table_json(built.tables[0])


@router.get("/assessment", response=TableOut, url_name="reports_assessment")
@requires(VIEW_ASSESSMENT)
def assessment(
    request: HttpRequest,
    start: str = "",
    end: str = "",
    parent: str = "",
    scheme: str = "",
) -> dict[str, Any]:
    """部门考核: each unit's measures, weighted score and rank (``parent``: rank its sub-units)."""
    return _one(request, "assessment")


@router.get("/orders", response=TableOut, url_name="reports_orders")
@requires(VIEW_REPORTS)
def order_measures(request: HttpRequest, start: str = "", end: str = "", by: str = "unit") -> dict[str, Any]:
    """Every work-order measure by ``unit``, ``region``, ``category``, ``type``, ``channel`` or ``total``."""
    return _one(request, "orders")


@router.get("/volume", response=TablesOut, url_name="reports_volume")
@requires(VIEW_REPORTS)
def volume(request: HttpRequest, start: str = "", end: str = "", by: str = "channel") -> dict[str, Any]:
    """Volume with 环比/同比 by ``channel``, ``type``, ``category``, ``region``, ``unit``, ``hour``
    or ``day``; the second table: the categories rising fastest."""
    return _tables(request, "volume")


@router.get("/summary", response=TableOut, url_name="reports_summary")
@requires(VIEW_REPORTS)
def summary(request: HttpRequest, start: str = "", end: str = "", type: str = "") -> dict[str, Any]:
    """Category × (unprocessed, processed, cancelled, revisited, total), of one request ``type`` or all."""
    return _one(request, "summary")


@router.get("/queues", response=TableOut, url_name="reports_queues")
@requires(VIEW_REPORTS, CALL_STATS)
def queues(request: HttpRequest, start: str = "", end: str = "", by: str = "queue") -> dict[str, Any]:
    """Call measures by ``queue``, ``hour``, ``number`` (hotline number) or ``trunk``."""
    return _one(request, "queues")


@router.get("/agents", response=TableOut, url_name="reports_agents")
@requires(VIEW_REPORTS, CALL_STATS)
def agents(request: HttpRequest, start: str = "", end: str = "") -> dict[str, Any]:
    """The agents' report (R3): calls, orders taken, service time, unanswered offers, pauses."""
    return _one(request, "agents")


@router.get("/trunks", response=TableOut, url_name="reports_trunks")
@requires(VIEW_REPORTS, CALL_STATS)
def trunks(request: HttpRequest, start: str = "", end: str = "") -> dict[str, Any]:
    """Calls offered, answered and failed per trunk."""
    return _one(request, "trunks")


@router.get("/dashboard", response=DashboardOut, url_name="reports_dashboard")
@requires(VIEW_DASHBOARD)
def dashboard(request: HttpRequest) -> dict[str, Any]:
    """Today's figures of the leaders' dashboard (shared by every screen for a few seconds)."""
    return views.dashboard_figures_shared(request.user)


@router.get("/drill", response=DrillOut, url_name="reports_drill")
@requires(VIEW_REPORTS)
def drill(
    request: HttpRequest,
    measure: str = "",
    by: str = "total",
    key: str = "",
    start: str = "",
    end: str = "",
    num: str = "1",
    type: str = "",
    unit: str = "",
    region: str = "",
    category: str = "",
    channel: str = "",
    page: int = 1,
) -> dict[str, Any]:
    """The orders behind one figure (in the caller's data scope), 50 a page, newest first."""
    spec = views.parse_drill(request.GET)
    qs = views.drill_orders(spec, request.user).select_related(*LIST_RELATED).order_by("-created_at", "-id")
    paged = Paginator(qs, 50).get_page(page)
    return {
        "measure": spec.measure,
        "label": str(views.orders.MEASURES[spec.measure].label),
        "by": spec.by,
        "key": spec.key,
        "num": spec.num,
        "count": paged.paginator.count,
        "page": paged.number,
        "pages": paged.paginator.num_pages,
        "orders": [
            {
                "number": o.number,
                "title": o.title,
                "created_at": o.created_at.astimezone(LOCAL_TZ).isoformat(),
                "state": o.state,
                "channel": o.channel,
                "request_type": o.request_type.code if o.request_type_id else "",
                "category": o.category.full_name if o.category_id else "",
                "region": o.region.name if o.region_id else "",
                "lead_unit": o.lead_unit.name if o.lead_unit_id else "",
            }
            for o in paged.object_list
        ],
    }
