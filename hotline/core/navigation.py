"""The navigation menu: each entry names the permission it needs; a user sees what they may open."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class MenuItem:
    label: Any
    url_name: str
    perm: str | None = None

    @property
    def url(self) -> str:
        return reverse(self.url_name)


MENU = [
    MenuItem(_("Home"), "core:home"),
]


def menu_for(user: Any) -> list[MenuItem]:
    return [item for item in MENU if item.perm is None or user.has_perm(item.perm)]
