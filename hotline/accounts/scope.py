"""Data scope: which records a user may see, on top of what their role may do (M2).

- Centre roles (agent, supervisor, dispatcher, administrator) see the whole city.
- Department handlers and managers see their own unit and the units under it: a street handler
  sees only that street's records.
- Leaders see the region of their unit and everything in it: a district leader sees the district.

``DataScope.filter`` applies this to any queryset given the names of its unit and region fields,
so work orders, citizens' contacts and reports all use the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet

from .choices import CENTRE_ROLES, REGION_ROLES, UNIT_ROLES

M = TypeVar("M", bound=Model)

# Pass ``SELF`` as ``unit_field`` (or ``region_field``) to filter units (regions) themselves.
SELF = ""


def _join(field: str, lookup: str) -> str:
    return f"{field}__{lookup}" if field else lookup


@dataclass(frozen=True)
class DataScope:
    everything: bool = False
    unit_path: str | None = None  # the unit subtree this user may see
    region_path: str | None = None  # the region subtree this user may see

    @classmethod
    def for_user(cls, user: Any) -> DataScope:
        if user is None or not user.is_authenticated or not user.is_active:
            return cls()
        if user.is_superuser or user.role in CENTRE_ROLES:
            return cls(everything=True)
        unit = user.unit
        if unit is None:
            return cls()
        if user.role in UNIT_ROLES:
            return cls(unit_path=unit.path)
        if user.role in REGION_ROLES:
            return cls(region_path=unit.region.path)
        return cls()

    @property
    def is_empty(self) -> bool:
        return not (self.everything or self.unit_path or self.region_path)

    def q(self, *, unit_field: str | None = None, region_field: str | None = None) -> Q:
        """A filter for a model reaching a unit through ``unit_field`` and/or a region through
        ``region_field``. A record matches when either path lies inside the scope."""
        if self.everything:
            return Q()
        cond = Q(pk__in=[])
        if self.unit_path and unit_field is not None:
            cond |= Q(**{_join(unit_field, "path__startswith"): self.unit_path})
        if self.region_path:
            if region_field is not None:
                cond |= Q(**{_join(region_field, "path__startswith"): self.region_path})
            if unit_field is not None:
                cond |= Q(**{_join(unit_field, "region__path__startswith"): self.region_path})
        return cond

    def filter(
        self, qs: QuerySet[M], *, unit_field: str | None = None, region_field: str | None = None
    ) -> QuerySet[M]:
        if self.everything:
            return qs
        return qs.filter(self.q(unit_field=unit_field, region_field=region_field)).distinct()

    def contains_unit(self, unit: Any) -> bool:
        if self.everything:
            return True
        if unit is None:
            return False
        if self.unit_path and unit.path.startswith(self.unit_path):
            return True
        return bool(self.region_path and unit.region.path.startswith(self.region_path))

    def contains_region(self, region: Any) -> bool:
        if self.everything:
            return True
        if region is None:
            return False
        return bool(self.region_path and region.path.startswith(self.region_path))
