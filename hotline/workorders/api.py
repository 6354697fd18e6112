"""Work-order API: every step of the loop, one operation each, under ``/api/v1/workorders``.

An order is addressed by its tracking number. An order outside the caller's scope is 404; a step
not allowed in the order's state is 409 ``invalid_state``; a step someone else took first is 409
``state_changed``; bad input is 422 with the fields. Nothing is half-saved: each step is one
transaction.
"""

from datetime import datetime

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from hotline.accounts.models import User
from hotline.core.api import public, requires
from hotline.core.errors import ValidationFailed
from hotline.core.masking import mask_name
from hotline.orgs.models import Region, Unit
from hotline.orgs.selectors import duty_resolve
from hotline.taxonomy.models import Category, RequestType

from . import services
from .models import Extension, WorkOrder
from .selectors import OrderFilter, citizen_fields, history_for, orders_filter, orders_visible_to
from .states import actions_from

router = Router()


# --- Schemas -------------------------------------------------------------------------------------


class UnitRef(Schema):
    code: str
    name: str


class OrderSummary(Schema):
    number: str
    state: str
    state_label: str
    round: int
    channel: str
    request_type: str
    category: str | None
    urgency: str
    title: str
    region: str | None
    lead_unit: UnitRef | None
    created_at: datetime
    due_at: datetime | None
    answer_due_at: datetime | None
    deadline_level: int
    supervised: bool


class EventOut(Schema):
    at: datetime
    action: str
    action_label: str
    actor: str | None
    unit: str | None
    from_state: str
    to_state: str
    reason: str
    data: dict


class AssignmentOut(Schema):
    unit: UnitRef
    role: str
    state: str
    round: int
    dispatched_at: datetime
    sign_due_at: datetime | None
    signed_at: datetime | None


class OrderDetail(OrderSummary):
    content: str
    address: str
    citizen_name: str
    citizen_phone: str
    citizen_id_number: str
    citizen_masked: bool
    anonymous: bool
    confidential: bool
    result: str
    answer: str
    answered_at: datetime | None
    satisfaction: str
    closed_at: datetime | None
    merged_into: str | None
    assignments: list[AssignmentOut]
    history: list[EventOut]
    instructions: list[str]
    next_actions: list[str]


class OrderIn(Schema):
    channel: str
    request_type: str
    title: str
    content: str
    category: str | None = None
    region: str | None = None
    address: str = ""
    citizen_name: str = ""
    citizen_phone: str = ""
    citizen_id_number: str = ""
    anonymous: bool = False
    confidential: bool = False
    urgency: str = "normal"
    complex_case: bool = False
    source_contact: str = ""
    direct_answer: str | None = None


class DispatchIn(Schema):
    lead_unit: str
    assist_units: list[str] = []
    note: str = ""


class SuggestionOut(Schema):
    unit: UnitRef | None
    matched_category: str | None
    matched_region: str | None


class ReasonIn(Schema):
    reason: str = ""


class ReturnDecisionIn(Schema):
    accept: bool
    reason: str = ""
    new_lead_unit: str | None = None
    assist_units: list[str] = []


class NoteIn(Schema):
    text: str


class ExtensionIn(Schema):
    working_days: int
    reason: str


class ExtensionOut(Schema):
    id: int
    state: str
    working_days: int
    new_due_at: datetime | None


class DecisionIn(Schema):
    approve: bool
    note: str = ""


class AnswerIn(Schema):
    result: str
    answer: str


class ReviewIn(Schema):
    accept: bool
    reason: str = ""


class RevisitIn(Schema):
    method: str
    resolved: bool | None = None
    satisfaction: str = ""
    comment: str = ""
    reopen: bool | None = None


class MergeIn(Schema):
    into: str
    reason: str


class LinkIn(Schema):
    other: str
    reason: str = ""


class SuperviseIn(Schema):
    kind: str = "supervise"
    message: str
    working_days: int | None = None
    escalate_to: str | None = None


class InstructIn(Schema):
    text: str


class TrackOut(Schema):
    number: str
    state: str
    state_label: str
    title: str
    created_at: datetime
    answered_at: datetime | None
    answer: str
    citizen_name: str


# --- Helpers -------------------------------------------------------------------------------------


def _order(request: HttpRequest, number: str) -> WorkOrder:
    return get_object_or_404(orders_visible_to(request.user).select_related("lead_unit"), number=number)


def _by_code(model, code: str | None, field: str):  # type: ignore[no-untyped-def]
    if not code:
        return None
    obj = model.objects.filter(code=code).first()
    if obj is None:
        raise ValidationFailed("Unknown code.", fields={field: [f"unknown code {code}"]})
    return obj


def _units(codes: list[str], field: str) -> list[Unit]:
    return [_by_code(Unit, code, field) for code in codes]


def _summary(order: WorkOrder) -> dict:
    return {
        "number": order.number,
        "state": order.state,
        "state_label": str(order.get_state_display()),
        "round": order.round,
        "channel": order.channel,
        "request_type": order.request_type.code,
        "category": order.category.code if order.category_id else None,  # type: ignore[union-attr]
        "urgency": order.urgency,
        "title": order.title,
        "region": order.region.code if order.region_id else None,  # type: ignore[union-attr]
        "lead_unit": order.lead_unit,
        "created_at": order.created_at,
        "due_at": order.due_at,
        "answer_due_at": order.answer_due_at,
        "deadline_level": order.deadline_level,
        "supervised": order.supervised,
    }


def _detail(request: HttpRequest, order: WorkOrder) -> dict:
    events = [
        {
            "at": e.at,
            "action": e.action,
            "action_label": str(e.get_action_display()),
            "actor": e.actor.display_name if e.actor else None,
            "unit": e.actor_unit.name if e.actor_unit else None,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "reason": e.reason,
            "data": e.data,
        }
        for e in history_for(order=order, user=request.user)
    ]
    return {
        **_summary(order),
        **citizen_fields(order=order, user=request.user, audit=True),
        "content": order.content,
        "address": order.address,
        "anonymous": order.anonymous,
        "confidential": order.confidential,
        "result": order.result,
        "answer": order.answer,
        "answered_at": order.answered_at,
        "satisfaction": order.satisfaction,
        "closed_at": order.closed_at,
        "merged_into": order.merged_into.number if order.merged_into_id else None,  # type: ignore[union-attr]
        "assignments": list(order.assignments.select_related("unit")),
        "history": events,
        "instructions": [i.text for i in order.instructions.order_by("at")],
        "next_actions": actions_from(order.state),
    }


def _fresh(order: WorkOrder) -> dict:
    """The order as it is now, with what its summary shows loaded in the same query."""
    return _summary(
        WorkOrder.objects.select_related("request_type", "category", "region", "lead_unit").get(pk=order.pk)
    )


# --- Intake and reading --------------------------------------------------------------------------


@router.post("", response={201: OrderSummary})
@requires("workorders.intake_workorder")
def order_create(request: HttpRequest, payload: OrderIn):  # type: ignore[no-untyped-def]
    """受理 — take a request in (``direct_answer`` closes it at once: 直接办结)."""
    request_type = RequestType.objects.filter(code=payload.request_type).first()
    if request_type is None:
        raise ValidationFailed("Unknown request type.", fields={"request_type": ["unknown code"]})
    intake = services.Intake(
        channel=payload.channel,
        request_type=request_type,
        title=payload.title,
        content=payload.content,
        category=_by_code(Category, payload.category, "category"),
        region=_by_code(Region, payload.region, "region"),
        address=payload.address,
        citizen_name=payload.citizen_name,
        citizen_phone=payload.citizen_phone,
        citizen_id_number=payload.citizen_id_number,
        anonymous=payload.anonymous,
        confidential=payload.confidential,
        urgency=payload.urgency,
        complex_case=payload.complex_case,
        source_contact=payload.source_contact,
    )
    order = services.order_create(actor=request.user, intake=intake, direct_answer=payload.direct_answer)
    if payload.direct_answer is not None:
        return Status(201, _fresh(order))
    # a new order: its type, category and region are the rows loaded above, it has no unit yet
    return Status(201, _summary(order))


@router.get("", response=list[OrderSummary])
@requires("workorders.view_workorder")
@paginate(LimitOffsetPagination)
def order_list(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    state: str | None = None,
    unit: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    number: str | None = None,
    phone: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    deadline_level: int | None = None,
    q: str | None = None,
):
    """Orders in the caller's scope, newest first, filtered."""
    qs: QuerySet[WorkOrder] = orders_visible_to(request.user).select_related(
        "lead_unit", "request_type", "category", "region"
    )
    qs = orders_filter(
        qs,
        OrderFilter(
            states=tuple(filter(None, (state or "").split(","))),
            unit_code=unit or "",
            category_code=category or "",
            channel=channel or "",
            number=number or "",
            phone=phone or "",
            since=since,
            until=until,
            deadline_level=deadline_level,
            q=q or "",
        ),
    )
    return [_summary(o) for o in qs.order_by("-created_at", "-id")]


@router.get("/track", response=TrackOut, auth=None)
@public
def order_track(request: HttpRequest, number: str, phone: str):  # type: ignore[no-untyped-def]
    """For citizens: the state of an order, given its tracking number and the phone it was made
    with. Anything else is 404, so numbers cannot be probed."""
    order = WorkOrder.objects.filter(number=number.strip(), citizen_phone=phone.strip()).first()
    if order is None or not phone.strip():
        raise Http404
    return {
        "number": order.number,
        "state": order.state,
        "state_label": str(order.get_state_display()),
        "title": order.title,
        "created_at": order.created_at,
        "answered_at": order.answered_at if order.state in ("pending_revisit", "closed") else None,
        "answer": order.answer if order.state in ("pending_revisit", "closed") else "",
        "citizen_name": mask_name(order.citizen_name),
    }


@router.get("/{number}", response=OrderDetail)
@requires("workorders.view_workorder")
def order_detail(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    """One order with its timeline. Reading an unmasked phone or ID number is audited."""
    return _detail(request, _order(request, number))


@router.get("/{number}/suggest-unit", response=SuggestionOut)
@requires("workorders.dispatch_workorder")
def order_suggest_unit(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    """The unit the duty list (权责清单) names for the order's category and region."""
    order = _order(request, number)
    if order.category is None or order.region is None:
        return {"unit": None, "matched_category": None, "matched_region": None}
    duty = duty_resolve(category=order.category, region=order.region)
    if duty is None:
        return {"unit": None, "matched_category": None, "matched_region": None}
    return {"unit": duty.unit, "matched_category": duty.category.code, "matched_region": duty.region.code}


# --- The loop ------------------------------------------------------------------------------------


@router.post("/{number}/dispatch", response=OrderSummary)
@requires("workorders.dispatch_workorder")
def order_dispatch(request: HttpRequest, number: str, payload: DispatchIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    lead = _by_code(Unit, payload.lead_unit, "lead_unit")
    services.order_dispatch(
        order=order,
        actor=request.user,
        lead_unit=lead,
        assist_units=_units(payload.assist_units, "assist_units"),
        note=payload.note,
    )
    return _fresh(order)


@router.post("/{number}/sign", response=OrderSummary)
@requires("workorders.handle_workorder")
def order_sign(request: HttpRequest, number: str):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_sign(order=order, actor=request.user)
    return _fresh(order)


@router.post("/{number}/return", response=OrderSummary)
@requires("workorders.handle_workorder")
def order_return(request: HttpRequest, number: str, payload: ReasonIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_return(order=order, actor=request.user, reason=payload.reason)
    return _fresh(order)


@router.post("/{number}/return-decision", response=OrderSummary)
@requires("workorders.dispatch_workorder")
def order_return_decide(request: HttpRequest, number: str, payload: ReturnDecisionIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_return_decide(
        order=order,
        actor=request.user,
        accept=payload.accept,
        reason=payload.reason,
        new_lead_unit=_by_code(Unit, payload.new_lead_unit, "new_lead_unit"),
        assist_units=_units(payload.assist_units, "assist_units"),
    )
    return _fresh(order)


@router.post("/{number}/notes", response={201: OrderSummary})
@requires("workorders.view_workorder")
def order_note(request: HttpRequest, number: str, payload: NoteIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_note(order=order, actor=request.user, text=payload.text)
    return Status(201, _fresh(order))


@router.post("/{number}/attachments", response={201: OrderSummary})
@requires("workorders.view_workorder")
def order_attach(request: HttpRequest, number: str, text: str = "", files: list[UploadedFile] = File(...)):  # type: ignore[no-untyped-def]  # noqa: B008
    """A progress note with files (photos, documents), type- and size-checked."""
    order = _order(request, number)
    services.order_note(order=order, actor=request.user, text=text or "附件", attachments=files)
    return Status(201, _fresh(order))


@router.post("/{number}/extensions", response={201: ExtensionOut})
@requires("workorders.handle_workorder")
def extension_request(request: HttpRequest, number: str, payload: ExtensionIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    extension = services.extension_request(
        order=order, actor=request.user, working_days=payload.working_days, reason=payload.reason
    )
    return Status(201, extension)


@router.post("/extensions/{extension_id}/decision", response=ExtensionOut)
@requires("workorders.dispatch_workorder")
def extension_decide(request: HttpRequest, extension_id: int, payload: DecisionIn):  # type: ignore[no-untyped-def]
    extension = get_object_or_404(Extension.objects.select_related("order"), pk=extension_id)
    return services.extension_decide(
        extension=extension, actor=request.user, approve=payload.approve, note=payload.note
    )


@router.post("/{number}/answer", response=OrderSummary)
@requires("workorders.handle_workorder")
def order_answer(request: HttpRequest, number: str, payload: AnswerIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_answer(order=order, actor=request.user, result=payload.result, answer=payload.answer)
    return _fresh(order)


@router.post("/{number}/review", response=OrderSummary)
@requires("workorders.review_workorder")
def order_review(request: HttpRequest, number: str, payload: ReviewIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_review(order=order, actor=request.user, accept=payload.accept, reason=payload.reason)
    return _fresh(order)


@router.post("/{number}/revisit", response=OrderSummary)
@requires("workorders.review_workorder")
def order_revisit(request: HttpRequest, number: str, payload: RevisitIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_revisit(
        order=order,
        actor=request.user,
        method=payload.method,
        resolved=payload.resolved,
        satisfaction=payload.satisfaction,
        comment=payload.comment,
        reopen=payload.reopen,
    )
    return _fresh(order)


@router.post("/{number}/close", response=OrderSummary)
@requires("workorders.review_workorder")
def order_close(request: HttpRequest, number: str, payload: ReasonIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_close(order=order, actor=request.user, reason=payload.reason)
    return _fresh(order)


@router.post("/{number}/cancel", response=OrderSummary)
@requires("workorders.review_workorder")
def order_cancel(request: HttpRequest, number: str, payload: ReasonIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_cancel(order=order, actor=request.user, reason=payload.reason)
    return _fresh(order)


@router.post("/{number}/reopen", response=OrderSummary)
@requires("workorders.review_workorder")
def order_reopen(request: HttpRequest, number: str, payload: ReasonIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_reopen(order=order, actor=request.user, reason=payload.reason)
    return _fresh(order)


@router.post("/{number}/merge", response=OrderSummary)
@requires("workorders.review_workorder")
def order_merge(request: HttpRequest, number: str, payload: MergeIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    into = _order(request, payload.into)
    services.order_merge(order=order, into=into, actor=request.user, reason=payload.reason)
    return _fresh(order)


@router.post("/{number}/link", response=OrderSummary)
@requires("workorders.review_workorder")
def order_link(request: HttpRequest, number: str, payload: LinkIn):  # type: ignore[no-untyped-def]
    order = _order(request, number)
    services.order_link(
        order=order, other=_order(request, payload.other), actor=request.user, reason=payload.reason
    )
    return _fresh(order)


@router.post("/{number}/supervise", response={201: OrderSummary})
@requires("workorders.supervise_workorder")
def order_supervise(request: HttpRequest, number: str, payload: SuperviseIn):  # type: ignore[no-untyped-def]
    """督办 (``kind=supervise``) or 催办 (``kind=remind``), optionally escalated to a leader."""
    order = _order(request, number)
    leader = None
    if payload.escalate_to:
        leader = User.objects.filter(username=payload.escalate_to, is_active=True).first()
        if leader is None:
            raise ValidationFailed("Unknown leader.", fields={"escalate_to": ["unknown user"]})
    services.order_supervise(
        order=order,
        actor=request.user,
        kind=payload.kind,
        message=payload.message,
        working_days=payload.working_days,
        escalate_to=leader,
    )
    return Status(201, _fresh(order))


class RemindIn(Schema):
    message: str
    escalate_to: str | None = None


@router.post("/{number}/remind", response={201: OrderSummary})
@requires("workorders.supervise_workorder")
def order_remind(request: HttpRequest, number: str, payload: RemindIn):  # type: ignore[no-untyped-def]
    """催办 — a reminder to the units handling the order (no deadline of its own)."""
    return order_supervise(
        request, number, SuperviseIn(kind="remind", message=payload.message, escalate_to=payload.escalate_to)
    )


@router.post("/{number}/instruct", response={201: OrderSummary})
@requires("workorders.instruct_workorder")
def order_instruct(request: HttpRequest, number: str, payload: InstructIn):  # type: ignore[no-untyped-def]
    """批示 — a leader's instruction, shown to the units handling the order."""
    order = _order(request, number)
    services.order_instruct(order=order, actor=request.user, text=payload.text)
    return Status(201, _fresh(order))
