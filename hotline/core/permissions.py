"""Permission checks for HTML views. Every view declares one (a test walks all URL patterns)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

F = TypeVar("F", bound=Callable[..., Any])

PERMISSION_ATTR = "_hotline_permission"
PUBLIC = "public"


def view_requires(*perms: str) -> Callable[[F], F]:
    """Signed-in users holding every permission in ``perms`` (none: any signed-in user)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not all(request.user.has_perm(p) for p in perms):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        setattr(wrapper, PERMISSION_ATTR, perms)
        return wrapper  # type: ignore[return-value]

    return decorate


def public_view(view: F) -> F:
    setattr(view, PERMISSION_ATTR, PUBLIC)
    return view
