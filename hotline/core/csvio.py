"""CSV import helpers shared by every importer (org tree, duty list, categories, later others).

An import checks every row first, collecting each problem as a :class:`RowError` (the line in
the file, the column, the reason); if there is any, :class:`ImportRejected` is raised and nothing
is written. :func:`read_csv` decodes UTF-8 (with or without BOM) and checks the header;
:func:`write_csv` writes UTF-8 with a BOM so that Excel opens Chinese text correctly.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from hotline.core.errors import ValidationFailed

BOM = "\ufeff"
CODE_RE = re.compile(r"^[^\s/]+$")
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "是", "有效", "启用"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n", "否", "无效", "停用"})


@dataclass(frozen=True)
class RowError:
    """One problem of an import: the line in the file (the header is line 1), the column, why.

    ``row`` 0 is the file as a whole (not readable at all). ``file`` names the file when an
    import reads several.
    """

    row: int
    column: str
    reason: str
    file: str = ""

    @property
    def key(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        if self.column:
            where = f"{where}: {self.column}"
        return f"{self.file} {where}" if self.file else where

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


class ImportRejected(ValidationFailed):
    """The file has bad rows; nothing was changed. ``errors`` lists every one of them."""

    code = "import_rejected"

    def __init__(self, errors: Sequence[RowError], message: str | None = None) -> None:
        self.errors: list[RowError] = sorted(errors, key=lambda e: (e.file, e.row))
        fields: dict[str, list[str]] = {}
        for error in self.errors:
            fields.setdefault(error.key, []).append(error.reason)
        count = len(self.errors)
        super().__init__(
            message
            or ngettext(
                "The file was rejected: %(count)d problem found. Nothing was changed.",
                "The file was rejected: %(count)d problems found. Nothing was changed.",
                count,
            )
            % {"count": count},
            fields=fields,
        )


@dataclass
class TableCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged}


@dataclass
class ImportReport:
    """What an import did: totals, and the same per table (``regions``, ``units``…)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    tables: dict[str, TableCounts] = field(default_factory=dict)

    def count(self, table: str, outcome: str) -> None:
        counts = self.tables.setdefault(table, TableCounts())
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        setattr(self, outcome, getattr(self, outcome) + 1)

    def add(self, table: str, outcome: str, number: int) -> None:
        for _i in range(number):
            self.count(table, outcome)

    @property
    def changed(self) -> int:
        return self.created + self.updated

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "tables": {name: counts.as_dict() for name, counts in self.tables.items()},
        }

    def __str__(self) -> str:
        parts = [
            f"{name}: {c.created} created, {c.updated} updated, {c.unchanged} unchanged"
            for name, c in self.tables.items()
        ]
        return "; ".join(parts) or "nothing to import"


@dataclass
class CsvRow:
    """A data row: its line in the file and its cells by column (present columns only)."""

    line: int
    cells: dict[str, str]

    def has(self, column: str) -> bool:
        return column in self.cells

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass
class CsvTable:
    columns: list[str]
    rows: list[CsvRow]
    usable: bool = True  # readable, with every required column: the rows can be checked


def decode_csv(data: bytes | str) -> str:
    """The text of an uploaded file: UTF-8, with or without a BOM."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportRejected(
                [RowError(0, "", _("The file is not UTF-8 text. Save it from Excel as “CSV UTF-8”."))]
            ) from None
    else:
        text = data
    return text.removeprefix(BOM)


def read_csv(
    data: bytes | str,
    *,
    columns: Sequence[str],
    required: Sequence[str],
    file: str = "",
) -> tuple[CsvTable, list[RowError]]:
    """Parse a CSV file into rows; return them with the errors of the header and the shape.

    Column names are matched case-insensitively. Blank lines are skipped. Cells are stripped.
    """
    errors: list[RowError] = []
    try:
        text = decode_csv(data)
    except ImportRejected as exc:
        return CsvTable([], [], usable=False), [RowError(e.row, e.column, e.reason, file) for e in exc.errors]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header_cells = next(reader)
    except StopIteration:
        return CsvTable([], [], usable=False), [
            RowError(1, "", _("The file is empty: a header row is needed."), file)
        ]
    except csv.Error as exc:
        return CsvTable([], [], usable=False), [
            RowError(1, "", _("Not a readable CSV file: %(error)s") % {"error": exc}, file)
        ]
    header = [cell.strip().lower() for cell in header_cells]
    seen: set[str] = set()
    for name in header:
        if not name:
            errors.append(RowError(1, "", _("A column has no name."), file))
        elif name not in columns:
            errors.append(
                RowError(
                    1,
                    name,
                    _("Unknown column. The columns are: %(columns)s.") % {"columns": ", ".join(columns)},
                    file,
                )
            )
        elif name in seen:
            errors.append(RowError(1, name, _("The column appears twice."), file))
        seen.add(name)
    missing = [name for name in required if name not in seen]
    for name in missing:
        errors.append(RowError(1, name, _("Required column missing."), file))
    rows: list[CsvRow] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                extra = [c for c in cells[len(header) :] if c.strip()]
                if extra:
                    errors.append(
                        RowError(
                            line,
                            "",
                            _("The row has %(cells)d cells but the header has %(columns)d columns.")
                            % {"cells": len(cells), "columns": len(header)},
                            file,
                        )
                    )
            values = {
                name: (cells[i].strip() if i < len(cells) else "")
                for i, name in enumerate(header)
                if name in columns
            }
            rows.append(CsvRow(line, values))
    except csv.Error as exc:
        errors.append(
            RowError(reader.line_num, "", _("Not readable as CSV: %(error)s") % {"error": exc}, file)
        )
    known = [h for h in header if h in columns]
    return CsvTable(known, rows, usable=not missing), errors


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text with a BOM and CRLF line ends (what Excel expects)."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buffer.getvalue()


def parse_bool(value: str) -> bool | None:
    """``1/0``, ``true/false``, ``yes/no``, ``是/否``…; ``None`` when it is none of them."""
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def format_bool(value: bool) -> str:
    return "1" if value else "0"


class RowChecker:
    """Collects the errors of one file's rows."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[RowError] = []

    def add(self, row: int, column: str, reason: str) -> None:
        self.errors.append(RowError(row, column, reason, self.file))

    def text(self, row: CsvRow, column: str, *, max_length: int, required: bool = False) -> str | None:
        """The cell, or ``None`` when the column is absent. Checks length and presence."""
        if not row.has(column):
            return None
        value = row.get(column)
        if required and not value:
            self.add(row.line, column, _("Required."))
        elif len(value) > max_length:
            self.add(row.line, column, _("At most %(max)d characters.") % {"max": max_length})
        return value

    def code(self, row: CsvRow, column: str, *, max_length: int) -> str:
        """A required code: no spaces, no ``/`` (codes make up the materialised paths)."""
        value = self.text(row, column, max_length=max_length, required=True) or ""
        if value and (not CODE_RE.match(value)):
            self.add(row.line, column, _("A code may not contain spaces or “/”."))
        return value

    def boolean(self, row: CsvRow, column: str, *, default: bool = True) -> bool | None:
        if not row.has(column):
            return None
        value = row.get(column)
        if not value:
            return default
        parsed = parse_bool(value)
        if parsed is None:
            self.add(row.line, column, _("Not a yes/no value: %(value)s (use 1 or 0).") % {"value": value})
            return default
        return parsed

    def number(self, row: CsvRow, column: str) -> int | None:
        if not row.has(column):
            return None
        value = row.get(column)
        if not value:
            return 0
        if not value.isdigit() or int(value) > 2_147_483_647:
            self.add(row.line, column, _("Not a whole number of 0 or more: %(value)s") % {"value": value})
            return 0
        return int(value)

    def duplicates(self, rows: Iterable[tuple[CsvRow, Any]], column: str, what: str) -> set[int]:
        """Mark every row whose key appeared on an earlier row; return their line numbers."""
        first: dict[Any, int] = {}
        dupes: set[int] = set()
        for row, key in rows:
            if key in first:
                self.add(
                    row.line,
                    column,
                    _("Duplicate %(what)s: already on row %(row)d.") % {"what": what, "row": first[key]},
                )
                dupes.add(row.line)
            else:
                first[key] = row.line
        return dupes
