"""The supervisor wall (班长监控墙) and the test phone (测试话机). See docs/desktop.md.

Both pages speak the live protocol through the page's one socket (``notify/bell.html``); the
views only hand them what the database knows: the queues and their members, the pause reasons,
the supervisor's seat, the hotline numbers, the labels in the user's language, and today's queue
figures (``wall_stats``, an htmx part the wall reloads every 10 s).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from hotline.core.localtime import local_day
from hotline.core.permissions import view_requires
from hotline.workorders.choices import OrderState

from . import records as r
from .choices import AgentState
from .models import AgentProfile, HotlineNumber, ListEntry, PauseReason, Queue, QueueMembership
from .selectors import QueueStats, queue_stats

SUPERVISE = "callcenter.supervise_agents"
# Today's figures are shared by every wall for this long (seconds); the wall reloads them every 10 s.
FIGURES_CACHE_S = 5
# The test phone's caller when the demo citizens are not there.
DEFAULT_TEST_CALLER = "13800138000"
# The test phone's keypad: key, its name in test ids, the letters printed under it.
KEYPAD = (
    ("1", "1", ""),
    ("2", "2", "ABC"),
    ("3", "3", "DEF"),
    ("4", "4", "GHI"),
    ("5", "5", "JKL"),
    ("6", "6", "MNO"),
    ("7", "7", "PQRS"),
    ("8", "8", "TUV"),
    ("9", "9", "WXYZ"),
    ("*", "star", ""),
    ("0", "0", "+"),
    ("#", "hash", ""),
)
# Agent states in the order the wall counts them.
WALL_STATE_ORDER = (
    r.AGENT_READY,
    r.AGENT_RINGING,
    r.AGENT_TALKING,
    r.AGENT_HOLD,
    r.AGENT_WRAP_UP,
    r.AGENT_PAUSED,
    r.AGENT_LOCKED,
    r.AGENT_OFF_HOOK,
    r.AGENT_LOGGED_OUT,
)


# --- Today's figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureRow:
    """One queue's figures of the day (or the total when ``code`` is empty), ready to show."""

    code: str
    name: str
    offered: int
    answered: int
    abandoned: int
    abandoned_short: int
    service_level_s: int | None
    service_level: str  # "85.7%" or "—"
    asa: str  # seconds, "12.5" or "—"

    @classmethod
    def of(cls, stats: QueueStats, name: str) -> FigureRow:
        sl = stats.service_level
        asa = stats.asa_s
        return cls(
            code=stats.queue,
            name=name,
            offered=stats.offered,
            answered=stats.answered,
            abandoned=stats.abandoned,
            abandoned_short=stats.abandoned_short,
            service_level_s=stats.service_level_s,
            service_level="—" if sl is None else f"{sl * 100:.1f}%",
            asa="—" if asa is None else f"{asa:.1f}",
        )


def wall_figures(*, now: datetime, queue: str = "") -> dict[str, Any]:
    """Today's figures per active queue (``queue``: only that one) and in total, from the queue
    event log and the call records (``selectors.queue_stats``)."""
    start, end = local_day(now)
    names = dict(Queue.objects.filter(active=True).order_by("code").values_list("code", "name"))
    report = queue_stats(start=start, end=end, queues=[queue] if queue else None, now=now)
    found = {stats.queue: stats for stats in report.queues}
    codes = [queue] if queue else sorted(set(names) | set(found))
    rows = [FigureRow.of(found.get(code) or QueueStats(queue=code), names.get(code, code)) for code in codes]
    calls = report.calls
    return {
        "rows": rows,
        "total": FigureRow.of(report.total, ""),
        "calls_total": calls.get("total", 0),
        "calls_answered": calls.get(r.OUTCOME_ANSWERED, 0),
        "calls_abandoned": calls.get(r.OUTCOME_ABANDONED, 0),
        "calls_ivr": calls.get(r.OUTCOME_IVR, 0),
        "since": start,
        "now": now,
    }


def wall_figures_shared(*, queue: str = "") -> dict[str, Any]:
    """``wall_figures`` as of now, computed at most once per ``FIGURES_CACHE_S`` for every screen
    that asks (a day of a large centre is some 100,000 queue events: most of a second to read)."""
    key = f"callcenter:wall-figures:{queue}"
    figures: dict[str, Any] | None = cache.get(key)
    if figures is None:
        figures = wall_figures(now=timezone.now(), queue=queue)
        cache.set(key, figures, FIGURES_CACHE_S)
    return figures


def _queue_param(request: HttpRequest, codes: list[str]) -> str:
    """The ``queue`` query parameter when it names one of ``codes``; anything else is ignored."""
    value = request.GET.get("queue", "")
    return value if value in codes else ""


# --- Labels the pages' scripts show ------------------------------------------------------------------


def _state_labels() -> dict[str, str]:
    labels = {str(value): str(label) for value, label in AgentState.choices}
    return {state: labels.get(state, state) for state in WALL_STATE_ORDER}


def _common_texts() -> dict[str, Any]:
    """Texts both pages need for the live protocol: actions and error codes (``cc.error``)."""
    return {
        "actions": {
            "wall": _("Wall snapshot"),
            "monitor": _("Monitor"),
            "monitor_end": _("End monitoring"),
            "force_release": _("Force release"),
            "force_pause": _("Force pause"),
            "force_logout": _("Force sign-out"),
            "unlock": _("Unlock"),
            "take": _("Take the call"),
            "phone_call": _("Place a call"),
            "phone_press": _("Press keys"),
            "phone_hangup": _("Hang up"),
        },
        "errors": {
            "bad_state": _("Not possible in the agent's current state."),
            "unknown_agent": _("The agent is not signed in to the phone."),
            "unknown_call": _("The call no longer exists."),
            "unknown_queue": _("Unknown queue."),
            "not_ready": _("The agent is not ready."),
            "no_call": _("The agent is not on a call."),
            "bad_target": _("Invalid target."),
            "bad_value": _("Invalid value."),
            "forbidden": _("You may not do this."),
            "permission_denied": _("You may not do this."),
            "switch_down": _("Switch not connected"),
            "bad_message": _("The switch did not understand the request."),
            "unknown_action": _("The switch did not understand the request."),
            "failed": _("The switch could not carry it out."),
        },
        "error_prefix": _("%(action)s failed: %(message)s"),
        "offline": _("The live connection is down; reconnecting…"),
        "switch_down": _("Switch not connected"),
    }


def _wall_texts() -> dict[str, Any]:
    return {
        **_common_texts(),
        "modes": {"listen": _("Listening"), "whisper": _("Whispering"), "barge": _("Barged in")},
        "confirm_release": _("End the call of %(agent)s (force release)?"),
        "confirm_pause": _("Pause %(agent)s with reason “%(reason)s”?"),
        "confirm_logout": _("Sign %(agent)s out of the phone?"),
        "no_ready_agent": _("No ready agent"),
        "pick_agent": _("Pick a ready agent first."),
        "extension": _("ext. %(ext)s"),
        "reasons": {
            "login": _("Just signed in"),
            "after_call": _("After the call"),
            "supervisor": _("By the supervisor"),
            "busy": _("Phone busy"),
            "no_answer": _("Unanswered offers"),
        },
    }


def _prompt_labels() -> dict[str, Any]:
    """Labels of the prompts the engine and the demo flows play; unknown names are shown as they are."""
    music = set(Queue.objects.values_list("music", flat=True)) | {"moh"}
    return {
        "names": {
            "welcome": _("Welcome to the 12345 hotline"),
            "main_menu": _("Main menu"),
            "invalid": _("Invalid key, please try again"),
            "enter_number": _("Please key in the tracking number, then #"),
            "status_unknown": _("No order found with that number"),
            "leave_message": _("Please leave a message after the tone"),
            "closed": _("Outside working hours"),
            "goodbye": _("Goodbye"),
            "callback_offer": _("Press 1 to be called back"),
            "callback_confirmed": _("Callback booked"),
            "all_busy_goodbye": _("All agents are busy, please call again later"),
            **{name: _("Music on hold") for name in sorted(music) if name},
        },
        "families": {
            "status": _("Order state: %(value)s"),
            "position": _("You are number %(value)s in the queue"),
            "wait_minutes": _("Expected wait: %(value)s min"),
            "digits": _("Reads out: %(value)s"),
        },
        "order_states": {str(value): str(label) for value, label in OrderState.choices},
        "parties": {
            "agent": _("Agent %(value)s"),
            "tel": _("Outside line %(value)s"),
            "ext": _("Extension %(value)s"),
            "supervisor": _("Supervisor %(value)s"),
        },
    }


def _own_extension(request: HttpRequest) -> str:
    """The extension of the supervisor's default seat (their AgentProfile), or ""."""
    seat = (
        AgentProfile.objects.filter(user_id=request.user.pk or 0, default_seat__isnull=False)
        .values_list("default_seat__extension", flat=True)
        .first()
    )
    return seat or ""


# --- Views ---------------------------------------------------------------------------------------------


@view_requires(SUPERVISE)
def wall(request: HttpRequest) -> HttpResponse:
    queues = list(
        Queue.objects.filter(active=True).order_by("code").values("code", "name", "service_level_s")
    )
    codes = [q["code"] for q in queues]
    members: dict[str, list[int]] = {code: [] for code in codes}
    for code, agent_id in QueueMembership.objects.filter(queue__code__in=codes).values_list(
        "queue__code", "agent_id"
    ):
        members[code].append(agent_id)
    reasons = list(PauseReason.objects.filter(active=True).values("code", "name"))
    extension = _own_extension(request)
    states = _state_labels()
    config = {
        "queues": queues,
        "members": members,
        "pause_reasons": reasons,
        "states": states,
        "state_order": list(WALL_STATE_ORDER),
        "call_states": [r.AGENT_TALKING, r.AGENT_HOLD],
        "texts": _wall_texts(),
    }
    context = {
        "config": config,
        "queues": queues,
        "states": [(code, states[code]) for code in WALL_STATE_ORDER],
        "pause_reasons": reasons,
        "monitor_extension": extension,
        "stats_url": reverse("callcenter:wall_stats"),
        "figures": wall_figures_shared(),
        "stats_queue": "",
    }
    return render(request, "callcenter/wall.html", context)


@view_requires(SUPERVISE)
def wall_stats(request: HttpRequest) -> HttpResponse:
    codes = list(Queue.objects.filter(active=True).values_list("code", flat=True))
    queue = _queue_param(request, codes)
    context = {
        "stats_url": reverse("callcenter:wall_stats") + (f"?{urlencode({'queue': queue})}" if queue else ""),
        "figures": wall_figures_shared(queue=queue),
        "stats_queue": queue,
    }
    return render(request, "callcenter/_wall_stats.html", context)


def _test_callers() -> list[tuple[str, str]]:
    """Numbers worth calling from: the demo citizens that exist, then the VIP, white and black lists."""
    from hotline.citizens.models import Citizen
    from hotline.core.demo import CITIZENS

    demo = {phone: name for name, phone, _address, _region in CITIZENS}
    present = set(Citizen.objects.filter(phone__in=list(demo)).values_list("phone", flat=True))
    numbers = [
        (phone, _("Demo citizen %(name)s") % {"name": demo[phone]}) for phone in demo if phone in present
    ]
    for entry in ListEntry.objects.order_by("kind", "number")[:20]:
        numbers.append((entry.number, str(entry.get_kind_display())))
    return numbers


@view_requires(SUPERVISE)
def phone(request: HttpRequest) -> HttpResponse:
    numbers = list(HotlineNumber.objects.filter(active=True).order_by("number").values("number", "name"))
    callers = _test_callers()
    demo_callers = [number for number, label in callers if number.startswith("1380099")]
    config = {
        "prompts": _prompt_labels(),
        "texts": {
            **_common_texts(),
            "states": {
                "dialing": _("Calling…"),
                "ringing": _("Calling"),
                "answered": _("Connected"),
                "ended": _("Ended"),
                "idle": _("Idle"),
            },
            "log_key": _("Pressed %(value)s"),
            "log_heard": _("Heard: %(value)s"),
            "log_hears": _("Now hearing: %(value)s"),
            "log_dial": _("Dialled %(called)s from %(caller)s"),
            "log_state": _("Call: %(value)s"),
            "nothing": _("Nothing"),
            "no_caller": _("Enter the caller's number."),
            "no_called": _("Pick the hotline number to call."),
        },
    }
    context = {
        "config": config,
        "numbers": numbers,
        "callers": callers,
        "default_caller": demo_callers[0] if demo_callers else DEFAULT_TEST_CALLER,
        "keys": KEYPAD,
    }
    return render(request, "callcenter/phone.html", context)
