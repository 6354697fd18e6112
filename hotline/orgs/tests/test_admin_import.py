"""The admin screens of the org tree and the category tree: CSV pages, saving through services."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from hotline.accounts.models import User
from hotline.audit.models import AuditAction, AuditEvent
from hotline.orgs.models import Region, Unit
from hotline.taxonomy.models import Category
from hotline.taxonomy.services import category_save

IMPORT_URL = "admin:orgs_region_import"
EXPORT_URL = "admin:orgs_region_export"


@pytest.fixture
def admin_client(people: Any) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the assertions read English messages
    client.force_login(people.ma)
    return client


def upload(text: str, name: str = "regions.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def regions() -> list[tuple[Any, ...]]:
    return sorted(Region.objects.values_list("code", "name", "level", "parent__code", "path", "active"))


def test_admin_uploads_a_good_regions_file(admin_client: Client) -> None:
    page = admin_client.get(reverse(IMPORT_URL))
    assert page.status_code == 200
    assert b"parent_code" in page.content

    response = admin_client.post(
        reverse(IMPORT_URL),
        {"file": upload("code,name,level,parent_code\n9903,南区,district,99\n990301,南一街道,street,9903\n")},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:orgs_region_changelist")
    assert Region.objects.get(code="990301").path == "/99/9903/990301/"
    event = AuditEvent.objects.filter(action=AuditAction.IMPORT).get()
    assert event.actor_name == "ma"
    follow = admin_client.get(response["Location"])
    assert b"2 created" in follow.content


def test_admin_upload_of_a_bad_file_lists_every_row_and_changes_nothing(admin_client: Client) -> None:
    before = regions()
    bad = (
        "code,name,level,parent_code,active\n"
        "9903,南区,district,99,1\n"
        "9904,,district,99,1\n"
        "990401,街道,street,4242,1\n"
        "9903,重复,district,99,sometimes\n"
    )

    response = admin_client.post(reverse(IMPORT_URL), {"file": upload(bad)})

    assert response.status_code == 422
    rows = [(e.row, e.column) for e in response.context["rejected"].errors]
    assert rows == [(3, "name"), (4, "parent_code"), (5, "code"), (5, "active")]
    html = response.content.decode()
    assert 'id="csv-errors"' in html
    for text in ("Required.", "4242", "already on row 2", "sometimes"):
        assert text in html
    assert regions() == before


def test_admin_uploads_units_and_duties(admin_client: Client, city: Any) -> None:
    category = category_save(category=Category(name="城乡建设"))
    response = admin_client.post(
        reverse("admin:orgs_unit_import"),
        {
            "file": upload(
                "code,name,kind,region_code,parent_code\nST-EAST3,东三办事处,street_office,9901,DG-EAST\n"
            )
        },
    )
    assert response.status_code == 302
    assert Unit.objects.get(code="ST-EAST3").path == "/DG-EAST/ST-EAST3/"

    response = admin_client.post(
        reverse("admin:orgs_dutyassignment_import"),
        {"file": upload(f"category_code,region_code,unit_code\n{category.code},99,HOUSING\n")},
    )
    assert response.status_code == 302
    assert city.housing.duties.count() == 1


def test_admin_downloads_the_exports(admin_client: Client, city: Any) -> None:
    for name in ("region", "unit", "dutyassignment"):
        response = admin_client.get(reverse(f"admin:orgs_{name}_export"))
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert "attachment" in response["Content-Disposition"]
        assert response.content.startswith(b"\xef\xbb\xbf")
    text = admin_client.get(reverse(EXPORT_URL)).content.decode("utf-8-sig")
    assert "990101,东一街道,street,9901,1,0" in text
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 4


def test_changelist_offers_import_and_export(admin_client: Client) -> None:
    response = admin_client.get(reverse("admin:orgs_region_changelist"))
    assert response.status_code == 200
    assert reverse(IMPORT_URL).encode() in response.content
    assert reverse(EXPORT_URL).encode() in response.content


def test_a_handler_cannot_reach_the_import_pages(people: Any) -> None:
    client = Client()
    client.force_login(people.wang)
    for url in (reverse(IMPORT_URL), reverse(EXPORT_URL), reverse("admin:taxonomy_category_import")):
        response = client.get(url)
        assert response.status_code == 302
        assert reverse("admin:login") in response["Location"]
    response = client.post(reverse(IMPORT_URL), {"file": upload("code,name,level\n77,x,city\n")})
    assert response.status_code == 302
    assert not Region.objects.filter(code="77").exists()


def test_staff_without_the_import_permission_gets_403(people: Any) -> None:
    User.objects.filter(pk=people.zhou.pk).update(is_staff=True)  # a dispatcher let into the admin
    client = Client()
    client.force_login(people.zhou)
    assert client.get(reverse(IMPORT_URL)).status_code == 403
    assert client.get(reverse(EXPORT_URL)).status_code == 403
    response = client.post(reverse(IMPORT_URL), {"file": upload("code,name,level\n77,x,city\n")})
    assert response.status_code == 403
    assert not Region.objects.filter(code="77").exists()


# --- Saving and deleting through the services ---------------------------------------------------


def test_a_region_that_breaks_the_level_rules_is_a_form_error(admin_client: Client, city: Any) -> None:
    response = admin_client.post(
        reverse("admin:orgs_region_add"),
        {"code": "990199", "name": "错层", "level": "street", "parent": city.city.pk, "sort_order": 0},
    )
    assert response.status_code == 200
    assert "level" in response.context["adminform"].form.errors
    assert not Region.objects.filter(code="990199").exists()


def test_a_region_added_in_the_admin_is_saved_by_the_service(admin_client: Client, city: Any) -> None:
    response = admin_client.post(
        reverse("admin:orgs_region_add"),
        {"code": "990103", "name": "东三街道", "level": "street", "parent": city.east.pk, "sort_order": 3},
    )
    assert response.status_code == 302
    region = Region.objects.get(code="990103")
    assert region.path == "/99/9901/990103/"
    events = AuditEvent.objects.filter(object_type="orgs.region", object_id=str(region.pk))
    assert events.filter(action=AuditAction.CREATE).exists()


def test_deleting_through_the_admin_is_audited_and_protected(admin_client: Client, city: Any) -> None:
    water = city.water
    response = admin_client.post(reverse("admin:orgs_unit_delete", args=[water.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Unit.objects.filter(pk=water.pk).exists()
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, object_type="orgs.unit").count() == 1

    # A region with sub-regions is protected: the admin explains instead of failing.
    response = admin_client.post(reverse("admin:orgs_region_delete", args=[city.east.pk]), {"post": "yes"})
    assert response.status_code in (200, 302)
    assert Region.objects.filter(pk=city.east.pk).exists()


# --- Categories ---------------------------------------------------------------------------------


def test_category_import_page_and_retire_restore_actions(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:taxonomy_category_import"),
        {"file": upload("level1,level2,level3\n城乡建设,城乡规划,违章建筑\n", "taxonomy.csv")},
    )
    assert response.status_code == 302
    level2 = Category.objects.get(name="城乡规划")

    bad = admin_client.post(
        reverse("admin:taxonomy_category_import"),
        {"file": upload("level1,level2,level3\n城乡建设,,违章建筑\n", "taxonomy.csv")},
    )
    assert bad.status_code == 422
    assert [(e.row, e.column) for e in bad.context["rejected"].errors] == [(2, "level2")]

    changelist = reverse("admin:taxonomy_category_changelist")
    response = admin_client.post(changelist, {"action": "retire_categories", "_selected_action": [level2.pk]})
    assert response.status_code == 302
    assert not Category.objects.get(name="违章建筑").active
    response = admin_client.post(changelist, {"action": "restore_categories", "_selected_action": level2.pk})
    assert response.status_code == 302
    assert Category.objects.get(pk=level2.pk).active

    # Restoring a child under a retired parent is refused with a message, not an error page.
    root = Category.objects.get(code="01")
    admin_client.post(changelist, {"action": "retire_categories", "_selected_action": [root.pk]})
    leaf = Category.objects.get(name="违章建筑")
    response = admin_client.post(
        changelist, {"action": "restore_categories", "_selected_action": [leaf.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not Category.objects.get(pk=leaf.pk).active
    assert "Restore the parent category first." in response.content.decode()

    export = admin_client.get(reverse("admin:taxonomy_category_export"))
    assert export.status_code == 200
    assert "0101,城乡建设,城乡规划,,0" in export.content.decode("utf-8-sig")


def test_categories_cannot_be_deleted_in_the_admin(admin_client: Client) -> None:
    category = category_save(category=Category(name="甲"))
    url = reverse("admin:taxonomy_category_delete", args=[category.pk])
    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 403
    assert Category.objects.filter(pk=category.pk).exists()


def test_a_category_added_in_the_admin_gets_the_next_code(admin_client: Client) -> None:
    root = category_save(category=Category(name="甲"))
    response = admin_client.post(
        reverse("admin:taxonomy_category_add"), {"name": "乙", "parent": root.pk, "code": "", "sort_order": 0}
    )
    assert response.status_code == 302
    assert Category.objects.get(name="乙").code == "0101"

    data = {"name": "丙", "parent": root.pk, "code": "0201", "sort_order": 0}
    response = admin_client.post(reverse("admin:taxonomy_category_add"), data)
    assert response.status_code == 200  # the code must start with the parent's
    assert "code" in response.context["adminform"].form.errors


def test_a_duplicate_category_name_is_a_form_error(admin_client: Client) -> None:
    root = category_save(category=Category(name="甲"))
    category_save(category=Category(name="乙", parent=root))
    other = category_save(category=Category(name="丙", parent=root))

    url = reverse("admin:taxonomy_category_change", args=[other.pk])
    response = admin_client.post(url, {"name": "乙", "sort_order": 0})
    assert response.status_code == 200
    assert "name" in response.context["adminform"].form.errors

    response = admin_client.post(
        reverse("admin:taxonomy_category_add"), {"name": "甲", "code": "", "sort_order": 0}
    )
    assert response.status_code == 200  # a second level-1 category of the same name
    assert Category.objects.filter(name="甲").count() == 1
