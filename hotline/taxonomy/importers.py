"""Import and export of the category tree (诉求分类) as CSV.

Import format: ``level1,level2,level3`` — one row per node, named by its path — with optional
``code1,code2,code3`` (the code of each level) or ``code`` (the code of the row's deepest node),
and an optional ``active`` column (``1``/``0``). A row may stop at level 1 or 2 to name an inner
node only. The bundled file ``data/taxonomy.csv`` (517 leaves under 15 classes) has the three
``level`` columns only.

Nodes are matched by parent and name, so importing the same file again changes nothing. A new
node without a code gets the next free one under its parent (``category_next_code``); new nodes
with a code are created first so that the free codes do not collide with them. ``active``
retires (``category_retire``, with its subtree) or restores a node; without the column the
active flag is left alone. Like the org-tree import (``hotline.orgs.csvio``), every row is
checked first and the whole file is rejected with every bad row listed, or applied in one
transaction through ``category_save``.

Export format: ``code,level1,level2,level3,active``, one row per node in code order; the import
reads it back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from hotline.audit.models import AuditAction
from hotline.audit.services import audit_record
from hotline.core.csvio import (
    ImportRejected,
    ImportReport,
    RowChecker,
    RowError,
    TableCounts,
    format_bool,
    read_csv,
    write_csv,
)
from hotline.core.errors import ValidationFailed

from .models import Category
from .services import CODE_DIGITS, category_restore, category_retire, category_save

BUNDLED_TAXONOMY = Path(__file__).resolve().parent / "data" / "taxonomy.csv"
IMPORT_NOTE = "CSV import"

LEVELS = range(1, Category.MAX_LEVEL + 1)
NAME_COLUMNS = tuple(f"level{n}" for n in LEVELS)
CODE_COLUMNS = tuple(f"code{n}" for n in LEVELS)
IMPORT_COLUMNS = (*NAME_COLUMNS, *CODE_COLUMNS, "code", "active")
IMPORT_REQUIRED = ("level1",)
EXPORT_COLUMNS = ("code", *NAME_COLUMNS, "active")
TABLE = "categories"

Key = tuple[str, ...]  # the names from level 1 down to the node


@dataclass
class _Node:
    key: Key
    line: int  # the first row that names the node
    code: str = ""  # given in the file, or planned
    code_line: int = 0  # the row that gave the code
    explicit: bool = False
    active: bool | None = None  # from the row where this node is the deepest
    active_line: int = 0
    existing: Category | None = None

    @property
    def level(self) -> int:
        return len(self.key)

    @property
    def parent_key(self) -> Key:
        return self.key[:-1]


def _db_tree() -> dict[Key, Category]:
    """Every stored category by its path of names."""
    nodes = list(Category.objects.all())
    by_id = {c.pk: c for c in nodes}
    keys: dict[int, Key] = {}

    def key_of(category: Category) -> Key:
        if category.pk not in keys:
            parent = by_id.get(category.parent_id) if category.parent_id else None
            keys[category.pk] = (*key_of(parent), category.name) if parent else (category.name,)
        return keys[category.pk]

    tree: dict[Key, Category] = {}
    for category in sorted(nodes, key=lambda c: c.code):
        tree.setdefault(key_of(category), category)
    return tree


def _valid_code_shape(code: str, level: int) -> bool:
    return code.isdigit() and len(code) == CODE_DIGITS * level


def _plan(data: bytes | str) -> tuple[dict[Key, _Node], list[RowError]]:
    table, errors = read_csv(data, columns=IMPORT_COLUMNS, required=IMPORT_REQUIRED)
    if not table.usable:
        return {}, errors
    check = RowChecker("")
    db = _db_tree()
    nodes: dict[Key, _Node] = {}
    deepest_seen: dict[Key, int] = {}

    for row in table.rows:
        names = [check.text(row, col, max_length=64) or "" for col in NAME_COLUMNS]
        if not names[0]:
            check.add(row.line, "level1", _("Required."))
            continue
        gap = next((n for n in range(1, len(names)) if names[n] and not names[n - 1]), None)
        if gap is not None:
            check.add(
                row.line,
                NAME_COLUMNS[gap - 1],
                _("Level %(level)d is empty but a deeper level is given.") % {"level": gap},
            )
            continue
        depth = max(n for n in LEVELS if names[n - 1])
        key: Key = tuple(names[:depth])
        if key in deepest_seen:
            check.add(
                row.line,
                NAME_COLUMNS[depth - 1],
                _("Duplicate category: already on row %(row)d.") % {"row": deepest_seen[key]},
            )
            continue
        deepest_seen[key] = row.line
        codes = {n: row.get(f"code{n}") for n in LEVELS if row.get(f"code{n}")}
        if row.get("code"):
            if codes.get(depth, row.get("code")) != row.get("code"):
                check.add(row.line, "code", _("Differs from code%(level)d.") % {"level": depth})
            codes[depth] = row.get("code")
        for n in codes:
            if n > depth:
                check.add(row.line, f"code{n}", _("A code for a level that the row does not name."))
        active = check.boolean(row, "active")
        for n in range(1, depth + 1):
            node_key = key[:n]
            node = nodes.get(node_key)
            if node is None:
                node = nodes[node_key] = _Node(key=node_key, line=row.line, existing=db.get(node_key))
            code = codes.get(n, "")
            column = "code" if (n == depth and row.get("code") and not row.get(f"code{n}")) else f"code{n}"
            if code:
                if not _valid_code_shape(code, n):
                    check.add(
                        row.line,
                        column,
                        _("A level-%(level)d code has %(digits)d digits: %(code)s")
                        % {"level": n, "digits": CODE_DIGITS * n, "code": code},
                    )
                elif node.explicit and node.code != code:
                    check.add(
                        row.line,
                        column,
                        _("Code %(code)s differs from code %(other)s given on row %(row)d.")
                        % {"code": code, "other": node.code, "row": node.code_line},
                    )
                elif not node.explicit:
                    node.code, node.code_line, node.explicit = code, row.line, True
        node = nodes[key]
        if active is not None:
            node.active, node.active_line = active, row.line
    _check_codes(nodes, db, check)
    _check_active(nodes, check)
    return nodes, errors + check.errors


def _check_codes(nodes: dict[Key, _Node], db: dict[Key, Category], check: RowChecker) -> None:
    """Codes given must fit; the ones to assign must not run out. Plans every new node's code."""
    codes_in_db = {c.code: key for key, c in db.items()}
    used_by_file: dict[str, Key] = {}
    for key, node in nodes.items():
        if not node.explicit:
            continue
        line, column = node.code_line, f"code{node.level}"
        if node.existing is not None:
            if node.existing.code != node.code:
                check.add(
                    line,
                    column,
                    _("%(name)s already exists with code %(code)s.")
                    % {"name": " / ".join(key), "code": node.existing.code},
                )
            continue
        if node.code in codes_in_db:
            check.add(
                line,
                column,
                _("Code %(code)s already belongs to %(name)s.")
                % {"code": node.code, "name": " / ".join(codes_in_db[node.code])},
            )
        elif node.code in used_by_file and used_by_file[node.code] != key:
            check.add(
                line,
                column,
                _("Code %(code)s is also given to %(name)s.")
                % {"code": node.code, "name": " / ".join(used_by_file[node.code])},
            )
        used_by_file[node.code] = key
    # Plan the codes of new nodes as category_next_code will give them: the highest code under
    # the parent plus one, after the nodes whose codes are given.
    for node in nodes.values():
        if node.existing is not None:
            node.code = node.existing.code
    for level in LEVELS:
        by_parent: dict[Key, list[_Node]] = defaultdict(list)
        for node in nodes.values():
            if node.level == level and node.existing is None:
                by_parent[node.parent_key].append(node)
        for parent_key, children in by_parent.items():
            parent = nodes.get(parent_key)
            prefix = parent.code if parent else ""
            if parent is not None and not prefix:
                continue  # the parent could not be planned; its own error says why
            for node in children:
                if node.explicit and not node.code.startswith(prefix):
                    check.add(
                        node.code_line,
                        f"code{level}",
                        _("Must start with the parent's code %(code)s.") % {"code": prefix},
                    )
            siblings = Category.objects.filter(
                parent=parent.existing if parent else None, level=level
            ).values_list("code", flat=True)
            taken = [c[len(prefix) :] for c in siblings] + [
                n.code[len(prefix) :] for n in children if n.explicit and n.code.startswith(prefix)
            ]
            used = max((int(c) for c in taken if c.isdigit()), default=0)
            for node in children:
                if node.explicit:
                    continue
                used += 1
                if used >= 10**CODE_DIGITS:
                    check.add(
                        node.line,
                        f"level{level}",
                        _("No free code left under %(parent)s.") % {"parent": prefix or _("the top level")},
                    )
                    node.code = ""
                else:
                    node.code = f"{prefix}{used:0{CODE_DIGITS}d}"


def _final_active(node: _Node, nodes: dict[Key, _Node]) -> bool:
    if node.active is not None:
        return node.active
    parent = nodes.get(node.parent_key)
    if parent is not None and not _final_active(parent, nodes):
        return False  # retiring a node retires its subtree; a new node under it starts retired
    return node.existing.active if node.existing is not None else True


def _check_active(nodes: dict[Key, _Node], check: RowChecker) -> None:
    for node in nodes.values():
        if node.active is not True:
            continue
        parent = nodes.get(node.parent_key)
        if parent is not None and not _final_active(parent, nodes):
            check.add(node.active_line, "active", _("Cannot be active under a retired category."))


def taxonomy_import(*, data: bytes | str, note: str = IMPORT_NOTE) -> ImportReport:
    """Import a category tree from CSV; all or nothing (:class:`ImportRejected` lists bad rows)."""
    nodes, errors = _plan(data)
    if errors:
        raise ImportRejected(errors)
    report = ImportReport(tables={TABLE: TableCounts()})
    with transaction.atomic():
        active_before = dict(Category.objects.values_list("pk", "active"))
        saved: dict[Key, Category] = {}
        for node in sorted(nodes.values(), key=lambda n: (n.level, not n.explicit, n.line)):
            if node.existing is not None:
                saved[node.key] = node.existing
                continue
            category = Category(
                name=node.key[-1],
                parent=saved.get(node.parent_key),
                code=node.code if node.explicit else "",
            )
            if not _final_active(node, nodes):
                category.active = False
                category.retired_at = timezone.now()
            try:
                saved[node.key] = category_save(category=category, note=note)
            except ValidationFailed as exc:
                raise ImportRejected(_row_errors(exc, node.line, f"level{node.level}")) from exc
            report.count(TABLE, "created")
        # Parents before children: retiring a parent retires its subtree with it.
        for node in sorted(nodes.values(), key=lambda n: n.level):
            if node.existing is None:
                continue
            current = Category.objects.get(pk=node.existing.pk)
            wanted = _final_active(node, nodes)
            if current.active and not wanted:
                category_retire(category=current, note=note)
            elif not current.active and wanted and node.active is True:
                try:
                    category_restore(category=current, note=note)
                except ValidationFailed as exc:
                    raise ImportRejected(_row_errors(exc, node.active_line, "active")) from exc
        active_after = dict(Category.objects.filter(pk__in=active_before).values_list("pk", "active"))
        changed = {pk for pk, active in active_after.items() if active != active_before[pk]}
        report.add(TABLE, "updated", len(changed))
        report.add(
            TABLE,
            "unchanged",
            sum(1 for n in nodes.values() if n.existing is not None and n.existing.pk not in changed),
        )
        if report.changed:
            audit_record(
                action=AuditAction.IMPORT,
                object_type="taxonomy.category",
                object_repr="Category tree CSV import",
                after={TABLE: report.tables[TABLE].as_dict()},
                note=note,
            )
    return report


def _row_errors(exc: ValidationFailed, line: int, column: str) -> list[RowError]:
    messages = [m for msgs in exc.fields.values() for m in msgs]
    return [RowError(line, column, m) for m in messages] or [RowError(line, column, exc.message)]


def taxonomy_import_bundled(*, note: str = IMPORT_NOTE) -> ImportReport:
    """Import the category tree shipped with the project (``data/taxonomy.csv``)."""
    return taxonomy_import(data=BUNDLED_TAXONOMY.read_bytes(), note=note)


def taxonomy_export() -> str:
    """Every category, one row per node in code order: ``code,level1,level2,level3,active``."""
    nodes = list(Category.objects.order_by("code"))
    by_id = {c.pk: c for c in nodes}
    rows = []
    for category in nodes:
        names: list[str] = []
        node: Category | None = category
        while node is not None:
            names.insert(0, node.name)
            node = by_id.get(node.parent_id) if node.parent_id else None
        names += [""] * (Category.MAX_LEVEL - len(names))
        rows.append((category.code, *names, format_bool(category.active)))
    return write_csv(EXPORT_COLUMNS, rows)
