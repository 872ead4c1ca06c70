"""State shared by the sheet writers of one programme workbook."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xlflow.layout import Column, Layout, TableSpec, col_letter
from xlflow.writing.styles import Styles

# Protection without a password: users may still resize rows and columns and select cells.
PROTECT_OPTIONS = {
    "format_columns": True,
    "format_rows": True,
    "select_locked_cells": True,
    "select_unlocked_cells": True,
}

# Id columns of the pairs sheet get a dropdown of the ids in the banks.
ID_SOURCES = {"mentor_id": "mentors", "mentee_id": "mentees"}


def list_name(key: str) -> str:
    """Defined name of a choice list on the lists sheet."""
    return f"lst_{key}"


def quote_sheet(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


@dataclass
class WriteContext:
    workbook: Any
    layout: Layout
    styles: Styles
    directions: list[str]
    lock_prefilled: bool
    rows: dict[str, int]  # rows offered per table key
    names: dict[str, str] = field(default_factory=dict)  # defined name -> "=Sheet!$A$2:$A$9"

    def table_range(self, table_key: str, column_key: str) -> str:
        """Absolute reference of the offered input rows of one table column."""
        spec = self.layout.sheet(table_key)
        assert isinstance(spec, TableSpec)
        idx = [c.key for c in spec.columns].index(column_key)
        letter = col_letter(idx)
        first = spec.first_data_row
        last = first + self.rows[table_key] - 1
        return f"{quote_sheet(spec.name)}!${letter}${first}:${letter}${last}"

    def source_for(self, table_key: str, col: Column) -> tuple[str | None, bool]:
        """(defined name of the dropdown source or None, open list?)."""
        if table_key == "pairs" and col.key in ID_SOURCES:
            name = list_name(col.key + "s")
            if name not in self.names:
                self.names[name] = "=" + self.table_range(ID_SOURCES[col.key], "id")
            return name, True
        if col.list:
            return list_name(col.list), self.layout.is_open(col.list)
        return None, False

    def protect(self, ws: Any) -> None:
        ws.protect("", PROTECT_OPTIONS)
