import itertools

from django.db import models
from django.utils.translation import gettext_lazy as _


class RegionLevel(models.TextChoices):
    """行政区划层级: 市 → 区/县 → 街道/乡镇 → 社区/村."""

    CITY = "city", _("City")
    DISTRICT = "district", _("District / county")
    STREET = "street", _("Street / township")
    COMMUNITY = "community", _("Community / village")


REGION_LEVEL_ORDER = [RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY]
# Which level a child region must have, given its parent's level.
CHILD_LEVEL = dict(itertools.pairwise(REGION_LEVEL_ORDER))


class UnitKind(models.TextChoices):
    """承办单位类型."""

    CENTRE = "centre", _("Hotline centre")
    CITY_DEPARTMENT = "city_department", _("City department")
    DISTRICT_GOVERNMENT = "district_government", _("District government")
    DISTRICT_DEPARTMENT = "district_department", _("District department")
    STREET_OFFICE = "street_office", _("Street / township office")
    COMMUNITY = "community", _("Community / village committee")
    UTILITY = "utility", _("Public utility")
    OTHER = "other", _("Other")
