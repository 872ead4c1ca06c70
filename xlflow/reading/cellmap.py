"""The reader's cell map, stored compactly.

:attr:`ParsedWorkbook.cells` maps a JSON path of the records to the cell it was
read from: ``(table, index, key) -> (sheet, "B7")`` for every table value,
``(table, index) -> (sheet, A1)`` for the row's first value, and a few
hundred other paths (meta, passport, diagnostics, rubric). A school's
registry has tens of thousands of table rows, and a plain dict with one
entry (three tuples and a string) per value costs ~100 bytes a cell.

:class:`CellMap` keeps the same keys and values as that dict but stores a
table as its sheet, the column letter of each key and, per row, its row
number and a bitmask of the keys it holds; the ``(sheet, A1)`` values are
built on demand. Other paths sit in a plain dict.
"""
from __future__ import annotations

from array import array
from collections.abc import ItemsView, Iterator, Mapping
from typing import Any

__all__ = ["CellMap", "TableCells"]


class TableCells:
    """The cells of one table read from ``sheet``: ``keys[j]`` is in column
    ``letters[j]``; row ``i`` sits on row ``rows[i]`` and holds the keys whose
    bit ``1 << j`` is set in ``masks[i]`` (never 0: empty rows are no records)."""

    __slots__ = ("sheet", "keys", "letters", "bits", "rows", "masks")

    def __init__(self, sheet: str, columns: list[tuple[str, str]]) -> None:
        self.sheet = sheet
        self.keys = tuple(k for k, _ in columns)
        self.letters = tuple(letter for _, letter in columns)
        self.bits = {k: j for j, k in enumerate(self.keys)}
        self.rows = array("l")
        self.masks: array | list = array("Q") if len(self.keys) <= 64 else []

    def __getstate__(self) -> tuple:
        return (self.sheet, self.keys, self.letters, self.rows, self.masks)

    def __setstate__(self, state: tuple) -> None:
        self.sheet, self.keys, self.letters, self.rows, self.masks = state
        self.bits = {k: j for j, k in enumerate(self.keys)}

    def __len__(self) -> int:
        return len(self.rows)

    def cell(self, index: int, key: Any) -> tuple[str, str] | None:
        """(sheet, A1) of ``key`` in row ``index``; None when absent."""
        j = self.bits.get(key)
        if j is None or not 0 <= index < len(self.rows) or not self.masks[index] >> j & 1:
            return None
        return (self.sheet, f"{self.letters[j]}{self.rows[index]}")

    def first(self, index: int) -> tuple[str, str] | None:
        """(sheet, A1) of the first value of row ``index``; None past the rows."""
        if not 0 <= index < len(self.rows):
            return None
        mask = self.masks[index]
        return (self.sheet, f"{self.letters[(mask & -mask).bit_length() - 1]}{self.rows[index]}")

    def present(self, index: int) -> Iterator[str]:
        mask = self.masks[index]
        return (k for j, k in enumerate(self.keys) if mask >> j & 1)


class _Items(ItemsView):
    """``CellMap.items()``: a set-like view whose iteration walks the rows."""

    _mapping: CellMap

    def __iter__(self) -> Iterator[tuple[Any, tuple[str, str]]]:
        return self._mapping.iter_items()


class CellMap(Mapping):
    """Read-only mapping ``json path -> (sheet, A1)`` (see the module doc)."""

    def __init__(self) -> None:
        self._tables: dict[str, TableCells] = {}
        self._other: dict[Any, tuple[str, str]] = {}
        self._other_heads: set[Any] = set()  # first items of the tuple paths in _other
        self._table_len = 0  # entries held by the tables

    # -------------------------------------------------------------- writing

    def add_table(self, table: str, sheet: str, columns: list[tuple[str, str]]) -> TableCells:
        """Start ``table`` read from ``sheet``; ``columns`` are (key, letter)."""
        if table in self._tables or table in self._other_heads:
            raise ValueError(f"table {table!r} is already in the cell map")
        self._tables[table] = found = TableCells(sheet, columns)
        return found

    def add_row(self, table: str, index: int, row_number: int, mask: int) -> None:
        """Row ``index`` of ``table`` (rows come in order) on sheet row
        ``row_number`` (1-based), holding the columns set in ``mask``."""
        t = self._tables[table]
        if index != len(t.rows) or mask <= 0 or mask >> len(t.keys):
            raise ValueError(f"bad row {index} (mask {mask:#x}) for table {table!r}")
        t.rows.append(row_number)
        t.masks.append(mask)
        self._table_len += mask.bit_count() + 1

    def __setitem__(self, path: Any, at: tuple[str, str]) -> None:
        if type(path) is tuple and path:
            if path[0] in self._tables:
                raise ValueError(f"{path!r} belongs to a compact table")
            self._other_heads.add(path[0])
        self._other[path] = at

    # -------------------------------------------------------------- reading

    def table(self, table: str) -> TableCells | None:
        return self._tables.get(table)

    def loose_items(self) -> Iterator[tuple[Any, tuple[str, str]]]:
        """The cells outside the compact tables (meta, passport, matrices)."""
        return iter(self._other.items())

    def __getitem__(self, path: Any) -> tuple[str, str]:
        if type(path) is tuple and 2 <= len(path) <= 3:
            t = self._tables.get(path[0])
            if t is not None:
                hit = self._table_cell(t, path)
                if hit is None:
                    raise KeyError(path)
                return hit
        return self._other[path]

    @staticmethod
    def _table_cell(t: TableCells, path: tuple) -> tuple[str, str] | None:
        index = path[1]
        if not isinstance(index, int):
            return None
        if len(path) == 2:
            return t.first(index)
        return t.cell(index, path[2])

    def __contains__(self, path: object) -> bool:
        try:
            self[path]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[Any]:
        yield from self._other
        for name, t in self._tables.items():
            for i in range(len(t.rows)):
                yield (name, i)
                for key in t.present(i):
                    yield (name, i, key)

    def items(self) -> _Items:
        return _Items(self)

    def iter_items(self) -> Iterator[tuple[Any, tuple[str, str]]]:
        """(path, (sheet, A1)) pairs, built row by row (no lookups)."""
        yield from self._other.items()
        for name, t in self._tables.items():
            for i in range(len(t.rows)):
                number = str(t.rows[i])
                yield (name, i), t.first(i)
                mask = t.masks[i]
                for j, key in enumerate(t.keys):
                    if mask >> j & 1:
                        yield (name, i, key), (t.sheet, t.letters[j] + number)

    def __len__(self) -> int:
        return len(self._other) + self._table_len

    def __repr__(self) -> str:
        return f"CellMap({len(self)} cells, tables {sorted(self._tables)})"
