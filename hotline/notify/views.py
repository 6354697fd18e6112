"""The notification centre (/notify/): the signed-in user's own inbox."""

from __future__ import annotations

import json

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from hotline.core.permissions import view_requires

from . import selectors
from .models import Notification
from .services import notification_mark_read

PER_PAGE = 20


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _context(request: HttpRequest) -> dict[str, object]:
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(selectors.inbox(user=request.user, unread=unread_only), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return {
        "page": page,
        "unread_only": unread_only,
        "unread": selectors.unread_count(user=request.user),
    }


@view_requires()
def inbox(request: HttpRequest) -> HttpResponse:
    """All the user's notifications, newest first (``?unread=1``: unread ones only)."""
    context = _context(request)
    if _is_htmx(request):
        return render(request, "notify/_list.html", context)
    return render(request, "notify/inbox.html", context)


@view_requires()
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    """Mark the posted ``id``s read, or all of the user's notifications when none is posted.

    htmx gets the refreshed list back (and the bell its new count through ``HX-Trigger``); a plain
    form goes back to the list."""
    raw = request.POST.getlist("id")
    ids = [int(v) for v in raw if v.isdigit()] if raw else None
    notification_mark_read(user=request.user, ids=ids)
    if _is_htmx(request):
        context = _context(request)
        response = render(request, "notify/_list.html", context)
        response["HX-Trigger"] = json.dumps({"hotline:notifications": {"unread": context["unread"]}})
        return response
    target = reverse("notify:inbox")
    if request.GET.get("unread") == "1":
        target += "?unread=1"
    return redirect(target)


@view_requires()
def open_notification(request: HttpRequest, pk: int) -> HttpResponse:
    """Open one of the user's notifications: mark it read and go to what it is about."""
    notification = get_object_or_404(Notification, pk=pk, recipient_id=request.user.pk)
    notification_mark_read(user=request.user, ids=[notification.pk])
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts=None) and link.startswith("/"):
        return redirect(link)
    return redirect("notify:inbox")
