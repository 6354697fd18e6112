"""The caller's own notifications: the inbox, the unread count, marking read."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate

from hotline.core.api import authenticated

from . import selectors
from .models import Notification
from .services import notification_mark_read

router = Router()


class NotificationOut(Schema):
    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    link: str
    object_type: str
    object_id: str
    created_at: datetime
    read_at: datetime | None

    @staticmethod
    def resolve_kind_label(obj: Notification) -> str:
        return str(obj.kind_label)


class UnreadOut(Schema):
    unread: int


class ReadIn(Schema):
    ids: list[int] | None = Field(None, max_length=1000, description="Omit to mark every notification read.")


class ReadOut(Schema):
    marked: int
    unread: int


@router.get("/inbox", response=list[NotificationOut], url_name="notify_inbox")
@authenticated
@paginate(LimitOffsetPagination)
def inbox(request: HttpRequest, unread: bool = False):  # type: ignore[no-untyped-def]
    """The caller's notifications, newest first; ``unread=true`` for the unread ones only."""
    return selectors.inbox(user=request.user, unread=unread)


@router.get("/unread-count", response=UnreadOut, url_name="notify_unread_count")
@authenticated
def unread_count(request: HttpRequest):  # type: ignore[no-untyped-def]
    return {"unread": selectors.unread_count(user=request.user)}


@router.post("/read", response=ReadOut, url_name="notify_read")
@authenticated
def mark_read(request: HttpRequest, payload: ReadIn | None = None):  # type: ignore[no-untyped-def]
    """Mark the caller's notifications read: those in ``ids``, or all of them. Ids of other
    people's notifications are ignored."""
    ids = payload.ids if payload is not None else None
    marked = notification_mark_read(user=request.user, ids=ids)
    return {"marked": marked, "unread": selectors.unread_count(user=request.user)}
