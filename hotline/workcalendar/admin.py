"""The calendar overrides, the working hours and the deadline rules in the admin.

Saving and deleting go through the services (audited). Every page of this app shows a warning
banner while a year that matters (this year; next year from November; any later year a deadline
has reached) has no official holiday data.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hotline.orgs.admin import ServiceAdmin, ServiceModelForm

from .choices import CalendarDayKind, Urgency
from .engine import official_day
from .models import CalendarDay, DeadlineRule, WorkingHours
from .selectors import calendar_missing_years, calendar_years_to_watch
from .services import (
    CALENDAR_DAY_FIELDS,
    DEADLINE_RULE_FIELDS,
    WORKING_HOURS_FIELDS,
    calendar_day_save,
    calendar_day_validate,
    calendar_object_delete,
    deadline_rule_save,
    deadline_rule_validate,
    working_hours_save,
    working_hours_validate,
)


def today() -> datetime.date:
    return timezone.localdate()


class CalendarAdmin(ServiceAdmin):
    """Deletes through ``calendar_object_delete`` and shows the missing-year banner."""

    def calendar_context(self, extra_context: Any) -> dict[str, Any]:
        warnings = calendar_missing_years(years=calendar_years_to_watch(today=today()))
        return {"calendar_warnings": [w.message for w in warnings], **(extra_context or {})}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        return super().changelist_view(request, self.calendar_context(extra_context))

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, self.calendar_context(extra_context))

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        calendar_object_delete(obj=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset.order_by("pk"):
            calendar_object_delete(obj=obj)


# --- Calendar days -------------------------------------------------------------------------------


class YearFilter(admin.SimpleListFilter):
    title = gettext_lazy("year")
    parameter_name = "year"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        years = CalendarDay.objects.dates("date", "year", order="DESC")
        return [(str(d.year), str(d.year)) for d in years]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(date__year=int(value))
        return queryset


class CalendarDayForm(ServiceModelForm):
    class Meta:
        model = CalendarDay
        fields = CALENDAR_DAY_FIELDS

    def service_errors(self, instance: CalendarDay) -> dict[str, list[str]]:
        return calendar_day_validate(instance)


@admin.register(CalendarDay)
class CalendarDayAdmin(CalendarAdmin):
    form = CalendarDayForm
    list_display = ("date", "weekday", "kind", "name", "official", "note")
    list_filter = ("kind", YearFilter)
    search_fields = ("name", "note")
    ordering = ("-date",)
    date_hierarchy = "date"

    @admin.display(description=gettext_lazy("weekday"))
    def weekday(self, obj: CalendarDay) -> str:
        return str(WEEKDAYS_ABBR[obj.date.weekday()])

    @admin.display(description=gettext_lazy("official calendar"))
    def official(self, obj: CalendarDay) -> str:
        """What the State Council's calendar says of the date (the override wins over it)."""
        official = official_day(obj.date)
        if official is None:
            return _("not loaded")
        working, name = official
        label = CalendarDayKind.WORKDAY.label if working else CalendarDayKind.HOLIDAY.label
        return f"{label} {name}".strip()

    def save_model(self, request: HttpRequest, obj: CalendarDay, form: Any, change: bool) -> None:
        calendar_day_save(day=obj)


# --- Working hours -------------------------------------------------------------------------------


class WorkingHoursForm(ServiceModelForm):
    class Meta:
        model = WorkingHours
        fields = WORKING_HOURS_FIELDS
        help_texts = {"start": gettext_lazy("Local time (Asia/Shanghai), e.g. 08:30.")}

    def service_errors(self, instance: WorkingHours) -> dict[str, list[str]]:
        return working_hours_validate(instance)


@admin.register(WorkingHours)
class WorkingHoursAdmin(CalendarAdmin):
    form = WorkingHoursForm
    list_display = ("period", "note")
    ordering = ("start",)

    @admin.display(description=gettext_lazy("working period"))
    def period(self, obj: WorkingHours) -> str:
        return str(obj)

    def save_model(self, request: HttpRequest, obj: WorkingHours, form: Any, change: bool) -> None:
        working_hours_save(period=obj)


# --- Deadline rules ------------------------------------------------------------------------------


class DeadlineRuleForm(ServiceModelForm):
    class Meta:
        model = DeadlineRule
        fields = DEADLINE_RULE_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        urgency = self.fields.get("urgency")
        if isinstance(urgency, forms.ChoiceField):
            urgency.choices = [("", _("Any")), *Urgency.choices]
        if "complex_case" in self.fields:
            # NullBooleanField reads "True", "False" and "" back as True, False and None.
            self.fields["complex_case"].widget = forms.Select(
                choices=[
                    ("", _("Any")),
                    ("True", _("Complex cases only")),
                    ("False", _("Cases not marked complex only")),
                ]
            )

    def service_errors(self, instance: DeadlineRule) -> dict[str, list[str]]:
        return deadline_rule_validate(instance)


@admin.register(DeadlineRule)
class DeadlineRuleAdmin(CalendarAdmin):
    form = DeadlineRuleForm
    list_display = ("rule", "step", "amount", "measure", "priority", "active")
    list_filter = ("step", "measure", "urgency", "active")
    list_select_related = ("category", "request_type")
    search_fields = ("category__name", "category__code", "request_type__name", "note")
    autocomplete_fields = ("category", "request_type")
    ordering = ("step", "-priority", "id")

    @admin.display(description=gettext_lazy("rule"))
    def rule(self, obj: DeadlineRule) -> str:
        return obj.description

    def save_model(self, request: HttpRequest, obj: DeadlineRule, form: Any, change: bool) -> None:
        deadline_rule_save(rule=obj)
