"""Reading work orders: who may see which, and how an order looks to each role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from hotline.accounts.scope import SELF, DataScope
from hotline.audit.services import audit_personal_read
from hotline.core.masking import mask_id_number, mask_name, mask_phone
from hotline.orgs.models import Region, Unit

from .choices import ACTIVE_ASSIGNMENT_STATES, OPEN_STATES, AssignmentRole, AssignmentState, OrderState
from .models import Assignment, OrderEvent, WorkOrder


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
    unit_ids = list(Unit.objects.filter(scope.q(unit_field=SELF)).values_list("id", flat=True))
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


def orders_filter(qs: QuerySet[WorkOrder], f: OrderFilter) -> QuerySet[WorkOrder]:
    """Apply ``f`` to an already scoped queryset."""
    if f.states:
        qs = qs.filter(state__in=f.states)
    if f.unit_code:
        qs = qs.filter(lead_unit__code=f.unit_code)
    if f.category_code:
        qs = qs.filter(category__code__startswith=f.category_code)
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


def unit_assisting(unit: Any) -> list[int]:
    """The orders ``unit`` assists in now (协办): few, so they are listed once per page."""
    return list(
        Assignment.objects.filter(
            unit=unit, role=AssignmentRole.ASSIST, state__in=ACTIVE_ASSIGNMENT_STATES
        ).values_list("order_id", flat=True)
    )


def unit_inbox(*, unit: Any, box: str, assisting: list[int] | None = None) -> QuerySet[WorkOrder]:
    """A unit's inbox: ``to_sign``, ``handling``, ``near_deadline``, ``overdue``, ``answered``.

    The orders the unit leads (``lead_unit``, indexed with state and due time) and those it assists
    in (``unit_assisting``; pass it when asking for several boxes), each box in the order its
    deadlines fall."""
    if assisting is None:
        assisting = unit_assisting(unit)
    mine = Q(lead_unit=unit)
    if assisting:
        mine |= Q(pk__in=assisting)
    qs = WorkOrder.objects.filter(mine)
    held = [OrderState.PENDING_SIGN, OrderState.HANDLING]
    if box == "to_sign":
        return qs.filter(state=OrderState.PENDING_SIGN).order_by("due_at", "id")
    if box == "handling":
        return qs.filter(state=OrderState.HANDLING).order_by("due_at", "id")
    if box == "near_deadline":
        return qs.filter(state__in=held, deadline_level__in=[70, 90]).order_by("due_at", "id")
    if box == "overdue":
        return qs.filter(state__in=held, deadline_level=100).order_by("due_at", "id")
    if box == "answered":
        # answers still with the centre (review, revisit): the unit's finished work is in search
        answered = Assignment.objects.filter(unit=unit, state=AssignmentState.ANSWERED).values("order_id")
        return WorkOrder.objects.filter(
            pk__in=answered, state__in=[OrderState.PENDING_REVIEW, OrderState.PENDING_REVISIT]
        ).order_by("-answered_at", "-id")
    raise ValueError(box)


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
