"""The category tree and request types in the admin, with CSV import and export of the tree.

Categories are never deleted: they are retired (and restored) with the admin actions, which call
``category_retire`` / ``category_restore``. Saving goes through ``category_save``.
"""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record
from hotline.core.csvio import ImportReport
from hotline.core.errors import ServiceError
from hotline.orgs.admin import CsvAdminMixin, ServiceAdmin, ServiceModelForm

from .importers import IMPORT_COLUMNS, IMPORT_REQUIRED, taxonomy_export, taxonomy_import
from .models import Category, RequestType
from .services import (
    category_next_code,
    category_restore,
    category_retire,
    category_save,
    category_validate,
    request_type_save,
)


class CategoryForm(ServiceModelForm):
    class Meta:
        model = Category
        fields = ("name", "parent", "code", "sort_order")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "code" in self.fields:
            self.fields["code"].required = False
            self.fields["code"].help_text = _(
                "Two digits per level, starting with the parent's code. Leave empty for the next free code."
            )
        if "parent" in self.fields:
            parent_field = self.fields["parent"]
            assert isinstance(parent_field, forms.ModelChoiceField)
            parent_field.queryset = Category.objects.filter(level__lt=Category.MAX_LEVEL)

    def service_errors(self, instance: Category) -> dict[str, list[str]]:
        # What category_save will check, on a copy: it sets level and code of a new category.
        probe = copy.copy(instance)
        if probe.pk is None:
            probe.level = probe.parent.level + 1 if probe.parent else 1
            if not probe.code:
                probe.code = category_next_code(parent=probe.parent)
        errors = category_validate(probe)
        # The unique constraint spans ``parent``, which the change form does not edit (and which is
        # NULL at level 1, where the database does not enforce it): check the name here.
        siblings = Category.objects.filter(parent_id=probe.parent_id, name=probe.name).exclude(pk=probe.pk)
        if siblings.exists():
            errors.setdefault("name", []).append(_("There is already a category of this name here."))
        return errors


@admin.register(Category)
class CategoryAdmin(CsvAdminMixin, ServiceAdmin):
    form = CategoryForm
    list_display = ("code", "name", "level", "parent", "active", "retired_at", "sort_order")
    list_filter = ("level", "active")
    list_select_related = ("parent",)
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)
    ordering = ("code",)
    actions = ("retire_categories", "restore_categories")
    import_permission = "taxonomy.import_taxonomy"
    export_permission = "taxonomy.view_category"
    import_template = "admin/taxonomy/csv_import.html"
    change_list_template = "admin/taxonomy/csv_change_list.html"
    csv_name = "categories"
    csv_columns = IMPORT_COLUMNS
    csv_required = IMPORT_REQUIRED
    csv_help = gettext_lazy(
        "One row per category, named by its path: level1, level2, level3 (a row may stop at level 1 "
        "or 2). Categories are matched by parent and name. code1, code2, code3 (or code for the "
        "deepest level) give codes; without them the next free code is taken. active (1 or 0) "
        "retires or restores. The export has the columns code, level1, level2, level3, active."
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fixed = ("level", "active", "retired_at")
        # The code and place of an existing category are fixed: its children's codes depend on them.
        return (*fixed, "code", "parent") if obj is not None else fixed

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retire instead: old records keep pointing at the category

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        category_save(category=obj)

    @admin.action(permissions=["change"], description=gettext_lazy("Retire the selected categories"))
    def retire_categories(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        retired = 0
        for category in queryset.order_by("code"):
            category.refresh_from_db()
            if category.active:
                retired += category_retire(category=category)
        self.message_user(
            request,
            ngettext("%(count)d category retired.", "%(count)d categories retired.", retired)
            % {"count": retired},
            level=messages.SUCCESS,
        )

    @admin.action(permissions=["change"], description=gettext_lazy("Restore the selected categories"))
    def restore_categories(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        restored, refused = 0, []
        for category in queryset.order_by("code"):  # parents before children
            category.refresh_from_db()
            if category.active:
                continue
            try:
                category_restore(category=category)
            except ServiceError as exc:
                refused.append(f"{category.code} {category.name}: {exc.message}")
            else:
                restored += 1
        if restored:
            self.message_user(
                request,
                ngettext("%(count)d category restored.", "%(count)d categories restored.", restored)
                % {"count": restored},
                level=messages.SUCCESS,
            )
        for text in refused:
            self.message_user(request, text, level=messages.ERROR)

    def csv_import(self, data: bytes) -> ImportReport:
        return taxonomy_import(data=data)

    def csv_export(self) -> str:
        return taxonomy_export()

    def csv_export_record(self) -> None:
        audit_record(
            action=AuditAction.EXPORT, object_type="taxonomy.category", object_repr="Category tree CSV export"
        )


@admin.register(RequestType)
class RequestTypeAdmin(ServiceAdmin):
    list_display = ("code", "name", "active", "sort_order")
    list_filter = ("active",)
    search_fields = ("code", "name")
    ordering = ("sort_order", "code")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: requests keep pointing at their type

    def save_model(self, request: HttpRequest, obj: RequestType, form: forms.ModelForm, change: bool) -> None:
        request_type_save(request_type=obj)
