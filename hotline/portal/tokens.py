"""Signed values the portal hands to the browser (``django.core.signing``, keyed by SECRET_KEY).

- the **form clock**: when the submission form was served, so a form sent back too quickly (a
  script) is refused;
- the **rating token**: proof that whoever rates an answer looked the order up with its number and
  phone within the last hour. It carries the number and a keyed digest of the phone, not the phone
  itself, so the page source does not spell the number out;
- the **receipts**: the tracking number shown after a submission, and the order shown after a
  rating (they let the page show what happened, nothing more).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare, salted_hmac

from hotline.workorders.models import WorkOrder

FORM_SALT = "hotline.portal.form"
RATE_SALT = "hotline.portal.rate"
RECEIPT_SALT = "hotline.portal.receipt"
RATED_SALT = "hotline.portal.rated"
PHONE_SALT = "hotline.portal.phone"

RATE_MAX_AGE = 60 * 60  # the rating form is valid for an hour after the lookup
RECEIPT_MAX_AGE = 24 * 60 * 60


def min_fill_seconds() -> float:
    """A person needs longer than this to fill the form in (``PORTAL_MIN_FILL_SECONDS``)."""
    return float(getattr(settings, "PORTAL_MIN_FILL_SECONDS", 5))


def form_max_age() -> int:
    """A form older than this is served again with a new clock (``PORTAL_FORM_MAX_AGE``)."""
    return int(getattr(settings, "PORTAL_FORM_MAX_AGE", 24 * 60 * 60))


def form_clock(now: float | None = None) -> str:
    """The signed moment the form was served."""
    return signing.dumps({"t": time.time() if now is None else now}, salt=FORM_SALT)


def form_age(token: str, now: float | None = None) -> float | None:
    """Seconds since ``token`` was issued; ``None`` when it is missing, forged or too old."""
    try:
        data: Any = signing.loads(token or "", salt=FORM_SALT, max_age=form_max_age())
        started = float(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    return (time.time() if now is None else now) - started


def _phone_digest(phone: str) -> str:
    return salted_hmac(PHONE_SALT, phone.strip()).hexdigest()[:32]


def _order_token(order: WorkOrder, salt: str) -> str:
    return signing.dumps({"n": order.number, "p": _phone_digest(order.citizen_phone)}, salt=salt)


def _order_from_token(token: str, salt: str, max_age: int) -> WorkOrder | None:
    try:
        data: Any = signing.loads(token or "", salt=salt, max_age=max_age)
        number, digest = str(data["n"]), str(data["p"])
    except (signing.BadSignature, KeyError, TypeError):
        return None
    order = WorkOrder.objects.filter(number=number).first()
    if order is None or not order.citizen_phone:
        return None
    if not constant_time_compare(_phone_digest(order.citizen_phone), digest):
        return None
    return order


def rate_token(order: WorkOrder) -> str:
    """The proof, issued on a successful lookup, that lets the page rate ``order``."""
    return _order_token(order, RATE_SALT)


def order_from_rate_token(token: str) -> WorkOrder | None:
    """The order a rating token was issued for; ``None`` when forged, older than an hour, or when
    the order's phone is no longer the one it was issued for."""
    return _order_from_token(token, RATE_SALT, RATE_MAX_AGE)


def rated_receipt(order: WorkOrder) -> str:
    """What the thank-you page after a rating shows: the order, and whether it was sent back."""
    return _order_token(order, RATED_SALT)


def order_from_rated_receipt(token: str) -> WorkOrder | None:
    return _order_from_token(token, RATED_SALT, RECEIPT_MAX_AGE)


def receipt(number: str) -> str:
    return signing.dumps(number, salt=RECEIPT_SALT)


def number_from_receipt(token: str) -> str | None:
    try:
        return str(signing.loads(token or "", salt=RECEIPT_SALT, max_age=RECEIPT_MAX_AGE))
    except signing.BadSignature:
        return None
