"""The audit log in the admin: searchable and filterable by administrators, editable by nobody."""

from __future__ import annotations

from django.contrib import admin

from hotline.core.admin import ReadOnlyAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "actor_name", "ip", "action", "object_type", "object_id", "object_repr")
    list_filter = ("action", "object_type", "at")
    search_fields = ("actor_name", "object_repr", "object_id", "ip", "note")
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEvent._meta.fields]
    list_per_page = 100
    show_full_result_count = False
