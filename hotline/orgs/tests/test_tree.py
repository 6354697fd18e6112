"""The org tree's invariants: materialised paths, level rules, and duty-list resolution."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.core.errors import ValidationFailed
from hotline.orgs.models import DutyAssignment, Region, Unit
from hotline.orgs.selectors import duty_resolve, units_in_region
from hotline.orgs.services import duty_save, region_save, unit_save
from hotline.taxonomy.models import Category
from hotline.taxonomy.services import category_save


def test_moving_a_region_repaths_its_whole_subtree(city: Any) -> None:
    street = Region.objects.get(code="990101")
    street.parent = Region.objects.get(code="9902")
    region_save(region=street)

    assert Region.objects.get(code="990101").path == "/99/9902/990101/"
    assert Region.objects.get(code="99010101").path == "/99/9902/990101/99010101/"
    assert Region.objects.get(code="990102").path == "/99/9901/990102/"  # its old sibling stays
    west = Region.objects.get(code="9902")
    assert set(units_in_region(west).values_list("code", flat=True)) >= {"ST-EAST1", "CM-EAST1-1", "DG-WEST"}


def test_moving_a_unit_repaths_its_subtree(city: Any) -> None:
    office = Unit.objects.get(code="ST-EAST1")
    office.parent = Unit.objects.get(code="DG-WEST")
    unit_save(unit=office)

    assert Unit.objects.get(code="ST-EAST1").path == "/DG-WEST/ST-EAST1/"
    assert Unit.objects.get(code="CM-EAST1-1").path == "/DG-WEST/ST-EAST1/CM-EAST1-1/"
    assert Unit.objects.get(code="ST-EAST2").path == "/DG-EAST/ST-EAST2/"


def test_changing_a_code_repaths_the_subtree(city: Any) -> None:
    street = Region.objects.get(code="990101")
    street.code = "990109"
    region_save(region=street)

    assert Region.objects.get(code="99010101").path == "/99/9901/990109/99010101/"


@pytest.mark.parametrize(
    ("code", "level", "parent_code", "field"),
    [
        ("9903", "district", None, "parent"),  # only a city may have no parent
        ("990301", "street", "99", "level"),  # a street directly under the city
        ("9903", "community", "99", "level"),
        ("9901010101", "community", "99010101", "parent"),  # nothing below a community
    ],
)
def test_region_level_rules(city: Any, code: str, level: str, parent_code: str | None, field: str) -> None:
    parent = Region.objects.get(code=parent_code) if parent_code else None
    with pytest.raises(ValidationFailed) as caught:
        region_save(region=Region(code=code, name="x", level=level, parent=parent))
    assert field in caught.value.fields
    assert not Region.objects.filter(code=code).exists()


def test_a_region_cannot_move_into_its_own_subtree(city: Any) -> None:
    # Levels would refuse it as well; the cycle check is what is asserted here.
    east = Region.objects.get(code="9901")
    east.parent = Region.objects.get(code="99010101")
    with pytest.raises(ValidationFailed) as caught:
        region_save(region=east)
    assert any("inside itself" in m for m in caught.value.fields["parent"])
    assert Region.objects.get(code="9901").path == "/99/9901/"


def test_a_unit_cannot_move_into_its_own_subtree(city: Any) -> None:
    gov = Unit.objects.get(code="DG-EAST")
    gov.parent = Unit.objects.get(code="CM-EAST1-1")
    with pytest.raises(ValidationFailed) as caught:
        unit_save(unit=gov)
    assert "parent" in caught.value.fields
    assert Unit.objects.get(code="DG-EAST").path == "/DG-EAST/"


@pytest.fixture
def tree(db: Any) -> dict[str, Category]:
    urban = category_save(category=Category(name="城乡建设"))
    city_mgmt = category_save(category=Category(name="城市建设和市政管理", parent=urban))
    enforcement = category_save(category=Category(name="城管执法", parent=city_mgmt))
    water = category_save(category=Category(name="自来水供应", parent=city_mgmt))
    return {"urban": urban, "city_mgmt": city_mgmt, "enforcement": enforcement, "water": water}


def duty(category: Category, region: Region, unit: Unit) -> DutyAssignment:
    return duty_save(duty=DutyAssignment(category=category, region=region, unit=unit))


def test_duty_resolve_picks_the_most_specific_entry(city: Any, tree: dict[str, Category]) -> None:
    duty(tree["urban"], city.city, city.housing)
    duty(tree["water"], city.city, city.water)
    duty(tree["enforcement"], city.east1, city.east1_office)
    duty(tree["city_mgmt"], city.east, city.east_gov)

    # Own street and own category.
    assert duty_resolve(category=tree["enforcement"], region=city.east1_c1).unit == city.east1_office
    # Another street of the district: the district entry (for the parent category) comes first …
    assert duty_resolve(category=tree["enforcement"], region=city.east2).unit == city.east_gov
    # … before the city's entry for the more specific category.
    assert duty_resolve(category=tree["water"], region=city.east2).unit == city.east_gov
    # Elsewhere: within the city, the level-3 entry beats the level-1 one.
    assert duty_resolve(category=tree["water"], region=city.west1).unit == city.water
    assert duty_resolve(category=tree["enforcement"], region=city.west1).unit == city.housing
    assert duty_resolve(category=tree["urban"], region=city.city).unit == city.housing


def test_duty_resolve_skips_inactive_units(city: Any, tree: dict[str, Category]) -> None:
    duty(tree["urban"], city.city, city.housing)
    duty(tree["enforcement"], city.east1, city.east1_office)
    office = Unit.objects.get(pk=city.east1_office.pk)
    office.active = False
    unit_save(unit=office)

    assert duty_resolve(category=tree["enforcement"], region=city.east1).unit == city.housing


def test_duty_resolve_without_any_entry(city: Any, tree: dict[str, Category]) -> None:
    assert duty_resolve(category=tree["enforcement"], region=city.east1) is None
