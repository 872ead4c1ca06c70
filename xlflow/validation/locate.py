"""Where a value of the records sits in the workbook.

The reader gives a cell map ``{json path tuple: (sheet name, "B7")}`` for every
value it read. Validation also needs the cell of a value that is *missing*
(a required field left empty): it is found from the row of the record and the
column of the field (from other rows of the same table, or from the layout).
"""
from __future__ import annotations

import functools
import operator
import re
from typing import Iterable, Mapping, Sequence

from xlflow.layout import FormSpec, Layout, MatrixSpec, RubricSpec, TableSpec, col_index, col_letter
from xlflow.reading.cellmap import CellMap, TableCells

Path = tuple
Position = tuple  # (sheet name or None, A1 cell or None)

_A1 = re.compile(r"^([A-Z]+)([0-9]+)$")


def split_a1(cell: str) -> tuple[str, int] | None:
    """"B7" -> ("B", 7); None when ``cell`` is not a plain A1 reference."""
    m = _A1.match(cell.upper()) if isinstance(cell, str) else None
    return (m.group(1), int(m.group(2))) if m else None


class CellLocator:
    """Answers ``position(path) -> (sheet, cell)`` for record paths."""

    def __init__(self, cells: Mapping[Path, tuple[str, str]], layout: Layout) -> None:
        self.cells = cells
        self.layout = layout
        self._indexed: tuple[dict, dict] | None = None
        self._filled: dict[str, int] = {}  # compact table -> keys present in some row (bitmask)

    @property
    def _row_of(self) -> dict[tuple[str, int], tuple[str, int]]:
        return self._index()[0]

    @property
    def _col_of(self) -> dict[tuple[str, str], str]:
        return self._index()[1]

    def _index(self) -> tuple[dict, dict]:
        """Row and column indexes, built on first need: a clean file never asks
        for the cell of a missing value, so it never pays for them."""
        if self._indexed is None:
            cells = self.cells
            self._indexed = self._build_index(cells.loose_items() if isinstance(cells, CellMap) else cells.items())
        return self._indexed

    @staticmethod
    def _build_index(items: Iterable[tuple[Path, tuple[str, str]]]) -> tuple[dict, dict]:
        """Row and column indexes of the map's ``items()`` (a compact
        table of a :class:`CellMap` answers them itself)."""
        row_of: dict[tuple[str, int], tuple[str, int]] = {}
        col_of: dict[tuple[str, str], str] = {}
        for path, where in items:
            if not isinstance(path, tuple) or len(path) < 2 or not isinstance(path[1], int):
                continue
            row_key = (path[0], path[1])
            col_key = (path[0], path[2]) if len(path) == 3 and isinstance(path[2], str) else None
            if row_key in row_of and (col_key is None or col_key in col_of):
                continue  # the first sound cell of both is known: nothing to learn
            parts = split_a1(where[1]) if where and where[1] else None
            if parts is None:
                continue
            letters, row = parts
            row_of.setdefault(row_key, (where[0], row))
            if col_key is not None:
                col_of.setdefault(col_key, letters)
        return row_of, col_of

    def sheet_name(self, top_key: str) -> str | None:
        if top_key == "meta":
            return self.layout.meta_sheet
        try:
            return self.layout.sheet(top_key).name
        except KeyError:
            return None

    def position(self, path: Sequence) -> Position:
        """Sheet and cell of ``path``; falls back to the row, then the sheet."""
        path = tuple(path)
        if not path:
            return (None, None)
        hit = self.cells.get(path)
        if hit is not None:
            return (hit[0], hit[1])
        top = path[0]
        if top == "passport" and len(path) >= 2:
            return self._passport_position(str(path[1]))
        if len(path) >= 2 and isinstance(path[1], int):
            return self._row_position(top, path[1], path[2] if len(path) >= 3 else None)
        return (self.sheet_name(top), None)

    def _passport_position(self, key: str) -> Position:
        spec = self.layout.sheet("passport")
        assert isinstance(spec, FormSpec)
        try:
            row = spec.row_of(key)
        except KeyError:
            return (spec.name, None)
        return (spec.name, f"{spec.raw.get('value_col', 'B')}{row}")

    def _row_position(self, table: str, index: int, field: object) -> Position:
        compact = self.cells.table(table) if isinstance(self.cells, CellMap) else None
        if compact is not None:
            return self._compact_position(compact, table, index, field)
        row = self._row_of.get((table, index))
        if row is None:
            return (self.sheet_name(table), None)
        sheet, row_number = row
        if isinstance(field, str):
            letters = self._col_of.get((table, field)) or self._layout_column(table, field)
            if letters:
                return (sheet, f"{letters}{row_number}")
        first = self.cells.get((table, index))
        if first is not None:
            return (first[0], first[1])
        return (sheet, f"{self._first_column(table)}{row_number}")

    def _compact_position(self, t: TableCells, table: str, index: int, field: object) -> Position:
        """As :meth:`_row_position`, from a compact table: the column of a
        field is known once some row of the table holds a value in it."""
        first = t.first(index)
        if first is None:
            return (self.sheet_name(table), None)
        if isinstance(field, str):
            filled = self._filled.get(table)
            if filled is None:
                filled = self._filled[table] = functools.reduce(operator.or_, t.masks, 0)
            j = t.bits.get(field)
            letters = t.letters[j] if j is not None and filled >> j & 1 else self._layout_column(table, field)
            if letters:
                return (t.sheet, f"{letters}{t.rows[index]}")
        return first

    def _layout_column(self, table: str, field: str) -> str | None:
        try:
            spec = self.layout.sheet(table)
        except KeyError:
            return None
        if not isinstance(spec, TableSpec):
            return None
        for i, column in enumerate(spec.columns):
            if column.key == field:
                return col_letter(i)
        return None

    def _first_column(self, table: str) -> str:
        letters = [v for (t, _), v in self._col_of.items() if t == table]
        if not letters:
            return "A"
        return col_letter(min(col_index(x) for x in letters))


def layout_cells(data: Mapping, layout: Layout) -> dict[tuple, tuple[str, str]]:
    """The cell map of records laid out exactly as the writer places them
    (rows in order from the first data row). For records that did not come
    from a file (JSON input, tests); files use the reader's own map."""
    cells: dict[tuple, tuple[str, str]] = {}
    passport = layout.sheet("passport")
    assert isinstance(passport, FormSpec)
    value_col = passport.raw.get("value_col", "B")
    for f in passport.fields:
        cells[("passport", f.key)] = (passport.name, f"{value_col}{passport.row_of(f.key)}")
    for table in layout.tables:
        rows = data.get(table.key) if isinstance(data, Mapping) else None
        for i, _ in enumerate(rows if isinstance(rows, list) else []):
            row = table.first_data_row + i
            cells[(table.key, i)] = (table.name, f"A{row}")
            for j, column in enumerate(table.columns):
                cells[(table.key, i, column.key)] = (table.name, f"{col_letter(j)}{row}")
    cells.update(_diagnostics_cells(data, layout))
    cells.update(_rubric_cells(data, layout))
    return cells


def _diagnostics_cells(data: Mapping, layout: Layout) -> dict[tuple, tuple[str, str]]:
    from xlflow.validation.messages import directions_of

    spec = layout.sheet("diagnostics")
    assert isinstance(spec, MatrixSpec)
    directions = directions_of(layout, data)
    rows = {(st, asp, part): r for st, asp, part, r in spec.rows()}
    items = data.get("diagnostics") if isinstance(data, Mapping) else None
    out: dict[tuple, tuple[str, str]] = {}
    for i, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, Mapping) or item.get("direction") not in directions:
            continue
        col = col_letter(spec.first_direction_col + directions.index(item["direction"]))
        for part, key in (("text", "description"), ("level", "level")):
            row = rows.get((str(item.get("stage")), str(item.get("aspect")), part))
            if row is not None:
                out[("diagnostics", i, key)] = (spec.name, f"{col}{row}")
        if ("diagnostics", i, "description") in out:
            out[("diagnostics", i)] = out[("diagnostics", i, "description")]
    return out


def _rubric_cells(data: Mapping, layout: Layout) -> dict[tuple, tuple[str, str]]:
    spec = layout.sheet("rubric")
    assert isinstance(spec, RubricSpec)
    headers = list(spec.raw["headers"])
    items = data.get("rubric") if isinstance(data, Mapping) else None
    out: dict[tuple, tuple[str, str]] = {}
    for i, item in enumerate(items if isinstance(items, list) else []):
        number = item.get("indicator") if isinstance(item, Mapping) else None
        if not isinstance(number, int) or not 1 <= number <= len(spec.indicators):
            continue
        row = spec.first_row + number - 1
        out[("rubric", i)] = (spec.name, f"A{row}")
        for key in ("score", "comment"):
            out[("rubric", i, key)] = (spec.name, f"{col_letter(headers.index(key))}{row}")
    return out
