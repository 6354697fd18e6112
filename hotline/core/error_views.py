"""Error pages that Django calls by setting."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .permissions import public_view


@public_view
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid CSRF token (expired page, cookies blocked): a plain
    explanation in the user's language instead of Django's technical page."""
    return render(request, "403_csrf.html", status=403)
