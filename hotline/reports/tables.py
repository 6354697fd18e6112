"""The one shape every report returns, so that screens, exports and e-mails are generic.

A ``Table`` has columns (what each value is and how to show it) and rows (one per unit, queue,
category …), with an optional total row. A column that names a ``drill`` measure links each of its
numbers to the list of records behind it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["text", "int", "rate", "seconds", "score", "change", "float"]


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # a lazy translation
    kind: Kind = "int"
    drill: str | None = None  # the measure whose orders (or calls) a click on the value lists
    help: Any = ""  # the definition, shown as a tooltip (docs/measures.md has the full text)


@dataclass
class Row:
    key: Any  # the unit id, queue code, category id … ("" for the total)
    label: str
    values: dict[str, Any] = field(default_factory=dict)
    level: int = 0  # indentation in a tree (a unit's sub-units, a category's children)

    def get(self, key: str) -> Any:
        return self.values.get(key)


@dataclass
class Table:
    title: Any
    columns: list[Column]
    rows: list[Row]
    total: Row | None = None
    params: dict[str, Any] = field(default_factory=dict)  # the range and filters it was made with

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)

    def all_rows(self) -> Iterable[Row]:
        yield from self.rows
        if self.total is not None:
            yield self.total


def rate(num: int | float, den: int | float) -> float | None:
    """``num / den``, or ``None`` when there is nothing to divide by (shown as "—", never as 0 %)."""
    return None if not den else num / den


def change(now: int | float, before: int | float) -> float | None:
    """The relative change from ``before`` to ``now`` (环比/同比), ``None`` when ``before`` is 0."""
    return None if not before else (now - before) / before


def format_value(kind: str, value: Any) -> str:
    """A value as text for a screen, a sheet's text cell or a PDF: rates and changes in percent."""
    if value is None:
        return "—"
    if kind in ("rate", "change"):
        sign = "+" if kind == "change" and value > 0 else ""
        return f"{sign}{value * 100:.1f}%"
    if kind == "seconds":
        seconds = round(float(value))
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if kind in ("score", "float"):
        return f"{value:.2f}"
    if kind == "int":
        return f"{int(value):,}"
    return str(value)
