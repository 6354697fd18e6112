"""Every change to a work order. Views, the API, jobs and the telephony process all call these.

Each service runs in one transaction, checks who may act (permission and unit), moves the order
with a compare-and-set on its state (two people acting at once cannot both win: the loser gets
``Conflict`` with code ``state_changed``), appends an ``OrderEvent`` to the order's history and an
audit row, and notifies after commit.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from hotline.accounts.choices import CENTRE_ROLES, Role
from hotline.accounts.scope import DataScope
from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record, audit_row, audit_rows_insert
from hotline.citizens.models import Citizen
from hotline.citizens.services import CITIZEN_COLUMNS, citizen_row, citizen_snapshot
from hotline.core.errors import Conflict, Forbidden, ValidationFailed
from hotline.core.rows import (
    insert_instance,
    insert_one,
    insert_through,
    key_next_sql,
    pipelined,
    statement_cursor,
)
from hotline.orgs.models import Region, Unit
from hotline.reports.live import orders_changed
from hotline.taxonomy.models import Category, RequestType
from hotline.workcalendar.choices import Urgency

from . import deadlines
from .choices import (
    ACTIVE_ASSIGNMENT_STATES,
    TERMINAL_STATES,
    UNIT_STATES,
    AssignmentRole,
    AssignmentState,
    Channel,
    DeadlineLevel,
    ExtensionState,
    OrderAction,
    OrderState,
    Result,
    RevisitMethod,
    Satisfaction,
    SupervisionKind,
)
from .models import (
    Assignment,
    Attachment,
    DailySequence,
    Extension,
    Instruction,
    OrderEvent,
    OrderLink,
    Revisit,
    Supervision,
    WorkOrder,
)
from .states import allowed_from, target_of

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper

ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
ATTACHMENT_TYPES = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "application/msword": (".doc",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.ms-excel": (".xls",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "text/plain": (".txt",),
    "audio/mpeg": (".mp3",),
    "audio/wav": (".wav",),
    "audio/x-wav": (".wav",),
}
# Files whose first bytes must match their declared type (a renamed executable is refused).
MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "application/pdf": (b"%PDF",),
    "image/webp": (b"RIFF",),
}
CITIZEN_MAX_FILES = 5
CITIZEN_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
REPEAT_WINDOW_DAYS = 30  # the same citizen and category within this window counts as a repeat
REPEAT_REMINDER_AT = 3  # the third report raises a reminder (催办) by itself


# --- Helpers -------------------------------------------------------------------------------------


def _require(actor: Any, perm: str) -> None:
    if actor is None or not actor.is_authenticated or not actor.has_perm(perm):
        raise Forbidden("You do not have permission for this step.")


def _require_text(value: str, field: str, message: str = "required") -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed("A required field is empty.", fields={field: [message]})
    return text


def _actor_unit(actor: Any) -> Unit | None:
    return getattr(actor, "unit", None)


def _lead_assignment(order: WorkOrder) -> Assignment | None:
    return (
        order.assignments.filter(role=AssignmentRole.LEAD, state__in=ACTIVE_ASSIGNMENT_STATES)
        .select_related("unit")
        .order_by("-id")
        .first()
    )


def _acting_assignment(order: WorkOrder, actor: Any, *, lead_only: bool) -> Assignment:
    """The active assignment through which ``actor``'s unit acts on ``order``."""
    unit = _actor_unit(actor)
    if unit is None or actor.role not in (Role.HANDLER, Role.UNIT_MANAGER):
        raise Forbidden("Only the staff of the unit handling the order can do this.")
    qs = order.assignments.filter(state__in=ACTIVE_ASSIGNMENT_STATES, unit=unit).order_by("-id")
    if lead_only:
        qs = qs.filter(role=AssignmentRole.LEAD)
    assignment = qs.first()
    if assignment is None:
        raise Forbidden("The order is not with your unit.", code="not_your_order")
    return assignment


def _event(
    order: WorkOrder,
    *,
    action: str,
    actor: Any,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
    visible_to_units: bool = True,
    at: datetime | None = None,
) -> OrderEvent:
    orders_changed()  # the leaders' dashboards refetch (throttled, after commit)
    return insert_instance(
        OrderEvent(
            order=order,
            at=at or timezone.now(),
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            actor_unit=_actor_unit(actor) if actor is not None else None,
            action=action,
            from_state=from_state,
            to_state=to_state or from_state,
            round=order.round,
            reason=reason,
            data=data or {},
            visible_to_units=visible_to_units,
        )
    )


def _move(
    order: WorkOrder,
    *,
    action: str,
    actor: Any,
    to: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> OrderEvent:
    """Compare-and-set the order's state and write the history and audit rows."""
    sources = allowed_from(action)
    target = to or target_of(action)
    assert target is not None
    if order.state not in sources:
        raise Conflict(
            f"This step is not possible while the order is {order.get_state_display()}.",
            code="invalid_state",
            fields={"state": [order.state]},
        )
    now = timezone.now()
    fields = {**fields, "state": target, "updated_at": now}
    changed = WorkOrder.objects.filter(pk=order.pk, state=order.state).update(**fields)
    if changed != 1:
        raise Conflict("Someone else changed the order first; reload it.", code="state_changed")
    from_state = order.state
    for key, value in fields.items():
        setattr(order, key, value)
    event = _event(
        order, action=action, actor=actor, from_state=from_state, to_state=target, reason=reason, data=data
    )
    audit_record(
        action=AuditAction.UPDATE,
        obj=order,
        before={"state": from_state},
        after={"state": target, "action": action},
        note=reason[:500],
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )
    return event


def _touch(order: WorkOrder, **fields: Any) -> None:
    fields["updated_at"] = timezone.now()
    WorkOrder.objects.filter(pk=order.pk).update(**fields)
    for key, value in fields.items():
        setattr(order, key, value)


def _set_deadline(order: WorkOrder, deadline: deadlines.Deadline | None) -> dict[str, Any]:
    """The fields that make ``deadline`` the order's running deadline."""
    if deadline is None:
        return {
            "due_at": None,
            "due_started_at": None,
            "warn_at": None,
            "urgent_at": None,
            "deadline_level": DeadlineLevel.ON_TIME,
            "clock_paused_at": None,
        }
    return {
        "due_at": deadline.due_at,
        "due_started_at": deadline.started_at,
        "warn_at": deadline.warn_at,
        "urgent_at": deadline.urgent_at,
        "deadline_level": deadline.level_at(timezone.now()),
        "clock_paused_at": None,
    }


def _notify(
    *, order: WorkOrder, kind: str, title: str, units: Iterable[Unit] = (), roles: Sequence[str] = ()
) -> None:
    """Tell the units' staff and the centre roles, after commit (see hotline.notify)."""
    from hotline.workorders import notifications

    unit_ids = [u.pk for u in units]
    transaction.on_commit(
        lambda: notifications.order_notify(
            order_id=order.pk, kind=kind, title=title, unit_ids=unit_ids, roles=list(roles)
        )
    )


def _clean_attachments(files: Sequence[UploadedFile]) -> list[tuple[UploadedFile, str, str]]:
    """Check type and size of every file before anything is saved; (file, type, sha256)."""
    errors: list[str] = []
    cleaned = []
    for upload in files:
        name = upload.name or "file"
        ctype = (upload.content_type or "").split(";")[0].strip().lower()
        extensions = ATTACHMENT_TYPES.get(ctype)
        if extensions is None or not name.lower().endswith(extensions):
            errors.append(f"{name}: type {ctype or '?'} is not accepted")
            continue
        if (upload.size or 0) > ATTACHMENT_MAX_BYTES:
            errors.append(f"{name}: larger than {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB")
            continue
        digest = hashlib.sha256()
        head = b""
        for chunk in upload.chunks():
            if not head:
                head = chunk[:16]
            digest.update(chunk)
        if ctype in MAGIC and not head.startswith(MAGIC[ctype]):
            errors.append(f"{name}: the content is not {ctype}")
            continue
        upload.seek(0)
        cleaned.append((upload, ctype, digest.hexdigest()))
    if errors:
        raise ValidationFailed("Some attachments were refused.", fields={"attachments": errors})
    return cleaned


def _save_attachments(
    order: WorkOrder, files: list[tuple[UploadedFile, str, str]], *, actor: Any, event: OrderEvent | None
) -> list[Attachment]:
    saved = []
    for upload, ctype, sha in files:
        attachment = Attachment(
            order=order,
            event=event,
            name=(upload.name or "file")[:200],
            content_type=ctype,
            size=upload.size or 0,
            sha256=sha,
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        attachment.file.save(upload.name or "file", upload, save=False)
        attachment.save()
        saved.append(attachment)
    return saved


# --- Intake --------------------------------------------------------------------------------------


def _sequence_next_sql() -> str:
    """The statement that hands out the next sequence value of a day: an upsert, so that the first
    order of a day creates the day's row (two first orders at once do not collide: the second
    waits for the first and updates). The row stays locked until the transaction ends, so the
    numbers of a day are handed out one after another and a rolled-back intake leaves no gap."""
    table = DailySequence._meta.db_table
    return (
        f"INSERT INTO {table} (day, last) VALUES (%s, 1)"  # noqa: S608 - names from the model
        f" ON CONFLICT (day) DO UPDATE SET last = {table}.last + 1 RETURNING last"
    )


def _number(day: date, last: int) -> str:
    return f"{day:%Y%m%d}{last:05d}"


def order_number_next(*, at: datetime | None = None, cursor: CursorWrapper | None = None) -> str:
    """The next tracking number: the day in Asia/Shanghai and a 5-digit sequence (2026112100123).
    Call inside a transaction (``_sequence_next_sql``). One statement; through ``cursor`` when
    given."""
    day = timezone.localdate(at or timezone.now())
    if cursor is None:
        with connection.cursor() as own:
            return order_number_next(at=at, cursor=own)
    cursor.execute(_sequence_next_sql(), [connection.ops.adapt_datefield_value(day)])
    (last,) = cursor.fetchone()
    return _number(day, last)


@dataclass(frozen=True)
class Intake:
    """What the agent (or the portal, or a mailbox) took in."""

    channel: str
    request_type: RequestType
    title: str
    content: str
    citizen_name: str = ""
    citizen_phone: str = ""
    citizen_id_number: str = ""
    anonymous: bool = False
    confidential: bool = False
    address: str = ""
    region: Region | None = None
    category: Category | None = None
    urgency: str = "normal"
    complex_case: bool = False
    source_contact: str = ""


def _validate_intake(intake: Intake) -> None:
    errors: dict[str, list[str]] = {}
    if intake.channel not in Channel.values:
        errors["channel"] = ["unknown channel"]
    if not intake.title.strip():
        errors["title"] = ["required"]
    if not intake.content.strip():
        errors["content"] = ["required"]
    if intake.urgency not in Urgency.values:
        errors["urgency"] = ["unknown urgency"]
    # The request type and category are rows the caller loaded in this request (the forms and the
    # API load them by code): their ``active`` flag is current, no need to read them again.
    if not intake.request_type.active:
        errors["request_type"] = ["retired"]
    if intake.category is not None and not intake.category.active:
        errors["category"] = ["retired: choose an active category"]
    if not intake.anonymous and not intake.citizen_phone.strip() and intake.channel == Channel.PHONE:
        errors["citizen_phone"] = ["the caller's number is needed for a phone request"]
    if errors:
        raise ValidationFailed("The request is not complete.", fields=errors)


@dataclass(frozen=True)
class _Caller:
    """What intake reads before it writes."""

    citizen_id: int | None  # the caller's citizen profile (the latest with their phone)
    earlier: int  # their orders about the same category within the repeat window
    number: str  # the new order's tracking number
    # PostgreSQL: the keys of the new order and of a new profile, taken from their sequences
    order_id: int | None = None
    new_citizen_id: int | None = None


def _caller_lookup(intake: Intake, *, at: datetime, cursor: CursorWrapper) -> _Caller:
    """What intake needs to know before it writes: the caller's profile, how many of their orders
    about the same category arrived within the repeat window (for ``_repeat_check``), and the
    tracking number. Two statements; on PostgreSQL one, which also reserves the keys of the rows
    ``_take_in`` writes, so that those can go in one round trip (``pipelined``)."""
    phone = intake.citizen_phone.strip()
    day = timezone.localdate(at)
    citizens = Citizen._meta.db_table
    orders = WorkOrder._meta.db_table
    params: list[Any] = []
    profile = "NULL"
    if phone:
        profile = f"(SELECT id FROM {citizens} WHERE phone = %s ORDER BY updated_at DESC LIMIT 1)"  # noqa: S608
        params.append(phone)
    earlier = "0"
    if phone and intake.category is not None:
        earlier = (
            f"(SELECT COUNT(*) FROM {orders} WHERE citizen_phone = %s AND category_id = %s"  # noqa: S608
            " AND created_at >= %s AND state <> %s)"
        )
        since = connection.ops.adapt_datetimefield_value(at - timedelta(days=REPEAT_WINDOW_DAYS))
        params += [phone, intake.category.pk, since, OrderState.MERGED]
    if connection.vendor == "postgresql":
        new_profile = f"CASE WHEN caller.id IS NULL THEN {key_next_sql(Citizen)} END" if phone else "NULL"
        cursor.execute(
            f"WITH sequence AS ({_sequence_next_sql()}), caller AS (SELECT {profile} AS id)"  # noqa: S608
            f" SELECT caller.id, {earlier}, sequence.last, {key_next_sql(WorkOrder)}, {new_profile}"
            " FROM sequence, caller",
            [connection.ops.adapt_datefield_value(day), *params],
        )
        citizen_id, count, last, order_id, new_citizen_id = cursor.fetchone()
        return _Caller(citizen_id, int(count), _number(day, last), order_id, new_citizen_id)
    citizen_id, count = None, 0
    if phone:
        cursor.execute(f"SELECT {profile}, {earlier}", params)
        citizen_id, count = cursor.fetchone()
    return _Caller(citizen_id, int(count), order_number_next(at=at, cursor=cursor))


# The columns of the first history row that ``_take_in`` writes, in the order of its INSERT.
_INTAKE_EVENT_COLUMNS = (
    "order_id", "at", "actor_id", "actor_unit_id", "action", "from_state", "to_state", "round", "reason",
    "data", "visible_to_units",
)  # fmt: skip


def _take_in(
    intake: Intake,
    *,
    actor: Any,
    files: list[tuple[UploadedFile, str, str]],
    at: datetime,
    ip: str | None = None,
    portal: bool = False,
) -> tuple[WorkOrder, int]:
    """Write a new order, its first history row, its attachments and its audit row, and the
    caller's citizen profile with its own audit row when they are new. Returns the order and how
    many earlier orders of the same caller about the same category are in the repeat window.

    Intake is the platform's hottest write, so its rows are built as column values and sent
    through one cursor that prepares its statements on PostgreSQL (``statement_cursor``): the
    caller lookup with the tracking number (``_caller_lookup``), then the profile when new, the
    order, its history row and the audit rows in one insert. On PostgreSQL the rows' keys come
    with the lookup and the rows go in one round trip: BEGIN, the lookup, the rows and COMMIT
    (docs/performance.md, intake). The rows are what ``citizen_create``, ``_event`` and
    ``audit_record`` write."""
    staff = actor if getattr(actor, "is_authenticated", False) else None
    order = WorkOrder(
        state=OrderState.PENDING_DISPATCH,
        channel=intake.channel,
        request_type=intake.request_type,
        category=intake.category,
        urgency=intake.urgency,
        complex_case=intake.complex_case,
        title=intake.title.strip()[:200],
        content=intake.content.strip(),
        citizen_name=intake.citizen_name.strip(),
        citizen_phone=intake.citizen_phone.strip(),
        citizen_id_number=intake.citizen_id_number.strip().upper(),
        anonymous=intake.anonymous,
        confidential=intake.confidential,
        address=intake.address.strip(),
        region=intake.region,
        source_contact=intake.source_contact.strip(),
        created_by=staff,
        created_at=at,
        updated_at=at,
    )
    audits = []
    with statement_cursor() as cursor:
        caller = _caller_lookup(intake, at=at, cursor=cursor)
        order.pk, order.number, order.citizen_id = caller.order_id, caller.number, caller.citizen_id
        with pipelined(cursor):
            if order.citizen_id is None and order.citizen_phone:
                profile = citizen_row(
                    name=order.citizen_name,
                    phone=order.citizen_phone,
                    id_number=intake.citizen_id_number.strip(),
                    address=order.address,
                    region=intake.region,
                    at=timezone.now(),
                )
                order.citizen_id = insert_one(
                    cursor,
                    Citizen,
                    CITIZEN_COLUMNS,
                    [profile[c] for c in CITIZEN_COLUMNS],
                    pk=caller.new_citizen_id,
                )
                # as ``citizen_create`` records it: actor and address of the request
                audits.append(
                    audit_row(
                        action=AuditAction.CREATE,
                        object_type=Citizen._meta.label_lower,
                        object_id=str(order.citizen_id),
                        object_repr=profile["name"] or profile["phone"],
                        after=citizen_snapshot(profile, order.citizen_id),
                        at=profile["created_at"],
                    )
                )
            insert_instance(order, cursor=cursor)
            if not files:  # the row ``_event`` writes (with attachments it is written below)
                history = [
                    order.pk, at, order.created_by_id, getattr(actor, "unit_id", None), OrderAction.INTAKE,
                    "", order.state, order.round, "", {"portal": True} if portal else {}, True,
                ]  # fmt: skip
                insert_through(cursor, OrderEvent, _INTAKE_EVENT_COLUMNS, [history])
            audits.append(
                audit_row(
                    action=AuditAction.CREATE,
                    obj=order,
                    after={"number": order.number, "channel": order.channel, "state": order.state},
                    actor=actor,
                    ip=ip,
                    note="citizen portal" if portal else "",
                )
            )
            audit_rows_insert(audits, cursor=cursor)
    if files:  # the attachments point at the history row
        event = _event(
            order, action=OrderAction.INTAKE, actor=actor, to_state=order.state, at=at,
            data={"portal": True} if portal else None,
        )  # fmt: skip
        _save_attachments(order, files, actor=actor, event=event)
    else:
        orders_changed()  # the history row above did not go through ``_event``
    return order, caller.earlier


@transaction.atomic
def order_create(
    *,
    actor: Any,
    intake: Intake,
    attachments: Sequence[UploadedFile] = (),
    direct_answer: str | None = None,
    received_at: datetime | None = None,
) -> WorkOrder:
    """受理: take a request in. With ``direct_answer`` the agent answers it at once (直接办结) and the
    order is closed; otherwise it waits for dispatch."""
    _require(actor, "workorders.intake_workorder")
    _validate_intake(intake)
    files = _clean_attachments(attachments)
    order, earlier = _take_in(intake, actor=actor, files=files, at=received_at or timezone.now())
    if direct_answer is not None:
        order_close_at_intake(order=order, actor=actor, answer=_require_text(direct_answer, "direct_answer"))
    elif earlier + 1 >= REPEAT_REMINDER_AT:
        _repeat_check(order=order, actor=actor)
    return order


def order_close_at_intake(*, order: WorkOrder, actor: Any, answer: str) -> None:
    """直接办结 — the agent answered during the contact (e.g. from the knowledge base)."""
    if order.state != OrderState.PENDING_DISPATCH:
        raise Conflict("Only a new order can be answered at intake.", code="invalid_state")
    now = timezone.now()
    changed = WorkOrder.objects.filter(pk=order.pk, state=OrderState.PENDING_DISPATCH).update(
        state=OrderState.CLOSED,
        answer=answer,
        result=Result.EXPLAINED,
        answered_at=now,
        closed_at=now,
        closed_directly=True,
        updated_at=now,
    )
    if changed != 1:
        raise Conflict("Someone else changed the order first; reload it.", code="state_changed")
    order.refresh_from_db()
    _event(
        order,
        action=OrderAction.DIRECT_CLOSE,
        actor=actor,
        from_state=OrderState.PENDING_DISPATCH,
        to_state=OrderState.CLOSED,
        data={"answer": answer},
    )


def _repeat_check(*, order: WorkOrder, actor: Any) -> None:
    """The same citizen about the same category for the third time within 30 days: link the
    orders, and remind (催办) the units still handling an earlier one."""
    if not order.citizen_phone or order.category_id is None:
        return
    since = order.created_at - timedelta(days=REPEAT_WINDOW_DAYS)
    earlier = list(
        WorkOrder.objects.filter(
            citizen_phone=order.citizen_phone, category_id=order.category_id, created_at__gte=since
        )
        .exclude(pk=order.pk)
        .exclude(state=OrderState.MERGED)
        .order_by("created_at")
    )
    if len(earlier) + 1 < REPEAT_REMINDER_AT:
        return
    for other in earlier:
        _link(order, other, reason="repeat report")
    for other in earlier:
        if other.state in UNIT_STATES:  # a unit holds it: remind them
            order_supervise(
                order=other,
                actor=None,
                kind=SupervisionKind.REMIND,
                message=f"The citizen has reported this {len(earlier) + 1} times (latest {order.number}).",
                automatic=True,
            )


# --- Citizens (web portal) ------------------------------------------------------------------------


@transaction.atomic
def order_submit_by_citizen(
    *, intake: Intake, attachments: Sequence[UploadedFile] = (), address_ip: str | None = None
) -> WorkOrder:
    """A citizen's own request from the web portal (C1): no staff actor; the phone is required,
    since it is what the citizen tracks the order with."""
    if not intake.citizen_phone.strip():
        raise ValidationFailed(
            "Leave a phone number to track your request.", fields={"citizen_phone": ["required"]}
        )
    if intake.channel not in (Channel.WEB, Channel.APP, Channel.WECHAT):
        raise ValidationFailed("Unknown channel.", fields={"channel": ["web, app or wechat"]})
    if len(attachments) > CITIZEN_MAX_FILES:
        raise ValidationFailed("Too many photos.", fields={"attachments": [f"at most {CITIZEN_MAX_FILES}"]})
    not_images = [
        f.name or "?" for f in attachments if (f.content_type or "").split(";")[0] not in CITIZEN_TYPES
    ]
    if not_images:
        raise ValidationFailed("Only photos are accepted.", fields={"attachments": not_images})
    _validate_intake(intake)
    files = _clean_attachments(attachments)
    citizen_intake = dataclasses.replace(
        intake, urgency=Urgency.NORMAL, complex_case=False, citizen_id_number=""
    )
    order, earlier = _take_in(
        citizen_intake, actor=None, files=files, at=timezone.now(), ip=address_ip, portal=True
    )
    if earlier + 1 >= REPEAT_REMINDER_AT:
        _repeat_check(order=order, actor=None)
    return order


@transaction.atomic
def order_rate_by_citizen(
    *, order: WorkOrder, resolved: bool, satisfaction: str, comment: str = "", address_ip: str | None = None
) -> Revisit:
    """The citizen rates the answer on the portal: a revisit by web (回访, W10). Allowed once the
    centre has accepted the answer; unresolved or unsatisfied reopens the order."""
    if satisfaction not in Satisfaction.values:
        raise ValidationFailed("Choose how satisfied you are.", fields={"satisfaction": ["required"]})
    if order.state != OrderState.PENDING_REVISIT:
        raise Conflict("This request cannot be rated now.", code="invalid_state")
    unhappy = not resolved or satisfaction == Satisfaction.UNSATISFIED
    now = timezone.now()
    revisit = Revisit.objects.create(
        order=order, round=order.round, method=RevisitMethod.WEB, resolved=resolved,
        satisfaction=satisfaction, comment=comment.strip()[:2000], reopened=unhappy, by=None, at=now,
    )  # fmt: skip
    data = {"method": "web", "resolved": resolved, "satisfaction": satisfaction, "revisit": revisit.pk}
    audit_record(action=AuditAction.CREATE, obj=revisit, ip=address_ip, note="citizen portal rating")
    _revisit_outcome(order, revisit, actor=None, reopen=unhappy, comment=comment, data=data)
    return revisit


# --- Dispatch ------------------------------------------------------------------------------------


def _check_units(lead_unit: Unit, assist_units: Sequence[Unit]) -> None:
    errors: dict[str, list[str]] = {}
    if not lead_unit.active or lead_unit.kind == "centre":
        errors["lead_unit"] = ["choose an active handling unit"]
    bad = [u.code for u in assist_units if not u.active or u.kind == "centre" or u.pk == lead_unit.pk]
    if bad:
        errors["assist_units"] = [f"not usable: {', '.join(bad)}"]
    if len({u.pk for u in assist_units}) != len(assist_units):
        errors.setdefault("assist_units", []).append("listed twice")
    if errors:
        raise ValidationFailed("The units are not valid.", fields=errors)


def _assign(
    order: WorkOrder, *, actor: Any, lead_unit: Unit, assist_units: Sequence[Unit], now: datetime
) -> dict[str, Any]:
    """Create the assignments of a dispatch and return the order fields it sets."""
    sign = deadlines.for_step(step="sign", start=now, order=order)
    answer = deadlines.for_step(step="answer", start=now, order=order)
    Assignment.objects.bulk_create(
        [
            Assignment(
                order=order,
                unit=unit,
                role=role,
                state=AssignmentState.PENDING_SIGN,
                round=order.round,
                dispatched_at=now,
                dispatched_by=actor,
                sign_due_at=sign.due_at if sign else None,
            )
            for unit, role in [(lead_unit, AssignmentRole.LEAD)]
            + [(u, AssignmentRole.ASSIST) for u in assist_units]
        ]
    )
    return {
        "lead_unit": lead_unit,
        "dispatched_at": now,
        "answer_due_at": answer.due_at if answer else None,
        **_set_deadline(order, sign),
    }


def _withdraw_assignments(order: WorkOrder, *, state: str = AssignmentState.WITHDRAWN) -> list[Assignment]:
    """Close the order's active assignments in ``state``; returns them (with their units)."""
    active = list(order.assignments.filter(state__in=ACTIVE_ASSIGNMENT_STATES).select_related("unit"))
    order.assignments.filter(pk__in=[a.pk for a in active]).update(state=state, closed_at=timezone.now())
    return active


@transaction.atomic
def order_dispatch(
    *, order: WorkOrder, actor: Any, lead_unit: Unit, assist_units: Sequence[Unit] = (), note: str = ""
) -> WorkOrder:
    """派单 — send the order to a lead unit and any assisting units, at any level."""
    _require(actor, "workorders.dispatch_workorder")
    _check_units(lead_unit, assist_units)
    now = timezone.now()
    fields = _assign(order, actor=actor, lead_unit=lead_unit, assist_units=assist_units, now=now)
    _move(
        order,
        action=OrderAction.DISPATCH,
        actor=actor,
        reason=note,
        data={"lead": lead_unit.code, "assist": [u.code for u in assist_units]},
        **fields,
    )
    _notify(order=order, kind="order_new", title=order.title, units=[lead_unit, *assist_units])
    return order


# --- Sign and return -----------------------------------------------------------------------------


@transaction.atomic
def order_sign(*, order: WorkOrder, actor: Any) -> WorkOrder:
    """签收 — the lead unit takes the order on; the answer deadline starts to run."""
    _require(actor, "workorders.handle_workorder")
    assignment = _acting_assignment(order, actor, lead_only=True)
    now = timezone.now()
    answer = deadlines.existing(started_at=order.dispatched_at, due_at=order.answer_due_at, order=order)
    _move(order, action=OrderAction.SIGN, actor=actor, **_set_deadline(order, answer))
    Assignment.objects.filter(pk=assignment.pk).update(
        state=AssignmentState.SIGNED, signed_at=now, signed_by=actor
    )
    # assisting units sign with the lead
    order.assignments.filter(
        role=AssignmentRole.ASSIST, state=AssignmentState.PENDING_SIGN, round=order.round
    ).update(state=AssignmentState.SIGNED, signed_at=now)
    return order


@transaction.atomic
def order_return(*, order: WorkOrder, actor: Any, reason: str) -> WorkOrder:
    """退单 — the lead unit says the order is not theirs. The centre arbitrates; meanwhile the
    unit's clock stops."""
    _require(actor, "workorders.handle_workorder")
    text = _require_text(reason, "reason", "say why the order is not for your unit")
    _acting_assignment(order, actor, lead_only=True)
    _move(
        order,
        action=OrderAction.RETURN,
        actor=actor,
        reason=text,
        data={"returned_from": order.state},
        clock_paused_at=timezone.now(),
    )
    _notify(order=order, kind="order_returned", title=order.title, roles=[Role.DISPATCHER])
    return order


def _returned_from(order: WorkOrder) -> str:
    event = order.events.filter(action=OrderAction.RETURN).order_by("-id").first()
    return (
        (event.data or {}).get("returned_from", OrderState.PENDING_SIGN) if event else OrderState.PENDING_SIGN
    )


@transaction.atomic
def order_return_decide(
    *,
    order: WorkOrder,
    actor: Any,
    accept: bool,
    reason: str = "",
    new_lead_unit: Unit | None = None,
    assist_units: Sequence[Unit] = (),
) -> WorkOrder:
    """Arbitrate a return. Accepted: withdrawn from the unit and re-dispatched at once to
    ``new_lead_unit`` (改派), or back to the dispatch queue. Refused: back to the unit, whose
    deadline moves on by the time the arbitration took."""
    _require(actor, "workorders.dispatch_workorder")
    now = timezone.now()
    if accept:
        withdrawn = _withdraw_assignments(order, state=AssignmentState.RETURNED)
        old_units = [a.unit for a in withdrawn]
        returned = order.returned or any(a.role == AssignmentRole.LEAD for a in withdrawn)
        if new_lead_unit is not None:
            _check_units(new_lead_unit, assist_units)
            fields = _assign(order, actor=actor, lead_unit=new_lead_unit, assist_units=assist_units, now=now)
            _move(
                order,
                action=OrderAction.RETURN_ACCEPT,
                actor=actor,
                to=OrderState.PENDING_SIGN,
                reason=reason,
                data={"from": [u.code for u in old_units], "lead": new_lead_unit.code},
                returned=returned,
                **fields,
            )
            _notify(order=order, kind="order_new", title=order.title, units=[new_lead_unit, *assist_units])
        else:
            _move(
                order,
                action=OrderAction.RETURN_ACCEPT,
                actor=actor,
                to=OrderState.PENDING_DISPATCH,
                reason=reason,
                data={"from": [u.code for u in old_units]},
                returned=returned,
                lead_unit=None,
                answer_due_at=None,
                **_set_deadline(order, None),
            )
        return order
    text = _require_text(reason, "reason", "tell the unit why the order stays with them")
    back_to = _returned_from(order)
    paused_since = order.clock_paused_at or now
    shifted = deadlines.shift_for_pause(order=order, paused_from=paused_since, paused_to=now)
    answer_due = deadlines.shift_due(order.answer_due_at, paused_from=paused_since, paused_to=now)
    _move(
        order,
        action=OrderAction.RETURN_REFUSE,
        actor=actor,
        to=back_to,
        reason=text,
        answer_due_at=answer_due,
        **_set_deadline(order, shifted),
    )
    lead = _lead_assignment(order)
    if lead is not None and lead.signed_at is None and lead.sign_due_at is not None:
        # the unit's time to sign stood still too (the response rate counts signatures against it)
        lead.sign_due_at = deadlines.shift_due(lead.sign_due_at, paused_from=paused_since, paused_to=now)
        lead.save(update_fields=["sign_due_at"])
    _notify(order=order, kind="order_new", title=order.title, units=[lead.unit] if lead else [])
    return order


# --- Handling ------------------------------------------------------------------------------------


@transaction.atomic
def order_note(
    *, order: WorkOrder, actor: Any, text: str, attachments: Sequence[UploadedFile] = ()
) -> OrderEvent:
    """办理进展 — a progress note (with files) from a unit handling the order, or from the centre."""
    body = _require_text(text, "text")
    if order.state in TERMINAL_STATES:
        raise Conflict("The order is finished.", code="invalid_state")
    if getattr(actor, "role", None) not in CENTRE_ROLES:
        _require(actor, "workorders.handle_workorder")
        _acting_assignment(order, actor, lead_only=False)
    files = _clean_attachments(attachments)
    event = _event(order, action=OrderAction.NOTE, actor=actor, from_state=order.state, reason=body)
    _save_attachments(order, files, actor=actor, event=event)
    _touch(order)
    return event


@transaction.atomic
def extension_request(*, order: WorkOrder, actor: Any, working_days: int, reason: str) -> Extension:
    """延期申请 — the lead unit asks for more working days; the centre decides."""
    _require(actor, "workorders.handle_workorder")
    text = _require_text(reason, "reason")
    assignment = _acting_assignment(order, actor, lead_only=True)
    if order.state != OrderState.HANDLING:
        raise Conflict("Extensions are asked for while handling.", code="invalid_state")
    limit = deadlines.extension_limit_days(order=order)
    used = sum(order.extensions.filter(state=ExtensionState.APPROVED).values_list("working_days", flat=True))
    if working_days < 1 or used + working_days > limit:
        raise ValidationFailed(
            "Too many days.",
            fields={"working_days": [f"1 to {max(limit - used, 0)} more working days"]},
        )
    if order.extensions.filter(state=ExtensionState.PENDING).exists():
        raise Conflict("An extension request is already waiting.", code="extension_pending")
    extension = Extension.objects.create(
        order=order, unit=assignment.unit, working_days=working_days, reason=text, requested_by=actor
    )
    _event(
        order,
        action=OrderAction.EXTENSION_REQUEST,
        actor=actor,
        from_state=order.state,
        reason=text,
        data={"working_days": working_days, "extension": extension.pk},
    )
    _touch(order)
    _notify(order=order, kind="extension_requested", title=order.title, roles=[Role.DISPATCHER])
    return extension


@transaction.atomic
def extension_decide(*, extension: Extension, actor: Any, approve: bool, note: str = "") -> Extension:
    """The centre approves (the answer deadline moves) or refuses an extension request."""
    _require(actor, "workorders.dispatch_workorder")
    order = extension.order
    now = timezone.now()
    changed = Extension.objects.filter(pk=extension.pk, state=ExtensionState.PENDING).update(
        state=ExtensionState.APPROVED if approve else ExtensionState.REFUSED,
        decided_by=actor,
        decided_at=now,
        decision_note=note[:500],
    )
    if changed != 1:
        raise Conflict("The request was already decided.", code="state_changed")
    extension.refresh_from_db()
    data: dict[str, Any] = {"extension": extension.pk, "working_days": extension.working_days}
    if approve:
        fields: dict[str, Any] = {"extended": True}
        if order.answer_due_at is not None:
            new_due = deadlines.extend(due_at=order.answer_due_at, working_days=extension.working_days)
            Extension.objects.filter(pk=extension.pk).update(
                old_due_at=order.answer_due_at, new_due_at=new_due
            )
            data.update(old_due_at=order.answer_due_at.isoformat(), new_due_at=new_due.isoformat())
            answer = deadlines.existing(started_at=order.dispatched_at, due_at=new_due, order=order)
            fields["answer_due_at"] = new_due
            if order.state == OrderState.HANDLING:
                fields.update(_set_deadline(order, answer))
        _touch(order, **fields)
    _event(
        order,
        action=OrderAction.EXTENSION_APPROVE if approve else OrderAction.EXTENSION_REFUSE,
        actor=actor,
        from_state=order.state,
        reason=note,
        data=data,
    )
    _notify(order=order, kind="extension_decided", title=order.title, units=[extension.unit])
    return extension


@transaction.atomic
def order_answer(
    *, order: WorkOrder, actor: Any, result: str, answer: str, attachments: Sequence[UploadedFile] = ()
) -> WorkOrder:
    """办理结果 — the lead unit answers; the centre reviews it."""
    _require(actor, "workorders.handle_workorder")
    if result not in Result.values:
        raise ValidationFailed("Choose a result.", fields={"result": ["resolved, unresolved or explained"]})
    text = _require_text(answer, "answer")
    assignment = _acting_assignment(order, actor, lead_only=True)
    files = _clean_attachments(attachments)
    now = timezone.now()
    overdue = bool(order.answer_due_at and now > order.answer_due_at)
    review = deadlines.for_step(step="review", start=now, order=order)
    event = _move(
        order,
        action=OrderAction.ANSWER,
        actor=actor,
        reason=text,
        data={"result": result, "overdue": overdue},
        result=result,
        answer=text,
        answered_at=now,
        was_overdue=order.was_overdue or overdue,
        unit_overdue=order.unit_overdue or overdue,
        **_set_deadline(order, review),
    )
    _save_attachments(order, files, actor=actor, event=event)
    Assignment.objects.filter(pk=assignment.pk).update(state=AssignmentState.ANSWERED)
    return order


# --- Review, revisit, close ----------------------------------------------------------------------


@transaction.atomic
def order_review(*, order: WorkOrder, actor: Any, accept: bool, reason: str = "") -> WorkOrder:
    """审核 — the centre accepts the answer (on to revisit) or sends it back to the unit."""
    _require(actor, "workorders.review_workorder")
    now = timezone.now()
    if accept:
        revisit = deadlines.for_step(step="revisit", start=now, order=order)
        _move(
            order,
            action=OrderAction.REVIEW_ACCEPT,
            actor=actor,
            reason=reason,
            **_set_deadline(order, revisit),
        )
        return order
    text = _require_text(reason, "reason", "tell the unit what is missing")
    lead = (
        order.assignments.filter(role=AssignmentRole.LEAD, state=AssignmentState.ANSWERED, round=order.round)
        .order_by("-id")
        .first()
    )
    if lead is not None:
        Assignment.objects.filter(pk=lead.pk).update(state=AssignmentState.SIGNED)
    answer = deadlines.existing(started_at=order.dispatched_at, due_at=order.answer_due_at, order=order)
    _move(order, action=OrderAction.REVIEW_REJECT, actor=actor, reason=text, **_set_deadline(order, answer))
    _notify(order=order, kind="order_answer", title=order.title, units=[lead.unit] if lead else [])
    return order


@transaction.atomic
def order_revisit(
    *,
    order: WorkOrder,
    actor: Any,
    method: str,
    resolved: bool | None,
    satisfaction: str = "",
    comment: str = "",
    reopen: bool | None = None,
) -> Revisit:
    """回访 — ask the citizen. Resolved and satisfied (or basically) closes the order; otherwise
    the centre may reopen it for a new round (二次派单, the default) or close it as it is."""
    _require(actor, "workorders.review_workorder")
    if method not in RevisitMethod.values:
        raise ValidationFailed("Unknown revisit method.", fields={"method": ["unknown"]})
    if method != RevisitMethod.UNREACHABLE and satisfaction not in Satisfaction.values:
        raise ValidationFailed("Record the citizen's satisfaction.", fields={"satisfaction": ["required"]})
    unhappy = resolved is False or satisfaction == Satisfaction.UNSATISFIED
    do_reopen = unhappy if reopen is None else (reopen and unhappy)
    now = timezone.now()
    revisit = Revisit.objects.create(
        order=order,
        round=order.round,
        method=method,
        resolved=resolved,
        satisfaction=satisfaction,
        comment=comment,
        reopened=do_reopen,
        by=actor,
        at=now,
    )
    data = {"method": method, "resolved": resolved, "satisfaction": satisfaction, "revisit": revisit.pk}
    _revisit_outcome(order, revisit, actor=actor, reopen=do_reopen, comment=comment, data=data)
    return revisit


def _revisit_outcome(
    order: WorkOrder, revisit: Revisit, *, actor: Any, reopen: bool, comment: str, data: dict[str, Any]
) -> None:
    """Close the order after a revisit, or reopen it for a new round (二次派单). The order keeps
    the answers of its latest revisit, and whether any revisit reached the citizen."""
    answers = {
        "satisfaction": revisit.satisfaction,
        "resolved": revisit.resolved,
        "revisited": order.revisited or revisit.method != RevisitMethod.UNREACHABLE,
    }
    if reopen:
        _move(
            order, action=OrderAction.REVISIT, actor=actor, to=OrderState.PENDING_DISPATCH, reason=comment,
            data={**data, "reopened": True}, round=order.round + 1, lead_unit=None, answer_due_at=None,
            **answers, **_set_deadline(order, None),
        )  # fmt: skip
    else:
        _move(
            order, action=OrderAction.REVISIT, actor=actor, to=OrderState.CLOSED, reason=comment, data=data,
            closed_at=timezone.now(), **answers, **_set_deadline(order, None),
        )  # fmt: skip


@transaction.atomic
def order_close(*, order: WorkOrder, actor: Any, reason: str) -> WorkOrder:
    """办结 without a revisit (e.g. the citizen asked not to be called)."""
    _require(actor, "workorders.review_workorder")
    text = _require_text(reason, "reason")
    _move(
        order,
        action=OrderAction.CLOSE,
        actor=actor,
        reason=text,
        closed_at=timezone.now(),
        **_set_deadline(order, None),
    )
    return order


@transaction.atomic
def order_cancel(*, order: WorkOrder, actor: Any, reason: str) -> WorkOrder:
    """撤销 — a duplicate entry, a request withdrawn by the citizen, a test call…"""
    _require(actor, "workorders.review_workorder")
    text = _require_text(reason, "reason")
    units = [a.unit for a in _withdraw_assignments(order)]
    _move(order, action=OrderAction.CANCEL, actor=actor, reason=text, **_set_deadline(order, None))
    if units:
        _notify(order=order, kind="order_cancelled", title=order.title, units=units)
    return order


@transaction.atomic
def order_reopen(*, order: WorkOrder, actor: Any, reason: str) -> WorkOrder:
    """重启 — a closed order goes back to dispatch for a new round."""
    _require(actor, "workorders.review_workorder")
    text = _require_text(reason, "reason")
    _move(
        order,
        action=OrderAction.REOPEN,
        actor=actor,
        reason=text,
        round=order.round + 1,
        closed_at=None,
        lead_unit=None,
        answer_due_at=None,
        **_set_deadline(order, None),
    )
    return order


# --- Duplicates ----------------------------------------------------------------------------------


def _link(a: WorkOrder, b: WorkOrder, *, reason: str) -> bool:
    low, high = (a, b) if a.pk < b.pk else (b, a)
    _, created = OrderLink.objects.get_or_create(a=low, b=high, defaults={"reason": reason[:200]})
    return created


@transaction.atomic
def order_link(*, order: WorkOrder, other: WorkOrder, actor: Any, reason: str = "") -> None:
    """关联 — mark two orders as about the same problem."""
    _require(actor, "workorders.review_workorder")
    if order.pk == other.pk:
        raise ValidationFailed("An order cannot be linked to itself.", fields={"other": ["same order"]})
    if _link(order, other, reason=reason):
        for one, two in ((order, other), (other, order)):
            _event(
                one, action=OrderAction.LINK, actor=actor, from_state=one.state, data={"other": two.number}
            )


@transaction.atomic
def order_merge(*, order: WorkOrder, into: WorkOrder, actor: Any, reason: str) -> WorkOrder:
    """并单 — fold ``order`` into the main order ``into``. Both histories stay; the merged order
    ends (state ``merged``) and points at the main one."""
    _require(actor, "workorders.review_workorder")
    text = _require_text(reason, "reason")
    if order.pk == into.pk or into.merged_into_id == order.pk:
        raise ValidationFailed("Choose another main order.", fields={"into": ["same order"]})
    if into.state in TERMINAL_STATES and into.state != OrderState.CLOSED:
        raise ValidationFailed("The main order has ended.", fields={"into": [into.state]})
    _withdraw_assignments(order)
    _move(
        order,
        action=OrderAction.MERGE,
        actor=actor,
        reason=text,
        data={"into": into.number},
        merged_into=into,
        **_set_deadline(order, None),
    )
    _link(order, into, reason="merged")
    _event(
        into,
        action=OrderAction.MERGED_IN,
        actor=actor,
        from_state=into.state,
        reason=text,
        data={"order": order.number},
    )
    _touch(into)
    return order


# --- Supervision and instructions ----------------------------------------------------------------


@transaction.atomic
def order_supervise(
    *,
    order: WorkOrder,
    actor: Any,
    kind: str,
    message: str,
    working_days: int | None = None,
    escalate_to: Any = None,
    automatic: bool = False,
) -> Supervision:
    """督办 (a formal notice with its own deadline) or 催办 (a reminder) to the units handling the
    order; optionally escalated to a leader."""
    if not automatic:
        _require(actor, "workorders.supervise_workorder")
    if kind not in SupervisionKind.values:
        raise ValidationFailed("Unknown kind.", fields={"kind": ["supervise or remind"]})
    text = _require_text(message, "message")
    if order.state in TERMINAL_STATES:
        raise Conflict("The order is finished.", code="invalid_state")
    if escalate_to is not None and getattr(escalate_to, "role", None) != Role.LEADER:
        raise ValidationFailed("Escalate to a leader.", fields={"escalate_to": ["not a leader"]})
    now = timezone.now()
    due = None
    if kind == SupervisionKind.SUPERVISE:
        deadline = deadlines.for_step(step="supervise", start=now, order=order, working_days=working_days)
        due = deadline.due_at if deadline else None
    supervision = Supervision.objects.create(
        order=order, kind=kind, message=text, by=actor, automatic=automatic, at=now, due_at=due,
        escalated_to=escalate_to,
    )  # fmt: skip
    _event(
        order,
        action=OrderAction.SUPERVISE if kind == SupervisionKind.SUPERVISE else OrderAction.REMIND,
        actor=actor,
        from_state=order.state,
        reason=text,
        data={
            "supervision": supervision.pk,
            "due_at": due.isoformat() if due else None,
            "automatic": automatic,
        },
    )
    if kind == SupervisionKind.SUPERVISE:
        _touch(order, supervised=True)
    units = [
        a.unit for a in order.assignments.filter(state__in=ACTIVE_ASSIGNMENT_STATES).select_related("unit")
    ]
    _notify(order=order, kind=f"order_{'supervised' if kind == SupervisionKind.SUPERVISE else 'reminded'}",
            title=order.title, units=units)  # fmt: skip
    if escalate_to is not None:
        _event(
            order,
            action=OrderAction.ESCALATE,
            actor=actor,
            from_state=order.state,
            data={"leader": escalate_to.username},
        )
        from hotline.workorders import notifications

        leader_id = escalate_to.pk
        transaction.on_commit(lambda: notifications.leader_notify(order_id=order.pk, leader_id=leader_id))
    return supervision


@transaction.atomic
def order_instruct(*, order: WorkOrder, actor: Any, text: str) -> Instruction:
    """批示 — a leader's instruction, shown to every unit handling the order."""
    _require(actor, "workorders.instruct_workorder")
    body = _require_text(text, "text")
    if not DataScope.for_user(actor).everything:
        from .selectors import orders_visible_to

        if not orders_visible_to(actor).filter(pk=order.pk).exists():
            raise Forbidden("The order is outside your area.")
    instruction = Instruction.objects.create(order=order, leader=actor, text=body)
    _event(order, action=OrderAction.INSTRUCT, actor=actor, from_state=order.state, reason=body)
    _touch(order)
    units = [
        a.unit for a in order.assignments.filter(state__in=ACTIVE_ASSIGNMENT_STATES).select_related("unit")
    ]
    _notify(order=order, kind="order_instruction", title=order.title, units=units)
    return instruction
