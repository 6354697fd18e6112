"""Template helpers of the UI shell: local time, safe reverses, role labels."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from hotline.core.localtime import LOCAL_TZ

register = template.Library()

# Hotline staff read every time in the city's own time zone, whatever the server runs in.


@register.filter
def local_time(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A datetime shown in Asia/Shanghai (``{{ event.at|local_time:"%H:%M:%S" }}``); "" for None."""
    if not isinstance(value, datetime):
        return ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value.astimezone(LOCAL_TZ).strftime(fmt)


@register.simple_tag
def url_or_empty(name: str, *args: Any) -> str:
    """``{% url %}`` that gives "" instead of failing when the pattern does not exist (yet)."""
    try:
        return reverse(name, args=args or None)
    except NoReverseMatch:
        return ""


@register.filter
def role_label(user: Any) -> str:
    """The translated label of a user's role ("" for accounts without one)."""
    getter = getattr(user, "get_role_display", None)
    if getter is None or not getattr(user, "role", ""):
        return ""
    return str(getter())


@register.simple_tag(takes_context=True)
def nav_active(context: template.Context, url: str, exact: bool = False) -> str:
    """``is-active`` when the current page is ``url`` (or below it, unless ``exact``)."""
    request = context.get("request")
    if request is None or not url:
        return ""
    path = request.path
    if path == url or (not exact and path.startswith(url)):
        return "is-active"
    return ""


@register.filter
def minutes(value: Any) -> int:
    """Whole minutes of a ``timedelta`` (rounded up: "locked for 15 minutes", never "14")."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value or 0)
    return max(0, -(-int(seconds) // 60))


@register.simple_tag
def lockout_policy() -> dict[str, int]:
    """How many wrong passwords lock an account, and for how many minutes (django-axes settings)."""
    limit = getattr(settings, "AXES_FAILURE_LIMIT", 5)
    cooloff = getattr(settings, "AXES_COOLOFF_TIME", None)
    if isinstance(cooloff, int | float):
        cooloff = timedelta(hours=cooloff)
    return {
        "failure_limit": int(limit) if isinstance(limit, int | float) else 5,
        "minutes": minutes(cooloff) if isinstance(cooloff, timedelta) else 0,
    }
