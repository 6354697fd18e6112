"""Fixtures for work orders: a small category tree, a duty list, and a helper to take orders in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from hotline.orgs.models import DutyAssignment
from hotline.orgs.services import duty_save
from hotline.taxonomy.models import Category, RequestType
from hotline.taxonomy.services import category_save
from hotline.workorders.services import Intake, order_create


@dataclass
class Tree:
    building: Any  # 城乡建设
    municipal: Any  # 城乡建设 / 城市建设和市政管理
    enforcement: Any  # … / 城管执法 (street offices handle it)
    water: Any  # … / 自来水供应 (the water company)
    complaint: Any
    consultation: Any


@pytest.fixture
def tree(city: Any) -> Tree:
    building = category_save(category=Category(name="城乡建设"))
    municipal = category_save(category=Category(name="城市建设和市政管理", parent=building))
    enforcement = category_save(category=Category(name="城管执法", parent=municipal))
    water = category_save(category=Category(name="自来水供应", parent=municipal))
    duty_save(duty=DutyAssignment(category=building, region=city.city, unit=city.housing))
    duty_save(duty=DutyAssignment(category=enforcement, region=city.east1, unit=city.east1_office))
    duty_save(duty=DutyAssignment(category=water, region=city.city, unit=city.water))
    return Tree(
        building, municipal, enforcement, water,
        RequestType.objects.get(code="complaint"), RequestType.objects.get(code="consultation"),
    )  # fmt: skip


@pytest.fixture
def take(people: Any, tree: Tree, city: Any):  # type: ignore[no-untyped-def]
    """``take(**changes)`` — agent Li takes a phone complaint about street enforcement in 东一街道."""

    def make(actor: Any = None, **changes: Any) -> Any:
        fields: dict[str, Any] = {
            "channel": "phone",
            "request_type": tree.complaint,
            "title": "夜间施工噪音扰民",
            "content": "东一街道某工地每晚十一点后仍在施工，噪音很大，请尽快处理。",
            "citizen_name": "王小明",
            "citizen_phone": "13812345678",
            "address": "东一街道建设路12号",
            "region": city.east1,
            "category": tree.enforcement,
        }
        fields.update(changes)
        return order_create(actor=actor or people.li, intake=Intake(**fields))

    return make
