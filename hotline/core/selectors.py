"""Reads behind the home pages: the user's data scope in words and the panels of each role.

The org tree, the duty list, the category tree, accounts, the audit log and the work orders of
each role (through ``hotline.workorders.selectors``). Calls and statistics join their panels
when their modules arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from hotline.accounts.choices import Role
from hotline.accounts.models import User
from hotline.accounts.scope import SELF, DataScope
from hotline.audit.models import AuditEvent
from hotline.core.localtime import local_day
from hotline.orgs.choices import RegionLevel
from hotline.orgs.models import DutyAssignment, Region, Unit
from hotline.taxonomy.models import Category, RequestType

LATEST_AUDIT_EVENTS = 10
DUTY_PREVIEW = 10


# --- Data scope --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeSummary:
    """What ``DataScope`` means for one user, ready to be put into words by a template.

    ``kind`` is ``city`` (everything), ``unit`` (a unit and the units under it), ``region`` (a
    region and everything in it) or ``none`` (an account without a unit: sees nothing).
    """

    kind: str
    unit: Unit | None = None
    region: Region | None = None
    city: Region | None = None
    sub_unit_count: int = 0


def city_region() -> Region | None:
    """The top of the region tree (the city the hotline serves)."""
    return Region.objects.filter(parent__isnull=True).order_by("sort_order", "path").first()


def scope_summary(user: Any) -> ScopeSummary:
    scope = DataScope.for_user(user)
    if scope.everything:
        return ScopeSummary(kind="city", city=city_region())
    unit = getattr(user, "unit", None)
    if scope.unit_path and unit is not None:
        sub_units = Unit.objects.filter(path__startswith=unit.path, active=True).exclude(pk=unit.pk)
        return ScopeSummary(kind="unit", unit=unit, sub_unit_count=sub_units.count())
    if scope.region_path and unit is not None:
        return ScopeSummary(kind="region", unit=unit, region=unit.region)
    return ScopeSummary(kind="none")


# --- Intake reference (agent, supervisor, dispatcher) ------------------------------------------


@dataclass(frozen=True)
class IntakeReference:
    request_types: Sequence[RequestType]
    top_categories: Sequence[Category]  # each annotated with ``active_children``


def intake_reference() -> IntakeReference:
    """The request types and first-level categories an agent chooses from when taking a call."""
    request_types = list(RequestType.objects.filter(active=True).order_by("sort_order", "code"))
    top_categories = list(
        Category.objects.filter(level=1, active=True)
        .annotate(active_children=Count("children", filter=Q(children__active=True)))
        .order_by("sort_order", "code")
    )
    return IntakeReference(request_types=request_types, top_categories=top_categories)


def centre_agents() -> list[User]:
    """The active agents of the hotline centre (the supervisor's team)."""
    return list(
        User.objects.filter(role=Role.AGENT, is_active=True)
        .select_related("unit")
        .order_by("full_name", "username")
    )


# --- Departments (handler, unit manager) ---------------------------------------------------------


@dataclass(frozen=True)
class UnitPanel:
    unit: Unit | None
    duty_entry_count: int = 0
    duty_category_count: int = 0
    duty_preview: list[DutyAssignment] = field(default_factory=list)
    colleagues: list[User] = field(default_factory=list)


def unit_panel(user: Any, *, with_colleagues: bool = False) -> UnitPanel:
    """The user's unit, what the duty list makes it responsible for and, for managers, its staff.

    The duty list counts entries naming the unit itself; colleagues are the active accounts of the
    unit and the units under it (the accounts a department manager may manage).
    """
    unit = getattr(user, "unit", None)
    if unit is None:
        return UnitPanel(unit=None)
    duties = DutyAssignment.objects.filter(unit=unit)
    preview = list(
        duties.select_related("category", "region").order_by("category__code", "region__path")[:DUTY_PREVIEW]
    )
    colleagues: list[User] = []
    if with_colleagues:
        colleagues = list(
            User.objects.filter(unit__path__startswith=unit.path, is_active=True)
            .select_related("unit")
            .order_by("unit__path", "role", "full_name", "username")
        )
    return UnitPanel(
        unit=unit,
        duty_entry_count=duties.count(),
        duty_category_count=duties.values("category").distinct().count(),
        duty_preview=preview,
        colleagues=colleagues,
    )


# --- Leader ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionPanel:
    region: Region | None
    unit_count: int = 0
    district_count: int = 0
    street_count: int = 0
    community_count: int = 0


def region_panel(user: Any) -> RegionPanel:
    """The leader's region and how many units and regions of each level lie inside it."""
    scope = DataScope.for_user(user)
    unit = getattr(user, "unit", None)
    if unit is None or scope.is_empty:
        return RegionPanel(region=None)
    region = unit.region
    units = scope.filter(Unit.objects.filter(active=True), unit_field=SELF)
    levels = dict(
        Region.objects.filter(path__startswith=region.path, active=True)
        .exclude(pk=region.pk)
        .order_by()
        .values("level")
        .annotate(n=Count("id"))
        .values_list("level", "n")
    )
    return RegionPanel(
        region=region,
        unit_count=units.count(),
        district_count=levels.get(RegionLevel.DISTRICT, 0),
        street_count=levels.get(RegionLevel.STREET, 0),
        community_count=levels.get(RegionLevel.COMMUNITY, 0),
    )


# --- Administrator -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleCount:
    role: str
    label: Any
    count: int


@dataclass(frozen=True)
class AdminPanel:
    region_count: int
    unit_count: int
    duty_entry_count: int
    category_active_count: int
    category_retired_count: int
    user_count: int
    inactive_user_count: int
    users_per_role: list[RoleCount]
    latest_events: list[AuditEvent]


def admin_panel() -> AdminPanel:
    """The size of the reference data, the accounts per role and the latest audit events."""
    categories = dict(
        Category.objects.order_by().values("active").annotate(n=Count("id")).values_list("active", "n")
    )
    per_role = dict(
        User.objects.filter(is_active=True)
        .order_by()
        .values("role")
        .annotate(n=Count("id"))
        .values_list("role", "n")
    )
    users_per_role = [RoleCount(role.value, role.label, per_role.get(role.value, 0)) for role in Role]
    return AdminPanel(
        region_count=Region.objects.count(),
        unit_count=Unit.objects.count(),
        duty_entry_count=DutyAssignment.objects.count(),
        category_active_count=categories.get(True, 0),
        category_retired_count=categories.get(False, 0),
        user_count=sum(per_role.values()),
        inactive_user_count=User.objects.filter(is_active=False).count(),
        users_per_role=users_per_role,
        latest_events=list(AuditEvent.objects.order_by("-at", "-id")[:LATEST_AUDIT_EVENTS]),
    )


# --- Work orders on the home pages ----------------------------------------------------------------

HOME_ORDERS = 8


@dataclass(frozen=True)
class OrdersPanel:
    """A home page's work-order panel: counts that link to the screens, and a short list of
    orders (rows with their deadline, ``hotline.workorders.views.Row``)."""

    links: list[Any] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    by_unit: list[dict[str, Any]] = field(default_factory=list)


def agent_orders(user: Any) -> OrdersPanel:
    """What the agent took in today, the orders waiting for dispatch, and their latest orders."""
    from hotline.workorders.selectors import centre_queue, orders_visible_to
    from hotline.workorders.views import order_rows

    mine = orders_visible_to(user).filter(created_by=user)
    today = mine.filter(created_at__gte=local_day()[0]).aggregate(
        taken=Count("id"), closed=Count("id", filter=Q(closed_directly=True))
    )
    latest = mine.select_related("request_type", "category__parent__parent", "region", "lead_unit").order_by(
        "-created_at", "-id"
    )[:HOME_ORDERS]
    return OrdersPanel(
        rows=order_rows(latest),
        counts={
            "taken_today": today["taken"],
            "closed_today": today["closed"],
            "waiting_dispatch": centre_queue(queue="dispatch").count(),
        },
    )


def dispatcher_orders(user: Any) -> OrdersPanel:
    """The centre's queues with their counts, and the orders waiting longest for dispatch."""
    from hotline.workorders.selectors import LIST_RELATED, centre_queue
    from hotline.workorders.views import order_rows, queue_tabs

    oldest = centre_queue(queue="dispatch").select_related(*LIST_RELATED)[:HOME_ORDERS]
    return OrdersPanel(links=queue_tabs(user), rows=order_rows(oldest))


def unit_orders(user: Any) -> OrdersPanel:
    """The unit's inbox counts and its orders with the nearest deadlines."""
    from hotline.workorders.selectors import unit_assisting, unit_nearest
    from hotline.workorders.views import inbox_tabs, order_rows

    unit = getattr(user, "unit", None)
    if unit is None:
        return OrdersPanel()
    assisting = unit_assisting(unit)
    nearest = unit_nearest(unit=unit, assisting=assisting, limit=HOME_ORDERS)
    return OrdersPanel(links=inbox_tabs(unit, assisting), rows=order_rows(nearest))


def leader_orders(user: Any) -> OrdersPanel:
    """Open, overdue and supervised orders in the leader's region, the units with the most
    overdue ones, and the citizens' satisfaction with the closed ones."""
    from hotline.workorders.choices import OPEN_STATES, OrderState
    from hotline.workorders.selectors import orders_visible_to

    visible = orders_visible_to(user)
    open_orders = visible.filter(state__in=OPEN_STATES)
    counts = open_orders.aggregate(
        open=Count("id"),
        overdue=Count("id", filter=Q(deadline_level=100)),
        supervised=Count("id", filter=Q(supervised=True)),
        warning=Count("id", filter=Q(deadline_level__in=[70, 90])),
    )
    rated = visible.filter(state=OrderState.CLOSED).exclude(satisfaction="")
    counts.update(
        rated.aggregate(
            rated=Count("id"),
            satisfied=Count("id", filter=Q(satisfaction="satisfied")),
            basically=Count("id", filter=Q(satisfaction="basically")),
            unsatisfied=Count("id", filter=Q(satisfaction="unsatisfied")),
        )
    )
    by_unit = list(
        open_orders.filter(lead_unit__isnull=False)
        .values("lead_unit__name")
        .annotate(
            total=Count("id"),
            overdue=Count("id", filter=Q(deadline_level=100)),
            supervised=Count("id", filter=Q(supervised=True)),
        )
        .order_by("-overdue", "-supervised", "-total", "lead_unit__name")[:6]
    )
    return OrdersPanel(counts=counts, by_unit=by_unit)
