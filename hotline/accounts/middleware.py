"""Sessions end after an idle hour (``SESSION_COOKIE_AGE``, sliding) and, whatever the activity,
after ``HOTLINE_SESSION_MAX_SECONDS`` from sign-in (one shift)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

SESSION_KEY = "hotline_signed_in_at"


class SessionLifetimeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            started = request.session.get(SESSION_KEY)
            now = time.time()
            if started is None:
                request.session[SESSION_KEY] = now
            elif now - float(started) > settings.HOTLINE_SESSION_MAX_SECONDS:
                logout(request)
        return self.get_response(request)
