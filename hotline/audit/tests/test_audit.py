"""Audit rows for changes and personal-data reads; the log cannot be edited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client

from conftest import PASSWORD
from hotline.audit.models import AppendOnlyError, AuditEvent
from hotline.citizens.models import Citizen
from hotline.citizens.services import citizen_create

pytestmark = pytest.mark.django_db


def login(user: Any) -> Client:
    client = Client(REMOTE_ADDR="10.1.2.3")
    client.force_login(user)
    return client


@pytest.fixture
def citizen(city: Any) -> Citizen:
    return citizen_create(
        name="王小明", phone="13812345678", id_number="110101199003071234", region=city.east1
    )


def test_change_is_recorded_with_actor_address_before_and_after(people: Any, city: Any) -> None:
    client = login(people.sun)
    response = client.patch(
        f"/api/v1/accounts/users/{people.wang.pk}",
        data=json.dumps({"full_name": "王大强", "phone": "13900000000"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    row = AuditEvent.objects.filter(object_type="accounts.user", object_id=str(people.wang.pk)).first()
    assert row is not None
    assert row.action == "update"
    assert row.actor_id == people.sun.pk
    assert row.actor_name == "sun"
    assert row.ip == "10.1.2.3"
    assert row.before == {"full_name": "王强", "phone": ""}
    assert row.after == {"full_name": "王大强", "phone": "13900000000"}
    assert row.request_id


def test_create_through_api_is_recorded(people: Any) -> None:
    client = login(people.li)
    response = client.post(
        "/api/v1/citizens",
        data=json.dumps({"name": "李四", "phone": "13700000000"}),
        content_type="application/json",
    )
    assert response.status_code == 201
    row = AuditEvent.objects.get(object_type="citizens.citizen", action="create")
    assert row.actor_id == people.li.pk
    assert row.after["phone"] == "13700000000"
    assert row.before is None


def test_unmasked_read_of_personal_data_is_recorded(people: Any, citizen: Citizen) -> None:
    before = AuditEvent.objects.filter(action="read").count()
    response = login(people.li).get(f"/api/v1/citizens/{citizen.pk}?purpose=callback")
    assert response.status_code == 200
    data = response.json()
    assert data["phone"] == "13812345678"
    assert data["id_number"] == "110101199003071234"
    assert data["masked"] is False
    reads = AuditEvent.objects.filter(action="read")
    assert reads.count() == before + 1
    row = reads.first()
    assert row is not None
    assert row.actor_id == people.li.pk
    assert row.object_id == str(citizen.pk)
    assert row.after == {"fields": ["id_number", "phone"]}
    assert row.note == "callback"
    assert row.ip == "10.1.2.3"


def test_masked_roles_see_no_personal_data_and_leave_no_read_row(people: Any, citizen: Citizen) -> None:
    for person in (people.liu, people.zhao, people.ma):
        data = login(person).get(f"/api/v1/citizens/{citizen.pk}").json()
        assert data["phone"] == "138****5678"
        assert data["id_number"] == "1101**********1234"
        assert data["masked"] is True
    assert not AuditEvent.objects.filter(action="read").exists()
    # department handlers have no citizen directory at all
    assert login(people.wang).get(f"/api/v1/citizens/{citizen.pk}").status_code == 403


def test_lists_are_masked_for_everyone(people: Any, citizen: Citizen) -> None:
    data = login(people.li).get("/api/v1/citizens?phone=13812345678").json()
    assert [c["phone"] for c in data] == ["138****5678"]
    assert not AuditEvent.objects.filter(action="read").exists()


def test_sign_in_and_failed_sign_in_are_recorded(people: Any) -> None:
    client = Client(REMOTE_ADDR="10.9.9.9")
    client.post("/accounts/login/", {"username": "wang", "password": "wrong-password"})
    failed = AuditEvent.objects.get(action="login_failed")
    assert failed.object_repr == "wang"
    assert failed.ip == "10.9.9.9"
    client.post("/accounts/login/", {"username": "wang", "password": PASSWORD})
    ok = AuditEvent.objects.get(action="login")
    assert ok.actor_id == people.wang.pk
    assert ok.ip == "10.9.9.9"


def test_the_log_cannot_be_changed_through_the_orm(people: Any) -> None:
    row = AuditEvent.objects.first()
    assert row is not None
    row.note = "tampered"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=row.pk).update(note="tampered")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


def test_the_database_refuses_updates(people: Any) -> None:
    row = AuditEvent.objects.first()
    assert row is not None
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET note = 'tampered' WHERE id = %s", [row.pk])
    row.refresh_from_db()
    assert row.note != "tampered"


def test_the_database_refuses_deletes_on_postgresql(people: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row DELETE is refused by trigger on PostgreSQL; SQLite relies on the model guard")
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == count


def test_administrator_searches_the_log_and_nobody_edits_it_in_admin(people: Any, citizen: Citizen) -> None:
    admin = login(people.ma)
    found = admin.get("/api/v1/audit/events?object_type=citizens.citizen&action=create").json()
    assert found["count"] == 1
    assert found["items"][0]["object_id"] == str(citizen.pk)
    page = admin.get("/admin/audit/auditevent/?q=王小明")
    assert page.status_code == 200
    row = AuditEvent.objects.filter(object_type="citizens.citizen").first()
    assert row is not None
    assert admin.post(f"/admin/audit/auditevent/{row.pk}/delete/").status_code == 403
    assert admin.get("/admin/audit/auditevent/add/").status_code == 403
    assert login(people.li).get("/admin/audit/auditevent/").status_code == 302  # not staff: to admin login
    assert login(people.li).get("/api/v1/audit/events").status_code == 403


def test_address_behind_the_proxy_is_the_hop_it_appended(settings: Any) -> None:
    from django.test import RequestFactory

    from hotline.audit.middleware import client_ip

    request = RequestFactory().get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.1.1.7", REMOTE_ADDR="127.0.0.1")
    assert client_ip(request) == "127.0.0.1"  # no trusted proxy configured
    settings.AXES_IPWARE_PROXY_COUNT = 1
    assert client_ip(request) == "10.1.1.7"  # the client's own "6.6.6.6" is ignored
