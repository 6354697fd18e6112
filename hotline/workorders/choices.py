"""Named states, groups of states and the other choices of a work order."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderState(models.TextChoices):
    """工单状态. The transitions between them are the table in ``states.py``."""

    PENDING_DISPATCH = "pending_dispatch", _("Waiting for dispatch")  # 待派单
    PENDING_SIGN = "pending_sign", _("Waiting for signature")  # 待签收
    RETURN_REQUESTED = "return_requested", _("Return under arbitration")  # 退单待审
    HANDLING = "handling", _("Being handled")  # 办理中
    PENDING_REVIEW = "pending_review", _("Answer under review")  # 待审核
    PENDING_REVISIT = "pending_revisit", _("Waiting for revisit")  # 待回访
    CLOSED = "closed", _("Closed")  # 已办结
    CANCELLED = "cancelled", _("Cancelled")  # 已撤销
    MERGED = "merged", _("Merged")  # 已并单


S = OrderState
OPEN_STATES = frozenset(
    {S.PENDING_DISPATCH, S.PENDING_SIGN, S.RETURN_REQUESTED, S.HANDLING, S.PENDING_REVIEW, S.PENDING_REVISIT}
)
TERMINAL_STATES = frozenset({S.CLOSED, S.CANCELLED, S.MERGED})
# States in which a unit holds the order (its clock runs).
UNIT_STATES = frozenset({S.PENDING_SIGN, S.HANDLING})
# States in which the order waits on the centre: the unit's clock is stopped (see docs/workorders.md).
CENTRE_WAIT_STATES = frozenset({S.PENDING_DISPATCH, S.RETURN_REQUESTED, S.PENDING_REVIEW, S.PENDING_REVISIT})


class Channel(models.TextChoices):
    """受理渠道."""

    PHONE = "phone", _("Phone")
    WEB = "web", _("Web portal")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    WALK_IN = "walk_in", _("Walk-in")
    LETTER = "letter", _("Letter")
    MEDIA = "media", _("Media")
    APP = "app", _("Mobile app")


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("Lead unit")  # 主办
    ASSIST = "assist", _("Assisting unit")  # 协办


class AssignmentState(models.TextChoices):
    PENDING_SIGN = "pending_sign", _("Waiting for signature")
    SIGNED = "signed", _("Signed")
    RETURNED = "returned", _("Returned")
    ANSWERED = "answered", _("Answered")
    WITHDRAWN = "withdrawn", _("Withdrawn")  # the centre took the order back (re-dispatch, cancel, merge)


ACTIVE_ASSIGNMENT_STATES = frozenset({AssignmentState.PENDING_SIGN, AssignmentState.SIGNED})


class Result(models.TextChoices):
    """办理结果."""

    RESOLVED = "resolved", _("Resolved")  # 已解决
    UNRESOLVED = "unresolved", _("Not resolved")  # 未解决
    EXPLAINED = "explained", _("Explained only")  # 已解释说明


class Satisfaction(models.TextChoices):
    """回访满意度."""

    SATISFIED = "satisfied", _("Satisfied")  # 满意
    BASICALLY = "basically", _("Basically satisfied")  # 基本满意
    UNSATISFIED = "unsatisfied", _("Unsatisfied")  # 不满意


class RevisitMethod(models.TextChoices):
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    WEB = "web", _("Web")
    UNREACHABLE = "unreachable", _("Citizen unreachable")


class ExtensionState(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class SupervisionKind(models.TextChoices):
    SUPERVISE = "supervise", _("Supervision notice")  # 督办
    REMIND = "remind", _("Reminder")  # 催办


class DeadlineLevel(models.IntegerChoices):
    """How far the current deadline has run, in percent of its working time."""

    ON_TIME = 0, _("On time")
    WARNING = 70, _("Warning (70%)")
    URGENT = 90, _("Urgent (90%)")
    OVERDUE = 100, _("Overdue")


class OrderAction(models.TextChoices):
    """工单流转动作: every row of an order's history names one."""

    INTAKE = "intake", _("Intake")
    DIRECT_CLOSE = "direct_close", _("Answered at intake")
    DISPATCH = "dispatch", _("Dispatch")
    SIGN = "sign", _("Sign")
    RETURN = "return", _("Return")
    RETURN_ACCEPT = "return_accept", _("Return accepted")
    RETURN_REFUSE = "return_refuse", _("Return refused")
    NOTE = "note", _("Progress note")
    EXTENSION_REQUEST = "extension_request", _("Extension requested")
    EXTENSION_APPROVE = "extension_approve", _("Extension approved")
    EXTENSION_REFUSE = "extension_refuse", _("Extension refused")
    ANSWER = "answer", _("Answer")
    REVIEW_ACCEPT = "review_accept", _("Answer accepted")
    REVIEW_REJECT = "review_reject", _("Answer sent back")
    REVISIT = "revisit", _("Revisit")
    CLOSE = "close", _("Close")
    CANCEL = "cancel", _("Cancel")
    REOPEN = "reopen", _("Reopen")
    MERGE = "merge", _("Merge")
    MERGED_IN = "merged_in", _("Order merged in")
    LINK = "link", _("Link")
    SUPERVISE = "supervise", _("Supervision notice")
    REMIND = "remind", _("Reminder")
    ESCALATE = "escalate", _("Escalated to a leader")
    INSTRUCT = "instruct", _("Leader instruction")
    DEADLINE = "deadline", _("Deadline level")
