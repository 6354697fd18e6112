"""Every change to the contact centre's configuration and to its voicemails and callbacks.

Keyword-only functions, one transaction each, an audit row per change (``hotline.audit``). Who
may call them is checked by the interfaces (API ``@requires``, the admin's model permissions);
where the person matters to the rule itself (who claimed a voicemail) the service checks it.
``actor=None`` is the system (demo data, commands, the switch process).

Claims are compare-and-set: two agents pressing "claim" at once cannot both win; the loser gets
``Conflict`` with code ``already_claimed``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record, audited_delete, audited_save
from hotline.core.errors import Conflict, Forbidden, ValidationFailed

from .choices import (
    BLACKLIST_REFUSE,
    CALLBACK_MAX_ATTEMPTS,
    CallbackResult,
    CallbackState,
    ListKind,
    MaxWaitAction,
    VoicemailState,
)
from .ivr_validate import FlowError, validate_flow
from .models import (
    AgentProfile,
    CallbackRequest,
    CentreSettings,
    EmergencyNumber,
    HotlineNumber,
    IvrFlow,
    ListEntry,
    PauseReason,
    Queue,
    QueueMembership,
    Seat,
    Voicemail,
)

NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class FlowInvalid(ValidationFailed):
    """The flow was not saved: ``errors`` lists every problem (node, field, code, message)."""

    code = "invalid_flow"

    def __init__(self, errors: list[FlowError]) -> None:
        fields: dict[str, list[str]] = {}
        for error in errors:
            key = ".".join(p for p in (error.node, error.field) if p) or "__all__"
            fields.setdefault(key, []).append(f"{error.code}: {error.message}")
        super().__init__(_("The flow is not valid and was not saved."), fields=fields)
        self.errors = errors


def _actor(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _clean(obj: Model, *, exclude: list[str] | None = None) -> None:
    """Django's field checks, as a ``ValidationFailed``."""
    try:
        obj.full_clean(exclude=exclude, validate_unique=True, validate_constraints=True)
    except DjangoValidationError as exc:
        raise ValidationFailed(_("Some fields are not valid."), fields=exc.message_dict) from exc


def _save(obj: Model, *, actor: Any, note: str = "", exclude: list[str] | None = None) -> Any:
    _clean(obj, exclude=exclude)
    audited_save(obj, note=note, actor=_actor(actor))
    return obj


def normalize_number(value: str) -> str:
    """A phone number as the switch reports it: digits only (spaces and dashes dropped)."""
    return re.sub(r"[\s\-()]", "", value or "")


@transaction.atomic
def object_delete(*, obj: Model, actor: Any = None, note: str = "") -> None:
    """Delete a configuration row (refused by PROTECT while anything refers to it)."""
    audited_delete(obj, note=note, actor=_actor(actor))


# --- IVR flows and hotline numbers ---------------------------------------------------------------


def flow_errors(definition: Any, *, code: str = "") -> list[FlowError]:
    """The problems of ``definition`` against the queues and flows that exist now."""
    queue_codes = set(Queue.objects.values_list("code", flat=True))
    flow_codes = set(IvrFlow.objects.values_list("code", flat=True)) | ({code} if code else set())
    return validate_flow(definition, queue_codes=queue_codes, flow_codes=flow_codes)


@transaction.atomic
def flow_save(
    *,
    actor: Any,
    code: str,
    name: str,
    definition: Mapping[str, Any],
    active: bool = True,
    note: str = "",
) -> IvrFlow:
    """Create or replace the flow ``code``. The definition is validated first: an invalid flow
    raises ``FlowInvalid`` and nothing is saved. ``version`` goes up by one on every save."""
    code = (code or "").strip()
    if not CODE.match(code):
        raise ValidationFailed(
            _("Some fields are not valid."), fields={"code": [_("letters, digits, - and _")]}
        )
    if not (name or "").strip():
        raise ValidationFailed(_("Some fields are not valid."), fields={"name": [_("required")]})
    errors = flow_errors(definition, code=code)
    if errors:
        raise FlowInvalid(errors)
    flow = IvrFlow.objects.select_for_update().filter(code=code).first() or IvrFlow(code=code)
    flow.name = name.strip()
    flow.definition = dict(definition)
    flow.active = active
    flow.version += 1
    flow.updated_by = _actor(actor)
    flow.updated_at = timezone.now()
    return _save(flow, actor=actor, note=note)  # type: ignore[no-any-return]


@transaction.atomic
def hotline_number_save(
    *, actor: Any, number: str, name: str, flow: IvrFlow, active: bool = True, note: str = ""
) -> HotlineNumber:
    """Create or change the hotline number ``number`` and the flow its calls start in."""
    number = normalize_number(number)
    if not NUMBER.match(number):
        raise ValidationFailed(_("Some fields are not valid."), fields={"number": [_("not a phone number")]})
    if active and not flow.active:
        raise ValidationFailed(
            _("Some fields are not valid."), fields={"flow": [_("the flow is not active")]}
        )
    hotline = HotlineNumber.objects.filter(number=number).first() or HotlineNumber(number=number)
    hotline.name = name.strip()
    hotline.flow = flow
    hotline.active = active
    return _save(hotline, actor=actor, note=note)  # type: ignore[no-any-return]


# --- Queues, agents, seats, pause reasons ----------------------------------------------------------


def queue_validate(queue: Queue) -> dict[str, list[str]]:
    """What is wrong with ``queue`` besides its field types (tiers, overflow)."""
    errors: dict[str, list[str]] = {}
    tiers = queue.tiers
    good = isinstance(tiers, list) and all(
        isinstance(t, list | tuple)
        and len(t) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in t)
        and t[0] >= 0
        and 1 <= t[1] <= 5
        for t in tiers
    )
    if not good:
        errors["tiers"] = [_("a list of [after_wait_s, min_level] pairs, levels 1 to 5")]
    elif [t[0] for t in tiers] != sorted({t[0] for t in tiers}):
        errors["tiers"] = [_("tiers are in increasing order of waiting time")]
    if queue.overflow_queue_id is not None and queue.pk is not None and queue.overflow_queue_id == queue.pk:
        errors["overflow_queue"] = [_("a queue cannot overflow into itself")]
    needs_overflow = queue.max_wait_action == MaxWaitAction.OVERFLOW or queue.overflow_after_s > 0
    if needs_overflow and queue.overflow_queue_id is None:
        errors["overflow_queue"] = [_("overflow needs an overflow queue")]
    if queue.max_wait_action == MaxWaitAction.OVERFLOW and queue.max_wait_s == 0:
        errors["max_wait_s"] = [_("overflow at the maximum wait needs a maximum wait")]
    if not CODE.match(queue.code or ""):
        errors["code"] = [_("letters, digits, - and _")]
    return errors


@transaction.atomic
def queue_save(*, actor: Any, queue: Queue, note: str = "") -> Queue:
    """Create or change a queue (its code is what flows refer to)."""
    errors = queue_validate(queue)
    if errors:
        raise ValidationFailed(_("The queue is not valid."), fields=errors)
    if queue.pk is not None:
        old_code = Queue.objects.filter(pk=queue.pk).values_list("code", flat=True).first()
        if old_code is not None and old_code != queue.code:
            raise ValidationFailed(
                _("The queue is not valid."), fields={"code": [_("the code of a queue cannot change")]}
            )
    return _save(queue, actor=actor, note=note)  # type: ignore[no-any-return]


@transaction.atomic
def membership_set(*, actor: Any, queue: Queue, agent: Any, level: int, note: str = "") -> QueueMembership:
    """Put ``agent`` in ``queue`` at skill ``level`` (1–5), or change their level."""
    if not isinstance(level, int) or not 1 <= level <= 5:
        raise ValidationFailed(_("Some fields are not valid."), fields={"level": [_("1 to 5")]})
    membership = QueueMembership.objects.filter(queue=queue, agent=agent).first() or QueueMembership(
        queue=queue, agent=agent
    )
    membership.level = level
    return _save(membership, actor=actor, note=note)  # type: ignore[no-any-return]


@transaction.atomic
def membership_remove(*, actor: Any, queue: Queue, agent: Any, note: str = "") -> bool:
    membership = QueueMembership.objects.filter(queue=queue, agent=agent).first()
    if membership is None:
        return False
    object_delete(obj=membership, actor=actor, note=note)
    return True


@transaction.atomic
def seat_save(*, actor: Any, seat: Seat, note: str = "") -> Seat:
    return _save(seat, actor=actor, note=note)  # type: ignore[no-any-return]


@transaction.atomic
def agent_profile_save(*, actor: Any, profile: AgentProfile, note: str = "") -> AgentProfile:
    return _save(profile, actor=actor, note=note)  # type: ignore[no-any-return]


@transaction.atomic
def pause_reason_save(*, actor: Any, reason: PauseReason, note: str = "") -> PauseReason:
    return _save(reason, actor=actor, note=note)  # type: ignore[no-any-return]


@transaction.atomic
def emergency_number_save(*, actor: Any, emergency: EmergencyNumber, note: str = "") -> EmergencyNumber:
    emergency.number = normalize_number(emergency.number)
    return _save(emergency, actor=actor, note=note)  # type: ignore[no-any-return]


@transaction.atomic
def centre_settings_save(*, actor: Any, values: CentreSettings, note: str = "") -> CentreSettings:
    """The one settings row (``pk=1``)."""
    values.pk = 1
    if not CentreSettings.objects.filter(pk=1).exists():
        values._state.adding = True
    return _save(values, actor=actor, note=note)  # type: ignore[no-any-return]


# --- Lists ---------------------------------------------------------------------------------------


def _list_action(kind: str, action: str) -> str:
    action = (action or "").strip()
    if kind != ListKind.BLACK:
        if action:
            raise ValidationFailed(
                _("Some fields are not valid."),
                fields={"action": [_("only a blacklist entry has an action")]},
            )
        return ""
    if not action:
        return BLACKLIST_REFUSE
    if action == BLACKLIST_REFUSE:
        return action
    if action.startswith("flow:") and IvrFlow.objects.filter(code=action[5:], active=True).exists():
        return action
    raise ValidationFailed(
        _("Some fields are not valid."), fields={"action": [_("refuse, or flow:<code> of an active flow")]}
    )


@transaction.atomic
def list_entry_add(
    *,
    actor: Any,
    kind: str,
    number: str,
    reason: str = "",
    action: str = "",
    expires_at: datetime | None = None,
) -> ListEntry:
    """Put ``number`` on a list (black/white/VIP); if it is already there, replace the entry."""
    if kind not in ListKind.values:
        raise ValidationFailed(_("Some fields are not valid."), fields={"kind": [_("black, white or vip")]})
    number = normalize_number(number)
    if not NUMBER.match(number):
        raise ValidationFailed(_("Some fields are not valid."), fields={"number": [_("not a phone number")]})
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationFailed(_("Some fields are not valid."), fields={"expires_at": [_("in the past")]})
    entry = ListEntry.objects.select_for_update().filter(kind=kind, number=number).first()
    if entry is None:
        entry = ListEntry(kind=kind, number=number, created_by=_actor(actor), created_at=timezone.now())
    entry.reason = (reason or "").strip()[:200]
    entry.action = _list_action(kind, action)
    entry.expires_at = expires_at
    return _save(entry, actor=actor)  # type: ignore[no-any-return]


@transaction.atomic
def list_entry_remove(*, actor: Any, entry: ListEntry, note: str = "") -> None:
    object_delete(obj=entry, actor=actor, note=note)


@transaction.atomic
def list_entries_expire(*, now: datetime | None = None) -> int:
    """Remove the entries whose time is up (the directory already ignores them); audited."""
    moment = now or timezone.now()
    expired = list(ListEntry.objects.filter(expires_at__lte=moment).order_by("pk"))
    for entry in expired:
        object_delete(obj=entry, actor=None, note="expired")
    return len(expired)


# --- Voicemails ----------------------------------------------------------------------------------


def _claim(model: type[Any], obj: Any, *, actor: Any, open_state: str, claimed_state: str) -> None:
    now = timezone.now()
    changed = model.objects.filter(pk=obj.pk, state=open_state).update(
        state=claimed_state, claimed_by=actor, claimed_at=now
    )
    if changed != 1:
        raise Conflict(_("Someone else has already claimed it."), code="already_claimed")
    before = {"state": obj.state, "claimed_by": obj.claimed_by_id}
    obj.state, obj.claimed_by, obj.claimed_at = claimed_state, actor, now
    audit_record(
        action=AuditAction.UPDATE,
        obj=obj,
        before=before,
        after={"state": claimed_state, "claimed_by": actor.pk},
        actor=actor,
    )


def _must_hold(obj: Any, actor: Any) -> None:
    if obj.claimed_by_id != actor.pk:
        raise Forbidden(_("Claim it first; someone else may be working on it."), code="not_claimed_by_you")


@transaction.atomic
def voicemail_claim(*, actor: Any, voicemail: Voicemail) -> Voicemail:
    """An agent takes a new voicemail to listen to it and take it in."""
    _claim(
        Voicemail, voicemail, actor=actor, open_state=VoicemailState.NEW, claimed_state=VoicemailState.CLAIMED
    )
    return voicemail


@transaction.atomic
def voicemail_process(
    *, actor: Any, voicemail: Voicemail, intake: Any, direct_answer: str | None = None
) -> Any:
    """Take a voicemail in as a work order (channel phone, the caller's number) through the
    work-order intake service, and mark it done with the order linked. A new voicemail is claimed
    on the way; one claimed by someone else is refused."""
    import dataclasses

    from hotline.workorders.choices import Channel
    from hotline.workorders.services import order_create

    if voicemail.state == VoicemailState.NEW:
        voicemail_claim(actor=actor, voicemail=voicemail)
    elif voicemail.state != VoicemailState.CLAIMED:
        raise Conflict(_("This voicemail has already been dealt with."), code="invalid_state")
    _must_hold(voicemail, actor)
    intake = dataclasses.replace(
        intake,
        channel=Channel.PHONE,
        citizen_phone=intake.citizen_phone or voicemail.caller,
        source_contact=intake.source_contact or f"voicemail {voicemail.call_id}",
    )
    order = order_create(actor=actor, intake=intake, direct_answer=direct_answer)
    _finish_voicemail(voicemail, actor=actor, order=order, note="")
    return order


@transaction.atomic
def voicemail_close(*, actor: Any, voicemail: Voicemail, note: str) -> Voicemail:
    """Done without an order (silence, a test call, a repeat of an open order — say which)."""
    if not (note or "").strip():
        raise ValidationFailed(_("Some fields are not valid."), fields={"note": [_("required")]})
    if voicemail.state != VoicemailState.CLAIMED:
        raise Conflict(_("Claim it first; someone else may be working on it."), code="invalid_state")
    _must_hold(voicemail, actor)
    _finish_voicemail(voicemail, actor=actor, order=None, note=note.strip())
    return voicemail


def _finish_voicemail(voicemail: Voicemail, *, actor: Any, order: Any, note: str) -> None:
    now = timezone.now()
    changed = Voicemail.objects.filter(
        pk=voicemail.pk, state=VoicemailState.CLAIMED, claimed_by=actor
    ).update(state=VoicemailState.DONE, done_at=now, order=order, note=note[:500])
    if changed != 1:
        raise Conflict(_("Someone else changed it first; reload."), code="state_changed")
    voicemail.state, voicemail.done_at, voicemail.order, voicemail.note = (
        VoicemailState.DONE,
        now,
        order,
        note,
    )
    audit_record(
        action=AuditAction.UPDATE,
        obj=voicemail,
        before={"state": VoicemailState.CLAIMED},
        after={"state": VoicemailState.DONE, "order": order.number if order else None, "note": note},
        actor=actor,
    )


# --- Callbacks -----------------------------------------------------------------------------------


@transaction.atomic
def callback_claim(*, actor: Any, callback: CallbackRequest) -> CallbackRequest:
    """An agent takes a callback request to call the citizen back."""
    _claim(
        CallbackRequest,
        callback,
        actor=actor,
        open_state=CallbackState.NEW,
        claimed_state=CallbackState.CLAIMED,
    )
    return callback


@transaction.atomic
def callback_complete(
    *, actor: Any, callback: CallbackRequest, result: str, note: str = "", order: Any = None
) -> CallbackRequest:
    """The outcome of one callback attempt. ``reached``: done, with the order it produced if any.
    ``no_answer``/``busy``: back to the pool for another attempt, or ``failed`` after
    ``CALLBACK_MAX_ATTEMPTS``. ``wrong_number``: failed."""
    if result not in CallbackResult.values:
        raise ValidationFailed(_("Some fields are not valid."), fields={"result": [_("unknown result")]})
    if callback.state != CallbackState.CLAIMED:
        raise Conflict(_("Claim it first; someone else may be working on it."), code="invalid_state")
    _must_hold(callback, actor)
    if order is not None and result != CallbackResult.REACHED:
        raise ValidationFailed(
            _("Some fields are not valid."), fields={"order": [_("only a reached caller gives an order")]}
        )
    now = timezone.now()
    attempts = callback.attempts + 1
    fields: dict[str, Any] = {
        "attempts": attempts,
        "last_attempt_at": now,
        "result": result,
        "note": note[:500],
    }
    if result == CallbackResult.REACHED:
        fields.update(state=CallbackState.DONE, done_at=now, order=order)
    elif result == CallbackResult.WRONG_NUMBER or attempts >= CALLBACK_MAX_ATTEMPTS:
        fields.update(state=CallbackState.FAILED, done_at=now)
    else:
        fields.update(state=CallbackState.NEW, claimed_by=None, claimed_at=None)
    changed = CallbackRequest.objects.filter(
        pk=callback.pk, state=CallbackState.CLAIMED, claimed_by=actor
    ).update(**fields)
    if changed != 1:
        raise Conflict(_("Someone else changed it first; reload."), code="state_changed")
    for key, value in fields.items():
        setattr(callback, key, value)
    audit_record(
        action=AuditAction.UPDATE,
        obj=callback,
        before={"state": CallbackState.CLAIMED, "attempts": attempts - 1},
        after={
            "state": fields["state"],
            "attempts": attempts,
            "result": result,
            "order": order.number if order is not None else None,
        },
        actor=actor,
    )
    return callback


# --- Calls and work orders -------------------------------------------------------------------------

CALL_ID = re.compile(r"^[\x21-\x7e]{1,64}$")  # the switch's call ids: printable ASCII, no spaces


@transaction.atomic
def call_order_link(*, actor: Any, call_id: str, order: Any) -> Any:
    """通话关联工单 — link a work order to the call it was taken in during (or to the call that
    left the voicemail it came from): the order is found from the call, and the call's recordings
    from the order (their ``order_number`` is filled when empty). Linking the same pair again
    returns the existing link. Returns the ``CallOrderLink``."""
    from django.db import IntegrityError

    from hotline.telephony.recordings import recording_link_order

    from .models import CallOrderLink

    call_id = (call_id or "").strip()
    if not CALL_ID.match(call_id):
        raise ValidationFailed(_("Some fields are not valid."), fields={"call_id": [_("not a call")]})
    link = CallOrderLink.objects.filter(call_id=call_id, order=order).first()
    if link is None:
        try:
            with transaction.atomic():
                link = CallOrderLink.objects.create(
                    call_id=call_id, order=order, linked_at=timezone.now(), linked_by=_actor(actor)
                )
        except IntegrityError:  # linked by another request a moment ago
            return CallOrderLink.objects.get(call_id=call_id, order=order)
        audit_record(
            action=AuditAction.CREATE,
            obj=link,
            after={"call_id": call_id, "order": order.number},
            actor=_actor(actor),
        )
    recording_link_order(call_id=call_id, order_number=order.number)
    return link
