"""Who hears about a work order, and what they read (in-app and e-mail, through hotline.notify)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from hotline.accounts.models import User
from hotline.notify.services import notify_role, notify_unit, notify_users
from hotline.orgs.models import Unit

from .models import WorkOrder

TITLES = {
    "order_new": _("New order %(number)s"),
    "order_returned": _("Order %(number)s returned by a unit"),
    "order_warning": _("Order %(number)s is nearing its deadline"),
    "order_overdue": _("Order %(number)s is overdue"),
    "order_supervised": _("Supervision notice on order %(number)s"),
    "order_reminded": _("Reminder on order %(number)s"),
    "order_instruction": _("Leader instruction on order %(number)s"),
    "order_answer": _("The answer to order %(number)s was sent back"),
    "order_cancelled": _("Order %(number)s was cancelled"),
    "extension_requested": _("Extension requested on order %(number)s"),
    "extension_decided": _("Extension decided on order %(number)s"),
    "order_escalated": _("Order %(number)s escalated to you"),
}


def _title(kind: str, order: WorkOrder) -> str:
    with translation.override(settings.LANGUAGE_CODE):  # stored text: in the centre's language
        return str(TITLES.get(kind, "%(number)s")) % {"number": order.number}


def _link(order: WorkOrder) -> str:
    return reverse("workorders:detail", args=[order.number])


def order_notify(
    *, order_id: int, kind: str, title: str, unit_ids: Sequence[int], roles: Sequence[str]
) -> None:
    order = WorkOrder.objects.filter(pk=order_id).first()
    if order is None:
        return
    heading = _title(kind, order)
    common: dict[str, Any] = {
        "kind": kind,
        "title": heading,
        "body": title,
        "link": _link(order),
        "object_type": "workorders.workorder",
        "object_id": str(order.pk),
    }
    for unit in Unit.objects.filter(pk__in=unit_ids):
        notify_unit(unit=unit, **common)
    for role in roles:
        notify_role(role=role, **common)


def leader_notify(*, order_id: int, leader_id: int) -> None:
    order = WorkOrder.objects.filter(pk=order_id).first()
    leader = User.objects.filter(pk=leader_id).first()
    if order is None or leader is None:
        return
    notify_users(
        users=[leader],
        kind="order_escalated",
        title=_title("order_escalated", order),
        body=order.title,
        link=_link(order),
        object_type="workorders.workorder",
        object_id=str(order.pk),
    )
