"""Work-order screens: intake, the centre's queues, the unit inbox, the order page, the leader view
and the order search.

Views are thin: they read through ``selectors.py`` and change orders only through ``services.py``.
A service's refusal is shown on the form that asked for it; a conflict (someone else moved the
order first) is shown as a message over the order's current state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from hotline.accounts.choices import CENTRE_ROLES, UNIT_ROLES
from hotline.accounts.models import User
from hotline.accounts.scope import DataScope
from hotline.core.errors import Conflict, ServiceError, ValidationFailed
from hotline.core.localtime import LOCAL_TZ, local_midnight
from hotline.core.masking import mask_name, mask_phone
from hotline.core.permissions import view_requires
from hotline.orgs.models import DutyAssignment, Region, Unit
from hotline.orgs.selectors import duty_resolve
from hotline.taxonomy.models import Category

from . import forms, services
from .choices import (
    ACTIVE_ASSIGNMENT_STATES,
    OPEN_STATES,
    TERMINAL_STATES,
    AssignmentRole,
    ExtensionState,
    OrderAction,
    OrderState,
    Result,
    RevisitMethod,
    Satisfaction,
)
from .models import Attachment, Extension, Instruction, OrderEvent, OrderLink, WorkOrder
from .selectors import (
    LIST_RELATED,
    OrderFilter,
    OrderUnion,
    caller_lookup,
    centre_queue,
    citizen_fields,
    each,
    history_for,
    inbox_counts,
    orders_search,
    orders_visible_to,
    unit_assisting,
    unit_inbox,
)
from .states import actions_from

PER_PAGE = 25
QUEUE_PER_PAGE = 20

VIEW = "workorders.view_workorder"
INTAKE = "workorders.intake_workorder"
DISPATCH = "workorders.dispatch_workorder"
HANDLE = "workorders.handle_workorder"
REVIEW = "workorders.review_workorder"
SUPERVISE = "workorders.supervise_workorder"
INSTRUCT = "workorders.instruct_workorder"


# --- Helpers -------------------------------------------------------------------------------------


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _page(request: HttpRequest, qs: QuerySet[Any] | OrderUnion, per_page: int = PER_PAGE) -> Page[Any]:
    return Paginator(cast(Any, qs), per_page).get_page(request.GET.get("page"))  # OrderUnion: count + slices


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/orders/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return ""


def _list_related(orders: Any) -> Any:
    """What a row of any order list shows, in the same query (a queryset or an ``OrderUnion``)."""
    return each(orders, lambda qs: qs.select_related(*LIST_RELATED))


# --- Deadlines as people read them ---------------------------------------------------------------

TONES = {0: "ok", 70: "warn", 90: "urgent", 100: "overdue"}


@dataclass(frozen=True)
class Clock:
    """The running deadline of an order: when, how far it has run (its colour) and what is left."""

    due_at: datetime | None
    level: int = 0
    tone: str = "none"
    text: str = ""
    paused: bool = False


def _span(seconds: float) -> str:
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return gettext("%(days)d d %(hours)d h") % {"days": days, "hours": hours}
    if hours:
        return gettext("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": mins}
    return gettext("%(minutes)d min") % {"minutes": mins}


def order_clock(order: WorkOrder, now: datetime | None = None) -> Clock:
    """The order's running deadline: its level (the scan's, or later if the time says so) and the
    time left or overdue."""
    if order.state in TERMINAL_STATES or order.due_at is None:
        return Clock(due_at=None)
    now = now or timezone.now()
    level = order.deadline_level or 0
    if order.clock_paused_at is not None:
        return Clock(order.due_at, level, "paused", gettext("Clock stopped"), paused=True)
    if now > order.due_at:
        level = 100
    elif order.urgent_at is not None and now >= order.urgent_at:
        level = max(level, 90)
    elif order.warn_at is not None and now >= order.warn_at:
        level = max(level, 70)
    seconds = (order.due_at - now).total_seconds()
    if seconds >= 0:
        text = gettext("%(span)s left") % {"span": _span(seconds)}
    else:
        text = gettext("%(span)s overdue") % {"span": _span(-seconds)}
    return Clock(order.due_at, level, TONES.get(level, "ok"), text)


@dataclass
class Row:
    """One order in a list, with what the list shows about it."""

    order: WorkOrder
    clock: Clock
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def phone(self) -> str:
        return mask_phone(self.order.citizen_phone)

    @property
    def name(self) -> str:
        return mask_name(self.order.citizen_name) if self.order.anonymous else self.order.citizen_name


def order_rows(orders: Iterable[WorkOrder]) -> list[Row]:
    now = timezone.now()
    return [Row(order=o, clock=order_clock(o, now)) for o in orders]


# --- Timeline ------------------------------------------------------------------------------------

# action → (icon of the workorders sprite, tone)
ACTION_ICONS: dict[str, tuple[str, str]] = {
    OrderAction.INTAKE: ("headset", "info"),
    OrderAction.DIRECT_CLOSE: ("check", "success"),
    OrderAction.DISPATCH: ("send", "info"),
    OrderAction.SIGN: ("pen", "info"),
    OrderAction.RETURN: ("undo", "warn"),
    OrderAction.RETURN_ACCEPT: ("undo", "info"),
    OrderAction.RETURN_REFUSE: ("undo", "warn"),
    OrderAction.NOTE: ("message", "muted"),
    OrderAction.EXTENSION_REQUEST: ("calendar", "warn"),
    OrderAction.EXTENSION_APPROVE: ("calendar", "success"),
    OrderAction.EXTENSION_REFUSE: ("calendar", "danger"),
    OrderAction.ANSWER: ("reply", "info"),
    OrderAction.REVIEW_ACCEPT: ("check", "success"),
    OrderAction.REVIEW_REJECT: ("x", "danger"),
    OrderAction.REVISIT: ("phone", "success"),
    OrderAction.CLOSE: ("lock", "success"),
    OrderAction.CANCEL: ("ban", "danger"),
    OrderAction.REOPEN: ("refresh", "warn"),
    OrderAction.MERGE: ("merge", "muted"),
    OrderAction.MERGED_IN: ("merge", "muted"),
    OrderAction.LINK: ("link", "muted"),
    OrderAction.SUPERVISE: ("flag", "danger"),
    OrderAction.REMIND: ("bell", "warn"),
    OrderAction.ESCALATE: ("arrow-up", "danger"),
    OrderAction.INSTRUCT: ("stamp", "leader"),
    OrderAction.DEADLINE: ("clock", "warn"),
}


@dataclass
class TimelineEntry:
    event: OrderEvent
    icon: str
    tone: str
    facts: list[tuple[str, str]]
    files: list[Attachment]

    @property
    def moved(self) -> bool:
        return bool(self.event.to_state) and self.event.from_state != self.event.to_state

    @property
    def from_label(self) -> str:
        return _label(OrderState, self.event.from_state) if self.event.from_state else ""

    @property
    def to_label(self) -> str:
        return _label(OrderState, self.event.to_state)


def _local(value: str | None) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _event_facts(event: OrderEvent, units: dict[str, str], people: dict[str, str]) -> list[tuple[str, str]]:
    """The data of a history row in words: units, days, results, satisfaction…"""
    data = event.data or {}
    facts: list[tuple[str, str]] = []

    def add(label: Any, value: Any) -> None:
        facts.append((str(label), str(value)))

    if data.get("lead"):
        add(_("Lead unit"), units.get(data["lead"], data["lead"]))
    if data.get("assist"):
        add(_("Assisting units"), "、".join(units.get(c, c) for c in data["assist"]))
    if isinstance(data.get("from"), list) and data["from"]:
        add(_("Withdrawn from"), "、".join(units.get(c, c) for c in data["from"]))
    if data.get("returned_from"):
        add(_("Returned while"), _label(OrderState, data["returned_from"]))
    if data.get("working_days") and event.action != OrderAction.NOTE:
        add(_("Working days"), data["working_days"])
    if data.get("new_due_at"):
        add(_("New deadline"), _local(data["new_due_at"]))
    if data.get("result"):
        add(_("Result"), _label(Result, data["result"]))
    if data.get("overdue"):
        add(_("Answered"), _("after the deadline"))
    if data.get("method"):
        add(_("Method"), _label(RevisitMethod, data["method"]))
    if data.get("resolved") is not None and "resolved" in data:
        add(_("Problem solved"), _("Yes") if data["resolved"] else _("No"))
    if data.get("satisfaction"):
        add(_("Satisfaction"), _label(Satisfaction, data["satisfaction"]))
    if data.get("reopened"):
        add(_("Follow-up"), _("Dispatched again (new round)"))
    if data.get("into"):
        add(_("Merged into"), data["into"])
    if data.get("order"):
        add(_("Merged order"), data["order"])
    if data.get("other"):
        add(_("Linked with"), data["other"])
    if data.get("due_at"):
        add(_("Due"), _local(data["due_at"]))
    if data.get("leader"):
        add(_("Leader"), people.get(data["leader"], data["leader"]))
    if data.get("answer"):
        add(_("Answer"), data["answer"])
    if event.action == OrderAction.DEADLINE and data.get("level"):
        add(_("Deadline level"), f"{data['level']}%")
    if data.get("automatic"):
        add(_("Raised"), _("automatically (repeat report)"))
    return facts


def _timeline(order: WorkOrder, user: Any, files: list[Attachment]) -> list[TimelineEntry]:
    events = list(history_for(order=order, user=user))
    codes: set[str] = set()
    usernames: set[str] = set()
    for event in events:
        data = event.data or {}
        if data.get("lead"):
            codes.add(data["lead"])
        for key in ("assist", "from"):
            if isinstance(data.get(key), list):
                codes.update(data[key])
        if data.get("leader"):
            usernames.add(data["leader"])
    units = dict(Unit.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    people = (
        {u.username: u.display_name for u in User.objects.filter(username__in=usernames)} if usernames else {}
    )
    by_event: dict[int, list[Attachment]] = {}
    for attachment in files:
        if attachment.event_id is not None:
            by_event.setdefault(attachment.event_id, []).append(attachment)
    entries = []
    for event in events:
        icon, tone = ACTION_ICONS.get(event.action, ("dot", "muted"))
        entries.append(
            TimelineEntry(event, icon, tone, _event_facts(event, units, people), by_event.get(event.pk, []))
        )
    return entries


# --- Pickers (search by name over reference data) ------------------------------------------------

PICK_LIMIT = 15


def _query(request: HttpRequest) -> str:
    """What the user typed; a picked label (``城乡建设 / 市政 / 城管执法``) searches its last part."""
    return (request.GET.get("q") or "").split(" / ")[-1].strip()[:50]


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    extra: str = ""


def _picked(request: HttpRequest, options: list[Option]) -> HttpResponse:
    return render(
        request, "workorders/_picker_results.html", {"options": options, "q": request.GET.get("q", "")}
    )


@view_requires("taxonomy.view_category")
def pick_category(request: HttpRequest) -> HttpResponse:
    """Active categories whose name (or a parent's) contains ``q``: code and full path."""
    q = _query(request)
    qs = Category.objects.filter(active=True).select_related("parent__parent")
    if q:
        qs = qs.filter(
            Q(name__contains=q) | Q(code__startswith=q) | Q(parent__name__contains=q)
            | Q(parent__parent__name__contains=q)
        )  # fmt: skip
    options = [Option(c.code, forms.category_label(c)) for c in qs.order_by("code")[:PICK_LIMIT]]
    return _picked(request, options)


@view_requires("orgs.view_region")
def pick_region(request: HttpRequest) -> HttpResponse:
    """Active streets and communities whose name contains ``q``."""
    q = _query(request)
    qs = Region.objects.filter(active=True, level__in=["street", "community"]).select_related(
        "parent__parent__parent"
    )
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(code__startswith=q) | Q(parent__name__contains=q))
    options = [
        Option(r.code, forms.region_label(r), r.get_level_display()) for r in qs.order_by("path")[:PICK_LIMIT]
    ]
    return _picked(request, options)


@view_requires("orgs.view_unit")
def pick_unit(request: HttpRequest) -> HttpResponse:
    """Active handling units (not the hotline centre) whose name or code contains ``q``."""
    q = _query(request)
    qs = Unit.objects.filter(active=True).exclude(kind="centre").select_related("region")
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(short_name__contains=q) | Q(code__icontains=q))
    options = [Option(u.code, u.name, u.region.name) for u in qs.order_by("path")[:PICK_LIMIT]]
    return _picked(request, options)


# --- Intake ------------------------------------------------------------------------------------


def intake_submit(
    request: HttpRequest, form: forms.IntakeForm, *, create: Callable[..., WorkOrder] | None = None
) -> WorkOrder | None:
    """Validate a bound intake form and take the order in: the order, or ``None`` with the errors
    (the form's own and the service's refusal) on the form. Shared by the intake page and the agent
    desk. ``create`` replaces ``services.order_create`` and is called with the same keyword
    arguments (the desk takes a voicemail in through ``voicemail_process``)."""
    if not form.is_valid():
        return None
    data = form.cleaned_data
    intake = services.Intake(
        channel=data["channel"],
        request_type=data["request_type"],
        title=data["title"],
        content=data["content"],
        citizen_name=data["citizen_name"],
        citizen_phone=data["citizen_phone"],
        citizen_id_number=data["citizen_id_number"],
        anonymous=data["anonymous"],
        confidential=data["confidential"],
        address=data["address"],
        region=data["region"],
        category=data["category"],
        urgency=data["urgency"],
        complex_case=data["complex_case"],
    )
    closing = data.get("submit") == forms.SUBMIT_CLOSE
    try:
        return (create or services.order_create)(
            actor=request.user,
            intake=intake,
            attachments=data["attachments"],
            direct_answer=data["direct_answer"] if closing else None,
        )
    except ServiceError as exc:
        forms.apply_service_error(form, exc)
        return None


@view_requires(INTAKE)
def order_new(request: HttpRequest) -> HttpResponse:
    """受理登记 — the agent takes a call in; the tracking number is shown big once it is saved."""
    if request.method == "POST":
        form = forms.IntakeForm(request.POST, request.FILES)
        order = intake_submit(request, form)
        if order is not None:
            return redirect(f"{reverse('workorders:new')}?done={order.number}")
        return render(request, "workorders/new.html", intake_context(request, form), status=422)

    done = None
    number = request.GET.get("done", "")
    if number:
        done = (
            orders_visible_to(request.user)
            .select_related("request_type", "category__parent__parent", "region")
            .filter(number=number, created_by_id=request.user.pk)
            .first()
        )
    form = forms.IntakeForm(initial={"citizen_phone": request.GET.get("phone", "").strip()[:32]})
    return render(request, "workorders/new.html", intake_context(request, form, done=done))


def intake_context(
    request: HttpRequest, form: forms.IntakeForm, done: WorkOrder | None = None
) -> dict[str, Any]:
    """What ``workorders/_intake_form.html`` needs besides the form: the picked labels again."""
    return {
        "form": form,
        "done": done,
        "category_label": form.picked_label("category"),
        "region_label": form.picked_label("region"),
        "files_lost": form.is_bound and bool(request.FILES),
    }


@view_requires(INTAKE)
def order_caller(request: HttpRequest) -> HttpResponse:
    """The caller's profile and last orders, as the agent types the number (htmx)."""
    phone = (request.GET.get("citizen_phone") or request.GET.get("phone") or "").strip()
    digits = sum(ch.isdigit() for ch in phone)
    context: dict[str, Any] = {"phone": phone, "searched": digits >= 7}
    if digits >= 7:
        citizen, orders = caller_lookup(user=request.user, phone=phone, limit=4)
        context.update(citizen=citizen, orders=orders)
    return render(request, "workorders/_caller.html", context)


# --- Actions of the loop -----------------------------------------------------------------------


@dataclass(frozen=True)
class ActionSpec:
    label: Any
    form: type[forms.ActionForm]
    perm: str
    run: Callable[[HttpRequest, WorkOrder, Any], str]
    icon: str = "arrow-right"
    aliases: dict[str, str] = field(default_factory=dict)


def _other_order(request: HttpRequest, number: str) -> WorkOrder:
    other = orders_visible_to(request.user).filter(number=number.strip()).first()
    if other is None:
        text = gettext("No order with this tracking number.")
        raise ValidationFailed(text, fields={"other": [text]})
    return other


def _run_sign(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    services.order_sign(order=order, actor=request.user)
    return gettext("Signed for. The answer deadline is running.")


def _run_return(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    services.order_return(order=order, actor=request.user, reason=form.cleaned_data["reason"])
    return gettext("Returned to the centre, which will decide. Your clock is stopped meanwhile.")


def _run_note(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    services.order_note(order=order, actor=request.user, text=data["text"], attachments=data["attachments"])
    return gettext("Progress note added.")


def _run_extension_request(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    services.extension_request(
        order=order, actor=request.user, working_days=data["working_days"], reason=data["reason"]
    )
    return gettext("Extension requested. The centre will decide.")


def _run_answer(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    services.order_answer(
        order=order,
        actor=request.user,
        result=data["result"],
        answer=data["answer"],
        attachments=data["attachments"],
    )
    return gettext("Answer sent to the centre for review.")


def _run_dispatch(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    services.order_dispatch(
        order=order,
        actor=request.user,
        lead_unit=data["lead_unit"],
        assist_units=data["assist_units"],
        note=data["note"],
    )
    return gettext("Dispatched to %(unit)s.") % {"unit": data["lead_unit"].name}


def _run_return_decide(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    accept = data["decision"] == forms.DECIDE_ACCEPT
    services.order_return_decide(
        order=order,
        actor=request.user,
        accept=accept,
        reason=data["reason"],
        new_lead_unit=data["new_lead_unit"] if accept else None,
        assist_units=data["assist_units"] if accept and data["new_lead_unit"] else [],
    )
    if not accept:
        return gettext("Return refused: the order is back with the unit.")
    if data["new_lead_unit"]:
        return gettext("Return accepted and dispatched to %(unit)s.") % {"unit": data["new_lead_unit"].name}
    return gettext("Return accepted: the order waits for dispatch.")


def _run_extension_decide(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    extension = order.extensions.filter(pk=data["extension"]).first()
    if extension is None:
        raise ValidationFailed(gettext("No such extension request."))
    approve = data["decision"] == forms.DECIDE_ACCEPT
    services.extension_decide(extension=extension, actor=request.user, approve=approve, note=data["note"])
    return gettext("Extension approved.") if approve else gettext("Extension refused.")


def _run_review(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    accept = data["decision"] == forms.DECIDE_ACCEPT
    services.order_review(order=order, actor=request.user, accept=accept, reason=data["reason"])
    return (
        gettext("Answer accepted: on to the revisit.") if accept else gettext("Answer sent back to the unit.")
    )


def _run_revisit(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    revisit = services.order_revisit(
        order=order,
        actor=request.user,
        method=data["method"],
        resolved=form.resolved_value(),
        satisfaction=data["satisfaction"],
        comment=data["comment"],
        reopen=bool(data["reopen"]),
    )
    if revisit.reopened:
        return gettext("Revisit recorded: the order goes back to dispatch for a new round.")
    return gettext("Revisit recorded: the order is closed.")


def _run_close(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    services.order_close(order=order, actor=request.user, reason=form.cleaned_data["reason"])
    return gettext("Order closed.")


def _run_cancel(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    services.order_cancel(order=order, actor=request.user, reason=form.cleaned_data["reason"])
    return gettext("Order cancelled.")


def _run_reopen(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    services.order_reopen(order=order, actor=request.user, reason=form.cleaned_data["reason"])
    return gettext("Order reopened: it waits for dispatch.")


def _run_merge(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    into = _other_order(request, data["other"])
    services.order_merge(order=order, into=into, actor=request.user, reason=data["reason"])
    return gettext("Merged into %(number)s.") % {"number": into.number}


def _run_link(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    other = _other_order(request, data["other"])
    services.order_link(order=order, other=other, actor=request.user, reason=data["reason"])
    return gettext("Linked with %(number)s.") % {"number": other.number}


def _run_supervise(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    data = form.cleaned_data
    services.order_supervise(
        order=order,
        actor=request.user,
        kind=data["kind"],
        message=data["message"],
        working_days=data["working_days"],
        escalate_to=data["escalate_to"],
    )
    if data["kind"] == "remind":
        return gettext("Reminder sent to the units.")
    return gettext("Supervision notice sent to the units.")


def _run_instruct(request: HttpRequest, order: WorkOrder, form: Any) -> str:
    services.order_instruct(order=order, actor=request.user, text=form.cleaned_data["text"])
    return gettext("Instruction given. The units handling the order are notified.")


ACTIONS: dict[str, ActionSpec] = {
    "sign": ActionSpec(_("Sign for"), forms.SignForm, HANDLE, _run_sign, "pen"),
    "answer": ActionSpec(_("Answer"), forms.AnswerForm, HANDLE, _run_answer, "reply"),
    "return": ActionSpec(_("Return"), forms.ReturnForm, HANDLE, _run_return, "undo"),
    "extension_request": ActionSpec(
        _("Ask for more time"), forms.ExtensionRequestForm, HANDLE, _run_extension_request, "calendar"
    ),
    "note": ActionSpec(_("Progress note"), forms.NoteForm, VIEW, _run_note, "message"),
    "dispatch": ActionSpec(_("Dispatch"), forms.DispatchForm, DISPATCH, _run_dispatch, "send"),
    "return_decide": ActionSpec(
        _("Decide the return"), forms.ReturnDecisionForm, DISPATCH, _run_return_decide, "undo"
    ),
    "extension_decide": ActionSpec(
        _("Decide the extension"), forms.ExtensionDecisionForm, DISPATCH, _run_extension_decide, "calendar"
    ),
    "review": ActionSpec(_("Review the answer"), forms.ReviewForm, REVIEW, _run_review, "check"),
    "revisit": ActionSpec(_("Revisit"), forms.RevisitForm, REVIEW, _run_revisit, "phone"),
    "close": ActionSpec(_("Close without revisit"), forms.ReasonForm, REVIEW, _run_close, "lock"),
    "supervise": ActionSpec(_("Supervise / remind"), forms.SuperviseForm, SUPERVISE, _run_supervise, "flag"),
    "instruct": ActionSpec(_("Instruct"), forms.InstructForm, INSTRUCT, _run_instruct, "stamp"),
    "cancel": ActionSpec(_("Cancel"), forms.ReasonForm, REVIEW, _run_cancel, "ban"),
    "merge": ActionSpec(
        _("Merge into"), forms.OrderRefForm, REVIEW, _run_merge, "merge", aliases={"into": "other"}
    ),
    "link": ActionSpec(_("Link"), forms.OrderRefForm, REVIEW, _run_link, "link"),
    "reopen": ActionSpec(_("Reopen"), forms.ReasonForm, REVIEW, _run_reopen, "refresh"),
}


# The steps that move an order on: the first of them is opened on the page. The others (notes,
# links, supervision…) wait behind their tab.
MAIN_ACTIONS = frozenset(
    {"sign", "answer", "dispatch", "return_decide", "extension_decide", "review", "revisit", "instruct"}
)


@dataclass(frozen=True)
class ActionView:
    name: str
    label: Any
    icon: str
    form: forms.ActionForm

    @property
    def has_files(self) -> bool:
        return "attachments" in self.form.fields


@dataclass(frozen=True)
class Standing:
    """Where the user stands with one order: through which assignment their unit holds it."""

    lead: bool = False
    assist: bool = False
    pending_extension: Extension | None = None


def available_actions(user: Any, order: WorkOrder, standing: Standing) -> list[str]:
    """The actions ``user`` may take on ``order`` now: the state table (``actions_from``), their
    permissions and whether their unit holds the order. The first one is the page's main action."""
    state = order.state
    moves = set(actions_from(state))
    is_open = state in OPEN_STATES
    out: list[str] = []
    if user.has_perm(HANDLE) and (standing.lead or standing.assist):
        if standing.lead:
            if OrderAction.SIGN in moves:
                out.append("sign")
            if state == OrderState.HANDLING:
                out.append("answer")
            if OrderAction.RETURN in moves:
                out.append("return")
            if state == OrderState.HANDLING and standing.pending_extension is None:
                out.append("extension_request")
        if is_open:
            out.append("note")
    if user.has_perm(DISPATCH):
        if OrderAction.DISPATCH in moves:
            out.append("dispatch")
        if OrderAction.RETURN_ACCEPT in moves:
            out.append("return_decide")
        if standing.pending_extension is not None:
            out.append("extension_decide")
    if user.has_perm(REVIEW):
        if OrderAction.REVIEW_ACCEPT in moves:
            out.append("review")
        if OrderAction.REVISIT in moves:
            out.append("revisit")
        if OrderAction.CLOSE in moves:
            out.append("close")
    if is_open and getattr(user, "role", "") in CENTRE_ROLES and user.has_perm(INTAKE) and "note" not in out:
        out.append("note")
    if is_open and user.has_perm(INSTRUCT):
        out.append("instruct")
    if is_open and user.has_perm(SUPERVISE):
        out.append("supervise")
    if user.has_perm(REVIEW):
        for action, name in ((OrderAction.CANCEL, "cancel"), (OrderAction.MERGE, "merge")):
            if action in moves:
                out.append(name)
        if state not in (OrderState.MERGED, OrderState.CANCELLED):
            out.append("link")
        if OrderAction.REOPEN in moves:
            out.append("reopen")
    return out


def _standing(user: Any, order: WorkOrder, assignments: list[Any], extensions: list[Extension]) -> Standing:
    pending = next((e for e in extensions if e.state == ExtensionState.PENDING), None)
    unit_id = getattr(user, "unit_id", None)
    lead = assist = False
    if getattr(user, "role", "") in UNIT_ROLES and unit_id is not None:
        for a in assignments:
            if a.unit_id == unit_id and a.state in ACTIVE_ASSIGNMENT_STATES:
                lead = lead or a.role == AssignmentRole.LEAD
                assist = assist or a.role == AssignmentRole.ASSIST
    return Standing(lead=lead, assist=assist, pending_extension=pending)


def _suggestion(order: WorkOrder, cache: dict[tuple[int, int], DutyAssignment | None] | None = None) -> Any:
    """The duty list's unit for the order's category and region (None when it names none)."""
    if order.category_id is None or order.region_id is None:
        return None
    key = (order.category_id, order.region_id)
    if cache is not None and key in cache:
        return cache[key]
    assert order.category is not None and order.region is not None
    duty = duty_resolve(category=order.category, region=order.region)
    if cache is not None:
        cache[key] = duty
    return duty


def _action_form(
    name: str,
    order: WorkOrder,
    user: Any,
    *,
    auto_id: str = "id_%s",
    suggestion: Any = None,
    extension: Any = None,
) -> forms.ActionForm:
    spec = ACTIONS[name]
    initial: dict[str, Any] = {}
    labels: dict[str, str] = {}
    if suggestion is not None:
        labels[suggestion.unit.code] = suggestion.unit.name
    if name == "dispatch" and suggestion is not None:
        initial["lead_unit"] = suggestion.unit.code
    if name == "return_decide" and suggestion is not None and suggestion.unit_id != order.lead_unit_id:
        initial["new_lead_unit"] = suggestion.unit.code  # the duty list names another unit: re-dispatch there
    if name == "extension_decide" and extension is not None:
        initial["extension"] = extension.pk
    if name == "supervise" and getattr(user, "role", "") == "leader":
        initial["kind"] = "remind"
    return spec.form(order=order, user=user, prefix=name, initial=initial, auto_id=auto_id, labels=labels)


# --- The order page ----------------------------------------------------------------------------


def _detail_order(request: HttpRequest, number: str) -> WorkOrder:
    qs = orders_visible_to(request.user).select_related(
        "lead_unit",
        "request_type",
        "category__parent__parent",
        "region__parent__parent__parent",
        "created_by",
        "merged_into",
    )
    return get_object_or_404(qs, number=number)


def _detail_context(
    request: HttpRequest, order: WorkOrder, *, bound: forms.ActionForm | None = None, bound_name: str = ""
) -> dict[str, Any]:
    user = request.user
    centre = DataScope.for_user(user).everything
    assignments = list(order.assignments.select_related("unit", "signed_by").order_by("dispatched_at", "id"))
    extensions = list(
        order.extensions.select_related("unit", "requested_by", "decided_by").order_by("requested_at")
    )
    files = list(order.attachments.select_related("uploaded_by", "event").order_by("uploaded_at", "id"))
    if not centre:
        files = [f for f in files if f.event is None or f.event.visible_to_units]
    standing = _standing(user, order, assignments, extensions)
    names = available_actions(user, order, standing)
    suggestion = _suggestion(order) if {"dispatch", "return_decide"} & set(names) else None
    actions = []
    for name in names:
        if bound is not None and name == bound_name:
            form = bound
        else:
            form = _action_form(
                name, order, user, suggestion=suggestion, extension=standing.pending_extension
            )
        spec = ACTIONS[name]
        actions.append(ActionView(name, spec.label, spec.icon, form))
    link_ids = set(
        OrderLink.objects.filter(Q(a=order) | Q(b=order)).values_list("a_id", "b_id")
    )  # fmt: skip
    other_ids = {i for pair in link_ids for i in pair} - {order.pk}
    linked = (
        list(orders_visible_to(user).filter(pk__in=other_ids).order_by("-created_at")) if other_ids else []
    )
    merged = list(orders_visible_to(user).filter(merged_into=order).order_by("-created_at"))
    last_return = None
    if order.state == OrderState.RETURN_REQUESTED:
        last_return = (
            order.events.filter(action=OrderAction.RETURN)
            .select_related("actor", "actor_unit")
            .order_by("-id")
            .first()
        )
    return {
        "order": order,
        "clock": order_clock(order),
        "citizen": citizen_fields(order=order, user=user, audit=True),
        "category_label": forms.category_label(order.category),
        "region_label": forms.region_label(order.region),
        "timeline": _timeline(order, user, files),
        "assignments": assignments,
        "extensions": extensions,
        "revisits": list(order.revisits.select_related("by").order_by("at")),
        "supervisions": list(order.supervisions.select_related("by", "escalated_to").order_by("at")),
        "instructions": list(order.instructions.select_related("leader", "leader__unit").order_by("-at")),
        "attachments": files,
        "linked": linked,
        "merged": merged,
        "standing": standing,
        "actions": actions,
        "open_action": bound_name or (names[0] if names and names[0] in MAIN_ACTIONS else ""),
        "suggestion": suggestion,
        "last_return": last_return,
        "is_centre": centre,
    }


@view_requires(VIEW)
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    """One order: every field (the citizen masked as the user may see them), its units, deadlines,
    files, the timeline, and the forms of the steps the user may take now."""
    order = _detail_order(request, number)
    return render(request, "workorders/detail.html", _detail_context(request, order))


@view_requires(VIEW)
@require_POST
def order_act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    """Take one step on an order (``action`` names it: sign, answer, dispatch, review…)."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    if not request.user.has_perm(spec.perm):
        raise PermissionDenied
    order = _detail_order(request, number)
    via_queue = request.POST.get("via") == "queue" and _is_htmx(request)
    auto_id = f"id_{order.number}_%s" if via_queue else "id_%s"
    form = spec.form(
        request.POST, request.FILES, order=order, user=request.user, prefix=action, auto_id=auto_id
    )
    conflict = ""
    done = ""
    if form.is_valid():
        seen = form.cleaned_data.get("seen")
        if seen and seen != order.state:
            conflict = forms.conflict_message("state_changed")
        else:
            try:
                done = spec.run(request, order, form)
            except Conflict as exc:
                if exc.code in ("state_changed", "invalid_state"):
                    conflict = forms.conflict_message(exc.code)
                else:
                    conflict = forms.service_message(exc.message)
            except ServiceError as exc:
                forms.apply_service_error(form, exc, aliases=spec.aliases)
    if via_queue:
        return _queue_row_response(request, order, action, form=form, done=done, conflict=conflict)
    if done:
        messages.success(request, done)
        return redirect(_safe_next(request) or reverse("workorders:detail", args=[order.number]))
    if conflict:
        messages.error(request, conflict)
        return redirect("workorders:detail", order.number)
    order = _detail_order(request, number)
    context = _detail_context(request, order, bound=form, bound_name=action)
    return render(request, "workorders/detail.html", context, status=422)


@view_requires(VIEW)
def attachment_download(request: HttpRequest, number: str, pk: int) -> FileResponse:
    """A file of an order, only to those who may see the order (anyone else: not found)."""
    order = get_object_or_404(orders_visible_to(request.user), number=number)
    attachment = get_object_or_404(Attachment.objects.select_related("event"), pk=pk, order=order)
    if (
        attachment.event is not None
        and not attachment.event.visible_to_units
        and not DataScope.for_user(request.user).everything
    ):
        raise Http404
    inline = attachment.content_type.startswith("image/") or attachment.content_type == "application/pdf"
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=not inline,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- The centre's queues ---------------------------------------------------------------------

QUEUES: list[tuple[str, Any, str]] = [
    ("dispatch", _("To dispatch"), DISPATCH),
    ("returns", _("Returns"), DISPATCH),
    ("review", _("To review"), REVIEW),
    ("revisit", _("To revisit"), REVIEW),
    ("extensions", _("Extensions"), DISPATCH),
    ("overdue", _("Overdue"), DISPATCH),
    ("supervised", _("Supervised"), DISPATCH),
]
QUEUE_ACTION = {
    "dispatch": "dispatch",
    "returns": "return_decide",
    "review": "review",
    "revisit": "revisit",
    "extensions": "extension_decide",
    "overdue": "supervise",
    "supervised": "supervise",
}


@dataclass
class Tab:
    key: str
    label: Any
    count: int
    url: str
    tone: str = ""


def queue_tabs(user: Any) -> list[Tab]:
    base = reverse("workorders:queue")
    tabs = []
    for key, label, perm in QUEUES:
        if user.has_perm(perm):
            tone = "danger" if key == "overdue" else ""
            tabs.append(Tab(key, label, centre_queue(queue=key).count(), f"{base}?queue={key}", tone))
    return tabs


def _queue_extras(queue: str, orders: list[WorkOrder]) -> dict[int, dict[str, Any]]:
    """What a queue's rows show beyond the order: the return, the pending extension."""
    extras: dict[int, dict[str, Any]] = {o.pk: {} for o in orders}
    ids = list(extras)
    if not ids:
        return extras
    if queue == "returns":
        returns = OrderEvent.objects.filter(order_id__in=ids, action=OrderAction.RETURN).select_related(
            "actor", "actor_unit"
        )
        for event in returns.order_by("id"):
            extras[event.order_id]["returned"] = event
    if queue == "extensions":
        pending = Extension.objects.filter(order_id__in=ids, state=ExtensionState.PENDING).select_related(
            "unit", "requested_by"
        )
        for extension in pending:
            extras[extension.order_id]["extension"] = extension
    return extras


def _queue_row(
    order: WorkOrder,
    queue: str,
    user: Any,
    *,
    extras: dict[str, Any],
    cache: dict[tuple[int, int], DutyAssignment | None],
    form: forms.ActionForm | None = None,
) -> Row:
    row = Row(order=order, clock=order_clock(order), extras=dict(extras))
    since = {"dispatch": order.created_at, "returns": order.clock_paused_at}.get(queue)
    if since is not None:
        row.extras["waiting"] = gettext("waiting %(span)s") % {
            "span": _span(max((timezone.now() - since).total_seconds(), 0))
        }
    action = QUEUE_ACTION[queue]
    if action in ("dispatch", "return_decide"):
        row.extras["suggestion"] = _suggestion(order, cache)
    if ACTIONS[action].perm and user.has_perm(ACTIONS[action].perm):
        row.extras["form"] = form or _action_form(
            action,
            order,
            user,
            auto_id=f"id_{order.number}_%s",
            suggestion=row.extras.get("suggestion"),
            extension=row.extras.get("extension"),
        )
        row.extras["action"] = action
    return row


@view_requires(VIEW)
def queue(request: HttpRequest) -> HttpResponse:
    """The centre's queues — dispatch, returns, review, revisit, extensions, overdue, supervised —
    with the step of each queue taken inline, row by row."""
    tabs = queue_tabs(request.user)
    if not tabs:
        raise PermissionDenied
    keys = [t.key for t in tabs]
    current = request.GET.get("queue") or keys[0]
    if current not in keys:
        if current in QUEUE_ACTION:
            raise PermissionDenied
        current = keys[0]
    if request.GET.get("part") == "tabs":
        return render(
            request, "workorders/_tabs.html", {"tabs": tabs, "current": current, "tabs_id": "queue-tabs"}
        )
    qs = _list_related(centre_queue(queue=current))
    if current in ("overdue", "supervised"):
        qs = qs.order_by("due_at", "id")
    page = _page(request, qs, QUEUE_PER_PAGE)
    orders = list(page.object_list)
    extras = _queue_extras(current, orders)
    cache: dict[tuple[int, int], DutyAssignment | None] = {}
    rows = [_queue_row(o, current, request.user, extras=extras[o.pk], cache=cache) for o in orders]
    context = {
        "tabs": tabs,
        "current": current,
        "current_label": next(t.label for t in tabs if t.key == current),
        "rows": rows,
        "page": page,
        "query": _query_without_page(request),
    }
    return render(request, "workorders/queue.html", context)


def _queue_row_response(
    request: HttpRequest, order: WorkOrder, action: str, *, form: forms.ActionForm, done: str, conflict: str
) -> HttpResponse:
    queue_name = request.POST.get("queue", "")
    if queue_name not in QUEUE_ACTION:
        queue_name = next((q for q, a in QUEUE_ACTION.items() if a == action), "dispatch")
    order.refresh_from_db()
    if done or conflict:
        row = Row(order=order, clock=order_clock(order))
        context = {"row": row, "queue": queue_name, "done": done, "conflict": conflict}
        response = render(request, "workorders/_queue_row.html", context)
        response["HX-Trigger"] = "queueChanged"
        return response
    extras = _queue_extras(queue_name, [order])[order.pk]
    row = _queue_row(order, queue_name, request.user, extras=extras, cache={}, form=form)
    return render(request, "workorders/_queue_row.html", {"row": row, "queue": queue_name})


# --- The unit inbox ---------------------------------------------------------------------------

BOXES: list[tuple[str, Any]] = [
    ("to_sign", _("To sign")),
    ("handling", _("Handling")),
    ("near_deadline", _("Near deadline")),
    ("overdue", _("Overdue")),
    ("answered", _("Answered")),
]


def inbox_tabs(unit: Unit, assisting: list[int] | None = None) -> list[Tab]:
    base = reverse("workorders:inbox")
    tones = {"near_deadline": "warn", "overdue": "danger"}
    counts = inbox_counts(unit=unit, assisting=assisting)
    return [Tab(key, label, counts[key], f"{base}?box={key}", tones.get(key, "")) for key, label in BOXES]


@view_requires(HANDLE)
def inbox(request: HttpRequest) -> HttpResponse:
    """The unit's orders: to sign, handling, near their deadline, overdue, answered."""
    unit = getattr(request.user, "unit", None)
    keys = [k for k, _label in BOXES]
    box = request.GET.get("box") or keys[0]
    if box not in keys:
        box = keys[0]
    context: dict[str, Any] = {"unit": unit, "current": box}
    if unit is not None:
        assisting = unit_assisting(unit)
        instructed = Exists(Instruction.objects.filter(order=OuterRef("pk")))
        orders = each(
            unit_inbox(unit=unit, box=box, assisting=assisting),
            lambda qs: qs.select_related(*LIST_RELATED).annotate(instructed=instructed),
        )
        page = _page(request, orders)
        context.update(
            tabs=inbox_tabs(unit, assisting),
            page=page,
            rows=order_rows(page.object_list),
            query=_query_without_page(request),
            current_label=dict(BOXES)[box],
            here=request.get_full_path(),
        )
    return render(request, "workorders/inbox.html", context)


# --- The leader view ----------------------------------------------------------------------------


@view_requires(INSTRUCT)
def leader(request: HttpRequest) -> HttpResponse:
    """Overdue and supervised orders in the leader's region, with the count of each unit."""
    open_orders = orders_visible_to(request.user).filter(state__in=OPEN_STATES)
    overdue_q = Q(deadline_level=100)
    supervised_q = Q(supervised=True)
    show = request.GET.get("show") if request.GET.get("show") in ("overdue", "supervised") else "overdue"
    totals = open_orders.aggregate(
        open=Count("id"),
        overdue=Count("id", filter=overdue_q),
        supervised=Count("id", filter=supervised_q),
        warning=Count("id", filter=Q(deadline_level__in=[70, 90])),
    )
    by_unit = list(
        open_orders.filter(lead_unit__isnull=False)
        .values("lead_unit__code", "lead_unit__name")
        .annotate(
            total=Count("id"),
            overdue=Count("id", filter=overdue_q),
            supervised=Count("id", filter=supervised_q),
        )
        .filter(Q(overdue__gt=0) | Q(supervised__gt=0))
        .order_by("-overdue", "-supervised", "lead_unit__name")[:20]
    )
    qs = _list_related(open_orders.filter(overdue_q if show == "overdue" else supervised_q)).annotate(
        instructed=Exists(Instruction.objects.filter(order=OuterRef("pk")))
    )
    page = _page(request, qs.order_by("due_at", "id"))
    base = reverse("workorders:leader")
    tabs = [
        Tab("overdue", _("Overdue"), totals["overdue"], f"{base}?show=overdue", "danger"),
        Tab("supervised", _("Supervised"), totals["supervised"], f"{base}?show=supervised"),
    ]
    context = {
        "totals": totals,
        "by_unit": by_unit,
        "tabs": tabs,
        "current": show,
        "page": page,
        "rows": order_rows(page.object_list),
        "query": _query_without_page(request),
        "scope_region": getattr(getattr(request.user, "unit", None), "region", None),
    }
    return render(request, "workorders/leader.html", context)


# --- Search ------------------------------------------------------------------------------------


def _export_query(form: forms.OrderFilterForm) -> str:
    """The list's filters for the Excel export (``/orders/export/list.xlsx``: "until" is exclusive)."""
    if not (form.is_bound and form.is_valid()):
        return ""
    params: dict[str, str] = {}
    for key, value in form.cleaned_data.items():
        if not value:
            continue
        if key in ("unit", "category"):
            params[key] = value.code
        elif key == "until":
            params[key] = (value + timedelta(days=1)).isoformat()
        elif key == "since":
            params[key] = value.isoformat()
        else:
            params[key] = str(value).strip()
    return urlencode(params)


@view_requires(VIEW)
def order_list(request: HttpRequest) -> HttpResponse:
    """Every order the user may see, filtered and paginated (newest first)."""
    form = forms.OrderFilterForm(request.GET or None)
    f = OrderFilter()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        f = OrderFilter(
            states=(data["state"],) if data["state"] else (),
            unit_code=data["unit"].code if data["unit"] else "",
            category_code=data["category"].code if data["category"] else "",
            channel=data["channel"],
            number=data["number"].strip(),
            phone=data["phone"].strip(),
            since=local_midnight(data["since"]) if data["since"] else None,
            # "received to" a date includes that whole day
            until=local_midnight(data["until"]) + timedelta(days=1) if data["until"] else None,
            deadline_level=int(data["deadline_level"]) if data["deadline_level"] else None,
            q=data["q"].strip(),
        )
    page = _page(request, _list_related(orders_search(request.user, f)))
    unit_label = ""
    category_label = ""
    if form.is_bound and form.is_valid():
        unit_label = forms.unit_label(form.cleaned_data["unit"])
        category = form.cleaned_data["category"]
        category_label = forms.category_label(category) if category else ""
    context = {
        "form": form,
        "page": page,
        "rows": order_rows(page.object_list),
        "query": _query_without_page(request),
        "export_query": _export_query(form),
        "unit_label": unit_label,
        "category_label": category_label,
        "filtered": form.is_bound and any(v for k, v in request.GET.items() if k != "page"),
    }
    return render(request, "workorders/list.html", context)
