from __future__ import annotations

from typing import Any

from django import template

from hotline.notify import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def notify_unread_count(context: template.Context) -> int:
    """The signed-in user's unread notifications (counted once per request)."""
    request = context.get("request")
    user: Any = context.get("user") or getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    cached = getattr(request, "_notify_unread", None)
    if cached is not None:
        return int(cached)
    count = selectors.unread_count(user=user)
    if request is not None:
        request._notify_unread = count  # type: ignore[attr-defined]
    return count
