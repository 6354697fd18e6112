"""What a notification is about, the channels it travels by, and the state of each delivery.

``Notification.kind`` is a plain string, not a database choice: the apps that raise notifications
(work orders, extensions, the contact centre) add their own kinds with ``kind_register`` without a
migration here. ``NotificationKind`` holds the kinds known from the start.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    ORDER_NEW = "order_new", _("New work order")  # 新工单
    ORDER_RETURNED = "order_returned", _("Work order returned")  # 工单退回
    ORDER_WARNING = "order_warning", _("Deadline approaching")  # 即将超期
    ORDER_OVERDUE = "order_overdue", _("Work order overdue")  # 已超期
    ORDER_SUPERVISED = "order_supervised", _("Work order supervised")  # 督办
    ORDER_REMINDED = "order_reminded", _("Reminder")  # 催办
    ORDER_INSTRUCTION = "order_instruction", _("Leader's instruction")  # 领导批示
    ORDER_ANSWER = "order_answer", _("Answer review")  # 答复审核（退回重办等）
    ORDER_CANCELLED = "order_cancelled", _("Work order cancelled")  # 工单撤销
    ORDER_ESCALATED = "order_escalated", _("Work order escalated")  # 工单上报领导
    EXTENSION_REQUESTED = "extension_requested", _("Extension requested")  # 延期申请
    EXTENSION_DECIDED = "extension_decided", _("Extension decided")  # 延期审批结果
    SYSTEM = "system", _("System notice")  # 系统通知


_EXTRA_KINDS: dict[str, Any] = {}


def kind_register(value: str, label: Any) -> None:
    """Make another kind known (its label shows in the notification centre and in e-mails)."""
    _EXTRA_KINDS[value] = label


def kind_label(value: str) -> Any:
    """The kind's human label; an unknown kind shows as itself."""
    if value in NotificationKind.values:
        return NotificationKind(value).label
    return _EXTRA_KINDS.get(value, value)


class Channel(models.TextChoices):
    """How a notification reaches its recipient.

    The in-app copy is the ``Notification`` row itself (and its live event), so it never has a
    ``Delivery`` row; the value exists for reports and for callers naming channels. E-mail and SMS
    each get a ``Delivery`` per recipient, sent by the sender registered for the channel
    (``senders.py``).
    """

    INAPP = "inapp", _("In-app")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
