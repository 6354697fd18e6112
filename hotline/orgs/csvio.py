"""CSV import and export of the org tree (regions, units) and the duty list (权责清单).

Three formats, UTF-8 with a header row (a leading BOM is accepted; exports write one so that
Excel opens the Chinese text correctly):

- regions: ``code,name,level,parent_code,active,sort_order``
- units: ``code,name,short_name,kind,region_code,parent_code,phone,email,active,sort_order``
- duties: ``category_code,region_code,unit_code,note``

An import is an upsert: regions and units by ``code``, duties by ``category_code`` +
``region_code``. It is all or nothing. Every row is checked first against the state the database
would have after the import (so a row may refer to a row further down the file, or to a row of
another file of the same import); every problem is collected as a :class:`RowError` and, if there
is any, :class:`ImportRejected` is raised and nothing is written. Otherwise the rows are applied in
one transaction, parents before children, through the services (``region_save``, ``unit_save``,
``duty_save``), so every change has its own audit row; one more audit row (action ``import``)
sums the import up. Rows equal to the database are counted as unchanged and write nothing; an
import that changes nothing writes no audit row at all.

Columns: a column left out of the header keeps the stored value of an existing row (and the
default for a new one); an empty cell means the default (``active`` yes, ``sort_order`` 0, no
parent, empty text).

The generic helpers (:class:`RowError`, :class:`ImportRejected`, :func:`read_csv`,
:func:`write_csv`, :func:`parse_bool`, :class:`RowChecker`) live in ``hotline.core.csvio``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record
from hotline.core.csvio import (
    CsvRow,
    CsvTable,
    ImportRejected,
    ImportReport,
    RowChecker,
    RowError,
    format_bool,
    read_csv,
    write_csv,
)
from hotline.core.errors import ValidationFailed
from hotline.taxonomy.models import Category

from .choices import CHILD_LEVEL, RegionLevel, UnitKind
from .models import DutyAssignment, Region, Unit
from .services import duty_save, region_save, unit_save

IMPORT_NOTE = "CSV import"

REGION_COLUMNS = ("code", "name", "level", "parent_code", "active", "sort_order")
REGION_REQUIRED = ("code", "name", "level")
UNIT_COLUMNS = (
    "code",
    "name",
    "short_name",
    "kind",
    "region_code",
    "parent_code",
    "phone",
    "email",
    "active",
    "sort_order",
)
UNIT_REQUIRED = ("code", "name", "kind", "region_code")
DUTY_COLUMNS = ("category_code", "region_code", "unit_code", "note")
DUTY_REQUIRED = ("category_code", "region_code", "unit_code")

# The Chinese names of the region levels, as people write them in a spreadsheet.
REGION_LEVEL_ALIASES: dict[str, str] = {
    "市": RegionLevel.CITY,
    "区/县": RegionLevel.DISTRICT,
    "区": RegionLevel.DISTRICT,
    "县": RegionLevel.DISTRICT,
    "街道/乡镇": RegionLevel.STREET,
    "街道": RegionLevel.STREET,
    "乡镇": RegionLevel.STREET,
    "社区/村": RegionLevel.COMMUNITY,
    "社区": RegionLevel.COMMUNITY,
    "村": RegionLevel.COMMUNITY,
}


def _chain_loops(start: str, parent_of: Mapping[str, str]) -> bool:
    """Whether following parents from ``start`` comes back to ``start``."""
    seen: set[str] = set()
    node = parent_of.get(start, "")
    while node and node not in seen:
        if node == start:
            return True
        seen.add(node)
        node = parent_of.get(node, "")
    return False


def _depth(code: str, parent_of: Mapping[str, str]) -> int:
    depth, node, seen = 0, parent_of.get(code, ""), {code}
    while node and node not in seen:
        seen.add(node)
        depth += 1
        node = parent_of.get(node, "")
    return depth


def _service_errors(exc: ValidationFailed, line: int, file: str) -> list[RowError]:
    if not exc.fields:
        return [RowError(line, "", exc.message, file)]
    return [RowError(line, name, "; ".join(msgs), file) for name, msgs in exc.fields.items()]


# --- Regions ------------------------------------------------------------------------------------


def parse_region_level(value: str) -> str | None:
    word = value.strip()
    if word.lower() in RegionLevel.values:
        return word.lower()
    return REGION_LEVEL_ALIASES.get(word)


@dataclass
class _RegionState:
    name: str
    level: str | None
    parent_code: str
    active: bool
    sort_order: int
    line: int = 0  # the file row that sets it; 0 for a row only in the database


@dataclass
class _UnitState:
    name: str
    short_name: str
    kind: str
    region_code: str
    parent_code: str
    phone: str
    email: str
    active: bool
    sort_order: int
    line: int = 0


@dataclass
class _DutyState:
    category_code: str
    region_code: str
    unit_code: str
    note: str | None  # None: the column is left out
    line: int


@dataclass
class _Plan:
    """The rows of an import that passed every check, in final state, ready to apply."""

    regions: dict[str, _RegionState] = field(default_factory=dict)
    region_parents: dict[str, str] = field(default_factory=dict)
    region_file_codes: list[str] = field(default_factory=list)
    units: dict[str, _UnitState] = field(default_factory=dict)
    unit_parents: dict[str, str] = field(default_factory=dict)
    unit_file_codes: list[str] = field(default_factory=list)
    duties: list[_DutyState] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # table -> file label for errors


def _db_regions() -> dict[str, _RegionState]:
    return {
        code: _RegionState(name, level, parent_code or "", active, sort_order)
        for code, name, level, parent_code, active, sort_order in Region.objects.values_list(
            "code", "name", "level", "parent__code", "active", "sort_order"
        )
    }


def _db_units() -> dict[str, _UnitState]:
    fields: tuple[str, ...] = ("code", "name", "short_name", "kind", "region__code", "parent__code")
    fields += ("phone", "email", "active", "sort_order")
    return {
        values[0]: _UnitState(
            name=values[1],
            short_name=values[2],
            kind=values[3],
            region_code=values[4],
            parent_code=values[5] or "",
            phone=values[6],
            email=values[7],
            active=values[8],
            sort_order=values[9],
        )
        for values in Unit.objects.values_list(*fields)
    }


def _level_label(level: str) -> str:
    return str(RegionLevel(level).label)


def _check_regions(table: CsvTable, plan: _Plan, check: RowChecker) -> None:
    final = _db_regions()
    keyed = [(row, row.get("code")) for row in table.rows if row.get("code")]
    dupes = check.duplicates(keyed, "code", _("region code"))
    file_rows: list[CsvRow] = []
    for row in table.rows:
        code = check.code(row, "code", max_length=16)
        name = check.text(row, "name", max_length=64, required=True)
        level_text = row.get("level")
        level = parse_region_level(level_text)
        if not level_text:
            check.add(row.line, "level", _("Required."))
        elif level is None:
            check.add(
                row.line,
                "level",
                _(
                    "Unknown level %(value)s: use city, district, street or community "
                    "(市, 区/县, 街道/乡镇, 社区/村)."
                )
                % {"value": level_text},
            )
        parent_code = check.text(row, "parent_code", max_length=16)
        active = check.boolean(row, "active")
        sort_order = check.number(row, "sort_order")
        if not code or row.line in dupes:
            continue
        old = final.get(code)
        final[code] = _RegionState(
            name=name if name is not None else "",
            level=level,
            parent_code=parent_code if parent_code is not None else (old.parent_code if old else ""),
            active=active if active is not None else (old.active if old else True),
            sort_order=sort_order if sort_order is not None else (old.sort_order if old else 0),
            line=row.line,
        )
        file_rows.append(row)
    parent_of = {code: state.parent_code for code, state in final.items()}
    for row in file_rows:
        code = row.get("code")
        state = final[code]
        if state.parent_code:
            parent = final.get(state.parent_code)
            if state.parent_code == code:
                check.add(row.line, "parent_code", _("A region cannot be its own parent."))
            elif parent is None:
                check.add(
                    row.line,
                    "parent_code",
                    _("Unknown parent region %(code)s (neither in the file nor in the database).")
                    % {"code": state.parent_code},
                )
            elif _chain_loops(code, parent_of):
                check.add(row.line, "parent_code", _("The parent chain loops back to this region."))
            elif state.level and parent.level:
                reason = _level_problem(state.level, parent.level)
                if reason:
                    check.add(row.line, "level", reason)
        elif state.level and state.level != RegionLevel.CITY:
            check.add(row.line, "parent_code", _("Only a city may have no parent region."))
    # Rows left alone in the database must still fit under a parent whose level the file changes.
    file_codes = {row.get("code") for row in file_rows}
    for code, state in final.items():
        if code in file_codes or state.parent_code not in file_codes:
            continue
        parent = final[state.parent_code]
        if parent.level and state.level:
            reason = _level_problem(state.level, parent.level)
            if reason:
                check.add(
                    parent.line,
                    "level",
                    _("Region %(code)s (%(name)s) under it would no longer fit: %(reason)s")
                    % {"code": code, "name": state.name, "reason": reason},
                )
    plan.regions = final
    plan.region_parents = parent_of
    plan.region_file_codes = [row.get("code") for row in file_rows]


def _level_problem(level: str, parent_level: str) -> str:
    """Why a region of ``level`` cannot sit under one of ``parent_level`` (empty if it can)."""
    expected = CHILD_LEVEL.get(RegionLevel(parent_level))
    if expected is None:
        return _("A community cannot have sub-regions.")
    if level != expected:
        return _("A region under a %(parent)s must be a %(expected)s.") % {
            "parent": _level_label(parent_level),
            "expected": _level_label(expected),
        }
    return ""


def _apply_regions(plan: _Plan, report: ImportReport, note: str) -> None:
    file_label = plan.files.get("regions", "")
    order = sorted(
        plan.region_file_codes, key=lambda c: (_depth(c, plan.region_parents), plan.regions[c].line)
    )
    for code in order:
        state = plan.regions[code]
        region = Region.objects.select_related("parent").filter(code=code).first()
        if region is not None and (
            region.name,
            region.level,
            region.parent.code if region.parent else "",
            region.active,
            region.sort_order,
        ) == (state.name, state.level, state.parent_code, state.active, state.sort_order):
            report.count("regions", "unchanged")
            continue
        creating = region is None
        region = region or Region(code=code)
        region.name = state.name
        region.level = state.level or ""
        # Fetched afresh: an earlier row may have moved it (and changed its path).
        region.parent = Region.objects.get(code=state.parent_code) if state.parent_code else None
        region.active = state.active
        region.sort_order = state.sort_order
        try:
            region_save(region=region, note=note)
        except ValidationFailed as exc:
            raise ImportRejected(_service_errors(exc, state.line, file_label)) from exc
        report.count("regions", "created" if creating else "updated")


# --- Units --------------------------------------------------------------------------------------


def parse_unit_kind(value: str) -> str | None:
    """A ``UnitKind`` value, or its label in any of the site's languages."""
    word = value.strip()
    if word.lower() in UnitKind.values:
        return word.lower()
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            for kind in UnitKind:
                if word == str(kind.label):
                    return str(kind.value)
    return None


def _check_units(table: CsvTable, plan: _Plan, check: RowChecker) -> None:
    final = _db_units()
    keyed = [(row, row.get("code")) for row in table.rows if row.get("code")]
    dupes = check.duplicates(keyed, "code", _("unit code"))
    file_rows: list[CsvRow] = []
    for row in table.rows:
        code = check.code(row, "code", max_length=32)
        name = check.text(row, "name", max_length=100, required=True)
        short_name = check.text(row, "short_name", max_length=32)
        kind_text = row.get("kind")
        kind = parse_unit_kind(kind_text)
        if not kind_text:
            check.add(row.line, "kind", _("Required."))
        elif kind is None:
            check.add(
                row.line,
                "kind",
                _("Unknown kind %(value)s: use one of %(kinds)s.")
                % {"value": kind_text, "kinds": ", ".join(UnitKind.values)},
            )
        region_code = check.text(row, "region_code", max_length=16, required=True) or ""
        parent_code = check.text(row, "parent_code", max_length=32)
        phone = check.text(row, "phone", max_length=32)
        email = check.text(row, "email", max_length=254)
        if email:
            try:
                validate_email(email)
            except DjangoValidationError:
                check.add(row.line, "email", _("Not an e-mail address: %(value)s") % {"value": email})
        active = check.boolean(row, "active")
        sort_order = check.number(row, "sort_order")
        if region_code and region_code not in plan.regions:
            check.add(
                row.line,
                "region_code",
                _("Unknown region %(code)s (neither in the file nor in the database).")
                % {"code": region_code},
            )
        if not code or row.line in dupes:
            continue
        old = final.get(code)

        def keep(value: Any, attr: str, default: Any, old: _UnitState | None = old) -> Any:
            if value is not None:
                return value
            return getattr(old, attr) if old else default

        final[code] = _UnitState(
            name=name or "",
            short_name=keep(short_name, "short_name", ""),
            kind=kind or "",
            region_code=region_code,
            parent_code=keep(parent_code, "parent_code", ""),
            phone=keep(phone, "phone", ""),
            email=keep(email, "email", ""),
            active=keep(active, "active", True),
            sort_order=keep(sort_order, "sort_order", 0),
            line=row.line,
        )
        file_rows.append(row)
    parent_of = {code: state.parent_code for code, state in final.items()}
    for row in file_rows:
        code = row.get("code")
        state = final[code]
        if not state.parent_code:
            continue
        if state.parent_code == code:
            check.add(row.line, "parent_code", _("A unit cannot be its own parent."))
        elif state.parent_code not in final:
            check.add(
                row.line,
                "parent_code",
                _("Unknown parent unit %(code)s (neither in the file nor in the database).")
                % {"code": state.parent_code},
            )
        elif _chain_loops(code, parent_of):
            check.add(row.line, "parent_code", _("The parent chain loops back to this unit."))
    plan.units = final
    plan.unit_parents = parent_of
    plan.unit_file_codes = [row.get("code") for row in file_rows]


def _apply_units(plan: _Plan, report: ImportReport, note: str) -> None:
    file_label = plan.files.get("units", "")
    regions = Region.objects.in_bulk(field_name="code")
    order = sorted(plan.unit_file_codes, key=lambda c: (_depth(c, plan.unit_parents), plan.units[c].line))
    for code in order:
        state = plan.units[code]
        unit = Unit.objects.select_related("parent", "region").filter(code=code).first()
        wanted = (
            state.name,
            state.short_name,
            state.kind,
            state.region_code,
            state.parent_code,
            state.phone,
            state.email,
            state.active,
            state.sort_order,
        )
        if unit is not None and wanted == (
            unit.name,
            unit.short_name,
            unit.kind,
            unit.region.code,
            unit.parent.code if unit.parent else "",
            unit.phone,
            unit.email,
            unit.active,
            unit.sort_order,
        ):
            report.count("units", "unchanged")
            continue
        creating = unit is None
        unit = unit or Unit(code=code)
        unit.name = state.name
        unit.short_name = state.short_name
        unit.kind = state.kind
        unit.region = regions[state.region_code]
        unit.parent = Unit.objects.get(code=state.parent_code) if state.parent_code else None
        unit.phone = state.phone
        unit.email = state.email
        unit.active = state.active
        unit.sort_order = state.sort_order
        try:
            unit_save(unit=unit, note=note)
        except ValidationFailed as exc:
            raise ImportRejected(_service_errors(exc, state.line, file_label)) from exc
        report.count("units", "created" if creating else "updated")


# --- Duties -------------------------------------------------------------------------------------


def _check_duties(table: CsvTable, plan: _Plan, check: RowChecker) -> None:
    category_codes = set(Category.objects.values_list("code", flat=True))
    keyed = [
        (row, (row.get("category_code"), row.get("region_code")))
        for row in table.rows
        if row.get("category_code") and row.get("region_code")
    ]
    dupes = check.duplicates(keyed, "region_code", _("category and region"))
    for row in table.rows:
        category_code = check.text(row, "category_code", max_length=16, required=True) or ""
        region_code = check.text(row, "region_code", max_length=16, required=True) or ""
        unit_code = check.text(row, "unit_code", max_length=32, required=True) or ""
        note = check.text(row, "note", max_length=200)
        if category_code and category_code not in category_codes:
            check.add(row.line, "category_code", _("Unknown category %(code)s.") % {"code": category_code})
        if region_code and region_code not in plan.regions:
            check.add(
                row.line,
                "region_code",
                _("Unknown region %(code)s (neither in the file nor in the database).")
                % {"code": region_code},
            )
        if unit_code and unit_code not in plan.units:
            check.add(
                row.line,
                "unit_code",
                _("Unknown unit %(code)s (neither in the file nor in the database).") % {"code": unit_code},
            )
        if row.line in dupes:
            continue
        plan.duties.append(_DutyState(category_code, region_code, unit_code, note, row.line))


def _apply_duties(plan: _Plan, report: ImportReport, note: str) -> None:
    file_label = plan.files.get("duties", "")
    categories = Category.objects.in_bulk(field_name="code")
    regions = Region.objects.in_bulk(field_name="code")
    units = Unit.objects.in_bulk(field_name="code")
    existing = {
        (d.category.code, d.region.code): d
        for d in DutyAssignment.objects.select_related("category", "region", "unit")
    }
    for state in plan.duties:
        duty = existing.get((state.category_code, state.region_code))
        unit = units[state.unit_code]
        note_text = state.note if state.note is not None else (duty.note if duty else "")
        if duty is not None and duty.unit_id == unit.pk and duty.note == note_text:
            report.count("duties", "unchanged")
            continue
        creating = duty is None
        if duty is None:
            duty = DutyAssignment(category=categories[state.category_code], region=regions[state.region_code])
        duty.unit = unit
        duty.note = note_text
        try:
            duty_save(duty=duty, note=note)
        except ValidationFailed as exc:
            raise ImportRejected(_service_errors(exc, state.line, file_label)) from exc
        report.count("duties", "created" if creating else "updated")


# --- Entry points -------------------------------------------------------------------------------


def orgs_import(
    *,
    regions: bytes | str | None = None,
    units: bytes | str | None = None,
    duties: bytes | str | None = None,
    note: str = IMPORT_NOTE,
) -> ImportReport:
    """Import any of the three files as one change: all of them are applied or none.

    Raises :class:`ImportRejected` listing every bad row (when more than one file is given each
    error names its file: ``regions``, ``units`` or ``duties``).
    """
    given = {"regions": regions, "units": units, "duties": duties}
    given = {name: data for name, data in given.items() if data is not None}
    if not given:
        raise ValidationFailed(_("No file to import."), fields={"file": [_("Required.")]})
    plan = _Plan(files={name: (name if len(given) > 1 else "") for name in given})
    errors: list[RowError] = []
    specs: dict[str, tuple[Sequence[str], Sequence[str], Callable[[CsvTable, _Plan, RowChecker], None]]] = {
        "regions": (REGION_COLUMNS, REGION_REQUIRED, _check_regions),
        "units": (UNIT_COLUMNS, UNIT_REQUIRED, _check_units),
        "duties": (DUTY_COLUMNS, DUTY_REQUIRED, _check_duties),
    }
    # Regions first, then units, then duties: each later file is checked against the final state
    # of the earlier ones.
    for name in ("regions", "units", "duties"):
        data = given.get(name)
        columns, required, checker = specs[name]
        if data is None:
            if name == "regions":
                plan.regions = _db_regions()
            elif name == "units":
                plan.units = _db_units()
            continue
        table, read_errors = read_csv(data, columns=columns, required=required, file=plan.files[name])
        errors.extend(read_errors)
        if not table.usable:
            # Without the required columns, checking the rows would only repeat the same problem.
            if name == "regions":
                plan.regions = _db_regions()
            elif name == "units":
                plan.units = _db_units()
            continue
        check = RowChecker(plan.files[name])
        checker(table, plan, check)
        errors.extend(check.errors)
    if errors:
        raise ImportRejected(errors)
    report = ImportReport()
    with transaction.atomic():
        if "regions" in given:
            _apply_regions(plan, report, note)
        if "units" in given:
            _apply_units(plan, report, note)
        if "duties" in given:
            _apply_duties(plan, report, note)
        if report.changed:
            audit_record(
                action=AuditAction.IMPORT,
                object_type="orgs.orgdata",
                object_repr="Org tree / duty list CSV import",
                after={name: counts.as_dict() for name, counts in report.tables.items()},
                note=note,
            )
    return report


def regions_import(*, data: bytes | str, note: str = IMPORT_NOTE) -> ImportReport:
    return orgs_import(regions=data, note=note)


def units_import(*, data: bytes | str, note: str = IMPORT_NOTE) -> ImportReport:
    return orgs_import(units=data, note=note)


def duties_import(*, data: bytes | str, note: str = IMPORT_NOTE) -> ImportReport:
    return orgs_import(duties=data, note=note)


def regions_export() -> str:
    rows = (
        (r.code, r.name, r.level, r.parent.code if r.parent else "", format_bool(r.active), r.sort_order)
        for r in Region.objects.select_related("parent").order_by("path")
    )
    return write_csv(REGION_COLUMNS, rows)


def units_export() -> str:
    rows = (
        (
            u.code,
            u.name,
            u.short_name,
            u.kind,
            u.region.code,
            u.parent.code if u.parent else "",
            u.phone,
            u.email,
            format_bool(u.active),
            u.sort_order,
        )
        for u in Unit.objects.select_related("parent", "region").order_by("path")
    )
    return write_csv(UNIT_COLUMNS, rows)


def duties_export() -> str:
    rows = (
        (d.category.code, d.region.code, d.unit.code, d.note)
        for d in DutyAssignment.objects.select_related("category", "region", "unit").order_by(
            "category__code", "region__path"
        )
    )
    return write_csv(DUTY_COLUMNS, rows)


EXPORTS: dict[str, Callable[[], str]] = {
    "regions": regions_export,
    "units": units_export,
    "duties": duties_export,
}


def export_record(*, table: str) -> None:
    """Write the audit row of a download of one export (the admin page and the command call it)."""
    audit_record(action=AuditAction.EXPORT, object_type="orgs.orgdata", object_repr=f"{table} CSV export")
