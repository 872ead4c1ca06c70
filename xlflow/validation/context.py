"""What a domain rule sees: the records, where they sit, and safe accessors.

Rules never trust a value's type: a date cell may still hold the raw text the
reader could not normalise (the schema check reports it), so :meth:`RuleContext.date`
returns None for it and the rule skips the value.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from collections.abc import Iterator, Sequence
from typing import Any, Callable, Mapping

from xlflow.layout import Layout, load_layout
from xlflow.problems import Problem
from xlflow.validation.locate import CellLocator
from xlflow.validation.messages import directions_of, field_label, iso_date

PAIR = "пара"
_UNSET = object()  # not looked up yet (None is a found value)
GROUP = "группа"


def norm_key(value: Any) -> str:
    """Comparable form of an id or a name: spaces collapsed, case and ё folded."""
    if not isinstance(value, str):
        return ""
    return _norm_text(value)


@lru_cache(maxsize=1024)
def _norm_text(value: str) -> str:
    """(Cached: ids and group codes recur from rule to rule and row to row.)"""
    return " ".join(value.split()).casefold().replace("ё", "е")


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)


class IndexedRows(Sequence):
    """``(index, row)`` of a table whose rows are all dicts, as
    ``list(enumerate(rows))`` but made while iterating rather than kept."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[tuple[int, dict]]:
        return enumerate(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return list(enumerate(self._rows))[index]
        return range(len(self._rows))[index], self._rows[index]


@dataclass
class RuleContext:
    """One file's records for the rules. Tables, sections and parsed dates are
    computed once per context and shared by every rule (rules only read them)."""

    data: Mapping
    locator: CellLocator
    file: str | None = None
    today: dt.date = field(default_factory=dt.date.today)
    layout: Layout = field(default_factory=load_layout)
    _tables: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _days: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _shared: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._is_mapping = isinstance(self.data, Mapping)

    # ---- records -------------------------------------------------------
    def section(self, key: str) -> dict:
        value = self.data.get(key) if self._is_mapping else None
        return value if isinstance(value, dict) else {}

    def rows(self, table: str) -> Sequence[tuple[int, dict]]:
        """(index, row) for every dict row of ``table``; anything else is skipped."""
        found = self._tables.get(table)
        if found is None:
            value = self.data.get(table) if self._is_mapping else None
            if not isinstance(value, list):
                found = []
            elif all(type(row) is dict for row in value):
                found = IndexedRows(value)  # no pair per row kept: a registry has 23,000 rows
            else:
                found = [(i, row) for i, row in enumerate(value) if isinstance(row, dict)]
            self._tables[table] = found
        return found

    def shared(self, compute: Callable[[RuleContext], Any]) -> Any:
        """``compute(self)``, computed once per context: an index several rules read."""
        value = self._shared.get(compute, _UNSET)
        if value is _UNSET:
            value = self._shared[compute] = compute(self)
        return value

    def forget(self, compute: Callable[[RuleContext], Any]) -> None:
        """Let go of :meth:`shared`'s ``compute(self)`` (computed again if asked for)."""
        self._shared.pop(compute, None)

    @property
    def kind(self) -> str:
        kind = self.section("meta").get("workbook_kind")
        return kind if kind in ("school", "programme") else "school"

    @property
    def passport(self) -> dict:
        return self.section("passport")

    @property
    def directions(self) -> list[str]:
        return directions_of(self.layout, self.data)

    def date(self, row: Mapping, key: str) -> dt.date | None:
        """The date of ``row[key]`` (None unless an ISO date); each value is parsed once."""
        return self.day(row.get(key))

    def day(self, value: Any) -> dt.date | None:
        """:func:`iso_date` of ``value``, remembered per value."""
        try:
            day = self._days.get(value, _UNSET)
        except TypeError:  # unhashable: a list or dict is no date
            return None
        if day is _UNSET:
            day = self._days[value] = iso_date(value)
        return day

    @staticmethod
    def text(row: Mapping, key: str) -> str | None:
        value = row.get(key)
        return value if isinstance(value, str) and value.strip() else None

    # ---- problems ------------------------------------------------------
    def label(self, *path: Any) -> str:
        return field_label(self.layout, self.data, path)

    def problem(self, code: str, path: tuple, **params: Any) -> Problem:
        sheet, cell = self.locator.position(path)
        params.setdefault("field", self.label(*path) if len(path) > 1 else "")
        return Problem(code, file=self.file, sheet=sheet, cell=cell, params=params)
