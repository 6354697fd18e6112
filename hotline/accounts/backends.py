from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

from .roles import permissions_for


class RoleBackend(ModelBackend):
    """Authenticates by username and password; grants the permissions of the user's role."""

    def get_all_permissions(self, user_obj: Any, obj: Any = None) -> set[str]:
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        return set(permissions_for(getattr(user_obj, "role", "")))

    def has_perm(self, user_obj: Any, perm: str, obj: Any = None) -> bool:
        if user_obj.is_active and user_obj.is_superuser:
            return True
        return perm in self.get_all_permissions(user_obj, obj)

    def has_module_perms(self, user_obj: Any, app_label: str) -> bool:
        return any(p.startswith(app_label + ".") for p in self.get_all_permissions(user_obj))
