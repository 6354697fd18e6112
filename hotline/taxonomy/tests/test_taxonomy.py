"""The category tree: the bundled import, idempotence, codes, retiring, bad rows."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db.models import ProtectedError
from django.utils import translation

from hotline.audit.models import AuditAction, AuditEvent
from hotline.core.csvio import ImportRejected
from hotline.orgs.models import DutyAssignment
from hotline.orgs.selectors import duty_resolve
from hotline.orgs.services import duty_save
from hotline.taxonomy.importers import (
    BUNDLED_TAXONOMY,
    taxonomy_export,
    taxonomy_import,
    taxonomy_import_bundled,
)
from hotline.taxonomy.models import Category
from hotline.taxonomy.services import category_restore, category_retire


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


def tree_snapshot() -> list[tuple[Any, ...]]:
    return sorted(Category.objects.values_list("code", "name", "level", "parent__code", "active"))


def test_the_bundled_file_lives_in_the_project() -> None:
    assert BUNDLED_TAXONOMY.is_file()
    assert BUNDLED_TAXONOMY.is_relative_to(Path(__file__).resolve().parents[2])


def test_import_of_the_bundled_file(db: Any) -> None:
    report = taxonomy_import_bundled()

    assert Category.objects.filter(level=1).count() == 15
    assert Category.objects.filter(level=3).count() == 517
    assert report.created == Category.objects.count() == 15 + 118 + 517
    codes = list(Category.objects.values_list("code", flat=True))
    assert len(codes) == len(set(codes))
    for category in Category.objects.select_related("parent"):
        assert len(category.code) == 2 * category.level and category.code.isdigit()
        if category.parent is not None:
            assert category.code.startswith(category.parent.code)
            assert category.level == category.parent.level + 1
    first = Category.objects.get(code="01")
    assert first.name == "城乡建设"  # codes follow the order of the file
    leaf = Category.objects.get(name="城管执法", parent__name="城市建设和市政管理")
    assert leaf.full_name == "城乡建设 / 城市建设和市政管理 / 城管执法"
    events = AuditEvent.objects.filter(object_type="taxonomy.category")
    assert events.filter(action=AuditAction.CREATE).count() == 650
    assert events.filter(action=AuditAction.IMPORT).count() == 1


def test_reimport_is_idempotent(db: Any) -> None:
    taxonomy_import_bundled()
    before, audit_before = tree_snapshot(), AuditEvent.objects.count()

    report = taxonomy_import_bundled()

    assert (report.created, report.updated, report.unchanged) == (0, 0, 650)
    assert tree_snapshot() == before
    assert AuditEvent.objects.count() == audit_before


def test_new_rows_are_added_under_existing_parents(db: Any) -> None:
    header = "level1,level2,level3\n"
    taxonomy_import(data=header + "城乡建设,城乡规划,违章建筑\n城乡建设,城乡规划,规划方案\n")

    report = taxonomy_import(data=header + "城乡建设,城乡规划,违章建筑\n城乡建设,城乡规划,新问题\n")

    assert (report.created, report.unchanged) == (1, 3)
    assert Category.objects.get(name="新问题").code == "010103"


def test_given_codes_are_used_and_free_codes_avoid_them(db: Any) -> None:
    text = "level1,level2,level3,code1,code2,code3\n甲,乙,丙,05,0507,050709\n甲,乙,丁,,,\n甲,戊,,,,\n"

    taxonomy_import(data=text)

    assert Category.objects.get(name="丙").code == "050709"
    assert Category.objects.get(name="丁").code == "050710"
    assert Category.objects.get(name="戊").code == "0508"


def test_retire_hides_but_keeps_references_and_delete_is_protected(city: Any) -> None:
    taxonomy_import_bundled()
    enforcement = Category.objects.get(name="城管执法")
    duty = duty_save(duty=DutyAssignment(category=enforcement, region=city.east1, unit=city.east1_office))
    parent = enforcement.parent
    assert parent is not None

    retired = category_retire(category=parent)

    assert retired == 1 + parent.children.count()
    enforcement.refresh_from_db()
    assert enforcement.active is False and enforcement.retired_at is not None
    assert not Category.objects.filter(active=True, name="城管执法").exists()
    duty.refresh_from_db()
    assert duty.category == enforcement  # old references survive
    assert duty_resolve(category=enforcement, region=city.east1) == duty
    with pytest.raises(ProtectedError):
        enforcement.delete()
    with pytest.raises(ProtectedError):
        Category.objects.get(code="01").delete()  # it has children

    category_restore(category=parent)
    parent.refresh_from_db()
    assert parent.active is True and parent.retired_at is None


def test_active_column_retires_and_restores(db: Any) -> None:
    taxonomy_import(data="level1,level2\n甲,乙\n甲,丙\n")

    report = taxonomy_import(data="level1,level2,active\n甲,乙,0\n")
    assert report.updated == 1
    assert Category.objects.get(name="乙").active is False
    assert Category.objects.get(name="丙").active is True

    report = taxonomy_import(data="level1,level2,active\n甲,乙,1\n")
    assert report.updated == 1
    assert Category.objects.get(name="乙").active is True


def test_round_trip_export_then_import(db: Any) -> None:
    taxonomy_import_bundled()
    category_retire(category=Category.objects.get(code="0102"))
    exported = taxonomy_export()
    assert exported.startswith("\ufeffcode,level1,level2,level3,active\r\n")
    before = tree_snapshot()
    for category in Category.objects.order_by("-level"):
        category.delete()

    report = taxonomy_import(data=exported.encode("utf-8"))

    assert report.created == 650
    assert tree_snapshot() == before
    assert taxonomy_export() == exported


def test_bad_rows_are_all_reported_and_nothing_is_created(db: Any) -> None:
    taxonomy_import(data="level1\n甲\n")
    before, audit_before = tree_snapshot(), AuditEvent.objects.count()
    bad = (
        "level1,level2,level3,code1,code2,code3,active\n"
        "乙,,丙,,,,\n"  # level 3 without level 2
        "乙,丁,戊,,,,\n"
        "乙,丁,戊,,,,\n"  # duplicate
        "甲,己,,02,,,\n"  # 甲 already has code 01
        "庚,辛,,7,,,\n"  # a level-1 code has 2 digits
        "壬,癸,,08,0901,,\n"  # must start with the parent's code
        "子,丑,,,,,maybe\n"  # not a boolean
        ",丑,,,,,\n"  # level 1 missing
    )

    with pytest.raises(ImportRejected) as caught:
        taxonomy_import(data=bad)

    found = {(e.row, e.column) for e in caught.value.errors}
    assert found >= {
        (2, "level2"),
        (4, "level3"),
        (5, "code1"),
        (6, "code1"),
        (7, "code2"),
        (8, "active"),
        (9, "level1"),
    }
    assert not any(e.row == 3 for e in caught.value.errors)
    assert caught.value.code == "import_rejected"
    assert "row 4: level3" in caught.value.fields
    assert tree_snapshot() == before
    assert AuditEvent.objects.count() == audit_before


def test_a_code_taken_elsewhere_is_refused(db: Any) -> None:
    taxonomy_import(data="level1,code1\n甲,01\n")
    with pytest.raises(ImportRejected) as caught:
        taxonomy_import(data="level1,code1\n乙,01\n丙,03\n丁,03\n")
    assert {(e.row, e.column) for e in caught.value.errors} == {(2, "code1"), (4, "code1")}


def test_a_child_cannot_stay_active_under_a_retired_parent(db: Any) -> None:
    taxonomy_import(data="level1,level2\n甲,乙\n")
    with pytest.raises(ImportRejected) as caught:
        taxonomy_import(data="level1,level2,active\n甲,,0\n甲,乙,1\n")
    assert {(e.row, e.column) for e in caught.value.errors} == {(3, "active")}


def test_import_taxonomy_command(tmp_path: Path, db: Any) -> None:
    out = io.StringIO()
    call_command("import_taxonomy", stdout=out)
    assert "650 created" in out.getvalue()

    bad = tmp_path / "bad.csv"
    bad.write_text("level1,level2,level3\n,x,y\n", encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_taxonomy", str(bad), stdout=io.StringIO(), stderr=err)
    assert "row 2: level1" in err.getvalue()
