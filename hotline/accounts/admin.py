"""Staff accounts in the admin. Saving goes through the account services (audited)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from hotline.core.errors import ServiceError

from .models import APIToken, User
from .services import user_check, user_create, user_update


class UserAdminForm(forms.ModelForm):
    password1 = forms.CharField(label="Password", required=False, widget=forms.PasswordInput)

    actor: Any = None

    class Meta:
        model = User
        fields = ("username", "full_name", "role", "unit", "phone", "email", "employee_no", "is_active")

    def clean(self) -> dict[str, Any]:
        """Run the services' own checks here, so a refusal is a form error and not a lost save."""
        data = super().clean() or {}
        creating = self.instance.pk is None
        try:
            user_check(
                actor=self.actor,
                role=data.get("role", ""),
                unit=data.get("unit"),
                username=data.get("username", "") if creating else None,
                password=data.get("password1", "") if creating else None,
            )
        except ServiceError as exc:
            for field, errors in exc.fields.items():
                target = "password1" if field == "password" else field
                self.add_error(target if target in self.fields else None, errors)
            if not exc.fields:
                self.add_error(None, exc.message)
        return data


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    form = UserAdminForm
    list_display = ("username", "full_name", "role", "unit", "is_active", "last_login")
    list_filter = ("role", "is_active", "unit__kind")
    search_fields = ("username", "full_name", "unit__name", "employee_no")
    autocomplete_fields = ("unit",)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: the audit log and orders keep pointing at the account

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user  # type: ignore[attr-defined]
        return form

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            saved = user_update(
                actor=request.user,  # type: ignore[arg-type]
                user=User.objects.get(pk=obj.pk),
                **{k: data[k] for k in ("role", "unit", "full_name", "phone", "email", "employee_no")},
                is_active=data["is_active"],
            )
        else:
            saved = user_create(
                actor=request.user,  # type: ignore[arg-type]
                username=data["username"],
                password=data.get("password1") or "",
                role=data["role"],
                unit=data["unit"],
                full_name=data["full_name"],
                phone=data["phone"],
                email=data["email"],
                employee_no=data["employee_no"],
            )
        obj.pk = saved.pk


@admin.register(APIToken)
class APITokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "key_prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "name", "key_prefix", "key_hash", "created_at", "last_used_at")
    search_fields = ("name", "user__username", "key_prefix")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
