"""The deadline scan: one periodic job marks every order whose running deadline crossed 70 %, 90 %
or 100 % of its time, and tells the units holding them and the centre.

Each threshold is a precomputed, indexed column (``warn_at``, ``urgent_at``, ``due_at``). The scan
remembers how far it has looked (``DeadlineScanMark``) and reads only the thresholds passed since:
three short index ranges, however many orders are open. It needs nothing more, because every
service that sets a deadline also sets the level it has reached at that moment (``_set_deadline``).
The first scan of an installation, with no mark, reads every passed threshold once. Orders whose
clock is stopped (waiting on the centre: dispatch, return arbitration) are not scanned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hotline.accounts.choices import Role
from hotline.core.rows import insert_rows
from hotline.reports.live import orders_changed

from .choices import UNIT_STATES, DeadlineLevel, OrderAction, OrderState
from .models import DeadlineScanMark, OrderEvent, WorkOrder

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
HISTORY_BATCH = 500
MARK = "orders"


def deadlines_scan(*, now: datetime | None = None) -> dict[int, int]:
    """Raise the deadline level of every order that reached a threshold since the previous scan.
    Returns how many orders reached each level. Highest level first, so an order past several
    thresholds at once gets only the highest."""
    now = now or timezone.now()
    since = DeadlineScanMark.objects.filter(name=MARK).values_list("scanned_to", flat=True).first()
    reached = {int(level): 0 for level, _column in LEVELS}
    if since is not None and since >= now:
        return reached  # already scanned up to ``now`` (or later)
    for level, column in LEVELS:
        qs = WorkOrder.objects.filter(**{f"{column}__lte": now}, state__in=RUNNING_STATES)
        if since is not None:
            qs = qs.filter(**{f"{column}__gt": since})
        ids = list(qs.filter(deadline_level__lt=level).order_by().values_list("id", flat=True))
        by_unit: dict[int, list[str]] = defaultdict(list)
        centre: list[str] = []
        for start in range(0, len(ids), CHUNK):
            for _id, state, _round, unit_id, number in _mark(
                ids[start : start + CHUNK], level=int(level), now=now
            ):
                reached[int(level)] += 1
                if state in UNIT_STATES and unit_id is not None:
                    by_unit[unit_id].append(number)
                if level == DeadlineLevel.OVERDUE or state in (
                    OrderState.PENDING_REVIEW,
                    OrderState.PENDING_REVISIT,
                ):
                    centre.append(number)
        if by_unit or centre:  # one digest per unit (and one for the centre) per level and scan
            _tell(by_unit=dict(by_unit), centre=centre, level=int(level))
    _advance_mark(since, now)
    return reached


def _advance_mark(mark: datetime | None, now: datetime) -> None:
    """Move the mark to ``now``: compare-and-set, so that of two overlapping scans the later one
    cannot move it back."""
    if mark is None:
        DeadlineScanMark.objects.get_or_create(name=MARK, defaults={"scanned_to": now})
    else:
        DeadlineScanMark.objects.filter(name=MARK, scanned_to__lt=now).update(scanned_to=now)


@transaction.atomic
def _mark(ids: Sequence[int], *, level: int, now: datetime) -> list[tuple[int, str, int, int | None, str]]:
    """Raise the orders in ``ids`` still below ``level`` to it, and write their history rows.
    Returns (id, state, round, lead unit, number) of each order changed here — not of those a
    concurrent step moved in the meantime."""
    table = WorkOrder._meta.db_table
    marks = ", ".join("%s" for _ in ids)
    overdue = ""
    overdue_params: list[Any] = []
    if level == DeadlineLevel.OVERDUE:  # overdue at a unit too when a unit's deadline was running
        in_unit = ", ".join("%s" for _ in UNIT_STATES)
        overdue = f", was_overdue = %s, unit_overdue = (unit_overdue OR state IN ({in_unit}))"
        overdue_params = [True, *sorted(state.value for state in UNIT_STATES)]
    params: list[Any] = [level, *overdue_params, *ids, level]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET deadline_level = %s{overdue} WHERE id IN ({marks})"  # noqa: S608
            " AND deadline_level < %s RETURNING id, state, round, lead_unit_id, number",
            params,
        )
        rows: list[tuple[int, str, int, int | None, str]] = cursor.fetchall()
    data = {"level": level}
    for start in range(0, len(rows), HISTORY_BATCH):
        insert_rows(
            OrderEvent,
            [
                {
                    "order_id": order_id, "at": now, "action": OrderAction.DEADLINE.value,
                    "from_state": state, "to_state": state, "round": round_, "data": data,
                }
                for order_id, state, round_, _unit, _number in rows[start : start + HISTORY_BATCH]
            ],
        )  # fmt: skip
    if rows:
        orders_changed()  # the dashboards' overdue list
    return rows


def _tell(*, by_unit: dict[int, list[str]], centre: list[str], level: int) -> None:
    from django.conf import settings
    from django.utils import translation
    from django.utils.translation import gettext as _

    from hotline.notify.selectors import units_staff
    from hotline.notify.services import Message, notify_many, notify_role

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

        messages = []
        staff_of = units_staff(unit_ids=list(by_unit))
        for unit_id, numbers in by_unit.items():
            staff = staff_of.get(unit_id)
            if not staff:
                continue
            link = f"/orders/?number={numbers[0]}" if len(numbers) == 1 else "/orders/inbox/?box=overdue"
            messages.append(
                Message(users=staff, title=f"{title} ({len(numbers)})", body=body(numbers), link=link)
            )
        if messages:  # one batch of rows for every unit's digest
            notify_many(messages=messages, kind=kind)
        if centre:
            notify_role(
                role=Role.DISPATCHER, kind=kind, title=f"{title} ({len(centre)})", body=body(centre),
                link="/orders/queue/?queue=overdue", email=False,
            )  # fmt: skip


@db_periodic_task(crontab(minute="*"))
def deadlines_scan_task() -> dict[int, int]:
    return deadlines_scan()
