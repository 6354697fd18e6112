"""Contact-centre API under ``/api/v1/callcenter``: queues, flows, hotline numbers, lists,
emergency numbers, voicemails, callbacks, call records and statistics.

One operation per endpoint, each with its permission. Errors follow the rest of the API
(``{"code", "message", "fields"}``); an invalid flow is 422 ``invalid_flow`` with ``errors``, the
list of every problem (``node``, ``field``, ``code``, ``message``). Callers' numbers are masked
for roles without ``citizens.view_personal_data``; a response that shows them unmasked writes one
audit row.
"""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate

from hotline.accounts.models import User
from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record
from hotline.core.api import requires
from hotline.core.errors import Forbidden, ValidationFailed
from hotline.core.masking import mask_phone
from hotline.orgs.models import Region
from hotline.taxonomy.models import Category, RequestType

from . import services
from .choices import CallbackState, ListKind, VoicemailState
from .models import (
    CallbackRequest,
    CallRecord,
    EmergencyNumber,
    HotlineNumber,
    IvrFlow,
    ListEntry,
    Queue,
    Voicemail,
)
from .selectors import AgentStats, CallFilter, QueueStats, agent_stats, call_records_filter, queue_stats

router = Router()

MAX_STATS_SPAN = timedelta(days=31)
PERSONAL = "citizens.view_personal_data"


# --- Schemas -------------------------------------------------------------------------------------


class MemberOut(Schema):
    agent_id: int
    username: str
    name: str
    level: int


class QueueOut(Schema):
    code: str
    name: str
    strategy: str
    ring_timeout_s: int
    wrap_up_s: int
    max_wait_s: int
    max_wait_action: str
    overflow_queue: str | None
    overflow_after_s: int
    tiers: list[list[int]]
    announce_every_s: int
    service_level_s: int
    record_calls: bool
    music: str
    region_code: str | None
    vip_priority: int
    repeat_priority: int
    repeat_window_hours: int
    active: bool


class QueueDetail(QueueOut):
    members: list[MemberOut]


class FlowSummary(Schema):
    code: str
    name: str
    active: bool
    version: int
    updated_at: datetime
    updated_by: str | None


class FlowOut(FlowSummary):
    definition: dict[str, Any]


class FlowIn(Schema):
    name: str
    definition: dict[str, Any]
    active: bool = True


class FlowCreateIn(FlowIn):
    code: str


class FlowErrorOut(Schema):
    node: str | None
    field: str | None
    code: str
    message: str


class FlowInvalidOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]
    errors: list[FlowErrorOut]


class HotlineNumberOut(Schema):
    number: str
    name: str
    flow: str
    active: bool


class HotlineNumberIn(Schema):
    name: str
    flow: str
    active: bool = True


class ListEntryOut(Schema):
    id: int
    kind: str
    number: str
    reason: str
    action: str
    expires_at: datetime | None
    created_at: datetime
    created_by: str | None


class ListEntryIn(Schema):
    kind: str
    number: str
    reason: str = ""
    action: str = ""
    expires_at: datetime | None = None


class EmergencyNumberOut(Schema):
    name: str
    number: str


class VoicemailOut(Schema):
    id: int
    call_id: str
    caller: str
    seconds: float
    received_at: datetime
    state: str
    claimed_by: str | None
    order: str | None


class VoicemailProcessIn(Schema):
    request_type: str
    title: str
    content: str
    category: str | None = None
    region: str | None = None
    address: str = ""
    citizen_name: str = ""
    anonymous: bool = False
    urgency: str = "normal"
    direct_answer: str | None = None


class VoicemailCloseIn(Schema):
    note: str


class CallbackOut(Schema):
    id: int
    call_id: str
    caller: str
    queue: str
    reason: str
    requested_at: datetime
    state: str
    attempts: int
    claimed_by: str | None
    result: str
    order: str | None


class CallbackCompleteIn(Schema):
    result: str
    note: str = ""
    order: str | None = None


class CallRecordOut(Schema):
    call_id: str
    direction: str
    caller: str
    called: str
    trunk: str
    started_at: datetime
    ended_at: datetime
    outcome: str
    queue: str
    agent_id: int | None
    queued_at: datetime | None
    answered_at: datetime | None
    wait_s: float
    talk_s: float
    hold_s: float
    transfers: int
    ivr_path: list[str]


class QueueStatsOut(Schema):
    queue: str
    service_level_s: int | None
    offered: int
    answered: int
    answered_in_sl: int
    service_level: float | None
    abandoned: int
    abandoned_short: int
    overflowed: int
    timed_out: int
    voicemail: int
    callback: int
    asa_s: float | None
    aht_s: float | None
    handle_s: float
    talk_s: float
    hold_s: float
    wrap_up_s: float
    longest_wait_s: float
    unanswered_offers: int
    all_busy: int
    transfers: int


class QueueReportOut(Schema):
    start: datetime
    end: datetime
    short_abandon_s: int
    queues: list[QueueStatsOut]
    total: QueueStatsOut
    calls: dict[str, int]


class AgentStatsOut(Schema):
    agent_id: int | None
    name: str
    offered: int
    answered: int
    unanswered_offers: int
    transfers: int
    aht_s: float | None
    logged_in_s: float
    ready_s: float
    ringing_s: float
    talk_s: float
    hold_s: float
    wrap_up_s: float
    pause_s: float
    locked_s: float
    off_hook_s: float
    locked_count: int
    off_hook_count: int
    pause_by_reason: dict[str, float]


class AgentReportOut(Schema):
    start: datetime
    end: datetime
    agents: list[AgentStatsOut]
    total: AgentStatsOut


# --- Helpers -------------------------------------------------------------------------------------


def _name(user: Any) -> str | None:
    return user.display_name if user is not None else None


def _phones(request: HttpRequest, numbers: list[str], *, purpose: str) -> bool:
    """Whether the numbers may be shown unmasked; if so (and there are any), audit the read."""
    if not request.user.has_perm(PERSONAL):
        return False
    if any(numbers):
        audit_record(
            action=AuditAction.READ,
            object_type="callcenter.caller",
            object_repr=purpose,
            after={"fields": ["caller"], "count": len(numbers)},
            note=purpose,
        )
    return True


def _by_code(model: Any, code: str | None, field: str) -> Any:
    if not code:
        return None
    obj = model.objects.filter(code=code).first()
    if obj is None:
        raise ValidationFailed("Unknown code.", fields={field: [f"unknown code {code}"]})
    return obj


def _queue(queue: Queue) -> dict[str, Any]:
    return {
        "code": queue.code,
        "name": queue.name,
        "strategy": queue.strategy,
        "ring_timeout_s": queue.ring_timeout_s,
        "wrap_up_s": queue.wrap_up_s,
        "max_wait_s": queue.max_wait_s,
        "max_wait_action": queue.max_wait_action,
        "overflow_queue": queue.overflow_queue.code if queue.overflow_queue is not None else None,
        "overflow_after_s": queue.overflow_after_s,
        "tiers": queue.tiers,
        "announce_every_s": queue.announce_every_s,
        "service_level_s": queue.service_level_s,
        "record_calls": queue.record_calls,
        "music": queue.music,
        "region_code": queue.region.code if queue.region is not None else None,
        "vip_priority": queue.vip_priority,
        "repeat_priority": queue.repeat_priority,
        "repeat_window_hours": queue.repeat_window_hours,
        "active": queue.active,
    }


def _flow(flow: IvrFlow, *, full: bool) -> dict[str, Any]:
    data = {
        "code": flow.code,
        "name": flow.name,
        "active": flow.active,
        "version": flow.version,
        "updated_at": flow.updated_at,
        "updated_by": _name(flow.updated_by),
    }
    if full:
        data["definition"] = flow.definition
    return data


def _invalid(exc: services.FlowInvalid) -> Any:
    return Status(
        422,
        {
            "code": exc.code,
            "message": exc.message,
            "fields": exc.fields,
            "errors": [e.as_dict() for e in exc.errors],
        },
    )


def _interval(start: datetime, end: datetime) -> None:
    if end <= start:
        raise ValidationFailed("The interval is empty.", fields={"end": ["after start"]})
    if end - start > MAX_STATS_SPAN:
        raise ValidationFailed("The interval is too long.", fields={"end": ["at most 31 days after start"]})


def _voicemail(v: Voicemail, unmasked: bool) -> dict[str, Any]:
    return {
        "id": v.pk,
        "call_id": v.call_id,
        "caller": v.caller if unmasked else mask_phone(v.caller),
        "seconds": v.seconds,
        "received_at": v.received_at,
        "state": v.state,
        "claimed_by": _name(v.claimed_by),
        "order": v.order.number if v.order is not None else None,
    }


def _callback(c: CallbackRequest, unmasked: bool) -> dict[str, Any]:
    return {
        "id": c.pk,
        "call_id": c.call_id,
        "caller": c.caller if unmasked else mask_phone(c.caller),
        "queue": c.queue,
        "reason": c.reason,
        "requested_at": c.requested_at,
        "state": c.state,
        "attempts": c.attempts,
        "claimed_by": _name(c.claimed_by),
        "result": c.result,
        "order": c.order.number if c.order is not None else None,
    }


# --- Queues --------------------------------------------------------------------------------------


@router.get("/queues", response=list[QueueOut])
@requires("callcenter.view_queue")
def queue_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_queue(q) for q in Queue.objects.select_related("overflow_queue", "region").order_by("code")]


@router.get("/queues/{code}", response=QueueDetail)
@requires("callcenter.view_queue")
def queue_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    queue = get_object_or_404(Queue.objects.select_related("overflow_queue", "region"), code=code)
    members = [
        {"agent_id": m.agent_id, "username": m.agent.username, "name": m.agent.display_name, "level": m.level}
        for m in queue.members.select_related("agent").order_by("-level", "agent__username")
    ]
    return {**_queue(queue), "members": members}


# --- Flows ---------------------------------------------------------------------------------------


@router.get("/flows", response=list[FlowSummary])
@requires("callcenter.view_ivrflow")
def flow_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_flow(f, full=False) for f in IvrFlow.objects.select_related("updated_by").order_by("code")]


@router.get("/flows/{code}", response=FlowOut)
@requires("callcenter.view_ivrflow")
def flow_detail(request: HttpRequest, code: str) -> dict[str, Any]:
    return _flow(get_object_or_404(IvrFlow.objects.select_related("updated_by"), code=code), full=True)


@router.post("/flows", response={201: FlowOut, 422: FlowInvalidOut})
@requires("callcenter.add_ivrflow")
def flow_create(request: HttpRequest, payload: FlowCreateIn) -> Any:
    """A new flow; invalid definitions are refused with every problem listed."""
    if IvrFlow.objects.filter(code=payload.code).exists():
        raise ValidationFailed("A flow with this code exists.", code="duplicate", fields={"code": ["exists"]})
    try:
        flow = services.flow_save(
            actor=request.user,
            code=payload.code,
            name=payload.name,
            definition=payload.definition,
            active=payload.active,
        )
    except services.FlowInvalid as exc:
        return _invalid(exc)
    return Status(201, _flow(flow, full=True))


@router.put("/flows/{code}", response={200: FlowOut, 422: FlowInvalidOut})
@requires("callcenter.change_ivrflow")
def flow_update(request: HttpRequest, code: str, payload: FlowIn) -> Any:
    """Replace a flow's definition (its version goes up by one)."""
    get_object_or_404(IvrFlow, code=code)
    try:
        flow = services.flow_save(
            actor=request.user,
            code=code,
            name=payload.name,
            definition=payload.definition,
            active=payload.active,
        )
    except services.FlowInvalid as exc:
        return _invalid(exc)
    return _flow(flow, full=True)


# --- Hotline numbers -----------------------------------------------------------------------------


@router.get("/hotline-numbers", response=list[HotlineNumberOut])
@requires("callcenter.view_hotlinenumber")
def hotline_number_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"number": h.number, "name": h.name, "flow": h.flow.code, "active": h.active}
        for h in HotlineNumber.objects.select_related("flow").order_by("number")
    ]


@router.put("/hotline-numbers/{number}", response=HotlineNumberOut)
@requires("callcenter.change_hotlinenumber")
def hotline_number_save(request: HttpRequest, number: str, payload: HotlineNumberIn) -> dict[str, Any]:
    """Create or change a hotline number and its default flow."""
    flow = _by_code(IvrFlow, payload.flow, "flow")
    if flow is None:
        raise ValidationFailed("A flow is needed.", fields={"flow": ["required"]})
    hotline = services.hotline_number_save(
        actor=request.user, number=number, name=payload.name, flow=flow, active=payload.active
    )
    return {"number": hotline.number, "name": hotline.name, "flow": flow.code, "active": hotline.active}


# --- Lists ---------------------------------------------------------------------------------------


def _entry(e: ListEntry) -> dict[str, Any]:
    return {
        "id": e.pk,
        "kind": e.kind,
        "number": e.number,
        "reason": e.reason,
        "action": e.action,
        "expires_at": e.expires_at,
        "created_at": e.created_at,
        "created_by": _name(e.created_by),
    }


@router.get("/lists", response=list[ListEntryOut])
@requires("callcenter.view_listentry")
@paginate(LimitOffsetPagination)
def list_entry_list(request: HttpRequest, kind: str | None = None, number: str | None = None) -> Any:
    """Black, white and VIP list entries (``kind``), by number."""
    qs = ListEntry.objects.select_related("created_by").order_by("kind", "number")
    if kind:
        if kind not in ListKind.values:
            raise ValidationFailed("Unknown list.", fields={"kind": ["black, white or vip"]})
        qs = qs.filter(kind=kind)
    if number:
        qs = qs.filter(number=services.normalize_number(number))
    return [_entry(e) for e in qs]


@router.post("/lists", response={201: ListEntryOut})
@requires("callcenter.add_listentry")
def list_entry_add(request: HttpRequest, payload: ListEntryIn) -> Any:
    """Put a number on a list (or replace its entry there)."""
    entry = services.list_entry_add(
        actor=request.user,
        kind=payload.kind,
        number=payload.number,
        reason=payload.reason,
        action=payload.action,
        expires_at=payload.expires_at,
    )
    return Status(201, _entry(entry))


@router.delete("/lists/{entry_id}", response={204: None})
@requires("callcenter.delete_listentry")
def list_entry_remove(request: HttpRequest, entry_id: int) -> Any:
    services.list_entry_remove(actor=request.user, entry=get_object_or_404(ListEntry, pk=entry_id))
    return Status(204, None)


# --- Emergency numbers ---------------------------------------------------------------------------


@router.get("/emergency-numbers", response=list[EmergencyNumberOut])
@requires("callcenter.view_emergencynumber")
def emergency_number_list(request: HttpRequest) -> Any:
    """应急联动 — the numbers an agent may transfer an emergency to."""
    return list(EmergencyNumber.objects.filter(active=True).order_by("sort_order", "number"))


# --- Voicemails ----------------------------------------------------------------------------------


@router.get("/voicemails", response=list[VoicemailOut])
@requires("callcenter.view_voicemail")
@paginate(LimitOffsetPagination)
def voicemail_list(request: HttpRequest, state: str | None = None) -> Any:
    """Voicemails, oldest first; ``state``: new, claimed or done (default: new and claimed)."""
    qs: QuerySet[Voicemail] = Voicemail.objects.select_related("claimed_by", "order").order_by(
        "received_at", "id"
    )
    if state:
        if state not in VoicemailState.values:
            raise ValidationFailed("Unknown state.", fields={"state": ["new, claimed or done"]})
        qs = qs.filter(state=state)
    else:
        qs = qs.exclude(state=VoicemailState.DONE)
    rows = list(qs[:500])
    unmasked = _phones(request, [v.caller for v in rows], purpose="voicemail list")
    return [_voicemail(v, unmasked) for v in rows]


def _voicemail_for(voicemail_id: int) -> Voicemail:
    return get_object_or_404(Voicemail.objects.select_related("claimed_by", "order"), pk=voicemail_id)


@router.post("/voicemails/{voicemail_id}/claim", response=VoicemailOut)
@requires("callcenter.process_voicemail")
def voicemail_claim(request: HttpRequest, voicemail_id: int) -> Any:
    voicemail = services.voicemail_claim(actor=request.user, voicemail=_voicemail_for(voicemail_id))
    return _voicemail(voicemail, _phones(request, [voicemail.caller], purpose="voicemail claim"))


@router.post("/voicemails/{voicemail_id}/process", response={201: VoicemailOut})
@requires("callcenter.process_voicemail", "workorders.intake_workorder")
def voicemail_process(request: HttpRequest, voicemail_id: int, payload: VoicemailProcessIn) -> Any:
    """Take the voicemail in as a work order (channel phone, the caller's number)."""
    from hotline.workorders.services import Intake

    voicemail = _voicemail_for(voicemail_id)
    request_type = RequestType.objects.filter(code=payload.request_type).first()
    if request_type is None:
        raise ValidationFailed("Unknown request type.", fields={"request_type": ["unknown code"]})
    intake = Intake(
        channel="phone",
        request_type=request_type,
        title=payload.title,
        content=payload.content,
        category=_by_code(Category, payload.category, "category"),
        region=_by_code(Region, payload.region, "region"),
        address=payload.address,
        citizen_name=payload.citizen_name,
        anonymous=payload.anonymous,
        urgency=payload.urgency,
    )
    services.voicemail_process(
        actor=request.user, voicemail=voicemail, intake=intake, direct_answer=payload.direct_answer
    )
    voicemail = _voicemail_for(voicemail_id)
    return Status(201, _voicemail(voicemail, _phones(request, [voicemail.caller], purpose="voicemail")))


@router.post("/voicemails/{voicemail_id}/close", response=VoicemailOut)
@requires("callcenter.process_voicemail")
def voicemail_close(request: HttpRequest, voicemail_id: int, payload: VoicemailCloseIn) -> Any:
    """Done without an order (silence, a test call…): the note says why."""
    voicemail = services.voicemail_close(
        actor=request.user, voicemail=_voicemail_for(voicemail_id), note=payload.note
    )
    return _voicemail(voicemail, _phones(request, [voicemail.caller], purpose="voicemail"))


# --- Callbacks -----------------------------------------------------------------------------------


@router.get("/callbacks", response=list[CallbackOut])
@requires("callcenter.view_callbackrequest")
@paginate(LimitOffsetPagination)
def callback_list(request: HttpRequest, state: str | None = None, queue: str | None = None) -> Any:
    """Callback requests, oldest first; ``state`` (default: new and claimed), ``queue``."""
    qs: QuerySet[CallbackRequest] = CallbackRequest.objects.select_related("claimed_by", "order").order_by(
        "requested_at", "id"
    )
    if state:
        if state not in CallbackState.values:
            raise ValidationFailed("Unknown state.", fields={"state": ["new, claimed, done or failed"]})
        qs = qs.filter(state=state)
    else:
        qs = qs.filter(state__in=[CallbackState.NEW, CallbackState.CLAIMED])
    if queue:
        qs = qs.filter(queue=queue)
    rows = list(qs[:500])
    unmasked = _phones(request, [c.caller for c in rows], purpose="callback list")
    return [_callback(c, unmasked) for c in rows]


def _callback_for(callback_id: int) -> CallbackRequest:
    return get_object_or_404(CallbackRequest.objects.select_related("claimed_by", "order"), pk=callback_id)


@router.post("/callbacks/{callback_id}/claim", response=CallbackOut)
@requires("callcenter.process_callback")
def callback_claim(request: HttpRequest, callback_id: int) -> Any:
    callback = services.callback_claim(actor=request.user, callback=_callback_for(callback_id))
    return _callback(callback, _phones(request, [callback.caller], purpose="callback claim"))


@router.post("/callbacks/{callback_id}/complete", response=CallbackOut)
@requires("callcenter.process_callback")
def callback_complete(request: HttpRequest, callback_id: int, payload: CallbackCompleteIn) -> Any:
    """The outcome of a callback attempt, with the order it produced (tracking number), if any."""
    from hotline.workorders.models import WorkOrder

    order = None
    if payload.order:
        order = WorkOrder.objects.filter(number=payload.order).first()
        if order is None:
            raise ValidationFailed("Unknown order.", fields={"order": ["unknown tracking number"]})
    callback = services.callback_complete(
        actor=request.user,
        callback=_callback_for(callback_id),
        result=payload.result,
        note=payload.note,
        order=order,
    )
    callback = _callback_for(callback.pk)
    return _callback(callback, _phones(request, [callback.caller], purpose="callback"))


# --- Call records --------------------------------------------------------------------------------


@router.get("/calls", response=list[CallRecordOut])
@requires("callcenter.view_callrecord")
@paginate(LimitOffsetPagination)
def call_search(
    request: HttpRequest,
    since: datetime | None = None,
    until: datetime | None = None,
    number: str | None = None,
    agent: str | None = None,
    queue: str | None = None,
    outcome: str | None = None,
    direction: str | None = None,
) -> Any:
    """Call detail records, newest first: start time ``[since, until)``, a number (caller or
    called), an agent (username), a queue, an outcome."""
    agent_id = None
    if agent:
        agent_id = User.objects.filter(username=agent).values_list("pk", flat=True).first()
        if agent_id is None:
            raise ValidationFailed("Unknown agent.", fields={"agent": ["unknown username"]})
    if since is not None and until is not None and until <= since:
        raise ValidationFailed("The interval is empty.", fields={"until": ["after since"]})
    qs = call_records_filter(
        CallRecord.objects.all(),
        CallFilter(
            since=since,
            until=until,
            number=services.normalize_number(number or ""),
            agent_id=agent_id,
            queue=queue or "",
            outcome=outcome or "",
            direction=direction or "",
        ),
    ).order_by("-started_at", "-id")
    return _CallPage(request, qs)


class _CallPage:
    """A lazy page of call records: masked or audited once the paginator has sliced it."""

    def __init__(self, request: HttpRequest, qs: QuerySet[CallRecord]) -> None:
        self.request, self.qs = request, qs

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        rows = list(self.qs[item])
        unmasked = _phones(self.request, [c.caller for c in rows], purpose="call record search")
        return [
            {
                "call_id": c.call_id,
                "direction": c.direction,
                "caller": c.caller if unmasked else mask_phone(c.caller),
                "called": c.called,
                "trunk": c.trunk,
                "started_at": c.started_at,
                "ended_at": c.ended_at,
                "outcome": c.outcome,
                "queue": c.queue,
                "agent_id": c.agent_id,
                "queued_at": c.queued_at,
                "answered_at": c.answered_at,
                "wait_s": c.wait_s,
                "talk_s": c.talk_s,
                "hold_s": c.hold_s,
                "transfers": c.transfers,
                "ivr_path": list(c.ivr_path or []),
            }
            for c in rows
        ]


# --- Statistics ----------------------------------------------------------------------------------


def _queue_stats_out(s: QueueStats) -> dict[str, Any]:
    return s.as_dict()


def _agent_stats_out(s: AgentStats) -> dict[str, Any]:
    return s.as_dict()


@router.get("/stats/queues", response=QueueReportOut)
@requires("callcenter.view_all_stats")
def stats_queues(
    request: HttpRequest,
    start: datetime,
    end: datetime,
    queue: str | None = None,
    service_level_s: int | None = None,
) -> Any:
    """Per-queue measures in ``[start, end)`` (docs/callcenter.md, "Statistics"); ``queue``: a
    comma-separated list of codes; ``service_level_s`` overrides the queues' thresholds."""
    _interval(start, end)
    if service_level_s is not None and not 1 <= service_level_s <= 3600:
        raise ValidationFailed("Bad threshold.", fields={"service_level_s": ["1 to 3600"]})
    codes = [c for c in (queue or "").split(",") if c] or None
    report = queue_stats(start=start, end=end, queues=codes, service_level_s=service_level_s)
    return {
        "start": report.start,
        "end": report.end,
        "short_abandon_s": report.short_abandon_s,
        "queues": [_queue_stats_out(s) for s in report.queues],
        "total": _queue_stats_out(report.total),
        "calls": report.calls,
    }


@router.get("/stats/agents", response=AgentReportOut)
@requires("callcenter.view_own_stats")
def stats_agents(request: HttpRequest, start: datetime, end: datetime, agent: str | None = None) -> Any:
    """Per-agent measures in ``[start, end)``. Without ``callcenter.view_all_stats`` only one's
    own; ``agent``: a username (default: everyone, or oneself)."""
    _interval(start, end)
    everyone = request.user.has_perm("callcenter.view_all_stats")
    agents: list[int] | None
    if agent:
        agent_id = User.objects.filter(username=agent).values_list("pk", flat=True).first()
        if agent_id is None:
            raise ValidationFailed("Unknown agent.", fields={"agent": ["unknown username"]})
        if not everyone and agent_id != request.user.pk:
            raise Forbidden("You may see your own statistics only.")
        agents = [agent_id]
    else:
        agents = None if everyone else [getattr(request.user, "pk", 0)]
    report = agent_stats(start=start, end=end, agents=agents)
    return {
        "start": report.start,
        "end": report.end,
        "agents": [_agent_stats_out(s) for s in report.agents],
        "total": _agent_stats_out(report.total),
    }
