"""The contact centre in the admin: configuration through the services (validated, audited), and
the records read-only (the engine writes them; nobody edits a call record)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from hotline.core.admin import ReadOnlyAdmin
from hotline.orgs.admin import ServiceAdmin, ServiceModelForm

from . import services
from .models import (
    AgentProfile,
    AgentStateLog,
    CallbackRequest,
    CallLeg,
    CallRecord,
    CentreSettings,
    EmergencyNumber,
    HotlineNumber,
    IvrFlow,
    ListEntry,
    PauseReason,
    Queue,
    QueueEventLog,
    QueueMembership,
    Seat,
    Voicemail,
)


class CentreAdmin(ServiceAdmin):
    """Deletes through ``services.object_delete`` (audited)."""

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        services.object_delete(obj=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset.order_by("-pk"):
            services.object_delete(obj=obj, actor=request.user)


# --- Flows and numbers ---------------------------------------------------------------------------


class IvrFlowForm(ServiceModelForm):
    class Meta:
        model = IvrFlow
        fields = ("code", "name", "definition", "active")

    def service_errors(self, instance: IvrFlow) -> dict[str, list[str]]:
        errors = services.flow_errors(instance.definition, code=instance.code)
        return (
            {"definition": [f"{e.node or '—'} {e.field or ''} {e.code}: {e.message}" for e in errors]}
            if errors
            else {}
        )


@admin.register(IvrFlow)
class IvrFlowAdmin(CentreAdmin):
    form = IvrFlowForm
    list_display = ("code", "name", "active", "version", "updated_by", "updated_at")
    search_fields = ("code", "name")
    readonly_fields = ("version", "updated_by", "updated_at")

    def save_model(self, request: HttpRequest, obj: IvrFlow, form: Any, change: bool) -> None:
        saved = services.flow_save(
            actor=request.user, code=obj.code, name=obj.name, definition=obj.definition, active=obj.active
        )
        obj.pk, obj.version = saved.pk, saved.version


class HotlineNumberForm(ServiceModelForm):
    class Meta:
        model = HotlineNumber
        fields = ("number", "name", "flow", "active")


@admin.register(HotlineNumber)
class HotlineNumberAdmin(CentreAdmin):
    form = HotlineNumberForm
    list_display = ("number", "name", "flow", "active")

    def save_model(self, request: HttpRequest, obj: HotlineNumber, form: Any, change: bool) -> None:
        saved = services.hotline_number_save(
            actor=request.user, number=obj.number, name=obj.name, flow=obj.flow, active=obj.active
        )
        obj.pk = saved.pk


# --- Queues and agents ---------------------------------------------------------------------------


class QueueForm(ServiceModelForm):
    class Meta:
        model = Queue
        exclude: tuple[str, ...] = ()

    def service_errors(self, instance: Queue) -> dict[str, list[str]]:
        return services.queue_validate(instance)


@admin.register(Queue)
class QueueAdmin(CentreAdmin):
    form = QueueForm
    list_display = (
        "code",
        "name",
        "strategy",
        "service_level_s",
        "max_wait_s",
        "max_wait_action",
        "region",
        "active",
    )
    list_filter = ("strategy", "active")
    search_fields = ("code", "name")

    def save_model(self, request: HttpRequest, obj: Queue, form: Any, change: bool) -> None:
        services.queue_save(actor=request.user, queue=obj)


@admin.register(QueueMembership)
class QueueMembershipAdmin(CentreAdmin):
    list_display = ("queue", "agent", "level")
    list_filter = ("queue",)
    autocomplete_fields = ("agent",)

    def save_model(self, request: HttpRequest, obj: QueueMembership, form: Any, change: bool) -> None:
        saved = services.membership_set(actor=request.user, queue=obj.queue, agent=obj.agent, level=obj.level)
        obj.pk = saved.pk


@admin.register(Seat)
class SeatAdmin(CentreAdmin):
    list_display = ("extension", "name", "location")
    search_fields = ("extension", "name", "location")

    def save_model(self, request: HttpRequest, obj: Seat, form: Any, change: bool) -> None:
        services.seat_save(actor=request.user, seat=obj)


@admin.register(AgentProfile)
class AgentProfileAdmin(CentreAdmin):
    list_display = ("user", "display_name", "default_seat")
    autocomplete_fields = ("user",)

    def save_model(self, request: HttpRequest, obj: AgentProfile, form: Any, change: bool) -> None:
        services.agent_profile_save(actor=request.user, profile=obj)


@admin.register(PauseReason)
class PauseReasonAdmin(CentreAdmin):
    list_display = ("code", "name", "max_minutes", "active", "sort_order")

    def save_model(self, request: HttpRequest, obj: PauseReason, form: Any, change: bool) -> None:
        services.pause_reason_save(actor=request.user, reason=obj)


@admin.register(EmergencyNumber)
class EmergencyNumberAdmin(CentreAdmin):
    list_display = ("number", "name", "active", "sort_order")

    def save_model(self, request: HttpRequest, obj: EmergencyNumber, form: Any, change: bool) -> None:
        services.emergency_number_save(actor=request.user, emergency=obj)


@admin.register(CentreSettings)
class CentreSettingsAdmin(CentreAdmin):
    list_display = (
        "__str__",
        "lock_after_no_answers",
        "short_abandon_s",
        "service_level_s",
        "repeat_window_hours",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not CentreSettings.objects.exists()

    def save_model(self, request: HttpRequest, obj: CentreSettings, form: Any, change: bool) -> None:
        services.centre_settings_save(actor=request.user, values=obj)


@admin.register(ListEntry)
class ListEntryAdmin(CentreAdmin):
    list_display = ("kind", "number", "action", "reason", "expires_at", "created_by", "created_at")
    list_filter = ("kind",)
    search_fields = ("number", "reason")
    fields = ("kind", "number", "action", "reason", "expires_at")

    def save_model(self, request: HttpRequest, obj: ListEntry, form: Any, change: bool) -> None:
        saved = services.list_entry_add(
            actor=request.user,
            kind=obj.kind,
            number=obj.number,
            reason=obj.reason,
            action=obj.action,
            expires_at=obj.expires_at,
        )
        obj.pk = saved.pk


# --- Records -------------------------------------------------------------------------------------


@admin.register(CallRecord)
class CallRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "call_id",
        "direction",
        "caller",
        "called",
        "started_at",
        "outcome",
        "queue",
        "agent_id",
        "wait_s",
        "talk_s",
    )
    list_filter = ("direction", "outcome")
    search_fields = ("=call_id", "=caller", "=called")
    date_hierarchy = "started_at"


@admin.register(CallLeg)
class CallLegAdmin(ReadOnlyAdmin):
    list_display = ("call_id", "leg_id", "kind", "party", "started_at", "answered_at", "ended_at", "cause")
    search_fields = ("=call_id", "=party")


@admin.register(AgentStateLog)
class AgentStateLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "agent_id", "state", "reason", "call_id", "queue")
    list_filter = ("state",)
    search_fields = ("=call_id",)


@admin.register(QueueEventLog)
class QueueEventLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "queue", "kind", "call_id", "agent_id", "position", "wait_s")
    list_filter = ("kind", "queue")
    search_fields = ("=call_id",)


@admin.register(Voicemail)
class VoicemailAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "caller", "seconds", "state", "claimed_by", "order")
    list_filter = ("state",)
    search_fields = ("=caller", "=call_id")


@admin.register(CallbackRequest)
class CallbackRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "requested_at",
        "caller",
        "queue",
        "reason",
        "state",
        "attempts",
        "claimed_by",
        "result",
        "order",
    )
    list_filter = ("state", "reason")
    search_fields = ("=caller", "=call_id")
