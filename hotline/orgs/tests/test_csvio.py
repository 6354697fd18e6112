"""CSV import and export of the org tree and the duty list."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from hotline.audit.models import AuditAction, AuditEvent
from hotline.core.csvio import ImportRejected
from hotline.core.errors import ValidationFailed
from hotline.orgs import csvio
from hotline.orgs.csvio import orgs_import, regions_import, units_import
from hotline.orgs.models import DutyAssignment, Region, Unit
from hotline.orgs.services import duty_save, region_save
from hotline.taxonomy.models import Category
from hotline.taxonomy.services import category_save

REGIONS = """code,name,level,parent_code,active,sort_order
88,样例市,city,,1,0
8801,北区,district,88,1,1
880101,北一街道,street,8801,1,1
880102,北二街道,street,8801,0,2
88010101,北一社区,community,880101,1,1
"""

UNITS = """code,name,short_name,kind,region_code,parent_code,phone,email,active,sort_order
C,热线中心,中心,centre,88,,12345,hotline@example.org,1,0
DG-N,北区人民政府,北区政府,district_government,8801,,0999-1,,1,1
ST-N1,北一街道办事处,北一街道,street_office,880101,DG-N,0999-2,,1,1
"""


@pytest.fixture(autouse=True)
def english() -> Any:
    with translation.override("en"):
        yield


@pytest.fixture
def categories(db: Any) -> dict[str, Category]:
    urban = category_save(category=Category(name="城乡建设"))
    city = category_save(category=Category(name="城市建设和市政管理", parent=urban))
    enforcement = category_save(category=Category(name="城管执法", parent=city))
    env = category_save(category=Category(name="环境保护"))
    return {"urban": urban, "city": city, "enforcement": enforcement, "env": env}


def duties_csv(cats: dict[str, Category]) -> str:
    return (
        "category_code,region_code,unit_code,note\n"
        f"{cats['urban'].code},88,C,城市级\n"
        f"{cats['enforcement'].code},880101,ST-N1,一杆到底\n"
    )


REGION_VALUES = ("code", "name", "level", "parent__code", "path", "active", "sort_order")
UNIT_VALUES = ("code", "name", "short_name", "kind", "region__code", "parent__code", "path", "phone", "email")
UNIT_VALUES += ("active", "sort_order")
DUTY_VALUES = ("category__code", "region__code", "unit__code", "note")


def db_snapshot() -> dict[str, Any]:
    return {
        "regions": sorted(Region.objects.values_list(*REGION_VALUES)),
        "units": sorted(Unit.objects.values_list(*UNIT_VALUES)),
        "duties": sorted(DutyAssignment.objects.values_list(*DUTY_VALUES)),
        "audit": AuditEvent.objects.count(),
    }


def test_good_import_creates_everything_and_audits_each_row(categories: dict[str, Category]) -> None:
    audit_before = AuditEvent.objects.count()
    report = orgs_import(regions=REGIONS, units=UNITS, duties=duties_csv(categories))

    assert (report.created, report.updated, report.unchanged) == (10, 0, 0)
    assert report.tables["regions"].created == 5
    assert report.tables["units"].created == 3
    assert report.tables["duties"].created == 2
    community = Region.objects.get(code="88010101")
    assert community.path == "/88/8801/880101/88010101/"
    assert community.level == "community"
    assert Region.objects.get(code="880102").active is False
    office = Unit.objects.get(code="ST-N1")
    assert office.path == "/DG-N/ST-N1/"
    assert office.region.code == "880101"
    assert Unit.objects.get(code="C").email == "hotline@example.org"
    duty = DutyAssignment.objects.get(category=categories["enforcement"])
    assert (duty.region.code, duty.unit.code, duty.note) == ("880101", "ST-N1", "一杆到底")

    events = AuditEvent.objects.order_by("id")[audit_before:]
    creates = [e for e in events if e.action == AuditAction.CREATE]
    assert {e.object_type for e in creates} == {"orgs.region", "orgs.unit", "orgs.dutyassignment"}
    assert len(creates) == 10
    assert all(e.note == "CSV import" for e in creates)
    summary = [e for e in events if e.action == AuditAction.IMPORT]
    assert len(summary) == 1
    assert summary[0].after["regions"] == {"created": 5, "updated": 0, "unchanged": 0}


def test_reimport_is_unchanged_and_writes_nothing(categories: dict[str, Category]) -> None:
    orgs_import(regions=REGIONS, units=UNITS, duties=duties_csv(categories))
    before = db_snapshot()

    report = orgs_import(regions=REGIONS, units=UNITS, duties=duties_csv(categories))

    assert (report.created, report.updated, report.unchanged) == (0, 0, 10)
    assert db_snapshot() == before  # not even an audit row


def test_changed_rows_are_updated_with_an_audit_row(categories: dict[str, Category]) -> None:
    orgs_import(regions=REGIONS, units=UNITS)
    changed = REGIONS.replace("北二街道,street,8801,0,2", "北二街道（新）,street,8801,1,2")

    report = regions_import(data=changed)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    region = Region.objects.get(code="880102")
    assert (region.name, region.active) == ("北二街道（新）", True)
    update = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="orgs.region").get()
    assert update.before == {"name": "北二街道", "active": False}
    assert update.after == {"name": "北二街道（新）", "active": True}


def test_bom_bytes_and_chinese_level_names_are_accepted(db: Any) -> None:
    text = (
        "code,name,level,parent_code\n"
        "77,某市,市,\n7701,某县,县,77\n770101,某镇,乡镇,7701\n77010101,某村,村,770101\n"
    )
    report = regions_import(data=("\ufeff" + text).encode("utf-8"))

    assert report.created == 4
    assert list(Region.objects.order_by("path").values_list("level", flat=True)) == [
        "city",
        "district",
        "street",
        "community",
    ]


def test_forward_references_within_and_across_files(categories: dict[str, Category]) -> None:
    regions = "code,name,level,parent_code\n660101,街道,street,6601\n6601,区,district,66\n66,市,city,\n"
    units = (
        "code,name,kind,region_code,parent_code\n"
        "ST,街道办,street_office,660101,DG\nDG,区政府,district_government,6601,\n"
    )
    duties = f"category_code,region_code,unit_code\n{categories['urban'].code},660101,ST\n"

    report = orgs_import(regions=regions, units=units, duties=duties)

    assert report.created == 6
    assert Region.objects.get(code="660101").path == "/66/6601/660101/"
    assert Unit.objects.get(code="ST").path == "/DG/ST/"


def test_import_moves_a_subtree_and_keeps_paths_right(city: Any) -> None:
    # 东一街道 (with its community) moves from 东区 to 西区.
    report = regions_import(data="code,name,level,parent_code\n990101,东一街道,street,9902\n")

    assert report.updated == 1
    assert Region.objects.get(code="990101").path == "/99/9902/990101/"
    assert Region.objects.get(code="99010101").path == "/99/9902/990101/99010101/"


def test_a_column_left_out_keeps_stored_values(city: Any) -> None:
    Region.objects.filter(code="9902").update(sort_order=7)

    report = regions_import(data="code,name,level\n9902,西区（改）,district\n")

    region = Region.objects.get(code="9902")
    assert report.updated == 1
    assert (region.name, region.parent.code, region.sort_order) == ("西区（改）", "99", 7)


BAD_REGIONS = """code,name,level,parent_code,active,sort_order
55,坏市,city,,1,0
5501,区一,district,55,1,1
5501,区一重复,district,55,1,2
5502,区二,district,5599,1,3
550201,错级社区,community,5501,1,1
5503,,district,55,maybe,1
5504,区四,province,55,1,-1
5505,区五,district,,1,0
550501,环一,street,550502,1,0
550502,环二,street,550501,1,0
"""


def test_bad_regions_file_reports_every_row_and_changes_nothing(city: Any) -> None:
    before = db_snapshot()

    with pytest.raises(ImportRejected) as caught:
        regions_import(data=BAD_REGIONS)

    exc = caught.value
    assert isinstance(exc, ValidationFailed)
    assert exc.code == "import_rejected"
    found = {(e.row, e.column) for e in exc.errors}
    assert (4, "code") in found  # duplicate code (first on row 3)
    assert (5, "parent_code") in found  # unknown parent 5599
    assert (6, "level") in found  # a community under a district
    assert (7, "name") in found  # missing
    assert (7, "active") in found  # not a boolean
    assert (8, "level") in found  # unknown level
    assert (8, "sort_order") in found  # negative
    assert (9, "parent_code") in found  # a district without a parent
    assert (10, "parent_code") in found  # cycle
    assert (11, "parent_code") in found  # cycle
    assert not any(e.row in (2, 3) for e in exc.errors)
    reasons = {(e.row, e.column): e.reason for e in exc.errors}
    assert "row 3" in reasons[(4, "code")]
    assert "5599" in reasons[(5, "parent_code")]
    assert "loops" in reasons[(10, "parent_code")]
    assert exc.fields["row 7: name"] == ["Required."]
    assert "row 8: level" in exc.fields
    assert exc.as_dict()["code"] == "import_rejected"
    assert db_snapshot() == before


def test_bad_units_and_duties_are_all_reported(city: Any, categories: dict[str, Category]) -> None:
    units = """code,name,kind,region_code,parent_code,email
U1,单位一,bureau,99,,
U2,单位二,other,4242,,
U3,单位三,other,99,NOPE,
U4,单位四,other,99,U5,
U5,单位五,other,99,U4,
U6,单位六,other,99,,not-an-address
"""
    duties = f"""category_code,region_code,unit_code,note
999999,99,HOUSING,
{categories["urban"].code},4242,HOUSING,
{categories["urban"].code},99,NOPE,
{categories["env"].code},99,HOUSING,
{categories["env"].code},99,WATER,
"""
    before = db_snapshot()

    with pytest.raises(ImportRejected) as caught:
        orgs_import(units=units, duties=duties)

    found = {(e.file, e.row, e.column) for e in caught.value.errors}
    assert found >= {
        ("units", 2, "kind"),
        ("units", 3, "region_code"),
        ("units", 4, "parent_code"),
        ("units", 5, "parent_code"),
        ("units", 6, "parent_code"),
        ("units", 7, "email"),
        ("duties", 2, "category_code"),
        ("duties", 3, "region_code"),
        ("duties", 4, "unit_code"),
        ("duties", 6, "region_code"),  # same category and region as row 5
    }
    assert "units row 2: kind" in caught.value.fields
    assert db_snapshot() == before


def test_header_problems_are_reported(db: Any) -> None:
    with pytest.raises(ImportRejected) as caught:
        regions_import(data="code,naem,parent_code\n1,x,\n")
    found = {(e.row, e.column) for e in caught.value.errors}
    assert (1, "naem") in found  # unknown column
    assert (1, "name") in found  # required column missing
    assert (1, "level") in found

    with pytest.raises(ImportRejected) as caught:
        # An unknown column does not stop the rows from being checked.
        regions_import(data="code,name,level,colour\n1,,city,red\n")
    assert {(e.row, e.column) for e in caught.value.errors} == {(1, "colour"), (2, "name")}

    with pytest.raises(ImportRejected) as caught:
        regions_import(data=b"")
    assert caught.value.errors[0].row == 1

    with pytest.raises(ImportRejected) as caught:
        regions_import(data="code,name,level\n".encode("gbk") + "1,市,city\n".encode("gbk"))
    assert caught.value.errors[0].row == 0
    assert "UTF-8" in caught.value.errors[0].reason


def test_a_level_change_that_strands_stored_children_is_refused(city: Any) -> None:
    before = db_snapshot()
    with pytest.raises(ImportRejected) as caught:
        # 东区 would become a street: its streets (not in the file) would no longer fit under it.
        regions_import(data="code,name,level,parent_code\n9901,东区,street,9902\n")
    assert {(e.row, e.column) for e in caught.value.errors} == {(2, "level")}
    assert "990101" in caught.value.errors[0].reason
    assert db_snapshot() == before


def test_round_trip_export_then_import_on_an_empty_database(
    city: Any, categories: dict[str, Category]
) -> None:
    cats = categories
    duty_save(duty=DutyAssignment(category=cats["urban"], region=city.city, unit=city.housing, note="n"))
    duty_save(duty=DutyAssignment(category=cats["enforcement"], region=city.east1, unit=city.east1_office))
    water = {"active": False, "phone": "96390", "email": "water@example.org", "sort_order": 3}
    Unit.objects.filter(code="WATER").update(**water)
    exported = {name: export() for name, export in csvio.EXPORTS.items()}
    assert all(text.startswith("\ufeff") for text in exported.values())
    before = db_snapshot()

    DutyAssignment.objects.all().delete()
    for unit in Unit.objects.order_by("-path"):
        unit.delete()
    for region in Region.objects.order_by("-path"):
        region.delete()
    assert not Region.objects.exists()

    report = orgs_import(**{name: text.encode("utf-8") for name, text in exported.items()})

    after = db_snapshot()
    assert report.created == len(before["regions"]) + len(before["units"]) + len(before["duties"])
    for table in ("regions", "units", "duties"):
        assert after[table] == before[table]
    assert {name: export() for name, export in csvio.EXPORTS.items()} == exported


def test_service_refusal_during_apply_rolls_everything_back(city: Any, monkeypatch: Any) -> None:
    before = db_snapshot()

    def refuse(**kwargs: Any) -> None:
        raise ValidationFailed("no", fields={"parent": ["refused"]})

    monkeypatch.setattr(csvio, "unit_save", refuse)
    with pytest.raises(ImportRejected) as caught:
        orgs_import(
            regions="code,name,level,parent_code\n9903,南区,district,99\n",
            units="code,name,kind,region_code\nX,新单位,other,9903\n",
        )
    assert caught.value.errors[0].key == "units row 2: parent"
    assert db_snapshot() == before


def test_region_save_still_guards_the_tree(city: Any) -> None:
    moved = Region.objects.get(code="9901")
    moved.parent = Region.objects.get(code="990101")
    with pytest.raises(ValidationFailed):
        region_save(region=moved)


def test_units_import_accepts_kind_labels(city: Any) -> None:
    report = units_import(data="code,name,kind,region_code\nNEW,新单位,Public utility,99\n")
    assert report.created == 1
    assert Unit.objects.get(code="NEW").kind == "utility"


# --- Commands -----------------------------------------------------------------------------------


def test_import_and_export_commands(tmp_path: Path, categories: dict[str, Category]) -> None:
    (tmp_path / "r.csv").write_text(REGIONS, encoding="utf-8")
    (tmp_path / "u.csv").write_text(UNITS, encoding="utf-8")
    (tmp_path / "d.csv").write_text(duties_csv(categories), encoding="utf-8")
    out = io.StringIO()
    call_command(
        "import_orgs",
        regions=tmp_path / "r.csv",
        units=tmp_path / "u.csv",
        duties=tmp_path / "d.csv",
        stdout=out,
    )
    assert "regions: 5 created" in out.getvalue()
    assert Unit.objects.count() == 3

    call_command("export_orgs", out=tmp_path / "out", stdout=io.StringIO())
    exported = (tmp_path / "out" / "regions.csv").read_bytes()
    assert exported.startswith(b"\xef\xbb\xbf")
    assert "样例市" in exported.decode("utf-8-sig")
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT).count() == 3


def test_import_command_prints_every_bad_row_and_fails(tmp_path: Path, city: Any) -> None:
    (tmp_path / "bad.csv").write_text(BAD_REGIONS, encoding="utf-8")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_orgs", regions=tmp_path / "bad.csv", stdout=io.StringIO(), stderr=err)
    printed = err.getvalue()
    assert "row 4: code" in printed
    assert "row 10: parent_code" in printed
    assert not Region.objects.filter(code="55").exists()
