"""Work-order measures (统一考核): the figures the centre is judged by and judges units by.

Every measure is a pair of conditions — a denominator and a numerator — over the rows of one
*basis*: the work orders themselves or the lead/assisting assignments (派单记录). What an order's
revisits (回访), extensions and returns say is kept on the order by the work-order services
(``resolved``, ``satisfaction``, ``revisited``, ``extended``, ``returned``), so the order measures
need no join. The same pair gives the figure (``Count`` with ``filter=``, in one GROUP BY query
per basis) and the list behind it (``order_drill``: ``filter(den & num)``), so a figure and its
drill-down list cannot disagree. docs/measures.md defines each one in words.

The period always selects orders by the day they were received (``created_at`` in
``[start, end)``); everything else about an order (its state, its revisits) is counted as it is
now. Merged orders (并单) are counted by ``merged`` and nowhere else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from django.db.models import Count, F, Model, Q, QuerySet
from django.db.models.functions import ExtractHour, TruncDate
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from hotline.accounts.scope import SELF, DataScope
from hotline.core.localtime import LOCAL_TZ, local_day, local_midnight
from hotline.orgs.models import Region, Unit
from hotline.taxonomy.models import Category, RequestType
from hotline.workorders.choices import (
    OPEN_STATES,
    UNIT_STATES,
    AssignmentRole,
    AssignmentState,
    Channel,
    DeadlineLevel,
    OrderState,
    Satisfaction,
)
from hotline.workorders.models import Assignment, WorkOrder
from hotline.workorders.selectors import orders_visible_to

from .models import AssessmentScheme, default_weights
from .tables import Column, Row, Table, change, rate

Basis = Literal["order", "assignment"]
By = Literal["unit", "region", "category", "type", "channel", "total", "hour", "day"]

# The request types that have their own summary table; ``OTHER_TYPES`` stands for all the rest.
OWN_SUMMARY_TYPES = ("complaint", "consultation")
OTHER_TYPES = "other"
# A category rises (``rising_categories``) only from a base of at least this many orders.
RISING_MIN_BASE = 5
DASHBOARD_OVERDUE = 20
DASHBOARD_HOT = 10


# --- The bases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Basis:
    """The rows a measure counts: ``model``, the path from such a row to its order, the unit a row
    belongs to in a report per unit, and the name of the order's reverse relation to the rows."""

    model: type[Model]
    order: str
    unit: str
    reverse: str

    def o(self, name: str) -> str:
        """The lookup of the order's field ``name`` from a row of this basis."""
        return f"{self.order}__{name}" if self.order else name


BASES: dict[str, _Basis] = {
    # per unit: the order's current lead unit (主办单位)
    "order": _Basis(WorkOrder, "", "lead_unit_id", ""),
    # per unit: the unit the assignment was sent to
    "assignment": _Basis(Assignment, "order", "unit_id", "assignments"),
}


# --- The measures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """A figure: ``kind`` "count" counts the rows matching ``den & num``; "rate" is that count
    over the rows matching ``den`` (``None`` when no row does). ``den`` and ``num`` are
    conditions over the rows of ``basis``."""

    name: str
    label: Any
    kind: Literal["rate", "count"]
    basis: Basis
    num: Q
    den: Q = field(default_factory=Q)
    help: Any = ""


S = OrderState
VALID = ~Q(state=S.MERGED)  # every measure but ``merged`` leaves merged orders out
DISPATCHED = Q(dispatched_at__isnull=False)
UNIT_ANSWERED = VALID & DISPATCHED & Q(answered_at__isnull=False)  # answered by a unit, not at intake
LEAD = Q(role=AssignmentRole.LEAD)
RETURNED_LEAD = Q(role=AssignmentRole.LEAD, state=AssignmentState.RETURNED)
ORDER_VALID = ~Q(order__state=S.MERGED)
GOOD = (Satisfaction.SATISFIED, Satisfaction.BASICALLY)
SIGNED_IN_TIME = Q(sign_due_at__isnull=True) | Q(signed_at__lte=F("sign_due_at"))
ANSWERED_IN_TIME = Q(answer_due_at__isnull=True) | Q(answered_at__lte=F("answer_due_at"))


def _measures(*items: Measure) -> dict[str, Measure]:
    return {m.name: m for m in items}


MEASURES: dict[str, Measure] = _measures(
    # counts of orders
    Measure("received", pgettext_lazy("report", "Received"),
            "count", "order", VALID, help=_("Orders received in the period")),
    Measure("dispatched", pgettext_lazy("report", "Dispatched"), "count", "order", VALID & DISPATCHED,
            help=_("Orders dispatched to a unit at least once")),
    Measure("answered", pgettext_lazy("report", "Answered"), "count", "order", UNIT_ANSWERED,
            help=_("Dispatched orders that a unit has answered")),
    Measure("closed", pgettext_lazy("report", "Closed"), "count", "order", VALID & Q(state=S.CLOSED),
            help=_("Orders closed now, including those answered at intake")),
    Measure("direct_closed", pgettext_lazy("report", "Answered at intake"),
            "count", "order", VALID & Q(closed_directly=True)),
    Measure("open", pgettext_lazy("report", "Unprocessed"), "count", "order", Q(state__in=OPEN_STATES),
            help=_("Orders not yet closed, cancelled or merged")),
    Measure("cancelled", pgettext_lazy("report", "Cancelled"), "count", "order", Q(state=S.CANCELLED)),
    Measure("merged", pgettext_lazy("report", "Merged"), "count", "order", Q(state=S.MERGED),
            help=_("Orders merged into another one; left out of every other figure")),
    Measure("overdue", pgettext_lazy("report", "Overdue"), "count", "order", VALID & Q(unit_overdue=True),
            help=_("Orders whose sign or answer deadline passed while a unit held them")),
    Measure("reopened", pgettext_lazy("report", "Reopened"), "count", "order", VALID & Q(round__gt=1),
            help=_("Orders sent to a new round after a revisit or a reopening")),
    Measure("extensions", pgettext_lazy("report", "Extended"), "count", "order", VALID & Q(extended=True),
            help=_("Orders with at least one approved extension")),
    Measure("supervised", pgettext_lazy("report", "Supervised"), "count", "order", VALID & Q(supervised=True),
            help=_("Orders under a supervision notice")),
    Measure("revisited", pgettext_lazy("report", "Revisited"), "count", "order", VALID & Q(revisited=True),
            help=_("Orders whose citizen was reached by a revisit")),
    # counts of assignments
    Measure("returns", pgettext_lazy("report", "Returns"), "count", "assignment", ORDER_VALID & RETURNED_LEAD,
            help=_("Lead assignments taken back after the unit's return was accepted")),
    Measure("redispatches", pgettext_lazy("report", "Re-dispatches"), "count", "assignment",
            ORDER_VALID & RETURNED_LEAD & Q(order__dispatched_at__gt=F("dispatched_at")),
            help=_("Returned lead assignments after which the order was dispatched again")),
    Measure("assists", pgettext_lazy("report", "Assisting"),
            "count", "assignment", ORDER_VALID & Q(role=AssignmentRole.ASSIST),
            help=_("Orders the unit was asked to assist with")),
    # counts of orders by the answer of their latest revisit
    Measure("satisfied", pgettext_lazy("report", "Satisfied"), "count", "order",
            VALID & Q(satisfaction=Satisfaction.SATISFIED)),
    Measure("basically_satisfied", pgettext_lazy("report", "Basically satisfied"), "count", "order",
            VALID & Q(satisfaction=Satisfaction.BASICALLY)),
    Measure("unsatisfied", pgettext_lazy("report", "Unsatisfied"), "count", "order",
            VALID & Q(satisfaction=Satisfaction.UNSATISFIED)),
    # rates
    Measure("sign_rate", pgettext_lazy("report", "Response rate"), "rate", "assignment",
            den=ORDER_VALID & LEAD & (
                Q(signed_at__isnull=False)
                | Q(state=AssignmentState.PENDING_SIGN, order__deadline_level=DeadlineLevel.OVERDUE)
            ),
            num=Q(signed_at__isnull=False) & SIGNED_IN_TIME,
            help=_("Lead assignments signed by their sign deadline / lead assignments signed or overdue")),
    Measure("on_time_rate", pgettext_lazy("report", "On-time rate"), "rate", "order", den=UNIT_ANSWERED,
            num=Q(unit_overdue=False) & ANSWERED_IN_TIME,
            help=_("Answered orders never overdue at a unit and answered in time / answered orders")),
    Measure("completion_rate", pgettext_lazy("report", "Completion rate"), "rate", "order",
            den=VALID & DISPATCHED & ~Q(state=S.CANCELLED), num=Q(state=S.CLOSED),
            help=_("Closed orders / dispatched orders not cancelled")),
    Measure("resolution_rate", pgettext_lazy("report", "Resolution rate"), "rate", "order",
            den=VALID & Q(resolved__isnull=False), num=Q(resolved=True),
            help=_("Orders whose latest revisit says resolved / orders whose latest revisit says either")),
    Measure("satisfaction_rate", pgettext_lazy("report", "Satisfaction rate"), "rate", "order",
            den=VALID & ~Q(satisfaction=""), num=Q(satisfaction__in=GOOD),
            help=_("Satisfied or basically satisfied / orders whose latest revisit recorded a satisfaction")),
    Measure("revisit_rate", pgettext_lazy("report", "Revisit rate"), "rate", "order",
            den=UNIT_ANSWERED & (Q(state__in=(S.PENDING_REVISIT, S.CLOSED)) | Q(round__gt=1)),
            num=Q(revisited=True),
            help=_("Orders whose citizen a revisit reached / answered orders due for a revisit")),
    Measure("first_contact_rate", pgettext_lazy("report", "First-contact resolution"), "rate", "order",
            den=VALID & Q(state=S.CLOSED), num=Q(round=1, returned=False),
            help=_("Closed in the first round without a return / closed orders")),
)  # fmt: skip

RATES = [name for name, m in MEASURES.items() if m.kind == "rate"]
COUNTS = [name for name, m in MEASURES.items() if m.kind == "count"]
# The columns of the standard per-unit table, in the order the centres read them.
STANDARD = [
    "received", "dispatched", "sign_rate", "on_time_rate", "completion_rate", "resolution_rate",
    "satisfaction_rate", "revisit_rate", "first_contact_rate", "returns", "redispatches", "extensions",
    "overdue", "reopened", "supervised", "cancelled", "merged",
]  # fmt: skip


# --- Filters and dimensions ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilter:
    """What a report is narrowed to. ``unit``, ``region`` and ``category`` are ids and take the
    whole subtree; a report per unit (region, category) then lists the children of the one
    chosen. ``type_code`` may be ``OTHER_TYPES``: every type without a summary table of its own."""

    unit: int | None = None
    region: int | None = None
    category: int | None = None
    type_code: str = ""
    channel: str = ""


@dataclass
class _Tree:
    """A tree of units, regions or categories read in one query: names, parents, children."""

    label: dict[int, str]
    parent: dict[int, int | None]
    extra: dict[int, Mapping[str, Any]]
    children: dict[int | None, list[int]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def load(cls, rows: Iterable[Mapping[str, Any]]) -> _Tree:
        tree = cls({}, {}, {})
        for row in rows:
            tree.label[row["id"]] = row["name"]
            tree.parent[row["id"]] = row["parent_id"]
            tree.extra[row["id"]] = row
            tree.children[row["parent_id"]].append(row["id"])
        return tree

    def subtree(self, node: int) -> set[int]:
        found, todo = set(), [node]
        while todo:
            current = todo.pop()
            found.add(current)
            todo.extend(self.children.get(current, ()))
        return found

    def depth(self, node: int) -> int:
        depth, current = 0, self.parent.get(node)
        while current is not None:
            depth, current = depth + 1, self.parent.get(current)
        return depth


def _units() -> _Tree:
    return _Tree.load(
        Unit.objects.order_by("sort_order", "path").values("id", "name", "parent_id", "kind", "path")
    )


def _regions() -> _Tree:
    return _Tree.load(
        Region.objects.order_by("sort_order", "path").values("id", "name", "parent_id", "level", "path")
    )


def _categories() -> _Tree:
    return _Tree.load(
        Category.objects.order_by("sort_order", "code").values("id", "name", "parent_id", "level", "code")
    )


def _type_ids(code: str) -> list[int]:
    types = RequestType.objects.order_by()
    types = types.exclude(code__in=OWN_SUMMARY_TYPES) if code == OTHER_TYPES else types.filter(code=code)
    return list(types.values_list("id", flat=True))


@dataclass
class _Dim:
    """The rows of a report: each row's key, label, indentation and the values of the grouping
    column that belong to it (a unit's row holds its sub-units' ids when rolled up). Values that
    belong to no row make the remainder row (key ``None``): orders without a lead unit, region or
    category, or held by the unit the report is narrowed to itself."""

    by: str
    column: str  # "unit" | "region" | "category" | "type" | "channel" | "hour" | "day" | ""
    rows: list[tuple[Any, str, int]] = field(default_factory=list)
    members: dict[Any, set[Any]] = field(default_factory=dict)
    remainder_label: str = ""
    # the members of a key that is not a row (a sub-unit, a level-2 category of the summary table)
    node: Callable[[Any], set[Any]] | None = None

    def add(self, key: Any, label: str, members: Iterable[Any], level: int = 0) -> None:
        self.rows.append((key, label, level))
        self.members[key] = set(members)

    def keys_of(self) -> Callable[[Any], list[Any]]:
        inverse: dict[Any, list[Any]] = defaultdict(list)
        for key, values in self.members.items():
            for value in values:
                inverse[value].append(key)
        return lambda value: inverse.get(value) or [None]

    def field(self, basis: _Basis) -> str:
        return {
            "unit": basis.unit,
            "region": basis.o("region_id"),
            "category": basis.o("category_id"),
            "type": basis.o("request_type_id"),
            "channel": basis.o("channel"),
            "hour": "_hour",
            "day": "_day",
        }[self.column]

    def annotate(self, qs: QuerySet[Any], basis: _Basis) -> QuerySet[Any]:
        if self.column == "hour":
            return qs.annotate(_hour=ExtractHour(basis.o("created_at"), tzinfo=LOCAL_TZ))
        if self.column == "day":
            return qs.annotate(_day=TruncDate(basis.o("created_at"), tzinfo=LOCAL_TZ))
        return qs

    def q(self, basis: _Basis, key: Any) -> Q:
        """The rows of ``basis`` that belong to the report row ``key``."""
        if not self.column:
            return Q()
        name = self.field(basis)
        if key is None:
            every = set().union(*self.members.values()) if self.members else set()
            return ~Q(**{f"{name}__in": sorted(every, key=str)})
        if key in self.members:
            members = self.members[key]
        elif self.node is not None:
            members = self.node(key)
        else:
            raise KeyError(key)
        return Q(**{f"{name}__in": sorted(members, key=str)})


def _unit_dim(units: _Tree, ids: Sequence[int], *, rollup: bool, remainder: str) -> _Dim:
    dim = _Dim("unit", "unit", remainder_label=remainder)
    dim.node = (lambda pk: units.subtree(int(pk))) if rollup else (lambda pk: {int(pk)})
    for pk in ids:
        dim.add(pk, units.label[pk], units.subtree(pk) if rollup else {pk})
    return dim


def _dimension(by: str, filters: ReportFilter, *, rollup: bool = True, start: datetime | None = None,
               end: datetime | None = None) -> _Dim:  # fmt: skip
    """The rows of a report ``by`` one dimension, narrowed by ``filters``."""
    if by == "total":
        return _Dim("total", "")
    if by == "unit":
        units = _units()
        if filters.unit is not None:
            ids = units.children.get(filters.unit, [])
            remainder = str(_("%(unit)s itself") % {"unit": units.label.get(filters.unit, "")})
        else:
            ids = [pk for pk in units.children.get(None, []) if units.extra[pk]["kind"] != "centre"]
            remainder = str(_("No lead unit"))
        return _unit_dim(units, ids, rollup=rollup, remainder=remainder)
    if by == "region":
        regions = _regions()
        dim = _Dim("region", "region", remainder_label=str(_("No region, or above the rows' level")))
        dim.node = lambda pk: regions.subtree(int(pk))
        if filters.region is not None:
            ids = regions.children.get(filters.region, [])
        else:  # the districts: the children of the city (or of every top region)
            ids = [pk for root in regions.children.get(None, []) for pk in regions.children.get(root, [])]
        for pk in ids:
            dim.add(pk, regions.label[pk], regions.subtree(pk))
        return dim
    if by == "category":
        categories = _categories()
        dim = _Dim("category", "category", remainder_label=str(_("No category, or above the rows' level")))
        dim.node = lambda pk: categories.subtree(int(pk))
        for pk in categories.children.get(filters.category, []):
            dim.add(pk, categories.label[pk], categories.subtree(pk))
        return dim
    if by == "type":
        dim = _Dim("type", "type")
        for pk, name in RequestType.objects.order_by("sort_order", "code").values_list("id", "name"):
            dim.add(pk, name, {pk})
        return dim
    if by == "channel":
        dim = _Dim("channel", "channel")
        for value, label in Channel.choices:
            dim.add(value, str(label), {value})
        return dim
    if by == "hour":
        dim = _Dim("hour", "hour")
        for hour in range(24):
            dim.add(hour, f"{hour:02d}:00", {hour})
        return dim
    if by == "day":
        if start is None or end is None:
            raise ValueError("a report per day needs its range")
        dim = _Dim("day", "day")
        for day in _days(start, end):
            dim.add(day, day.isoformat(), {day})
        return dim
    raise ValueError(f"unknown dimension: {by}")


DIMENSION_LABELS: dict[str, Any] = {
    "unit": _("Unit"),
    "region": _("Region"),
    "category": _("Category"),
    "type": _("Request type"),
    "channel": _("Channel"),
    "hour": _("Hour"),
    "day": _("Date"),
    "total": "",
}


def _days(start: datetime, end: datetime) -> list[date]:
    first = start.astimezone(LOCAL_TZ).date()
    last = (end - timedelta(microseconds=1)).astimezone(LOCAL_TZ).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _filter_q(basis: _Basis, filters: ReportFilter) -> Q:
    q = Q()
    if filters.unit is not None:
        q &= Q(**{f"{basis.unit}__in": sorted(_units().subtree(filters.unit))})
    if filters.region is not None:
        q &= Q(**{f"{basis.o('region_id')}__in": sorted(_regions().subtree(filters.region))})
    if filters.category is not None:
        q &= Q(**{f"{basis.o('category_id')}__in": sorted(_categories().subtree(filters.category))})
    if filters.type_code:
        q &= Q(**{f"{basis.o('request_type_id')}__in": _type_ids(filters.type_code)})
    if filters.channel:
        q &= Q(**{basis.o("channel"): filters.channel})
    return q


def _rows(
    basis: _Basis, *, start: datetime, end: datetime, user: Any, filters: ReportFilter
) -> QuerySet[Any]:
    """The rows of ``basis`` whose order was received in ``[start, end)``, within ``user``'s data
    scope (``orders_visible_to``) and ``filters``."""
    qs: QuerySet[Any] = basis.model._default_manager.all()
    if user is not None:
        visible = orders_visible_to(user)
        if visible.query.is_empty() or visible.query.where:  # the centre's scope adds no condition
            qs = visible if basis.model is WorkOrder else qs.filter(order__in=visible)
    period = Q(**{f"{basis.o('created_at')}__gte": start, f"{basis.o('created_at')}__lt": end})
    return qs.filter(period & _filter_q(basis, filters)).order_by()


# --- Figures -------------------------------------------------------------------------------------


def _counts(
    names: Sequence[str], dim: _Dim, *, start: datetime, end: datetime, user: Any, filters: ReportFilter
) -> tuple[dict[Any, dict[str, int]], dict[str, int]]:
    """For every report row and for the total: ``{name}_num`` and ``{name}_den`` of each measure.
    One GROUP BY query per basis."""
    per_row: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    total: dict[str, int] = defaultdict(int)
    keys_of = dim.keys_of()
    queries: dict[str, dict[str, Any]] = defaultdict(dict)
    for name in names:
        m = MEASURES[name]
        queries[m.basis][f"{name}_num"] = _count(m.den & m.num)
        if m.kind == "rate":
            queries[m.basis][f"{name}_den"] = _count(m.den)
    for basis_name, aggregates in queries.items():
        basis = BASES[basis_name]
        qs = _rows(basis, start=start, end=end, user=user, filters=filters)
        if dim.column:
            qs = dim.annotate(qs, basis)
            group = dim.field(basis)
            result = qs.values(group).annotate(**aggregates).order_by()
        else:
            group = ""
            result = [qs.aggregate(**aggregates)]
        for values in result:
            targets = keys_of(values[group]) if group else []
            for name, count in values.items():
                if name == group:
                    continue
                total[name] += count or 0
                for key in targets:
                    per_row[key][name] += count or 0
    return per_row, total


def _count(condition: Q) -> Count:
    return Count("pk", filter=condition) if condition else Count("pk")


def _values(names: Sequence[str], counts: dict[str, int]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in names:
        num = counts.get(f"{name}_num", 0)
        if MEASURES[name].kind == "rate":
            den = counts.get(f"{name}_den", 0)
            values[name] = rate(num, den)
            values[f"{name}_num"], values[f"{name}_den"] = num, den
        else:
            values[name] = num
    return values


def _columns(names: Sequence[str]) -> list[Column]:
    return [
        Column(name, MEASURES[name].label, "rate" if MEASURES[name].kind == "rate" else "int", name,
               MEASURES[name].help)
        for name in names
    ]  # fmt: skip


def _table_rows(dim: _Dim, names: Sequence[str], per_row: dict[Any, dict[str, int]]) -> list[Row]:
    rows = [Row(key, label, _values(names, per_row.get(key, {})), level) for key, label, level in dim.rows]
    if None in per_row and any(per_row[None].values()):
        rows.append(Row(None, dim.remainder_label, _values(names, per_row[None])))
    return rows


def _check(names: Sequence[str]) -> None:
    unknown = [name for name in names if name not in MEASURES]
    if unknown:
        raise ValueError(f"unknown measures: {', '.join(unknown)}")


def order_measures(
    *,
    start: datetime,
    end: datetime,
    by: str,
    user: Any = None,
    filters: ReportFilter | None = None,
    measures: Sequence[str] | None = None,
    rollup: bool = True,
) -> Table:
    """Every measure (or ``measures``) of the orders received in ``[start, end)`` per ``by``:
    "unit" (the units directly under ``filters.unit``, or the top units; with ``rollup`` each
    row includes its sub-units), "region" (the districts, or the regions under ``filters.region``),
    "category" (level 1, or the children of ``filters.category``), "type", "channel" or "total".
    The total row counts every order once, whatever the rows."""
    filters = filters or ReportFilter()
    names = list(measures or MEASURES)
    _check(names)
    dim = _dimension(by, filters, rollup=rollup, start=start, end=end)
    per_row, total = _counts(names, dim, start=start, end=end, user=user, filters=filters)
    return Table(
        title=_("Work-order measures"),
        columns=[Column("label", DIMENSION_LABELS[by], "text"), *_columns(names)],
        rows=_table_rows(dim, names, per_row),
        total=Row("", str(_("Total")), _values(names, total)),
        params={"start": start, "end": end, "by": by, "filters": filters, "rollup": rollup},
    )


def order_drill(
    *,
    start: datetime,
    end: datetime,
    measure: str,
    by: str,
    key: Any,
    num: bool = True,
    user: Any = None,
    filters: ReportFilter | None = None,
    rollup: bool = True,
) -> QuerySet[WorkOrder]:
    """The orders behind one figure: the row ``key`` of a report ``by`` a dimension (``by="total"``
    for the total row; ``key=None`` for the remainder row), and the numerator (``num``) or the
    denominator of a rate. For a measure over assignments, each counted row gives its
    order — once per row, so ``count()`` equals the figure (an order returned by two units is
    listed twice in their parent's row)."""
    filters = filters or ReportFilter()
    _check([measure])
    m = MEASURES[measure]
    basis = BASES[m.basis]
    dim = _dimension(by, filters, rollup=rollup, start=start, end=end)
    cond = m.den & m.num if num or m.kind == "count" else m.den
    rows = dim.annotate(_rows(basis, start=start, end=end, user=user, filters=filters), basis)
    rows = rows.filter(cond & dim.q(basis, key))
    if basis.model is WorkOrder:
        return rows
    orders = orders_visible_to(user) if user is not None else WorkOrder.objects.all()
    return orders.filter(**{f"{basis.reverse}__in": rows.values("pk")})


# --- Assessment ----------------------------------------------------------------------------------


def scheme_in_use() -> AssessmentScheme | None:
    """The scheme a report uses when none is chosen: the first active one by name."""
    return AssessmentScheme.objects.filter(active=True).order_by("name", "id").first()


def scheme_weights(scheme: AssessmentScheme | None) -> dict[str, float]:
    """The weights of ``scheme``, or of the scheme in use, or the default weights. Only rates can
    be weighted; an unknown name is an error (the admin form shows it)."""
    if scheme is None:
        scheme = scheme_in_use()
    weights = dict(scheme.weights) if scheme is not None else default_weights()
    wrong = [name for name in weights if name not in RATES]
    if wrong:
        raise ValueError(f"only rates can be weighted: {', '.join(wrong)}")
    return {name: float(weight) for name, weight in weights.items()}


def score(values: dict[str, Any], weights: dict[str, float]) -> float | None:
    """100 × Σ weight × rate / Σ weight over the weighted rates that have a denominator; ``None``
    when none has."""
    present = {name: w for name, w in weights.items() if values.get(name) is not None and w}
    if not present:
        return None
    return 100 * sum(w * values[name] for name, w in present.items()) / sum(present.values())


def assessment(
    *,
    start: datetime,
    end: datetime,
    scheme: AssessmentScheme | None = None,
    parent_unit: Unit | None = None,
    user: Any = None,
    rollup: bool = True,
) -> Table:
    """部门考核: a row per unit (every unit that handles orders, or only the children of
    ``parent_unit``) with every measure, the weighted score and the rank. Each row includes its
    sub-units (``rollup``). Units are ranked against units of the same kind — districts against
    districts, streets against streets — as the assessments are published; equal scores share a
    rank and a unit without any weighted rate is not ranked."""
    weights = scheme_weights(scheme)
    units = _units()
    if parent_unit is not None:
        ids = list(units.children.get(parent_unit.pk, []))
    else:
        ids = [pk for pk in units.label if units.extra[pk]["kind"] != "centre"]
    scope = DataScope.for_user(user) if user is not None else None
    if scope is not None and not scope.everything:
        seen = set(Unit.objects.filter(scope.q(unit_field=SELF)).values_list("id", flat=True))
        ids = [pk for pk in ids if pk in seen]
    dim = _unit_dim(units, ids, rollup=rollup, remainder="")
    names = list(MEASURES)
    filters = ReportFilter(unit=parent_unit.pk if parent_unit is not None else None)
    per_row, total = _counts(names, dim, start=start, end=end, user=user, filters=filters)
    kinds = dict(Unit._meta.get_field("kind").choices or [])
    rows = []
    for key, label, _level in dim.rows:
        values = _values(names, per_row.get(key, {}))
        values["kind"] = str(kinds.get(units.extra[key]["kind"], units.extra[key]["kind"]))
        values["score"] = score(values, weights)
        rows.append(Row(key, label, values))
    by_kind: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_kind[units.extra[row.key]["kind"]].append(row)
    order = [kind for kind, _label in Unit._meta.get_field("kind").choices or []]
    ranked: list[Row] = []
    for kind in sorted(by_kind, key=lambda k: order.index(k) if k in order else len(order)):
        group = sorted(by_kind[kind], key=lambda r: (r.values["score"] is None, -(r.values["score"] or 0)))
        for row in group:
            row.values["rank"] = (
                None if row.values["score"] is None
                else 1 + sum(1 for other in group if (other.values["score"] or 0) > row.values["score"])
            )  # fmt: skip
        ranked.extend(group)
    total_values = _values(names, total)
    total_values["score"] = score(total_values, weights)
    columns = [
        Column("label", pgettext_lazy("report", "Unit"), "text"),
        Column("kind", pgettext_lazy("report", "Kind"), "text"),
        Column(
            "score",
            pgettext_lazy("report", "Score"),
            "score",
            help=_("100 × Σ weight × rate / Σ weight of the rates present"),
        ),
        Column("rank", pgettext_lazy("report", "Rank"), "int", help=_("Among units of the same kind")),
        *_columns(STANDARD),
        *_columns([n for n in names if n not in STANDARD]),
    ]
    return Table(
        title=_("Department assessment"),
        columns=columns,
        rows=ranked,
        total=Row("", str(_("Total")), total_values),
        params={"start": start, "end": end, "by": "unit", "weights": weights, "filters": filters,
                "rollup": rollup, "parent_unit": parent_unit.pk if parent_unit else None},
    )  # fmt: skip


# --- Volume --------------------------------------------------------------------------------------


def _local(value: datetime) -> datetime:
    return value.astimezone(LOCAL_TZ)


def _is_month_start(value: datetime) -> bool:
    local = _local(value)
    return local.day == 1 and local == local_midnight(local.date())


def _months_back(value: datetime, months: int) -> datetime:
    local = _local(value).date()
    index = local.year * 12 + local.month - 1 - months
    return local_midnight(date(index // 12, index % 12 + 1, 1))


def previous_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """环比: the period before ``[start, end)``. Whole calendar months compare with the same number
    of months before (March with February); any other range with the same length ending at
    ``start``."""
    if _is_month_start(start) and _is_month_start(end):
        first, last = _local(start).date(), _local(end).date()
        months = (last.year - first.year) * 12 + last.month - first.month
        if months > 0:
            return _months_back(start, months), start
    return start - (end - start), start


def _year_back(value: datetime) -> datetime:
    local = _local(value)
    try:
        return local.replace(year=local.year - 1)
    except ValueError:  # 29 February
        return local.replace(year=local.year - 1, day=28)


def last_year_range(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """同比: the same local dates and times one year earlier (29 February → 28 February)."""
    return _year_back(start), _year_back(end)


def _shifted(dim: _Dim, start: datetime, end: datetime, other_start: datetime) -> _Dim:
    """For a report per day: the other period's days mapped onto the report's rows by position."""
    if dim.column != "day":
        return dim
    days = _days(start, end)
    first = _local(other_start).date()
    shifted = _Dim("day", "day")
    for i, day in enumerate(days):
        shifted.add(day, day.isoformat(), {first + timedelta(days=i)})
    return shifted


def volume(
    *, start: datetime, end: datetime, by: str, filters: ReportFilter | None = None, user: Any = None
) -> Table:
    """受理量: orders received per ``by`` (also "hour" of the day and "day"), with the previous
    period (环比, ``previous_range``) and the same period a year before (同比) and their changes."""
    filters = filters or ReportFilter()
    dim = _dimension(by, filters, start=start, end=end)
    prev = previous_range(start, end)
    last = last_year_range(start, end)
    now_rows, now_total = _counts(["received"], dim, start=start, end=end, user=user, filters=filters)
    prev_rows, prev_total = _counts(
        ["received"],
        _shifted(dim, start, end, prev[0]),
        start=prev[0],
        end=prev[1],
        user=user,
        filters=filters,
    )
    last_rows, last_total = _counts(
        ["received"],
        _shifted(dim, start, end, last[0]),
        start=last[0],
        end=last[1],
        user=user,
        filters=filters,
    )

    def values(key: Any, now: dict[str, int], before: dict[str, int], year: dict[str, int]) -> dict[str, Any]:
        count, p, y = now.get("received_num", 0), before.get("received_num", 0), year.get("received_num", 0)
        return {"count": count, "previous": p, "previous_change": change(count, p), "last_year": y,
                "last_year_change": change(count, y)}  # fmt: skip

    rows = [
        Row(
            key,
            label,
            values(key, now_rows.get(key, {}), prev_rows.get(key, {}), last_rows.get(key, {})),
            level,
        )
        for key, label, level in dim.rows
    ]
    # (a report per day has no remainder: the other periods' days beyond its length are in the total)
    if by != "day" and any(any(r.get(None, {}).values()) for r in (now_rows, prev_rows, last_rows)):
        rows.append(
            Row(None, dim.remainder_label, values(None, now_rows.get(None, {}), prev_rows.get(None, {}),
                                                 last_rows.get(None, {})))
        )  # fmt: skip
    return Table(
        title=_("Volume"),
        columns=[
            Column("label", DIMENSION_LABELS[by], "text"),
            Column("count", pgettext_lazy("report", "Received"), "int", "received"),
            Column("previous", pgettext_lazy("report", "Previous period"), "int"),
            Column("previous_change", pgettext_lazy("report", "Change on the previous period"), "change"),
            Column("last_year", pgettext_lazy("report", "Same period last year"), "int"),
            Column("last_year_change", pgettext_lazy("report", "Change on last year"), "change"),
        ],
        rows=rows,
        total=Row("", str(_("Total")), values("", now_total, prev_total, last_total)),
        params={
            "start": start,
            "end": end,
            "by": by,
            "filters": filters,
            "previous": prev,
            "last_year": last,
        },
    )


def _category_level_dim(level: int) -> _Dim:
    categories = _categories()
    dim = _Dim("category", "category")
    for pk in categories.label:
        if categories.extra[pk]["level"] == level:
            dim.add(pk, categories.label[pk], categories.subtree(pk))
    return dim


def rising_categories(
    *, start: datetime, end: datetime, limit: int = 10, level: int = 2, user: Any = None
) -> Table:
    """The categories (of ``level``, each with its subtree) whose intake grew fastest against the
    previous period; only categories with at least ``RISING_MIN_BASE`` orders before rank, so that
    2 → 6 is no headline."""
    dim = _category_level_dim(level)
    prev = previous_range(start, end)
    filters = ReportFilter()
    now_rows, _t = _counts(["received"], dim, start=start, end=end, user=user, filters=filters)
    prev_rows, _p = _counts(["received"], dim, start=prev[0], end=prev[1], user=user, filters=filters)
    rows = []
    for key, label, _level in dim.rows:
        count = now_rows.get(key, {}).get("received_num", 0)
        before = prev_rows.get(key, {}).get("received_num", 0)
        if before >= RISING_MIN_BASE:
            rows.append(
                Row(key, label, {"count": count, "previous": before, "change": change(count, before)})
            )
    rows.sort(key=lambda r: (-(r.values["change"] or 0), -r.values["count"], str(r.label)))
    return Table(
        title=_("Rising categories"),
        columns=[
            Column("label", pgettext_lazy("report", "Category"), "text"),
            Column("count", pgettext_lazy("report", "Received"), "int", "received"),
            Column("previous", pgettext_lazy("report", "Previous period"), "int"),
            Column("change", pgettext_lazy("report", "Change"), "change"),
        ],
        rows=rows[:limit],
        params={"start": start, "end": end, "by": "category", "previous": prev, "level": level},
    )


# --- The summary table ---------------------------------------------------------------------------

SUMMARY = ["open", "closed", "cancelled", "revisited", "received"]


def summary_table(*, start: datetime, end: datetime, type_code: str | None = None, user: Any = None) -> Table:
    """The centres' printed table: level-1 categories, each followed by its level-2 categories
    (indented), with unprocessed / processed (closed) / cancelled / revisited / total orders, for
    one request type (``OTHER_TYPES``: every type but complaints and consultations) or all."""
    categories = _categories()
    dim = _Dim("category", "category", remainder_label=str(_("No category")))
    for top in categories.children.get(None, []):
        dim.add(top, categories.label[top], categories.subtree(top))
        for child in categories.children.get(top, []):
            dim.add(child, categories.label[child], categories.subtree(child), level=1)
    filters = ReportFilter(type_code=type_code or "")
    per_row, total = _counts(SUMMARY, dim, start=start, end=end, user=user, filters=filters)
    labels = {"open": _("Unprocessed"), "closed": _("Processed"), "cancelled": _("Cancelled"),
              "revisited": _("Revisited"), "received": _("Total")}  # fmt: skip
    rows = [r for r in _table_rows(dim, SUMMARY, per_row) if r.level == 0 or r.values.get("received")]
    return Table(
        title=_("Summary by category"),
        columns=[
            Column("label", pgettext_lazy("report", "Category"), "text"),
            *[Column(n, labels[n], "int", n, MEASURES[n].help) for n in SUMMARY],
        ],
        rows=rows,
        total=Row("", str(_("Total")), _values(SUMMARY, total)),
        params={"start": start, "end": end, "by": "category", "filters": filters, "type_code": type_code},
    )


# --- The leaders' dashboard ----------------------------------------------------------------------


def _seconds_since(moment: datetime | None, now: datetime) -> int:
    return 0 if moment is None else max(0, int((now - moment).total_seconds()))


# Open and overdue now. The deadline scan raises a running deadline to overdue once its ``due_at``
# has passed, so ``due_at`` bounds the rows and the (state, due_at) index finds them.
def _overdue_now(now: datetime) -> Q:
    return Q(state__in=OPEN_STATES, deadline_level=DeadlineLevel.OVERDUE, due_at__lte=now)


def dashboard_orders(*, now: datetime, user: Any = None) -> dict[str, Any]:
    """Today (the centre's local day up to ``now``): orders received, dispatches (lead assignments
    sent today, re-dispatches included), orders held by units now, orders closed today; the
    districts ranked by orders received today, with their open overdue orders; the 20 orders
    longest overdue; the 10 categories (level 2) most reported today."""
    day_start, _day_end = local_day(now)
    orders = orders_visible_to(user) if user is not None else WorkOrder.objects.all()
    orders = orders.order_by()
    today = orders.filter(VALID, created_at__gte=day_start, created_at__lt=now)
    figures = {
        "intake": today.count(),
        "dispatched": Assignment.objects.filter(
            LEAD, order__in=orders, dispatched_at__gte=day_start, dispatched_at__lt=now
        ).count(),
        "handling": orders.filter(state__in=UNIT_STATES).count(),
        "completed": orders.filter(state=S.CLOSED, closed_at__gte=day_start, closed_at__lt=now).count(),
    }
    regions = _dimension("region", ReportFilter())
    keys_of = regions.keys_of()
    received: dict[Any, int] = defaultdict(int)
    overdue: dict[Any, int] = defaultdict(int)
    for region_id, count in today.values_list("region_id").annotate(n=Count("pk")):
        for key in keys_of(region_id):
            received[key] += count
    for region_id, count in orders.filter(_overdue_now(now)).values_list("region_id").annotate(n=Count("pk")):
        for key in keys_of(region_id):
            overdue[key] += count
    ranking = [
        {"key": key, "label": label, "received": received.get(key, 0), "overdue": overdue.get(key, 0)}
        for key, label, _level in regions.rows
    ]
    ranking.sort(key=lambda r: (-r["received"], -r["overdue"], r["label"]))
    late = (
        orders.filter(_overdue_now(now))
        .order_by("due_at", "id")
        .values("id", "number", "title", "lead_unit__name", "due_at", "state")[:DASHBOARD_OVERDUE]
    )
    overdue_list = [
        {"id": o["id"], "number": o["number"], "title": o["title"], "unit": o["lead_unit__name"] or "",
         "due_at": o["due_at"], "state": o["state"], "overdue_s": _seconds_since(o["due_at"], now)}
        for o in late
    ]  # fmt: skip
    hot_dim = _category_level_dim(2)
    hot_keys = hot_dim.keys_of()
    hot: dict[Any, int] = defaultdict(int)
    for category_id, count in today.values_list("category_id").annotate(n=Count("pk")):
        for key in hot_keys(category_id):
            if key is not None:
                hot[key] += count
    labels = {key: label for key, label, _level in hot_dim.rows}
    hot_list = [
        {"key": key, "label": labels[key], "count": count}
        for key, count in sorted(hot.items(), key=lambda kv: (-kv[1], labels[kv[0]]))[:DASHBOARD_HOT]
    ]
    return {"at": now, "day_start": day_start, **figures, "regions": ranking, "overdue": overdue_list,
            "hot_categories": hot_list}  # fmt: skip
