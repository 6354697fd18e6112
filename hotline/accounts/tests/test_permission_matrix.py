"""Who may see and do what: the permission matrix with named people, including cross-unit denial."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from conftest import PASSWORD

pytestmark = pytest.mark.django_db

ALL = ["li", "chen", "zhou", "ma", "wang", "sun", "qian", "wu", "hu", "zhao", "liu"]


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def call(user: Any, method: str, url: str, body: Any = None) -> Any:
    client = client_for(user)
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, method)(url, **kwargs)


# endpoint → the people allowed (everyone else must get 403)
MATRIX: list[tuple[str, str, Any, set[str]]] = [
    ("get", "/api/v1/orgs/units", None, set(ALL)),
    ("get", "/api/v1/orgs/regions", None, set(ALL)),
    ("get", "/api/v1/taxonomy/request-types", None, set(ALL)),
    ("get", "/api/v1/taxonomy/categories", None, set(ALL)),
    ("get", "/api/v1/accounts/users", None, {"chen", "zhou", "ma", "sun", "wu", "zhao", "liu"}),
    ("get", "/api/v1/audit/events", None, {"ma"}),
    ("get", "/api/v1/citizens?phone=13800000001", None, {"li", "chen", "zhou", "ma", "zhao", "liu"}),
    (
        "post",
        "/api/v1/citizens",
        {"name": "张三", "phone": "13800000009"},
        {"li", "chen", "zhou"},
    ),
    (
        "post",
        "/api/v1/orgs/regions",
        {"code": "990103", "name": "东三街道", "level": "street", "parent_code": "9901"},
        {"ma"},
    ),
]


@pytest.mark.parametrize(
    ("method", "url", "body", "allowed"), MATRIX, ids=[f"{m} {u}" for m, u, _, _ in MATRIX]
)
def test_matrix(people: Any, method: str, url: str, body: Any, allowed: set[str]) -> None:
    for name, user in people.all().items():
        response = call(user, method, url, body)
        if name in allowed:
            assert response.status_code in (200, 201), (name, response.status_code, response.content)
            if method == "post":  # undo, so the next person's create is not a duplicate
                from hotline.citizens.models import Citizen
                from hotline.orgs.models import Region

                Citizen.objects.filter(phone="13800000009").delete()
                Region.objects.filter(code="990103").delete()
        else:
            assert response.status_code == 403, (name, response.status_code, response.content)
            assert response.json()["code"] == "permission_denied"


def test_anonymous_gets_401_everywhere(city: Any) -> None:
    for method, url, body, _allowed in MATRIX:
        client = Client()
        kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body else {}
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == 401, url
        assert response.json()["code"] == "not_authenticated"


def _unit_codes(user: Any) -> set[str]:
    response = call(user, "get", "/api/v1/orgs/units?limit=500")
    assert response.status_code == 200
    return {u["code"] for u in response.json()["items"]}


def test_unit_scope_per_person(people: Any) -> None:
    everything = _unit_codes(people.li)
    assert len(everything) == 10
    assert _unit_codes(people.ma) == everything
    # a street handler sees only that street office and its community
    assert _unit_codes(people.wang) == {"ST-EAST1", "CM-EAST1-1"}
    assert _unit_codes(people.sun) == {"ST-EAST1", "CM-EAST1-1"}
    assert _unit_codes(people.qian) == {"ST-EAST2"}
    assert _unit_codes(people.hu) == {"HOUSING"}
    # a district leader sees every unit in the district; a city leader the whole city
    assert _unit_codes(people.zhao) == {"DG-EAST", "ST-EAST1", "ST-EAST2", "CM-EAST1-1"}
    assert _unit_codes(people.liu) == everything


def test_cross_unit_detail_is_not_found(people: Any) -> None:
    assert call(people.wang, "get", "/api/v1/orgs/units/ST-EAST1").status_code == 200
    denied = call(people.wang, "get", "/api/v1/orgs/units/ST-EAST2")
    assert denied.status_code == 404
    assert denied.json()["code"] == "not_found"
    assert call(people.zhao, "get", "/api/v1/orgs/units/ST-WEST1").status_code == 404
    assert call(people.zhao, "get", "/api/v1/orgs/units/ST-EAST2").status_code == 200


def test_region_scope(people: Any) -> None:
    def codes(user: Any) -> set[str]:
        return {r["code"] for r in call(user, "get", "/api/v1/orgs/regions?limit=500").json()["items"]}

    assert codes(people.li) == {"99", "9901", "9902", "990101", "990102", "990201", "99010101"}
    assert codes(people.zhao) == {"9901", "990101", "990102", "99010101"}
    assert codes(people.wang) == {"990101", "99010101"}


def test_user_list_scope(people: Any) -> None:
    def names(user: Any) -> set[str]:
        return {u["username"] for u in call(user, "get", "/api/v1/accounts/users?limit=500").json()["items"]}

    assert names(people.sun) == {"wang", "sun"}
    assert names(people.wu) == {"wu"}
    assert names(people.zhao) == {"wang", "sun", "qian", "zhao"}
    assert names(people.ma) == set(ALL)


def test_manager_creates_handler_in_own_unit_only(people: Any, city: Any) -> None:
    body = {"username": "zheng", "password": PASSWORD, "role": "handler", "unit_code": "ST-EAST1"}
    created = call(people.sun, "post", "/api/v1/accounts/users", body)
    assert created.status_code == 201, created.content
    assert created.json()["unit"]["code"] == "ST-EAST1"

    other_unit = {**body, "username": "feng", "unit_code": "ST-WEST1"}
    denied = call(people.sun, "post", "/api/v1/accounts/users", other_unit)
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied"

    # nor may a manager hand out centre or leader roles
    escalate = {**body, "username": "feng", "role": "agent", "unit_code": "CENTRE"}
    assert call(people.sun, "post", "/api/v1/accounts/users", escalate).status_code == 403


def test_manager_cannot_change_other_units_staff(people: Any) -> None:
    assert (
        call(people.sun, "patch", f"/api/v1/accounts/users/{people.qian.pk}", {"full_name": "x"}).status_code
        == 404
    )
    ok = call(people.sun, "patch", f"/api/v1/accounts/users/{people.wang.pk}", {"full_name": "王大强"})
    assert ok.status_code == 200
    assert ok.json()["full_name"] == "王大强"
    # moving own staff into another unit is refused
    moved = call(people.sun, "patch", f"/api/v1/accounts/users/{people.wang.pk}", {"unit_code": "ST-WEST1"})
    assert moved.status_code == 403
    people.wang.refresh_from_db()
    assert people.wang.unit.code == "ST-EAST1"


def test_leader_cannot_write(people: Any) -> None:
    body = {"username": "feng", "password": PASSWORD, "role": "handler", "unit_code": "ST-EAST1"}
    assert call(people.zhao, "post", "/api/v1/accounts/users", body).status_code == 403
    assert (
        call(people.liu, "patch", f"/api/v1/accounts/users/{people.wang.pk}", {"full_name": "x"}).status_code
        == 403
    )


def test_me_describes_role_and_scope(people: Any) -> None:
    me = call(people.wang, "get", "/api/v1/accounts/me").json()
    assert me["role"] == "handler"
    assert me["scope"] == "unit:ST-EAST1"
    assert "citizens.view_personal_data" not in me["permissions"]
    assert call(people.zhao, "get", "/api/v1/accounts/me").json()["scope"] == "region:9901"
    assert call(people.li, "get", "/api/v1/accounts/me").json()["scope"] == "city"
