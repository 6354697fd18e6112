"""Reads of the org tree and duty list."""

from __future__ import annotations

from django.db.models import QuerySet

from hotline.taxonomy.models import Category

from .models import DutyAssignment, Region, Unit


def region_ancestors(region: Region) -> list[Region]:
    """The region and its parents, most specific first (one query)."""
    codes = [c for c in region.path.strip("/").split("/") if c]
    by_code = {r.code: r for r in Region.objects.filter(code__in=codes)}
    return [by_code[c] for c in reversed(codes) if c in by_code]


def category_ancestors(category: Category) -> list[Category]:
    chain = [category]
    while chain[-1].parent_id is not None:
        parent = chain[-1].parent
        assert parent is not None
        chain.append(parent)
    return chain


def duty_resolve(*, category: Category, region: Region) -> DutyAssignment | None:
    """The duty-list entry that decides who handles ``category`` in ``region``.

    Most specific region wins (street before district before city); within one region the most
    specific category wins (level 3 before 2 before 1). Inactive units are skipped.
    """
    regions = region_ancestors(region)
    categories = category_ancestors(category)
    entries = list(
        DutyAssignment.objects.filter(
            region__in=regions, category__in=categories, unit__active=True
        ).select_related("unit", "region", "category")
    )
    if not entries:
        return None
    region_rank = {r.pk: i for i, r in enumerate(regions)}
    category_rank = {c.pk: i for i, c in enumerate(categories)}
    return min(entries, key=lambda d: (region_rank[d.region_id], category_rank[d.category_id]))


def units_in_region(region: Region) -> QuerySet[Unit]:
    return Unit.objects.filter(region__path__startswith=region.path, active=True)
