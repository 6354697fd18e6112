"""The calendar pages of the admin: every page opens for an administrator, saving and deleting go
through the services, and the banner warns about years without official holidays."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from hotline.accounts.choices import Role
from hotline.accounts.roles import ROLE_PERMISSIONS
from hotline.audit.models import AuditAction, AuditEvent
from hotline.workcalendar import admin as calendar_admin
from hotline.workcalendar.choices import CalendarDayKind, DeadlineStep
from hotline.workcalendar.models import CalendarDay, DeadlineRule, WorkingHours
from hotline.workcalendar.permissions import MANAGE_WORKCALENDAR
from hotline.workcalendar.selectors import is_working_day

D = datetime.date
MODELS = ("calendarday", "workinghours", "deadlinerule")


@pytest.fixture
def admin_client(people: Any) -> Client:
    assert ROLE_PERMISSIONS[Role.ADMIN] >= MANAGE_WORKCALENDAR  # the role matrix grants the calendar
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(people.ma)
    return client


@pytest.fixture
def june_2026(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calendar_admin, "today", lambda: D(2026, 6, 1))


@pytest.mark.parametrize("model", MODELS)
def test_every_page_opens(admin_client: Client, model: str) -> None:
    changelist = admin_client.get(reverse(f"admin:workcalendar_{model}_changelist"))
    assert changelist.status_code == 200
    assert admin_client.get(reverse(f"admin:workcalendar_{model}_add")).status_code == 200


def test_change_pages_open(admin_client: Client) -> None:
    day = CalendarDay.objects.create(date=D(2026, 3, 3), kind=CalendarDayKind.HOLIDAY, name="检修")
    for obj in (day, WorkingHours.objects.first(), DeadlineRule.objects.first()):
        assert obj is not None
        url = reverse(f"admin:workcalendar_{obj._meta.model_name}_change", args=[obj.pk])
        assert admin_client.get(url).status_code == 200
    listing = admin_client.get(reverse("admin:workcalendar_calendarday_changelist"), {"year": "2026"})
    assert "检修" in listing.content.decode()
    assert "Day off" in listing.content.decode()


def test_rule_list_describes_each_rule(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:workcalendar_deadlinerule_changelist")).content.decode()
    assert "Sign for · any request → 2 working hours" in page
    assert "Emergency (danger to life or property) → 2 calendar hours" in page


def test_adding_an_override_is_audited_and_used_at_once(admin_client: Client) -> None:
    assert is_working_day(D(2026, 3, 3))
    response = admin_client.post(
        reverse("admin:workcalendar_calendarday_add"),
        {"date": "2026-03-03", "kind": "holiday", "name": "停水检修", "note": ""},
    )
    assert response.status_code == 302, response.content.decode()
    assert not is_working_day(D(2026, 3, 3))
    event = AuditEvent.objects.get(object_type="workcalendar.calendarday", action=AuditAction.CREATE)
    assert event.actor_name == "ma"

    again = admin_client.post(
        reverse("admin:workcalendar_calendarday_add"), {"date": "2026-03-03", "kind": "workday"}
    )
    assert again.status_code == 200  # the form shows the error
    assert CalendarDay.objects.count() == 1


def test_overlapping_working_hours_are_refused(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:workcalendar_workinghours_add"), {"start": "11:00", "end": "14:00", "note": ""}
    )
    assert response.status_code == 200
    assert "must not overlap" in response.content.decode()
    assert WorkingHours.objects.count() == 2

    ok = admin_client.post(
        reverse("admin:workcalendar_workinghours_add"), {"start": "18:00", "end": "20:00", "note": "晚班"}
    )
    assert ok.status_code == 302
    assert WorkingHours.objects.count() == 3


def test_the_last_working_period_cannot_be_deleted(admin_client: Client) -> None:
    first, second = WorkingHours.objects.order_by("start")
    url = reverse("admin:workcalendar_workinghours_delete", args=[first.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert AuditEvent.objects.filter(
        object_type="workcalendar.workinghours", action=AuditAction.DELETE
    ).exists()
    url = reverse("admin:workcalendar_workinghours_delete", args=[second.pk])
    admin_client.post(url, {"post": "yes"})
    assert WorkingHours.objects.filter(pk=second.pk).exists()


def test_adding_a_rule(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:workcalendar_deadlinerule_add"),
        {
            "step": "answer",
            "request_type": "",
            "category": "",
            "urgency": "urgent",
            "complex_case": "",
            "amount": "3",
            "measure": "working_days",
            "priority": "0",
            "active": "on",
            "note": "",
        },
    )
    assert response.status_code == 302, response.content.decode()
    rule = DeadlineRule.objects.get(urgency="urgent")
    assert (rule.step, rule.amount, rule.complex_case) == (DeadlineStep.ANSWER, 3, None)
    change = reverse("admin:workcalendar_deadlinerule_change", args=[rule.pk])
    assert '<option value="" selected>' in admin_client.get(change).content.decode()
    form = {"step": "answer", "urgency": "urgent", "complex_case": "True", "amount": "20"}
    form |= {"measure": "working_days", "priority": "0", "active": "on"}
    assert admin_client.post(change, form).status_code == 302
    rule.refresh_from_db()
    assert (rule.complex_case, rule.amount) == (True, 20)
    assert '<option value="True" selected>' in admin_client.get(change).content.decode()
    assert AuditEvent.objects.filter(
        object_type="workcalendar.deadlinerule", action=AuditAction.CREATE
    ).exists()


def test_banner_warns_about_missing_years(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calendar_admin, "today", lambda: D(2098, 11, 20))
    for model in MODELS:
        page = admin_client.get(reverse(f"admin:workcalendar_{model}_changelist")).content.decode()
        assert "calendar-warnings" in page
        assert "The public holidays of 2098 are not loaded" in page
        assert "The public holidays of 2099 are not loaded" in page
    form = admin_client.get(reverse("admin:workcalendar_calendarday_add")).content.decode()
    assert "The public holidays of 2099 are not loaded" in form


def test_no_banner_when_the_years_are_loaded(admin_client: Client, june_2026: None) -> None:
    page = admin_client.get(reverse("admin:workcalendar_calendarday_changelist")).content.decode()
    assert "calendar-warnings" not in page


def test_people_without_the_permission_see_nothing(people: Any) -> None:
    client = Client()
    client.force_login(people.li)  # an agent
    response = client.get(reverse("admin:workcalendar_calendarday_changelist"))
    assert response.status_code in (302, 403)
