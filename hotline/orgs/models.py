"""The org tree (M1): regions, the units that handle orders, and the duty list (权责清单)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import RegionLevel, UnitKind


class Region(models.Model):
    """行政区划 — a city, district/county, street/township or community/village.

    ``path`` is the materialised path of codes (``/3301/330102/330102001/``): a whole subtree is
    one indexed prefix query. Services keep it in step with ``parent``.
    """

    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.CharField(_("level"), max_length=16, choices=RegionLevel.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False)
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1


class Unit(models.Model):
    """承办单位 — a department, district, street office, community or utility that handles orders.

    A unit belongs to a region (the area it serves) and may sit under a parent unit (a district
    department under its district government). ``path`` works as for regions.
    """

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=32, blank=True)
    kind = models.CharField(_("kind"), max_length=32, choices=UnitKind.choices)
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="units"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent unit"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(max_length=255, db_index=True, editable=False)
    phone = models.CharField(_("duty phone"), max_length=32, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["path"]
        permissions = [
            ("import_orgdata", "Can import the org tree and duty list from CSV"),
            ("export_orgdata", "Can export the org tree and duty list to CSV"),
        ]

    def __str__(self) -> str:
        return self.name


class DutyAssignment(models.Model):
    """权责清单条目 — who is responsible for a category of request in a region.

    Dispatch asks the duty list for the most specific entry: the request's own region first, then
    each parent region; within a region, the request's own category first, then its parents.
    """

    category = models.ForeignKey(
        "taxonomy.Category",
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="duties",
    )
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="duties"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("responsible unit"), on_delete=models.PROTECT, related_name="duties"
    )
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("duty list entry")
        verbose_name_plural = _("duty list")
        constraints = [
            models.UniqueConstraint(fields=["category", "region"], name="duty_unique_category_region")
        ]

    def __str__(self) -> str:
        return f"{self.category} @ {self.region} → {self.unit}"
