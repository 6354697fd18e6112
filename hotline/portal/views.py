"""The citizen portal (/portal/): submit a request, track it, rate the answer. No sign-in.

Views are thin: the forms check the input, ``services`` writes (through ``workorders.services``),
``selectors`` read, ``tokens`` signs what the browser carries between steps.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hotline.audit.middleware import client_ip
from hotline.core.errors import Conflict, ServiceError
from hotline.core.permissions import public_view
from hotline.workorders.choices import OrderState
from hotline.workorders.models import WorkOrder
from hotline.workorders.services import ATTACHMENT_MAX_BYTES, order_rate_by_citizen

from . import selectors, services, tokens
from .forms import MAX_PHOTOS, RateForm, SubmitForm, TrackForm

HOTLINE_PHONE = "12345"
NOT_FOUND = _("No request matches this tracking number and phone number. Check both and try again.")
RATE_FAILED = _("Your rating could not be saved. Please try again.")


def _limited(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/limited.html", {"phone": HOTLINE_PHONE}, status=429)


def _expired(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/expired.html", {"phone": HOTLINE_PHONE}, status=400)


@public_view
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Two ways in (submit, track) and the hotline's number."""
    return render(request, "portal/home.html", {"phone": HOTLINE_PHONE})


@public_view
@never_cache
@require_http_methods(["GET", "POST"])
def submit(request: HttpRequest) -> HttpResponse:
    """The request form. Success leads to the receipt with the tracking number."""
    if request.method == "POST":
        form = SubmitForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                order = services.portal_submit(
                    intake=form.intake(), photos=form.cleaned_data["photos"], ip=client_ip(request)
                )
            except services.RateLimited:
                return _limited(request)
            except ServiceError as error:
                form.add_service_error(error)
            else:
                return redirect(
                    f"{reverse('portal:submitted')}?{urlencode({'r': tokens.receipt(order.number)})}"
                )
    else:
        form = SubmitForm()
    context = {
        "form": form,
        "max_photos": MAX_PHOTOS,
        "max_mb": ATTACHMENT_MAX_BYTES // (1024 * 1024),
        "phone": HOTLINE_PHONE,
    }
    return render(request, "portal/submit.html", context)


@public_view
@never_cache
@require_GET
def submitted(request: HttpRequest) -> HttpResponse:
    """The receipt: the tracking number, big, and what to do with it."""
    number = tokens.number_from_receipt(request.GET.get("r", ""))
    if number is None:
        return redirect("portal:home")
    track_url = f"{reverse('portal:track')}?{urlencode({'number': number})}"
    return render(request, "portal/submitted.html", {"number": number, "track_url": track_url})


def _track_page(request: HttpRequest, order: WorkOrder, rate_form: RateForm | None = None) -> HttpResponse:
    if rate_form is None and order.state == OrderState.PENDING_REVISIT:
        rate_form = RateForm(initial={"token": tokens.rate_token(order)})
    context: dict[str, Any] = {
        "order": order,
        "status": selectors.public_status(order),
        "steps": selectors.public_steps(order),
        "answer": selectors.public_answer(order),
        "rate_form": rate_form if order.state == OrderState.PENDING_REVISIT else None,
        "phone": HOTLINE_PHONE,
    }
    return render(request, "portal/track_result.html", context)


@public_view
@never_cache
@require_http_methods(["GET", "POST"])
def track(request: HttpRequest) -> HttpResponse:
    """Tracking number and phone in, the order as its citizen sees it out. A wrong pair reads
    exactly like a missing number."""
    if request.method == "POST":
        form = TrackForm(request.POST)
        if form.is_valid():
            try:
                services.portal_track_attempt(ip=client_ip(request))
            except services.RateLimited:
                return _limited(request)
            order = selectors.order_for_citizen(
                number=form.cleaned_data["number"], phone=form.cleaned_data["phone"]
            )
            if order is not None:
                return _track_page(request, order)
            form.add_error(None, NOT_FOUND)
    else:
        form = TrackForm(initial={"number": request.GET.get("number", "")[:20]})
    return render(request, "portal/track.html", {"form": form, "phone": HOTLINE_PHONE})


@public_view
@never_cache
@require_POST
def rate(request: HttpRequest) -> HttpResponse:
    """The citizen's rating of the answer, allowed with the token from a lookup of the last hour."""
    token = request.POST.get("token", "")
    order = tokens.order_from_rate_token(token)
    if order is None:
        return _expired(request)
    form = RateForm(request.POST)
    if form.is_valid():
        try:
            order_rate_by_citizen(
                order=order,
                resolved=form.cleaned_data["resolved"] == "yes",
                satisfaction=form.cleaned_data["satisfaction"],
                comment=form.cleaned_data["comment"],
                address_ip=client_ip(request),
            )
        except Conflict:
            return render(request, "portal/not_ratable.html", {"phone": HOTLINE_PHONE}, status=409)
        except ServiceError:
            form.add_error("satisfaction", RATE_FAILED)
        else:
            return redirect(f"{reverse('portal:rated')}?{urlencode({'r': tokens.rated_receipt(order)})}")
    if order.state != OrderState.PENDING_REVISIT:
        return render(request, "portal/not_ratable.html", {"phone": HOTLINE_PHONE}, status=409)
    return _track_page(request, order, rate_form=form)


@public_view
@never_cache
@require_GET
def rated(request: HttpRequest) -> HttpResponse:
    """Thanks, and what happens next: closed, or sent back for handling again."""
    order = tokens.order_from_rated_receipt(request.GET.get("r", ""))
    if order is None:
        return redirect("portal:home")
    reopened = order.state not in (OrderState.CLOSED, OrderState.PENDING_REVISIT)
    return render(
        request, "portal/rated.html", {"order": order, "reopened": reopened, "phone": HOTLINE_PHONE}
    )
