from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .permissions import view_requires


@view_requires()
def home(request: HttpRequest) -> HttpResponse:
    """The home page of the signed-in user's role."""
    role = getattr(request.user, "role", "") or "admin"
    return render(request, f"core/home_{role}.html", {"role": role})
