"""Telephony API under ``/api/v1/telephony``: call recordings and the trunk hours.

Recordings need ``telephony.play_recording``; callers' numbers are masked for roles without
``citizens.view_personal_data`` and a page that shows them unmasked writes one audit row. The
audio itself is played through the screen's address (``audio_url``), which audits each playback.
The trunk hours need ``callcenter.view_all_stats``. Bad filter values answer 422
``validation_error`` with the field named.
"""

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from hotline.accounts.models import User
from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record
from hotline.core.api import requires
from hotline.core.errors import ValidationFailed
from hotline.core.localtime import LOCAL_TZ
from hotline.core.masking import mask_phone

from .models import Recording
from .recordings import RecordingFilter, recording_verify, recordings_filter, trunk_hours

router = Router()

PLAY = "telephony.play_recording"
STATS = "callcenter.view_all_stats"
PERSONAL = "citizens.view_personal_data"


class RecordingOut(Schema):
    id: int
    call_id: str
    started_at: datetime
    ended_at: datetime
    seconds: float
    caller: str
    called: str
    agent_id: int | None
    agent_name: str
    trunk: str
    queue: str
    order_number: str
    sha256: str
    size_bytes: int
    purged_at: datetime | None
    audio_url: str | None


class VerifyOut(Schema):
    id: int
    ok: bool
    problem: str
    expected: str
    actual: str


class FiguresOut(Schema):
    offered: int
    answered: int
    failed: int


class TrunkHourOut(Schema):
    trunk: str
    hour: datetime
    inbound: FiguresOut
    outbound: FiguresOut
    total: FiguresOut


class TrunkTotalOut(Schema):
    trunk: str
    inbound: FiguresOut
    outbound: FiguresOut
    total: FiguresOut


class TrunkHoursOut(Schema):
    date_from: date
    date_to: date
    rows: list[TrunkHourOut]
    totals: list[TrunkTotalOut]


def _recording(r: Recording, unmasked: bool) -> dict[str, Any]:
    return {
        "id": r.pk,
        "call_id": r.call_id,
        "started_at": r.started_at,
        "ended_at": r.ended_at,
        "seconds": r.seconds,
        "caller": r.caller if unmasked else mask_phone(r.caller),
        "called": r.called if unmasked else mask_phone(r.called),
        "agent_id": r.agent_id,
        "agent_name": r.agent_name,
        "trunk": r.trunk,
        "queue": r.queue,
        "order_number": r.order_number,
        "sha256": r.sha256,
        "size_bytes": r.size_bytes,
        "purged_at": r.purged_at,
        "audio_url": None if r.purged_at else reverse("telephony:recording_audio", args=[r.pk]),
    }


def _unmasked(request: HttpRequest, count: int, purpose: str) -> bool:
    if not request.user.has_perm(PERSONAL):
        return False
    if count:
        audit_record(
            action=AuditAction.READ,
            object_type=Recording._meta.label_lower,
            object_repr=purpose,
            after={"fields": ["caller", "called"], "count": count},
            note=purpose,
        )
    return True


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        return value.replace(tzinfo=LOCAL_TZ)  # a time without an offset is the centre's
    return value


def _number(value: str | None, field: str) -> str:
    number = (value or "").strip().replace(" ", "").replace("-", "")
    if number and not (number.lstrip("+").isdigit() and 3 <= len(number.lstrip("+")) <= 20):
        raise ValidationFailed("Some filters are not valid.", fields={field: ["3 to 20 digits"]})
    return number


class _RecordingPage:
    """A lazy page of recordings: masked, or audited once the paginator has sliced it."""

    def __init__(self, request: HttpRequest, qs: QuerySet[Recording]) -> None:
        self.request, self.qs = request, qs

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        rows = list(self.qs[item])
        unmasked = _unmasked(self.request, len(rows), "recording search")
        return [_recording(r, unmasked) for r in rows]


@router.get("/recordings", response=list[RecordingOut])
@requires(PLAY)
@paginate(LimitOffsetPagination)
def recording_search(
    request: HttpRequest,
    since: datetime | None = None,
    until: datetime | None = None,
    number: str | None = None,
    caller: str | None = None,
    called: str | None = None,
    agent: str | None = None,
    trunk: str | None = None,
    queue: str | None = None,
    order: str | None = None,
) -> Any:
    """Recordings, newest first: start time ``[since, until)`` (without an offset: Asia/Shanghai),
    a number (caller or called), the caller, the called number, an agent (username), a trunk, a
    queue, an order (the order on the recording or any order linked to its call)."""
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and until <= since:
        raise ValidationFailed("Some filters are not valid.", fields={"until": ["after since"]})
    agent_id = None
    if agent:
        agent_id = User.objects.filter(username=agent).values_list("pk", flat=True).first()
        if agent_id is None:
            raise ValidationFailed("Some filters are not valid.", fields={"agent": ["unknown username"]})
    f = RecordingFilter(
        since=since,
        until=until,
        number=_number(number, "number"),
        caller=_number(caller, "caller"),
        called=_number(called, "called"),
        agent_id=agent_id,
        trunk=(trunk or "").strip(),
        queue=(queue or "").strip(),
        order=(order or "").strip(),
    )
    qs = recordings_filter(Recording.objects.all(), f).order_by("-started_at", "-id")
    return _RecordingPage(request, qs)


@router.get("/recordings/{recording_id}", response=RecordingOut)
@requires(PLAY)
def recording_detail(request: HttpRequest, recording_id: int) -> Any:
    recording = get_object_or_404(Recording, pk=recording_id)
    return _recording(recording, _unmasked(request, 1, "recording"))


@router.get("/recordings/{recording_id}/verify", response=VerifyOut)
@requires(PLAY)
def recording_check(request: HttpRequest, recording_id: int) -> Any:
    """Hash the recording's file now and compare it with the stored SHA-256."""
    v = recording_verify(get_object_or_404(Recording, pk=recording_id))
    return {
        "id": v.recording_id,
        "ok": v.ok,
        "problem": v.problem,
        "expected": v.expected,
        "actual": v.actual,
    }


@router.get("/trunks/hours", response=TrunkHoursOut)
@requires(STATS)
def trunk_hours_report(request: HttpRequest, date_from: date, date_to: date, trunk: str | None = None) -> Any:
    """Offered, answered and failed per trunk and hour (Asia/Shanghai) from ``date_from`` to
    ``date_to`` (both included, at most 31 days); see docs/telephony.md "Trunk records"."""
    report = trunk_hours(date_from=date_from, date_to=date_to, trunk=(trunk or "").strip())
    totals = report.totals()
    return {
        "date_from": report.date_from,
        "date_to": report.date_to,
        "rows": [
            {
                "trunk": r.trunk,
                "hour": r.hour,
                "inbound": r.inbound.as_dict(),
                "outbound": r.outbound.as_dict(),
                "total": r.total.as_dict(),
            }
            for r in report.rows
        ],
        "totals": [
            {"trunk": code, **{k: f.as_dict() for k, f in sums.items()}}
            for code, sums in totals.items()
            if code
        ],
    }
