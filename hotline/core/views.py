from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hotline.accounts.choices import Role

from . import selectors
from .permissions import view_requires


def _agent(user: Any) -> dict[str, Any]:
    return {"reference": selectors.intake_reference(), "orders": selectors.agent_orders(user)}


def _supervisor(user: Any) -> dict[str, Any]:
    return {"reference": selectors.intake_reference(), "agents": selectors.centre_agents()}


def _dispatcher(user: Any) -> dict[str, Any]:
    return {"reference": selectors.intake_reference(), "orders": selectors.dispatcher_orders(user)}


def _handler(user: Any) -> dict[str, Any]:
    return {"panel": selectors.unit_panel(user), "orders": selectors.unit_orders(user)}


def _unit_manager(user: Any) -> dict[str, Any]:
    return {"panel": selectors.unit_panel(user, with_colleagues=True), "orders": selectors.unit_orders(user)}


def _leader(user: Any) -> dict[str, Any]:
    return {"panel": selectors.region_panel(user), "orders": selectors.leader_orders(user)}


def _admin(user: Any) -> dict[str, Any]:
    return {"panel": selectors.admin_panel()}


HOME_PANELS: dict[str, Callable[[Any], dict[str, Any]]] = {
    Role.AGENT: _agent,
    Role.SUPERVISOR: _supervisor,
    Role.DISPATCHER: _dispatcher,
    Role.HANDLER: _handler,
    Role.UNIT_MANAGER: _unit_manager,
    Role.LEADER: _leader,
    Role.ADMIN: _admin,
}


def home_role(user: Any) -> str:
    """Which home page a user gets: their role's; a superuser without a role gets the admin's."""
    role = getattr(user, "role", "") or ""
    if role in HOME_PANELS:
        return role
    if user.is_superuser:
        return Role.ADMIN
    raise PermissionDenied("This account has no role.")


@view_requires()
def home(request: HttpRequest) -> HttpResponse:
    """The home page of the signed-in user's role."""
    role = home_role(request.user)
    context = {
        "role": role,
        "scope": selectors.scope_summary(request.user),
        **HOME_PANELS[role](request.user),
    }
    return render(request, f"core/home_{role}.html", context)
