"""The deadline scan: one periodic job marks every order whose running deadline crossed 70 %, 90 %
or 100 % of its time, and tells the units holding them and the centre.

Each threshold is a precomputed, indexed column (``warn_at``, ``urgent_at``, ``due_at``), so a scan
is three indexed range queries however many orders are open. Orders whose clock is stopped (waiting
on the centre: dispatch, return arbitration) are not scanned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hotline.accounts.choices import Role

from .choices import DeadlineLevel, OrderAction, OrderState
from .models import OrderEvent, WorkOrder

# States whose deadline runs: a unit holds the order, or the centre reviews or revisits it.
RUNNING_STATES = [
    OrderState.PENDING_SIGN,
    OrderState.HANDLING,
    OrderState.PENDING_REVIEW,
    OrderState.PENDING_REVISIT,
]
LEVELS = [
    (DeadlineLevel.OVERDUE, "due_at"),
    (DeadlineLevel.URGENT, "urgent_at"),
    (DeadlineLevel.WARNING, "warn_at"),
]
CHUNK = 2000


def deadlines_scan(*, now: datetime | None = None) -> dict[int, int]:
    """Raise the deadline level of every order that reached a threshold. Returns how many orders
    reached each level. Highest level first, so an order past several thresholds at once gets
    only the highest."""
    now = now or timezone.now()
    reached: dict[int, int] = {}
    for level, column in LEVELS:
        below = [int(v) for v in DeadlineLevel.values if v < level]  # an IN list: one index range each
        rows = list(
            WorkOrder.objects.filter(
                deadline_level__in=below, **{f"{column}__lte": now}, state__in=RUNNING_STATES
            )
            .order_by()  # no default ordering: it would make SQLite walk the created_at index
            .values_list("id", "state", "round", "lead_unit_id", "number")
        )
        reached[int(level)] = 0
        by_unit: dict[int, list[str]] = defaultdict(list)
        centre: list[str] = []
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            reached[int(level)] += _mark(chunk, level=int(level), now=now)
            for _id, state, _round, unit_id, number in chunk:
                if state in (OrderState.PENDING_SIGN, OrderState.HANDLING) and unit_id is not None:
                    by_unit[unit_id].append(number)
                if level == DeadlineLevel.OVERDUE or state in (
                    OrderState.PENDING_REVIEW,
                    OrderState.PENDING_REVISIT,
                ):
                    centre.append(number)
        if by_unit or centre:  # one digest per unit (and one for the centre) per level and scan
            _tell(by_unit=dict(by_unit), centre=centre, level=int(level))
    return reached


@transaction.atomic
def _mark(rows: Sequence[tuple[int, str, int, int | None, str]], *, level: int, now: datetime) -> int:
    ids = [row[0] for row in rows]
    fields: dict[str, object] = {"deadline_level": level}
    if level == DeadlineLevel.OVERDUE:
        fields["was_overdue"] = True
    changed = WorkOrder.objects.filter(id__in=ids, deadline_level__lt=level).update(**fields)
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(
                order_id=order_id, at=now, action=OrderAction.DEADLINE, from_state=state, to_state=state,
                round=round_, data={"level": level},
            )
            for order_id, state, round_, _unit, _number in rows
        ]
    )  # fmt: skip
    return changed


def _tell(*, by_unit: dict[int, list[str]], centre: list[str], level: int) -> None:
    from django.conf import settings
    from django.utils import translation
    from django.utils.translation import gettext as _

    from hotline.notify.services import notify_role, notify_unit
    from hotline.orgs.models import Unit

    kind = "order_overdue" if level == DeadlineLevel.OVERDUE else "order_warning"
    with translation.override(settings.LANGUAGE_CODE):
        if level == DeadlineLevel.OVERDUE:
            title = _("Orders overdue")
        else:
            title = _("Orders at %(level)s%% of their time") % {"level": level}

        def body(numbers: list[str]) -> str:
            shown = "、".join(numbers[:20])
            more = _(" and %(n)s more") % {"n": len(numbers) - 20} if len(numbers) > 20 else ""
            return shown + more

        for unit in Unit.objects.filter(pk__in=list(by_unit)):
            numbers = by_unit[unit.pk]
            link = f"/orders/?number={numbers[0]}" if len(numbers) == 1 else "/orders/inbox/?box=overdue"
            notify_unit(
                unit=unit, kind=kind, title=f"{title} ({len(numbers)})", body=body(numbers), link=link
            )
        if centre:
            notify_role(
                role=Role.DISPATCHER, kind=kind, title=f"{title} ({len(centre)})", body=body(centre),
                link="/orders/queue/?queue=overdue", email=False,
            )  # fmt: skip


@db_periodic_task(crontab(minute="*"))
def deadlines_scan_task() -> dict[int, int]:
    return deadlines_scan()
