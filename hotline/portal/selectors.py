"""What the portal reads: the choices of the submission form, and an order as its citizen sees it.

A citizen sees the state in plain words, a short public timeline and the answer once the centre has
accepted it — never the internal notes, the staff, or which unit holds the order ("passed to the
responsible department" is as far as the timeline goes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from hotline.orgs.models import Region
from hotline.taxonomy.models import Category, RequestType
from hotline.workorders.choices import OrderAction, OrderState
from hotline.workorders.models import WorkOrder

S = OrderState
A = OrderAction

PHONE_SEPARATORS = re.compile(r"[\s\-()（）]")


def normalize_phone(raw: str) -> str:
    """The phone as the portal stores and matches it: without spaces, dashes and brackets."""
    return PHONE_SEPARATORS.sub("", raw or "")


# --- The submission form's choices ---------------------------------------------------------------


def request_types() -> list[RequestType]:
    return list(RequestType.objects.filter(active=True).order_by("sort_order", "code"))


def category_groups() -> list[Category]:
    """Level-1 categories in use."""
    return list(Category.objects.filter(level=1, active=True).order_by("sort_order", "code"))


def category_children() -> dict[int, list[tuple[Category, str]]]:
    """Active level-2 and level-3 categories by their level-1 ancestor, each with its label
    ("城市建设和市政管理 › 城管执法" for a level 3)."""
    nodes = (
        Category.objects.filter(level__in=[2, 3], active=True, parent__active=True)
        .filter(Q(level=2) | Q(parent__parent__active=True))
        .select_related("parent", "parent__parent")
        .order_by("code")
    )
    result: dict[int, list[tuple[Category, str]]] = {}
    for node in nodes:
        assert node.parent is not None
        if node.level == 2:
            root_id, label = node.parent_id, node.name
        else:
            root_id, label = node.parent.parent_id, f"{node.parent.name} › {node.name}"
        if root_id is not None:
            result.setdefault(root_id, []).append((node, label))
    return result


def category_root_id(category: Category) -> int | None:
    node: Category | None = category
    while node is not None and node.parent_id is not None:
        node = node.parent
    return node.pk if node is not None else None


def region_groups() -> list[tuple[Region, list[Region]]]:
    """Active districts with their active streets, in the tree's order."""
    districts = list(Region.objects.filter(level="district", active=True).order_by("path"))
    streets = Region.objects.filter(level="street", active=True, parent__in=districts).order_by("path")
    by_parent: dict[int, list[Region]] = {}
    for street in streets:
        assert street.parent_id is not None
        by_parent.setdefault(street.parent_id, []).append(street)
    return [(d, by_parent.get(d.pk, [])) for d in districts]


def selectable_regions() -> dict[int, Region]:
    return {r.pk: r for d, streets in region_groups() for r in [d, *streets]}


# --- An order as its citizen sees it -------------------------------------------------------------


def order_for_citizen(*, number: str, phone: str) -> WorkOrder | None:
    """The order with this number made with this phone; ``None`` for a missing number and for a
    wrong pair alike."""
    number = (number or "").strip()
    candidates = {p for p in ((phone or "").strip(), normalize_phone(phone)) if p}
    if not number or not candidates:
        return None
    return (
        WorkOrder.objects.select_related("request_type")
        .filter(number=number, citizen_phone__in=candidates)
        .first()
    )


@dataclass(frozen=True)
class PublicStatus:
    label: str | Promise
    note: str | Promise
    tone: str  # "progress", "action", "done", "muted" — the badge's colour


IN_HANDS = _("Being handled")  # 办理中
STATUSES: dict[str, PublicStatus] = {
    S.PENDING_DISPATCH: PublicStatus(
        pgettext_lazy("citizen", "Received"),
        _("The hotline centre is finding the department responsible for your request."),
        "progress",
    ),
    S.PENDING_SIGN: PublicStatus(
        IN_HANDS, _("Your request has been passed to the responsible department."), "progress"
    ),
    S.RETURN_REQUESTED: PublicStatus(
        IN_HANDS, _("The hotline centre is confirming which department handles your request."), "progress"
    ),
    S.HANDLING: PublicStatus(
        IN_HANDS, _("The responsible department is working on your request and will answer you."), "progress"
    ),
    S.PENDING_REVIEW: PublicStatus(
        _("Answer being checked"),
        _("The department has answered; the hotline centre is checking the answer before it reaches you."),
        "progress",
    ),
    S.PENDING_REVISIT: PublicStatus(
        _("Answered"),
        _("Please read the answer below and tell us whether your problem was solved."),
        "action",
    ),
    S.CLOSED: PublicStatus(_("Closed"), _("Your request has been dealt with and closed."), "done"),
    S.CANCELLED: PublicStatus(
        pgettext_lazy("citizen", "Withdrawn"),
        _("This request was withdrawn. Call 12345 if you have questions."),
        "muted",
    ),
    S.MERGED: PublicStatus(
        _("Handled together"),
        _("Others reported the same problem; it is being handled together with their requests."),
        "muted",
    ),
}

# The states in which the citizen may read the answer.
ANSWER_STATES = frozenset({S.PENDING_REVISIT, S.CLOSED})


def public_status(order: WorkOrder) -> PublicStatus:
    return STATUSES.get(order.state, STATUSES[S.PENDING_DISPATCH])


def public_answer(order: WorkOrder) -> str:
    """The answer, once the centre has accepted it; "" before."""
    return order.answer if order.state in ANSWER_STATES else ""


@dataclass(frozen=True)
class PublicStep:
    at: datetime
    label: str | Promise


PASSED_ON = _("Passed to the responsible department for handling")  # 已转交承办单位办理
STEP_LABELS: dict[str, str | Promise] = {
    A.INTAKE: _("Request received"),
    A.DISPATCH: PASSED_ON,
    A.SIGN: _("The department has taken it on"),
    A.REVIEW_ACCEPT: _("Handled and answered"),
    A.DIRECT_CLOSE: _("Answered when received, and closed"),
    A.CLOSE: _("Closed"),
    A.CANCEL: pgettext_lazy("citizen", "Withdrawn"),
    A.REOPEN: _("Reopened for handling again"),
    A.MERGE: _("Handled together with the same request from others"),
}


def _step_label(action: str, to_state: str, data: dict[str, object]) -> str | Promise | None:
    if action == A.RETURN_ACCEPT:
        return PASSED_ON if to_state == S.PENDING_SIGN else None
    if action == A.REVISIT:
        if data.get("reopened"):
            return _("Sent back for handling again after your feedback")
        if data.get("method") == "unreachable":
            return _("Closed")
        return _("Closed after your feedback")
    return STEP_LABELS.get(action)


def public_steps(order: WorkOrder) -> list[PublicStep]:
    """The order's public timeline: only the steps a citizen needs, with no names, units or notes.
    A step that repeats the one before it (a second dispatch after a return) is shown once."""
    steps: list[PublicStep] = []
    rows = order.events.order_by("at", "id").values_list("action", "to_state", "data", "at")
    for action, to_state, data, at in rows:
        label = _step_label(action, to_state, data or {})
        if label is None or (steps and str(steps[-1].label) == str(label)):
            continue
        steps.append(PublicStep(at=at, label=label))
    return steps
