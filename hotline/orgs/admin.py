"""The org tree and the duty list in the admin, with CSV import and export pages.

Saving and deleting go through the services (audited). Their checks also run while the form is
validated, so a refusal shows up as a form error; should a service still refuse at save time
(someone else changed the tree meanwhile) the admin shows the message instead of failing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, ProtectedError, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from hotline.core.errors import ServiceError
from hotline.core.permissions import view_requires

from . import csvio
from .models import DutyAssignment, Region, Unit
from .services import (
    REGION_FIELDS,
    UNIT_FIELDS,
    duty_save,
    object_delete,
    region_save,
    region_validate,
    unit_save,
    unit_validate,
)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


# --- Shared by the org and taxonomy admins ------------------------------------------------------


class ServiceModelForm(forms.ModelForm):
    """A model form that runs a service's checks on the instance about to be saved."""

    def service_errors(self, instance: Any) -> dict[str, list[str]]:
        return {}

    def _post_clean(self) -> None:  # runs after the instance is built from the data
        super()._post_clean()  # type: ignore[misc]
        if self.errors:
            return
        try:
            errors = self.service_errors(self.instance)
        except ServiceError as exc:
            errors = exc.fields or {"": [exc.message]}
        for name, messages_ in errors.items():
            self.add_error(name if name in self.fields else None, messages_)


class ServiceAdmin(admin.ModelAdmin):
    """Turns a refusal by a service during save, delete or an action into an admin message."""

    def _refused(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        if isinstance(exc, ServiceError):
            details = [f"{k}: {'; '.join(v)}" for k, v in exc.fields.items()]
            text = exc.message + (f" ({' / '.join(details)})" if details else "")
        else:
            text = _("It is still referred to by other records and cannot be deleted.")
        self.message_user(request, text, level=messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceError as exc:
            return self._refused(request, exc)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except (ServiceError, ProtectedError) as exc:
            return self._refused(request, exc)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        try:
            return super().changelist_view(request, extra_context)
        except (ServiceError, ProtectedError) as exc:
            return self._refused(request, exc)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        object_delete(obj=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # Children before parents, so that a whole subtree can go in one action.
        order = "-path" if any(f.name == "path" for f in queryset.model._meta.fields) else "-pk"
        for obj in queryset.order_by(order):
            object_delete(obj=obj)


class UploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"))

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                _("The file is too large (at most %(mb)d MB).") % {"mb": MAX_UPLOAD_BYTES // (1024 * 1024)}
            )
        return upload


class CsvAdminMixin:
    """Adds an import page (upload a CSV, see every bad row) and an export download to a ModelAdmin.

    Subclasses set the importer and exporter, the permissions, and describe the columns, and set
    ``change_list_template`` to one that shows the two links (``admin/orgs/csv_change_list.html``).
    """

    csv_name = ""  # file name stem of the export, e.g. "regions"
    csv_columns: tuple[str, ...] = ()
    csv_required: tuple[str, ...] = ()
    csv_help: Any = ""  # text or lazy text
    import_permission = ""
    export_permission = ""
    import_template = "admin/orgs/csv_import.html"

    admin_site: admin.AdminSite
    model: type[Model]

    def csv_import(self, data: bytes) -> csvio.ImportReport:
        raise NotImplementedError

    def csv_export(self) -> str:
        raise NotImplementedError

    def csv_export_record(self) -> None:
        """The audit row of a download."""

    def _url_name(self, action: str) -> str:
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_{action}"

    def get_urls(self) -> list[URLPattern]:
        wrap: Callable[..., Any] = self.admin_site.admin_view
        custom = [
            path(
                "import/",
                wrap(view_requires(self.import_permission)(self.import_view)),
                name=self._url_name("import"),
            ),
            path(
                "export/",
                wrap(view_requires(self.export_permission)(self.export_view)),
                name=self._url_name("export"),
            ),
        ]
        return custom + super().get_urls()  # type: ignore[misc]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        context = {
            "csv_import_url": reverse(f"admin:{self._url_name('import')}")
            if request.user.has_perm(self.import_permission)
            else "",
            "csv_export_url": reverse(f"admin:{self._url_name('export')}")
            if request.user.has_perm(self.export_permission)
            else "",
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)  # type: ignore[misc]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(self.import_permission):
            raise PermissionDenied
        opts = self.model._meta
        rejected: csvio.ImportRejected | None = None
        if request.method == "POST":
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                try:
                    report = self.csv_import(form.cleaned_data["file"].read())
                except csvio.ImportRejected as exc:
                    rejected = exc
                else:
                    counts = {
                        "created": report.created,
                        "updated": report.updated,
                        "unchanged": report.unchanged,
                    }
                    self.message_user(  # type: ignore[attr-defined]
                        request,
                        _("Import done: %(created)d created, %(updated)d updated, %(unchanged)d unchanged.")
                        % counts,
                        level=messages.SUCCESS,
                    )
                    changelist = f"admin:{opts.app_label}_{opts.model_name}_changelist"
                    return HttpResponseRedirect(reverse(changelist))
        else:
            form = UploadForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": _("Import %(name)s from CSV") % {"name": opts.verbose_name_plural},
            "form": form,
            "rejected": rejected,
            "columns": self.csv_columns,
            "required_columns": self.csv_required,
            "csv_help": self.csv_help,
            "export_url": reverse(f"admin:{self._url_name('export')}")
            if request.user.has_perm(self.export_permission)
            else "",
        }
        status = 422 if rejected is not None else 200
        return TemplateResponse(request, self.import_template, context, status=status)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(self.export_permission):
            raise PermissionDenied
        text = self.csv_export()
        self.csv_export_record()
        response = HttpResponse(text.encode("utf-8"), content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="{self.csv_name}-{stamp}.csv"'
        return response


# --- Regions, units, duties ---------------------------------------------------------------------


class OrgCsvAdminMixin(CsvAdminMixin):
    import_permission = "orgs.import_orgdata"
    export_permission = "orgs.export_orgdata"

    def csv_export(self) -> str:
        return csvio.EXPORTS[self.csv_name]()

    def csv_export_record(self) -> None:
        csvio.export_record(table=self.csv_name)


class RegionForm(ServiceModelForm):
    class Meta:
        model = Region
        fields = REGION_FIELDS

    def service_errors(self, instance: Region) -> dict[str, list[str]]:
        return region_validate(instance)


@admin.register(Region)
class RegionAdmin(OrgCsvAdminMixin, ServiceAdmin):
    form = RegionForm
    list_display = ("code", "name", "level", "parent", "active", "sort_order")
    list_filter = ("level", "active")
    list_select_related = ("parent",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)
    readonly_fields = ("path",)
    ordering = ("path",)
    change_list_template = "admin/orgs/csv_change_list.html"
    csv_name = "regions"
    csv_columns = csvio.REGION_COLUMNS
    csv_required = csvio.REGION_REQUIRED
    csv_help = gettext_lazy(
        "level: city, district, street or community (also 市, 区/县, 街道/乡镇, 社区/村). "
        "parent_code: the code of the parent region, empty for the city. active: 1 or 0."
    )

    def save_model(self, request: HttpRequest, obj: Region, form: Any, change: bool) -> None:
        region_save(region=obj)

    def csv_import(self, data: bytes) -> csvio.ImportReport:
        return csvio.regions_import(data=data)


class UnitForm(ServiceModelForm):
    class Meta:
        model = Unit
        fields = UNIT_FIELDS

    def service_errors(self, instance: Unit) -> dict[str, list[str]]:
        return unit_validate(instance)


@admin.register(Unit)
class UnitAdmin(OrgCsvAdminMixin, ServiceAdmin):
    form = UnitForm
    list_display = ("code", "name", "short_name", "kind", "region", "parent", "phone", "active")
    list_filter = ("kind", "active", "region__level")
    list_select_related = ("region", "parent")
    search_fields = ("code", "name", "short_name", "phone")
    autocomplete_fields = ("region", "parent")
    readonly_fields = ("path",)
    ordering = ("path",)
    change_list_template = "admin/orgs/csv_change_list.html"
    csv_name = "units"
    csv_columns = csvio.UNIT_COLUMNS
    csv_required = csvio.UNIT_REQUIRED
    csv_help = gettext_lazy(
        "kind: centre, city_department, district_government, district_department, street_office, "
        "community, utility or other. region_code: the region the unit serves. parent_code: the code "
        "of the parent unit, or empty. active: 1 or 0."
    )

    def save_model(self, request: HttpRequest, obj: Unit, form: Any, change: bool) -> None:
        unit_save(unit=obj)

    def csv_import(self, data: bytes) -> csvio.ImportReport:
        return csvio.units_import(data=data)


@admin.register(DutyAssignment)
class DutyAssignmentAdmin(OrgCsvAdminMixin, ServiceAdmin):
    list_display = ("category_code", "category", "region", "unit", "note")
    list_filter = ("region__level", "unit__kind", "category__level")
    list_select_related = ("category", "region", "unit")
    search_fields = (
        "category__code",
        "category__name",
        "region__code",
        "region__name",
        "unit__code",
        "unit__name",
    )
    autocomplete_fields = ("category", "region", "unit")
    ordering = ("category__code", "region__path")
    change_list_template = "admin/orgs/csv_change_list.html"
    csv_name = "duties"
    csv_columns = csvio.DUTY_COLUMNS
    csv_required = csvio.DUTY_REQUIRED
    csv_help = gettext_lazy(
        "One row per category and region: the unit responsible for that category of request there. "
        "Dispatch takes the most specific entry (the street before the district before the city; "
        "a level-3 category before its parents)."
    )

    @admin.display(description=gettext_lazy("category code"), ordering="category__code")
    def category_code(self, obj: DutyAssignment) -> str:
        return obj.category.code

    def save_model(self, request: HttpRequest, obj: DutyAssignment, form: Any, change: bool) -> None:
        duty_save(duty=obj)

    def csv_import(self, data: bytes) -> csvio.ImportReport:
        return csvio.duties_import(data=data)
