"""The telephony screens: call recordings (search and play in the browser) and the trunk hours
(docs/telephony.md, "Recordings" and "Trunk records").

Recordings are for ``telephony.play_recording`` (supervisors, administrators); every playback is
audited (``recordings.audio_playback``). Callers' numbers are shown unmasked only to roles with
``citizens.view_personal_data``, and a page that shows them writes one audit row, as the call
record search does. The trunk hours are for ``callcenter.view_all_stats``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_safe

from hotline.accounts.models import User
from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record
from hotline.core.errors import ValidationFailed
from hotline.core.localtime import LOCAL_TZ
from hotline.core.masking import mask_phone
from hotline.core.permissions import view_requires

from .models import Recording, Trunk
from .recordings import (
    RecordingFilter,
    TrunkFigures,
    TrunkReport,
    audio_playback,
    recordings_filter,
    trunk_hours,
)

PLAY = "telephony.play_recording"
STATS = "callcenter.view_all_stats"
PERSONAL = "citizens.view_personal_data"
PER_PAGE = 50
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        css = "wo-select" if isinstance(field.widget, forms.Select) else "wo-input"
        field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} {css}".strip()


def agents_for_filter() -> list[tuple[str, str]]:
    """(user id, name) of the agents (a profile or a queue membership), for the agent filter."""
    users = (
        User.objects.filter(Q(agent_profile__isnull=False) | Q(queue_memberships__isnull=False))
        .distinct()
        .order_by("username")
    )
    return [(str(u.pk), f"{u.display_name} ({u.username})") for u in users]


class RecordingFilterForm(forms.Form):
    """The search of the recordings screen. Times are the centre's (Asia/Shanghai)."""

    since = forms.DateTimeField(
        label=_("Started from"),
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    until = forms.DateTimeField(
        label=_("Started before"),
        required=False,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    number = forms.RegexField(
        label=_("Caller or called number"),
        regex=r"^\+?[0-9]{3,20}$",
        required=False,
        max_length=21,
        error_messages={"invalid": _("Digits only, at least three.")},
    )
    agent = forms.ChoiceField(label=_("Agent"), required=False)
    trunk = forms.CharField(label=_("Trunk"), required=False, max_length=64)
    queue = forms.CharField(label=_("Queue"), required=False, max_length=32)
    order = forms.CharField(label=_("Tracking number"), required=False, max_length=32)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agent = self.fields["agent"]
        assert isinstance(agent, forms.ChoiceField)
        agent.choices = [("", _t("Any")), *agents_for_filter()]
        _style(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until <= since:
            self.add_error("until", _t("The end must come after the start."))
        return data

    def recording_filter(self) -> RecordingFilter:
        data = self.cleaned_data
        return RecordingFilter(
            since=data["since"],
            until=data["until"],
            number=data["number"] or "",
            agent_id=int(data["agent"]) if data["agent"] else None,
            trunk=data["trunk"].strip(),
            queue=data["queue"].strip(),
            order=data["order"].strip(),
        )


@dataclass(frozen=True)
class RecordingRow:
    recording: Recording
    caller: str
    called: str

    @property
    def duration(self) -> str:
        seconds = round(self.recording.seconds)
        return f"{seconds // 60}:{seconds % 60:02d}"


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@view_requires(PLAY)
def recording_list(request: HttpRequest) -> HttpResponse:
    """通话录音 — recordings by time, number, agent, trunk, queue and order, newest first, each with
    a player."""
    form = RecordingFilterForm(request.GET or None)
    qs = Recording.objects.all()
    valid = True
    if form.is_bound:
        valid = form.is_valid()
        if valid:
            qs = recordings_filter(qs, form.recording_filter())
    if not valid:
        qs = Recording.objects.none()
    page = Paginator(qs.order_by("-started_at", "-id"), PER_PAGE).get_page(request.GET.get("page"))
    unmasked = request.user.has_perm(PERSONAL)
    records = list(page.object_list)
    if unmasked and records:
        audit_record(
            action=AuditAction.READ,
            object_type=Recording._meta.label_lower,
            object_repr="recording search",
            after={"fields": ["caller", "called"], "count": len(records)},
            note="recording search",
        )
    rows = [
        RecordingRow(
            recording=r,
            caller=r.caller if unmasked else mask_phone(r.caller),
            called=r.called if unmasked else mask_phone(r.called),
        )
        for r in records
    ]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": _query_without_page(request),
        "filtered": form.is_bound and any(v for k, v in request.GET.items() if k != "page"),
        "can_stats": request.user.has_perm(STATS),
    }
    return render(request, "telephony/recordings.html", context)


@view_requires(PLAY)
@require_safe
def recording_audio(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The recording's WAV, with Range support; one audit row per playback."""
    recording = get_object_or_404(Recording, pk=pk)
    return audio_playback(
        request,
        obj=recording,
        relative_path=recording.path,
        purged=recording.purged_at is not None,
        filename=f"recording-{recording.pk}.wav",
        sha256=recording.sha256,
    )


# --- Trunk hours ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HourLine:
    hour: int
    inbound: TrunkFigures
    outbound: TrunkFigures
    total: TrunkFigures


@dataclass(frozen=True)
class TrunkTable:
    trunk: str
    name: str
    lines: list[HourLine]  # 24 for one day; hours of several days are added up
    inbound: TrunkFigures
    outbound: TrunkFigures
    total: TrunkFigures


def trunk_tables(report: TrunkReport) -> list[TrunkTable]:
    """One table per trunk with a line per hour of the day (0–23) and the totals."""
    names = dict(Trunk.objects.values_list("code", "name"))
    totals = report.totals()
    tables = []
    for trunk in report.trunks():
        hours = {h: (TrunkFigures(), TrunkFigures()) for h in range(24)}
        for row in report.rows:
            if row.trunk == trunk:
                inbound, outbound = hours[row.hour.astimezone(LOCAL_TZ).hour]
                inbound.add(row.inbound)
                outbound.add(row.outbound)
        lines = []
        for hour, (inbound, outbound) in hours.items():
            total = TrunkFigures()
            total.add(inbound)
            total.add(outbound)
            lines.append(HourLine(hour, inbound, outbound, total))
        sums = totals[trunk]
        tables.append(
            TrunkTable(trunk, names.get(trunk, ""), lines, sums["inbound"], sums["outbound"], sums["total"])
        )
    return tables


def _day(request: HttpRequest) -> date:
    value = request.GET.get("date") or ""
    try:
        day = parse_date(value) if value else None
    except ValueError:
        day = None
    if value and day is None:
        raise ValidationFailed(_t("Not a date."), fields={"date": ["YYYY-MM-DD"]})
    return day or timezone.localtime(timezone.now(), LOCAL_TZ).date()


@view_requires(STATS)
def trunk_hours_view(request: HttpRequest) -> HttpResponse:
    """中继话务统计 — offered, answered and failed per trunk and hour of one day."""
    try:
        day = _day(request)
    except ValidationFailed as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    trunk = (request.GET.get("trunk") or "").strip()[:64]
    report = trunk_hours(date_from=day, date_to=day, trunk=trunk)
    tables = trunk_tables(report)
    all_totals = report.totals().get("")
    codes = sorted(set(Trunk.objects.values_list("code", flat=True)) | set(report.trunks()))
    context = {
        "day": day,
        "previous": day - timedelta(days=1),
        "next": day + timedelta(days=1),
        "trunk": trunk,
        "trunk_codes": codes,
        "tables": tables,
        "all_totals": all_totals,
        "can_play": request.user.has_perm(PLAY),
    }
    return render(request, "telephony/trunk_hours.html", context)


@view_requires(STATS)
def trunk_hours_xlsx(request: HttpRequest) -> HttpResponse:
    """The trunk hours of one day as an Excel workbook (audited as an export)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    from hotline.workorders.exports import content_disposition

    try:
        day = _day(request)
    except ValidationFailed as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    trunk = (request.GET.get("trunk") or "").strip()[:64]
    report = trunk_hours(date_from=day, date_to=day, trunk=trunk)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = _t("Trunk hours")[:31]
    headers = [
        _t("Trunk"),
        _t("Hour"),
        _t("Inbound offered"),
        _t("Inbound answered"),
        _t("Inbound failed"),
        _t("Outbound offered"),
        _t("Outbound answered"),
        _t("Outbound failed"),
        pgettext("trunk", "Offered"),
        pgettext("trunk", "Answered"),
        pgettext("trunk", "Failed"),
    ]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    sheet.freeze_panes = "A2"
    for column, width in zip("ABCDEFGHIJK", (18, 18, 10, 10, 10, 10, 10, 10, 10, 10, 10), strict=True):
        sheet.column_dimensions[column].width = width

    def figures(*sets: TrunkFigures) -> list[int]:
        return [n for f in sets for n in (f.offered, f.answered, f.failed)]

    for table in trunk_tables(report):
        for line in table.lines:
            if line.total.offered:
                label = f"{day:%Y-%m-%d} {line.hour:02d}:00"
                sheet.append([table.trunk, label, *figures(line.inbound, line.outbound, line.total)])
        sheet.append([table.trunk, _t("Total"), *figures(table.inbound, table.outbound, table.total)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    audit_record(
        action=AuditAction.EXPORT,
        object_type="telephony.trunk",
        object_repr="trunk hours",
        after={"format": "xlsx", "date": day.isoformat(), "trunk": trunk, "rows": len(report.rows)},
        note="trunk hours",
    )
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    name = _t("Trunk hours %(date)s") % {"date": f"{day:%Y%m%d}"}
    response["Content-Disposition"] = content_disposition(f"{name}.xlsx", f"trunk-hours-{day:%Y%m%d}.xlsx")
    return response
