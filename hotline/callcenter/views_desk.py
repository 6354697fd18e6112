"""The agent desktop (坐席工作台). See docs/desktop.md.

The page itself is static HTML plus ``static/js/desk.js``, which speaks the ``cc`` protocol over
the page's live socket. Three small views serve it: the page, the callback and voicemail list
(an htmx part that also claims a callback before it is dialled, or a voicemail before it is taken
in) and the intake form's answer (the same form and the same intake path as ``/orders/new/``).

Callers' numbers are masked in the list, which reloads every 30 s; the full number of one row is
given out only when the agent claims it to dial or take it in, and that read is audited.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from hotline.accounts.models import User
from hotline.audit.services import audit_personal_read
from hotline.core.errors import ServiceError, ValidationFailed
from hotline.core.events import switch_send_now
from hotline.core.masking import mask_phone
from hotline.core.permissions import view_requires
from hotline.telephony.recordings import audio_playback
from hotline.workorders import forms as order_forms
from hotline.workorders.choices import OrderState
from hotline.workorders.models import WorkOrder
from hotline.workorders.views import intake_context, intake_submit

from . import services
from .choices import (
    AgentState,
    CallbackReason,
    CallbackResult,
    CallbackState,
    VoicemailState,
)
from .models import AgentProfile, CallbackRequest, EmergencyNumber, PauseReason, Queue, Voicemail

TAKE_CALLS = "callcenter.take_calls"
INTAKE = "workorders.intake_workorder"
PROCESS_CALLBACK = "callcenter.process_callback"
PROCESS_VOICEMAIL = "callcenter.process_voicemail"
PERSONAL = "citizens.view_personal_data"

LIST_LIMIT = 100

logger = logging.getLogger(__name__)

# The soft-phone bar's labels of the engine's agent states; "paused" with the reason ``login`` is
# the state right after a login that did not start ready (登录).
STATE_LABELS = {
    AgentState.LOGGED_OUT: _("Not logged in"),
    AgentState.READY: _("Ready"),
    AgentState.RINGING: _("Ringing"),
    AgentState.TALKING: _("Talking"),
    AgentState.HOLD: _("On hold"),
    AgentState.WRAP_UP: _("Wrap-up"),
    AgentState.PAUSED: pgettext_lazy("soft phone", "Break"),
    AgentState.LOCKED: _("Locked"),
    AgentState.OFF_HOOK: _("Off hook"),
    "login": _("Logging in"),
}

# ``cc.error`` codes (the engine's and the live socket's) in the agent's words.
ERROR_TEXTS = {
    "bad_state": _("Not possible in the current state."),
    "unknown_agent": _("You are not a member of any queue yet: ask your supervisor."),
    "unknown_call": _("This call has already ended."),
    "unknown_queue": _("There is no such queue."),
    "not_ready": _("The other agent is not ready."),
    "no_call": _("You are not on a call."),
    "bad_target": _("Not a valid transfer target: agent:ID, queue:CODE or tel:NUMBER."),
    "bad_value": _("A value is missing or not valid."),
    "permission_denied": _("You may not do this."),
    "forbidden": _("You may not do this."),
    "unknown_action": _("The server does not understand this page's command: reload the page."),
    "bad_message": _("The server does not understand this page's command: reload the page."),
    "switch_down": _("Switch not connected"),
    "not_connected": _("The connection to the server is down; try again in a moment."),
}

MARK_LABELS = {
    "vip": _("VIP"),
    "blacklisted": _("Blacklist"),
    "whitelisted": _("Whitelist"),
    "repeat": _("Repeat caller"),
    "transferred": _("Transferred call"),
}


def _texts() -> dict[str, Any]:
    """The words desk.js shows, in the user's language."""
    return {
        "states": {str(k): str(v) for k, v in STATE_LABELS.items()},
        "errors": {k: str(v) for k, v in ERROR_TEXTS.items()},
        "marks": {k: str(v) for k, v in MARK_LABELS.items()},
        "wait": gettext("waited %(seconds)s s"),
        "ringing": gettext("Incoming call"),
        "on_call": gettext("On the call"),
        "ended": gettext("Call ended"),
        "mute": pgettext("soft phone", "Mute"),
        "unmute": pgettext("soft phone", "Unmute"),
        "transfer": pgettext("soft phone", "Transfer"),
        "consult": pgettext("soft phone", "Consult"),
        "conference": gettext("Three-way call"),
        "transfer_title": gettext("Transfer the call"),
        "consult_title": gettext("Consult before transferring"),
        "conference_title": gettext("Add a third party"),
        "target_needed": gettext("Choose or type a target first."),
        "number_needed": gettext("Type a number first."),
        "not_in_queue": gettext("Not a member of any queue"),
        "voicemail": gettext("Taking in the voicemail from %(number)s"),
    }


def _transfer_agents(user: Any) -> QuerySet[User]:
    """Other active agents (a profile or a queue membership), for the transfer dialog's picker."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(agent_profile__isnull=False) | Q(queue_memberships__isnull=False))
        .exclude(pk=user.pk)
        .distinct()
        .order_by("username")
    )


def _fresh_form(phone: str = "") -> order_forms.IntakeForm:
    return order_forms.IntakeForm(initial={"citizen_phone": phone.strip()[:32]})


@view_requires(TAKE_CALLS)
def desk(request: HttpRequest) -> HttpResponse:
    """坐席工作台 — the soft-phone bar, the screen pop, the intake form and the callback list."""
    user: Any = request.user  # signed in (view_requires)
    profile = AgentProfile.objects.filter(user=user).select_related("default_seat").first()
    extension = profile.default_seat.extension if profile and profile.default_seat else ""
    can_intake = request.user.has_perm(INTAKE)
    queues = list(Queue.objects.filter(active=True).order_by("code").only("code", "name"))
    context: dict[str, Any] = {
        "extension": extension,
        "pause_reasons": list(PauseReason.objects.filter(active=True).order_by("sort_order", "code")),
        "emergency_numbers": list(
            EmergencyNumber.objects.filter(active=True).order_by("sort_order", "number")
        ),
        "queues": queues,
        "agents": list(_transfer_agents(request.user)),
        "can_intake": can_intake,
        "server_now": timezone.now().isoformat(),
        "desk_texts": {**_texts(), "queue_names": {q.code: q.name for q in queues}},
        "desk": True,
    }
    if can_intake:
        context.update(intake_context(request, _fresh_form(request.GET.get("phone", ""))))
    return render(request, "callcenter/desk.html", context)


# --- Callbacks and voicemails (T11) ----------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the desk's list: a callback request or a voicemail."""

    kind: str  # "callback" or "voicemail"
    pk: int
    caller: str  # masked
    at: Any
    reason: str
    queue: str
    state: str
    mine: bool
    claimed_by: str
    attempts: int = 0
    seconds: float = 0.0
    audio: bool = False  # a voicemail whose recording can be played


def _rows(user: Any) -> list[Row]:
    """Open callback requests and new voicemails (and the ones this agent holds), oldest first."""
    callbacks = (
        CallbackRequest.objects.filter(state__in=[CallbackState.NEW, CallbackState.CLAIMED])
        .select_related("claimed_by")
        .order_by("requested_at", "id")[:LIST_LIMIT]
    )
    voicemails = (
        Voicemail.objects.filter(
            Q(state=VoicemailState.NEW) | Q(state=VoicemailState.CLAIMED, claimed_by=user)
        )
        .select_related("claimed_by")
        .order_by("received_at", "id")[:LIST_LIMIT]
    )
    rows = [
        Row(
            kind="callback",
            pk=c.pk,
            caller=mask_phone(c.caller),
            at=c.requested_at,
            reason=c.get_reason_display(),
            queue=c.queue,
            state=c.state,
            mine=c.claimed_by_id == user.pk,
            claimed_by=c.claimed_by.display_name if c.claimed_by else "",
            attempts=c.attempts,
        )
        for c in callbacks
    ]
    rows += [
        Row(
            kind="voicemail",
            pk=v.pk,
            caller=mask_phone(v.caller),
            at=v.received_at,
            reason=str(CallbackReason.VOICEMAIL.label),
            queue="",
            state=v.state,
            mine=v.claimed_by_id == user.pk,
            claimed_by=v.claimed_by.display_name if v.claimed_by else "",
            seconds=v.seconds,
            audio=bool(v.audio_path),
        )
        for v in voicemails
    ]
    rows.sort(key=lambda r: (r.at, r.kind, r.pk))
    return rows


def _claim_and_reveal(
    request: HttpRequest, model: type[Any], pk: int, *, claim: Any, held: str, missing: str, purpose: str
) -> Any:
    """Claim a callback or a voicemail (or take one this agent already holds) and hand its
    unmasked number to the screen; that read is audited."""
    obj = model.objects.select_related("claimed_by").filter(pk=pk).first()
    if obj is None:
        raise ValidationFailed(missing, code="not_found")
    if not (obj.state == held and obj.claimed_by_id == request.user.pk):
        claim(actor=request.user, obj=obj)
    audit_personal_read(obj=obj, fields=["caller"], purpose=purpose)
    return obj


def _claim_callback(request: HttpRequest, pk: int) -> dict[str, Any]:
    """Claim a callback to dial it: the number to dial."""
    callback = _claim_and_reveal(
        request,
        CallbackRequest,
        pk,
        claim=lambda actor, obj: services.callback_claim(actor=actor, callback=obj),
        held=CallbackState.CLAIMED,
        missing=gettext("This callback is no longer in the list."),
        purpose="desk callback dial",
    )
    return {"desk:dial": {"callback_id": callback.pk, "number": callback.caller}}


def _complete_callback(request: HttpRequest, pk: int, result: str) -> None:
    callback = CallbackRequest.objects.select_related("claimed_by").filter(pk=pk).first()
    if callback is None:
        raise ValidationFailed(gettext("This callback is no longer in the list."), code="not_found")
    order = None
    number = (request.POST.get("order") or "").strip()
    if number and result == CallbackResult.REACHED:
        order = WorkOrder.objects.filter(number=number, created_by_id=request.user.pk).first()
    services.callback_complete(actor=request.user, callback=callback, result=result, order=order)


def _claim_voicemail(request: HttpRequest, pk: int) -> dict[str, Any]:
    """Claim a voicemail to take it in: its number for the form."""
    voicemail = _claim_and_reveal(
        request,
        Voicemail,
        pk,
        claim=lambda actor, obj: services.voicemail_claim(actor=actor, voicemail=obj),
        held=VoicemailState.CLAIMED,
        missing=gettext("This voicemail is no longer in the list."),
        purpose="desk voicemail intake",
    )
    return {"desk:voicemail": {"voicemail_id": voicemail.pk, "number": voicemail.caller}}


def _pk(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ValidationFailed(gettext("This entry is no longer in the list."), code="not_found") from None


@view_requires(TAKE_CALLS)
def desk_callbacks(request: HttpRequest) -> HttpResponse:
    """The callback and voicemail list (htmx). POST ``action``: ``dial`` (claim a callback; the
    answer's ``HX-Trigger`` carries the number for ``callback_dial``), ``result`` (the outcome of
    a callback attempt) or ``voicemail`` (claim a voicemail to take it in)."""
    trigger: dict[str, Any] = {}
    problem = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        needed = PROCESS_VOICEMAIL if action == "voicemail" else PROCESS_CALLBACK
        if not request.user.has_perm(needed):
            raise PermissionDenied
        try:
            if action == "dial":
                trigger = _claim_callback(request, _pk(request.POST.get("id")))
            elif action == "result":
                result = request.POST.get("result", "")
                _complete_callback(request, _pk(request.POST.get("id")), result)
            elif action == "voicemail":
                trigger = _claim_voicemail(request, _pk(request.POST.get("id")))
            else:
                raise ValidationFailed(gettext("Unknown action."), code="bad_action")
        except ServiceError as exc:
            problem = order_forms.service_message(exc.message)
            status = exc.status
    context = {
        "rows": _rows(request.user),
        "problem": problem,
        "results": CallbackResult.choices,
        "can_callback": request.user.has_perm(PROCESS_CALLBACK),
        "can_voicemail": request.user.has_perm(PROCESS_VOICEMAIL) and request.user.has_perm(INTAKE),
    }
    response = render(request, "callcenter/_desk_callbacks.html", context, status=status)
    if trigger:
        response["HX-Trigger"] = json.dumps(trigger)
    return response


@view_requires(PROCESS_VOICEMAIL)
def desk_voicemail_audio(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A voicemail's WAV for the desk's player, with Range support; one audit row per playback
    (``telephony.recordings.audio_playback``). An empty ``audio_path`` was purged: 410."""
    voicemail = get_object_or_404(Voicemail, pk=pk)
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    return audio_playback(
        request,
        obj=voicemail,
        relative_path=voicemail.audio_path,
        purged=not voicemail.audio_path,
        filename=f"voicemail-{voicemail.pk}.wav",
    )


# --- Intake ----------------------------------------------------------------------------------------


def _voicemail_create(request: HttpRequest, voicemail: Voicemail) -> Any:
    """``order_create``'s stand-in for a voicemail: the order through ``voicemail_process``."""

    def create(*, actor: Any, intake: Any, attachments: list[Any], direct_answer: str | None) -> WorkOrder:
        if attachments:
            text = gettext("Add the files on the order's page once the voicemail is taken in.")
            raise ValidationFailed(text, fields={"attachments": [text]})
        order: WorkOrder = services.voicemail_process(
            actor=actor, voicemail=voicemail, intake=intake, direct_answer=direct_answer
        )
        return order

    return create


def _linked_to_call(create: Callable[..., WorkOrder] | None, call_id: str) -> Callable[..., WorkOrder]:
    """``order_create`` (or the voicemail's stand-in) followed, in the same transaction, by the
    link of the new order to ``call_id`` (``services.call_order_link``)."""
    from hotline.workorders.services import order_create

    def create_and_link(**kwargs: Any) -> WorkOrder:
        with transaction.atomic():
            order: WorkOrder = (create or order_create)(**kwargs)
            services.call_order_link(actor=kwargs["actor"], call_id=call_id, order=order)
        return order

    return create_and_link


def _posted_call_id(request: HttpRequest) -> str:
    """The call the desk was on (or wrapping up) when the form was sent; "" if none or not valid."""
    call_id = (request.POST.get("call_id") or "").strip()
    if call_id and not services.CALL_ID.match(call_id):
        logger.warning("Ignoring the desk's call id %r: not a call id", call_id[:80])
        return ""
    return call_id


@view_requires(TAKE_CALLS, INTAKE)
def desk_intake(request: HttpRequest) -> HttpResponse:
    """The desk's intake form (htmx). GET: an empty form (``phone`` pre-filled). POST: validated
    and taken in like ``/orders/new/`` (``workorders.views.intake_submit``); the answer is the
    form with its errors (422) or the tracking number above a new form for the same caller.
    ``call_id`` (filled by desk.js with the call the agent is on or wrapping up) links the order to
    that call; an order from a voicemail is linked to the voicemail's call."""
    if request.method != "POST":
        form = _fresh_form(request.GET.get("phone", ""))
        return render(request, "callcenter/_desk_intake.html", intake_context(request, form))

    form = order_forms.IntakeForm(request.POST, request.FILES)
    create = None
    voicemail_id = (request.POST.get("voicemail") or "").strip()
    voicemail = None
    if voicemail_id:
        voicemail = Voicemail.objects.filter(pk=int(voicemail_id)).first() if voicemail_id.isdigit() else None
        if voicemail is None or not request.user.has_perm(PROCESS_VOICEMAIL):
            form.is_valid()
            form.add_error(None, gettext("This voicemail cannot be taken in any more; clear the form."))
        else:
            create = _voicemail_create(request, voicemail)
    # The order is linked to the call it was taken in during, or to the voicemail's call.
    call_id = voicemail.call_id if voicemail is not None else _posted_call_id(request)
    if call_id:
        create = _linked_to_call(create, call_id)
    order = intake_submit(request, form, create=create) if not form.errors else None
    if order is None:
        context = intake_context(request, form)
        context["voicemail"] = voicemail_id
        return render(request, "callcenter/_desk_intake.html", context, status=422)

    context = intake_context(request, _fresh_form(order.citizen_phone), done=order)
    response = render(request, "callcenter/_desk_intake.html", context)
    if voicemail is not None:
        response["HX-Trigger"] = json.dumps({"desk:callbacks": {}})
    return response


REVIEW = "workorders.review_workorder"


@view_requires(TAKE_CALLS)
def desk_revisit_dial(request: HttpRequest, number: str) -> HttpResponse:
    """回访外呼 — POST from the revisit queue: the agent's phone rings, then the citizen of order
    ``number`` is called through the outbound trunk (the number never reaches the browser). The
    answer is a line of text for the row; the switch reports a refusal on the desk's socket."""
    if request.method != "POST":
        return HttpResponse(status=405)
    if not request.user.has_perm(REVIEW):
        raise PermissionDenied
    order = get_object_or_404(WorkOrder, number=number)
    status = 200
    if order.state != OrderState.PENDING_REVISIT:
        message, status = gettext("This order is not waiting for a revisit."), 409
    elif not order.citizen_phone:
        message, status = gettext("The citizen left no phone number."), 422
    else:
        audit_personal_read(obj=order, fields=["citizen_phone"], purpose="revisit call")
        switch_send_now(
            {
                "action": "dial",
                "by": request.user.pk,
                "number": order.citizen_phone,
                "order": order.number,
                "purpose": "revisit",
            }
        )
        message = gettext("Calling: answer your phone, the citizen is dialled next.")
    return render(
        request, "callcenter/_revisit_dial.html", {"message": message, "ok": status == 200}, status=status
    )
