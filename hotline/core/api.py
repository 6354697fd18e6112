"""The REST API root: ``/api/v1/``, OpenAPI at ``/api/docs``.

Every operation declares its permission with ``@requires`` (or ``@public``); a test walks the
whole API and fails on any operation that declares neither. Every error leaves as
``{"code", "message", "fields"}``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from hotline.core.errors import Forbidden, ServiceError

F = TypeVar("F", bound=Callable[..., Any])

PERMISSION_ATTR = "_hotline_permission"
PUBLIC = "public"


def requires(*perms: str) -> Callable[[F], F]:
    """Allow the operation only to users holding every one of ``perms``."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            user = request.user
            if not user.is_authenticated:
                raise AuthenticationError()
            missing = [p for p in perms if not user.has_perm(p)]
            if missing:
                raise Forbidden("You do not have permission for this operation.", fields={})
            return func(request, *args, **kwargs)

        setattr(wrapper, PERMISSION_ATTR, perms)
        return wrapper  # type: ignore[return-value]

    return decorate


def authenticated(func: F) -> F:
    """Any signed-in user (the operation itself limits what it returns to the user's own data)."""
    return requires()(func)


def public(func: F) -> F:
    setattr(func, PERMISSION_ATTR, PUBLIC)
    return func


class SessionAuth(APIKeyCookie):
    """The browser's session; unsafe methods need the CSRF token, as in every Django form."""

    param_name = "sessionid"
    openapi_description = "Django session cookie (browser pages)."

    def _get_key(self, request: HttpRequest) -> str | None:
        # Only a signed-in browser session is checked for CSRF; a request without one (a token
        # client) falls through to the next method without a CSRF refusal.
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


class TokenAuth(HttpBearer):
    """``Authorization: Bearer hl_…`` — a personal API token (see accounts)."""

    openapi_description = "Personal API token created at /api/v1/accounts/tokens."

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from hotline.accounts.services import token_authenticate

        user = token_authenticate(key=token)
        if user is not None:
            request.user = user
        return user


def _error(request: HttpRequest, status: int, code: str, message: str, fields: Any = None) -> HttpResponse:
    return api.create_response(
        request, {"code": code, "message": message, "fields": fields or {}}, status=status
    )


api = NinjaAPI(
    title="Hotline API",
    version="1",
    description="REST API of the Hotline 12345 platform. Errors: {code, message, fields}.",
    auth=[SessionAuth(csrf=True), TokenAuth()],
    urls_namespace="api",
    docs_url="/docs",
)


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return _error(request, exc.status, exc.code, exc.message, exc.fields)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form", "payload")]
        fields.setdefault(".".join(loc) or "__all__", []).append(err.get("msg", "invalid"))
    return _error(request, 422, "validation_error", "The request has invalid fields.", fields)


@api.exception_handler(DjangoValidationError)
def _django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return _error(request, 422, "validation_error", "The request has invalid fields.", fields)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "not_authenticated", "Sign in or send a valid API token.")


@api.exception_handler(PermissionDenied)
def _permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "permission_denied", str(exc) or "Permission denied.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", "No such object, or it is outside your scope.")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    codes = {
        400: "bad_request",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        429: "too_many_requests",
    }
    return _error(request, exc.status_code, codes.get(exc.status_code, "error"), str(exc))


def register_routers() -> None:
    """Mount each app's router. Called once from ``config/urls.py``."""
    from hotline.accounts.api import router as accounts_router
    from hotline.audit.api import router as audit_router
    from hotline.callcenter.api import router as callcenter_router
    from hotline.citizens.api import router as citizens_router
    from hotline.notify.api import router as notify_router
    from hotline.orgs.api import router as orgs_router
    from hotline.reports.api import router as reports_router
    from hotline.taxonomy.api import router as taxonomy_router
    from hotline.telephony.api import router as telephony_router
    from hotline.workorders.api import router as workorders_router

    api.add_router("/accounts", accounts_router, tags=["accounts"])
    api.add_router("/orgs", orgs_router, tags=["orgs"])
    api.add_router("/taxonomy", taxonomy_router, tags=["taxonomy"])
    api.add_router("/citizens", citizens_router, tags=["citizens"])
    api.add_router("/audit", audit_router, tags=["audit"])
    api.add_router("/notify", notify_router, tags=["notify"])
    api.add_router("/workorders", workorders_router, tags=["workorders"])
    api.add_router("/callcenter", callcenter_router, tags=["callcenter"])
    api.add_router("/telephony", telephony_router, tags=["telephony"])
    api.add_router("/reports", reports_router, tags=["reports"])
