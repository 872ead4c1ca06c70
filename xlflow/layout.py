"""Typed view of the declarative programme layout (``workbook_templates/programme.json``).

Everything about where things sit in the programme workbook is derived from the
JSON file through this module: sheet names, header texts, header rows, column
letters, value types and choice lists. The writer and the reader both use it, so
they cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

from xlflow.workbook_templates import load_json

TEMPLATE_FILE = "programme.json"

# Value types a column or field may have (see programme.json).
VALUE_TYPES = ("text", "long_text", "id", "integer", "number", "date", "choice", "yesno")


def col_letter(index: int) -> str:
    """0-based column index -> Excel letters (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def col_index(letters: str) -> int:
    """Excel letters -> 0-based column index (A -> 0)."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def a1(row0: int, col0: int) -> str:
    """0-based row and column -> A1 reference."""
    return f"{col_letter(col0)}{row0 + 1}"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    type: str
    width: int = 16
    required: bool = False
    list: str | None = None
    help: str | None = None


@dataclass(frozen=True)
class SheetSpec:
    key: str
    name: str
    kind: str  # text | form | table | matrix | rubric
    raw: dict = field(repr=False, compare=False, hash=False)

    @property
    def title(self) -> str:
        return self.raw.get("title", self.name)


@dataclass(frozen=True)
class TableSpec(SheetSpec):
    header_row: int = 3  # 1-based, as in the JSON
    default_rows: int = 30
    columns: tuple[Column, ...] = ()

    @property
    def first_data_row(self) -> int:
        """1-based row of the first data row."""
        return self.header_row + 1

    def column(self, key: str) -> Column:
        for c in self.columns:
            if c.key == key:
                return c
        raise KeyError(key)


@dataclass(frozen=True)
class FormSpec(SheetSpec):
    first_row: int = 3
    fields: tuple[Column, ...] = ()

    def row_of(self, key: str) -> int:
        """1-based row of field ``key``."""
        for i, f in enumerate(self.fields):
            if f.key == key:
                return self.first_row + i
        raise KeyError(key)


@dataclass(frozen=True)
class MatrixSpec(SheetSpec):
    """Diagnostics: directions are columns; (stage, aspect, text|level) are rows."""

    header_row: int = 4
    first_direction_col: int = 2  # 0-based: A=stage, B=row label, C.. directions

    @property
    def stages(self) -> list[dict]:
        return self.raw["stages"]

    @property
    def aspects(self) -> list[dict]:
        return self.raw["aspects"]

    def rows(self) -> list[tuple[str, str, str, int]]:
        """(stage_key, aspect_key, 'text'|'level', 1-based row) for every data row."""
        out = []
        r = self.header_row + 1
        for st in self.stages:
            for asp in self.aspects:
                for part in ("text", "level"):
                    out.append((st["key"], asp["key"], part, r))
                    r += 1
        return out


@dataclass(frozen=True)
class RubricSpec(SheetSpec):
    header_row: int = 3

    @property
    def indicators(self) -> list[tuple[int, str, str]]:
        """(number 1..9, criterion label, indicator text)."""
        out = []
        n = 1
        for crit in self.raw["criteria"]:
            for ind in crit["indicators"]:
                out.append((n, crit["label"], ind))
                n += 1
        return out

    @property
    def first_row(self) -> int:
        return self.header_row + 1

    @property
    def total_row(self) -> int:
        return self.first_row + len(self.indicators)

    @property
    def level_row(self) -> int:
        return self.total_row + 1

    @property
    def levels(self) -> list[dict]:
        return self.raw["levels"]

    @property
    def max_total(self) -> int:
        return 2 * len(self.indicators)


def _column(d: dict) -> Column:
    return Column(
        key=d["key"], header=d["header"], type=d["type"], width=d.get("width", 16),
        required=d.get("required", False), list=d.get("list"), help=d.get("help"),
    )


def _sheet(d: dict) -> SheetSpec:
    kind = d["kind"]
    if kind == "table":
        return TableSpec(d["key"], d["name"], kind, d, header_row=d["header_row"],
                         default_rows=d["default_rows"],
                         columns=tuple(_column(c) for c in d["columns"]))
    if kind == "form":
        return FormSpec(d["key"], d["name"], kind, d, first_row=d["first_row"],
                        fields=tuple(_column(c) for c in d["fields"]))
    if kind == "matrix":
        return MatrixSpec(d["key"], d["name"], kind, d, header_row=d["header_row"])
    if kind == "rubric":
        return RubricSpec(d["key"], d["name"], kind, d, header_row=d["header_row"])
    return SheetSpec(d["key"], d["name"], kind, d)


@dataclass(frozen=True)
class Layout:
    template_id: str
    version: int
    lists: dict
    open_lists: frozenset
    sheets: tuple[SheetSpec, ...]
    meta_sheet: str
    meta_keys: tuple[str, ...]
    lists_sheet: str
    raw: dict = field(repr=False, compare=False, hash=False)

    def sheet(self, key: str) -> SheetSpec:
        for s in self.sheets:
            if s.key == key:
                return s
        raise KeyError(key)

    def sheet_by_name(self, name: str) -> SheetSpec | None:
        for s in self.sheets:
            if s.name == name:
                return s
        return None

    @property
    def tables(self) -> list[TableSpec]:
        return [s for s in self.sheets if isinstance(s, TableSpec)]

    def choices(self, list_name: str, directions: Sequence[str] | None = None) -> list:
        """Values of a choice list; ``directions`` replaces the directions list
        when a school added its own directions."""
        if list_name == "directions" and directions is not None:
            return list(directions)
        return list(self.lists[list_name])

    def is_open(self, list_name: str) -> bool:
        """Open lists suggest values but accept any text (the seeds end them with "и т.д.")."""
        return list_name in self.open_lists

    def directions(self, extra: Sequence[str] = ()) -> list[str]:
        """Standard directions followed by a school's own, without repeats."""
        out = list(self.lists["directions"])
        seen = {d.casefold() for d in out}
        for d in extra:
            d = " ".join(str(d).split())
            if d and d.casefold() not in seen:
                out.append(d)
                seen.add(d.casefold())
        return out

    def rubric_level(self, total: int) -> str:
        rubric = self.sheet("rubric")
        assert isinstance(rubric, RubricSpec)
        for lv in rubric.levels:
            if lv["min"] <= total <= lv["max"]:
                return lv["label"]
        raise ValueError(f"rubric total out of range: {total}")


@lru_cache(maxsize=None)
def load_layout(name: str = TEMPLATE_FILE) -> Layout:
    d = load_json(name)
    return Layout(
        template_id=d["template_id"], version=d["version"], lists=d["lists"],
        open_lists=frozenset(d.get("open_lists", ())),
        sheets=tuple(_sheet(s) for s in d["sheets"]),
        meta_sheet=d["meta_sheet"]["name"], meta_keys=tuple(d["meta_sheet"]["keys"]),
        lists_sheet=d["lists_sheet"], raw=d,
    )
