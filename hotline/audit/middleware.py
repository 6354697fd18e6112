from __future__ import annotations

import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .context import acting_as


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address; behind nginx the hop the proxy appended to X-Forwarded-For."""
    from django.conf import settings

    proxies = int(getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0) or 0)
    if proxies:
        # Each trusted proxy appends the address it saw; count from the right, since the entries
        # on the left come from the client and can be anything.
        hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies] or None
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    """Makes the request's user and address the actor of every audit row written while it runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        request_id = uuid.uuid4().hex[:16]
        request.request_id = request_id  # type: ignore[attr-defined]
        with acting_as(user, ip=client_ip(request), request_id=request_id):
            return self.get_response(request)
