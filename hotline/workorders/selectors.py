"""Reading work orders: who may see which, and how an order looks to each role."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, overload

from django.db.models import BooleanField, Count, F, Func, Q, QuerySet
from django.utils import timezone

from hotline.accounts.scope import SELF, DataScope
from hotline.audit.services import audit_personal_read
from hotline.core.masking import mask_id_number, mask_name, mask_phone
from hotline.orgs.models import Region, Unit
from hotline.taxonomy.models import Category

from .choices import ACTIVE_ASSIGNMENT_STATES, OPEN_STATES, AssignmentRole, OrderState
from .models import Assignment, OrderEvent, WorkOrder


@overload
def each(
    orders: QuerySet[WorkOrder], change: Callable[[QuerySet[WorkOrder]], QuerySet[WorkOrder]]
) -> QuerySet[WorkOrder]: ...
@overload
def each(orders: OrderUnion, change: Callable[[QuerySet[WorkOrder]], QuerySet[WorkOrder]]) -> OrderUnion: ...
def each(
    orders: QuerySet[WorkOrder] | OrderUnion, change: Callable[[QuerySet[WorkOrder]], QuerySet[WorkOrder]]
) -> QuerySet[WorkOrder] | OrderUnion:
    """``change`` (``select_related``, ``annotate``…) applied to a list of orders, whether it is
    one queryset or an ``OrderUnion`` of several."""
    return orders.map(change) if isinstance(orders, OrderUnion) else change(orders)


def _scope_units(scope: DataScope) -> list[int]:
    """The ids of the units in a unit's data scope: the unit and the units under it."""
    return list(Unit.objects.filter(scope.q(unit_field=SELF)).values_list("id", flat=True))


def orders_visible_to(user: Any) -> QuerySet[WorkOrder]:
    """Every order ``user`` may see: the whole city for the centre; for a unit, the orders ever
    assigned to it or its sub-units (a street office sees only its street's orders); for a leader,
    the orders in their region or assigned to units in it.

    The scope's units and regions are few: they are resolved first, so that the order query is an
    indexed semi-join on assignments rather than a correlated subquery per order."""
    qs = WorkOrder.objects.all()
    scope = DataScope.for_user(user)
    if scope.everything or (scope.region_path and scope.region_path.count("/") == 2):
        return qs  # the centre, or a leader of the whole city
    if scope.is_empty:
        return qs.none()
    unit_ids = _scope_units(scope)
    cond = Q(pk__in=Assignment.objects.filter(unit_id__in=unit_ids).values("order_id"))
    if scope.region_path:
        region_ids = list(
            Region.objects.filter(path__startswith=scope.region_path).values_list("id", flat=True)
        )
        cond |= Q(region_id__in=region_ids)
    return qs.filter(cond)


@dataclass(frozen=True)
class OrderFilter:
    """The filters of every order list (the search screen, the API, the Excel export).
    ``until`` is exclusive."""

    states: tuple[str, ...] = ()
    unit_code: str = ""
    category_code: str = ""  # the category and everything under it
    channel: str = ""
    number: str = ""
    phone: str = ""
    since: datetime | None = None
    until: datetime | None = None
    deadline_level: int | None = None
    q: str = ""


def _category_subtree(code: str) -> list[int]:
    """The ids of the category ``code`` and everything under it."""
    return list(Category.objects.filter(code__startswith=code).order_by().values_list("id", flat=True))


def orders_filter(qs: QuerySet[WorkOrder], f: OrderFilter) -> QuerySet[WorkOrder]:
    """Apply ``f`` to an already scoped queryset."""
    if f.category_code:
        # the category's subtree as ids, so that the filter is read from the order indexes
        # (order_unit_created_cat_idx) rather than by joining the category of every row
        qs = qs.filter(category_id__in=_category_subtree(f.category_code))
    if f.states:
        qs = qs.filter(state__in=f.states)
    if f.unit_code:
        qs = qs.filter(lead_unit__code=f.unit_code)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.number:
        qs = qs.filter(number=f.number)
    if f.phone:
        qs = qs.filter(citizen_phone=f.phone)
    if f.since is not None:
        qs = qs.filter(created_at__gte=f.since)
    if f.until is not None:
        qs = qs.filter(created_at__lt=f.until)
    if f.deadline_level is not None:
        qs = qs.filter(deadline_level=f.deadline_level)
    if f.q:
        qs = qs.filter(title__contains=f.q)
    return qs


class Among(Func):
    """``column IN (ids)`` for a long list of ids (a district's thousands of assisting orders). On
    PostgreSQL it is sent as ``column = ANY(%s)`` with the ids as one array parameter: one value to
    adapt, send and plan instead of thousands (planning alone took 15 ms for 16,000 ids as an
    ``IN`` list; docs/performance.md)."""

    output_field = BooleanField()

    def __init__(self, column: str, ids: Collection[int]) -> None:
        super().__init__(F(column))
        self.ids = list(ids)

    def as_sql(  # type: ignore[override]  # the ids are parameters, not source expressions
        self, compiler: Any, connection: Any, **extra_context: Any
    ) -> tuple[str, tuple[Any, ...]]:
        lhs, params = compiler.compile(self.get_source_expressions()[0])
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*params, self.ids)
        return f"{lhs} IN ({', '.join(['%s'] * len(self.ids))})", (*params, *self.ids)


def _sorted_by(rows: list[tuple[Any, ...]], position: int, descending: bool) -> list[tuple[Any, ...]]:
    """``rows`` sorted by the value at ``position`` as PostgreSQL sorts: empty values last going up,
    first going down."""
    present = sorted(
        (r for r in rows if r[position] is not None), key=lambda r: r[position], reverse=descending
    )
    empty = [r for r in rows if r[position] is None]
    return empty + present if descending else present + empty


class OrderUnion:
    """Disjoint order querysets read as one list in one order: what a unit leads (served by the
    ``lead_unit`` indexes alone) and the few orders it assists in. Each part is counted on its own,
    because one query with ``lead_unit = … OR id IN (…)`` has to read every matching row from the
    table to count it (docs/performance.md). Works with Django's ``Paginator`` (``count()`` and
    slices).

    A page is read in two steps: the sort keys and ids of each part's first rows (the indexes hold
    them, so PostgreSQL reads no table row for them), merged here; then the page's own rows, in one
    query by id, with what the list shows (``map``: ``select_related``, ``annotate``). Joining the
    related rows of every candidate before sorting them cost more than the whole page. A union of
    one part reads its page in one query, as the queryset would. The parts
    named ``whole`` (the orders from an id list: few) are read once, keys only, and counted from
    that read."""

    def __init__(
        self,
        parts: Sequence[QuerySet[WorkOrder]],
        order: Sequence[str],
        *,
        whole: Collection[int] = (),
        changes: Sequence[Callable[[QuerySet[WorkOrder]], QuerySet[WorkOrder]]] = (),
        _read: dict[int, Any] | None = None,
    ) -> None:
        self.parts = [p.order_by(*order) for p in parts]
        self.order = tuple(order)
        self.whole = frozenset(whole)
        self.changes = tuple(changes)
        names = [term.lstrip("-") for term in order]
        self._fields = names if "id" in names else [*names, "id"]
        self._id_at = self._fields.index("id")
        # what was read of the parts (the whole parts' keys, under their index; the count under
        # -1): shared with the unions ``map`` makes, which read the same rows
        self._read: dict[int, Any] = {} if _read is None else _read

    def map(self, change: Callable[[QuerySet[WorkOrder]], QuerySet[WorkOrder]]) -> OrderUnion:
        """The same union whose rows get ``change`` (``select_related``, ``annotate``) when read."""
        return OrderUnion(
            self.parts, self.order, whole=self.whole, changes=(*self.changes, change), _read=self._read
        )

    def _keys(self, i: int, stop: int | None) -> list[tuple[Any, ...]]:
        """Sort keys and id of the first ``stop`` rows of part ``i`` (all with ``None``)."""
        if i in self.whole:
            if i not in self._read:
                self._read[i] = list(self.parts[i].values_list(*self._fields))
            rows: list[tuple[Any, ...]] = self._read[i]
            return rows if stop is None else rows[:stop]
        keys = self.parts[i].values_list(*self._fields)
        return list(keys if stop is None else keys[:stop])

    def count(self) -> int:
        if -1 not in self._read:
            self._read[-1] = sum(
                len(self._keys(i, None)) if i in self.whole else part.count()
                for i, part in enumerate(self.parts)
            )
        count: int = self._read[-1]
        return count

    def __len__(self) -> int:
        return self.count()

    def exists(self) -> bool:
        return any(p.exists() for p in self.parts)

    def __getitem__(self, index: slice) -> list[WorkOrder]:
        if not isinstance(index, slice):
            raise TypeError("an order union is read in slices")
        start, stop = index.start or 0, index.stop
        if len(self.parts) == 1:  # nothing to merge: one query, as a queryset would read it
            return list(self._changed(self.parts[0])[start:stop])
        rows: list[tuple[Any, ...]] = []
        for i in range(len(self.parts)):
            rows.extend(self._keys(i, stop))
        for position in reversed(range(len(self.order))):  # stable sorts, the last key first
            rows = _sorted_by(rows, position, self.order[position].startswith("-"))
        ids = [row[self._id_at] for row in rows[start:stop]]
        if not ids:
            return []
        by_id = {o.pk: o for o in self._changed(WorkOrder.objects.filter(pk__in=ids).order_by())}
        return [by_id[pk] for pk in ids if pk in by_id]

    def _changed(self, qs: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
        for change in self.changes:
            qs = change(qs)
        return qs

    def __iter__(self) -> Iterator[WorkOrder]:
        return iter(self[0:None])


def orders_search(user: Any, f: OrderFilter) -> QuerySet[WorkOrder] | OrderUnion:
    """The search screen's list, newest first: ``orders_visible_to`` filtered by ``f`` — except
    that for a unit's staff it lists the orders their unit (and the units under it) holds now, as
    lead or assisting unit. Orders that once passed through the unit and went elsewhere (returned,
    re-dispatched) stay visible by their number (the number filter searches the whole scope) but
    are not listed: listing them would mean reading the unit's whole assignment history for every
    search (docs/performance.md)."""
    order = ("-created_at", "-id")
    scope = DataScope.for_user(user)
    unit = getattr(user, "unit", None)
    if f.number or unit is None or scope.everything or scope.region_path:
        return orders_filter(orders_visible_to(user), f).order_by(*order)
    unit_ids = _scope_units(scope)
    categories = _category_subtree(f.category_code) if f.category_code else None
    rest = replace(f, category_code="")

    def narrow(qs: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
        if categories is not None:
            qs = qs.filter(category_id__in=categories)
        return orders_filter(qs, rest)

    return _held(unit_ids, _assisting(unit_ids), narrow, order)


def _assisting(unit_ids: list[int]) -> list[int]:
    return list(
        Assignment.objects.filter(
            unit_id__in=unit_ids, role=AssignmentRole.ASSIST, state__in=ACTIVE_ASSIGNMENT_STATES
        )
        .order_by()
        .values_list("order_id", flat=True)  # from the index alone (assignment_unit_role_order_idx)
    )


def unit_assisting(unit: Any) -> list[int]:
    """The orders ``unit`` assists in now (协办): few, so they are listed once per page."""
    return _assisting([unit.pk])


def _held(
    unit_ids: list[int],
    assisting: list[int],
    narrow: Callable[[QuerySet[WorkOrder]], QuerySet[WorkOrder]],
    order: Sequence[str],
) -> OrderUnion:
    """The orders led by ``unit_ids`` and those in ``assisting`` led elsewhere, each narrowed by
    ``narrow``: one part when there are no assisting orders, else two (the second read whole)."""
    lead = narrow(WorkOrder.objects.filter(lead_unit_id__in=unit_ids))
    if not assisting:
        return OrderUnion([lead], order)
    others = narrow(WorkOrder.objects.filter(Among("id", assisting)).exclude(lead_unit_id__in=unit_ids))
    return OrderUnion([lead, others], order, whole={1})


# What a row of any order list shows, read in the same query.
LIST_RELATED = ("request_type", "category__parent__parent", "region", "lead_unit")
INBOX_BOXES = ("to_sign", "handling", "near_deadline", "overdue", "answered")


def unit_inbox(
    *, unit: Any, box: str, assisting: list[int] | None = None, now: datetime | None = None
) -> QuerySet[WorkOrder] | OrderUnion:
    """A unit's inbox: ``to_sign``, ``handling``, ``near_deadline`` (70 % of the time passed),
    ``overdue``, ``answered`` (answers still with the centre).

    The orders the unit leads (``lead_unit``, indexed with state, due time and warning time) and
    those it assists in (``unit_assisting``; pass it when asking for several boxes) are read as two
    parts (``OrderUnion``), each box in the order its deadlines fall. The deadline boxes compare the
    thresholds with the clock, so they agree with the deadline scan within its minute."""
    if assisting is None:
        assisting = unit_assisting(unit)
    now = now or timezone.now()
    held = [OrderState.PENDING_SIGN, OrderState.HANDLING]
    if box == "to_sign":
        cond, order = Q(state=OrderState.PENDING_SIGN), ("due_at", "id")
    elif box == "handling":
        cond, order = Q(state=OrderState.HANDLING), ("due_at", "id")
    elif box == "near_deadline":
        cond, order = Q(state__in=held, due_at__gt=now, warn_at__lte=now), ("due_at", "id")
    elif box == "overdue":
        cond, order = Q(state__in=held, due_at__lte=now), ("due_at", "id")
    elif box == "answered":
        # the lead unit's answers still with the centre (review, revisit); finished work is in search
        cond = Q(state__in=[OrderState.PENDING_REVIEW, OrderState.PENDING_REVISIT])
        return WorkOrder.objects.filter(cond, lead_unit=unit).order_by("-answered_at", "-id")
    else:
        raise ValueError(box)
    return _held([unit.pk], assisting, lambda qs: qs.filter(cond), order)


def unit_nearest(*, unit: Any, assisting: list[int] | None = None, limit: int = 10) -> list[WorkOrder]:
    """The orders ``unit`` holds (to sign or handling) whose deadlines come first."""
    if assisting is None:
        assisting = unit_assisting(unit)
    held = [OrderState.PENDING_SIGN, OrderState.HANDLING]
    orders = _held([unit.pk], assisting, lambda qs: qs.filter(state__in=held), ("due_at", "id"))
    return list(orders.map(lambda qs: qs.select_related(*LIST_RELATED))[0:limit])


def inbox_counts(
    *, unit: Any, assisting: list[int] | None = None, now: datetime | None = None
) -> dict[str, int]:
    """The number of orders in each box of ``unit_inbox``, in three queries: the unit's own
    orders grouped by state (from the index alone), its near-deadline and overdue orders, and its
    assisting orders."""
    if assisting is None:
        assisting = unit_assisting(unit)
    now = now or timezone.now()
    held = [OrderState.PENDING_SIGN, OrderState.HANDLING]
    answered = [OrderState.PENDING_REVIEW, OrderState.PENDING_REVISIT]
    counts = dict.fromkeys(INBOX_BOXES, 0)
    by_state = (
        WorkOrder.objects.filter(lead_unit=unit, state__in=held + answered)
        .values_list("state")
        .annotate(n=Count("id"))
        .order_by()
    )
    for state, n in by_state:
        key = {OrderState.PENDING_SIGN: "to_sign", OrderState.HANDLING: "handling"}.get(state, "answered")
        counts[key] += n
    deadline = Q(due_at__lte=now) | Q(due_at__gt=now, warn_at__lte=now)
    late = WorkOrder.objects.filter(deadline, lead_unit=unit, state__in=held).aggregate(
        overdue=Count("id", filter=Q(due_at__lte=now)), near=Count("id", filter=Q(due_at__gt=now))
    )
    counts["overdue"] += late["overdue"] or 0
    counts["near_deadline"] += late["near"] or 0
    if assisting:
        for state, due_at, warn_at in (
            WorkOrder.objects.filter(Among("id", assisting), state__in=held)
            .exclude(lead_unit=unit)
            .values_list("state", "due_at", "warn_at")
        ):
            counts["to_sign" if state == OrderState.PENDING_SIGN else "handling"] += 1
            if due_at is not None and due_at <= now:
                counts["overdue"] += 1
            elif warn_at is not None and warn_at <= now:
                counts["near_deadline"] += 1
    return counts


def centre_queue(*, queue: str) -> QuerySet[WorkOrder]:
    """The centre's queues: ``dispatch``, ``returns``, ``review``, ``revisit``, ``extensions``,
    ``overdue``, ``supervised``."""
    qs = WorkOrder.objects.all()
    if queue == "dispatch":
        return qs.filter(state=OrderState.PENDING_DISPATCH).order_by("created_at", "id")
    if queue == "returns":
        return qs.filter(state=OrderState.RETURN_REQUESTED).order_by("updated_at", "id")
    if queue == "review":
        return qs.filter(state=OrderState.PENDING_REVIEW).order_by("answered_at", "id")
    if queue == "revisit":
        return qs.filter(state=OrderState.PENDING_REVISIT).order_by("due_at", "id")
    if queue == "extensions":
        return qs.filter(extensions__state="pending").order_by("extensions__requested_at").distinct()
    if queue == "overdue":
        return qs.filter(deadline_level=100, state__in=OPEN_STATES).order_by("due_at", "id")
    if queue == "supervised":
        return qs.filter(supervised=True, state__in=OPEN_STATES).order_by("due_at", "id")
    raise ValueError(queue)


def may_see_citizen(user: Any, order: WorkOrder) -> bool:
    """The citizen's phone and ID unmasked: desk roles always; unit staff when the citizen did
    not ask for anonymity or confidentiality."""
    if user.has_perm("citizens.view_personal_data"):
        return True
    return bool(
        user.has_perm("workorders.contact_citizen") and not order.anonymous and not order.confidential
    )


def citizen_fields(*, order: WorkOrder, user: Any, audit: bool) -> dict[str, Any]:
    """The citizen as ``user`` may see them on ``order``; an unmasked read is audited."""
    unmasked = may_see_citizen(user, order)
    hide_name = order.anonymous and not user.has_perm("citizens.view_personal_data")
    data = {
        "citizen_name": mask_name(order.citizen_name) if hide_name else order.citizen_name,
        "citizen_phone": order.citizen_phone if unmasked else mask_phone(order.citizen_phone),
        "citizen_id_number": order.citizen_id_number if unmasked else mask_id_number(order.citizen_id_number),
        "citizen_masked": not unmasked,
    }
    if unmasked and audit:
        read = [f for f in ("citizen_phone", "citizen_id_number") if getattr(order, f)]
        if read:
            audit_personal_read(obj=order, fields=read, purpose="order detail")
    return data


def history_for(*, order: WorkOrder, user: Any) -> QuerySet[OrderEvent]:
    """The order's timeline; units do not see the centre's internal rows."""
    qs = order.events.select_related("actor", "actor_unit").order_by("at", "id")
    if DataScope.for_user(user).everything:
        return qs
    return qs.filter(visible_to_units=True)


# --- Intake screen ---------------------------------------------------------------------------------


def caller_lookup(*, user: Any, phone: str, limit: int = 4) -> tuple[Any, list[WorkOrder]]:
    """The caller's profile (``hotline.citizens``) and their last ``limit`` orders that ``user`` may
    see, for the agent typing the number. Nothing personal beyond what the agent typed is read."""
    from hotline.citizens.models import Citizen

    phone = phone.strip()
    if not phone:
        return None, []
    citizen = Citizen.objects.filter(phone=phone).select_related("region").order_by("-updated_at").first()
    orders = list(
        orders_visible_to(user)
        .filter(citizen_phone=phone)
        .select_related("request_type", "category")
        .order_by("-created_at", "-id")[:limit]
    )
    return citizen, orders
