"""The report screens (R1–R5) and their downloads (R6): docs/reports.md, docs/measures.md.

Every screen is a form of query parameters and one or more ``tables.Table`` shown by the one table
template (``reports/_table.html``); the same tables go to Excel and PDF (``exports.py``) and to the
API (``api.py``). The measures are computed in ``orders.py`` (work orders) and ``calls.py`` (calls);
this module only reads the parameters, checks them, and lays the results out.

Query parameters: ``start`` and ``end`` are local dates (Asia/Shanghai), both included (the report
range is ``[start 00:00, end + 1 day 00:00)``); a screen without them shows last month. A bad value
is a 400 page (the API: a 400 error) with a stable code and the field, never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_safe

from hotline.accounts.scope import DataScope
from hotline.core.errors import ServiceError
from hotline.core.localtime import LOCAL_TZ
from hotline.core.permissions import view_requires
from hotline.orgs.models import Unit
from hotline.taxonomy.models import RequestType
from hotline.workorders.exports import PdfFontMissing, orders_workbook
from hotline.workorders.selectors import LIST_RELATED

from . import calls, exports, orders
from .models import AssessmentScheme
from .periods import Period, last_month
from .tables import Table, format_value

VIEW_REPORTS = "reports.view_reports"
VIEW_ASSESSMENT = "reports.view_assessment"
VIEW_DASHBOARD = "reports.view_dashboard"
EXPORT_REPORTS = "reports.export_reports"
# The call reports name agents and show the whole centre: supervisors and leaders, not departments.
CALL_STATS = "callcenter.view_all_stats"

MAX_DAYS = 366
PER_PAGE = 25
# The dashboard's figures are shared by every screen for this long (seconds), like the wall's.
DASHBOARD_CACHE_S = 5
DASHBOARD_CACHE_KEY = "reports:dashboard"
# The dashboard refetches its figures this often even when no live event comes (milliseconds).
DASHBOARD_REFRESH_MS = 60_000

ORDER_BYS = ("unit", "region", "category", "type", "channel", "total")
VOLUME_BYS = ("channel", "type", "category", "region", "unit", "hour", "day")
QUEUE_BYS = ("queue", "hour", "number", "trunk")
DRILL_BYS = (*ORDER_BYS, "hour", "day")


def by_labels() -> dict[str, str]:
    return {
        "unit": _("Unit"),
        "region": _("Region"),
        "category": _("Category"),
        "type": _("Type"),
        "channel": _("Channel"),
        "total": _("Total"),
        "hour": _("Hour"),
        "day": _("Day"),
        "queue": _("Queue"),
        "number": _("Hotline number"),
        "trunk": _("Trunk"),
    }


# --- Query parameters ----------------------------------------------------------------------------------


class BadParameter(ServiceError):
    """A query parameter of a report that cannot be used (status 400, a stable code per problem)."""

    status = 400
    code = "bad_parameter"


def _date(params: Mapping[str, str], name: str) -> date | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadParameter(
            _("The date is not valid."), code="invalid_date", fields={name: [_("Use YYYY-MM-DD.")]}
        ) from None


def parse_period(params: Mapping[str, str], *, now: datetime | None = None) -> Period:
    """``start`` and ``end`` (dates, both included); either missing: last month."""
    first, last = _date(params, "start"), _date(params, "end")
    if first is None and last is None:
        return last_month(now)
    if first is None or last is None:
        missing = "start" if first is None else "end"
        raise BadParameter(
            _("Give both dates of the range."), code="invalid_range", fields={missing: [_("Required.")]}
        )
    if last < first:
        raise BadParameter(
            _("The end of the range is before its start."),
            code="invalid_range",
            fields={"end": [_("Must not be before the start.")]},
        )
    period = Period(first, last)
    if period.days > MAX_DAYS:
        raise BadParameter(
            _("The range is longer than %(days)s days.") % {"days": MAX_DAYS},
            code="range_too_long",
            fields={"end": [_("At most %(days)s days.") % {"days": MAX_DAYS}]},
        )
    return period


def parse_choice(params: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (params.get(name) or "").strip() or default
    if value not in choices:
        raise BadParameter(
            _("Unknown value for “%(name)s”.") % {"name": name},
            code=f"unknown_{name}",
            fields={name: [_("One of: %(choices)s") % {"choices": ", ".join(choices)}]},
        )
    return value


def parse_measure(params: Mapping[str, str]) -> str:
    value = (params.get("measure") or "").strip()
    if value not in orders.MEASURES:
        raise BadParameter(
            _("Unknown measure."),
            code="unknown_measure",
            fields={"measure": [_("One of: %(choices)s") % {"choices": ", ".join(orders.MEASURES)}]},
        )
    return value


def _int(params: Mapping[str, str], name: str) -> int | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadParameter(
            _("Not a number."), code=f"invalid_{name}", fields={name: [_("A whole number.")]}
        ) from None


def parse_parent_unit(params: Mapping[str, str], user: Any) -> Unit | None:
    """``parent`` (a unit id): the assessment ranks its sub-units; the unit must be in the user's scope."""
    pk = _int(params, "parent")
    if pk is None:
        return None
    unit = Unit.objects.filter(pk=pk).first()
    if unit is None or (user is not None and not DataScope.for_user(user).contains_unit(unit)):
        raise BadParameter(
            _("No such unit in your scope."), code="unknown_parent", fields={"parent": [_("Unknown unit.")]}
        )
    return unit


def parse_scheme(params: Mapping[str, str]) -> AssessmentScheme | None:
    """``scheme`` (an id); none given: the first active scheme (by name), or none at all (the
    measures' default weights)."""
    pk = _int(params, "scheme")
    if pk is None:
        return orders.scheme_in_use()
    scheme = AssessmentScheme.objects.filter(pk=pk).first()
    if scheme is None:
        raise BadParameter(
            _("No such assessment scheme."), code="unknown_scheme", fields={"scheme": [_("Unknown scheme.")]}
        )
    return scheme


def parse_type(params: Mapping[str, str]) -> str | None:
    code = (params.get("type") or "").strip()
    if not code:
        return None
    if not RequestType.objects.filter(code=code).exists():
        raise BadParameter(
            _("Unknown request type."), code="unknown_type", fields={"type": [_("Unknown type.")]}
        )
    return code


# --- Tables as screens show them ----------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    text: str
    kind: str
    href: str = ""
    raw: Any = None


@dataclass(frozen=True)
class ShownRow:
    label: str
    level: int
    cells: list[Cell]
    total: bool = False
    key: str = ""


@dataclass(frozen=True)
class ShownTable:
    """A ``Table`` ready for the generic template: every value formatted, drill links made."""

    title: str
    columns: list[dict[str, Any]]
    rows: list[ShownRow]
    slug: str = ""
    label_heading: str = ""


REMAINDER_KEY = "none"  # the row of orders that belong to no row (no lead unit, region …)
FILTER_PARAMS = ("unit", "region", "category", "type", "channel")


def _filter_params(table: Table) -> dict[str, str]:
    """The ``ReportFilter`` a table was made with, as drill-link parameters."""
    found = table.params.get("filters")
    if not isinstance(found, orders.ReportFilter):
        return {}
    values = {
        "unit": found.unit,
        "region": found.region,
        "category": found.category,
        "type": found.type_code,
        "channel": found.channel,
    }
    return {k: str(v) for k, v in values.items() if v not in (None, "")}


def drill_url(
    *,
    measure: str,
    by: str,
    key: Any,
    period: Period,
    num: bool = True,
    extra: Mapping[str, str] | None = None,
) -> str:
    params: dict[str, Any] = {"measure": measure, "by": by}
    if by != "total":
        params["key"] = REMAINDER_KEY if key is None else key
    params.update(period.query())
    if not num:
        params["num"] = "0"
    params.update({k: v for k, v in (extra or {}).items() if v not in (None, "")})
    return f"{reverse('reports:drill')}?{urlencode(params)}"


def show_table(table: Table, *, period: Period | None = None, slug: str = "") -> ShownTable:
    """``table`` formatted for a screen; a column with ``drill`` links each number to the orders
    behind it (the total row: ``by=total``; the rows without a key: ``key=none``)."""
    by = str(table.params.get("by") or "")
    extra = _filter_params(table)
    linkable = period is not None and by in DRILL_BYS
    heading, columns = exports.value_columns(table)
    rows: list[ShownRow] = []
    for row in table.all_rows():
        is_total = row is table.total
        cells = []
        for column in columns:
            value = row.values.get(column.key)
            href = ""
            if linkable and column.drill and value is not None and period is not None:
                href = drill_url(
                    measure=column.drill,
                    by="total" if is_total else by,
                    key=row.key,
                    period=period,
                    extra=extra,
                )
            cells.append(Cell(text=format_value(column.kind, value), kind=column.kind, href=href, raw=value))
        key = "" if is_total else (REMAINDER_KEY if row.key is None else str(row.key))
        rows.append(ShownRow(str(row.label), row.level, cells, is_total, key))
    shown = [
        {"key": c.key, "label": str(c.label), "kind": c.kind, "help": str(c.help or "")} for c in columns
    ]
    return ShownTable(str(table.title), shown, rows, slug, heading)


# --- The reports ----------------------------------------------------------------------------------------


@dataclass
class Field:
    """One input of a report's form."""

    name: str
    label: str
    kind: str  # "date" | "select"
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Built:
    tables: list[Table]
    period: Period
    fields: list[Field] = field(default_factory=list)
    chart: dict[str, Any] | None = None
    note: str = ""


def _period_fields(period: Period) -> list[Field]:
    return [
        Field("start", _("From"), "date", period.first.isoformat()),
        Field("end", _("To"), "date", period.last.isoformat()),
    ]


def _by_field(value: str, choices: tuple[str, ...]) -> Field:
    labels = by_labels()
    return Field("by", _("By"), "select", value, [(c, labels[c]) for c in choices])


def _parent_options(user: Any) -> list[tuple[str, str]]:
    """Units that have sub-units, within the user's scope: the assessment ranks their children."""
    parents = Unit.objects.filter(children__isnull=False).distinct().order_by("name")
    scope = DataScope.for_user(user)
    options = [("", _("Top-level units"))]
    for unit in parents:
        if scope.everything or scope.contains_unit(unit):
            options.append((str(unit.pk), unit.name))
    return options


def build_assessment(params: Mapping[str, str], user: Any) -> Built:
    period = parse_period(params)
    parent = parse_parent_unit(params, user)
    scheme = parse_scheme(params)
    try:
        table = orders.assessment(
            start=period.start, end=period.end, scheme=scheme, parent_unit=parent, user=user
        )
    except ValueError as error:  # a scheme that weights something else than a rate
        raise BadParameter(str(error), code="invalid_scheme", fields={"scheme": [str(error)]}) from None
    schemes = [(str(s.pk), s.name) for s in AssessmentScheme.objects.filter(active=True).order_by("name")]
    fields = [
        *_period_fields(period),
        Field("parent", _("Units under"), "select", str(parent.pk) if parent else "", _parent_options(user)),
    ]
    if schemes:
        fields.append(Field("scheme", _("Scheme"), "select", str(scheme.pk) if scheme else "", schemes))
    return Built([table], period, fields)


def build_orders(params: Mapping[str, str], user: Any) -> Built:
    period = parse_period(params)
    by = parse_choice(params, "by", ORDER_BYS, "unit")
    filters, _given = parse_filters(params)
    table = orders.order_measures(start=period.start, end=period.end, by=by, user=user, filters=filters)
    return Built([table], period, [*_period_fields(period), _by_field(by, ORDER_BYS)])


def _volume_chart(table: Table) -> dict[str, Any]:
    """Bars of this period, the previous period and the same period last year, per row."""
    series = []
    for column in table.columns:
        if column.kind != "int":
            continue
        series.append(
            {
                "name": str(column.label),
                "type": "bar",
                "data": [row.values.get(column.key) or 0 for row in table.rows],
            }
        )
    return {"categories": [str(row.label) for row in table.rows], "series": series[:3]}


def build_volume(params: Mapping[str, str], user: Any) -> Built:
    period = parse_period(params)
    by = parse_choice(params, "by", VOLUME_BYS, "channel")
    filters, _given = parse_filters(params)
    table = orders.volume(start=period.start, end=period.end, by=by, filters=filters, user=user)
    rising = orders.rising_categories(start=period.start, end=period.end, limit=10, user=user)
    return Built(
        [table, rising], period, [*_period_fields(period), _by_field(by, VOLUME_BYS)], _volume_chart(table)
    )


def parse_summary_type(params: Mapping[str, str]) -> str | None:
    code = (params.get("type") or "").strip()
    if code == orders.OTHER_TYPES:
        return code
    return parse_type(params)


def build_summary(params: Mapping[str, str], user: Any) -> Built:
    period = parse_period(params)
    type_code = parse_summary_type(params)
    table = orders.summary_table(start=period.start, end=period.end, type_code=type_code, user=user)
    names = dict(RequestType.objects.filter(code__in=orders.OWN_SUMMARY_TYPES).values_list("code", "name"))
    types = [("", _("All types"))]
    types += [(code, names.get(code, code)) for code in orders.OWN_SUMMARY_TYPES]
    types.append((orders.OTHER_TYPES, _("Other types")))
    return Built(
        [table], period, [*_period_fields(period), Field("type", _("Type"), "select", type_code or "", types)]
    )


def build_agents(params: Mapping[str, str], user: Any) -> Built:
    period = parse_period(params)
    return Built([calls.agent_report(start=period.start, end=period.end)], period, _period_fields(period))


def build_queues(params: Mapping[str, str], user: Any) -> Built:
    period = parse_period(params)
    by = parse_choice(params, "by", QUEUE_BYS, "queue")
    table = calls.queue_report(start=period.start, end=period.end, by=by)  # type: ignore[arg-type]
    return Built([table], period, [*_period_fields(period), _by_field(by, QUEUE_BYS)])


def build_trunks(params: Mapping[str, str], user: Any) -> Built:
    period = parse_period(params)
    return Built([calls.trunk_report(start=period.start, end=period.end)], period, _period_fields(period))


@dataclass(frozen=True)
class Report:
    slug: str
    title: Any
    perm: str
    build: Callable[[Mapping[str, str], Any], Built]
    help: Any = ""


REPORTS: dict[str, Report] = {
    r.slug: r
    for r in (
        Report(
            "assessment",
            gettext_lazy("Department assessment"),
            VIEW_ASSESSMENT,
            build_assessment,
            gettext_lazy("The units' rates and their weighted score; click a number for its orders."),
        ),
        Report(
            "orders",
            gettext_lazy("Order measures"),
            VIEW_REPORTS,
            build_orders,
            gettext_lazy("Every work-order measure by unit, region, category, type or channel."),
        ),
        Report(
            "volume",
            gettext_lazy("Volume"),
            VIEW_REPORTS,
            build_volume,
            gettext_lazy("Orders taken, against the previous period and the same period last year."),
        ),
        Report(
            "summary",
            gettext_lazy("Summary table"),
            VIEW_REPORTS,
            build_summary,
            gettext_lazy("Orders per category: unprocessed, processed, cancelled, revisited."),
        ),
        Report(
            "agents",
            gettext_lazy("Agent report"),
            CALL_STATS,
            build_agents,
            gettext_lazy("Calls, orders taken, service and pause time per agent."),
        ),
        Report(
            "queues",
            gettext_lazy("Queue report"),
            CALL_STATS,
            build_queues,
            gettext_lazy("Offered, answered, service level and abandons per queue, hour, number or trunk."),
        ),
        Report(
            "trunks",
            gettext_lazy("Trunk report"),
            CALL_STATS,
            build_trunks,
            gettext_lazy("Calls offered, answered and failed per trunk."),
        ),
    )
}


def _error_page(request: HttpRequest, error: ServiceError) -> HttpResponse:
    context = {"error": error, "fields": sorted(error.fields.items())}
    return render(request, "reports/error.html", context, status=error.status)


def _screen(request: HttpRequest, report: Report) -> HttpResponse:
    try:
        built = report.build(request.GET, request.user)
    except ServiceError as error:
        return _error_page(request, error)
    query = urlencode([(k, str(v)) for k, v in request.GET.items() if k != "page"])
    context = {
        "report": report,
        "built": built,
        "tables": [show_table(t, period=built.period) for t in built.tables],
        "period": built.period,
        "query": query,
        "xlsx_url": reverse("reports:export", args=[report.slug, "xlsx"]) + (f"?{query}" if query else ""),
        "pdf_url": reverse("reports:export", args=[report.slug, "pdf"]) + (f"?{query}" if query else ""),
        "chart": built.chart,
        "made_at": timezone.localtime(timezone.now(), LOCAL_TZ),
    }
    return render(request, "reports/report.html", context)


@view_requires(VIEW_REPORTS)
@require_safe
def index(request: HttpRequest) -> HttpResponse:
    user = request.user
    reports = [r for r in REPORTS.values() if user.has_perm(r.perm)]
    context = {
        "reports": reports,
        "may_dashboard": user.has_perm(VIEW_DASHBOARD),
    }
    return render(request, "reports/index.html", context)


@view_requires(VIEW_ASSESSMENT)
@require_safe
def assessment(request: HttpRequest) -> HttpResponse:
    return _screen(request, REPORTS["assessment"])


@view_requires(VIEW_REPORTS)
@require_safe
def order_report(request: HttpRequest) -> HttpResponse:
    return _screen(request, REPORTS["orders"])


@view_requires(VIEW_REPORTS)
@require_safe
def volume(request: HttpRequest) -> HttpResponse:
    return _screen(request, REPORTS["volume"])


@view_requires(VIEW_REPORTS)
@require_safe
def summary(request: HttpRequest) -> HttpResponse:
    return _screen(request, REPORTS["summary"])


@view_requires(VIEW_REPORTS, CALL_STATS)
@require_safe
def agents(request: HttpRequest) -> HttpResponse:
    return _screen(request, REPORTS["agents"])


@view_requires(VIEW_REPORTS, CALL_STATS)
@require_safe
def queues(request: HttpRequest) -> HttpResponse:
    return _screen(request, REPORTS["queues"])


@view_requires(VIEW_REPORTS, CALL_STATS)
@require_safe
def trunks(request: HttpRequest) -> HttpResponse:
    return _screen(request, REPORTS["trunks"])


# --- Downloads -------------------------------------------------------------------------------------------


def _attachment(content: bytes, content_type: str, filename: str, fallback: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = exports.content_disposition(filename, fallback)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@view_requires(EXPORT_REPORTS)
@require_safe
def export(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    """A report screen's tables as Excel (``xlsx``) or PDF (``pdf``); the report's own permission
    is needed too."""
    report = REPORTS.get(slug)
    if report is None or fmt not in ("xlsx", "pdf"):
        return _error_page(request, BadParameter(_("Unknown report."), code="unknown_report", status=404))
    if not request.user.has_perm(report.perm):
        raise PermissionDenied
    try:
        built = report.build(request.GET, request.user)
    except ServiceError as error:
        return _error_page(request, error)
    first = built.tables[0]
    name, fallback = exports.file_name(first, fmt)
    if fmt == "xlsx":
        content = exports.tables_xlsx(built.tables, user=request.user)
        content_type = exports.XLSX_TYPE
    else:
        try:
            content = exports.tables_pdf(built.tables, user=request.user)
        except PdfFontMissing:
            message = _("PDF export is not available: the Chinese fonts are not installed on the server.")
            return HttpResponse(message, status=503, content_type="text/plain; charset=utf-8")
        content_type = exports.PDF_TYPE
    rows = sum(len(t.rows) for t in built.tables)
    exports.record_export(table=first, what=fmt, rows=rows, query=request.GET.urlencode())
    return _attachment(content, content_type, name, fallback)


# --- Drill-down ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Drill:
    """One figure to list the orders of: ``measure`` in the row ``key`` of a report ``by`` a
    dimension (``by=total``: the total row), its numerator (``num``) or its denominator."""

    measure: str
    by: str
    key: str  # as given ("" for the total, "none" for the remainder row)
    value: Any  # the row's key as the report has it (an id, a channel, an hour, a date, None)
    num: bool
    period: Period
    filters: Any  # orders.ReportFilter
    params: dict[str, str]  # the filter parameters as given

    def query(self, **changes: Any) -> str:
        params: dict[str, Any] = {"measure": self.measure, "by": self.by}
        if self.by != "total":
            params["key"] = self.key
        params.update(self.period.query())
        params.update(self.params)
        params["num"] = "1" if self.num else "0"
        params.update(changes)
        return urlencode(params)


def _key_value(by: str, key: str) -> Any:
    """The row's key as the report has it; a key that names nothing is a 400 ``unknown_key``."""
    from hotline.orgs.models import Region
    from hotline.taxonomy.models import Category
    from hotline.workorders.choices import Channel

    if key == REMAINDER_KEY:
        return None
    unknown = BadParameter(
        _("Unknown row."), code="unknown_key", fields={"key": [_("No such row in this report.")]}
    )
    value: Any = key
    try:
        if by in ("unit", "region", "category", "type", "hour"):
            value = int(key)
        elif by == "day":
            value = date.fromisoformat(key)
    except ValueError:
        raise unknown from None
    models: dict[str, Any] = {"unit": Unit, "region": Region, "category": Category, "type": RequestType}
    if by in models and not models[by].objects.filter(pk=value).exists():
        raise unknown
    if (by == "hour" and not 0 <= value <= 23) or (by == "channel" and value not in Channel.values):
        raise unknown
    return value


def _tree_parent(by: str, value: Any) -> int | None:
    """The parent of a unit, region or category row: a report lists one level of a tree, so the
    row of a sub-unit (district → street) is found among its parent's children."""
    from hotline.orgs.models import Region
    from hotline.taxonomy.models import Category

    model: Any = {"unit": Unit, "region": Region, "category": Category}.get(by)
    if model is None or not isinstance(value, int):
        return None
    found: int | None = model.objects.filter(pk=value).values_list("parent_id", flat=True).first()
    return found


def parse_filters(params: Mapping[str, str]) -> tuple[Any, dict[str, str]]:
    """``unit``, ``region``, ``category`` (ids), ``type`` (a request type's code, or "other") and
    ``channel``: the ``orders.ReportFilter`` of a report or a drill-down."""
    ids = {name: _int(params, name) for name in ("unit", "region", "category")}
    type_code = (params.get("type") or "").strip()
    if type_code and type_code != orders.OTHER_TYPES:
        type_code = parse_type(params) or ""
    channel = (params.get("channel") or "").strip()
    given = {k: v for k, v in params.items() if k in FILTER_PARAMS and (v or "").strip()}
    filters = orders.ReportFilter(
        unit=ids["unit"], region=ids["region"], category=ids["category"], type_code=type_code, channel=channel
    )
    return filters, given


def parse_drill(params: Mapping[str, str]) -> Drill:
    measure = parse_measure(params)
    by = parse_choice(params, "by", DRILL_BYS, "total")
    period = parse_period(params)
    num = (params.get("num") or "1").strip() not in ("0", "false", "no")
    key = (params.get("key") or "").strip() if by != "total" else ""
    if by != "total" and not key:
        raise BadParameter(_("Which row?"), code="missing_key", fields={"key": [_("Required.")]})
    value = _key_value(by, key) if by != "total" else None
    filters, given = parse_filters(params)
    narrowed = getattr(filters, by, None) if by in ("unit", "region", "category") else None
    if narrowed is None and by in ("unit", "region", "category"):
        parent = _tree_parent(by, value)
        if parent is not None:
            filters = replace(filters, **{by: parent})
    return Drill(measure, by, key, value, num, period, filters, given)


def drill_orders(drill: Drill, user: Any) -> Any:
    try:
        return orders.order_drill(
            start=drill.period.start,
            end=drill.period.end,
            measure=drill.measure,
            by=drill.by,
            key=drill.value,
            num=drill.num,
            user=user,
            filters=drill.filters,
        )
    except KeyError:
        raise BadParameter(
            _("Unknown row."), code="unknown_key", fields={"key": [_("No such row in this report.")]}
        ) from None


def drill_row_label(drill: Drill) -> str:
    """The name of the drilled row (a unit, a region …), for the page's heading."""
    from hotline.orgs.models import Region
    from hotline.taxonomy.models import Category
    from hotline.workorders.choices import Channel

    if drill.by == "total":
        return _("Total")
    if drill.value is None:
        return _("Other")
    if drill.by in ("unit", "region", "category", "type"):
        model: Any = {"unit": Unit, "region": Region, "category": Category, "type": RequestType}[drill.by]
        return str(model.objects.filter(pk=drill.value).values_list("name", flat=True).first() or drill.key)
    if drill.by == "channel":
        return str(dict(Channel.choices).get(drill.value, drill.value))
    if drill.by == "hour":
        return f"{drill.value:02d}:00"
    return str(drill.key)


@view_requires(VIEW_REPORTS)
@require_safe
def drill(request: HttpRequest) -> HttpResponse:
    """The orders behind one number of a report, in the user's data scope, paged."""
    try:
        spec = parse_drill(request.GET)
        qs = drill_orders(spec, request.user)
    except ServiceError as error:
        return _error_page(request, error)
    measure = orders.MEASURES[spec.measure]
    page = Paginator(qs.select_related(*LIST_RELATED).order_by("-created_at", "-id"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    tabs = []
    if measure.kind == "rate":
        tabs = [
            {"key": "1", "label": _("Counted in the rate"), "url": "?" + spec.query(num="1")},
            {"key": "0", "label": _("All orders it is taken of"), "url": "?" + spec.query(num="0")},
        ]
    context = {
        "spec": spec,
        "measure": measure,
        "by_label": by_labels().get(spec.by, spec.by),
        "row_label": drill_row_label(spec),
        "page": page,
        "orders": list(page.object_list),
        "query": spec.query(),
        "tabs": tabs,
        "current_tab": "1" if spec.num else "0",
        "xlsx_url": reverse("reports:drill_xlsx") + "?" + spec.query(),
    }
    return render(request, "reports/drill.html", context)


@view_requires(VIEW_REPORTS, EXPORT_REPORTS)
@require_safe
def drill_xlsx(request: HttpRequest) -> HttpResponse:
    """The drill-down list as the order list's Excel workbook (phones masked)."""
    try:
        spec = parse_drill(request.GET)
        result = orders_workbook(drill_orders(spec, request.user), request.user)
    except ServiceError as error:
        return _error_page(request, error)
    from hotline.workorders.exports import record_export

    record_export(what="xlsx", note=f"reports drill: {spec.query()}"[:500], count=result.rows)
    stamp = f"{spec.measure}-{spec.period.first:%Y%m%d}-{spec.period.last:%Y%m%d}"
    return _attachment(result.content, exports.XLSX_TYPE, f"{stamp}.xlsx", f"drill-{stamp}.xlsx")


# --- Dashboard -------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return (
            timezone.localtime(value, LOCAL_TZ).isoformat() if timezone.is_aware(value) else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, Table):
        return table_json(value)
    if isinstance(value, Model):
        return str(value)
    return value


def table_json(table: Table) -> dict[str, Any]:
    """A ``Table`` as JSON (the API's and the dashboard's shape)."""

    def row(r: Any) -> dict[str, Any]:
        return {"key": _jsonable(r.key), "label": r.label, "level": r.level, "values": _jsonable(r.values)}

    return {
        "title": str(table.title),
        "columns": [
            {"key": c.key, "label": str(c.label), "kind": c.kind, "drill": c.drill} for c in table.columns
        ],
        "rows": [row(r) for r in table.rows],
        "total": row(table.total) if table.total is not None else None,
        "params": _jsonable(table.params),
    }


def dashboard_scope(user: Any) -> tuple[str, Any]:
    """(cache key, the user to scope the orders by): the whole city shares one set of figures; a
    user who sees part of it (a district leader) gets the figures of their scope."""
    scope = DataScope.for_user(user)
    if scope.everything or (scope.region_path and scope.region_path.count("/") == 2):
        return DASHBOARD_CACHE_KEY, None
    return f"{DASHBOARD_CACHE_KEY}:user:{user.pk}", user


def dashboard_figures(*, now: datetime, user: Any = None) -> dict[str, Any]:
    """Today's figures of work orders (in ``user``'s scope; none: the city) and of calls, as
    JSON-ready data."""
    return {
        "orders": _jsonable(orders.dashboard_orders(now=now, user=user)),
        "calls": _jsonable(calls.dashboard_calls(now=now)),
        "at": timezone.localtime(now, LOCAL_TZ).isoformat(),
    }


def dashboard_figures_shared(user: Any) -> dict[str, Any]:
    """``dashboard_figures`` as of now, computed at most once per ``DASHBOARD_CACHE_S`` for every
    screen of the same scope (a wall of screens refetches at once when an order changes)."""
    key, scoped = dashboard_scope(user)
    figures: dict[str, Any] | None = cache.get(key)
    if figures is None:
        figures = dashboard_figures(now=timezone.now(), user=scoped)
        cache.set(key, figures, DASHBOARD_CACHE_S)
    return figures


def _dashboard_texts() -> dict[str, str]:
    # The context keeps these apart from the same English words elsewhere ("Dispatched" is a time
    # on the order pages, "Answered" a unit's answer there; here they are today's counts).
    return {
        "intake": pgettext("dashboard", "Taken today"),
        "dispatched": pgettext("dashboard", "Dispatched"),
        "handling": pgettext("dashboard", "In hand"),
        "completed": pgettext("dashboard", "Completed"),
        "offered": pgettext("dashboard", "Calls offered"),
        "answered": pgettext("dashboard", "Calls answered"),
        "connection_rate": pgettext("dashboard", "Connection rate"),
        "service_level": pgettext("dashboard", "Service level"),
        "waiting": pgettext("dashboard", "Waiting now"),
        "regions": pgettext("dashboard", "Districts"),
        "categories": pgettext("dashboard", "Hot categories"),
        "hours": pgettext("dashboard", "Calls per hour"),
        "calls": pgettext("dashboard", "Calls"),
        "calls_answered": pgettext("dashboard", "Calls answered"),
        "orders": pgettext("dashboard", "Orders"),
        "updated": pgettext("dashboard", "Updated %(time)s"),
        "offline": pgettext("dashboard", "Live connection down: refreshing every minute."),
        "none": "—",
    }


@view_requires(VIEW_DASHBOARD)
@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    """The leaders' dashboard; ``?wall=1`` the large display (大屏): dark, no navigation."""
    wall = request.GET.get("wall") in ("1", "true", "yes")
    figures = dashboard_figures_shared(request.user)
    config = {
        "data_url": reverse("reports:dashboard_data"),
        "refresh_ms": DASHBOARD_REFRESH_MS,
        "cache_ms": DASHBOARD_CACHE_S * 1000,
        "texts": _dashboard_texts(),
        "wall": wall,
    }
    context = {
        "figures": figures,
        "config": config,
        "wall": wall,
        "texts": _dashboard_texts(),
    }
    return render(request, "reports/dashboard_wall.html" if wall else "reports/dashboard.html", context)


@view_requires(VIEW_DASHBOARD)
@require_safe
def dashboard_data(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(dashboard_figures_shared(request.user))
    response["Cache-Control"] = "private, no-store"
    return response


def json_dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False)
