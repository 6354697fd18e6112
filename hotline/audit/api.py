"""Searching the audit log (administrators). There is no write endpoint: the log is append-only."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from hotline.core.api import requires

from .models import AuditEvent

router = Router()


class AuditEventOut(Schema):
    id: int
    at: datetime
    actor_name: str
    ip: str | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    before: Any
    after: Any
    note: str


@router.get("/events", response=list[AuditEventOut])
@requires("audit.view_auditevent")
@paginate(LimitOffsetPagination)
def event_search(  # type: ignore[no-untyped-def]
    request: HttpRequest,
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
):
    qs = AuditEvent.objects.all()
    if actor:
        qs = qs.filter(actor_name=actor)
    if action:
        qs = qs.filter(action=action)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=object_id)
    if since:
        qs = qs.filter(at__gte=since)
    if until:
        qs = qs.filter(at__lt=until)
    return qs
