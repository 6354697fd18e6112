"""Assessment schemes (their weights) and the monthly report's recipients in the admin; saving and
deleting go through the services (audited)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from hotline.orgs.admin import ServiceAdmin, ServiceModelForm

from . import services
from .models import AssessmentScheme, ReportRecipient


class ReportsAdmin(ServiceAdmin):
    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        services.object_delete(obj=obj, actor=request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset.order_by("-pk"):
            services.object_delete(obj=obj, actor=request.user)


class SchemeForm(ServiceModelForm):
    class Meta:
        model = AssessmentScheme
        fields = ("name", "weights", "active")

    def service_errors(self, instance: AssessmentScheme) -> dict[str, list[str]]:
        return services.scheme_errors(instance.weights)


@admin.register(AssessmentScheme)
class AssessmentSchemeAdmin(ReportsAdmin):
    form = SchemeForm
    list_display = ("name", "weights", "active", "updated_by", "updated_at")
    readonly_fields = ("updated_by", "updated_at")

    def save_model(self, request: HttpRequest, obj: AssessmentScheme, form: Any, change: bool) -> None:
        services.scheme_save(actor=request.user, scheme=obj)


class RecipientForm(ServiceModelForm):
    class Meta:
        model = ReportRecipient
        fields = ("user", "email", "active")

    def service_errors(self, instance: ReportRecipient) -> dict[str, list[str]]:
        return services.recipient_errors(instance)


@admin.register(ReportRecipient)
class ReportRecipientAdmin(ReportsAdmin):
    form = RecipientForm
    list_display = ("__str__", "user", "email", "active")
    autocomplete_fields = ("user",)

    def save_model(self, request: HttpRequest, obj: ReportRecipient, form: Any, change: bool) -> None:
        services.recipient_save(actor=request.user, recipient=obj)
