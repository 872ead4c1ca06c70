"""What a domain rule sees: the records, where they sit, and safe accessors.

Rules never trust a value's type: a date cell may still hold the raw text the
reader could not normalise (the schema check reports it), so :meth:`RuleContext.date`
returns None for it and the rule skips the value.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

from xlflow.layout import Layout, load_layout
from xlflow.problems import Problem
from xlflow.validation.locate import CellLocator
from xlflow.validation.messages import directions_of, field_label, iso_date

PAIR = "пара"
GROUP = "группа"


def norm_key(value: Any) -> str:
    """Comparable form of an id or a name: spaces collapsed, case and ё folded."""
    if not isinstance(value, str):
        return ""
    return " ".join(value.split()).casefold().replace("ё", "е")


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)


@dataclass
class RuleContext:
    data: Mapping
    locator: CellLocator
    file: str | None = None
    today: dt.date = field(default_factory=dt.date.today)
    layout: Layout = field(default_factory=load_layout)

    # ---- records -------------------------------------------------------
    def section(self, key: str) -> dict:
        value = self.data.get(key) if isinstance(self.data, Mapping) else None
        return value if isinstance(value, dict) else {}

    def rows(self, table: str) -> Iterator[tuple[int, dict]]:
        """(index, row) for every dict row of ``table``; anything else is skipped."""
        value = self.data.get(table) if isinstance(self.data, Mapping) else None
        if not isinstance(value, list):
            return
        for i, row in enumerate(value):
            if isinstance(row, dict):
                yield i, row

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

    @staticmethod
    def date(row: Mapping, key: str) -> dt.date | None:
        return iso_date(row.get(key))

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
