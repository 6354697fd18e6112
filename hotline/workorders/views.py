"""Work-order screens."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from hotline.core.permissions import view_requires

from .selectors import citizen_fields, history_for, orders_visible_to
from .states import actions_from


@view_requires("workorders.view_workorder")
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    """One order: its fields, units, and the timeline of every step."""
    order = get_object_or_404(
        orders_visible_to(request.user).select_related("lead_unit", "request_type", "category", "region"),
        number=number,
    )
    context = {
        "order": order,
        "citizen": citizen_fields(order=order, user=request.user, audit=True),
        "history": history_for(order=order, user=request.user),
        "assignments": order.assignments.select_related("unit").order_by("dispatched_at", "id"),
        "instructions": order.instructions.select_related("leader").order_by("at"),
        "next_actions": actions_from(order.state),
    }
    return render(request, "workorders/detail.html", context)
